//! Property tests for every VideoGen parser that sees provider or user bytes: status bodies and
//! error bodies (through the client over a mocked transport), webhook headers and payloads
//! (Standard Webhooks), and tool request bodies, typed and raw. None of them may panic, and
//! each round-trips where a round trip exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use mediajobs_core::{
    Error, ManualClock, Operation, Provider, ProviderApi, Status, SubmitRequest, Timestamp,
    WebhookError, WebhookVerifier,
};
use mediajobs_transport::signature::sign_base64;
use mediajobs_transport::{HttpRequest, HttpResponse, MockTransport};
use mediajobs_videogen::{
    AspectRatio, CommonOptions, GenerateAudio, GenerateAvatar, GenerateImage,
    GenerateMotionGraphic, GenerateVideoClip, ImageInput, Quality, TextToSpeech, ToolExecution,
    ToolRequest, VideoGenClient, VideoGenWebhookVerifier, VideoInput, WatermarkMode, mime_type,
    provider_status, tool_names, tool_type_of,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

const BASE: &str = "http://127.0.0.1:9/videogen";
/// Uppercase and digits: no generated message contains it.
const KEY: &str = "vg_PROPKEY0123456789";

fn now() -> Timestamp {
    "2026-01-04T12:00:00Z".parse().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

type Seen = Arc<Mutex<Vec<HttpRequest>>>;

/// A client whose transport answers every request with `resp`, and the requests it sent.
fn client_seen(resp: HttpResponse) -> (VideoGenClient, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |req| {
        log.lock().unwrap().push(req);
        Ok(resp.clone())
    });
    let c = VideoGenClient::builder()
        .api_key(KEY)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .clock(Arc::new(ManualClock::new(now())))
        .build()
        .unwrap();
    (c, seen)
}

fn client(resp: HttpResponse) -> VideoGenClient {
    client_seen(resp).0
}

fn ts(secs: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(secs, 0).unwrap()
}

// ---- arbitrary JSON and mutations ---------------------------------------------------------

/// Documented field names, so that arbitrary objects reach the readers' and validators' paths.
const FIELDS: &[&str] = &[
    "toolExecutionId",
    "toolType",
    "status",
    "progressPercentage",
    "attemptIndex",
    "results",
    "error",
    "fileId",
    "type",
    "file",
    "downloadSource",
    "previewSource",
    "thumbnailSource",
    "url",
    "expiresAt",
    "fileBytes",
    "width",
    "height",
    "message",
    "code",
    "requirement",
    "toolExecution",
    "execution",
    "data",
    "event",
    "occurredAt",
    "timestamp",
    "prompt",
    "imageFileIds",
    "aspectRatio",
    "quality",
    "videoFileId",
    "durationSeconds",
    "ttsText",
    "voiceSpeed",
    "actorEntityId",
    "audioFileId",
    "avatarPresenterId",
    "audioStorageFileId",
    "imageFileId",
    "imageStorageFileId",
    "videoStorageFileId",
    "numResults",
    "watermarkMode",
];

/// Words the readers give meaning to.
const WORDS: &[&str] = &[
    "pending",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "tool_execution.succeeded",
    "tool_execution.failed",
    "file.created",
    "GENERATE_IMAGE",
    "IMAGE",
    "PDF",
    "ready",
    "2026-01-04T12:00:00Z",
    "1767528000",
    "1e400",
    "https://cdn.example.com/f.png?sig=1",
    "HIGH",
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

const STATUSES: &[&str] = &["pending", "running", "succeeded", "failed", "cancelled"];

#[derive(Debug, Clone)]
struct GenResult {
    file_id: String,
    kind: &'static str,
    url: String,
    expires_at: Option<i64>,
    size: Option<u64>,
}

/// A documented execution answer and what the snapshot must say about it.
#[derive(Debug, Clone)]
struct Execution {
    body: Value,
    id: String,
    status: &'static str,
    tool_type: Option<&'static str>,
    progress: Option<f64>,
    attempt: Option<u32>,
    results: Vec<GenResult>,
    error: Option<(Option<String>, String)>,
}

fn exec_id() -> impl Strategy<Value = String> {
    "vg_exec_[A-Za-z0-9_-]{1,20}"
}

fn tool_types() -> Vec<&'static str> {
    tool_names().filter_map(tool_type_of).collect()
}

fn gen_result() -> impl Strategy<Value = GenResult> {
    (
        "vg_file_[a-z0-9]{1,12}",
        prop::sample::select(&["IMAGE", "VIDEO", "AUDIO", "PDF", "SLIDESHOW"][..]),
        prop::sample::select(&["png", "mp4", "mp3", "pdf", "bin", ""][..]),
        prop::option::of(1_600_000_000i64..2_000_000_000),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(file_id, kind, ext, expires_at, size)| {
            let url = if ext.is_empty() {
                format!("https://cdn.videogen.io/files/{file_id}?sig=1")
            } else {
                format!("https://cdn.videogen.io/files/{file_id}.{ext}?sig=1")
            };
            GenResult {
                file_id,
                kind,
                url,
                expires_at,
                size,
            }
        })
}

fn documented_execution() -> impl Strategy<Value = Execution> {
    (
        exec_id(),
        prop::sample::select(STATUSES),
        prop::option::of(prop::sample::select(tool_types())),
        prop::option::of(prop_oneof![
            (0u32..=100).prop_map(f64::from),
            (0u32..=100_000).prop_map(|n| f64::from(n) / 1000.0),
        ]),
        prop::option::of(0u32..10),
        prop::collection::vec(gen_result(), 1..4),
        (prop::option::of("[a-z_]{1,24}"), "[a-zA-Z][a-zA-Z ,.]{0,40}"),
    )
        .prop_map(
            |(id, status, tool_type, progress, attempt, results, (code, message))| {
                let mut body = json!({"toolExecutionId": id, "status": status});
                if let Some(t) = tool_type {
                    body["toolType"] = json!(t);
                }
                if let Some(p) = progress {
                    body["progressPercentage"] = json!(p);
                }
                if let Some(a) = attempt {
                    body["attemptIndex"] = json!(a);
                }
                let mut e = Execution {
                    body: Value::Null,
                    id,
                    status,
                    tool_type,
                    progress,
                    attempt,
                    results: Vec::new(),
                    error: None,
                };
                match status {
                    "succeeded" => {
                        body["results"] = results
                            .iter()
                            .map(|r| {
                                let mut src = json!({"status": "ready", "url": r.url});
                                if let Some(t) = r.expires_at {
                                    src["expiresAt"] = json!(t);
                                }
                                if let Some(n) = r.size {
                                    src["fileBytes"] = json!(n);
                                }
                                json!({"fileId": r.file_id, "type": r.kind,
                                       "file": {"fileId": r.file_id, "type": r.kind, "downloadSource": src}})
                            })
                            .collect();
                        body["error"] = Value::Null;
                        e.results = results;
                    }
                    "failed" => {
                        body["error"] = json!({"message": message, "code": code});
                        e.error = Some((code, message));
                    }
                    _ => {}
                }
                e.body = body;
                e
            },
        )
}

/// A status read of `body` answered 200: anything but a decode error is a wrong mapping.
fn read_200(rt: &tokio::runtime::Runtime, id: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
    let c = client(HttpResponse::new(200, body));
    match rt.block_on(c.status(id)) {
        Ok(s) => {
            prop_assert_eq!(s.job.provider, Provider::VideoGen);
            prop_assert!(!s.job.id.is_empty());
            if let Some(p) = s.progress {
                prop_assert!((0.0..=100.0).contains(&p), "progress {p}");
            }
        }
        Err(Error::Decode {
            provider,
            operation,
            http_status,
            ..
        }) => {
            prop_assert_eq!(provider, Provider::VideoGen);
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
        read_200(&rt, "vg_exec_1", body)?;
    });
}

#[test]
fn status_bodies_of_arbitrary_json_never_panic() {
    let rt = runtime();
    proptest!(|(
        v in arb_json(),
        wrap in prop::option::of(prop::sample::select(&["toolExecution", "execution", "data"][..])),
    )| {
        let v = match wrap {
            Some(k) => json!({ k: v }),
            None => v,
        };
        read_200(&rt, "vg_exec_1", serde_json::to_vec(&v).unwrap())?;
    });
}

#[test]
fn mutated_documented_status_bodies_never_panic() {
    let rt = runtime();
    proptest!(|(e in documented_execution(), changes in mutations())| {
        let mut body = e.body.clone();
        mutate(&mut body, &changes);
        read_200(&rt, &e.id, serde_json::to_vec(&body).unwrap())?;
    });
}

#[test]
fn documented_status_bodies_round_trip_into_the_snapshot() {
    let rt = runtime();
    proptest!(|(e in documented_execution(), retry in prop::option::of(0u64..86_400))| {
        let mut resp = HttpResponse::new(200, serde_json::to_vec(&e.body).unwrap());
        if let Some(r) = retry {
            resp = resp.with_header("retry-after", &r.to_string());
        }
        let (c, seen) = client_seen(resp);
        let s = rt.block_on(c.status(&e.id)).unwrap();
        let url = seen.lock().unwrap()[0].url.clone();
        prop_assert_eq!(url, format!("{BASE}/v1/tools/executions/{}", e.id));
        prop_assert_eq!(s.job.provider, Provider::VideoGen);
        prop_assert_eq!(&s.job.id, &e.id);
        prop_assert_eq!(s.status.raw.as_str(), e.status);
        prop_assert!(s.status.recognized);
        prop_assert_eq!(s.status.status, provider_status(e.status).status);
        prop_assert_eq!(s.progress, e.progress);
        prop_assert_eq!(s.attempt, e.attempt);
        prop_assert_eq!(s.tool.as_deref(), e.tool_type);
        prop_assert_eq!(s.retry_after, retry.map(Duration::from_secs));
        prop_assert_eq!(s.outputs.len(), e.results.len());
        for (o, r) in s.outputs.iter().zip(&e.results) {
            prop_assert_eq!(o.url.as_deref(), Some(r.url.as_str()));
            prop_assert_eq!(o.file_id.as_deref(), Some(r.file_id.as_str()));
            prop_assert_eq!(o.expires_at, r.expires_at.map(ts));
            prop_assert_eq!(o.size, r.size);
            prop_assert_eq!(o.mime_type.clone(), mime_type(Some(r.kind), Some(&r.url)));
        }
        match &e.error {
            Some((code, message)) => {
                let got = s.error.as_ref().unwrap();
                prop_assert_eq!(&got.code, code);
                prop_assert_eq!(&got.message, message);
            }
            None => prop_assert!(s.error.is_none()),
        }
        prop_assert_eq!(&s.raw, &e.body);
    });
}

/// The typed execution reads a documented answer, and writes what reads back as the same one.
#[test]
fn documented_executions_round_trip_through_the_typed_execution() {
    proptest!(|(e in documented_execution())| {
        let exec: ToolExecution = serde_json::from_value(e.body.clone()).unwrap();
        prop_assert_eq!(&exec.tool_execution_id, &e.id);
        prop_assert_eq!(exec.status.as_str(), e.status);
        prop_assert_eq!(exec.progress_percentage, e.progress);
        let text = serde_json::to_string(&exec).unwrap();
        let back: ToolExecution = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &exec);
        prop_assert_eq!(back.to_snapshot(Value::Null), exec.to_snapshot(Value::Null));
    });
}

