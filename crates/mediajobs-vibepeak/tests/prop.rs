//! Property tests for every VibePeak parser that sees provider or user bytes: status bodies and
//! error bodies (through the client over a mocked transport), webhook headers and payloads, and
//! request bodies. None of them may panic, and each round-trips where a round trip exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::SecondsFormat;
use http::{HeaderMap, HeaderName, HeaderValue};
use mediajobs_core::{
    Error, ManualClock, Operation, Provider, ProviderApi, SubmitRequest, Timestamp, WebhookError,
    WebhookVerifier,
};
use mediajobs_transport::signature::sign_hex;
use mediajobs_transport::{HttpResponse, MockTransport};
use mediajobs_vibepeak::{
    ElementSize, ElementsConfig, NarratedSlideshow, OrchestrationMode, Orientation, Subtitle,
    TestScenario, TextElement, VibePeakClient, VibePeakTask, VibePeakWebhookVerifier, Voice,
    Watermark, statuses, validate_body,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

const BASE: &str = "http://127.0.0.1:9/vibepeak";
/// A test key: uppercase and digits, so no generated message (lowercase, no `_`) contains it.
const KEY: &str = "vpk_test_PROPKEY0123456789";
const SECRET: &str = "whsec_vibepeak_prop_secret";

fn now() -> Timestamp {
    "2026-01-04T12:00:00Z".parse().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A client whose transport answers every request with `resp`.
fn client(resp: HttpResponse) -> VibePeakClient {
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |_| Ok(resp.clone()));
    VibePeakClient::builder()
        .api_key(KEY)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .clock(Arc::new(ManualClock::new(now())))
        .build()
        .unwrap()
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ts(secs: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(secs, 0).unwrap()
}

// ---- arbitrary JSON and mutations ---------------------------------------------------------

/// Documented field names, so that arbitrary objects reach the readers' and validators' paths.
const FIELDS: &[&str] = &[
    "task_id",
    "status",
    "created_at",
    "livemode",
    "queue_position",
    "estimated_completion",
    "started_at",
    "completed_at",
    "result",
    "video_url",
    "cover_image_url",
    "duration_seconds",
    "resolution",
    "expires_at",
    "error",
    "code",
    "message",
    "details",
    "data",
    "task",
    "event",
    "images",
    "voice",
    "voice_id",
    "language",
    "script",
    "orientation",
    "orchestration_mode",
    "background_music",
    "avatar_id",
    "subtitle",
    "subtitle_style_preset",
    "elements_config",
    "enabled",
    "watermark",
    "url",
    "opacity",
    "size",
    "text",
    "content",
    "webhook_url",
    "test_scenario",
];

/// Words the readers give meaning to: statuses, times, URLs, numbers as text.
const WORDS: &[&str] = &[
    "queued",
    "processing",
    "completed",
    "failed",
    "task.completed",
    "task.failed",
    "2026-01-04T12:00:00Z",
    "2026-01-04T12:00:00",
    "1767528000",
    "-1",
    "1e400",
    "true",
    "https://cdn.example.com/v.mp4?sig=1",
    "https://cdn.example.com/c.png",
    "http://127.0.0.1:1/hook",
    "landscape",
    "sequential",
    "",
];

#[path = "../../../test-support/prop_json.rs"]
mod prop_json;
use prop_json::{Mutation, mutate};

fn arb_json() -> impl Strategy<Value = Value> {
    prop_json::arb_json(FIELDS, WORDS)
}

fn mutations() -> impl Strategy<Value = Vec<(Index, Mutation)>> {
    prop_json::mutations(WORDS)
}

// ---- documented status bodies -------------------------------------------------------------

/// A documented task answer and what the snapshot must say about it.
#[derive(Debug, Clone)]
struct Task {
    body: Value,
    id: String,
    status: &'static str,
    created_at: i64,
    queue_position: Option<u32>,
    estimated_completion: Option<i64>,
    video: Option<String>,
    cover: Option<String>,
    expires_at: Option<i64>,
    error: Option<(String, String)>,
}

fn task_id() -> impl Strategy<Value = String> {
    "task_[A-Za-z0-9_-]{1,20}"
}

fn a_time() -> impl Strategy<Value = i64> {
    1_600_000_000i64..2_000_000_000
}

fn documented_task() -> impl Strategy<Value = Task> {
    (
        task_id(),
        prop::sample::select(&["queued", "processing", "completed", "failed"][..]),
        a_time(),
        any::<bool>(),
        (0u32..10_000, a_time(), a_time(), a_time()),
        (
            "[a-z0-9]{1,12}",
            prop::option::of(("[a-z0-9]{1,12}", prop::sample::select(&["png", "jpg", "webp"][..]))),
            1u64..3600,
            prop::sample::select(&["720p", "1080p"][..]),
            a_time(),
        ),
        ("[A-Z_]{1,24}", "[a-zA-Z][a-zA-Z ,.]{0,40}"),
    )
        .prop_map(
            |(id, status, created, live, (qpos, eta, started, completed), res, (code, msg))| {
                let mut body = json!({
                    "task_id": id, "status": status, "created_at": rfc3339(created), "livemode": live,
                });
                let mut t = Task {
                    body: Value::Null,
                    id: id.clone(),
                    status,
                    created_at: created,
                    queue_position: None,
                    estimated_completion: None,
                    video: None,
                    cover: None,
                    expires_at: None,
                    error: None,
                };
                match status {
                    "queued" => {
                        body["queue_position"] = json!(qpos);
                        body["estimated_completion"] = json!(rfc3339(eta));
                        t.queue_position = Some(qpos);
                        t.estimated_completion = Some(eta);
                    }
                    "processing" => body["started_at"] = json!(rfc3339(started)),
                    "completed" => {
                        let (video, cover, duration, resolution, expires) = res;
                        let video = format!("https://cdn.vibepeak.ai/{video}.mp4?sig=1");
                        let cover = cover.map(|(c, ext)| format!("https://cdn.vibepeak.ai/{c}.{ext}"));
                        body["started_at"] = json!(rfc3339(started));
                        body["completed_at"] = json!(rfc3339(completed));
                        body["result"] = json!({
                            "video_url": video, "cover_image_url": cover,
                            "duration_seconds": duration, "resolution": resolution,
                            "expires_at": rfc3339(expires),
                        });
                        t.video = Some(video);
                        t.cover = cover;
                        t.expires_at = Some(expires);
                    }
                    _ => {
                        body["started_at"] = json!(rfc3339(started));
                        body["completed_at"] = json!(rfc3339(completed));
                        body["error"] = json!({"code": code, "message": msg});
                        t.error = Some((code, msg));
                    }
                }
                t.body = body;
                t
            },
        )
}

/// A status read of `body` answered 200: anything but a decode error is a wrong mapping.
fn read_200(rt: &tokio::runtime::Runtime, id: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
    let c = client(HttpResponse::new(200, body));
    match rt.block_on(c.status(id)) {
        Ok(s) => {
            prop_assert_eq!(s.job.provider, Provider::VibePeak);
            prop_assert!(!s.job.id.is_empty());
        }
        Err(Error::Decode {
            provider,
            operation,
            http_status,
            ..
        }) => {
            prop_assert_eq!(provider, Provider::VibePeak);
            prop_assert_eq!(operation, Operation::Status);
            prop_assert_eq!(http_status, 200);
        }
        Err(other) => prop_assert!(false, "a 200 answer gave {other:?}"),
    }
    Ok(())
}

#[test]
fn status_bodies_of_arbitrary_bytes_never_panic() {
    let rt = runtime();
    proptest!(|(body in prop::collection::vec(any::<u8>(), 0..256))| {
        read_200(&rt, "task_1", body)?;
    });
}

#[test]
fn status_bodies_of_arbitrary_json_never_panic() {
    let rt = runtime();
    proptest!(|(v in arb_json(), wrap in prop::option::of(prop::sample::select(&["data", "task"][..])))| {
        let v = match wrap {
            Some(k) => json!({ k: v }),
            None => v,
        };
        read_200(&rt, "task_1", serde_json::to_vec(&v).unwrap())?;
    });
}

#[test]
fn mutated_documented_status_bodies_never_panic() {
    let rt = runtime();
    proptest!(|(t in documented_task(), changes in mutations())| {
        let mut body = t.body.clone();
        mutate(&mut body, &changes);
        read_200(&rt, &t.id, serde_json::to_vec(&body).unwrap())?;
    });
}

#[test]
fn documented_status_bodies_round_trip_into_the_snapshot() {
    let rt = runtime();
    proptest!(|(t in documented_task(), retry in prop::option::of(0u64..86_400))| {
        let mut resp = HttpResponse::new(200, serde_json::to_vec(&t.body).unwrap());
        if let Some(r) = retry {
            resp = resp.with_header("retry-after", &r.to_string());
        }
        let s = rt.block_on(client(resp).status(&t.id)).unwrap();
        prop_assert_eq!(s.job.provider, Provider::VibePeak);
        prop_assert_eq!(&s.job.id, &t.id);
        prop_assert_eq!(s.status.raw.as_str(), t.status);
        prop_assert!(s.status.recognized);
        let want = statuses().iter().find(|(raw, _)| *raw == t.status).map(|(_, s)| *s);
        prop_assert_eq!(Some(s.status.status), want);
        prop_assert_eq!(s.progress, None);
        prop_assert_eq!(s.created_at, Some(ts(t.created_at)));
        prop_assert_eq!(s.queue_position, t.queue_position);
        prop_assert_eq!(s.estimated_completion, t.estimated_completion.map(ts));
        prop_assert_eq!(s.retry_after, retry.map(Duration::from_secs));
        let urls: Vec<Option<String>> = s.outputs.iter().map(|o| o.url.clone()).collect();
        let want_urls: Vec<Option<String>> = t.video.iter().chain(t.cover.iter()).cloned().map(Some).collect();
        prop_assert_eq!(urls, want_urls);
        for o in &s.outputs {
            prop_assert_eq!(o.expires_at, t.expires_at.map(ts));
            prop_assert_eq!(o.size, None);
        }
        if t.video.is_some() {
            prop_assert_eq!(s.outputs[0].mime_type.as_deref(), Some("video/mp4"));
        }
        match &t.error {
            Some((code, message)) => {
                let e = s.error.as_ref().unwrap();
                prop_assert_eq!(e.code.as_deref(), Some(code.as_str()));
                prop_assert_eq!(&e.message, message);
            }
            None => prop_assert!(s.error.is_none()),
        }
        prop_assert_eq!(&s.raw, &t.body);
    });
}

/// The typed task reads a documented answer, and writes what reads back as the same task.
#[test]
fn documented_tasks_round_trip_through_the_typed_task() {
    proptest!(|(t in documented_task())| {
        let task = VibePeakTask::from_value(&t.body).unwrap();
        prop_assert_eq!(&task.task_id, &t.id);
        prop_assert_eq!(task.status.as_str(), t.status);
        prop_assert_eq!(task.queue_position, t.queue_position);
        prop_assert!(task.extra.is_empty(), "{:?}", task.extra);
        let text = serde_json::to_string(&task).unwrap();
        let back = VibePeakTask::from_value(&serde_json::from_str(&text).unwrap()).unwrap();
        prop_assert_eq!(back, task);
    });
}

// ---- error bodies -------------------------------------------------------------------------

fn error_status() -> impl Strategy<Value = u16> {
    prop_oneof![400u16..=499, 500u16..=599]
}

/// Headers a provider may send with an error, valid or not.
fn error_headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "retry-after",
                    "x-ratelimit-limit",
                    "x-ratelimit-remaining",
                    "x-ratelimit-reset",
                    "date",
                ][..],
            ),
            prop_oneof![".{0,32}", any::<i64>().prop_map(|n| n.to_string())],
        ),
        0..4,
    )
}

