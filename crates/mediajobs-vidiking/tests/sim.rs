//! The Vidiking adapter against the simulator over real HTTP on 127.0.0.1: the whole lifecycle,
//! the documented failure paths, sandbox mode and the account webhook.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use http::{HeaderMap, Method, StatusCode};
use mediajobs_core::{
    Error, ErrorKind, ListQuery, ProviderApi, Secret, Snapshot, Status, SubmitRequest,
    WebhookError, WebhookVerifier,
};
use mediajobs_sim::{RunningSim, Sim, SimConfig};
use mediajobs_transport::{DownloadOutcome, HttpRequest, ReqwestTransport, Transport};
use mediajobs_vidiking::{
    Asset, Clip, Format, RENDER_EVENTS, RenderOutput, RenderRequest, Resolution, Track,
    VidikingClient, VidikingWebhookVerifier,
};
use serde_json::{Value, json};

type Deliveries = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

async fn sim() -> RunningSim {
    Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            speed: 0.0,
            seed: 1,
            failure_rate: 0.0,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn client(sim: &RunningSim, sandbox: bool) -> VidikingClient {
    VidikingClient::builder()
        .api_key(sim.api_key("vidiking"))
        .base_url(&sim.base_url("vidiking"))
        .sandbox(sandbox)
        .build()
        .unwrap()
}

/// A webhook receiver on 127.0.0.1 that records every delivery and answers 200.
async fn receiver() -> (String, Deliveries) {
    let got: Deliveries = Arc::default();
    let log = got.clone();
    let app = Router::new().route(
        "/{*path}",
        post(move |uri: http::Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push((uri.path().to_string(), headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

/// Waits (real time) until `n` deliveries to `path` arrived.
async fn deliveries(got: &Deliveries, path: &str, n: usize) -> Vec<(HeaderMap, Bytes)> {
    for _ in 0..200 {
        let list: Vec<_> = got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, h, b)| (h.clone(), b.clone()))
            .collect();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "fewer than {n} deliveries to {path}: {:?}",
        got.lock().unwrap().len()
    );
}

/// Polls, moving sim time by `step` between reads, until the job is terminal; returns every
/// raw status seen.
async fn poll(
    sim: &RunningSim,
    c: &VidikingClient,
    id: &str,
    step: Duration,
) -> (Snapshot, Vec<String>) {
    let mut seen = Vec::new();
    for _ in 0..400 {
        let s = c.status(id).await.unwrap();
        if seen.last() != Some(&s.status.raw) {
            seen.push(s.status.raw.clone());
        }
        if s.is_terminal() {
            return (s, seen);
        }
        sim.advance(step);
    }
    panic!("job {id} never ended: {seen:?}");
}

fn request(src: &str) -> RenderRequest {
    RenderRequest::builder()
        .track(Track::new(vec![Clip::new(Asset::title("Hello"), 0.0, 5.0)]))
        .track(Track::new(vec![
            Clip::new(Asset::image(src), 0.0, 5.0).with_scale(1.2),
        ]))
        .output(RenderOutput::new(Format::Mp4, Resolution::FullHd))
        .metadata("team", "a")
        .build()
        .unwrap()
}

async fn admin_stats(sim: &RunningSim) -> Value {
    let t = ReqwestTransport::with_defaults().unwrap();
    let resp = t
        .send(HttpRequest::new(
            Method::GET,
            format!("{}/stats", sim.admin_url()),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    serde_json::from_slice(&resp.body).unwrap()
}

async fn download(
    c: &VidikingClient,
    url: &str,
    dir: &tempfile::TempDir,
    name: &str,
) -> DownloadOutcome {
    // A plain GET: the output URL is signed by itself and must not carry our key.
    c.endpoint()
        .transport()
        .download(
            HttpRequest::new(Method::GET, url),
            &dir.path().join(name),
            50 * 1024 * 1024,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn full_lifecycle_submit_poll_list_callback_download_and_retention() {
    let sim = sim().await;
    let c = client(&sim, false);
    let (hook, got) = receiver().await;
    let secret = sim.webhook_secret("vidiking").unwrap();

    // Submit with our key (in metadata) and a per-job callback.
    let req = request("https://example.com/house.jpg")
        .into_submit_request()
        .unwrap()
        .with_key("line-1")
        .with_webhook_url(format!("{hook}/cb"));
    let submitted = c.submit(&req).await.unwrap();
    let id = submitted.job.id.clone();
    assert!(id.starts_with("job_"), "{id}");
    assert_eq!(submitted.status.status, Status::Queued);
    assert_eq!(submitted.client_key.as_deref(), Some("line-1"));
    let created = submitted.created_at.unwrap();
    assert!((created - sim.now()).num_seconds().abs() <= 1);

    // The key comes back from status answers.
    let first = c.status(&id).await.unwrap();
    assert_eq!(first.status.raw, "QUEUED");
    assert_eq!(first.client_key.as_deref(), Some("line-1"));

    // Poll to the end, a few sim seconds at a time: QUEUED → PROCESSING → COMPLETE.
    let (done, seen) = poll(&sim, &c, &id, Duration::from_secs(2)).await;
    assert_eq!(seen, ["QUEUED", "PROCESSING", "COMPLETE"]);
    assert_eq!(done.status.status, Status::Succeeded);
    assert_eq!(done.client_key.as_deref(), Some("line-1"));
    let out = done.outputs[0].clone();
    let url = out.url.clone().unwrap();
    assert_eq!(out.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(out.expires_at, None, "Vidiking sends no expiry");

    // Every documented field of the typed job.
    let job = c.status_typed(&id).await.unwrap();
    assert_eq!(job.format.as_deref(), Some("mp4"));
    assert_eq!(job.dimensions(), Some((1920, 1080)));
    assert_eq!(job.duration, Some(5.0));
    assert!(job.credits_used.is_some());
    assert!(job.processing_started_at.unwrap() >= job.created_at.unwrap());
    assert!(job.completed_at.unwrap() > job.processing_started_at.unwrap());
    assert!(job.render_time.unwrap() >= 1.0);
    assert_eq!(job.metadata.as_ref().unwrap()["team"], "a");
    assert!(!job.refunded());

    // The callback: terminal only, signed with the account secret, carrying the URL.
    let cb = deliveries(&got, "/cb", 1).await;
    assert_eq!(
        cb.len(),
        1,
        "per-job callbacks carry only the terminal event"
    );
    let verifier = VidikingWebhookVerifier::new(secret.as_str());
    let (h, b) = &cb[0];
    verifier.verify(h, b, sim.now()).unwrap();
    let event = verifier.parse(h, b).unwrap();
    assert_eq!(event.event, "render.complete");
    assert_eq!(event.event_id, format!("{id}:render.complete"));
    assert_eq!(event.job_id, id);
    let snap = event.snapshot.unwrap();
    assert_eq!(snap.outputs[0].url.as_deref(), Some(url.as_str()));
    assert_eq!(
        VidikingWebhookVerifier::new("whsec_wrong").verify(h, b, sim.now()),
        Err(WebhookError::BadSignature)
    );

    // List: newest first, with the key; a status filter; the key lookup of reconciliation.
    let page = c
        .list(&ListQuery {
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items[0].job.id, id);
    assert_eq!(page.items[0].client_key.as_deref(), Some("line-1"));
    assert!(page.next_cursor.is_none());
    let complete = c.list_typed(Some(500), Some("COMPLETE")).await.unwrap();
    assert!(complete.iter().any(|j| j.id == id));
    assert!(c.list_typed(None, Some("FAILED")).await.unwrap().is_empty());
    assert_eq!(c.find_by_key("line-1").await.unwrap().unwrap().job.id, id);
    assert!(c.find_by_key("line-2").await.unwrap().is_none());

    // Download the bytes.
    let dir = tempfile::tempdir().unwrap();
    let DownloadOutcome::Saved(saved) = download(&c, &url, &dir, "a.mp4").await else {
        panic!("download refused");
    };
    assert!(saved.bytes > 0);
    assert_eq!(Some(saved.bytes), out.size, "file_size is the size served");
    assert_eq!(saved.content_type.as_deref(), Some("video/mp4"));

    // Vidiking's refresh: re-read the job; the URL is the same [assumed].
    let fresh = c.refresh_output(&id, &out).await.unwrap();
    assert_eq!(fresh.url.as_deref(), Some(url.as_str()));

    // After the documented 7 days the output is gone, and a re-read cannot bring it back.
    let ends = job.retention_ends_at(false).unwrap();
    assert!(ends > sim.now());
    sim.advance(Duration::from_secs(7 * 24 * 3600 + 60));
    assert!(sim.now() > ends);
    assert_eq!(
        download(&c, &url, &dir, "b.mp4").await,
        DownloadOutcome::Refused { status: 410 }
    );
    let again = c.refresh_output(&id, &out).await.unwrap();
    assert_eq!(again.url.as_deref(), Some(url.as_str()));
    assert_eq!(
        download(&c, again.url.as_deref().unwrap(), &dir, "c.mp4").await,
        DownloadOutcome::Refused { status: 410 }
    );

    // The ground truth agrees: one task, complete, one download.
    let stats = admin_stats(&sim).await;
    assert_eq!(stats["downloads"]["vidiking"], 1);
    let task = stats["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(task["status"], "COMPLETE");
    assert_eq!(stats["providers"]["vidiking"]["responses"]["4xx"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn documented_failure_paths() {
    let sim = sim().await;
    let c = client(&sim, false);

    // An asset that cannot be fetched: INVALID_ASSET, refunded.
    let s = c
        .submit_render(&request("https://example.com/missing.jpg"))
        .await
        .unwrap();
    let (failed, _) = poll(&sim, &c, &s.job.id, Duration::from_secs(2)).await;
    assert_eq!(failed.status.status, Status::Failed);
    let e = failed.error.unwrap();
    assert_eq!(e.code.as_deref(), Some("INVALID_ASSET"));
    assert!(e.message.contains("missing.jpg"), "{}", e.message);
    assert!(failed.outputs.is_empty());
    let job = c.status_typed(&s.job.id).await.unwrap();
    assert!(job.refunded() && job.failed_at.is_some());
    assert_eq!(job.error.unwrap().is_transient(), Some(false));

    // Invalid properties through the raw escape hatch: accepted, then INVALID_TIMELINE.
    let raw = SubmitRequest::new(json!({
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "title", "text": "x"}, "start": 0, "length": 2, "scale": 5}]}]},
        "output": {"format": "mp4", "resolution": "hd"}
    }))
    .with_key("raw-1");
    let s = c.submit(&raw).await.unwrap();
    assert_eq!(s.status.status, Status::Queued);
    let (failed, _) = poll(&sim, &c, &s.job.id, Duration::from_secs(1)).await;
    assert_eq!(
        failed.error.unwrap().code.as_deref(),
        Some("INVALID_TIMELINE")
    );
    assert_eq!(failed.client_key.as_deref(), Some("raw-1"));
    assert!(c.status_typed(&s.job.id).await.unwrap().refunded());

    // A synchronous 400 (a callback the service refuses), naming the provider's code.
    let e = c
        .submit(
            &SubmitRequest::new(json!({"timeline": {"tracks": []}}))
                .with_webhook_url("http://example.com/hook"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidRequest));
    assert_eq!(e.code(), Some("INVALID_REQUEST"));
    assert_eq!(e.api().unwrap().http_status, 400);
    assert!(!e.is_transient());

    // Unknown job: 404 JOB_NOT_FOUND.
    let e = c.status("job_ffffffffffffffff").await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.code(), Some("JOB_NOT_FOUND"));

    // A status filter the service refuses.
    let e = c.list_typed(None, Some("DONE")).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidRequest));

    // A wrong key: 401 UNAUTHORIZED, and the key is not in the error.
    let bad = VidikingClient::builder()
        .api_key("vk_WRONG_KEY_123")
        .base_url(&sim.base_url("vidiking"))
        .build()
        .unwrap();
    let e = bad.status("job_ffffffffffffffff").await.unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(e.code(), Some("UNAUTHORIZED"));
    assert!(!format!("{e} {e:?}").contains("WRONG_KEY"));

    // Nothing reachable: a connection error, not a panic.
    let gone = VidikingClient::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9/vidiking")
        .build()
        .unwrap();
    let e = gone.status("job_1").await.unwrap_err();
    assert!(
        matches!(e, Error::Transport { .. }) && e.is_unreachable(),
        "{e}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sandbox_renders_at_720p_for_free_and_has_its_own_budget() {
    let sim = sim().await;
    let sandbox = client(&sim, true);
    let s = sandbox
        .submit_render(&request("https://example.com/house.jpg"))
        .await
        .unwrap();
    sim.advance(Duration::from_secs(600));
    let job = sandbox.status_typed(&s.job.id).await.unwrap();
    assert!(job.is_complete());
    assert_eq!(
        job.dimensions(),
        Some((1280, 720)),
        "sandbox is capped at 720p"
    );
    assert_eq!(
        job.credits_used.as_ref().and_then(|n| n.as_f64()),
        Some(0.0)
    );

    // 10 requests a minute in sandbox: the clock is frozen, so all of these share one minute.
    sim.advance(Duration::from_secs(60));
    let mut limited = None;
    for n in 1..=11 {
        match sandbox.status(&s.job.id).await {
            Ok(_) => {}
            Err(e) => {
                limited = Some((n, e));
                break;
            }
        }
    }
    let (n, e) = limited.expect("the sandbox budget was never enforced");
    assert_eq!(n, 11);
    assert!(e.is_rate_limited() && e.is_transient());
    assert_eq!(e.code(), Some("RATE_LIMITED"));
    let wait = e.retry_after().unwrap();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    // Production has its own budget (and sees sandbox jobs).
    let prod = client(&sim, false);
    assert!(prod.status(&s.job.id).await.unwrap().is_terminal());
    sim.shutdown().await;
}

#[tokio::test]
async fn account_webhook_signs_every_render_event_with_the_callers_secret() {
    let sim = sim().await;
    let c = client(&sim, false);
    let (hook, got) = receiver().await;
    let settings = c
        .set_webhook(
            &format!("{hook}/account"),
            &RENDER_EVENTS,
            Secret::new("whsec_chosen_by_us"),
        )
        .await
        .unwrap();
    assert_eq!(settings.url, format!("{hook}/account"));
    assert_eq!(settings.events, RENDER_EVENTS);

    let s = c
        .submit(
            &request("https://example.com/house.jpg")
                .into_submit_request()
                .unwrap()
                .with_webhook_url(format!("{hook}/job")),
        )
        .await
        .unwrap();
    let queued = deliveries(&got, "/account", 1).await;
    let (done, _) = poll(&sim, &c, &s.job.id, Duration::from_secs(2)).await;
    assert!(done.is_terminal());
    let all = deliveries(&got, "/account", 3).await;
    let ours = VidikingWebhookVerifier::new("whsec_chosen_by_us");
    let old = VidikingWebhookVerifier::new(sim.webhook_secret("vidiking").unwrap().as_str());
    let mut events = Vec::new();
    for (h, b) in &all {
        let e = ours.parse(h, b).unwrap();
        // Each verifies at the time it was sent, and only with our secret.
        let sent = e.occurred_at.unwrap();
        ours.verify(h, b, sent + chrono::Duration::seconds(1))
            .unwrap();
        assert_eq!(old.verify(h, b, sent), Err(WebhookError::BadSignature));
        assert_eq!(e.event_id, format!("{}:{}", s.job.id, e.event));
        events.push(e.event);
    }
    assert_eq!(
        events,
        ["render.queued", "render.processing", "render.complete"]
    );
    // The per-job callback is signed with the account secret we set, too.
    let cb = deliveries(&got, "/job", 1).await;
    ours.verify(&cb[0].0, &cb[0].1, sim.now()).unwrap();
    // The queued event was dated at submit: long after, it is stale (the safety poll takes over).
    sim.advance(Duration::from_secs(600));
    let (h, b) = &queued[0];
    assert_eq!(ours.verify(h, b, sim.now()), Err(WebhookError::Stale));
    sim.shutdown().await;
}
