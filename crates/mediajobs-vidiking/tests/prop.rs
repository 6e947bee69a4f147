//! Property tests for every Vidiking parser that sees provider or user bytes: status bodies and
//! error bodies (through the client over a mocked transport), webhook headers and payloads, and
//! render requests (the typed timeline and raw JSON). None of them may panic, and each
//! round-trips where a round trip exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::SecondsFormat;
use http::{HeaderMap, HeaderName, HeaderValue};
use mediajobs_core::{
    Error, ManualClock, Operation, Provider, ProviderApi, Status, SubmitRequest, Timestamp,
    WebhookError, WebhookVerifier,
};
use mediajobs_transport::signature::sign_hex;
use mediajobs_transport::{HttpRequest, HttpResponse, MockTransport};
use mediajobs_vidiking::{
    Asset, AudioAsset, Clip, ClipEffect, Fit, Format, HtmlAsset, ImageAsset, KEY_METADATA_FIELD,
    Offset, RenderOutput, RenderRequest, Resolution, Soundtrack, Timeline, TitleAsset, Track,
    Transition, TransitionKind, VideoAsset, VidikingClient, VidikingJob, VidikingWebhookVerifier,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

const BASE: &str = "http://127.0.0.1:9/vidiking";
/// Uppercase and digits: no generated message contains it.
const KEY: &str = "vk_live_PROPKEY0123456789";
const SECRET: &str = "whsec_vidiking_prop_secret";

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

type Seen = Arc<Mutex<Vec<HttpRequest>>>;

/// A client whose transport answers every request with `resp`, and the requests it sent.
fn client_seen(resp: HttpResponse) -> (VidikingClient, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |req| {
        log.lock().unwrap().push(req);
        Ok(resp.clone())
    });
    let c = VidikingClient::builder()
        .api_key(KEY)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .clock(Arc::new(ManualClock::new(now())))
        .build()
        .unwrap();
    (c, seen)
}

fn client(resp: HttpResponse) -> VidikingClient {
    client_seen(resp).0
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
    "id",
    "status",
    "url",
    "duration",
    "resolution",
    "format",
    "file_size",
    "credits_used",
    "created_at",
    "processing_started_at",
    "completed_at",
    "failed_at",
    "render_time",
    "error",
    "code",
    "message",
    "metadata",
    "mediajobs_key",
    "data",
    "success",
    "event",
    "timestamp",
    "wallet_balance",
    "timeline",
    "background",
    "soundtrack",
    "tracks",
    "clips",
    "asset",
    "type",
    "src",
    "text",
    "html",
    "css",
    "trim",
    "volume",
    "effect",
    "start",
    "length",
    "transition",
    "in",
    "out",
    "offset",
    "x",
    "y",
    "scale",
    "opacity",
    "fit",
    "output",
    "fps",
    "aspectRatio",
    "callback",
];

/// Words the readers give meaning to.
const WORDS: &[&str] = &[
    "QUEUED",
    "PROCESSING",
    "COMPLETE",
    "FAILED",
    "complete",
    "render.complete",
    "render.failed",
    "render.queued",
    "wallet.low",
    "2026-03-01T12:00:00Z",
    "2026-03-01 12:00:00",
    "1772366400",
    "1772366400000",
    "1e400",
    "1920x1080",
    "mp4",
    "video",
    "image",
    "title",
    "audio",
    "html",
    "fade",
    "zoomIn",
    "cover",
    "1080",
    "https://cdn.vidiking.com/renders/j.mp4",
    "",
];

#[path = "../../../test-support/prop_json.rs"]
mod prop_json;
use prop_json::{Mutation, mutate};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_json::json_leaf(WORDS)
}

fn arb_json() -> impl Strategy<Value = Value> {
    prop_json::arb_json(FIELDS, WORDS)
}

fn mutations() -> impl Strategy<Value = Vec<(Index, Mutation)>> {
    prop_json::mutations(WORDS)
}

// ---- documented status bodies -------------------------------------------------------------

const STATUSES: &[(&str, Status)] = &[
    ("QUEUED", Status::Queued),
    ("PROCESSING", Status::Running),
    ("COMPLETE", Status::Succeeded),
    ("FAILED", Status::Failed),
];

