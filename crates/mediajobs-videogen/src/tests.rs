//! Unit tests over the mock transport: the requests sent, every status, error and tolerated
//! shape, and the webhook scheme.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use http::{HeaderMap, Method};
use mediajobs_core::{
    Error, ErrorKind, ListQuery, ManualClock, Operation, Output, ProviderApi, Status,
    SubmitRequest, Timestamp, TransportFailure, WebhookError, WebhookVerifier,
};
use mediajobs_transport::{HttpRequest, HttpResponse, MockTransport, TransportError};
use serde_json::{Value, json};

use crate::*;

const KEY: &str = "vg_live_SUPERSECRETKEY";
const BASE: &str = "http://127.0.0.1:9/videogen";

type Seen = Arc<Mutex<Vec<HttpRequest>>>;

fn t0() -> Timestamp {
    "2026-01-04T12:00:00Z".parse().unwrap()
}

/// A client whose transport answers `answers` in order and records every request.
fn client(answers: Vec<Result<HttpResponse, TransportError>>) -> (VideoGenClient, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
    let mut mock = MockTransport::new();
    let s = seen.clone();
    mock.expect_send().returning(move |req| {
        s.lock().unwrap().push(req);
        queue
            .lock()
            .unwrap()
            .pop_front()
            .expect("the test sent more requests than it scripted")
    });
    let c = VideoGenClient::builder()
        .api_key(KEY)
        .base_url(BASE)
        .transport(Arc::new(mock))
        .clock(Arc::new(ManualClock::new(t0())))
        .build()
        .unwrap();
    (c, seen)
}

fn ok(status: u16, body: Value) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse::new(status, body.to_string()))
}

fn text(status: u16, body: &str) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse::new(status, body.to_string()))
}

fn body_json(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().unwrap_or(b"null")).unwrap()
}

fn assert_auth(req: &HttpRequest) {
    let auth = req.headers.get("authorization").unwrap();
    assert_eq!(auth.to_str().unwrap(), format!("Bearer {KEY}"));
    assert!(auth.is_sensitive());
}

fn no_key(text: &str) {
    assert!(!text.contains("SUPERSECRET"), "the key leaked: {text}");
}

fn succeeded_execution() -> Value {
    json!({
        "toolExecutionId": "vg_exec_1",
        "toolType": "GENERATE_IMAGE",
        "status": "succeeded",
        "progressPercentage": 100,
        "attemptIndex": 1,
        "error": null,
        "results": [{
            "fileId": "vg_file_1",
            "type": "IMAGE",
            "file": {
                "fileId": "vg_file_1",
                "type": "IMAGE",
                "scope": "TEAM",
                "displayName": "lighthouse",
                "thumbnailSource": {"status": "ready", "url": "https://cdn/t.png", "expiresAt": 1767531600},
                "previewSource": {"status": "skipped"},
                "downloadSource": {"status": "ready", "url": "https://cdn/files/vg_file_1.png?sig=abc",
                                   "expiresAt": 1767531600, "width": 1920, "height": 1080, "fileBytes": 123456},
                "somethingNew": true
            }
        }, {
            "fileId": "vg_file_2",
            "type": "AUDIO",
            "file": {"fileId": "vg_file_2", "type": "AUDIO", "durationSeconds": 3.5,
                     "downloadSource": {"status": "ready", "url": "https://cdn/files/2"}}
        }]
    })
}

// ---- requests --------------------------------------------------------------------------

#[tokio::test]
async fn submit_sends_the_documented_request_and_reads_the_id() {
    let (c, seen) = client(vec![Ok(HttpResponse::new(
        202,
        r#"{"toolExecutionId":"vg_exec_1"}"#,
    )
    .with_header("x-ratelimit-limit", "500")
    .with_header("x-ratelimit-remaining", "499")
    .with_header("x-ratelimit-reset", "1767531600"))]);
    let snap = c
        .submit_tool(
            GenerateImage::new("a lighthouse")
                .aspect_ratio(16, 9)
                .num_results(2),
        )
        .await
        .unwrap();
    assert_eq!(snap.job.id, "vg_exec_1");
    assert_eq!(snap.status.raw, "pending");
    assert_eq!(snap.status.status, Status::Queued);
    assert!(snap.status.recognized);
    assert_eq!(snap.tool.as_deref(), Some("GENERATE_IMAGE"));
    assert_eq!(snap.raw, json!({"toolExecutionId": "vg_exec_1"}));
    let req = &seen.lock().unwrap()[0];
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.url, format!("{BASE}/v1/tools/generate-image"));
    assert_auth(req);
    assert_eq!(req.headers.get("content-type").unwrap(), "application/json");
    assert_eq!(
        body_json(req),
        json!({"prompt": "a lighthouse", "aspectRatio": {"width": 16, "height": 9}, "numResults": 2})
    );
    let rl = c.last_rate_limit(RateLimitClass::Submit).unwrap();
    assert_eq!((rl.limit, rl.remaining), (Some(500), Some(499)));
    assert_eq!(rl.reset.unwrap().timestamp(), 1767531600);
    assert_eq!(c.last_rate_limit(RateLimitClass::Status), None);
    assert_eq!(c.rate_limits().len(), 1);
}

#[tokio::test]
async fn raw_submits_resolve_the_tool_and_pass_unknown_fields_through() {
    let (c, seen) = client(vec![
        ok(200, json!({"toolExecutionId": "vg_exec_2"})),
        ok(201, json!({"id": "vg_tool_3"})),
        ok(
            202,
            json!({"toolExecution": {"toolExecutionId": "vg_exec_4", "status": "running"}}),
        ),
    ]);
    let body = json!({"ttsText": "hi", "voiceId": null, "futureField": {"x": 1}});
    let req = SubmitRequest::new(body.clone())
        .with_tool("text-to-speech")
        .with_key("k1")
        .with_webhook_url("https://example.invalid/hook");
    assert_eq!(c.submit(&req).await.unwrap().job.id, "vg_exec_2");
    let req2 =
        SubmitRequest::new(json!({"imageStorageFileId": "vg_file_9"})).with_tool("UPSCALE_IMAGE");
    let snap = c.submit(&req2).await.unwrap();
    assert_eq!(snap.job.id, "vg_tool_3");
    assert_eq!(snap.tool.as_deref(), Some("UPSCALE_IMAGE"));
    let snap = c
        .submit(&SubmitRequest::new(json!({"prompt": "x"})).with_tool("generate-music"))
        .await
        .unwrap();
    assert_eq!(
        (snap.job.id.as_str(), snap.status.status),
        ("vg_exec_4", Status::Running)
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        body_json(&seen[0]),
        body,
        "the body goes out as given, nothing added"
    );
    assert_eq!(seen[1].url, format!("{BASE}/v1/tools/upscale-image"));
}