// ---- error bodies -------------------------------------------------------------------------

fn error_status() -> impl Strategy<Value = u16> {
    prop_oneof![400u16..=499, 500u16..=599]
}

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
            (arb_json(), arb_json()).prop_map(|(m, r)| serde_json::to_vec(&json!({"message": m, "requirement": r})).unwrap()),
        ],
        headers in error_headers(),
    )| {
        let mut resp = HttpResponse::new(status, body);
        for (n, v) in &headers {
            resp = resp.with_header(n, v);
        }
        let c = client(resp);
        let err = rt.block_on(c.status("vg_exec_1")).unwrap_err();
        let Error::Api(e) = &err else {
            return Err(TestCaseError::fail(format!("HTTP {status} gave {err:?}")));
        };
        prop_assert_eq!(e.provider, Provider::VideoGen);
        prop_assert_eq!(e.http_status, status);
        prop_assert_eq!(e.operation, Operation::Status);
        let _ = err.to_string();
        // Rate-limit headers on an error answer are read without panicking too.
        let _ = c.rate_limits();
    });
}

/// Codes of the generated table (some), and others.
const CODES: &[&str] = &[
    "invalid_parameters",
    "invalid_id",
    "missing_api_key",
    "invalid_api_key",
    "not_found",
    "rate_limited",
];

