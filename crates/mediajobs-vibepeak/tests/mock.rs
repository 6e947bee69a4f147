//! The VibePeak client against a mocked transport: every request it sends, every answer it
//! reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mediajobs_core::{
    Error, ErrorKind, ManualClock, Operation, Output, Provider, ProviderApi, Status, SubmitRequest,
    TransportFailure,
};
use mediajobs_transport::{HttpRequest, HttpResponse, MockTransport, TransportError};
use mediajobs_vibepeak::{
    ConcurrencyLimit, NarratedSlideshow, PlanRequirement, TestScenario, VibePeakClient, Voice,
    error_details,
};
use serde_json::{Value, json};

const BASE: &str = "http://127.0.0.1:9/vibepeak";
const TEST_KEY: &str = "vpk_test_SEKRIT123456";
const LIVE_KEY: &str = "vpk_live_SEKRIT654321";

type Seen = Arc<Mutex<Vec<HttpRequest>>>;

/// A client whose transport answers `answers` in order and records every request.
fn client_with_key(
    key: &str,
    answers: Vec<Result<HttpResponse, TransportError>>,
) -> (VibePeakClient, Seen) {
    let seen: Seen = Arc::default();
    let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
    let mut mock = MockTransport::new();
    let s = seen.clone();
    mock.expect_send().returning(move |req| {
        s.lock().unwrap().push(req);
        queue
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected extra request"))
    });
    let clock = Arc::new(ManualClock::new("2026-01-04T12:00:00Z".parse().unwrap()));
    let client = VibePeakClient::builder()
        .api_key(key)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .clock(clock)
        .build()
        .unwrap();
    (client, seen)
}

fn client_with(answers: Vec<HttpResponse>) -> (VibePeakClient, Seen) {
    client_with_key(TEST_KEY, answers.into_iter().map(Ok).collect())
}

fn images(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://photos.example.com/{i}.jpg"))
        .collect()
}

fn script(len: usize) -> String {
    "A bright home with a calm garden, a warm kitchen and wide windows. "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

fn slideshow() -> NarratedSlideshow {
    NarratedSlideshow::builder()
        .images(images(6))
        .voice(Voice::new("voice_1").language("en"))
        .script(script(250))
        .webhook_url("https://hooks.example.com/vibepeak")
        .build()
        .unwrap()
}

fn accepted() -> HttpResponse {
    HttpResponse::new(
        202,
        r#"{"task_id":"task_abc123","status":"queued","queue_position":2,
            "estimated_completion":"2026-01-04T12:30:00Z","created_at":"2026-01-04T12:00:00Z","livemode":false}"#,
    )
    .with_header("location", "/v1/tasks/task_abc123")
    .with_header("retry-after", "30")
    .with_header("content-type", "application/json")
}

fn body_of(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_ref().unwrap()).unwrap()
}

fn assert_no_key(text: &str) {
    assert!(!text.contains("SEKRIT"), "the key leaked: {text}");
}

// ---------------------------------------------------------------------------------------------
// submit