#[test]
fn error_answers_of_arbitrary_bytes_never_panic() {
    let rt = runtime();
    proptest!(|(
        status in error_status(),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            arb_json().prop_map(|v| serde_json::to_vec(&json!({"error": v})).unwrap()),
        ],
        headers in error_headers(),
    )| {
        let mut resp = HttpResponse::new(status, body);
        for (n, v) in &headers {
            resp = resp.with_header(n, v);
        }
        let err = rt.block_on(client(resp).status("task_1")).unwrap_err();
        let Error::Api(e) = &err else {
            return Err(TestCaseError::fail(format!("HTTP {status} gave {err:?}")));
        };
        prop_assert_eq!(e.provider, Provider::VibePeak);
        prop_assert_eq!(e.http_status, status);
        prop_assert_eq!(e.operation, Operation::Status);
        let _ = err.to_string();
    });
}

#[test]
fn error_answers_give_back_their_code_and_message() {
    let rt = runtime();
    proptest!(|(
        status in error_status(),
        code in prop_oneof![
            prop::sample::select(mediajobs_vibepeak::error_rules().iter().map(|r| r.code).collect::<Vec<_>>())
                .prop_map(str::to_string),
            "[A-Z_]{1,24}",
        ],
        message in "[a-zA-Z][a-zA-Z .,]{0,60}",
        request_id in prop::option::of("req_[a-z0-9]{1,12}"),
        nested in any::<bool>(),
        retry in prop::option::of(0u64..86_400),
    )| {
        let body = if nested {
            json!({"error": {"code": code, "message": message, "request_id": request_id}})
        } else {
            json!({"code": code, "message": message, "request_id": request_id})
        };
        let mut resp = HttpResponse::new(status, serde_json::to_vec(&body).unwrap());
        if let Some(r) = retry {
            resp = resp.with_header("retry-after", &r.to_string());
        }
        let err = rt.block_on(client(resp).status("task_1")).unwrap_err();
        prop_assert_eq!(err.code(), Some(code.as_str()));
        let e = err.api().unwrap();
        prop_assert!(e.message.starts_with(&message), "{:?} does not start with {:?}", e.message, message);
        prop_assert_eq!(&e.request_id, &request_id);
        prop_assert_eq!(e.http_status, status);
        prop_assert_eq!(e.retry_after, retry.map(Duration::from_secs));
        if let Some(rule) = mediajobs_vibepeak::error_rules().iter().find(|r| r.code == code) {
            prop_assert_eq!(e.kind, rule.kind);
        }
    });
}