/// A documented job answer and what the snapshot must say about it.
#[derive(Debug, Clone)]
struct Job {
    body: Value,
    id: String,
    status: &'static str,
    unified: Status,
    created_at: i64,
    url: Option<String>,
    mime: Option<&'static str>,
    size: Option<u64>,
    key: Option<String>,
    error: Option<(String, String)>,
}

fn job_id() -> impl Strategy<Value = String> {
    "job_[A-Za-z0-9_-]{1,20}"
}

fn a_time() -> impl Strategy<Value = i64> {
    1_600_000_000i64..2_000_000_000
}

fn documented_job() -> impl Strategy<Value = Job> {
    (
        job_id(),
        prop::sample::select(STATUSES),
        (a_time(), a_time(), a_time()),
        (
            "[a-z0-9]{1,12}",
            prop::sample::select(&[Format::Mp4, Format::Webm, Format::Gif, Format::Mp3][..]),
            0u64..10_000_000_000,
            (0u32..=3_600_000).prop_map(|n| f64::from(n) / 1000.0),
            prop::sample::select(&["1920x1080", "1280x720", "720x1280"][..]),
            0u32..1000,
        ),
        prop::option::of("[A-Za-z0-9-]{1,16}"),
        prop::sample::select(
            &[
                "INVALID_ASSET",
                "INVALID_TIMELINE",
                "INSUFFICIENT_CREDITS",
                "RENDER_TIMEOUT",
                "INTERNAL_ERROR",
            ][..],
        ),
        "[a-zA-Z][a-zA-Z ,.]{0,40}",
    )
        .prop_map(
            |(id, (status, unified), (created, started, ended), out, key, code, message)| {
                let (name, format, size, duration, resolution, credits) = out;
                let mut body = json!({"id": id, "status": status, "created_at": rfc3339(created)});
                if let Some(k) = &key {
                    body["metadata"] = json!({ KEY_METADATA_FIELD: k, "campaign": "spring" });
                }
                let mut j = Job {
                    body: Value::Null,
                    id,
                    status,
                    unified,
                    created_at: created,
                    url: None,
                    mime: None,
                    size: None,
                    key,
                    error: None,
                };
                match status {
                    "PROCESSING" => body["processing_started_at"] = json!(rfc3339(started)),
                    "COMPLETE" => {
                        let url = format!(
                            "https://cdn.vidiking.com/renders/{name}.{}",
                            format.as_str()
                        );
                        body["url"] = json!(url);
                        body["format"] = json!(format.as_str());
                        body["file_size"] = json!(size);
                        body["duration"] = json!(duration);
                        body["resolution"] = json!(resolution);
                        body["credits_used"] = json!(credits);
                        body["processing_started_at"] = json!(rfc3339(started));
                        body["completed_at"] = json!(rfc3339(ended));
                        body["render_time"] = json!(ended - started);
                        j.url = Some(url);
                        j.mime = Some(format.mime_type());
                        j.size = Some(size);
                    }
                    "FAILED" => {
                        body["error"] = json!({"code": code, "message": message});
                        body["credits_used"] = json!(0);
                        body["failed_at"] = json!(rfc3339(ended));
                        j.error = Some((code.to_string(), message));
                    }
                    _ => {}
                }
                j.body = body;
                j
            },
        )
}

/// A status read of `body` answered 200: anything but a decode error is a wrong mapping.
fn read_200(rt: &tokio::runtime::Runtime, id: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
    let c = client(HttpResponse::new(200, body));
    match rt.block_on(c.status(id)) {
        Ok(s) => {
            prop_assert_eq!(s.job.provider, Provider::Vidiking);
            prop_assert!(!s.job.id.is_empty());
        }
        Err(Error::Decode {
            provider,
            operation,
            http_status,
            ..
        }) => {
            prop_assert_eq!(provider, Provider::Vidiking);
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
        read_200(&rt, "job_1", body)?;
    });
}

#[test]
fn status_bodies_of_arbitrary_json_never_panic() {
    let rt = runtime();
    proptest!(|(v in arb_json(), wrap in any::<bool>())| {
        let v = if wrap { json!({"success": true, "data": v}) } else { v };
        read_200(&rt, "job_1", serde_json::to_vec(&v).unwrap())?;
    });
}