#[test]
fn error_answers_give_back_their_code_and_message() {
    let rt = runtime();
    proptest!(|(
        status in error_status(),
        code in prop_oneof![prop::sample::select(CODES).prop_map(str::to_string), "[a-z_]{1,24}"],
        message in "[a-zA-Z][a-zA-Z .,]{0,60}",
        requirement in prop::option::of("[a-z_]{1,12}"),
        nested in any::<bool>(),
        retry in prop::option::of(0u64..86_400),
    )| {
        let mut body = if nested {
            json!({"error": {"code": code, "message": message}})
        } else {
            json!({"message": message, "code": code})
        };
        if let Some(r) = &requirement {
            body["requirement"] = json!({"type": r});
        }
        let mut resp = HttpResponse::new(status, serde_json::to_vec(&body).unwrap());
        if let Some(r) = retry {
            resp = resp.with_header("retry-after", &r.to_string());
        }
        let err = rt.block_on(client(resp).status("vg_exec_1")).unwrap_err();
        prop_assert_eq!(err.code(), Some(code.as_str()));
        let e = err.api().unwrap();
        prop_assert!(e.message.starts_with(&message), "{:?} does not start with {:?}", e.message, message);
        if let Some(r) = &requirement {
            let want = format!("(requirement: {r})");
            prop_assert!(e.message.ends_with(&want), "{:?}", e.message);
        }
        prop_assert_eq!(e.http_status, status);
        prop_assert_eq!(e.retry_after, retry.map(Duration::from_secs));
    });
}

