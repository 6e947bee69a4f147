//! The client against a mock transport: the requests it sends and how it reads every answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mediajobs_core::{
    Error, ErrorKind, ListQuery, Operation, Output, Provider, ProviderApi, Status, SubmitRequest,
    TransportFailure,
};
use mediajobs_transport::{HttpRequest, HttpResponse, MockTransport, TransportError};
use serde_json::{Value, json};

use crate::{
    Asset, Clip, RenderRequest, Track, VidikingClient, VidikingClientBuilder, VidikingJobError,
};

const KEY: &str = "vk_live_TOPSECRETKEY";
const BASE: &str = "http://127.0.0.1:9/vidiking";

type Sent = Arc<Mutex<Vec<HttpRequest>>>;

fn mock(answers: Vec<Result<HttpResponse, TransportError>>) -> (MockTransport, Sent) {
    let sent: Sent = Arc::default();
    let queue = Mutex::new(VecDeque::from(answers));
    let log = sent.clone();
    let mut m = MockTransport::new();
    m.expect_send().returning(move |req| {
        log.lock().unwrap().push(req);
        queue
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| panic!("an unexpected extra request"))
    });
    (m, sent)
}

fn builder(answers: Vec<Result<HttpResponse, TransportError>>) -> (VidikingClientBuilder, Sent) {
    let (m, sent) = mock(answers);
    (
        VidikingClient::builder()
            .api_key(KEY)
            .base_url(BASE)
            .transport(Arc::new(m)),
        sent,
    )
}

fn client(answers: Vec<Result<HttpResponse, TransportError>>) -> (VidikingClient, Sent) {
    let (b, sent) = builder(answers);
    (b.build().unwrap(), sent)
}

fn ok(status: u16, body: Value) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse::new(
        status,
        serde_json::to_vec(&body).unwrap(),
    ))
}

fn raw(status: u16, body: &'static str) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse::new(status, body))
}

fn body_of(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_ref().unwrap()).unwrap()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).map(|v| v.to_str().unwrap())
}

fn timeline() -> Value {
    json!({"tracks": [{"clips": [{"asset": {"type": "title", "text": "Hi"}, "start": 0, "length": 2}]}]})
}

fn no_secret(texts: &[String]) {
    for t in texts {
        assert!(!t.contains("TOPSECRETKEY"), "the key leaked: {t}");
    }
}

const COMPLETE: &str = r#"{
    "id": "job_abc123", "status": "COMPLETE",
    "url": "https://cdn.vidiking.com/renders/job_abc123.mp4",
    "duration": 10.5, "resolution": "1920x1080", "format": "mp4", "file_size": 8542100,
    "credits_used": 10, "created_at": "2025-01-15T10:30:00Z",
    "processing_started_at": "2025-01-15T10:30:02Z", "completed_at": "2025-01-15T10:30:45Z",
    "render_time": 43, "metadata": {"mediajobs_key": "line-7", "team": "a"}
}"#;

const FAILED: &str = r#"{
    "id": "job_abc123", "status": "FAILED",
    "error": {"code": "INVALID_ASSET", "message": "Unable to fetch asset: https://example.com/missing.mp4 returned 404"},
    "credits_used": 0, "created_at": "2025-01-15T10:30:00Z", "failed_at": "2025-01-15T10:30:15Z"
}"#;

// ---- submit ------------------------------------------------------------------------------