#[test]
fn mutated_documented_status_bodies_never_panic() {
    let rt = runtime();
    proptest!(|(j in documented_job(), changes in mutations())| {
        let mut body = j.body.clone();
        mutate(&mut body, &changes);
        read_200(&rt, &j.id, serde_json::to_vec(&body).unwrap())?;
    });
}

#[test]
fn documented_status_bodies_round_trip_into_the_snapshot() {
    let rt = runtime();
    proptest!(|(j in documented_job(), retry in prop::option::of(0u64..86_400), envelope in any::<bool>())| {
        let answer = if envelope { json!({"success": true, "data": j.body}) } else { j.body.clone() };
        let mut resp = HttpResponse::new(200, serde_json::to_vec(&answer).unwrap());
        if let Some(r) = retry {
            resp = resp.with_header("retry-after", &r.to_string());
        }
        let (c, seen) = client_seen(resp);
        let s = rt.block_on(c.status(&j.id)).unwrap();
        prop_assert_eq!(&seen.lock().unwrap()[0].url, &format!("{BASE}/v1/render/{}", j.id));
        prop_assert_eq!(s.job.provider, Provider::Vidiking);
        prop_assert_eq!(&s.job.id, &j.id);
        prop_assert_eq!(s.status.raw.as_str(), j.status);
        prop_assert!(s.status.recognized);
        prop_assert_eq!(s.status.status, j.unified);
        prop_assert_eq!(s.progress, None);
        prop_assert_eq!(s.created_at, Some(ts(j.created_at)));
        prop_assert_eq!(s.retry_after, retry.map(Duration::from_secs));
        prop_assert_eq!(&s.client_key, &j.key);
        match &j.url {
            Some(url) => {
                prop_assert_eq!(s.outputs.len(), 1);
                let o = &s.outputs[0];
                prop_assert_eq!(o.url.as_deref(), Some(url.as_str()));
                prop_assert_eq!(o.size, j.size);
                prop_assert_eq!(o.expires_at, None);
                prop_assert_eq!(o.mime_type.as_deref(), j.mime);
            }
            None => prop_assert!(s.outputs.is_empty()),
        }
        match &j.error {
            Some((code, message)) => {
                let e = s.error.as_ref().unwrap();
                prop_assert_eq!(e.code.as_deref(), Some(code.as_str()));
                prop_assert_eq!(&e.message, message);
            }
            None => prop_assert!(s.error.is_none()),
        }
        prop_assert_eq!(&s.raw, &j.body);
    });
}

/// The typed job reads a documented answer, and writes what reads back as the same job.
#[test]
fn documented_jobs_round_trip_through_the_typed_job() {
    proptest!(|(j in documented_job())| {
        let job: VidikingJob = serde_json::from_value(j.body.clone()).unwrap();
        prop_assert_eq!(&job.id, &j.id);
        prop_assert_eq!(job.status.as_str(), j.status);
        prop_assert_eq!(job.file_size, j.size);
        prop_assert_eq!(job.client_key(), j.key.clone());
        prop_assert!(job.extra.is_empty(), "{:?}", job.extra);
        let text = serde_json::to_string(&job).unwrap();
        let back: VidikingJob = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &job);
        prop_assert_eq!(back.to_snapshot().raw, job.to_snapshot().raw);
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
            arb_json().prop_map(|v| serde_json::to_vec(&json!({"error": v})).unwrap()),
        ],
        headers in error_headers(),
    )| {
        let mut resp = HttpResponse::new(status, body);
        for (n, v) in &headers {
            resp = resp.with_header(n, v);
        }
        let err = rt.block_on(client(resp).status("job_1")).unwrap_err();
        let Error::Api(e) = &err else {
            return Err(TestCaseError::fail(format!("HTTP {status} gave {err:?}")));
        };
        prop_assert_eq!(e.provider, Provider::Vidiking);
        prop_assert_eq!(e.http_status, status);
        prop_assert_eq!(e.operation, Operation::Status);
        let _ = err.to_string();
    });
}