// ---- webhooks -----------------------------------------------------------------------------

const HEADER_NAMES: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
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
                "(v[0-9a],[A-Za-z0-9+/=]{0,48} ?){0,3}".prop_map(String::into_bytes),
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

/// A documented delivery.
#[derive(Debug, Clone)]
struct Event {
    body: Vec<u8>,
    id: String,
    event: String,
    status: &'static str,
}

fn documented_event() -> impl Strategy<Value = Event> {
    (
        documented_execution(),
        prop::sample::select(&["succeeded", "failed", "cancelled"][..]),
        1_600_000_000i64..2_000_000_000,
    )
        .prop_map(|(e, status, occurred)| {
            let event = format!("tool_execution.{status}");
            let mut body = json!({
                "event": event, "toolExecutionId": e.id, "occurredAt": occurred,
            });
            if let Some(t) = e.tool_type {
                body["toolType"] = json!(t);
            }
            if let Some(r) = e.body.get("results") {
                body["results"] = r.clone();
            }
            if let Some(err) = e.body.get("error").filter(|v| !v.is_null()) {
                body["error"] = err.clone();
            }
            Event {
                body: serde_json::to_vec(&body).unwrap(),
                id: e.id,
                event,
                status,
            }
        })
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (
            arb_json(),
            prop::option::of(prop::sample::select(
                &["tool_execution.succeeded", "file.ready"][..]
            ))
        )
            .prop_map(|(data, t)| serde_json::to_vec(
                &json!({"type": t, "timestamp": 1, "data": data})
            )
            .unwrap()),
        documented_event().prop_map(|e| e.body),
    ]
}

/// A key and its `whsec_` secret.
fn secret() -> impl Strategy<Value = (Vec<u8>, String)> {
    prop::collection::vec(any::<u8>(), 1..48).prop_map(|key| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&key);
        (key, format!("whsec_{b64}"))
    })
}