// ---- webhooks -----------------------------------------------------------------------------

const HEADER_NAMES: &[&str] = &[
    "x-vibepeak-signature",
    "x-vibepeak-timestamp",
    "x-vibepeak-event",
    "content-type",
];

fn arb_headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(
        (
            prop_oneof![
                3 => prop::sample::select(HEADER_NAMES).prop_map(str::to_string),
                1 => "[a-z-]{1,12}",
            ],
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..80),
                "(sha256=)?[0-9a-fA-F]{0,70}".prop_map(String::into_bytes),
                any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            ],
        ),
        0..6,
    )
    .prop_map(|pairs| {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&value),
            ) {
                h.append(n, v);
            }
        }
        h
    })
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        documented_event().prop_map(|e| e.body),
    ]
}

/// A documented webhook delivery.
#[derive(Debug, Clone)]
struct Event {
    body: Vec<u8>,
    id: String,
    event: &'static str,
    status: &'static str,
}

fn documented_event() -> impl Strategy<Value = Event> {
    (
        documented_task(),
        prop::sample::select(&["task.completed", "task.failed"][..]),
        any::<bool>(),
    )
        .prop_map(|(t, event, with_status)| {
            let status = if event == "task.completed" {
                "completed"
            } else {
                "failed"
            };
            let mut body = t.body;
            body["event"] = json!(event);
            if with_status {
                body["status"] = json!(status);
            } else {
                body.as_object_mut().unwrap().remove("status");
            }
            Event {
                body: serde_json::to_vec(&body).unwrap(),
                id: t.id,
                event,
                status,
            }
        })
}