const CODES: &[&str] = &[
    "VALIDATION_ERROR",
    "INVALID_TIMELINE",
    "UNAUTHORIZED",
    "INSUFFICIENT_CREDITS",
    "NOT_FOUND",
    "RATE_LIMITED",
];

#[test]
fn error_answers_give_back_their_code_and_message() {
    let rt = runtime();
    proptest!(|(
        status in error_status(),
        code in prop_oneof![prop::sample::select(CODES).prop_map(str::to_string), "[A-Z_]{1,24}"],
        message in "[a-zA-Z][a-zA-Z .,]{0,60}",
        nested in any::<bool>(),
        retry in prop::option::of(0u64..86_400),
    )| {
        let body = if nested {
            json!({"error": {"code": code, "message": message}})
        } else {
            json!({"success": false, "code": code, "message": message})
        };
        let mut resp = HttpResponse::new(status, serde_json::to_vec(&body).unwrap());
        if let Some(r) = retry {
            resp = resp.with_header("retry-after", &r.to_string());
        }
        let err = rt.block_on(client(resp).status("job_1")).unwrap_err();
        prop_assert_eq!(err.code(), Some(code.as_str()));
        let e = err.api().unwrap();
        prop_assert_eq!(&e.message, &message);
        prop_assert_eq!(e.http_status, status);
        prop_assert_eq!(e.retry_after, retry.map(Duration::from_secs));
    });
}

// ---- webhooks -----------------------------------------------------------------------------

fn arb_headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(
        (
            prop_oneof![
                3 => Just("x-vidiking-signature".to_string()),
                1 => "[a-z-]{1,12}",
            ],
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..80),
                "[0-9a-fA-F]{0,70}(,[0-9a-f]{0,64}){0,2}".prop_map(String::into_bytes),
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
    event: &'static str,
    status: &'static str,
}

fn documented_event() -> impl Strategy<Value = Event> {
    (
        documented_job(),
        -300i64..=300,
        any::<bool>(),
        prop_oneof![
            (0u32..100_000).prop_map(|n| json!(f64::from(n) / 100.0)),
            (0u32..100_000).prop_map(|n| json!(n.to_string())),
        ],
    )
        .prop_map(|(j, skew, with_status, wallet)| {
            let event = match j.status {
                "QUEUED" => "render.queued",
                "PROCESSING" => "render.processing",
                "COMPLETE" => "render.complete",
                _ => "render.failed",
            };
            let mut data = json!({"id": j.id});
            if with_status {
                data["status"] = json!(j.status);
            }
            for k in ["url", "duration", "credits_used", "error"] {
                if let Some(v) = j.body.get(k) {
                    data[k] = v.clone();
                }
            }
            data["wallet_balance"] = wallet;
            let body = json!({
                "event": event,
                "timestamp": rfc3339(now().timestamp() + skew),
                "data": data,
            });
            Event {
                body: serde_json::to_vec(&body).unwrap(),
                id: j.id,
                event,
                status: j.status,
            }
        })
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (prop::sample::select(WORDS), json_leaf(), arb_json()).prop_map(|(event, t, data)| {
            serde_json::to_vec(&json!({"event": event, "timestamp": t, "data": data})).unwrap()
        }),
        documented_event().prop_map(|e| e.body),
    ]
}

#[test]
fn webhooks_with_arbitrary_headers_and_bodies_never_panic() {
    let v = VidikingWebhookVerifier::new(SECRET);
    proptest!(|(headers in arb_headers(), body in arb_body())| {
        let _ = v.verify(&headers, &body, now());
        let _ = v.parse(&headers, &body);
    });
}

#[test]
fn correctly_signed_arbitrary_deliveries_never_panic() {
    let v = VidikingWebhookVerifier::new(SECRET);
    proptest!(|(body in arb_body())| {
        let mut h = HeaderMap::new();
        h.insert("x-vidiking-signature", sign_hex(SECRET.as_bytes(), &[&body]).parse().unwrap());
        match v.verify(&h, &body, now()) {
            Ok(()) | Err(WebhookError::Stale | WebhookError::Malformed(_)) => {}
            Err(e) => prop_assert!(false, "a correctly signed delivery gave {e:?}"),
        }
        if let Ok(event) = v.parse(&h, &body) {
            prop_assert_eq!(event.provider, Provider::Vidiking);
            prop_assert!(!event.job_id.is_empty());
            prop_assert!(event.event.starts_with("render."));
        }
    });
}

