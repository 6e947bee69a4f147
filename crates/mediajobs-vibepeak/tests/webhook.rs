//! VibePeak webhook verification and decoding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use http::HeaderMap;
use mediajobs_core::{Provider, Status, Timestamp, WebhookError, WebhookVerifier};
use mediajobs_transport::signature::{sign_base64, sign_hex};
use mediajobs_vibepeak::{SignatureEncoding, VibePeakWebhookVerifier};

const SECRET: &str = "whsec_vibepeak_test_secret";

fn now() -> Timestamp {
    "2026-01-04T12:06:05Z".parse().unwrap()
}

const COMPLETED: &str = r#"{"event":"task.completed","task_id":"task_abc","status":"completed","created_at":"2026-01-04T12:00:00Z","completed_at":"2026-01-04T12:06:00Z","result":{"video_url":"https://cdn.vibepeak.ai/v.mp4?sig=1","cover_image_url":"https://cdn.vibepeak.ai/c.jpg?sig=1","duration_seconds":42,"resolution":"1080p","expires_at":"2026-01-11T12:06:00Z"},"livemode":false}"#;
const FAILED: &str = r#"{"event":"task.failed","task_id":"task_bad","status":"failed","created_at":"2026-01-04T12:00:00Z","completed_at":"2026-01-04T12:06:00Z","error":{"code":"IMAGE_PROCESSING_FAILED","message":"Failed to process image at index 2: Invalid image format"},"livemode":false}"#;

fn headers(event: &str, ts: i64, sig: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("X-VibePeak-Event", event.parse().unwrap());
    h.insert("X-VibePeak-Timestamp", ts.to_string().parse().unwrap());
    h.insert("X-VibePeak-Signature", sig.parse().unwrap());
    h
}

/// Signed the documented way: hex HMAC-SHA256 of "{timestamp}.{body}".
fn signed(body: &str, ts: i64, secret: &str) -> HeaderMap {
    let sig = sign_hex(
        secret.as_bytes(),
        &[format!("{ts}.").as_bytes(), body.as_bytes()],
    );
    headers("task.completed", ts, &format!("sha256={sig}"))
}