/// The documented scheme, computed here: hex HMAC-SHA256 of "{timestamp}.{body}".
fn signed_headers(event: &str, timestamp: &str, body: &[u8], prefix: bool) -> HeaderMap {
    let sig = sign_hex(SECRET.as_bytes(), &[timestamp.as_bytes(), b".", body]);
    let sig = if prefix { format!("sha256={sig}") } else { sig };
    let mut h = HeaderMap::new();
    h.insert("x-vibepeak-event", event.parse().unwrap());
    if let Ok(v) = HeaderValue::from_str(timestamp) {
        h.insert("x-vibepeak-timestamp", v);
    }
    h.insert("x-vibepeak-signature", sig.parse().unwrap());
    h
}

#[test]
fn webhooks_with_arbitrary_headers_and_bodies_never_panic() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    proptest!(|(headers in arb_headers(), body in arb_body())| {
        let _ = v.verify(&headers, &body, now());
        let _ = v.parse(&headers, &body);
    });
}

#[test]
fn correctly_signed_arbitrary_deliveries_never_panic() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    proptest!(|(
        timestamp in prop_oneof![
            (-400i64..400).prop_map(|d| (now().timestamp() + d).to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[ -~]{0,24}",
        ],
        body in arb_body(),
    )| {
        let h = signed_headers("task.completed", &timestamp, &body, true);
        match v.verify(&h, &body, now()) {
            Ok(()) | Err(WebhookError::Stale) => {}
            Err(e) if h.get("x-vibepeak-timestamp").is_none() => {
                prop_assert_eq!(e, WebhookError::MissingHeader("X-VibePeak-Timestamp"));
            }
            Err(e) if timestamp.trim().is_empty() => {
                prop_assert!(matches!(e, WebhookError::MissingHeader(_)), "{e:?}");
            }
            Err(e) if timestamp.trim() != timestamp => {
                // The header value is trimmed before it is signed over: a padded timestamp
                // signed untrimmed does not verify. Either answer is a refusal.
                prop_assert!(matches!(e, WebhookError::BadSignature), "{e:?}");
            }
            Err(e) => prop_assert!(false, "a correctly signed delivery gave {e:?}"),
        }
        let _ = v.parse(&h, &body);
    });
}