#[test]
fn signed_current_deliveries_verify_parse_back_and_any_changed_byte_fails() {
    let v = VidikingWebhookVerifier::new(SECRET);
    proptest!(|(e in documented_event(), at in any::<Index>(), flip in 1u8..=255)| {
        // The documented scheme, computed here: hex HMAC-SHA256 of the raw body.
        let mut h = HeaderMap::new();
        h.insert("x-vidiking-signature", sign_hex(SECRET.as_bytes(), &[&e.body]).parse().unwrap());
        prop_assert_eq!(v.verify(&h, &e.body, now()), Ok(()));
        let parsed = v.parse(&h, &e.body).unwrap();
        prop_assert_eq!(parsed.provider, Provider::Vidiking);
        prop_assert_eq!(&parsed.job_id, &e.id);
        prop_assert_eq!(parsed.event.as_str(), e.event);
        prop_assert_eq!(parsed.event_id, format!("{}:{}", e.id, e.event));
        let status = parsed.status.unwrap();
        prop_assert_eq!(status.raw.as_str(), e.status);
        prop_assert!(status.recognized);
        if status.is_terminal() {
            prop_assert_eq!(&parsed.snapshot.unwrap().job.id, &e.id);
        }

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
        let payload = VidikingWebhookVerifier::parse_payload(&e.body).unwrap();
        prop_assert_eq!(&payload.data.id, &e.id);
        prop_assert!(payload.wallet_balance().is_some());
        let text = serde_json::to_vec(&payload).unwrap();
        prop_assert_eq!(VidikingWebhookVerifier::parse_payload(&text).unwrap(), payload);
    });
}

// ---- render requests and timelines --------------------------------------------------------

/// Floats that print and parse back exactly: thousandths in `lo..=hi`.
fn nice(lo: i32, hi: i32) -> impl Strategy<Value = f64> {
    (lo..=hi).prop_map(|n| f64::from(n) / 1000.0)
}

fn url() -> impl Strategy<Value = String> {
    "https://[a-z]{1,8}\\.example\\.com/[a-z0-9]{1,8}\\.(mp4|jpg|mp3|png)"
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z][ -~]{0,20}"
}

fn asset() -> impl Strategy<Value = Asset> {
    prop_oneof![
        (
            url(),
            prop::option::of(nice(0, 60_000)),
            prop::option::of(nice(0, 1000))
        )
            .prop_map(|(src, trim, volume)| Asset::Video(VideoAsset { src, trim, volume })),
        url().prop_map(|src| Asset::Image(ImageAsset { src })),
        (
            text(),
            prop::option::of("[a-z]{1,8}"),
            prop::option::of("[a-z]{1,6}"),
            prop::option::of("#[0-9a-f]{6}")
        )
            .prop_map(|(text, style, size, color)| Asset::Title(TitleAsset {
                text,
                style,
                size,
                color
            })),
        (
            url(),
            prop::option::of(nice(0, 60_000)),
            prop::option::of(nice(0, 1000)),
            prop::option::of("fade(In|Out)")
        )
            .prop_map(|(src, trim, volume, effect)| Asset::Audio(AudioAsset {
                src,
                trim,
                volume,
                effect
            })),
        (
            "<p>[a-z ]{1,16}</p>",
            prop::option::of("p \\{ color: [a-z]{3,6} \\}"),
            prop::collection::btree_map(
                "x_[a-z]{1,6}",
                prop_oneof![
                    any::<i64>().prop_map(Value::from),
                    "[ -~]{0,8}".prop_map(Value::from)
                ],
                0..3,
            ),
        )
            .prop_map(|(html, css, extra)| Asset::Html(HtmlAsset {
                html,
                css,
                extra: extra.into_iter().collect()
            })),
    ]
}