#[test]
fn a_valid_delivery_verifies_and_parses() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    let ts = now().timestamp() - 5;
    let h = signed(COMPLETED, ts, SECRET);
    v.verify(&h, COMPLETED.as_bytes(), now()).unwrap();
    assert_eq!(v.provider(), Provider::VibePeak);

    let e = v.parse(&h, COMPLETED.as_bytes()).unwrap();
    assert_eq!(e.provider, Provider::VibePeak);
    assert_eq!(e.event, "task.completed");
    assert_eq!(e.event_id, "task_abc:task.completed");
    assert_eq!(e.job_id, "task_abc");
    let status = e.status.unwrap();
    assert_eq!(
        (status.status, status.raw.as_str()),
        (Status::Succeeded, "completed")
    );
    assert_eq!(e.occurred_at, Some("2026-01-04T12:06:00Z".parse().unwrap()));
    let snap = e.snapshot.unwrap();
    assert_eq!(snap.job.id, "task_abc");
    assert!(snap.is_terminal());
    assert_eq!(snap.outputs.len(), 2);
    assert_eq!(
        snap.outputs[0].url.as_deref(),
        Some("https://cdn.vibepeak.ai/v.mp4?sig=1")
    );
    assert_eq!(snap.outputs[0].mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(
        snap.outputs[0].expires_at,
        Some("2026-01-11T12:06:00Z".parse().unwrap())
    );
    assert_eq!(snap.outputs[1].mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(
        snap.created_at,
        Some("2026-01-04T12:00:00Z".parse().unwrap())
    );
    assert_eq!(snap.raw["livemode"], false);

    // Without the optional prefix, and in uppercase hex.
    let sig = sign_hex(SECRET.as_bytes(), &[format!("{ts}.{COMPLETED}").as_bytes()]);
    for s in [sig.clone(), sig.to_uppercase(), format!("SHA256={sig}")] {
        v.verify(
            &headers("task.completed", ts, &s),
            COMPLETED.as_bytes(),
            now(),
        )
        .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

#[test]
fn a_failed_task_event_carries_the_error() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    let ts = now().timestamp();
    let h = signed(FAILED, ts, SECRET);
    v.verify(&h, FAILED.as_bytes(), now()).unwrap();
    let e = v.parse(&h, FAILED.as_bytes()).unwrap();
    assert_eq!(e.event_id, "task_bad:task.failed");
    let snap = e.snapshot.unwrap();
    assert_eq!(snap.status.status, Status::Failed);
    let err = snap.error.unwrap();
    assert_eq!(err.code.as_deref(), Some("IMAGE_PROCESSING_FAILED"));
    assert!(snap.outputs.is_empty());
}

#[test]
fn wrong_secret_and_tampered_body_are_bad_signatures() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    let ts = now().timestamp();
    let h = signed(COMPLETED, ts, "whsec_other");
    assert_eq!(
        v.verify(&h, COMPLETED.as_bytes(), now()),
        Err(WebhookError::BadSignature)
    );

    let h = signed(COMPLETED, ts, SECRET);
    let tampered = COMPLETED.replace("sig=1", "sig=2");
    assert_eq!(
        v.verify(&h, tampered.as_bytes(), now()),
        Err(WebhookError::BadSignature)
    );

    // The timestamp is under the signature: changing it breaks the signature.
    let mut h2 = h.clone();
    h2.insert(
        "X-VibePeak-Timestamp",
        (ts + 1).to_string().parse().unwrap(),
    );
    assert_eq!(
        v.verify(&h2, COMPLETED.as_bytes(), now()),
        Err(WebhookError::BadSignature)
    );

    for junk in ["", "sha256=", "sha256=zz", "deadbeef", "v1,abc"] {
        let mut h3 = h.clone();
        h3.insert("X-VibePeak-Signature", junk.parse().unwrap());
        let r = v.verify(&h3, COMPLETED.as_bytes(), now());
        assert!(
            matches!(
                r,
                Err(WebhookError::BadSignature | WebhookError::MissingHeader(_))
            ),
            "{junk:?}: {r:?}"
        );
    }
    assert_eq!(WebhookError::BadSignature.http_status(), 401);
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    let n = now().timestamp();
    for (ts, ok) in [
        (n - 301, false),
        (n - 300, true),
        (n + 300, true),
        (n + 301, false),
        (n - 86_400, false),
    ] {
        let h = signed(COMPLETED, ts, SECRET);
        let r = v.verify(&h, COMPLETED.as_bytes(), now());
        if ok {
            assert_eq!(r, Ok(()), "{}", ts - n);
        } else {
            assert_eq!(r, Err(WebhookError::Stale), "{}", ts - n);
        }
    }
    // A timestamp that is not a number cannot be fresh.
    let sig = sign_hex(SECRET.as_bytes(), &[format!("soon.{COMPLETED}").as_bytes()]);
    let mut h = signed(COMPLETED, n, SECRET);
    h.insert("X-VibePeak-Timestamp", "soon".parse().unwrap());
    h.insert("X-VibePeak-Signature", sig.parse().unwrap());
    assert_eq!(
        v.verify(&h, COMPLETED.as_bytes(), now()),
        Err(WebhookError::Stale)
    );

    // The window is configurable.
    let v = v.replay_window(Duration::from_secs(30));
    assert_eq!(v.window(), Duration::from_secs(30));
    let h = signed(COMPLETED, n - 31, SECRET);
    assert_eq!(
        v.verify(&h, COMPLETED.as_bytes(), now()),
        Err(WebhookError::Stale)
    );
}

#[test]
fn missing_headers_are_named() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    let full = signed(COMPLETED, now().timestamp(), SECRET);
    for name in ["X-VibePeak-Signature", "X-VibePeak-Timestamp"] {
        let mut h = full.clone();
        h.remove(name);
        assert_eq!(
            v.verify(&h, COMPLETED.as_bytes(), now()),
            Err(WebhookError::MissingHeader(name))
        );
    }
    // The event header is not signed; its absence is no reason to refuse.
    let mut h = full.clone();
    h.remove("X-VibePeak-Event");
    v.verify(&h, COMPLETED.as_bytes(), now()).unwrap();
    assert_eq!(
        v.parse(&h, COMPLETED.as_bytes()).unwrap().event,
        "task.completed"
    );
    assert_eq!(
        v.verify(&HeaderMap::new(), COMPLETED.as_bytes(), now()),
        Err(WebhookError::MissingHeader("X-VibePeak-Signature"))
    );
}

#[test]
fn no_secret_means_nothing_verifies() {
    let v = VibePeakWebhookVerifier::new("");
    let h = signed(COMPLETED, now().timestamp(), "");
    assert_eq!(
        v.verify(&h, COMPLETED.as_bytes(), now()),
        Err(WebhookError::NoSecret)
    );
}