#[test]
fn signed_current_deliveries_verify_parse_back_and_any_changed_byte_fails() {
    let v = VibePeakWebhookVerifier::new(SECRET);
    proptest!(|(
        e in documented_event(),
        skew in -300i64..=300,
        prefix in any::<bool>(),
        at in any::<Index>(),
        flip in 1u8..=255,
    )| {
        let timestamp = (now().timestamp() + skew).to_string();
        let h = signed_headers(e.event, &timestamp, &e.body, prefix);
        prop_assert_eq!(v.verify(&h, &e.body, now()), Ok(()));
        let parsed = v.parse(&h, &e.body).unwrap();
        prop_assert_eq!(parsed.provider, Provider::VibePeak);
        prop_assert_eq!(&parsed.job_id, &e.id);
        prop_assert_eq!(parsed.event.as_str(), e.event);
        prop_assert_eq!(parsed.event_id, format!("{}:{}", e.id, e.event));
        let status = parsed.status.unwrap();
        prop_assert_eq!(status.raw.as_str(), e.status);
        prop_assert!(status.is_terminal());
        let snap = parsed.snapshot.unwrap();
        prop_assert_eq!(&snap.job.id, &e.id);

        let mut tampered = e.body.clone();
        let i = at.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert_eq!(v.verify(&h, &tampered, now()), Err(WebhookError::BadSignature));
    });
}

// ---- requests -----------------------------------------------------------------------------

const SCRIPT_CHARS: &[char] = &[
    'a', 'b', 'e', 'h', 'i', 'k', 'l', 'm', 'n', 'o', 'r', 's', 't', 'u', 'w', 'A', 'T', 'É', 'é',
    'à', 'ü', 'ß', ' ', ' ', ' ', '.', ',', ';', ':', '!', '?', '\'', '"', '(', ')', '-',
    '\u{2019}', '\u{2014}',
];