fn transition_kind() -> impl Strategy<Value = TransitionKind> {
    prop::sample::select(
        &[
            TransitionKind::Fade,
            TransitionKind::SlideLeft,
            TransitionKind::SlideRight,
            TransitionKind::SlideUp,
            TransitionKind::SlideDown,
            TransitionKind::WipeLeft,
            TransitionKind::WipeRight,
            TransitionKind::WipeUp,
            TransitionKind::WipeDown,
            TransitionKind::Zoom,
        ][..],
    )
}

fn clip() -> impl Strategy<Value = Clip> {
    (
        asset(),
        nice(0, 600_000),
        nice(1, 600_000),
        prop::option::of((
            prop::option::of(transition_kind()),
            prop::option::of(transition_kind()),
        )),
        prop::option::of(prop::sample::select(
            &[ClipEffect::ZoomIn, ClipEffect::ZoomOut][..],
        )),
        prop::option::of((nice(-1000, 1000), nice(-1000, 1000))),
        prop::option::of(nice(10, 2000)),
        prop::option::of(nice(0, 1000)),
        prop::option::of(prop::sample::select(
            &[Fit::Cover, Fit::Contain, Fit::Crop, Fit::None][..],
        )),
    )
        .prop_map(
            |(asset, start, length, transition, effect, offset, scale, opacity, fit)| Clip {
                asset,
                start,
                length,
                transition: transition.map(|(into, out)| Transition { into, out }),
                effect,
                offset: offset.map(|(x, y)| Offset { x, y }),
                scale,
                opacity,
                fit,
            },
        )
}

fn valid_timeline() -> impl Strategy<Value = Timeline> {
    (
        prop::option::of("#[0-9a-f]{6}"),
        prop::option::of((
            url(),
            prop::option::of("fade(In|Out|InFadeOut)"),
            prop::option::of(nice(0, 1000)),
        )),
        prop::collection::vec(
            prop::collection::vec(clip(), 1..4).prop_map(Track::new),
            1..4,
        ),
    )
        .prop_map(|(background, soundtrack, tracks)| Timeline {
            background,
            soundtrack: soundtrack.map(|(src, effect, volume)| Soundtrack {
                src,
                effect,
                volume,
            }),
            tracks,
        })
}

fn valid_request() -> impl Strategy<Value = RenderRequest> {
    (
        valid_timeline(),
        prop::sample::select(&[Format::Mp4, Format::Webm, Format::Gif, Format::Mp3][..]),
        prop::sample::select(
            &[
                Resolution::Sd,
                Resolution::Hd,
                Resolution::FullHd,
                Resolution::Uhd4k,
            ][..],
        ),
        prop::option::of(prop::sample::select(&["16:9", "9:16", "1:1", "4:5"][..])),
        prop::option::of(nice(1, 120_000)),
        prop::option::of("https://hooks\\.example\\.com/[a-z]{0,8}"),
        prop::option::of(prop::collection::btree_map(
            "[a-z]{1,8}",
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                "[ -~]{0,8}".prop_map(Value::from)
            ],
            0..3,
        )),
    )
        .prop_map(
            |(timeline, format, resolution, aspect, fps, callback, metadata)| {
                let mut output = RenderOutput::new(format, resolution);
                output.aspect_ratio = aspect.map(str::to_string);
                output.fps = fps;
                RenderRequest {
                    timeline,
                    output,
                    callback,
                    metadata: metadata.map(|m| m.into_iter().collect::<Map<String, Value>>()),
                }
            },
        )
}

/// Any float, the odd ones included.
fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        nice(-3000, 3000),
    ]
}

/// A typed timeline with arbitrary values (the validator's input space).
fn arbitrary_timeline() -> impl Strategy<Value = Timeline> {
    let clip = (
        asset(),
        any_float(),
        any_float(),
        prop::option::of((any_float(), any_float())),
        prop::option::of(any_float()),
        prop::option::of(any_float()),
        ".{0,4}",
    )
        .prop_map(|(mut asset, start, length, offset, scale, opacity, s)| {
            match &mut asset {
                Asset::Video(v) => v.src = s,
                Asset::Title(t) => t.text = s,
                Asset::Html(h) => h.html = s,
                _ => {}
            }
            Clip {
                offset: offset.map(|(x, y)| Offset { x, y }),
                scale,
                opacity,
                ..Clip::new(asset, start, length)
            }
        });
    (
        prop::collection::vec(prop::collection::vec(clip, 0..3).prop_map(Track::new), 0..3),
        prop::option::of((".{0,4}", prop::option::of(any_float()))),
    )
        .prop_map(|(tracks, soundtrack)| Timeline {
            background: None,
            soundtrack: soundtrack.map(|(src, volume)| Soundtrack {
                src,
                effect: None,
                volume,
            }),
            tracks,
        })
}