/// The Standard Webhooks scheme, computed here: `v1,` + base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}" keyed with the decoded secret.
fn signed_headers(key: &[u8], msg_id: &str, timestamp: &str, body: &[u8]) -> HeaderMap {
    let sig = sign_base64(
        key,
        &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(msg_id) {
        h.insert("webhook-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(timestamp) {
        h.insert("webhook-timestamp", v);
    }
    h.insert(
        "webhook-signature",
        format!("v1a,bm9wZQ== v1,{sig}").parse().unwrap(),
    );
    h
}

#[test]
fn webhooks_with_arbitrary_headers_and_bodies_never_panic() {
    proptest!(|((_, s) in secret(), headers in arb_headers(), body in arb_body())| {
        let v = VideoGenWebhookVerifier::new(s).unwrap();
        let _ = v.verify(&headers, &body, now());
        let _ = v.parse(&headers, &body);
        let _ = VideoGenWebhookVerifier::parse_payload(&body);
    });
}

#[test]
fn arbitrary_secret_lists_never_panic() {
    proptest!(|(list in prop_oneof![".{0,64}", "(whsec_)?[A-Za-z0-9+/=]{0,40}([ ,]+(whsec_)?[A-Za-z0-9+/=]{0,40}){0,3}"])| {
        if let Ok(v) = VideoGenWebhookVerifier::from_secret_list(&list) {
            prop_assert!(v.secret_count() >= 1);
        }
    });
}

#[test]
fn correctly_signed_arbitrary_deliveries_never_panic() {
    proptest!(|(
        (key, s) in secret(),
        msg_id in "[ -~]{0,24}",
        timestamp in prop_oneof![
            (-400i64..400).prop_map(|d| (now().timestamp() + d).to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[ -~]{0,24}",
        ],
        body in arb_body(),
    )| {
        let v = VideoGenWebhookVerifier::new(s).unwrap();
        let h = signed_headers(&key, &msg_id, &timestamp, &body);
        let clean = !msg_id.trim().is_empty() && msg_id.trim() == msg_id && timestamp.trim() == timestamp;
        match v.verify(&h, &body, now()) {
            Ok(()) | Err(WebhookError::Stale) => prop_assert!(clean),
            Err(WebhookError::BadSignature) => {
                // Only a timestamp that is not an integer, or a header trimmed before use.
                prop_assert!(!clean || timestamp.parse::<i64>().is_err(), "{msg_id:?} {timestamp:?}");
            }
            Err(WebhookError::MissingHeader(_)) => {
                prop_assert!(msg_id.trim().is_empty() || timestamp.trim().is_empty());
            }
            Err(e) => prop_assert!(false, "a correctly signed delivery gave {e:?}"),
        }
        let _ = v.parse(&h, &body);
    });
}

#[test]
fn signed_current_deliveries_verify_parse_back_and_any_changed_byte_fails() {
    proptest!(|(
        (key, s) in secret(),
        e in documented_event(),
        msg_id in "msg_[A-Za-z0-9]{1,27}",
        skew in -300i64..=300,
        at in any::<Index>(),
        flip in 1u8..=255,
    )| {
        let v = VideoGenWebhookVerifier::new(s).unwrap();
        let timestamp = (now().timestamp() + skew).to_string();
        let h = signed_headers(&key, &msg_id, &timestamp, &e.body);
        prop_assert_eq!(v.verify(&h, &e.body, now()), Ok(()));
        let parsed = v.parse(&h, &e.body).unwrap();
        prop_assert_eq!(parsed.provider, Provider::VideoGen);
        prop_assert_eq!(&parsed.job_id, &e.id);
        prop_assert_eq!(&parsed.event, &e.event);
        prop_assert_eq!(&parsed.event_id, &msg_id);
        let status = parsed.status.unwrap();
        prop_assert_eq!(status.raw.as_str(), e.status);
        prop_assert!(status.is_terminal());
        prop_assert_eq!(&parsed.snapshot.unwrap().job.id, &e.id);

        let mut tampered = e.body.clone();
        let i = at.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert_eq!(v.verify(&h, &tampered, now()), Err(WebhookError::BadSignature));
    });
}

/// A documented payload reads as the typed payload, which writes what reads back the same.
#[test]
fn documented_payloads_round_trip_through_the_typed_payload() {
    proptest!(|(e in documented_event())| {
        let payload = VideoGenWebhookVerifier::parse_payload(&e.body).unwrap();
        prop_assert_eq!(payload.tool_execution_id.as_deref(), Some(e.id.as_str()));
        let text = serde_json::to_vec(&payload).unwrap();
        prop_assert_eq!(VideoGenWebhookVerifier::parse_payload(&text).unwrap(), payload);
    });
}

// ---- tool requests ------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z][ -~]{0,40}"
}

fn file_id() -> impl Strategy<Value = String> {
    "vg_file_[a-z0-9]{1,10}"
}

fn common() -> impl Strategy<Value = CommonOptions> {
    (
        prop::option::of(1u32..=100),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(
            &[
                WatermarkMode::Auto,
                WatermarkMode::VideoGen,
                WatermarkMode::None,
            ][..],
        )),
    )
        .prop_map(
            |(num_results, is_output_temporary, watermark_mode)| CommonOptions {
                num_results,
                is_output_temporary,
                watermark_mode,
            },
        )
}

fn aspect() -> impl Strategy<Value = Option<AspectRatio>> {
    prop::option::of((1u32..=32, 1u32..=32).prop_map(|(w, h)| AspectRatio::new(w, h)))
}

fn quality() -> impl Strategy<Value = Option<Quality>> {
    prop::option::of(prop::sample::select(
        &[Quality::Low, Quality::Standard, Quality::High, Quality::Max][..],
    ))
}

fn duration() -> impl Strategy<Value = Option<u32>> {
    prop::option::of(1u32..=600)
}

/// A valid request for every tool.
fn valid_tool_request() -> impl Strategy<Value = ToolRequest> {
    let image = (
        text(),
        prop::collection::vec(file_id(), 0..=4),
        aspect(),
        quality(),
        common(),
    )
        .prop_map(|(prompt, image_file_ids, aspect_ratio, quality, common)| {
            ToolRequest::GenerateImage(GenerateImage {
                prompt,
                image_file_ids,
                aspect_ratio,
                quality,
                common,
            })
        });
    let clip = (
        prop::option::of(text()),
        prop::collection::vec(file_id(), 0..=4),
        prop::option::of(file_id()),
        prop::option::of(any::<bool>()),
        duration(),
        aspect(),
        quality(),
        common(),
    )
        .prop_map(
            |(
                prompt,
                image_file_ids,
                video_file_id,
                generate_audio,
                duration_seconds,
                aspect_ratio,
                quality,
                common,
            )| {
                let prompt = if image_file_ids.is_empty() && video_file_id.is_none() {
                    Some(prompt.unwrap_or_else(|| "a clip".to_string()))
                } else {
                    prompt
                };
                ToolRequest::GenerateVideoClip(GenerateVideoClip {
                    prompt,
                    image_file_ids,
                    video_file_id,
                    generate_audio,
                    duration_seconds,
                    aspect_ratio,
                    quality,
                    common,
                })
            },
        );
    let motion = (
        text(),
        duration(),
        aspect(),
        prop::option::of(any::<bool>()),
        common(),
    )
        .prop_map(
            |(prompt, duration_seconds, aspect_ratio, transparent_background, common)| {
                ToolRequest::GenerateMotionGraphic(GenerateMotionGraphic {
                    prompt,
                    duration_seconds,
                    aspect_ratio,
                    transparent_background,
                    common,
                })
            },
        );
    let speech = (
        text(),
        prop::option::of("[a-z_]{1,12}"),
        prop::option::of(
            prop::sample::select(&["en-US", "fr-FR", "pt-BR"][..]).prop_map(str::to_string),
        ),
        prop::option::of((1u32..=4000).prop_map(|n| f64::from(n) / 1000.0)),
        common(),
    )
        .prop_map(
            |(tts_text, voice_id, speech_language_code, voice_speed, common)| {
                ToolRequest::TextToSpeech(TextToSpeech {
                    tts_text,
                    voice_id,
                    speech_language_code,
                    voice_speed,
                    common,
                })
            },
        );
    let audio = (text(), duration(), common(), any::<bool>()).prop_map(
        |(prompt, duration_seconds, common, music)| {
            let a = GenerateAudio {
                prompt,
                duration_seconds,
                common,
            };
            if music {
                ToolRequest::GenerateMusic(a)
            } else {
                ToolRequest::GenerateSoundEffect(a)
            }
        },
    );
    let avatar = ("[a-z0-9_]{1,16}", file_id(), common()).prop_map(
        |(actor_entity_id, audio_file_id, common)| {
            ToolRequest::GenerateAvatar(GenerateAvatar {
                actor_entity_id,
                audio_file_id,
                common,
            })
        },
    );
    let image_input = (file_id(), common(), 0u8..4).prop_map(|(image_file_id, common, which)| {
        let i = ImageInput {
            image_file_id,
            common,
        };
        match which {
            0 => ToolRequest::VectorizeImage(i),
            1 => ToolRequest::RemoveImageBackground(i),
            2 => ToolRequest::UpscaleImage(i),
            _ => ToolRequest::Image3dEffect(i),
        }
    });
    let video_input =
        (file_id(), common(), any::<bool>()).prop_map(|(video_file_id, common, upscale)| {
            let v = VideoInput {
                video_file_id,
                common,
            };
            if upscale {
                ToolRequest::UpscaleVideo(v)
            } else {
                ToolRequest::RemoveVideoBackground(v)
            }
        });
    prop_oneof![
        image,
        clip,
        motion,
        speech,
        audio,
        avatar,
        image_input,
        video_input
    ]
}

/// The typed request a tool's body reads back as.
fn parse_back(tool: &str, body: Value) -> Result<ToolRequest, serde_json::Error> {
    use serde_json::from_value as v;
    Ok(match tool {
        "generate-image" => ToolRequest::GenerateImage(v(body)?),
        "generate-video-clip" => ToolRequest::GenerateVideoClip(v(body)?),
        "generate-motion-graphic" => ToolRequest::GenerateMotionGraphic(v(body)?),
        "text-to-speech" => ToolRequest::TextToSpeech(v(body)?),
        "generate-sound-effect" => ToolRequest::GenerateSoundEffect(v(body)?),
        "generate-music" => ToolRequest::GenerateMusic(v(body)?),
        "generate-avatar" => ToolRequest::GenerateAvatar(v(body)?),
        "vectorize-image" => ToolRequest::VectorizeImage(v(body)?),
        "remove-image-background" => ToolRequest::RemoveImageBackground(v(body)?),
        "remove-video-background" => ToolRequest::RemoveVideoBackground(v(body)?),
        "upscale-image" => ToolRequest::UpscaleImage(v(body)?),
        "upscale-video" => ToolRequest::UpscaleVideo(v(body)?),
        "image-3d-effect" => ToolRequest::Image3dEffect(v(body)?),
        other => panic!("unknown tool {other}"),
    })
}

fn accepted() -> HttpResponse {
    HttpResponse::new(
        202,
        serde_json::to_vec(&json!({"toolExecutionId": "vg_exec_new", "status": "pending"}))
            .unwrap(),
    )
}

/// A client answering every submit 202, and how many requests it sent.
fn counting_client() -> (VideoGenClient, Arc<AtomicUsize>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let n = sent.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |_| {
        n.fetch_add(1, Ordering::SeqCst);
        Ok(accepted())
    });
    let c = VideoGenClient::builder()
        .api_key(KEY)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    (c, sent)
}