#[test]
fn malformed_payloads() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    let h = HeaderMap::new();
    for body in [
        "",
        "not json",
        "{\"event\":\"task.completed\",\"task_id\":\"t",
        "[]",
        r#"{"task_id":"t","status":"completed"}"#,
        r#"{"event":"task.completed","status":"completed"}"#,
        r#"{"event":"task.completed","task_id":42}"#,
        r#"{"event":"task.progress","task_id":"t"}"#,
    ] {
        let r = v.parse(&h, body.as_bytes());
        match r {
            Err(e @ WebhookError::Malformed(_)) => assert_eq!(e.http_status(), 400),
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn tolerated_payload_variants() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    // No status: taken from the event. The event from the header when the body lacks it.
    let mut h = HeaderMap::new();
    h.insert("X-VibePeak-Event", "task.failed".parse().unwrap());
    h.insert("X-VibePeak-Timestamp", "1767528365".parse().unwrap());
    let e = v
        .parse(
            &h,
            br#"{"task_id":"t1","error":{"code":"NARRATION_FAILED","message":"m"}}"#,
        )
        .unwrap();
    assert_eq!(e.event_id, "t1:task.failed");
    assert_eq!(e.status.unwrap().status, Status::Failed);
    assert_eq!(
        e.occurred_at,
        Some("2026-01-04T12:06:05Z".parse().unwrap()),
        "from the timestamp header"
    );
    assert_eq!(
        e.snapshot.unwrap().error.unwrap().code.as_deref(),
        Some("NARRATION_FAILED")
    );
    // An envelope.
    let e = v
        .parse(
            &HeaderMap::new(),
            br#"{"event":"task.completed","data":{"task_id":"t2","status":"completed"}}"#,
        )
        .unwrap();
    assert_eq!(e.event_id, "t2:task.completed");
    // An unknown status: kept, not terminal, no snapshot.
    let e = v
        .parse(
            &HeaderMap::new(),
            br#"{"event":"task.reviewed","task_id":"t3","status":"in_review"}"#,
        )
        .unwrap();
    let s = e.status.unwrap();
    assert!(!s.recognized && !s.is_terminal());
    assert!(e.snapshot.is_none());
}

#[test]
fn the_scheme_is_configurable() {
    let ts = now().timestamp();
    // Base64, no prefix.
    let v = VibePeakWebhookVerifier::new(SECRET)
        .encoding(SignatureEncoding::Base64)
        .prefix(None);
    let sig = sign_base64(SECRET.as_bytes(), &[format!("{ts}.{COMPLETED}").as_bytes()]);
    let h = headers("task.completed", ts, &sig);
    v.verify(&h, COMPLETED.as_bytes(), now()).unwrap();
    assert_eq!(v.sign(&ts.to_string(), COMPLETED.as_bytes()).unwrap(), sig);
    // A hex signature does not pass a base64 verifier.
    let hex = sign_hex(SECRET.as_bytes(), &[format!("{ts}.{COMPLETED}").as_bytes()]);
    assert_eq!(
        v.verify(
            &headers("task.completed", ts, &hex),
            COMPLETED.as_bytes(),
            now()
        ),
        Err(WebhookError::BadSignature)
    );

    // The body alone, or another template.
    let v = VibePeakWebhookVerifier::new(SECRET)
        .signed_payload("{body}")
        .unwrap();
    let sig = sign_hex(SECRET.as_bytes(), &[COMPLETED.as_bytes()]);
    v.verify(
        &headers("task.completed", ts, &sig),
        COMPLETED.as_bytes(),
        now(),
    )
    .unwrap();
    let v = VibePeakWebhookVerifier::new(SECRET)
        .signed_payload("v1:{timestamp}:{body}")
        .unwrap();
    assert_eq!(v.message("12", b"{}"), b"v1:12:{}");
    let sig = sign_hex(
        SECRET.as_bytes(),
        &[format!("v1:{ts}:{COMPLETED}").as_bytes()],
    );
    v.verify(
        &headers("task.completed", ts, &sig),
        COMPLETED.as_bytes(),
        now(),
    )
    .unwrap();
    assert!(
        VibePeakWebhookVerifier::new(SECRET)
            .signed_payload("{timestamp}")
            .is_err()
    );

    // Defaults and the signing helper agree with the documented scheme.
    let v = VibePeakWebhookVerifier::new(SECRET);
    assert_eq!(v.message("12", b"{}"), b"12.{}");
    let documented = format!(
        "sha256={}",
        sign_hex(SECRET.as_bytes(), &[format!("{ts}.{COMPLETED}").as_bytes()])
    );
    assert_eq!(
        v.sign(&ts.to_string(), COMPLETED.as_bytes()).unwrap(),
        documented
    );
}

#[test]
fn rotated_secrets_and_several_signatures() {
    let v = VibePeakWebhookVerifier::new("whsec_new").with_secret(SECRET);
    let ts = now().timestamp();
    v.verify(&signed(COMPLETED, ts, SECRET), COMPLETED.as_bytes(), now())
        .unwrap();
    let good = sign_hex(SECRET.as_bytes(), &[format!("{ts}.{COMPLETED}").as_bytes()]);
    let h = headers("task.completed", ts, &format!("sha256=00ff, sha256={good}"));
    VibePeakWebhookVerifier::new(SECRET)
        .verify(&h, COMPLETED.as_bytes(), now())
        .unwrap();
}

#[test]
fn the_secret_never_prints() {
    let v = VibePeakWebhookVerifier::new("whsec_SEKRIT").with_secret("whsec_SEKRIT2");
    let text = format!("{v:?}");
    assert!(!text.contains("SEKRIT"), "{text}");
}