#[tokio::test]
async fn submit_sends_the_documented_request_and_reads_the_202() {
    let (client, seen) = client_with(vec![accepted()]);
    let submitted = client.submit_slideshow(&slideshow()).await.unwrap();

    let reqs = seen.lock().unwrap();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.url, format!("{BASE}/v1/real-estate/narrated-slideshow"));
    assert_eq!(
        req.headers["authorization"],
        format!("Bearer {TEST_KEY}").as_str()
    );
    assert!(req.headers["authorization"].is_sensitive());
    assert_eq!(req.headers["content-type"], "application/json");
    let body = body_of(req);
    assert_eq!(body["images"], json!(images(6)));
    assert_eq!(
        body["voice"],
        json!({"voice_id": "voice_1", "language": "en"})
    );
    assert_eq!(body["script"], script(250));
    assert_eq!(body["webhook_url"], "https://hooks.example.com/vibepeak");

    assert_eq!(submitted.task.task_id, "task_abc123");
    assert_eq!(submitted.location.as_deref(), Some("/v1/tasks/task_abc123"));
    assert_eq!(
        submitted.status_url.as_deref(),
        Some(format!("{BASE}/v1/tasks/task_abc123").as_str())
    );
    assert_eq!(submitted.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(submitted.task.livemode, Some(false));
    let s = &submitted.snapshot;
    assert_eq!(s.job.provider, Provider::VibePeak);
    assert_eq!(s.job.id, "task_abc123");
    assert_eq!(s.status.status, Status::Queued);
    assert_eq!(s.status.raw, "queued");
    assert!(s.status.recognized);
    assert_eq!(s.queue_position, Some(2));
    assert_eq!(
        s.estimated_completion,
        Some("2026-01-04T12:30:00Z".parse().unwrap())
    );
    assert_eq!(s.created_at, Some("2026-01-04T12:00:00Z".parse().unwrap()));
    assert_eq!(s.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(s.raw["livemode"], false);
    assert!(s.outputs.is_empty() && s.error.is_none());
}

#[tokio::test]
async fn submit_through_provider_api_puts_the_request_webhook_url_in_the_body() {
    let (client, seen) = client_with(vec![accepted()]);
    let mut request = SubmitRequest::from(slideshow());
    request.webhook_url = Some("http://127.0.0.1:4000/webhooks/vibepeak".into());
    request.key = Some("line-1".into());
    let snap = client.submit(&request).await.unwrap();
    assert_eq!(snap.job.id, "task_abc123");
    let body = body_of(&seen.lock().unwrap()[0]);
    assert_eq!(
        body["webhook_url"],
        "http://127.0.0.1:4000/webhooks/vibepeak"
    );
    assert!(body.get("key").is_none());
}

#[tokio::test]
async fn any_2xx_is_accepted_and_the_id_may_come_from_location() {
    for status in [200, 201, 202] {
        let (client, _) = client_with(vec![HttpResponse::new(status, r#"{"task_id":"task_x"}"#)]);
        let snap = client.submit(&slideshow().into()).await.unwrap();
        assert_eq!(snap.job.id, "task_x");
        assert_eq!(
            snap.status.raw, "queued",
            "a missing status on a fresh task is queued"
        );
        assert_eq!(snap.retry_after, None);
    }
    // Empty body, garbage body, other JSON: the id from Location.
    for body in ["", "<html>ok</html>", "[]", r#"{"ok":true}"#] {
        let resp = HttpResponse::new(202, body).with_header("location", "/v1/tasks/task_loc");
        let (client, _) = client_with(vec![resp]);
        let snap = client.submit(&slideshow().into()).await.unwrap();
        assert_eq!(snap.job.id, "task_loc", "{body}");
    }
    // An envelope.
    let (client, _) = client_with(vec![HttpResponse::new(
        202,
        r#"{"data":{"task_id":"task_env","status":"queued","queue_position":1}}"#,
    )]);
    let snap = client.submit(&slideshow().into()).await.unwrap();
    assert_eq!(
        (snap.job.id.as_str(), snap.queue_position),
        ("task_env", Some(1))
    );
}

#[tokio::test]
async fn a_2xx_that_names_no_task_is_an_uncertain_submit() {
    for body in [
        "",
        "{\"task_id\": \"trunc",
        "null",
        r#"{"status":"queued"}"#,
    ] {
        let (client, _) = client_with(vec![HttpResponse::new(202, body)]);
        let err = client.submit(&slideshow().into()).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::UncertainSubmit {
                    provider: Provider::VibePeak,
                    ..
                }
            ),
            "{body}: {err:?}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("vibepeak submit"), "{err}");
    }
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let mut mock = MockTransport::new();
    mock.expect_send().never();
    let client = VibePeakClient::builder()
        .api_key(LIVE_KEY)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    assert!(!client.is_test_mode());
    let good = SubmitRequest::from(slideshow()).body;
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        SubmitRequest::new(b)
    };
    let cases = [
        (with("images", json!(images(5))), "images"),
        (with("images", json!(images(16))), "images"),
        (
            with(
                "images",
                json!([images(5), vec![images(5)[0].clone()]].concat()),
            ),
            "images[5]",
        ),
        (with("images", json!(vec!["ftp://x/1.jpg"; 6])), "images[0]"),
        (with("script", json!(script(239))), "script"),
        (with("script", json!(script(301))), "script"),
        (
            with("script", json!(format!("{} 42", script(245)))),
            "script",
        ),
        (
            with("script", json!(format!("{} #", script(245)))),
            "script",
        ),
        (with("avatar_id", json!("avatar-1")), "avatar_id"),
        (with("voice", json!({"language": "en"})), "voice.voice_id"),
        (with("test_scenario", json!("success")), "test_scenario"),
        (SubmitRequest::new(json!("not an object")), "body"),
        (
            SubmitRequest::from(slideshow()).with_tool("generate-image"),
            "tool",
        ),
        (
            SubmitRequest::from(slideshow()).with_webhook_url("http://hooks.example.com/x"),
            "webhook_url",
        ),
    ];
    for (req, field) in cases {
        let err = client.submit(&req).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    provider: Provider::VibePeak,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.field(), Some(field), "{err}");
        assert_eq!(err.kind(), Some(ErrorKind::InvalidRequest));
        assert!(!err.is_transient());
    }
    // The typed path with a test scenario and a live key.
    let mut show = slideshow();
    show.test_scenario = Some(TestScenario::Slow);
    let err = client.submit_slideshow(&show).await.unwrap_err();
    assert_eq!(err.field(), Some("test_scenario"));
}

#[tokio::test]
async fn test_scenario_goes_out_with_a_test_key() {
    let (client, seen) = client_with(vec![accepted()]);
    assert!(client.is_test_mode());
    let mut show = slideshow();
    show.test_scenario = Some(TestScenario::ImageProcessingFailed);
    client.submit_slideshow(&show).await.unwrap();
    assert_eq!(
        body_of(&seen.lock().unwrap()[0])["test_scenario"],
        "image_processing_failed"
    );
}

#[tokio::test]
async fn a_raw_body_with_unknown_fields_and_missing_ones_is_sent_as_is() {
    let (client, seen) = client_with(vec![accepted()]);
    let body = json!({"images": images(6), "script": script(260), "future": {"x": 1}});
    client
        .submit(&SubmitRequest::new(body.clone()))
        .await
        .unwrap();
    assert_eq!(body_of(&seen.lock().unwrap()[0]), body);
}

#[tokio::test]
async fn transport_failures_on_submit_are_uncertain_only_if_maybe_delivered() {
    let (client, _) = client_with_key(
        TEST_KEY,
        vec![
            Err(TransportError::new(TransportFailure::Timeout, "no answer")),
            Err(TransportError::new(TransportFailure::Interrupted, "reset")),
            Err(TransportError::new(TransportFailure::Connect, "refused")),
        ],
    );
    let req = SubmitRequest::from(slideshow());
    for _ in 0..2 {
        let e = client.submit(&req).await.unwrap_err();
        assert!(matches!(e, Error::UncertainSubmit { .. }), "{e:?}");
    }
    let e = client.submit(&req).await.unwrap_err();
    assert!(e.is_unreachable() && e.is_transient());
}

// ---------------------------------------------------------------------------------------------
// status

#[tokio::test]
async fn a_provider_clock_behind_ours_does_not_make_us_look_early() {
    // Our clock says 12:00:00; the provider's Date says 11:58:00. Its estimate and its URL
    // expiry are in its own time: on ours, both are two minutes later.
    let answer = |body: &str| {
        HttpResponse::new(200, body.to_string())
            .with_header("date", "Sun, 04 Jan 2026 11:58:00 GMT")
    };
    let (client, _) = client_with(vec![
        answer(
            r#"{"task_id":"task_1","status":"queued","estimated_completion":"2026-01-04T12:04:00Z",
                "created_at":"2026-01-04T11:58:00Z","livemode":false}"#,
        ),
        answer(
            r#"{"task_id":"task_1","status":"completed","created_at":"2026-01-04T11:58:00Z",
                "completed_at":"2026-01-04T11:59:00Z","livemode":false,
                "result":{"video_url":"https://cdn.vibepeak.ai/v/task_1.mp4?sig=a",
                          "expires_at":"2026-01-11T11:59:00Z"}}"#,
        ),
    ]);
    let q = client.status("task_1").await.unwrap();
    assert_eq!(
        q.estimated_completion,
        Some("2026-01-04T12:06:00Z".parse().unwrap())
    );
    assert_eq!(q.created_at, Some("2026-01-04T12:00:00Z".parse().unwrap()));
    let done = client.status("task_1").await.unwrap();
    assert_eq!(
        done.outputs[0].expires_at,
        Some("2026-01-11T12:01:00Z".parse().unwrap())
    );
}