/// Submits `req`: accepted, or refused before sending as invalid input; nothing else.
fn submit_checked(
    rt: &tokio::runtime::Runtime,
    c: &VideoGenClient,
    sent: &AtomicUsize,
    req: &SubmitRequest,
) -> Result<(), TestCaseError> {
    let before = sent.load(Ordering::SeqCst);
    match rt.block_on(c.submit(req)) {
        Ok(s) => {
            prop_assert_eq!(&s.job.id, "vg_exec_new");
            prop_assert_eq!(sent.load(Ordering::SeqCst), before + 1);
        }
        Err(Error::InvalidInput {
            provider, field, ..
        }) => {
            prop_assert_eq!(provider, Provider::VideoGen);
            prop_assert!(!field.is_empty());
            prop_assert_eq!(
                sent.load(Ordering::SeqCst),
                before,
                "a refused request was sent"
            );
        }
        Err(e) => prop_assert!(false, "submit gave {e:?}"),
    }
    Ok(())
}

fn any_tool() -> impl Strategy<Value = Option<String>> {
    let mut known: Vec<String> = tool_names().map(str::to_string).collect();
    known.extend(tool_types().into_iter().map(str::to_string));
    known.extend(tool_types().into_iter().map(str::to_ascii_lowercase));
    prop::option::of(prop_oneof![
        4 => prop::sample::select(known),
        1 => ".{0,20}",
    ])
}