#[tokio::test]
async fn bad_raw_submits_are_refused_before_sending() {
    let (c, seen) = client(vec![]);
    let e = c
        .submit(&SubmitRequest::new(json!({"prompt": "x"})).with_tool("make-coffee"))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("make-coffee")
            && msg.contains("generate-image")
            && msg.contains("image-3d-effect"),
        "{msg}"
    );
    assert_eq!(e.field(), Some("tool"));
    let e = c
        .submit(&SubmitRequest::new(json!({"prompt": "x"})))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("tool"));
    assert!(e.to_string().contains("generate-video-clip"), "{e}");
    let e = c
        .submit(&SubmitRequest::new(json!({"prompt": ""})).with_tool("generate-image"))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("prompt"));
    assert_eq!(e.kind(), Some(ErrorKind::InvalidRequest));
    let e = c
        .submit_tool(GenerateImage::new("x").num_results(101))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("numResults"));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn every_other_operation_sends_the_documented_request() {
    let file = json!({"fileId": "vg_file_1", "type": "VIDEO",
                      "downloadSource": {"status": "ready", "url": "https://cdn/v.mp4", "expiresAt": 1767535200}});
    let (c, seen) = client(vec![
        ok(200, succeeded_execution()),
        ok(200, json!({"toolExecutionId": "vg_exec_1"})),
        ok(
            200,
            json!({"toolExecutions": [], "hasMore": false, "nextCursor": null}),
        ),
        ok(
            200,
            json!({"fileId": "vg_file_1", "type": "VIDEO", "downloadSource": {"status": "ready"}}),
        ),
        ok(200, file),
        ok(
            201,
            json!({"endpointId": "ep_1", "url": "https://me/hook", "events": ["tool_execution.succeeded"],
                       "description": "mine", "createdAt": 1767528000,
                       "signingSecret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "signingSecretLast4": "7oD="}),
        ),
        ok(
            200,
            json!({"endpoints": [{"endpointId": "ep_1", "url": "https://me/hook", "events": ["a"],
                                      "createdAt": 1767528000, "signingSecretLast4": "7oD="}],
                       "hasMore": false, "nextCursor": null}),
        ),
        text(204, ""),
    ]);
    c.status("vg_exec_1").await.unwrap();
    c.cancel("vg_exec_1").await.unwrap();
    c.list(&ListQuery {
        limit: Some(25),
        cursor: Some("c/1+2".into()),
        status: None,
        self_only: true,
    })
    .await
    .unwrap();
    let f = c.get_file("vg_file_1").await.unwrap();
    assert_eq!(f.download_source.unwrap().url, None);
    let h = c.hydrate("vg_file_1").await.unwrap();
    assert_eq!(h.to_output().url.as_deref(), Some("https://cdn/v.mp4"));
    let created = c
        .create_webhook_endpoint(
            "https://me/hook",
            &["tool_execution.succeeded"],
            Some("mine"),
        )
        .await
        .unwrap();
    assert_eq!(created.endpoint_id, "ep_1");
    assert_eq!(
        created.signing_secret.expose(),
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
    );
    assert_eq!(created.created_at.unwrap().timestamp(), 1767528000);
    assert!(!format!("{created:?}").contains("C2FVsBQ"), "{created:?}");
    assert_eq!(created.verifier().unwrap().secret_count(), 1);
    let eps = c.list_webhook_endpoints().await.unwrap();
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].signing_secret_last4.as_deref(), Some("7oD="));
    c.delete_webhook_endpoint("ep_1").await.unwrap();

    let seen = seen.lock().unwrap();
    let want = [
        (Method::GET, "/v1/tools/executions/vg_exec_1"),
        (Method::POST, "/v1/tools/executions/vg_exec_1/cancel"),
        (
            Method::GET,
            "/v1/tools/executions?limit=25&cursor=c%2F1%2B2&selfOnly=true",
        ),
        (Method::GET, "/v1/files/vg_file_1"),
        (Method::POST, "/v1/files/vg_file_1/hydrate"),
        (Method::POST, "/v1/webhooks/endpoints"),
        (Method::GET, "/v1/webhooks/endpoints"),
        (Method::DELETE, "/v1/webhooks/endpoints/ep_1"),
    ];
    assert_eq!(seen.len(), want.len());
    for (req, (method, path)) in seen.iter().zip(want) {
        assert_eq!(req.method, method, "{path}");
        assert_eq!(req.url, format!("{BASE}{path}"));
        assert_auth(req);
    }
    assert!(seen[1].body.is_none(), "cancel has an empty body");
    assert!(seen[4].body.is_none(), "hydrate has an empty body");
    assert_eq!(
        body_json(&seen[5]),
        json!({"url": "https://me/hook", "events": ["tool_execution.succeeded"], "description": "mine"})
    );
}