fn script(images: usize) -> impl Strategy<Value = String> {
    (images * 40..=images * 50).prop_flat_map(|len| {
        prop::collection::vec(prop::sample::select(SCRIPT_CHARS), len - 1)
            .prop_map(|rest| std::iter::once('W').chain(rest).collect())
    })
}

fn images(n: usize) -> impl Strategy<Value = Vec<String>> {
    (
        "[a-z]{1,10}",
        prop::collection::vec(
            prop::sample::select(&["jpg", "JPEG", "png", "webp", ""][..]),
            n,
        ),
    )
        .prop_map(|(host, exts)| {
            exts.iter()
                .enumerate()
                .map(|(i, ext)| {
                    if ext.is_empty() {
                        format!("https://{host}.example.com/listing/{i}")
                    } else {
                        format!("https://{host}.example.com/listing/{i}.{ext}?w=1")
                    }
                })
                .collect()
        })
}

fn uuid_v4() -> impl Strategy<Value = String> {
    any::<[u8; 16]>().prop_map(|mut b| {
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    })
}

/// Floats that print and parse back exactly.
fn nice_f64(max_thousandths: u32) -> impl Strategy<Value = f64> {
    (0..=max_thousandths).prop_map(|n| f64::from(n) / 1000.0)
}

fn element_size() -> impl Strategy<Value = ElementSize> {
    prop_oneof![
        nice_f64(500_000).prop_map(ElementSize::Number),
        "[a-z]{1,8}".prop_map(ElementSize::Named),
    ]
}

fn elements_config() -> impl Strategy<Value = ElementsConfig> {
    (
        any::<bool>(),
        prop::option::of((
            "[a-z]{1,8}",
            prop::option::of("[a-z-]{1,12}"),
            prop::option::of(element_size()),
            prop::option::of(nice_f64(1000)),
        )),
        prop::option::of((
            "[A-Za-z][A-Za-z ]{0,16}",
            prop::option::of("#[0-9A-F]{6}"),
            prop::option::of("[A-Za-z ]{1,12}"),
            prop::option::of(element_size()),
            prop::option::of("[a-z-]{1,12}"),
        )),
    )
        .prop_map(|(enabled, watermark, text)| ElementsConfig {
            enabled,
            watermark: watermark.map(|(host, position, size, opacity)| Watermark {
                url: format!("https://{host}.example.com/logo.png"),
                position,
                size,
                opacity,
            }),
            text: text.map(|(content, color, font, size, position)| TextElement {
                content,
                color,
                font,
                size,
                position,
            }),
        })
}

fn test_scenario() -> impl Strategy<Value = TestScenario> {
    prop_oneof![
        Just(TestScenario::Success),
        Just(TestScenario::ImageProcessingFailed),
        Just(TestScenario::Slow),
        "x_[a-z]{1,8}".prop_map(TestScenario::Other),
    ]
}

fn extra() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map(
        "x_[a-z]{1,8}",
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ],
        0..3,
    )
}