#[test]
fn arbitrary_raw_bodies_never_panic_the_validator() {
    let rt = runtime();
    let (c, sent) = counting_client();
    proptest!(|(tool in any_tool(), body in arb_json())| {
        // The typed requests read from the same JSON validate without panicking too.
        for name in tool_names() {
            if let Ok(typed) = parse_back(name, body.clone()) {
                if typed.validate().is_ok() {
                    // What the typed rules accept, the raw rules accept too.
                    let sub = typed.to_submit_request().unwrap();
                    let snap = rt.block_on(c.submit(&sub));
                    prop_assert!(snap.is_ok(), "{:?} refused: {:?}", sub, snap);
                }
            }
        }
        let req = SubmitRequest { tool, body, key: None, webhook_url: None };
        submit_checked(&rt, &c, &sent, &req)?;
    });
}

#[test]
fn mutated_valid_raw_bodies_never_panic_the_validator() {
    let rt = runtime();
    let (c, sent) = counting_client();
    proptest!(|(req in valid_tool_request(), changes in mutations())| {
        let mut body = req.body().unwrap();
        mutate(&mut body, &changes);
        submit_checked(&rt, &c, &sent, &SubmitRequest::new(body).with_tool(req.tool()))?;
    });
}

#[test]
fn arbitrary_typed_requests_never_panic_the_validator() {
    proptest!(|(
        prompt in ".{0,12}",
        ids in prop::collection::vec(".{0,6}", 0..7),
        num in prop::option::of(any::<u32>()),
        w in any::<u32>(),
        h in any::<u32>(),
        speed in prop::option::of(any::<f64>()),
        secs in prop::option::of(any::<u32>()),
    )| {
        let common = CommonOptions { num_results: num, ..CommonOptions::default() };
        let requests = [
            ToolRequest::GenerateImage(GenerateImage {
                prompt: prompt.clone(), image_file_ids: ids.clone(), aspect_ratio: Some(AspectRatio::new(w, h)),
                quality: None, common: common.clone(),
            }),
            ToolRequest::GenerateVideoClip(GenerateVideoClip {
                prompt: Some(prompt.clone()), image_file_ids: ids.clone(), duration_seconds: secs,
                common: common.clone(), ..GenerateVideoClip::default()
            }),
            ToolRequest::TextToSpeech(TextToSpeech {
                tts_text: prompt.clone(), voice_id: ids.first().cloned(), speech_language_code: None,
                voice_speed: speed, common: common.clone(),
            }),
            ToolRequest::GenerateMusic(GenerateAudio { prompt, duration_seconds: secs, common }),
        ];
        for r in &requests {
            match r.to_submit_request() {
                Ok(sub) => {
                    prop_assert!(r.validate().is_ok());
                    prop_assert!(sub.body.is_object());
                }
                Err(Error::InvalidInput { provider, .. }) => prop_assert_eq!(provider, Provider::VideoGen),
                Err(e) => prop_assert!(false, "{e:?}"),
            }
        }
    });
}