/// Any refusal names Vidiking and a field.
fn check_refusal(r: Result<(), Error>) -> Result<(), TestCaseError> {
    match r {
        Ok(()) => {}
        Err(Error::InvalidInput {
            provider, field, ..
        }) => {
            prop_assert_eq!(provider, Provider::Vidiking);
            prop_assert!(!field.is_empty());
        }
        Err(other) => prop_assert!(false, "validation gave {other:?}"),
    }
    Ok(())
}

fn accepted() -> HttpResponse {
    HttpResponse::new(
        201,
        serde_json::to_vec(
            &json!({"success": true, "data": {"id": "job_new", "status": "QUEUED"}}),
        )
        .unwrap(),
    )
}

/// A client answering every submit 201, and how many requests it sent.
fn counting_client() -> (VidikingClient, Arc<AtomicUsize>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let n = sent.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |_| {
        n.fetch_add(1, Ordering::SeqCst);
        Ok(accepted())
    });
    let c = VidikingClient::builder()
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
    c: &VidikingClient,
    sent: &AtomicUsize,
    req: &SubmitRequest,
) -> Result<(), TestCaseError> {
    let before = sent.load(Ordering::SeqCst);
    match rt.block_on(c.submit(req)) {
        Ok(s) => {
            prop_assert_eq!(&s.job.id, "job_new");
            prop_assert_eq!(&s.client_key, &req.key);
            prop_assert_eq!(sent.load(Ordering::SeqCst), before + 1);
        }
        Err(e) => {
            check_refusal(Err(e))?;
            prop_assert_eq!(
                sent.load(Ordering::SeqCst),
                before,
                "a refused request was sent"
            );
        }
    }
    Ok(())
}

#[test]
fn arbitrary_json_never_panics_the_typed_readers_or_the_validator() {
    proptest!(|(v in arb_json(), wrap in any::<bool>())| {
        let v = if wrap { json!({"timeline": v, "output": {"format": "mp4", "resolution": "hd"}}) } else { v };
        if let Ok(r) = serde_json::from_value::<RenderRequest>(v.clone()) {
            check_refusal(r.validate())?;
            if let Ok(body) = r.to_body() {
                prop_assert_eq!(serde_json::from_value::<RenderRequest>(body).unwrap(), r);
            }
        }
        if let Some(t) = v.get("timeline") {
            if let Ok(t) = serde_json::from_value::<Timeline>(t.clone()) {
                check_refusal(t.validate())?;
            }
        }
    });
}

#[test]
fn arbitrary_typed_timelines_never_panic_the_validator() {
    proptest!(|(t in arbitrary_timeline())| {
        check_refusal(t.validate())?;
        let r = RenderRequest::new(t, RenderOutput::default());
        match r.to_body() {
            Ok(body) => prop_assert!(body["timeline"]["tracks"].is_array()),
            Err(e) => check_refusal(Err(e))?,
        }
        let _ = serde_json::to_string(&r);
    });
}

#[test]
fn arbitrary_raw_bodies_never_panic_the_submit_checks() {
    let rt = runtime();
    let (c, sent) = counting_client();
    proptest!(|(
        body in prop_oneof![arb_json(), arb_json().prop_map(|t| json!({"timeline": t})),
                            (arb_json(), arb_json()).prop_map(|(t, m)| json!({"timeline": t, "metadata": m}))],
        key in prop::option::of("[ -~]{0,12}"),
        webhook in prop::option::of(prop_oneof![".{0,24}", "https://[a-z]{1,8}\\.com/h", "ftp://x/y"]),
    )| {
        let req = SubmitRequest { tool: None, body, key, webhook_url: webhook };
        submit_checked(&rt, &c, &sent, &req)?;
    });
}