/// A valid slideshow with every documented field generated (optional ones sometimes left out).
fn valid_slideshow() -> impl Strategy<Value = NarratedSlideshow> {
    (6usize..=15).prop_flat_map(|n| {
        (
            images(n),
            script(n),
            (
                "[a-zA-Z0-9_]{1,16}",
                prop::option::of(prop::sample::select(
                    &["en", "fr", "pt-BR", "zh-Hant-TW"][..],
                )),
            ),
            prop::option::of(prop::sample::select(
                &[Orientation::Landscape, Orientation::Portrait][..],
            )),
            prop::option::of(prop::sample::select(
                &[
                    OrchestrationMode::Standard,
                    OrchestrationMode::Artistic,
                    OrchestrationMode::Sequential,
                ][..],
            )),
            prop::option::of(any::<bool>()),
            prop::option::of(uuid_v4()),
            prop::option::of("[a-z]{1,10}".prop_map(Subtitle::preset)),
            prop::option::of(elements_config()),
            prop::option::of(prop_oneof![
                "https://hooks\\.example\\.com/[a-z]{0,10}",
                Just("http://127.0.0.1:8080/webhooks/vibepeak".to_string()),
            ]),
            prop::option::of(test_scenario()),
            extra(),
        )
            .prop_map(
                |(
                    images,
                    script,
                    (voice_id, language),
                    orientation,
                    mode,
                    music,
                    avatar,
                    subtitle,
                    elements,
                    webhook,
                    scenario,
                    extra,
                )| {
                    let mut voice = Voice::new(voice_id);
                    voice.language = language.map(str::to_string);
                    let mut b = NarratedSlideshow::builder()
                        .images(images)
                        .voice(voice)
                        .script(script);
                    if let Some(o) = orientation {
                        b = b.orientation(o);
                    }
                    if let Some(m) = mode {
                        b = b.orchestration_mode(m);
                    }
                    if let Some(on) = music {
                        b = b.background_music(on);
                    }
                    if let Some(a) = avatar {
                        b = b.avatar_id(a);
                    }
                    if let Some(s) = subtitle {
                        b = b.subtitle(s);
                    }
                    if let Some(e) = elements {
                        b = b.elements_config(e);
                    }
                    if let Some(w) = webhook {
                        b = b.webhook_url(w);
                    }
                    if let Some(s) = scenario {
                        b = b.test_scenario(s);
                    }
                    for (k, v) in extra {
                        b = b.extra(k, v);
                    }
                    b.build().unwrap()
                },
            )
    })
}

/// Any refusal names VibePeak and a field.
fn check_refusal(r: Result<(), Error>) -> Result<(), TestCaseError> {
    match r {
        Ok(()) => {}
        Err(Error::InvalidInput {
            provider, field, ..
        }) => {
            prop_assert_eq!(provider, Provider::VibePeak);
            prop_assert!(!field.is_empty());
        }
        Err(other) => prop_assert!(false, "validation gave {other:?}"),
    }
    Ok(())
}

fn request_client() -> VibePeakClient {
    client(HttpResponse::new(500, ""))
}

#[test]
fn arbitrary_request_bodies_never_panic_the_validator() {
    let c = request_client();
    proptest!(|(
        body in arb_json(),
        tool in prop::option::of(prop_oneof![Just("narrated-slideshow".to_string()), ".{0,12}"]),
        webhook in prop::option::of(prop_oneof![".{0,24}", "https://[a-z]{1,8}\\.com/h"]),
    )| {
        check_refusal(validate_body(&body))?;
        if let Ok(show) = serde_json::from_value::<NarratedSlideshow>(body.clone()) {
            check_refusal(show.validate())?;
        }
        let req = SubmitRequest { tool, body, key: None, webhook_url: webhook };
        check_refusal(c.prepare_body(&req).map(|_| ()))?;
    });
}

#[test]
fn mutated_valid_request_bodies_never_panic_the_validator() {
    let c = request_client();
    proptest!(|(show in valid_slideshow(), changes in mutations())| {
        let mut body = show.to_body();
        mutate(&mut body, &changes);
        check_refusal(validate_body(&body))?;
        check_refusal(c.prepare_body(&SubmitRequest::new(body)).map(|_| ()))?;
    });
}

#[test]
fn valid_slideshows_serialise_parse_back_and_validate() {
    let c = request_client();
    proptest!(|(show in valid_slideshow())| {
        let body = show.to_body();
        let text = serde_json::to_string(&body).unwrap();
        let back: NarratedSlideshow = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &show);
        prop_assert!(validate_body(&body).is_ok(), "{:?}", validate_body(&body));
        prop_assert!(back.validate().is_ok());
        // The request the client would send is the same body (the webhook URL travels beside it
        // and is put back).
        let req = SubmitRequest::from(show.clone());
        prop_assert_eq!(req.webhook_url.clone(), show.webhook_url.clone());
        prop_assert_eq!(c.prepare_body(&req).unwrap(), body);
    });
}