#[tokio::test]
async fn ids_are_escaped_in_paths_and_empty_ones_refused() {
    let (c, seen) = client(vec![text(404, r#"{"message":"not found"}"#)]);
    let _ = c.status("a/b c").await.unwrap_err();
    assert_eq!(
        seen.lock().unwrap()[0].url,
        format!("{BASE}/v1/tools/executions/a%2Fb%20c")
    );
    let e = c.status("").await.unwrap_err();
    assert_eq!(e.field(), Some("id"));
    let e = c.hydrate("").await.unwrap_err();
    assert_eq!(e.field(), Some("fileId"));
}

// ---- statuses --------------------------------------------------------------------------

#[tokio::test]
async fn every_status_maps_and_keeps_its_fields() {
    let cases = [
        ("pending", Status::Queued),
        ("running", Status::Running),
        ("succeeded", Status::Succeeded),
        ("failed", Status::Failed),
        ("cancelled", Status::Cancelled),
    ];
    for (raw, unified) in cases {
        let body = json!({"toolExecutionId": "vg_exec_1", "toolType": "GENERATE_VIDEO_CLIP", "status": raw,
                          "progressPercentage": 42.5, "attemptIndex": 0, "error": null});
        let (c, _) = client(vec![ok(200, body.clone())]);
        let s = c.status("vg_exec_1").await.unwrap();
        assert_eq!(s.status.status, unified);
        assert_eq!(s.status.raw, raw);
        assert!(s.status.recognized);
        assert_eq!(s.is_terminal(), unified.is_terminal());
        assert_eq!(s.progress, Some(42.5));
        assert_eq!(s.attempt, Some(0));
        assert_eq!(s.tool.as_deref(), Some("GENERATE_VIDEO_CLIP"));
        assert_eq!(s.raw, body);
        assert!(s.outputs.is_empty() && s.error.is_none());
        assert_eq!(
            (s.created_at, s.queue_position, s.estimated_completion),
            (None, None, None)
        );
    }
}

#[tokio::test]
async fn succeeded_results_become_outputs_with_expiry() {
    let (c, _) = client(vec![Ok(HttpResponse::new(
        200,
        succeeded_execution().to_string(),
    )
    .with_header("retry-after", "3"))]);
    let s = c.status("vg_exec_1").await.unwrap();
    assert_eq!(s.progress, Some(100.0));
    assert_eq!(s.attempt, Some(1));
    assert_eq!(s.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(s.outputs.len(), 2);
    let o = &s.outputs[0];
    assert_eq!(
        o.url.as_deref(),
        Some("https://cdn/files/vg_file_1.png?sig=abc")
    );
    assert_eq!(o.file_id.as_deref(), Some("vg_file_1"));
    assert_eq!(o.mime_type.as_deref(), Some("image/png"));
    assert_eq!(o.size, Some(123456));
    assert_eq!(o.expires_at.unwrap().timestamp(), 1767531600);
    let o = &s.outputs[1];
    assert_eq!(o.mime_type.as_deref(), Some("AUDIO"));
    assert_eq!((o.size, o.expires_at), (None, None));
    let typed = {
        let (c, _) = client(vec![ok(200, succeeded_execution())]);
        c.status_typed("vg_exec_1").await.unwrap()
    };
    let file = typed.results.as_ref().unwrap()[0].file.as_ref().unwrap();
    assert_eq!(file.display_name.as_deref(), Some("lighthouse"));
    assert_eq!(file.scope.as_deref(), Some("TEAM"));
    let d = file.download_source.as_ref().unwrap();
    assert_eq!(
        (d.width, d.height, d.status.as_deref()),
        (Some(1920), Some(1080), Some("ready"))
    );
    assert_eq!(file.extra.get("somethingNew"), Some(&json!(true)));
    assert_eq!(
        typed.results.as_ref().unwrap()[1]
            .file
            .as_ref()
            .unwrap()
            .duration_seconds,
        Some(3.5)
    );
}

#[tokio::test]
async fn failed_executions_carry_the_error() {
    let (c, _) = client(vec![
        ok(
            200,
            json!({"toolExecutionId": "e", "status": "failed", "progressPercentage": 30, "attemptIndex": 2,
                        "error": {"message": "content policy", "code": "content_rejected"}}),
        ),
        ok(
            200,
            json!({"toolExecutionId": "e", "status": "failed", "error": {"message": "boom"}}),
        ),
    ]);
    let s = c.status("e").await.unwrap();
    assert_eq!(s.status.status, Status::Failed);
    let err = s.error.unwrap();
    assert_eq!(
        (err.code.as_deref(), err.message.as_str()),
        (Some("content_rejected"), "content policy")
    );
    let s = c.status("e").await.unwrap();
    assert_eq!(s.error.unwrap().code, None);
}

#[tokio::test]
async fn unknown_statuses_are_kept_non_terminal_and_flagged() {
    let (c, _) = client(vec![
        ok(
            200,
            json!({"toolExecutionId": "e", "status": "awaiting_approval", "progressPercentage": 0}),
        ),
        ok(200, json!({"toolExecutionId": "e", "status": "SUCCEEDED"})),
    ]);
    for raw in ["awaiting_approval", "SUCCEEDED"] {
        let s = c.status("e").await.unwrap();
        assert_eq!(s.status.raw, raw);
        assert!(!s.status.recognized);
        assert!(!s.is_terminal());
    }
}

#[tokio::test]
async fn missing_optional_fields_and_other_shapes_are_tolerated() {
    let (c, _) = client(vec![
        ok(200, json!({"toolExecutionId": "e", "status": "running"})),
        ok(200, json!({"status": "pending"})),
        ok(
            200,
            json!({"data": {"toolExecutionId": "e", "status": "running", "results": null}}),
        ),
        ok(
            200,
            json!({"toolExecutionId": "e", "status": "succeeded",
                        "results": [{"fileId": "f", "type": "VIDEO"}, {"file": {"fileId": "g", "downloadSource": null}}]}),
        ),
        ok(
            200,
            json!({"toolExecutionId": "e", "status": "succeeded",
                        "results": [{"fileId": "f", "file": {"downloadSource": {"url": "u", "expiresAt": "1767531600"}}}]}),
        ),
    ]);
    let s = c.status("e").await.unwrap();
    assert_eq!((s.progress, s.attempt, s.tool.clone()), (None, None, None));
    let s = c.status("asked").await.unwrap();
    assert_eq!(
        s.job.id, "asked",
        "an answer without the id keeps the id asked for"
    );
    let s = c.status("e").await.unwrap();
    assert_eq!(s.status.status, Status::Running);
    let s = c.status("e").await.unwrap();
    assert_eq!(s.outputs.len(), 2);
    assert_eq!(s.outputs[0].file_id.as_deref(), Some("f"));
    assert_eq!(s.outputs[0].mime_type.as_deref(), Some("VIDEO"));
    assert_eq!(s.outputs[0].url, None);
    assert_eq!(s.outputs[1].file_id.as_deref(), Some("g"));
    let s = c.status("e").await.unwrap();
    assert_eq!(s.outputs[0].file_id.as_deref(), Some("f"));
    assert_eq!(s.outputs[0].expires_at.unwrap().timestamp(), 1767531600);
}

// ---- errors ----------------------------------------------------------------------------

#[tokio::test]
async fn every_documented_error_code_is_classified() {
    let cases = [
        (
            400,
            "invalid_parameters",
            "prompt is required",
            ErrorKind::InvalidRequest,
        ),
        (400, "invalid_id", "malformed id", ErrorKind::InvalidRequest),
        (
            401,
            "missing_api_key",
            "Unauthorized",
            ErrorKind::Unauthorized,
        ),
        (
            401,
            "invalid_api_key",
            "Unauthorized",
            ErrorKind::Unauthorized,
        ),
        (
            402,
            "insufficient_credits",
            "not enough credits",
            ErrorKind::Forbidden,
        ),
        // A documented code under another status than assumed is still classified by code.
        (
            403,
            "insufficient_credits",
            "not enough credits",
            ErrorKind::Forbidden,
        ),
    ];
    for (status, code, message, kind) in cases {
        let (c, _) = client(vec![ok(status, json!({"message": message, "code": code}))]);
        let e = c
            .submit(&SubmitRequest::new(json!({"prompt": "x"})).with_tool("generate-image"))
            .await
            .unwrap_err();
        let api = e.api().unwrap();
        assert_eq!(api.kind, kind, "{code}");
        assert_eq!(api.http_status, status);
        assert_eq!(api.code.as_deref(), Some(code));
        assert_eq!(api.message, message);
        assert!(!e.is_transient());
        assert!(api.advice.is_some(), "{code} has advice");
        let shown = e.to_string();
        assert!(
            shown.contains("videogen submit") && shown.contains(code),
            "{shown}"
        );
        no_key(&shown);
        no_key(&format!("{e:?}"));
    }
    let (c, _) = client(vec![ok(
        400,
        json!({"message": "prompt is required", "code": "invalid_parameters"}),
    )]);
    let e = c
        .submit(&SubmitRequest::new(json!({"prompt": "x"})).with_tool("generate-image"))
        .await
        .unwrap_err();
    assert_eq!(
        e.field(),
        Some("prompt"),
        "the field is read from the message"
    );
    let (c, _) = client(vec![ok(401, json!({"message": "Unauthorized"}))]);
    let e = c.status("e").await.unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(e.code(), None);
}

#[tokio::test]
async fn errors_without_a_code_are_classified_by_status() {
    let cases = [
        (403, ErrorKind::Forbidden, false),
        (404, ErrorKind::NotFound, false),
        (429, ErrorKind::RateLimited, true),
        (500, ErrorKind::Unavailable, true),
        (503, ErrorKind::Unavailable, true),
        (409, ErrorKind::InvalidRequest, false),
    ];
    for (status, kind, transient) in cases {
        let (c, _) = client(vec![ok(status, json!({"message": "nope"}))]);
        let e = c.status("e").await.unwrap_err();
        assert_eq!(e.kind(), Some(kind), "{status}");
        assert_eq!(e.is_transient(), transient, "{status}");
        assert!(e.to_string().contains("videogen status"), "{e}");
    }
    let (c, _) = client(vec![
        text(502, "<html>Bad Gateway</html>"),
        text(500, ""),
        ok(
            403,
            json!({"message": "Plan required", "requirement": {"type": "plan"}}),
        ),
    ]);
    let e = c.status("e").await.unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("Bad Gateway"),
        "{e}"
    );
    let e = c.status("e").await.unwrap_err();
    assert!(e.to_string().contains("Internal Server Error"), "{e}");
    let e = c.status("e").await.unwrap_err();
    assert!(e.to_string().contains("requirement: plan"), "{e}");
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after_else_the_reset() {
    // t0 is 2026-01-04T12:00:00Z = 1767528000.
    let (c, _) = client(vec![
        Ok(HttpResponse::new(429, r#"{"message":"Too many requests"}"#)
            .with_header("retry-after", "12")
            .with_header("x-ratelimit-limit", "5000")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", "1767528030")),
        Ok(HttpResponse::new(429, r#"{"message":"Too many requests"}"#)
            .with_header("x-ratelimit-limit", "5000")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", "1767528007")),
        Ok(HttpResponse::new(429, r#"{"message":"Too many requests"}"#)),
    ]);
    let e = c.status("e").await.unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
    let e = c.status("e").await.unwrap_err();
    assert_eq!(
        e.retry_after(),
        Some(Duration::from_secs(7)),
        "falls back to X-RateLimit-Reset"
    );
    let rl = c.last_rate_limit(RateLimitClass::Status).unwrap();
    assert_eq!(rl.remaining, Some(0));
    let e = c.status("e").await.unwrap_err();
    assert!(
        e.is_rate_limited() && e.retry_after().is_none(),
        "no hint: the caller backs off"
    );
    // The third answer carried no headers: the last seen values stay.
    assert_eq!(
        c.last_rate_limit(RateLimitClass::Status)
            .unwrap()
            .reset
            .unwrap()
            .timestamp(),
        1767528007
    );
}

#[tokio::test]
async fn malformed_truncated_and_empty_answers_are_clear_errors() {
    for body in [
        "",
        "{",
        r#"{"toolExecutionId":"e","sta"#,
        "[]",
        r#"{"toolExecutionId":"e","status":5}"#,
        "null",
        "<html>",
    ] {
        let (c, _) = client(vec![text(200, body)]);
        let e = c.status("e").await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Decode {
                    operation: Operation::Status,
                    ..
                }
            ),
            "{body:?}: {e:?}"
        );
        assert!(e.to_string().contains("videogen status"), "{e}");
    }
    let (c, _) = client(vec![
        text(200, ""),
        text(200, r#"{"toolExecutions": [{"status": "running"}]}"#),
        text(200, "{}"),
    ]);
    let e = c.list(&ListQuery::default()).await.unwrap_err();
    assert!(
        e.to_string().contains("videogen list") && e.to_string().contains("empty body"),
        "{e}"
    );
    let e = c.list(&ListQuery::default()).await.unwrap_err();
    assert!(e.to_string().contains("toolExecutions[0]"), "{e}");
    let e = c.list(&ListQuery::default()).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                operation: Operation::List,
                ..
            }
        ),
        "{e:?}"
    );
    let (c, _) = client(vec![
        text(200, "not json"),
        text(200, "[1]"),
        text(201, "{}"),
    ]);
    assert!(
        c.get_file("f")
            .await
            .unwrap_err()
            .to_string()
            .contains("videogen files")
    );
    assert!(
        c.hydrate("f")
            .await
            .unwrap_err()
            .to_string()
            .contains("videogen files")
    );
    let e = c
        .create_webhook_endpoint("https://me/h", &["x"], None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("videogen endpoints"), "{e}");
}

#[tokio::test]
async fn a_submit_whose_answer_is_lost_or_unreadable_is_uncertain() {
    let (c, _) = client(vec![
        Err(TransportError::new(
            TransportFailure::Timeout,
            "no answer in time",
        )),
        Err(TransportError::new(
            TransportFailure::Interrupted,
            "connection reset",
        )),
        text(202, ""),
        text(202, r#"{"toolExecut"#),
        ok(202, json!({"ok": true})),
        Err(TransportError::new(TransportFailure::Connect, "refused")),
    ]);
    let req = SubmitRequest::new(json!({"prompt": "x"})).with_tool("generate-image");
    for _ in 0..5 {
        let e = c.submit(&req).await.unwrap_err();
        assert!(matches!(e, Error::UncertainSubmit { .. }), "{e:?}");
        assert!(!e.is_transient());
        assert!(e.to_string().contains("videogen submit"), "{e}");
    }
    let e = c.submit(&req).await.unwrap_err();
    assert!(
        e.is_unreachable(),
        "a refused connection never reached VideoGen: {e:?}"
    );
}

#[tokio::test]
async fn transport_failures_elsewhere_and_oversized_answers() {
    let (c, _) = client(vec![
        Err(TransportError::new(
            TransportFailure::Timeout,
            "no answer in time",
        )),
        Err(TransportError::new(
            TransportFailure::TooLarge,
            "answer exceeds the 8388608 byte cap",
        )),
    ]);
    let e = c.status("e").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                failure: TransportFailure::Timeout,
                ..
            }
        ) && e.is_transient()
    );
    let e = c.status("e").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                failure: TransportFailure::TooLarge,
                ..
            }
        ) && !e.is_transient()
    );
    // A large (but capped) body that is not an execution is a decode error, not a panic.
    let big = format!(
        "{{\"toolExecutionId\":\"e\",\"status\":\"running\",\"pad\":\"{}\"",
        "x".repeat(1 << 20)
    );
    let (c, _) = client(vec![text(200, &big)]);
    assert!(matches!(
        c.status("e").await.unwrap_err(),
        Error::Decode { .. }
    ));
}

// ---- cancel, list, files -----------------------------------------------------------------

#[tokio::test]
async fn cancel_accepts_any_2xx_and_reports_errors() {
    let (c, _) = client(vec![
        text(200, r#"{"toolExecutionId":"e"}"#),
        text(204, ""),
        text(202, "garbage"),
        ok(404, json!({"message": "Not found"})),
    ]);
    for _ in 0..3 {
        c.cancel("e").await.unwrap();
    }
    let e = c.cancel("e").await.unwrap_err();
    assert!(
        e.is_not_found() && e.to_string().contains("videogen cancel"),
        "{e}"
    );
}

#[tokio::test]
async fn list_pages_follow_cursors_and_accept_other_shapes() {
    let exec = |id: &str, status: &str| json!({"toolExecutionId": id, "toolType": "GENERATE_IMAGE", "status": status, "progressPercentage": 0, "attemptIndex": 0, "error": null});
    let (c, seen) = client(vec![
        ok(
            200,
            json!({"toolExecutions": [exec("a", "running"), exec("b", "succeeded")], "hasMore": true, "nextCursor": "c1"}),
        ),
        ok(
            200,
            json!({"toolExecutions": [exec("c", "pending")], "hasMore": false, "nextCursor": "ignored"}),
        ),
        ok(200, json!([exec("d", "failed")])),
        ok(
            200,
            json!({"data": [exec("e", "cancelled")], "nextCursor": "c9"}),
        ),
        ok(200, json!({"toolExecutions": null, "hasMore": false})),
    ]);
    let p = c.list(&ListQuery::default()).await.unwrap();
    assert_eq!(
        p.items
            .iter()
            .map(|s| s.job.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(p.next_cursor.as_deref(), Some("c1"));
    assert_eq!(p.items[1].status.status, Status::Succeeded);
    assert_eq!(p.items[0].raw["toolExecutionId"], "a");
    let p = c
        .list(&ListQuery {
            cursor: p.next_cursor,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1);
    assert_eq!(
        p.next_cursor, None,
        "hasMore false ends the list whatever the cursor says"
    );
    let p = c.list(&ListQuery::default()).await.unwrap();
    assert_eq!((p.items[0].job.id.as_str(), p.next_cursor), ("d", None));
    let p = c.list(&ListQuery::default()).await.unwrap();
    assert_eq!(
        (p.items[0].job.id.as_str(), p.next_cursor.as_deref()),
        ("e", Some("c9"))
    );
    let p = c.list_typed(&ListQuery::default()).await.unwrap();
    assert!(p.tool_executions.is_empty() && !p.has_more);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].url, format!("{BASE}/v1/tools/executions"));
    assert_eq!(seen[1].url, format!("{BASE}/v1/tools/executions?cursor=c1"));
}

#[tokio::test]
async fn list_filters_by_status_on_our_side_and_checks_the_limit() {
    let exec = |id: &str, status: &str| json!({"toolExecutionId": id, "status": status});
    let (c, seen) = client(vec![
        ok(
            200,
            json!({"toolExecutions": [exec("a", "running"), exec("b", "succeeded"), exec("c", "pending")], "hasMore": false}),
        ),
        ok(
            200,
            json!({"toolExecutions": [exec("a", "running"), exec("c", "pending")], "hasMore": false}),
        ),
    ]);
    let p = c
        .list(&ListQuery {
            status: Some("succeeded".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1);
    let p = c
        .list(&ListQuery {
            status: Some("queued".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.items[0].job.id, "c");
    for limit in [0, 201] {
        let e = c
            .list(&ListQuery {
                limit: Some(limit),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.field(), Some("limit"));
    }
    // A status no execution can have would show nothing, silently: refused, naming the words.
    let e = c
        .list(&ListQuery {
            status: Some("bogus".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("status"));
    assert!(e.to_string().contains("succeeded"), "{e}");
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "bad limits and statuses are refused before sending"
    );
    assert!(
        !seen.lock().unwrap()[0].url.contains("status"),
        "VideoGen has no status filter"
    );
}

#[tokio::test]
async fn list_stream_walks_every_page_and_stops_on_errors_and_loops() {
    let exec = |id: &str| json!({"toolExecutionId": id, "status": "running"});
    let (c, seen) = client(vec![
        ok(
            200,
            json!({"toolExecutions": [exec("a"), exec("b")], "hasMore": true, "nextCursor": "p2"}),
        ),
        ok(
            200,
            json!({"toolExecutions": [exec("c")], "hasMore": true, "nextCursor": "p3"}),
        ),
        ok(
            200,
            json!({"toolExecutions": [], "hasMore": false, "nextCursor": null}),
        ),
    ]);
    let all: Vec<_> = c
        .list_stream(ListQuery {
            limit: Some(2),
            self_only: true,
            ..Default::default()
        })
        .collect()
        .await;
    let ids: Vec<String> = all.into_iter().map(|r| r.unwrap().job.id).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let urls: Vec<String> = seen.lock().unwrap().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls[1],
        format!("{BASE}/v1/tools/executions?limit=2&cursor=p2&selfOnly=true")
    );
    assert_eq!(urls.len(), 3);

    let (c, _) = client(vec![
        ok(
            200,
            json!({"toolExecutions": [exec("a")], "hasMore": true, "nextCursor": "p2"}),
        ),
        ok(500, json!({"message": "oops"})),
    ]);
    let all: Vec<_> = c.list_stream(ListQuery::default()).collect().await;
    assert_eq!(all.len(), 2);
    assert!(all[1].as_ref().unwrap_err().is_transient());

    let (c, _) = client(vec![
        ok(
            200,
            json!({"toolExecutions": [exec("a")], "hasMore": true, "nextCursor": "same"}),
        ),
        ok(
            200,
            json!({"toolExecutions": [exec("b")], "hasMore": true, "nextCursor": "same"}),
        ),
    ]);
    let all: Vec<_> = c.list_stream(ListQuery::default()).collect().await;
    assert_eq!(all.len(), 3);
    assert!(all[2].as_ref().unwrap_err().to_string().contains("cursor"));
}

#[tokio::test]
async fn refresh_output_hydrates_the_file() {
    let (c, seen) = client(vec![
        ok(
            200,
            json!({"file": {"fileId": "vg_file_1", "type": "IMAGE",
                                "downloadSource": {"status": "ready", "url": "https://cdn/fresh.png", "expiresAt": 1767535200, "fileBytes": 10}}}),
        ),
        ok(
            200,
            json!({"fileId": "vg_file_1", "downloadSource": {"status": "pending"}}),
        ),
    ]);
    let stale = Output {
        url: Some("https://cdn/old.png".into()),
        file_id: Some("vg_file_1".into()),
        mime_type: Some("image/png".into()),
        size: Some(10),
        expires_at: Some(t0()),
    };
    let fresh = c.refresh_output("vg_exec_1", &stale).await.unwrap();
    assert_eq!(fresh.url.as_deref(), Some("https://cdn/fresh.png"));
    assert_eq!(fresh.file_id.as_deref(), Some("vg_file_1"));
    assert_eq!(fresh.expires_at.unwrap().timestamp(), 1767535200);
    assert_eq!(
        seen.lock().unwrap()[0].url,
        format!("{BASE}/v1/files/vg_file_1/hydrate")
    );
    let e = c.refresh_output("vg_exec_1", &stale).await.unwrap_err();
    assert!(e.to_string().contains("pending"), "{e}");
    let no_id = Output {
        file_id: None,
        ..stale
    };
    let e = c.refresh_output("vg_exec_1", &no_id).await.unwrap_err();
    assert_eq!(e.field(), Some("output.file_id"));
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn webhook_endpoint_management_validates_and_tolerates_shapes() {
    let (c, seen) = client(vec![
        ok(
            201,
            json!({"endpointId": "ep_1", "url": "https://me/h", "events": ["x"]}),
        ),
        ok(
            200,
            json!([{"endpointId": "ep_1", "url": "https://me/h", "events": null}]),
        ),
        ok(
            200,
            json!({"endpoints": [{"endpointId": "ep_1"}], "hasMore": true, "nextCursor": "n"}),
        ),
        ok(
            200,
            json!({"endpoints": [{"endpointId": "ep_2"}], "hasMore": false, "nextCursor": null}),
        ),
        text(200, ""),
        ok(404, json!({"message": "no such endpoint"})),
    ]);
    assert_eq!(
        c.create_webhook_endpoint("ftp://x", &["a"], None)
            .await
            .unwrap_err()
            .field(),
        Some("url")
    );
    assert_eq!(
        c.create_webhook_endpoint("https://me/h", &[], None)
            .await
            .unwrap_err()
            .field(),
        Some("events")
    );
    let e = c
        .create_webhook_endpoint("https://me/h", &["x"], None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("signingSecret") && e.to_string().contains("ep_1"),
        "{e}"
    );
    assert_eq!(c.list_webhook_endpoints().await.unwrap().len(), 1);
    let all = c.list_webhook_endpoints().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|e| e.endpoint_id.as_str())
            .collect::<Vec<_>>(),
        ["ep_1", "ep_2"]
    );
    c.delete_webhook_endpoint("ep_1").await.unwrap();
    assert!(
        c.delete_webhook_endpoint("ep_9")
            .await
            .unwrap_err()
            .is_not_found()
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[3].url,
        format!("{BASE}/v1/webhooks/endpoints?cursor=n")
    );
    assert_eq!(seen.len(), 6);
}

// ---- configuration and redaction ---------------------------------------------------------

#[test]
fn builder_reads_the_environment_and_names_what_is_missing() {
    let e = VideoGenClient::builder()
        .from_lookup(|_| None)
        .build()
        .unwrap_err();
    assert!(
        matches!(e, Error::Config(_)) && e.to_string().contains("VIDEOGEN_API_KEY"),
        "{e}"
    );
    let e = VideoGenClient::builder().api_key("").build().unwrap_err();
    assert!(e.to_string().contains("VIDEOGEN_API_KEY"), "{e}");
    let c = VideoGenClient::builder()
        .from_lookup(|name| match name {
            "VIDEOGEN_API_KEY" => Some(KEY.to_string()),
            "VIDEOGEN_BASE_URL" => Some("http://127.0.0.1:5/videogen/".to_string()),
            _ => None,
        })
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:5/videogen");
    no_key(&format!("{c:?}"));
    let c = VideoGenClient::builder().api_key(KEY).build().unwrap();
    assert_eq!(c.base_url(), DEFAULT_BASE_URL);
    let b = VideoGenClient::builder().api_key(KEY);
    no_key(&format!("{b:?}"));
    let e = VideoGenClient::builder()
        .api_key(KEY)
        .base_url("nope")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("VIDEOGEN_BASE_URL"), "{e}");
    no_key(&e.to_string());
}

#[test]
fn capabilities_and_tool_tables() {
    let c = VideoGenClient::builder().api_key(KEY).build().unwrap();
    let caps = c.capabilities();
    assert!(caps.cancel && caps.list && caps.list_cursor && caps.webhook_endpoints);
    assert!(!caps.per_job_webhook);
    assert_eq!(c.provider(), mediajobs_core::Provider::VideoGen);
    assert_eq!(tool_names().count(), 13);
    for name in tool_names() {
        let t = tool_type_of(name).unwrap();
        assert_eq!(tool_name_of(t), Some(name));
        assert_eq!(t, name.replace('-', "_").to_uppercase());
    }
    for class in RateLimitClass::ALL {
        let _ = class.documented_limit_per_hour();
    }
    assert_eq!(
        RateLimitClass::Status.documented_limit_per_hour(),
        Some(5_000)
    );
}

// ---- webhooks ----------------------------------------------------------------------------

const VECTOR_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const VECTOR_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const VECTOR_TS: i64 = 1649367553;
const VECTOR_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
const VECTOR_SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

fn at(ts: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(ts, 0).unwrap()
}

fn headers(id: &str, ts: &str, sig: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("webhook-id", id.parse().unwrap());
    h.insert("webhook-timestamp", ts.parse().unwrap());
    h.insert("webhook-signature", sig.parse().unwrap());
    h
}

fn vector_headers() -> HeaderMap {
    headers(VECTOR_ID, &VECTOR_TS.to_string(), VECTOR_SIG)
}

#[test]
fn the_standard_webhooks_test_vector_verifies() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    assert_eq!(v.sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIG);
    assert_eq!(
        v.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS)),
        Ok(())
    );
    assert_eq!(
        v.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS + 300)),
        Ok(())
    );
    assert_eq!(
        v.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS - 300)),
        Ok(())
    );
    // The prefix may be left out.
    let bare = VideoGenWebhookVerifier::new("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert_eq!(
        bare.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS)),
        Ok(())
    );
    assert_eq!(v.provider(), mediajobs_core::Provider::VideoGen);
}