#[tokio::test]
async fn status_reads_every_field_of_every_status() {
    let queued = HttpResponse::new(
        200,
        r#"{"task_id":"task_1","status":"queued","queue_position":2,"estimated_completion":"2026-01-04T12:30:00Z",
            "created_at":"2026-01-04T12:00:00Z","livemode":false}"#,
    )
    .with_header("retry-after", "15");
    let processing = HttpResponse::new(
        200,
        r#"{"task_id":"task_1","status":"processing","started_at":"2026-01-04T12:05:00Z",
            "created_at":"2026-01-04T12:00:00Z","livemode":false}"#,
    );
    let completed = HttpResponse::new(
        200,
        r#"{"task_id":"task_1","status":"completed","created_at":"2026-01-04T12:00:00Z",
            "started_at":"2026-01-04T12:05:00Z","completed_at":"2026-01-04T12:11:00Z","livemode":true,
            "result":{"video_url":"https://cdn.vibepeak.ai/v/task_1.mp4?sig=a","cover_image_url":"https://cdn.vibepeak.ai/c/task_1.jpg?sig=a",
                      "duration_seconds":48,"resolution":"1080p","expires_at":"2026-01-11T12:11:00Z"}}"#,
    );
    let failed = HttpResponse::new(
        200,
        r#"{"task_id":"task_1","status":"failed","created_at":"2026-01-04T12:00:00Z",
            "started_at":"2026-01-04T12:05:00Z","completed_at":"2026-01-04T12:06:00Z","livemode":false,
            "error":{"code":"IMAGE_PROCESSING_FAILED","message":"Failed to process image at index 2: Invalid image format"}}"#,
    );
    let (client, seen) = client_with(vec![queued, processing, completed, failed]);

    let q = client.read_task("task_1").await.unwrap();
    {
        let reqs = seen.lock().unwrap();
        assert_eq!(reqs[0].method, http::Method::GET);
        assert_eq!(reqs[0].url, format!("{BASE}/v1/tasks/task_1"));
        assert_eq!(
            reqs[0].headers["authorization"],
            format!("Bearer {TEST_KEY}").as_str()
        );
        assert!(reqs[0].body.is_none());
    }
    assert_eq!(q.snapshot.status.status, Status::Queued);
    assert_eq!(q.snapshot.queue_position, Some(2));
    assert_eq!(
        q.snapshot.estimated_completion,
        Some("2026-01-04T12:30:00Z".parse().unwrap())
    );
    assert_eq!(q.snapshot.retry_after, Some(Duration::from_secs(15)));
    assert_eq!(q.retry_after, Some(Duration::from_secs(15)));
    assert_eq!(
        q.snapshot.created_at,
        Some("2026-01-04T12:00:00Z".parse().unwrap())
    );
    assert!(q.task.is_test());

    let p = client.read_task("task_1").await.unwrap();
    assert_eq!(p.snapshot.status.status, Status::Running);
    assert_eq!(p.snapshot.status.raw, "processing");
    assert_eq!(
        p.task.started_at,
        Some("2026-01-04T12:05:00Z".parse().unwrap())
    );
    assert_eq!(
        p.snapshot.retry_after, None,
        "Retry-After is optional on status answers"
    );
    assert!(!p.snapshot.is_terminal());

    let c = client.status("task_1").await.unwrap();
    assert_eq!(c.status.status, Status::Succeeded);
    assert!(c.is_terminal());
    let expires = Some("2026-01-11T12:11:00Z".parse().unwrap());
    assert_eq!(
        c.outputs,
        vec![
            Output {
                url: Some("https://cdn.vibepeak.ai/v/task_1.mp4?sig=a".into()),
                file_id: None,
                mime_type: Some("video/mp4".into()),
                size: None,
                expires_at: expires,
            },
            Output {
                url: Some("https://cdn.vibepeak.ai/c/task_1.jpg?sig=a".into()),
                file_id: None,
                mime_type: Some("image/jpeg".into()),
                size: None,
                expires_at: expires,
            },
        ]
    );
    assert_eq!(c.raw["result"]["duration_seconds"], 48);
    assert_eq!(c.raw["livemode"], true);

    let f = client.status_typed("task_1").await.unwrap();
    assert_eq!(
        f.completed_at,
        Some("2026-01-04T12:06:00Z".parse().unwrap())
    );
    assert_eq!(f.started_at, Some("2026-01-04T12:05:00Z".parse().unwrap()));
    let snap = f.to_snapshot(Value::Null, None);
    assert_eq!(snap.status.status, Status::Failed);
    let err = snap.error.unwrap();
    assert_eq!(err.code.as_deref(), Some("IMAGE_PROCESSING_FAILED"));
    assert!(err.message.contains("index 2"));
    assert!(snap.outputs.is_empty());
    let rule = f.error.as_ref().unwrap().rule().unwrap();
    assert!(!rule.transient && rule.http_status == 0);
}

