//! The VibePeak adapter against the simulator over real HTTP on 127.0.0.1: the full lifecycle,
//! URL refresh, webhooks and the documented failure paths, judged against PROVIDERS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use mediajobs_core::{
    Error, ErrorKind, Output, ProviderApi, Snapshot, Status, SubmitRequest, WebhookError,
    WebhookVerifier,
};
use mediajobs_sim::{RunningSim, Sim, SimConfig, VibePeakPlan};
use mediajobs_transport::{DownloadOutcome, HttpRequest, ReqwestTransport, Transport};
use mediajobs_vibepeak::{
    ConcurrencyLimit, NarratedSlideshow, OrchestrationMode, PlanRequirement, Subtitle,
    TestScenario, VibePeakClient, VibePeakWebhookVerifier, Voice,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

fn config() -> SimConfig {
    SimConfig {
        speed: 0.0,
        seed: 1,
        failure_rate: 0.0,
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> RunningSim {
    Sim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

fn transport() -> Arc<ReqwestTransport> {
    Arc::new(ReqwestTransport::with_defaults().unwrap())
}

#[path = "../../../test-support/sim_clock.rs"]
mod sim_clock;

fn client_with_key(sim: &RunningSim, key: &str) -> VibePeakClient {
    VibePeakClient::builder()
        .api_key(key)
        .base_url(&sim.base_url("vibepeak"))
        .transport(transport())
        .clock(sim_clock::SimClock::of(sim))
        .build()
        .unwrap()
}

fn sim_client(sim: &RunningSim) -> VibePeakClient {
    client_with_key(sim, &sim.api_key("vibepeak"))
}

fn images(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://photos.example.com/listing/{i}.jpg"))
        .collect()
}

fn script(n_images: usize) -> String {
    "Welcome home: a bright living room, a calm garden and a kitchen made for long dinners. "
        .chars()
        .cycle()
        .take(45 * n_images)
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn slideshow() -> NarratedSlideshow {
    NarratedSlideshow::builder()
        .images(images(6))
        .voice(Voice::new("voice_rachel").language("en"))
        .script(script(6))
        .orchestration_mode(OrchestrationMode::Sequential)
        .subtitle(Subtitle::preset("classic"))
        .build()
        .unwrap()
}

/// Polls as the answers say (Retry-After, else 30 s), moving sim time, until terminal.
async fn poll_to_terminal(sim: &RunningSim, client: &VibePeakClient, id: &str) -> Vec<Snapshot> {
    let mut seen = Vec::new();
    for _ in 0..200 {
        let s = client.status(id).await.unwrap();
        let done = s.is_terminal();
        let wait = s.retry_after.unwrap_or(Duration::from_secs(30));
        seen.push(s);
        if done {
            return seen;
        }
        sim.advance(wait);
    }
    panic!("task {id} did not finish");
}

async fn download(out: &Output, dir: &std::path::Path, name: &str) -> DownloadOutcome {
    let req = HttpRequest::new(Method::GET, out.url.clone().unwrap());
    transport()
        .download(req, &dir.join(name), 64 << 20)
        .await
        .unwrap()
}

async fn stats(sim: &RunningSim) -> Value {
    let resp = transport()
        .send(HttpRequest::new(
            Method::GET,
            format!("{}/stats", sim.admin_url()),
        ))
        .await
        .unwrap();
    serde_json::from_slice(&resp.body).unwrap()
}

#[tokio::test]
async fn full_lifecycle_download_and_url_refresh() {
    let sim = start(config()).await;
    let client = sim_client(&sim);
    assert!(client.is_test_mode());

    let health = client.health().await.unwrap();
    assert_eq!(health.http_status, 200);

    let submitted = client.submit_slideshow(&slideshow()).await.unwrap();
    let id = submitted.task.task_id.clone();
    assert!(id.starts_with("task_"), "{id}");
    assert_eq!(
        submitted.location.as_deref(),
        Some(format!("/v1/tasks/{id}").as_str())
    );
    assert_eq!(
        submitted.status_url,
        Some(format!("{}/v1/tasks/{id}", sim.base_url("vibepeak")))
    );
    assert_eq!(submitted.retry_after, Some(Duration::from_secs(30)));
    let s0 = &submitted.snapshot;
    assert_eq!(s0.status.status, Status::Queued);
    assert!(s0.queue_position.is_some());
    assert!(s0.estimated_completion.unwrap() > sim.now());
    assert!(s0.created_at.is_some());
    assert_eq!(s0.raw["livemode"], false);
    assert_eq!(submitted.task.livemode, Some(false));

    let seen = poll_to_terminal(&sim, &client, &id).await;
    let raws: Vec<&str> = seen.iter().map(|s| s.status.raw.as_str()).collect();
    assert_eq!(raws.first(), Some(&"queued"), "{raws:?}");
    assert!(raws.contains(&"processing"), "{raws:?}");
    assert!(seen.iter().all(|s| s.status.recognized));
    let done = seen.last().unwrap();
    assert_eq!(done.status.status, Status::Succeeded);
    assert_eq!(done.outputs.len(), 2);
    let (video, cover) = (&done.outputs[0], &done.outputs[1]);
    assert_eq!(video.mime_type.as_deref(), Some("video/mp4"));
    assert!(cover.mime_type.as_deref().unwrap().starts_with("image/"));
    let expires = video.expires_at.unwrap();
    let ttl = expires - sim.now();
    assert!(
        (ttl - chrono::Duration::days(7)).num_seconds().abs() <= 60,
        "video URLs live 7 days: {ttl}"
    );

    let task = client.status_typed(&id).await.unwrap();
    let result = task.result.as_ref().unwrap();
    assert!(result.duration_seconds.unwrap() > 0);
    assert_eq!(result.resolution.as_deref(), Some("1080p"));
    assert!(task.started_at.is_some() && task.completed_at.is_some());
    assert!(task.completed_at > task.started_at);

    let dir = tempfile::tempdir().unwrap();
    match download(video, dir.path(), "video.mp4").await {
        DownloadOutcome::Saved(d) => {
            assert!(d.bytes > 0);
            assert_eq!(d.content_type.as_deref(), Some("video/mp4"));
        }
        other => panic!("video download: {other:?}"),
    }
    match download(cover, dir.path(), "cover").await {
        DownloadOutcome::Saved(d) => {
            assert!(d.bytes > 0);
            assert_eq!(d.content_type.as_deref(), cover.mime_type.as_deref());
        }
        other => panic!("cover download: {other:?}"),
    }

    // Seven days later the URLs have expired; re-reading the task gives fresh ones.
    sim.advance(Duration::from_secs(7 * 24 * 3600 + 60));
    assert!(video.needs_refresh(sim.now(), Duration::from_secs(60)));
    match download(video, dir.path(), "stale.mp4").await {
        DownloadOutcome::Refused { status } => assert!(matches!(status, 403 | 410), "{status}"),
        other => panic!("an expired URL must be refused: {other:?}"),
    }
    let fresh_video = client.refresh_output(&id, video).await.unwrap();
    let fresh_cover = client.refresh_output(&id, cover).await.unwrap();
    assert_ne!(fresh_video.url, video.url);
    assert_eq!(fresh_video.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(fresh_cover.mime_type, cover.mime_type);
    assert_ne!(fresh_cover.url, fresh_video.url);
    assert!(fresh_video.expires_at.unwrap() > sim.now());
    assert!(!fresh_video.needs_refresh(sim.now(), Duration::from_secs(60)));
    for (out, name) in [(&fresh_video, "fresh.mp4"), (&fresh_cover, "fresh-cover")] {
        assert!(
            matches!(
                download(out, dir.path(), name).await,
                DownloadOutcome::Saved(_)
            ),
            "{name}"
        );
    }

    let stats = stats(&sim).await;
    let vp = &stats["providers"]["vibepeak"];
    assert_eq!(vp["by_route"]["POST /v1/real-estate/narrated-slideshow"], 1);
    assert!(vp["by_route"]["GET /v1/tasks/{task_id}"].as_u64().unwrap() >= 3);
    assert_eq!(stats["downloads"]["vibepeak"], 4);
    let task = stats["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(task["status"], "completed");
    sim.shutdown().await;
}

#[tokio::test]
async fn documented_job_failures() {
    let sim = start(config()).await;
    let client = sim_client(&sim);

    // test_scenario: image_processing_failed.
    let mut show = slideshow();
    show.test_scenario = Some(TestScenario::ImageProcessingFailed);
    let id = client.submit_slideshow(&show).await.unwrap().task.task_id;
    let last = poll_to_terminal(&sim, &client, &id).await.pop().unwrap();
    assert_eq!(last.status.status, Status::Failed);
    assert_eq!(last.status.raw, "failed");
    let err = last.error.unwrap();
    assert_eq!(err.code.as_deref(), Some("IMAGE_PROCESSING_FAILED"));
    assert!(err.message.contains("index"), "{}", err.message);
    assert!(last.outputs.is_empty());
    let task = client.status_typed(&id).await.unwrap();
    assert!(task.started_at.is_some() && task.completed_at.is_some());
    assert!(!task.error.unwrap().rule().unwrap().transient);

    // An image that cannot be fetched.
    let mut imgs = images(6);
    imgs[3] = "https://missing.invalid/kitchen.jpg".into();
    let show = NarratedSlideshow::builder()
        .images(imgs)
        .voice(Voice::new("voice_rachel"))
        .script(script(6))
        .build()
        .unwrap();
    let id = client.submit_slideshow(&show).await.unwrap().task.task_id;
    let last = poll_to_terminal(&sim, &client, &id).await.pop().unwrap();
    assert_eq!(
        last.error.unwrap().code.as_deref(),
        Some("IMAGE_PROCESSING_FAILED")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn documented_error_answers() {
    let sim = start(config()).await;
    let client = sim_client(&sim);

    // Fields the client leaves to the provider: the provider names them.
    for (body, field) in [
        (json!({"images": images(6), "script": script(6)}), "voice"),
        (
            json!({"images": images(6), "voice": {"voice_id": "v"}}),
            "script",
        ),
        (
            json!({"voice": {"voice_id": "v"}, "script": script(6)}),
            "images",
        ),
    ] {
        let err = client.submit(&SubmitRequest::new(body)).await.unwrap_err();
        let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(
            (api.http_status, api.code.as_deref()),
            (400, Some("VALIDATION_ERROR"))
        );
        assert_eq!(api.kind, ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(api.request_id.as_deref().unwrap().starts_with("req_"));
    }

    // Unknown task: 404 TASK_NOT_FOUND.
    let err = client.status("task_doesnotexist").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.code(), Some("TASK_NOT_FOUND"));

    // A wrong key: 401 INVALID_API_KEY, and the key is not in the error.
    let bad = client_with_key(&sim, "vpk_test_WRONGKEY123");
    let err = bad.status("task_x").await.unwrap_err();
    assert!(err.is_unauthorized() && !err.is_transient());
    assert_eq!(err.code(), Some("INVALID_API_KEY"));
    assert!(!format!("{err} {err:?}").contains("WRONGKEY"));

    // Modes are isolated: a live task is invisible to the test key.
    let live_key = sim.live_api_key("vibepeak").unwrap();
    let live = client_with_key(&sim, &live_key);
    assert!(!live.is_test_mode());
    let mut show = slideshow();
    show.test_scenario = Some(TestScenario::Success);
    let err = live.submit_slideshow(&show).await.unwrap_err();
    assert_eq!(err.field(), Some("test_scenario"));
    let submitted = live.submit_slideshow(&slideshow()).await.unwrap();
    assert_eq!(submitted.task.livemode, Some(true));
    let id = submitted.task.task_id;
    assert_eq!(
        live.status(&id).await.unwrap().raw["livemode"],
        Value::Bool(true)
    );
    let err = client.status(&id).await.unwrap_err();
    assert_eq!(err.code(), Some("TASK_NOT_FOUND"));

    // No cancel, no list.
    assert!(matches!(
        client.cancel(&id).await,
        Err(Error::Unsupported { .. })
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrency_limit_is_a_wait_for_a_slot() {
    let sim = start(config()).await; // plan Pro: 3 in flight
    let client = sim_client(&sim);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            client
                .submit_slideshow(&slideshow())
                .await
                .unwrap()
                .task
                .task_id,
        );
    }
    let err = client.submit_slideshow(&slideshow()).await.unwrap_err();
    assert_eq!(err.code(), Some("CONCURRENCY_LIMIT_EXCEEDED"));
    assert_eq!(err.kind(), Some(ErrorKind::ConcurrencyLimited));
    assert!(err.is_transient() && err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(
        ConcurrencyLimit::from_error(&err),
        Some(ConcurrencyLimit {
            limit: Some(3),
            in_flight: Some(3),
            plan: Some("pro".into())
        })
    );
    // Once one finishes, a slot is free.
    poll_to_terminal(&sim, &client, &ids[0]).await;
    client.submit_slideshow(&slideshow()).await.unwrap();
    sim.shutdown().await;

    let sim = start(SimConfig {
        vibepeak_plan: VibePeakPlan::Starter,
        ..config()
    })
    .await;
    let err = sim_client(&sim)
        .submit_slideshow(&slideshow())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PLAN_REQUIRED"));
    assert_eq!(err.kind(), Some(ErrorKind::Forbidden));
    let plan = PlanRequirement::from_error(&err).unwrap();
    assert_eq!(plan.current_plan.as_deref(), Some("starter"));
    assert_eq!(plan.required_plans, ["plus", "pro", "max"]);
    sim.shutdown().await;
}

/// A minimal HTTP receiver: answers every POST with 200 and hands (headers, body) over.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/vibepeak",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, len) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut headers = HeaderMap::new();
                for line in head.lines().skip(1) {
                    if let Some((k, v)) = line.split_once(':') {
                        if let (Ok(k), Ok(v)) = (
                            HeaderName::from_bytes(k.trim().as_bytes()),
                            HeaderValue::from_str(v.trim()),
                        ) {
                            headers.append(k, v);
                        }
                    }
                }
                let body = buf[head_end..head_end + len].to_vec();
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                let _ = tx.send((headers, body));
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn signed_webhooks_verify_and_carry_the_result() {
    let sim = start(config()).await;
    let client = sim_client(&sim);
    let verifier = VibePeakWebhookVerifier::new(sim.webhook_secret("vibepeak").unwrap());
    let (url, mut deliveries) = receiver().await;

    let ok = client
        .submit(&SubmitRequest::from(slideshow()).with_webhook_url(url.clone()))
        .await
        .unwrap();
    let mut failing = slideshow();
    failing.test_scenario = Some(TestScenario::ImageProcessingFailed);
    failing.webhook_url = Some(url);
    let bad = client.submit_slideshow(&failing).await.unwrap();

    sim.advance(Duration::from_secs(11 * 60));
    let mut events = Vec::new();
    let mut raw = Vec::new();
    while events.len() < 2 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
            .await
            .expect("a webhook within 20 s")
            .unwrap();
        verifier.verify(&headers, &body, sim.now()).unwrap();
        // A tampered copy does not verify.
        let mut tampered = body.clone();
        tampered.push(b' ');
        assert!(verifier.verify(&headers, &tampered, sim.now()).is_err());
        events.push(verifier.parse(&headers, &body).unwrap());
        raw.push((headers, body));
    }
    let completed = events
        .iter()
        .find(|e| e.job_id == ok.job.id)
        .expect("the completed task's event");
    assert_eq!(completed.event, "task.completed");
    assert_eq!(completed.event_id, format!("{}:task.completed", ok.job.id));
    let snap = completed.snapshot.as_ref().unwrap();
    assert_eq!(snap.status.status, Status::Succeeded);
    assert_eq!(snap.outputs.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        download(&snap.outputs[0], dir.path(), "from-webhook.mp4").await,
        DownloadOutcome::Saved(_)
    ));

    let failed = events
        .iter()
        .find(|e| e.job_id == bad.task.task_id)
        .unwrap();
    assert_eq!(failed.event, "task.failed");
    let snap = failed.snapshot.as_ref().unwrap();
    assert_eq!(snap.status.status, Status::Failed);
    assert_eq!(
        snap.error.as_ref().unwrap().code.as_deref(),
        Some("IMAGE_PROCESSING_FAILED")
    );

    // Replayed after the 5-minute window, the same delivery is refused.
    sim.advance(Duration::from_secs(6 * 60));
    let (headers, body) = &raw[0];
    assert_eq!(
        verifier.verify(headers, body, sim.now()),
        Err(WebhookError::Stale)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_map_to_the_right_errors() {
    let faults = "vibepeak:submit:lost=1,vibepeak:status:5xx=1"
        .parse::<mediajobs_sim::Faults>()
        .unwrap();
    let sim = start(SimConfig { faults, ..config() }).await;
    let client = sim_client(&sim);
    // The task is created, then the connection closes before the answer.
    let err = client.submit_slideshow(&slideshow()).await.unwrap_err();
    assert!(matches!(err, Error::UncertainSubmit { .. }), "{err:?}");
    assert!(
        !err.is_transient(),
        "an uncertain submit is never retried blindly"
    );
    let stats = stats(&sim).await;
    assert_eq!(
        stats["tasks"].as_array().unwrap().len(),
        1,
        "the task exists"
    );
    let id = stats["tasks"][0]["id"].as_str().unwrap().to_string();
    let err = client.status(&id).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
    assert!(err.is_transient());
    sim.shutdown().await;

    let faults = "vibepeak:status:429=1"
        .parse::<mediajobs_sim::Faults>()
        .unwrap();
    let sim = start(SimConfig { faults, ..config() }).await;
    // VibePeak documents one 429, the concurrency limit, and the sim's fault takes its shape.
    let err = sim_client(&sim).status("task_x").await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::ConcurrencyLimited), "{err}");
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(30)));
    sim.shutdown().await;
}