#[test]
fn wrong_secret_tampered_body_and_bad_signatures_are_refused() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    let other = VideoGenWebhookVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now = at(VECTOR_TS);
    assert_eq!(
        other.verify(&vector_headers(), VECTOR_BODY, now),
        Err(WebhookError::BadSignature)
    );
    let tampered = br#"{"email":"test@example.com","username":"test_user2"}"#;
    assert_eq!(
        v.verify(&vector_headers(), tampered, now),
        Err(WebhookError::BadSignature)
    );
    let ts = VECTOR_TS.to_string();
    for sig in [
        "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        "tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        "v1,not-base64!",
        "v1,",
        "v1a,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    ] {
        assert_eq!(
            v.verify(&headers(VECTOR_ID, &ts, sig), VECTOR_BODY, now),
            Err(WebhookError::BadSignature),
            "{sig}"
        );
    }
    // The id and timestamp are under the signature.
    assert_eq!(
        v.verify(&headers("msg_other", &ts, VECTOR_SIG), VECTOR_BODY, now),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        v.verify(
            &headers(VECTOR_ID, &(VECTOR_TS + 1).to_string(), VECTOR_SIG),
            VECTOR_BODY,
            now
        ),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        v.verify(&headers(VECTOR_ID, "soon", VECTOR_SIG), VECTOR_BODY, now),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn any_one_valid_v1_entry_and_any_configured_secret_suffice() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    let now = at(VECTOR_TS);
    let ts = VECTOR_TS.to_string();
    let several = format!("v1,AAAA v2,xyz {VECTOR_SIG}  v1,bm9wZQ==");
    assert_eq!(
        v.verify(&headers(VECTOR_ID, &ts, &several), VECTOR_BODY, now),
        Ok(())
    );
    // Rotation: old and new secrets at once, from the environment's list format.
    let rotating = VideoGenWebhookVerifier::from_secret_list(
        " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD ",
    )
    .unwrap();
    assert_eq!(rotating.secret_count(), 2);
    assert_eq!(rotating.verify(&vector_headers(), VECTOR_BODY, now), Ok(()));
    let spaced = VideoGenWebhookVerifier::from_lookup(|n| {
        (n == "VIDEOGEN_WEBHOOK_SECRET")
            .then(|| format!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw {VECTOR_SECRET}"))
    })
    .unwrap();
    assert_eq!(spaced.verify(&vector_headers(), VECTOR_BODY, now), Ok(()));
    let added = VideoGenWebhookVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .unwrap()
        .add_secret(VECTOR_SECRET)
        .unwrap();
    assert_eq!(added.verify(&vector_headers(), VECTOR_BODY, now), Ok(()));
}

#[test]
fn stale_and_future_timestamps_are_refused_within_a_configurable_window() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    assert_eq!(v.replay_window(), Duration::from_secs(300));
    assert_eq!(
        v.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS + 301)),
        Err(WebhookError::Stale)
    );
    assert_eq!(
        v.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS - 301)),
        Err(WebhookError::Stale)
    );
    let wide = v.clone().tolerance(Duration::from_secs(3600));
    assert_eq!(
        wide.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS + 3000)),
        Ok(())
    );
    let narrow = v.tolerance(Duration::from_secs(10));
    assert_eq!(
        narrow.verify(&vector_headers(), VECTOR_BODY, at(VECTOR_TS + 11)),
        Err(WebhookError::Stale)
    );
}