#[tokio::test]
async fn job_failure_codes_are_kept() {
    for code in [
        "IMAGE_PROCESSING_FAILED",
        "NARRATION_FAILED",
        "INTERNAL_ERROR",
        "SOMETHING_NEW",
    ] {
        let body =
            json!({"task_id": "t", "status": "failed", "error": {"code": code, "message": "m"}});
        let (client, _) = client_with(vec![HttpResponse::new(200, body.to_string())]);
        let s = client.status("t").await.unwrap();
        assert_eq!(s.error.as_ref().unwrap().code.as_deref(), Some(code));
        assert!(s.is_terminal());
    }
}

#[tokio::test]
async fn missing_optional_fields_unknown_statuses_and_envelopes() {
    let (client, _) = client_with(vec![
        HttpResponse::new(200, r#"{"status":"queued"}"#),
        HttpResponse::new(
            200,
            r#"{"task_id":"task_1","status":"awaiting_review","created_at":"garbage"}"#,
        ),
        HttpResponse::new(
            200,
            r#"{"task":{"task_id":"task_1","status":"processing"}}"#,
        ),
        HttpResponse::new(
            200,
            r#"{"task_id":"task_1","status":"completed","result":{"video_url":"https://c/v.mp4"}}"#,
        ),
        HttpResponse::new(200, r#"{"task_id":"task_1","status":"completed"}"#),
    ]);
    let s = client.status("task_1").await.unwrap();
    assert_eq!(s.job.id, "task_1", "a missing task_id is the one asked for");
    assert_eq!(
        (s.queue_position, s.estimated_completion, s.created_at),
        (None, None, None)
    );

    let s = client.status("task_1").await.unwrap();
    assert_eq!(s.status.raw, "awaiting_review");
    assert!(!s.status.recognized && !s.is_terminal());
    assert_eq!(s.status.status, Status::Running);
    assert_eq!(s.created_at, None);

    let s = client.status("task_1").await.unwrap();
    assert_eq!(s.status.status, Status::Running);

    let s = client.status("task_1").await.unwrap();
    assert_eq!(s.outputs.len(), 1, "no cover: only the video");
    assert_eq!(s.outputs[0].expires_at, None);

    let s = client.status("task_1").await.unwrap();
    assert!(s.is_terminal() && s.outputs.is_empty());
}

#[tokio::test]
async fn malformed_truncated_empty_and_oversized_answers_are_decode_errors() {
    let big = format!(
        "{{\"task_id\":\"t\",\"status\":\"queued\",\"pad\":\"{}",
        "x".repeat(2 << 20)
    );
    let bodies: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("truncated", r#"{"task_id":"task_1","status":"compl"#.into()),
        ("html", "<html><body>Bad gateway</body></html>".into()),
        ("array", "[1,2,3]".into()),
        ("no status", r#"{"task_id":"task_1"}"#.into()),
        (
            "status not a string",
            r#"{"task_id":"task_1","status":3}"#.into(),
        ),
        ("oversized truncated", big),
    ];
    for (what, body) in bodies {
        let (client, _) = client_with(vec![HttpResponse::new(200, body)]);
        let err = client.status("task_1").await.unwrap_err();
        match &err {
            Error::Decode {
                provider,
                operation,
                http_status,
                ..
            } => {
                assert_eq!(
                    (*provider, *operation, *http_status),
                    (Provider::VibePeak, Operation::Status, 200)
                );
            }
            other => panic!("{what}: expected a decode error, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("vibepeak status"), "{what}: {text}");
        assert!(
            text.len() < 2000,
            "{what}: the message must not carry the whole body"
        );
    }
    let (client, _) = client_with_key(
        TEST_KEY,
        vec![Err(TransportError::new(
            TransportFailure::TooLarge,
            "answer over 8 MiB",
        ))],
    );
    let err = client.status("task_1").await.unwrap_err();
    assert!(matches!(
        err,
        Error::Transport {
            failure: TransportFailure::TooLarge,
            operation: Operation::Status,
            ..
        }
    ));
    assert!(err.to_string().contains("vibepeak status"));
}

#[tokio::test]
async fn odd_ids_are_escaped_and_empty_ones_refused() {
    let (client, seen) = client_with(vec![HttpResponse::new(
        200,
        r#"{"task_id":"a/b?c","status":"queued"}"#,
    )]);
    client.status("a/b?c").await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[0].url,
        format!("{BASE}/v1/tasks/a%2Fb%3Fc")
    );
    let err = client.status(" ").await.unwrap_err();
    assert_eq!(err.field(), Some("task_id"));
}

// ---------------------------------------------------------------------------------------------
// errors

fn error_body(code: &str, message: &str, details: Option<Value>) -> String {
    let mut e = json!({"code": code, "message": message, "request_id": "req_123"});
    if let Some(d) = details {
        e["details"] = d;
    }
    json!({ "error": e }).to_string()
}

#[tokio::test]
async fn every_documented_error_code_is_classified() {
    // (code, HTTP status, kind, transient, operation)
    let cases: &[(&str, u16, ErrorKind, bool)] = &[
        ("VALIDATION_ERROR", 400, ErrorKind::InvalidRequest, false),
        ("SCRIPT_TOO_SHORT", 400, ErrorKind::InvalidRequest, false),
        ("SCRIPT_TOO_LONG", 400, ErrorKind::InvalidRequest, false),
        ("MISSING_API_KEY", 401, ErrorKind::Unauthorized, false),
        ("INVALID_API_KEY", 401, ErrorKind::Unauthorized, false),
        ("API_KEY_REVOKED", 401, ErrorKind::Unauthorized, false),
        ("API_KEY_EXPIRED", 401, ErrorKind::Unauthorized, false),
        ("PLAN_REQUIRED", 403, ErrorKind::Forbidden, false),
        ("PLAN_NOT_ALLOWED", 403, ErrorKind::Forbidden, false),
        ("INSUFFICIENT_CREDITS", 403, ErrorKind::Forbidden, false),
        ("AVATAR_ACCESS_DENIED", 403, ErrorKind::Forbidden, false),
        ("VOICE_ACCESS_DENIED", 403, ErrorKind::Forbidden, false),
        ("TASK_NOT_FOUND", 404, ErrorKind::NotFound, false),
        (
            "CONCURRENCY_LIMIT_EXCEEDED",
            429,
            ErrorKind::ConcurrencyLimited,
            true,
        ),
        ("INTERNAL_ERROR", 500, ErrorKind::Unavailable, true),
    ];
    for &(code, status, kind, transient) in cases {
        let resp = HttpResponse::new(status, error_body(code, "it went wrong", None));
        let (client, _) = client_with(vec![resp.clone(), resp]);
        for (op, err) in [
            (
                Operation::Submit,
                client.submit(&slideshow().into()).await.unwrap_err(),
            ),
            (
                Operation::Status,
                client.status("task_1").await.unwrap_err(),
            ),
        ] {
            let api = err.api().unwrap_or_else(|| panic!("{code}: {err:?}"));
            assert_eq!(api.provider, Provider::VibePeak);
            assert_eq!(api.operation, op);
            assert_eq!(api.http_status, status, "{code}");
            assert_eq!(api.kind, kind, "{code}");
            assert_eq!(api.transient, transient, "{code}");
            assert_eq!(err.is_transient(), transient, "{code}");
            assert_eq!(api.code.as_deref(), Some(code));
            assert_eq!(api.request_id.as_deref(), Some("req_123"));
            assert!(
                api.message.starts_with("it went wrong"),
                "{code}: {}",
                api.message
            );
            assert!(api.advice.is_some(), "{code} has advice");
            let text = err.to_string();
            assert!(
                text.contains(code) && text.contains(&status.to_string()),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn fields_come_from_details_or_the_code() {
    let cases = [
        (
            error_body("VALIDATION_ERROR", "bad", Some(json!({"field": "images"}))),
            Some("images"),
        ),
        (
            error_body(
                "VALIDATION_ERROR",
                "bad",
                Some(json!({"param": "voice.language"})),
            ),
            Some("voice.language"),
        ),
        (
            error_body(
                "VALIDATION_ERROR",
                "bad",
                Some(json!([{"field": "orientation", "issue": "x"}])),
            ),
            Some("orientation"),
        ),
        (
            error_body(
                "VALIDATION_ERROR",
                "bad",
                Some(json!({"script": "contains numbers"})),
            ),
            Some("script"),
        ),
        (
            error_body("VALIDATION_ERROR", "bad", Some(json!({"a": 1, "b": 2}))),
            None,
        ),
        (
            error_body("SCRIPT_TOO_SHORT", "short", None),
            Some("script"),
        ),
        (
            error_body(
                "SCRIPT_TOO_LONG",
                "long",
                Some(json!({"min": 240, "max": 300, "length": 310})),
            ),
            Some("script"),
        ),
        (
            error_body("AVATAR_ACCESS_DENIED", "no", None),
            Some("avatar_id"),
        ),
        (
            error_body("VOICE_ACCESS_DENIED", "no", None),
            Some("voice.voice_id"),
        ),
    ];
    for (body, field) in cases {
        let (client, _) = client_with(vec![HttpResponse::new(400, body.clone())]);
        let err = client.submit(&slideshow().into()).await.unwrap_err();
        assert_eq!(err.field(), field, "{body}");
    }
}

#[tokio::test]
async fn concurrency_limit_means_wait_for_a_slot_with_its_details() {
    let resp = HttpResponse::new(
        429,
        error_body(
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Too many tasks in flight",
            Some(json!({"limit": 3, "in_flight": 3, "plan": "pro"})),
        ),
    )
    .with_header("retry-after", "30");
    let (client, _) = client_with(vec![
        resp,
        HttpResponse::new(429, error_body("CONCURRENCY_LIMIT_EXCEEDED", "x", None)),
    ]);
    let err = client.submit(&slideshow().into()).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::ConcurrencyLimited));
    assert!(err.is_transient() && err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.to_string().contains("wait for a slot"), "{err}");
    assert_eq!(
        ConcurrencyLimit::from_error(&err),
        Some(ConcurrencyLimit {
            limit: Some(3),
            in_flight: Some(3),
            plan: Some("pro".into())
        })
    );
    assert_eq!(error_details(&err).unwrap()["in_flight"], 3);
    assert_eq!(err.field(), None);
    assert_eq!(PlanRequirement::from_error(&err), None);

    let err = client.submit(&slideshow().into()).await.unwrap_err();
    assert_eq!(err.retry_after(), None);
    assert_eq!(
        ConcurrencyLimit::from_error(&err),
        Some(ConcurrencyLimit {
            limit: None,
            in_flight: None,
            plan: None
        })
    );
}

#[tokio::test]
async fn plan_errors_keep_their_details() {
    for code in ["PLAN_REQUIRED", "PLAN_NOT_ALLOWED"] {
        let body = error_body(
            code,
            "Your plan has no API access",
            Some(json!({"current_plan": "starter", "required_plans": ["plus", "pro", "max"]})),
        );
        let (client, _) = client_with(vec![HttpResponse::new(403, body)]);
        let err = client.submit(&slideshow().into()).await.unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Forbidden));
        assert_eq!(
            PlanRequirement::from_error(&err),
            Some(PlanRequirement {
                current_plan: Some("starter".into()),
                required_plans: vec!["plus".into(), "pro".into(), "max".into()],
            })
        );
        assert_eq!(err.field(), None);
    }
}

#[tokio::test]
async fn http_statuses_without_a_known_code_and_other_body_shapes() {
    let cases: Vec<(HttpResponse, ErrorKind, bool, Option<u64>)> = vec![
        (
            HttpResponse::new(503, "").with_header("retry-after", "20"),
            ErrorKind::Unavailable,
            true,
            Some(20),
        ),
        (
            HttpResponse::new(503, "<html>maintenance</html>"),
            ErrorKind::Unavailable,
            true,
            None,
        ),
        (
            HttpResponse::new(500, r#"{"message":"boom"}"#),
            ErrorKind::Unavailable,
            true,
            None,
        ),
        (
            HttpResponse::new(502, r#"{"error":"bad gateway"}"#),
            ErrorKind::Unavailable,
            true,
            None,
        ),
        (
            HttpResponse::new(429, "").with_header("retry-after", "30"),
            ErrorKind::RateLimited,
            true,
            Some(30),
        ),
        (
            HttpResponse::new(401, r#"{"message":"Unauthorized"}"#),
            ErrorKind::Unauthorized,
            false,
            None,
        ),
        (
            HttpResponse::new(404, "{\"error\":{\"code\":\"TASK_NOT_FOU"),
            ErrorKind::NotFound,
            false,
            None,
        ),
        (
            HttpResponse::new(400, r#"{"error":{"code":"NEW_CODE","message":"m"}}"#),
            ErrorKind::InvalidRequest,
            false,
            None,
        ),
        (HttpResponse::new(302, ""), ErrorKind::Other, false, None),
    ];
    for (resp, kind, transient, wait) in cases {
        let status = resp.status;
        let (client, _) = client_with(vec![resp]);
        let err = client.status("task_1").await.unwrap_err();
        assert_eq!(err.kind(), Some(kind), "{status}: {err}");
        assert_eq!(err.is_transient(), transient, "{status}");
        assert_eq!(err.retry_after(), wait.map(Duration::from_secs), "{status}");
        assert!(err.to_string().contains("vibepeak status"), "{err}");
    }
}

#[tokio::test]
async fn the_key_never_appears_in_debug_display_or_errors() {
    let echo = HttpResponse::new(
        401,
        error_body(
            "INVALID_API_KEY",
            &format!("Invalid API key {TEST_KEY}"),
            None,
        ),
    );
    let (client, _) = client_with_key(
        TEST_KEY,
        vec![
            Ok(echo),
            Err(TransportError::new(TransportFailure::Connect, "refused")),
            Ok(HttpResponse::new(200, "garbage")),
        ],
    );
    assert_no_key(&format!("{client:?}"));
    assert_no_key(&format!(
        "{:?}",
        VibePeakClient::builder().api_key(TEST_KEY)
    ));
    let e1 = client.status("t").await.unwrap_err();
    assert!(e1.is_unauthorized());
    let e2 = client.status("t").await.unwrap_err();
    let e3 = client.status("t").await.unwrap_err();
    for e in [e1, e2, e3] {
        assert_no_key(&format!("{e} {e:?}"));
    }
}

// ---------------------------------------------------------------------------------------------
// capabilities, refresh, health, configuration

#[tokio::test]
async fn no_cancel_no_list() {
    let (client, _) = client_with(vec![]);
    let caps = client.capabilities();
    assert!(!caps.cancel && !caps.list && !caps.list_cursor && !caps.webhook_endpoints);
    assert!(caps.per_job_webhook);
    assert_eq!(client.provider(), Provider::VibePeak);
    let e = client.cancel("task_1").await.unwrap_err();
    assert!(matches!(
        e,
        Error::Unsupported {
            provider: Provider::VibePeak,
            operation: Operation::Cancel
        }
    ));
    let e = client.list(&Default::default()).await.unwrap_err();
    assert!(matches!(
        e,
        Error::Unsupported {
            operation: Operation::List,
            ..
        }
    ));
}

#[tokio::test]
async fn refresh_rereads_the_task_and_matches_video_and_cover() {
    let fresh = |sig: &str| {
        HttpResponse::new(
            200,
            json!({"task_id": "task_1", "status": "completed",
                   "result": {"video_url": format!("https://cdn/v.mp4?sig={sig}"),
                              "cover_image_url": format!("https://cdn/c.webp?sig={sig}"),
                              "expires_at": "2026-01-18T00:00:00Z"}})
            .to_string(),
        )
    };
    let (client, seen) = client_with(vec![
        fresh("b"),
        fresh("c"),
        HttpResponse::new(200, r#"{"task_id":"task_1","status":"completed"}"#),
        HttpResponse::new(404, error_body("TASK_NOT_FOUND", "gone", None)),
    ]);
    let old_cover = Output {
        url: Some("https://cdn/c.webp?sig=a".into()),
        file_id: None,
        mime_type: Some("image/webp".into()),
        size: None,
        expires_at: Some("2026-01-11T00:00:00Z".parse().unwrap()),
    };
    let old_video = Output {
        url: Some("https://cdn/v.mp4?sig=a".into()),
        mime_type: Some("video/mp4".into()),
        ..old_cover.clone()
    };
    let cover = client.refresh_output("task_1", &old_cover).await.unwrap();
    assert_eq!(cover.url.as_deref(), Some("https://cdn/c.webp?sig=b"));
    assert_eq!(cover.mime_type.as_deref(), Some("image/webp"));
    assert_eq!(
        cover.expires_at,
        Some("2026-01-18T00:00:00Z".parse().unwrap())
    );
    let video = client.refresh_output("task_1", &old_video).await.unwrap();
    assert_eq!(video.url.as_deref(), Some("https://cdn/v.mp4?sig=c"));
    assert_eq!(
        seen.lock().unwrap()[1].url,
        format!("{BASE}/v1/tasks/task_1")
    );
    let err = client
        .refresh_output("task_1", &old_video)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no video"), "{err}");
    let err = client
        .refresh_output("task_1", &old_video)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn health_needs_no_key() {
    let (client, seen) = client_with(vec![
        HttpResponse::new(200, r#"{"status":"ok"}"#),
        HttpResponse::new(200, "OK"),
        HttpResponse::new(503, ""),
    ]);
    let h = client.health().await.unwrap();
    assert_eq!(
        (h.http_status, h.body.clone()),
        (200, json!({"status": "ok"}))
    );
    {
        let reqs = seen.lock().unwrap();
        assert_eq!(reqs[0].url, format!("{BASE}/health"));
        assert!(reqs[0].headers.get("authorization").is_none());
    }
    assert_eq!(client.health().await.unwrap().body, json!("OK"));
    let err = client.health().await.unwrap_err();
    assert_eq!(err.api().unwrap().operation, Operation::Health);
    assert!(err.is_transient());
}

#[test]
fn configuration_from_the_environment() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let err = VibePeakClient::builder()
        .from_lookup(env(&[]))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(err.to_string().contains("VIBEPEAK_API_KEY"), "{err}");
    let err = VibePeakClient::builder()
        .from_lookup(env(&[("VIBEPEAK_API_KEY", "  ")]))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("VIBEPEAK_API_KEY"), "{err}");

    let mock: Arc<MockTransport> = Arc::new(MockTransport::new());
    let client = VibePeakClient::builder()
        .transport(mock.clone())
        .from_lookup(env(&[
            ("VIBEPEAK_API_KEY", "vpk_live_abc"),
            ("VIBEPEAK_BASE_URL", "http://127.0.0.1:5/vibepeak/"),
        ]))
        .build()
        .unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:5/vibepeak");
    assert!(!client.is_test_mode());

    let client = VibePeakClient::builder()
        .api_key("vpk_test_x")
        .transport(mock.clone())
        .build()
        .unwrap();
    assert_eq!(client.base_url(), "https://api.vibepeak.ai");
    assert!(client.is_test_mode());

    let err = VibePeakClient::builder()
        .api_key("k")
        .transport(mock)
        .from_lookup(env(&[("VIBEPEAK_BASE_URL", "ftp://nope")]))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");

    let err = mediajobs_vibepeak::VibePeakWebhookVerifier::from_lookup(env(&[])).unwrap_err();
    assert!(err.to_string().contains("VIBEPEAK_WEBHOOK_SECRET"), "{err}");
    assert!(
        mediajobs_vibepeak::VibePeakWebhookVerifier::from_lookup(env(&[(
            "VIBEPEAK_WEBHOOK_SECRET",
            "s"
        )]))
        .is_ok()
    );
}

#[test]
fn generated_tables_are_exposed() {
    assert_eq!(mediajobs_vibepeak::statuses().len(), 4);
    assert!(
        mediajobs_vibepeak::error_rules()
            .iter()
            .any(|r| r.code == "CONCURRENCY_LIMIT_EXCEEDED" && r.transient)
    );
}