#[tokio::test]
async fn submit_sends_the_documented_request_with_key_in_metadata_and_callback() {
    let (c, sent) = client(vec![ok(
        201,
        json!({"id": "job_abc123", "status": "QUEUED", "created_at": "2025-01-15T10:30:00Z"}),
    )]);
    let req = SubmitRequest::new(json!({
        "timeline": timeline(),
        "output": {"format": "mp4", "resolution": "hd"},
        "metadata": {"team": "a"},
        "callback": "https://old.example/cb"
    }))
    .with_key("line-7")
    .with_webhook_url("http://127.0.0.1:4000/webhooks/vidiking");
    let snap = c.submit(&req).await.unwrap();
    assert_eq!(snap.job.provider, Provider::Vidiking);
    assert_eq!(snap.job.id, "job_abc123");
    assert_eq!(snap.status.status, Status::Queued);
    assert_eq!(snap.status.raw, "QUEUED");
    assert_eq!(
        snap.created_at.unwrap().to_rfc3339(),
        "2025-01-15T10:30:00+00:00"
    );
    assert_eq!(snap.client_key.as_deref(), Some("line-7"));
    assert_eq!(snap.raw["id"], "job_abc123");

    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.method, http::Method::POST);
    assert_eq!(r.url, format!("{BASE}/v1/render"));
    assert_eq!(header(r, "authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(header(r, "content-type"), Some("application/json"));
    assert_eq!(header(r, "x-sandbox"), None);
    assert_eq!(
        body_of(r),
        json!({
            "timeline": timeline(),
            "output": {"format": "mp4", "resolution": "hd"},
            "metadata": {"team": "a", "mediajobs_key": "line-7"},
            "callback": "http://127.0.0.1:4000/webhooks/vidiking"
        })
    );
}

#[tokio::test]
async fn submit_accepts_any_2xx_a_missing_status_and_an_envelope() {
    let (c, sent) = client(vec![
        ok(200, json!({"id": "job_1", "status": "QUEUED"})),
        ok(202, json!({"id": "job_2"})),
        ok(
            201,
            json!({"success": true, "data": {"id": "job_stitch_456", "status": "QUEUED"}}),
        ),
    ]);
    let req = SubmitRequest::new(json!({"timeline": timeline()}));
    for id in ["job_1", "job_2", "job_stitch_456"] {
        let s = c.submit(&req).await.unwrap();
        assert_eq!(s.job.id, id);
        assert_eq!(s.status.status, Status::Queued);
        assert!(s.client_key.is_none());
    }
    // Without a key, the body goes as given: no metadata is invented.
    assert!(body_of(&sent.lock().unwrap()[0]).get("metadata").is_none());
}

#[tokio::test]
async fn submit_checks_the_synchronous_rules_before_sending() {
    let (c, sent) = client(vec![]);
    let cases = [
        (SubmitRequest::new(json!([1])), "body"),
        (SubmitRequest::new(json!("x")), "body"),
        (SubmitRequest::new(json!({"output": {}})), "timeline"),
        (SubmitRequest::new(json!({"timeline": []})), "timeline"),
        (
            SubmitRequest::new(json!({"timeline": {}, "metadata": [1]})).with_key("k"),
            "metadata",
        ),
        (
            SubmitRequest::new(json!({"timeline": {}})).with_webhook_url("nope"),
            "callback",
        ),
    ];
    for (req, field) in cases {
        let e = c.submit(&req).await.unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
        assert_eq!(e.kind(), Some(ErrorKind::InvalidRequest));
        // `validate` (a batch checked whole under --strict) says the same, sending nothing.
        assert_eq!(c.validate(&req).unwrap_err().field(), Some(field));
    }
    assert!(sent.lock().unwrap().is_empty());
    assert!(
        c.validate(&SubmitRequest::new(json!({"timeline": {}})))
            .is_ok()
    );
    // The raw escape hatch does not run the typed validation: an empty timeline object goes.
    let (c, sent) = client(vec![ok(201, json!({"id": "job_1", "status": "QUEUED"}))]);
    c.submit(&SubmitRequest::new(json!({"timeline": {}, "metadata": null})).with_key("k"))
        .await
        .unwrap();
    assert_eq!(
        body_of(&sent.lock().unwrap()[0])["metadata"],
        json!({"mediajobs_key": "k"})
    );
}

#[tokio::test]
async fn submit_render_validates_the_typed_request() {
    let (c, sent) = client(vec![ok(201, json!({"id": "job_1", "status": "QUEUED"}))]);
    let bad = RenderRequest::new(
        crate::Timeline::new(vec![Track::new(vec![
            Clip::new(Asset::image("x"), 0.0, 1.0).with_scale(3.0),
        ])]),
        Default::default(),
    );
    let e = c.submit_render(&bad).await.unwrap_err();
    assert_eq!(e.field(), Some("timeline.tracks[0].clips[0].scale"));
    let good = RenderRequest::builder()
        .track(Track::new(vec![Clip::new(
            Asset::image("https://e.com/a.jpg"),
            0.0,
            1.0,
        )]))
        .build()
        .unwrap();
    c.submit_render(&good).await.unwrap();
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        body_of(&sent[0])["output"],
        json!({"format": "mp4", "resolution": "hd"})
    );
}

#[tokio::test]
async fn a_submit_whose_answer_is_lost_is_uncertain_one_never_sent_is_not() {
    let (c, _) = client(vec![
        Err(TransportError::new(
            TransportFailure::Timeout,
            "no answer in time",
        )),
        Err(TransportError::new(
            TransportFailure::Interrupted,
            "connection closed",
        )),
        Err(TransportError::new(TransportFailure::Connect, "refused")),
    ]);
    let req = SubmitRequest::new(json!({"timeline": timeline()})).with_key("k");
    for _ in 0..2 {
        let e = c.submit(&req).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::UncertainSubmit {
                    provider: Provider::Vidiking,
                    ..
                }
            ),
            "{e}"
        );
        assert!(!e.is_transient());
    }
    let e = c.submit(&req).await.unwrap_err();
    assert!(e.is_unreachable() && e.is_transient());
}

// ---- status --------------------------------------------------------------------------------