#[test]
fn missing_headers_are_named() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut h = vector_headers();
        h.remove(name);
        assert_eq!(
            v.verify(&h, VECTOR_BODY, at(VECTOR_TS)),
            Err(WebhookError::MissingHeader(name))
        );
    }
    let mut h = vector_headers();
    h.remove("webhook-id");
    assert_eq!(
        v.parse(&h, b"{}").unwrap_err(),
        WebhookError::MissingHeader("webhook-id")
    );
}

#[test]
fn secrets_are_checked_and_never_shown() {
    for bad in ["whsec_***notbase64***", "", "whsec_"] {
        let e = VideoGenWebhookVerifier::new(bad).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{bad:?}");
        assert!(e.to_string().contains("VIDEOGEN_WEBHOOK_SECRET"), "{e}");
    }
    let e = VideoGenWebhookVerifier::from_lookup(|_| None).unwrap_err();
    assert!(e.to_string().contains("VIDEOGEN_WEBHOOK_SECRET"), "{e}");
    let e = VideoGenWebhookVerifier::from_secret_list(" , ").unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    let shown = format!("{v:?}");
    assert!(
        !shown.contains("C2FVsBQ") && shown.contains("secrets: 1"),
        "{shown}"
    );
}

fn signed(v: &VideoGenWebhookVerifier, id: &str, body: &Value) -> (HeaderMap, Vec<u8>) {
    let bytes = body.to_string().into_bytes();
    let sig = v.sign(id, VECTOR_TS, &bytes);
    (headers(id, &VECTOR_TS.to_string(), &sig), bytes)
}