#[test]
fn mutated_valid_bodies_never_panic_the_validators() {
    let rt = runtime();
    let (c, sent) = counting_client();
    proptest!(|(r in valid_request(), changes in mutations(), key in prop::option::of("[a-z0-9-]{1,12}"))| {
        let mut body = r.to_body().unwrap();
        mutate(&mut body, &changes);
        if let Ok(back) = serde_json::from_value::<RenderRequest>(body.clone()) {
            check_refusal(back.validate())?;
        }
        let mut req = SubmitRequest::new(body);
        req.key = key;
        submit_checked(&rt, &c, &sent, &req)?;
    });
}

#[test]
fn timelines_round_trip_through_json() {
    proptest!(|(t in valid_timeline())| {
        prop_assert!(t.validate().is_ok(), "{:?}", t.validate());
        let text = serde_json::to_string(&t).unwrap();
        let back: Timeline = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &t);
        let back: Timeline = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        prop_assert_eq!(back, t);
    });
}

#[test]
fn valid_requests_serialise_parse_back_validate_and_are_sent_as_is() {
    let rt = runtime();
    proptest!(|(r in valid_request(), key in prop::option::of("[a-z0-9-]{1,12}"))| {
        prop_assert!(r.validate().is_ok(), "{:?}", r.validate());
        let body = r.to_body().unwrap();
        let text = serde_json::to_string(&body).unwrap();
        let back: RenderRequest = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert!(back.validate().is_ok());

        let mut req = r.clone().into_submit_request().unwrap();
        req.key = key.clone();
        let (c, seen) = client_seen(accepted());
        let snap = rt.block_on(c.submit(&req)).unwrap();
        prop_assert_eq!(snap.job.id.as_str(), "job_new");
        prop_assert_eq!(snap.status.status, Status::Queued);
        prop_assert_eq!(&snap.client_key, &key);
        let seen = seen.lock().unwrap();
        prop_assert_eq!(&seen[0].url, &format!("{BASE}/v1/render"));
        let mut sent: Value = serde_json::from_slice(seen[0].body.as_ref().unwrap()).unwrap();
        if let Some(k) = &key {
            // The key travels in metadata, beside the caller's own entries.
            let metadata = sent["metadata"].as_object_mut().unwrap();
            prop_assert_eq!(metadata.remove(KEY_METADATA_FIELD), Some(json!(k)));
            if r.metadata.is_none() {
                prop_assert!(metadata.is_empty());
                sent.as_object_mut().unwrap().remove("metadata");
            }
        }
        prop_assert_eq!(sent, body);
    });
}

/// An html asset's `extra` cannot replace its tag or named fields on the wire: such a request
/// is refused, any other one round-trips.
#[test]
fn html_extra_fields_never_change_what_was_validated() {
    proptest!(|(
        extra in prop::collection::btree_map(
            prop_oneof![Just("type".to_string()), Just("html".to_string()), Just("css".to_string()), "[a-z]{1,6}"],
            prop_oneof![Just(json!("")), Just(json!("video")), "[ -~]{0,8}".prop_map(Value::from), any::<i64>().prop_map(Value::from)],
            0..4,
        ),
    )| {
        let extra_keys: std::collections::BTreeSet<String> = extra.keys().cloned().collect();
        let asset = Asset::Html(HtmlAsset { html: "<p>hi</p>".into(), css: None, extra: extra.into_iter().collect() });
        let r = RenderRequest::new(Timeline::new(vec![Track::new(vec![Clip::new(asset, 0.0, 1.0)])]), RenderOutput::default());
        let named = ["type", "html", "css"].into_iter().find(|k| extra_keys.contains(*k));
        match r.to_body() {
            Ok(body) => {
                prop_assert!(named.is_none());
                let back: Result<RenderRequest, _> = serde_json::from_str(&serde_json::to_string(&body).unwrap());
                prop_assert!(back.as_ref().is_ok_and(|b| *b == r), "{} -> {:?}", body, back);
            }
            Err(e) => {
                let k = named.unwrap();
                let want = format!("timeline.tracks[0].clips[0].asset.{k}");
                prop_assert_eq!(e.field(), Some(want.as_str()));
            }
        }
    });
}