#[tokio::test]
async fn status_of_every_documented_state() {
    let (c, sent) = client(vec![
        ok(200, json!({"id": "job_abc123", "status": "QUEUED", "created_at": "2025-01-15T10:30:00Z"})),
        Ok(HttpResponse::new(
            200,
            r#"{"id":"job_abc123","status":"PROCESSING","created_at":"2025-01-15T10:30:00Z","processing_started_at":"2025-01-15T10:30:02Z","metadata":{"mediajobs_key":"line-7"}}"#,
        )
        .with_header("retry-after", "3")),
        raw(200, COMPLETE),
        raw(200, FAILED),
    ]);
    let q = c.status("job_abc123").await.unwrap();
    assert_eq!(
        (q.status.status, q.status.recognized),
        (Status::Queued, true)
    );
    assert!(q.outputs.is_empty() && q.error.is_none() && q.retry_after.is_none());
    assert_eq!(
        q.created_at.unwrap().to_rfc3339(),
        "2025-01-15T10:30:00+00:00"
    );

    let p = c.status("job_abc123").await.unwrap();
    assert_eq!(p.status.status, Status::Running);
    assert_eq!(p.status.raw, "PROCESSING");
    assert_eq!(p.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(p.client_key.as_deref(), Some("line-7"));
    assert!(!p.is_terminal());

    let done = c.status("job_abc123").await.unwrap();
    assert!(done.is_terminal());
    assert_eq!(done.status.status, Status::Succeeded);
    assert_eq!(
        done.outputs,
        vec![Output {
            url: Some("https://cdn.vidiking.com/renders/job_abc123.mp4".into()),
            file_id: None,
            mime_type: Some("video/mp4".into()),
            size: Some(8_542_100),
            expires_at: None,
        }]
    );
    assert_eq!(done.client_key.as_deref(), Some("line-7"));
    assert_eq!(done.raw["render_time"], 43);
    assert!(done.error.is_none());

    let failed = c.status("job_abc123").await.unwrap();
    assert!(failed.is_terminal());
    assert_eq!(failed.status.status, Status::Failed);
    assert!(failed.outputs.is_empty());
    let err = failed.error.unwrap();
    assert_eq!(err.code.as_deref(), Some("INVALID_ASSET"));
    assert!(err.message.contains("returned 404"));

    let sent = sent.lock().unwrap();
    for r in sent.iter() {
        assert_eq!(r.method, http::Method::GET);
        assert_eq!(r.url, format!("{BASE}/v1/render/job_abc123"));
        assert_eq!(header(r, "authorization"), Some(&*format!("Bearer {KEY}")));
        assert!(r.body.is_none());
    }
}

#[tokio::test]
async fn status_typed_has_every_documented_field_and_reports_the_refund() {
    let (c, _) = client(vec![raw(200, COMPLETE), raw(200, FAILED)]);
    let j = c.status_typed("job_abc123").await.unwrap();
    assert_eq!(j.id, "job_abc123");
    assert_eq!(
        j.url.as_deref(),
        Some("https://cdn.vidiking.com/renders/job_abc123.mp4")
    );
    assert_eq!(j.duration, Some(10.5));
    assert_eq!(j.resolution.as_deref(), Some("1920x1080"));
    assert_eq!(j.format.as_deref(), Some("mp4"));
    assert_eq!(j.file_size, Some(8_542_100));
    assert_eq!(j.credits_used.as_ref().and_then(|n| n.as_u64()), Some(10));
    assert!(
        j.created_at.is_some() && j.processing_started_at.is_some() && j.completed_at.is_some()
    );
    assert_eq!(j.render_time, Some(43.0));
    assert_eq!(j.client_key().as_deref(), Some("line-7"));
    assert!(!j.refunded());

    let f = c.status_typed("job_abc123").await.unwrap();
    assert!(f.is_failed() && f.refunded());
    assert_eq!(
        f.failed_at.unwrap().to_rfc3339(),
        "2025-01-15T10:30:15+00:00"
    );
    assert_eq!(f.error.as_ref().unwrap().is_transient(), Some(false));
}

#[tokio::test]
async fn every_documented_failure_code_reaches_the_snapshot() {
    let codes = [
        "INVALID_ASSET",
        "INVALID_TIMELINE",
        "INSUFFICIENT_CREDITS",
        "RENDER_TIMEOUT",
        "INTERNAL_ERROR",
    ];
    let answers = codes
        .iter()
        .map(|code| {
            ok(
                200,
                json!({"id": "job_1", "status": "FAILED", "credits_used": 0,
                "error": {"code": code, "message": format!("{code} happened")},
                "created_at": "2025-01-15T10:30:00Z", "failed_at": "2025-01-15T10:30:15Z"}),
            )
        })
        .collect();
    let (c, _) = client(answers);
    for code in codes {
        let s = c.status("job_1").await.unwrap();
        assert_eq!(s.status.status, Status::Failed);
        let e = s.error.unwrap();
        assert_eq!(e.code.as_deref(), Some(code));
        assert_eq!(e.message, format!("{code} happened"));
        let typed = VidikingJobError {
            code: Some(code.into()),
            message: None,
        };
        assert!(typed.advice().is_some(), "{code} has no advice");
        assert_eq!(
            typed.is_transient(),
            Some(code == "INTERNAL_ERROR"),
            "{code}"
        );
    }
}

#[tokio::test]
async fn missing_optional_fields_unknown_statuses_and_odd_failures() {
    let (c, _) = client(vec![
        ok(200, json!({"status": "QUEUED"})),
        ok(200, json!({"id": "job_1", "status": "RETRYING"})),
        ok(
            200,
            json!({"id": "job_1", "status": "complete", "url": "https://cdn/x.webm"}),
        ),
        ok(200, json!({"id": "job_1", "status": "FAILED"})),
        ok(
            200,
            json!({"id": "job_1", "status": "FAILED", "error": "boom", "credits_used": 3}),
        ),
        ok(200, json!({"id": "job_1", "status": "COMPLETE"})),
        ok(
            200,
            json!({"success": true, "data": {"id": "job_1", "status": "PROCESSING"}}),
        ),
    ]);
    // No id in the answer: the one asked for.
    let s = c.status("job_1").await.unwrap();
    assert_eq!(s.job.id, "job_1");
    assert!(s.created_at.is_none());
    // An unknown status is kept, not terminal, flagged.
    let s = c.status("job_1").await.unwrap();
    assert_eq!(s.status.raw, "RETRYING");
    assert!(!s.status.recognized && !s.is_terminal());
    // Another casing of a known status is recognised, the raw word kept.
    let s = c.status("job_1").await.unwrap();
    assert_eq!(
        (s.status.status, s.status.raw.as_str()),
        (Status::Succeeded, "complete")
    );
    assert_eq!(s.outputs[0].mime_type.as_deref(), Some("video/webm"));
    assert_eq!(s.outputs[0].size, None);
    // FAILED without an error object still says it failed.
    let s = c.status("job_1").await.unwrap();
    assert!(s.error.unwrap().message.contains("failed"));
    // A string error; a charged failure is not reported as refunded.
    let j = c.status_typed("job_1").await.unwrap();
    assert_eq!(j.error.unwrap().message.as_deref(), Some("boom"));
    let j = VidikingJobError::default();
    assert_eq!(j.is_transient(), None);
    // COMPLETE without a URL: terminal, no output (a re-read or the webhook brings it).
    let s = c.status("job_1").await.unwrap();
    assert!(s.is_terminal() && s.outputs.is_empty());
    // An envelope.
    let s = c.status("job_1").await.unwrap();
    assert_eq!(s.status.status, Status::Running);
}

#[tokio::test]
async fn a_charged_failure_is_not_refunded() {
    let (c, _) = client(vec![ok(
        200,
        json!({"id": "j", "status": "FAILED", "credits_used": 3}),
    )]);
    assert!(!c.status_typed("j").await.unwrap().refunded());
}

#[tokio::test]
async fn ids_are_path_encoded_and_empty_ids_refused() {
    let (c, sent) = client(vec![ok(200, json!({"id": "a/b", "status": "QUEUED"}))]);
    c.status("a/b").await.unwrap();
    assert_eq!(
        sent.lock().unwrap()[0].url,
        format!("{BASE}/v1/render/a%2Fb")
    );
    let e = c.status(" ").await.unwrap_err();
    assert_eq!(e.field(), Some("id"));
}

// ---- errors --------------------------------------------------------------------------------

#[tokio::test]
async fn every_documented_error_answer_is_classified() {
    struct Case {
        status: u16,
        body: &'static str,
        retry_after: Option<&'static str>,
        kind: ErrorKind,
        transient: bool,
        code: Option<&'static str>,
        wait: Option<u64>,
    }
    let cases = [
        Case {
            status: 400,
            body: r#"{"error":{"code":"INVALID_REQUEST","message":"timeline is required"}}"#,
            retry_after: None,
            kind: ErrorKind::InvalidRequest,
            transient: false,
            code: Some("INVALID_REQUEST"),
            wait: None,
        },
        Case {
            status: 401,
            body: r#"{"error":{"code":"UNAUTHORIZED","message":"Invalid API key"}}"#,
            retry_after: None,
            kind: ErrorKind::Unauthorized,
            transient: false,
            code: Some("UNAUTHORIZED"),
            wait: None,
        },
        Case {
            status: 404,
            body: r#"{"error":{"code":"JOB_NOT_FOUND","message":"no such job"}}"#,
            retry_after: None,
            kind: ErrorKind::NotFound,
            transient: false,
            code: Some("JOB_NOT_FOUND"),
            wait: None,
        },
        Case {
            status: 429,
            body: r#"{"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
            retry_after: Some("12"),
            kind: ErrorKind::RateLimited,
            transient: true,
            code: Some("RATE_LIMITED"),
            wait: Some(12),
        },
        Case {
            status: 500,
            body: r#"{"error":{"code":"INTERNAL_ERROR","message":"oops"}}"#,
            retry_after: None,
            kind: ErrorKind::Unavailable,
            transient: true,
            code: Some("INTERNAL_ERROR"),
            wait: None,
        },
        Case {
            status: 502,
            body: "<html>Bad Gateway</html>",
            retry_after: None,
            kind: ErrorKind::Unavailable,
            transient: true,
            code: None,
            wait: None,
        },
        Case {
            status: 503,
            body: "",
            retry_after: Some("5"),
            kind: ErrorKind::Unavailable,
            transient: true,
            code: None,
            wait: Some(5),
        },
        // Other shapes: the wallet's {success, data} envelope, a flat {code, message}, a bare message.
        Case {
            status: 402,
            body: r#"{"success":false,"data":null,"code":"INSUFFICIENT_CREDITS","message":"top up"}"#,
            retry_after: None,
            kind: ErrorKind::Forbidden,
            transient: false,
            code: Some("INSUFFICIENT_CREDITS"),
            wait: None,
        },
        Case {
            status: 400,
            body: r#"{"error":"timeline must be an object"}"#,
            retry_after: None,
            kind: ErrorKind::InvalidRequest,
            transient: false,
            code: None,
            wait: None,
        },
        Case {
            status: 429,
            body: r#"{"message":"Too Many Requests"}"#,
            retry_after: None,
            kind: ErrorKind::RateLimited,
            transient: true,
            code: None,
            wait: None,
        },
        Case {
            status: 418,
            body: r#"{"error":{"code":"TEAPOT","message":"short and stout"}}"#,
            retry_after: None,
            kind: ErrorKind::Other,
            transient: false,
            code: Some("TEAPOT"),
            wait: None,
        },
    ];
    for op in [
        Operation::Submit,
        Operation::Status,
        Operation::List,
        Operation::Endpoints,
    ] {
        let answers = cases
            .iter()
            .map(|c| {
                let mut r = HttpResponse::new(c.status, c.body);
                if let Some(ra) = c.retry_after {
                    r = r.with_header("retry-after", ra);
                }
                Ok(r)
            })
            .collect();
        let (client, _) = client(answers);
        for case in &cases {
            let e = match op {
                Operation::Submit => {
                    client
                        .submit(&SubmitRequest::new(json!({"timeline": {}})))
                        .await
                }
                Operation::Status => client.status("job_1").await,
                Operation::List => client
                    .list(&ListQuery::default())
                    .await
                    .map(|_| unreachable_snapshot()),
                _ => client
                    .set_webhook("https://e.com/h", &["render.complete"], "whsec_x".into())
                    .await
                    .map(|_| unreachable_snapshot()),
            }
            .unwrap_err();
            let api = e
                .api()
                .unwrap_or_else(|| panic!("{op} {}: not an API error: {e}", case.status));
            assert_eq!(api.provider, Provider::Vidiking);
            assert_eq!(api.operation, op);
            assert_eq!(api.http_status, case.status);
            assert_eq!(api.kind, case.kind, "{op} {}", case.body);
            assert_eq!(e.is_transient(), case.transient, "{op} {}", case.body);
            assert_eq!(api.code.as_deref(), case.code);
            assert_eq!(e.retry_after(), case.wait.map(Duration::from_secs));
            assert!(!api.message.is_empty());
            let text = e.to_string();
            assert!(
                text.contains("vidiking") && text.contains(op.as_str()),
                "{text}"
            );
        }
    }
}

fn unreachable_snapshot() -> mediajobs_core::Snapshot {
    panic!("expected an error")
}

#[tokio::test]
async fn malformed_truncated_empty_and_oversized_answers_are_clear_errors() {
    let bodies: [&'static str; 7] = [
        r#"{"id": "job_1", "status": "QUEUED""#,
        "",
        "{",
        r#"{"id": "job_1", "status": "COMPL"#,
        "<html>ok</html>",
        "[1, 2]",
        "null",
    ];
    for op in [Operation::Submit, Operation::Status] {
        let answers = bodies.iter().map(|b| raw(200, b)).collect();
        let (c, _) = client(answers);
        for b in bodies {
            let e = match op {
                Operation::Submit => c.submit(&SubmitRequest::new(json!({"timeline": {}}))).await,
                _ => c.status("job_1").await,
            };
            let e = e.expect_err(b);
            // Past a 2xx a render exists: an unreadable submit answer is uncertain (never a
            // blind resubmit); an unreadable status answer is a decode error.
            let expected = match op {
                Operation::Submit => matches!(
                    e,
                    Error::UncertainSubmit {
                        provider: Provider::Vidiking,
                        ..
                    }
                ),
                _ => matches!(
                    e,
                    Error::Decode {
                        provider: Provider::Vidiking,
                        ..
                    }
                ),
            };
            assert!(expected, "{op} {b:?}: {e}");
            let text = e.to_string();
            assert!(text.contains(&format!("vidiking {op}")), "{text}");
        }
    }
    // A submit answer without an id; a status answer without a status.
    let (c, _) = client(vec![
        raw(201, r#"{"status":"QUEUED"}"#),
        raw(200, r#"{"id":"job_1"}"#),
    ]);
    assert!(
        c.submit(&SubmitRequest::new(json!({"timeline": {}})))
            .await
            .unwrap_err()
            .to_string()
            .contains("id")
    );
    assert!(
        c.status("job_1")
            .await
            .unwrap_err()
            .to_string()
            .contains("status")
    );
    // The list: not a list, a job that is not an object, a job without id.
    let (c, _) = client(vec![
        raw(200, r#"{"jobs": 3}"#),
        raw(200, r#"{"data": [1]}"#),
        raw(200, r#"{"data": [{"status": "QUEUED"}]}"#),
        raw(200, ""),
    ]);
    for _ in 0..4 {
        let e = c.list(&ListQuery::default()).await.unwrap_err();
        assert!(e.to_string().contains("vidiking list"), "{e}");
        assert!(matches!(e, Error::Decode { .. }));
    }
    // set_webhook: a garbled 2xx.
    let (c, _) = client(vec![raw(200, "{oops")]);
    let e = c
        .set_webhook("https://e.com/h", &[], "s".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("vidiking endpoints"), "{e}");
    // Oversized: the transport refuses it.
    let (c, _) = client(vec![Err(TransportError::new(
        TransportFailure::TooLarge,
        "answer too large",
    ))]);
    let e = c.status("job_1").await.unwrap_err();
    assert!(matches!(
        e,
        Error::Transport {
            failure: TransportFailure::TooLarge,
            operation: Operation::Status,
            ..
        }
    ));
    assert!(!e.is_transient());
    // Large but valid: read whole.
    let big = format!(
        r#"{{"id":"job_1","status":"QUEUED","pad":"{}"}}"#,
        "x".repeat(2_000_000)
    );
    let (c, _) = client(vec![Ok(HttpResponse::new(200, big))]);
    assert_eq!(
        c.status("job_1").await.unwrap().status.status,
        Status::Queued
    );
}

#[tokio::test]
async fn the_key_never_appears_in_debug_display_or_errors() {
    let (c, _) = client(vec![
        raw(
            401,
            r#"{"error":{"code":"UNAUTHORIZED","message":"Invalid API key"}}"#,
        ),
        Err(TransportError::new(
            TransportFailure::Connect,
            "could not connect",
        )),
        Err(TransportError::new(TransportFailure::Timeout, "no answer")),
    ]);
    let e1 = c.status("job_1").await.unwrap_err();
    assert!(e1.is_unauthorized());
    let e2 = c.list(&ListQuery::default()).await.unwrap_err();
    let e3 = c
        .submit(&SubmitRequest::new(json!({"timeline": {}})))
        .await
        .unwrap_err();
    let (b, _) = builder(vec![]);
    no_secret(&[
        format!("{c:?}"),
        format!("{b:?}"),
        format!("{e1} {e1:?}"),
        format!("{e2} {e2:?}"),
        format!("{e3} {e3:?}"),
        format!("{:?}", c.endpoint()),
    ]);
}

// ---- list ----------------------------------------------------------------------------------

#[tokio::test]
async fn list_reads_data_or_a_bare_array_newest_first() {
    let jobs = json!([
        {"id": "job_3", "status": "QUEUED", "created_at": "2025-01-15T10:32:00Z", "metadata": {"mediajobs_key": "c"}},
        {"id": "job_2", "status": "PROCESSING", "created_at": "2025-01-15T10:31:00Z"},
        {"id": "job_1", "status": "COMPLETE", "url": "https://cdn/1.mp4", "format": "mp4", "metadata": {"mediajobs_key": "a"}}
    ]);
    let (c, sent) = client(vec![
        ok(200, json!({"data": jobs})),
        ok(200, jobs.clone()),
        ok(200, json!({"data": []})),
    ]);
    for _ in 0..2 {
        let page = c
            .list(&ListQuery {
                limit: Some(20),
                status: None,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.next_cursor.is_none());
        let ids: Vec<_> = page.items.iter().map(|s| s.job.id.as_str()).collect();
        assert_eq!(ids, ["job_3", "job_2", "job_1"]);
        assert_eq!(page.items[0].client_key.as_deref(), Some("c"));
        assert_eq!(
            page.items[2].outputs[0].url.as_deref(),
            Some("https://cdn/1.mp4")
        );
        assert_eq!(page.items[2].raw["id"], "job_1");
    }
    assert!(
        c.list(&ListQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let sent = sent.lock().unwrap();
    assert_eq!(sent[0].url, format!("{BASE}/v1/render?limit=20"));
    assert_eq!(sent[2].url, format!("{BASE}/v1/render"));
    assert_eq!(sent[0].method, http::Method::GET);
}

#[tokio::test]
async fn list_query_clamps_limit_passes_status_and_refuses_a_cursor() {
    let (c, sent) = client(vec![ok(200, json!({"data": []})), ok(200, json!([]))]);
    c.list(&ListQuery {
        limit: Some(500),
        status: Some("COMPLETE".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    // Asking for no jobs is a mistake, said before sending (it used to list one).
    let e = c
        .list(&ListQuery {
            limit: Some(0),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("limit"));
    c.list_typed(Some(5), Some("FAILED & more")).await.unwrap();
    let e = c
        .list(&ListQuery {
            cursor: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("cursor"));
    let urls: Vec<_> = sent.lock().unwrap().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls,
        [
            format!("{BASE}/v1/render?limit=100&status=COMPLETE"),
            format!("{BASE}/v1/render?limit=5&status=FAILED+%26+more"),
        ]
    );
}

#[tokio::test]
async fn find_by_key_reconciles_a_lost_submit_with_one_list_call() {
    let jobs = json!({"data": [
        {"id": "job_9", "status": "QUEUED", "metadata": {"mediajobs_key": "line-2"}},
        {"id": "job_8", "status": "COMPLETE", "metadata": {"mediajobs_key": "line-1"}},
        {"id": "job_7", "status": "FAILED", "metadata": {"mediajobs_key": "line-1"}}
    ]});
    let (c, sent) = client(vec![ok(200, jobs.clone()), ok(200, jobs)]);
    let found = c.find_by_key("line-1").await.unwrap().unwrap();
    assert_eq!(found.job.id, "job_8");
    assert_eq!(found.client_key.as_deref(), Some("line-1"));
    assert!(c.find_by_key("line-3").await.unwrap().is_none());
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].url, format!("{BASE}/v1/render?limit=100"));
}

// ---- account webhook, sandbox, refresh, capabilities, builder -------------------------------

#[tokio::test]
async fn set_webhook_puts_url_events_and_secret() {
    let (c, sent) = client(vec![
        ok(
            200,
            json!({"url": "https://e.com/h", "events": ["render.complete", "render.failed"]}),
        ),
        Ok(HttpResponse::new(204, "")),
        ok(
            200,
            json!({"success": true, "data": {"url": "https://e.com/h", "events": ["render.failed"], "secret": "whsec_abc"}}),
        ),
    ]);
    let s = c
        .set_webhook(
            "https://e.com/h",
            &["render.complete", "render.failed"],
            "whsec_abc".into(),
        )
        .await
        .unwrap();
    assert_eq!(s.url, "https://e.com/h");
    assert_eq!(s.events, ["render.complete", "render.failed"]);
    let s = c
        .set_webhook("https://e.com/h", &crate::RENDER_EVENTS, "whsec_abc".into())
        .await
        .unwrap();
    assert_eq!(s.events.len(), 4);
    let s = c
        .set_webhook("https://e.com/h", &["render.failed"], "whsec_abc".into())
        .await
        .unwrap();
    assert!(
        !format!("{s:?}").contains("whsec_abc"),
        "an echoed secret is dropped"
    );
    let r = sent.lock().unwrap()[0].clone();
    let r = &r;
    assert_eq!(r.method, http::Method::PUT);
    assert_eq!(r.url, format!("{BASE}/v1/webhooks"));
    assert_eq!(
        body_of(r),
        json!({"url": "https://e.com/h", "events": ["render.complete", "render.failed"], "secret": "whsec_abc"})
    );
    assert!(!format!("{r:?}").contains("whsec_abc"));
    // Refused before sending: a bad URL, an empty secret.
    let (c, sent) = client(vec![]);
    assert_eq!(
        c.set_webhook("nope", &[], "s".into())
            .await
            .unwrap_err()
            .field(),
        Some("url")
    );
    assert_eq!(
        c.set_webhook("https://e.com", &[], "".into())
            .await
            .unwrap_err()
            .field(),
        Some("secret")
    );
    assert!(sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn sandbox_sends_x_sandbox_on_every_request() {
    let (b, sent) = builder(vec![
        ok(201, json!({"id": "job_1", "status": "QUEUED"})),
        ok(200, json!({"id": "job_1", "status": "QUEUED"})),
        ok(200, json!({"data": []})),
        ok(200, json!({"url": "https://e.com/h", "events": []})),
    ]);
    let c = b.sandbox(true).build().unwrap();
    assert!(c.is_sandbox());
    assert_eq!(c.requests_per_minute(), 10);
    c.submit(&SubmitRequest::new(json!({"timeline": {}})))
        .await
        .unwrap();
    c.status("job_1").await.unwrap();
    c.list(&ListQuery::default()).await.unwrap();
    c.set_webhook("https://e.com/h", &[], "s".into())
        .await
        .unwrap();
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 4);
    for r in sent.iter() {
        assert_eq!(header(r, "x-sandbox"), Some("true"), "{r:?}");
        assert_eq!(header(r, "authorization"), Some(&*format!("Bearer {KEY}")));
    }
}

#[tokio::test]
async fn refresh_output_re_reads_the_job() {
    let (c, sent) = client(vec![
        raw(200, COMPLETE),
        ok(200, json!({"id": "job_1", "status": "PROCESSING"})),
    ]);
    let old = Output {
        url: Some("https://cdn/old.mp4".into()),
        file_id: None,
        mime_type: None,
        size: None,
        expires_at: None,
    };
    let fresh = c.refresh_output("job_abc123", &old).await.unwrap();
    assert_eq!(
        fresh.url.as_deref(),
        Some("https://cdn.vidiking.com/renders/job_abc123.mp4")
    );
    let e = c.refresh_output("job_1", &old).await.unwrap_err();
    assert!(e.to_string().contains("PROCESSING"), "{e}");
    assert_eq!(
        sent.lock().unwrap()[0].url,
        format!("{BASE}/v1/render/job_abc123")
    );
}

#[tokio::test]
async fn capabilities_and_cancel() {
    let (c, sent) = client(vec![]);
    let caps = c.capabilities();
    assert!(
        !caps.cancel
            && caps.list
            && !caps.list_cursor
            && caps.per_job_webhook
            && caps.webhook_endpoints
    );
    assert_eq!(c.provider(), Provider::Vidiking);
    assert_eq!(c.requests_per_minute(), 100);
    let e = c.cancel("job_1").await.unwrap_err();
    assert!(matches!(
        e,
        Error::Unsupported {
            provider: Provider::Vidiking,
            operation: Operation::Cancel
        }
    ));
    assert!(sent.lock().unwrap().is_empty());
}

#[test]
fn builder_configuration_and_environment() {
    let e = VidikingClient::builder()
        .base_url(BASE)
        .build()
        .unwrap_err();
    assert!(
        matches!(e, Error::Config(_)) && e.to_string().contains("VIDIKING_API_KEY"),
        "{e}"
    );
    let e = VidikingClient::builder().api_key("").build().unwrap_err();
    assert!(e.to_string().contains("VIDIKING_API_KEY"), "{e}");
    let e = VidikingClient::builder()
        .api_key("k")
        .base_url("ftp://x")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = VidikingClient::builder()
        .from_lookup(env(&[
            ("VIDIKING_API_KEY", KEY),
            ("VIDIKING_BASE_URL", BASE),
            ("VIDIKING_SANDBOX", "1"),
        ]))
        .build()
        .unwrap();
    assert!(c.is_sandbox());
    assert_eq!(c.endpoint().base_url(), BASE);
    assert_eq!(c.endpoint().api_key().expose(), KEY);
    for (v, on) in [
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("0", false),
        ("false", false),
        ("", false),
    ] {
        let vars: &'static [(&'static str, &'static str)] =
            Box::leak(vec![("VIDIKING_API_KEY", "k"), ("VIDIKING_SANDBOX", v)].into_boxed_slice());
        let c = VidikingClient::builder()
            .from_lookup(env(vars))
            .build()
            .unwrap();
        assert_eq!(c.is_sandbox(), on, "{v:?}");
        assert_eq!(c.endpoint().base_url(), crate::DEFAULT_BASE_URL);
    }
    let e = VidikingClient::builder()
        .from_lookup(env(&[
            ("VIDIKING_API_KEY", "k"),
            ("VIDIKING_SANDBOX", "maybe"),
        ]))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("VIDIKING_SANDBOX"), "{e}");
    let e = VidikingClient::builder()
        .from_lookup(env(&[]))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("VIDIKING_API_KEY"), "{e}");
    // Values set on the builder win over the environment.
    let c = VidikingClient::builder()
        .api_key("explicit")
        .sandbox(false)
        .from_lookup(env(&[
            ("VIDIKING_API_KEY", "from_env"),
            ("VIDIKING_SANDBOX", "true"),
        ]))
        .build()
        .unwrap();
    assert_eq!(c.endpoint().api_key().expose(), "explicit");
    assert!(!c.is_sandbox());
}