#[test]
fn terminal_events_parse_with_the_snapshot_the_download_needs() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    let exec = succeeded_execution();
    let body = json!({"event": "tool_execution.succeeded", "toolExecutionId": "vg_exec_1", "toolType": "GENERATE_IMAGE",
                      "occurredAt": VECTOR_TS - 5, "results": exec["results"]});
    let (h, bytes) = signed(&v, "msg_1", &body);
    assert_eq!(v.verify(&h, &bytes, at(VECTOR_TS)), Ok(()));
    let ev = v.parse(&h, &bytes).unwrap();
    assert_eq!(ev.event_id, "msg_1");
    assert_eq!(ev.event, "tool_execution.succeeded");
    assert_eq!(ev.job_id, "vg_exec_1");
    assert_eq!(ev.occurred_at, Some(at(VECTOR_TS - 5)));
    let st = ev.status.clone().unwrap();
    assert_eq!(
        (st.status, st.raw.as_str(), st.recognized),
        (Status::Succeeded, "succeeded", true)
    );
    let snap = ev.snapshot.unwrap();
    assert!(snap.is_terminal());
    assert_eq!(snap.tool.as_deref(), Some("GENERATE_IMAGE"));
    assert_eq!(snap.outputs.len(), 2);
    assert_eq!(
        snap.outputs[0].url.as_deref(),
        Some("https://cdn/files/vg_file_1.png?sig=abc")
    );
    assert_eq!(snap.outputs[0].file_id.as_deref(), Some("vg_file_1"));
    assert_eq!(snap.outputs[0].expires_at, Some(at(1767531600)));
    assert_eq!(snap.raw, body);

    let body = json!({"event": "tool_execution.failed", "toolExecutionId": "vg_exec_2", "toolType": "TEXT_TO_SPEECH",
                      "occurredAt": VECTOR_TS, "error": {"message": "voice unavailable", "code": "voice_error"}});
    let (h, bytes) = signed(&v, "msg_2", &body);
    let ev = v.parse(&h, &bytes).unwrap();
    let snap = ev.snapshot.unwrap();
    assert_eq!(snap.status.status, Status::Failed);
    assert_eq!(snap.error.unwrap().code.as_deref(), Some("voice_error"));

    let body = json!({"event": "tool_execution.cancelled", "toolExecutionId": "vg_exec_3", "occurredAt": VECTOR_TS});
    let (h, bytes) = signed(&v, "msg_3", &body);
    let ev = v.parse(&h, &bytes).unwrap();
    assert_eq!(ev.status.unwrap().status, Status::Cancelled);
    assert!(ev.snapshot.unwrap().outputs.is_empty());

    // Standard Webhooks' `{type, timestamp, data}` envelope is tolerated.
    let body = json!({"type": "tool_execution.succeeded", "timestamp": VECTOR_TS,
                      "data": {"toolExecutionId": "vg_exec_4", "results": []}});
    let (h, bytes) = signed(&v, "msg_4", &body);
    let ev = v.parse(&h, &bytes).unwrap();
    assert_eq!(
        (ev.job_id.as_str(), ev.occurred_at),
        ("vg_exec_4", Some(at(VECTOR_TS)))
    );
    assert!(ev.snapshot.unwrap().is_terminal());
}