#[test]
fn valid_tool_requests_serialise_parse_back_validate_and_are_sent_as_is() {
    let rt = runtime();
    proptest!(|(req in valid_tool_request())| {
        prop_assert!(req.validate().is_ok(), "{:?}", req.validate());
        let sub = req.to_submit_request().unwrap();
        prop_assert_eq!(sub.tool.as_deref(), Some(req.tool()));
        let text = serde_json::to_string(&sub.body).unwrap();
        let back = parse_back(req.tool(), serde_json::from_str(&text).unwrap()).unwrap();
        prop_assert_eq!(&back, &req);

        let (c, seen) = client_seen(accepted());
        let snap = rt.block_on(c.submit(&sub)).unwrap();
        prop_assert_eq!(snap.job.id.as_str(), "vg_exec_new");
        prop_assert_eq!(snap.status.status, Status::Queued);
        prop_assert_eq!(snap.tool.as_deref(), tool_type_of(req.tool()));
        let seen = seen.lock().unwrap();
        prop_assert_eq!(seen.len(), 1);
        prop_assert_eq!(&seen[0].url, &format!("{BASE}/v1/tools/{}", req.tool()));
        let sent: Value = serde_json::from_slice(seen[0].body.as_ref().unwrap()).unwrap();
        prop_assert_eq!(sent, sub.body);
    });
}