#[test]
fn other_events_are_non_job_events_and_broken_payloads_are_malformed() {
    let v = VideoGenWebhookVerifier::new(VECTOR_SECRET).unwrap();
    for event in ["file.created", "workflow_run.succeeded", "something.new"] {
        let body = json!({"event": event, "fileId": "vg_file_1", "occurredAt": VECTOR_TS});
        let (h, bytes) = signed(&v, "msg_f", &body);
        let ev = v.parse(&h, &bytes).unwrap();
        assert_eq!(ev.event, event);
        assert_eq!(
            (ev.status, ev.snapshot, ev.job_id.as_str()),
            (None, None, "")
        );
    }
    // A future tool_execution event: kept, non-terminal, flagged, no snapshot.
    let body = json!({"event": "tool_execution.awaiting_approval", "toolExecutionId": "e"});
    let (h, bytes) = signed(&v, "msg_x", &body);
    let ev = v.parse(&h, &bytes).unwrap();
    let st = ev.status.unwrap();
    assert!(!st.recognized && !st.is_terminal());
    assert!(ev.snapshot.is_none());
    for body in [
        "".to_string(),
        "{".to_string(),
        "[1,2]".to_string(),
        json!({"toolExecutionId": "e"}).to_string(),
        json!({"event": 5}).to_string(),
        json!({"event": "tool_execution.succeeded"}).to_string(),
        json!({"event": "tool_execution.succeeded", "toolExecutionId": "e", "results": "many"})
            .to_string(),
    ] {
        let h = headers("msg_m", &VECTOR_TS.to_string(), "v1,x");
        let e = v.parse(&h, body.as_bytes()).unwrap_err();
        assert!(matches!(e, WebhookError::Malformed(_)), "{body}: {e:?}");
        assert_eq!(e.http_status(), 400);
    }
}

#[test]
fn raw_bodies_are_checked_for_the_documented_types_before_sending() {
    let (c, sent) = client(vec![]);
    for (body, field) in [
        (json!({"prompt": 5}), "prompt"),
        (json!({"prompt": "x", "quality": "ULTRA"}), "quality"),
        (json!({"prompt": "x", "aspectRatio": "16:9"}), "aspectRatio"),
        (
            json!({"prompt": "x", "aspectRatio": {"width": 0, "height": 9}}),
            "aspectRatio",
        ),
    ] {
        let req = SubmitRequest::new(body).with_tool("generate-image");
        let e = c.validate(&req).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    }
    let good = json!({"prompt": "x", "quality": "HIGH", "aspectRatio": {"width": 16, "height": 9}});
    assert!(
        c.validate(&SubmitRequest::new(good).with_tool("generate-image"))
            .is_ok()
    );
    assert!(sent.lock().unwrap().is_empty());
}
