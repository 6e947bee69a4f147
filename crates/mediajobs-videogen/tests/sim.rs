//! The VideoGen adapter against the simulator over real HTTP on 127.0.0.1: the whole lifecycle,
//! downloads, URL refresh by hydrate, cancel, list, webhook endpoints and signed deliveries,
//! rate limits and the documented failure paths.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use http::{HeaderMap, Method};
use mediajobs_core::{
    Error, ErrorKind, ListQuery, ProviderApi, Status, SubmitRequest, WebhookError, WebhookVerifier,
};
use mediajobs_sim::{RunningSim, Sim, SimConfig, VideoGenLimits};
use mediajobs_transport::{DownloadOutcome, HttpRequest};
use mediajobs_videogen::{
    GenerateAudio, GenerateAvatar, GenerateImage, GenerateMotionGraphic, GenerateVideoClip,
    ImageInput, Quality, RateLimitClass, TOOL_EXECUTION_EVENTS, TextToSpeech, ToolOptions,
    ToolRequest, VideoGenClient, VideoGenWebhookVerifier, VideoInput, tool_type_of,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn config() -> SimConfig {
    SimConfig {
        speed: 0.0,
        seed: 1,
        failure_rate: 0.0,
        videogen_retry_rate: 0.0,
        ..Default::default()
    }
}

async fn start(config: SimConfig) -> Result<RunningSim, Box<dyn std::error::Error>> {
    Ok(Sim::start("127.0.0.1:0".parse()?, config).await?)
}

#[path = "../../../test-support/sim_clock.rs"]
mod sim_clock;

fn client(sim: &RunningSim) -> VideoGenClient {
    VideoGenClient::builder()
        .api_key(sim.api_key("videogen"))
        .base_url(&sim.base_url("videogen"))
        .clock(sim_clock::SimClock::of(sim))
        .build()
        .unwrap()
}

async fn stats(sim: &RunningSim) -> Value {
    let transport = mediajobs_transport::ReqwestTransport::with_defaults().unwrap();
    let resp = mediajobs_transport::Transport::send(
        &transport,
        HttpRequest::new(Method::GET, format!("{}/stats", sim.admin_url())),
    )
    .await
    .unwrap();
    serde_json::from_slice(&resp.body).unwrap()
}

async fn download(client: &VideoGenClient, url: &str, dest: &std::path::Path) -> DownloadOutcome {
    client
        .transport()
        .download(HttpRequest::new(Method::GET, url), dest, 64 << 20)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle_submit_poll_download_and_refresh_by_hydrate() -> TestResult {
    let sim = start(config()).await?;
    let c = client(&sim);
    let dir = tempfile::tempdir()?;

    let snap = c
        .submit_tool(
            GenerateImage::new("a lighthouse at dusk")
                .aspect_ratio(16, 9)
                .quality(Quality::High)
                .num_results(2),
        )
        .await?;
    let id = snap.job.id.clone();
    assert!(id.starts_with("vg_exec_"), "{id}");
    assert_eq!(snap.status.status, Status::Queued);
    assert_eq!(snap.tool.as_deref(), Some("GENERATE_IMAGE"));
    let rl = c
        .last_rate_limit(RateLimitClass::Submit)
        .expect("X-RateLimit-* on every answer");
    assert_eq!((rl.limit, rl.remaining), (Some(500), Some(499)));

    // Frozen sim clock: still pending.
    let s = c.status(&id).await?;
    assert_eq!(
        (s.status.raw.as_str(), s.status.status),
        ("pending", Status::Queued)
    );
    assert!(s.status.recognized);
    assert_eq!((s.progress, s.attempt), (Some(0.0), Some(0)));
    assert_eq!(s.tool.as_deref(), Some("GENERATE_IMAGE"));
    assert!(s.outputs.is_empty() && s.error.is_none());
    assert_eq!(
        c.last_rate_limit(RateLimitClass::Status).unwrap().limit,
        Some(5_000)
    );

    // Poll to terminal as sim time passes.
    let mut last = s;
    for _ in 0..20 {
        sim.advance(Duration::from_secs(10));
        last = c.status(&id).await?;
        if last.is_terminal() {
            break;
        }
        assert!(matches!(
            last.status.status,
            Status::Queued | Status::Running
        ));
        assert!(last.progress.unwrap_or(0.0) < 100.0);
    }
    assert_eq!(last.status.status, Status::Succeeded, "{:?}", last.raw);
    assert_eq!(last.progress, Some(100.0));
    assert_eq!(last.outputs.len(), 2);
    let out = last.outputs[0].clone();
    assert!(out.file_id.as_deref().unwrap_or("").starts_with("vg_file_"));
    assert_eq!(out.mime_type.as_deref(), Some("image/png"));
    let expires = out.expires_at.expect("expiresAt");
    assert!(expires > sim.now() && expires <= sim.now() + chrono::Duration::hours(1));
    let typed = c.status_typed(&id).await?;
    let file = typed.results.as_ref().unwrap()[0].file.as_ref().unwrap();
    assert_eq!(file.download_source.as_ref().unwrap().width, Some(1024));
    assert_eq!(file.download_source.as_ref().unwrap().height, Some(576));

    // Download the bytes before the URL expires.
    let dest = dir.path().join("first.png");
    match download(&c, out.url.as_deref().unwrap(), &dest).await {
        DownloadOutcome::Saved(d) => {
            assert!(d.bytes > 0);
            assert_eq!(Some(d.bytes), out.size, "fileBytes matches what was served");
        }
        other => panic!("download refused: {other:?}"),
    }

    // Two hours later the URL has expired: refused, and a re-read returns the same, expired URL.
    sim.advance(Duration::from_secs(2 * 3600));
    assert!(out.needs_refresh(sim.now(), Duration::ZERO));
    let dest = dir.path().join("second.png");
    assert!(matches!(
        download(&c, out.url.as_deref().unwrap(), &dest).await,
        DownloadOutcome::Refused { status: 403 }
    ));
    let reread = c.status(&id).await?;
    assert_eq!(
        reread.outputs[0].expires_at,
        Some(expires),
        "a re-read keeps the completion-time URL"
    );

    // The provider's way: hydrate the file.
    let fresh = c.refresh_output(&id, &out).await?;
    assert_eq!(fresh.file_id, out.file_id);
    assert!(!fresh.needs_refresh(sim.now(), Duration::from_secs(60)));
    assert_ne!(fresh.url, out.url);
    match download(&c, fresh.url.as_deref().unwrap(), &dest).await {
        DownloadOutcome::Saved(d) => assert_eq!(Some(d.bytes), fresh.size),
        other => panic!("fresh download refused: {other:?}"),
    }
    assert!(c.last_rate_limit(RateLimitClass::Hydrate).is_some());

    // `GET /v1/files/{id}` carries no signed URL.
    let meta = c.get_file(out.file_id.as_deref().unwrap()).await?;
    assert_eq!(meta.file_id, out.file_id);
    assert_eq!(
        meta.download_source.as_ref().and_then(|s| s.url.clone()),
        None
    );

    let st = stats(&sim).await;
    assert_eq!(st["downloads"]["videogen"], 2, "{st}");
    let routes = &st["providers"]["videogen"]["by_route"];
    assert_eq!(routes["POST /v1/files/{fileId}/hydrate"], 1, "{routes}");
    assert_eq!(routes["POST /v1/tools/{tool}"], 1, "{routes}");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_is_accepted_and_runs_to_success() -> TestResult {
    let sim = start(config()).await?;
    let c = client(&sim);
    // Input files: the results of a first image and a first speech.
    let img = c
        .submit_tool(GenerateImage::new("seed image"))
        .await?
        .job
        .id;
    let tts = c
        .submit_tool(TextToSpeech::new("hello there"))
        .await?
        .job
        .id;
    sim.advance(Duration::from_secs(120));
    let image_file = c.status(&img).await?.outputs[0].file_id.clone().unwrap();
    let audio_file = c.status(&tts).await?.outputs[0].file_id.clone().unwrap();
    // A video to feed the video tools.
    let clip = c
        .submit_tool(GenerateVideoClip::from_prompt("waves").duration_seconds(5))
        .await?
        .job
        .id;
    sim.advance(Duration::from_secs(200));
    let video_file = c.status(&clip).await?.outputs[0].file_id.clone().unwrap();

    let requests: Vec<ToolRequest> = vec![
        GenerateImage::new("a cat")
            .image_file_id(image_file.clone())
            .quality(Quality::Low)
            .into(),
        GenerateVideoClip::from_image(image_file.clone())
            .generate_audio(true)
            .aspect_ratio(9, 16)
            .into(),
        GenerateMotionGraphic::new("a logo")
            .transparent_background(true)
            .duration_seconds(4)
            .into(),
        TextToSpeech::new("good morning")
            .language("en-US")
            .speed(1.2)
            .into(),
        ToolRequest::GenerateSoundEffect(GenerateAudio::new("thunder").duration_seconds(3)),
        ToolRequest::GenerateMusic(GenerateAudio::new("calm piano")),
        GenerateAvatar::new("actor_1", audio_file.clone()).into(),
        ToolRequest::VectorizeImage(ImageInput::new(image_file.clone())),
        ToolRequest::RemoveImageBackground(ImageInput::new(image_file.clone())),
        ToolRequest::RemoveVideoBackground(VideoInput::new(video_file.clone())),
        ToolRequest::UpscaleImage(ImageInput::new(image_file.clone()).output_temporary(true)),
        ToolRequest::UpscaleVideo(VideoInput::new(video_file.clone())),
        ToolRequest::Image3dEffect(ImageInput::new(image_file.clone())),
    ];
    let mut ids = Vec::new();
    for r in &requests {
        let snap = c
            .submit_tool(r.clone())
            .await
            .map_err(|e| format!("{}: {e}", r.tool()))?;
        ids.push((r.tool(), snap.job.id));
    }
    sim.advance(Duration::from_secs(400));
    for (tool, id) in ids {
        let s = c.status(&id).await?;
        assert_eq!(s.status.status, Status::Succeeded, "{tool}: {}", s.raw);
        assert_eq!(s.tool.as_deref(), tool_type_of(tool), "{tool}");
        assert!(
            !s.outputs.is_empty() && s.outputs[0].url.is_some(),
            "{tool}"
        );
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_the_documented_failure_paths() -> TestResult {
    let sim = start(config()).await?;
    let c = client(&sim);

    // Cancel a running clip: it becomes cancelled, terminal, without outputs.
    let id = c
        .submit_tool(GenerateVideoClip::from_prompt("a long shot"))
        .await?
        .job
        .id;
    sim.advance(Duration::from_secs(20));
    c.cancel(&id).await?;
    let s = c.status(&id).await?;
    assert_eq!(
        (s.status.raw.as_str(), s.is_terminal()),
        ("cancelled", true)
    );
    assert!(s.outputs.is_empty());
    // Cancelling a terminal execution changes nothing.
    c.cancel(&id).await?;
    sim.advance(Duration::from_secs(600));
    assert_eq!(c.status(&id).await?.status.status, Status::Cancelled);

    // Ids: well-formed but unknown → 404; malformed → 400 invalid_id.
    let e = c.status("vg_exec_zzzz").await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = c.status("bogus").await.unwrap_err();
    assert_eq!(
        (e.kind(), e.code()),
        (Some(ErrorKind::InvalidRequest), Some("invalid_id")),
        "{e}"
    );
    let e = c.hydrate("vg_exec_1").await.unwrap_err();
    assert_eq!(e.code(), Some("invalid_id"), "{e}");
    let e = c.cancel("bogus").await.unwrap_err();
    assert_eq!(e.code(), Some("invalid_id"), "{e}");

    // A documented type is checked before sending: nothing reaches VideoGen.
    let e = c
        .submit(
            &SubmitRequest::new(json!({"prompt": "x", "quality": "ULTRA"}))
                .with_tool("generate-image"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
    assert_eq!(e.field(), Some("quality"), "{e}");
    // What our validation lets through, VideoGen refuses with invalid_parameters naming the field.
    let e = c
        .submit(
            &SubmitRequest::new(json!({"imageFileId": "not-a-file"})).with_tool("upscale-image"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_id"), "{e}");
    // Ours refuses before sending.
    let e = c
        .submit(&SubmitRequest::new(json!({"prompt": ""})).with_tool("generate-image"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput { .. }) && e.field() == Some("prompt"),
        "{e}"
    );

    // A wrong key: 401 invalid_api_key, and the key appears nowhere.
    let bad = VideoGenClient::builder()
        .api_key("vg_key_WRONGWRONGWRONG")
        .base_url(&sim.base_url("videogen"))
        .build()?;
    let e = bad.status(&id).await.unwrap_err();
    assert!(
        e.is_unauthorized() && e.code() == Some("invalid_api_key"),
        "{e}"
    );
    assert!(!format!("{e} {e:?} {bad:?}").contains("WRONGWRONG"));

    // Another team's execution is not found.
    let other = VideoGenClient::builder()
        .api_key(sim.keys().videogen_other_team.clone())
        .base_url(&sim.base_url("videogen"))
        .build()?;
    assert!(other.status(&id).await.unwrap_err().is_not_found());
    sim.shutdown().await;

    // Executions that fail on their own carry the error.
    let sim = start(SimConfig {
        failure_rate: 1.0,
        ..config()
    })
    .await?;
    let c = client(&sim);
    let id = c
        .submit_tool(TextToSpeech::new("this will not work"))
        .await?
        .job
        .id;
    sim.advance(Duration::from_secs(120));
    let s = c.status(&id).await?;
    assert_eq!(s.status.status, Status::Failed);
    let err = s.error.expect("error on a failed execution");
    assert!(!err.message.is_empty());
    assert!(s.outputs.is_empty());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_stream_newest_first() -> TestResult {
    let sim = start(config()).await?;
    let c = client(&sim);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            c.submit_tool(GenerateImage::new(format!("image {i}")))
                .await?
                .job
                .id,
        );
    }
    // Another key of the same team: visible without selfOnly, hidden with it.
    let mate = VideoGenClient::builder()
        .api_key(sim.keys().videogen_teammate.clone())
        .base_url(&sim.base_url("videogen"))
        .build()?;
    let mate_id = mate
        .submit_tool(GenerateImage::new("teammate's"))
        .await?
        .job
        .id;

    let page = c
        .list(&ListQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await?;
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[0].job.id, mate_id,
        "newest first, whole team by default"
    );
    assert!(page.next_cursor.is_some());

    let all: Vec<String> = c
        .list_stream(ListQuery {
            limit: Some(2),
            self_only: true,
            ..Default::default()
        })
        .map(|r| r.map(|s| s.job.id))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(all, newest_first);

    sim.advance(Duration::from_secs(120));
    let done = c
        .list(&ListQuery {
            status: Some("succeeded".into()),
            self_only: true,
            ..Default::default()
        })
        .await?;
    assert_eq!(done.items.len(), 5);
    assert!(done.items.iter().all(|s| !s.outputs.is_empty()));
    let typed = c
        .list_typed(&ListQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    assert!(
        typed.has_more && typed.tool_executions[0].tool_type.as_deref() == Some("GENERATE_IMAGE")
    );

    let e = c
        .list(&ListQuery {
            limit: Some(201),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("limit"));
    // A cursor from another endpoint is refused.
    c.create_webhook_endpoint("https://example.invalid/a", &TOOL_EXECUTION_EVENTS, None)
        .await?;
    c.create_webhook_endpoint("https://example.invalid/b", &TOOL_EXECUTION_EVENTS, None)
        .await?;
    let ep_page = c.list_webhook_endpoints_page(Some(1), None).await?;
    let foreign = ep_page.next_cursor.expect("a second page of endpoints");
    let e = c
        .list(&ListQuery {
            cursor: Some(foreign),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_parameters"), "{e}");
    sim.shutdown().await;
    Ok(())
}

/// A minimal HTTP/1.1 receiver: answers 200 and hands over each request's headers and body.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
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
                            .filter_map(|l| l.split_once(':'))
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
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
                            http::HeaderName::from_bytes(k.trim().as_bytes()),
                            http::HeaderValue::from_str(v.trim()),
                        ) {
                            headers.append(k, v);
                        }
                    }
                }
                let body = buf[head_end..head_end + len].to_vec();
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tx.send((headers, body));
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_endpoints_and_signed_deliveries() -> TestResult {
    let sim = start(config()).await?;
    let c = client(&sim);
    assert_eq!(
        sim.webhook_secret("videogen"),
        None,
        "VideoGen's secret comes from endpoint creation"
    );
    let (url, mut deliveries) = receiver().await;

    let created = c
        .create_webhook_endpoint(&url, &TOOL_EXECUTION_EVENTS, Some("mediajobs test"))
        .await?;
    assert!(created.signing_secret.expose().starts_with("whsec_"));
    assert_eq!(created.url, url);
    assert_eq!(created.events, TOOL_EXECUTION_EVENTS);
    assert!(created.created_at.is_some());
    let verifier = created.verifier()?;
    let listed = c.list_webhook_endpoints().await?;
    let mine = listed
        .iter()
        .find(|e| e.endpoint_id == created.endpoint_id)
        .expect("listed");
    let secret = created.signing_secret.expose();
    assert_eq!(
        mine.signing_secret_last4.as_deref(),
        Some(&secret[secret.len() - 4..])
    );
    assert!(
        !serde_json::to_string(&listed)?.contains(secret),
        "listings carry no secret"
    );

    let id = c
        .submit_tool(TextToSpeech::new("webhooks are faster"))
        .await?
        .job
        .id;
    let cancelled = c
        .submit_tool(GenerateVideoClip::from_prompt("never mind"))
        .await?
        .job
        .id;
    c.cancel(&cancelled).await?;
    sim.advance(Duration::from_secs(60));

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), deliveries.recv())
            .await?
            .expect("a delivery");
        verifier.verify(&headers, &body, sim.now())?;
        let other = VideoGenWebhookVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
        assert_eq!(
            other.verify(&headers, &body, sim.now()),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verifier.verify(&headers, &body, sim.now() + chrono::Duration::seconds(301)),
            Err(WebhookError::Stale)
        );
        let ev = verifier.parse(&headers, &body)?;
        assert_eq!(ev.event_id, headers["webhook-id"].to_str()?);
        seen.push(ev);
    }
    let done = seen
        .iter()
        .find(|e| e.job_id == id)
        .expect("the speech's event");
    assert_eq!(done.event, "tool_execution.succeeded");
    let snap = done.snapshot.as_ref().expect("a terminal snapshot");
    assert_eq!(snap.status.status, Status::Succeeded);
    assert_eq!(snap.tool.as_deref(), Some("TEXT_TO_SPEECH"));
    let out = &snap.outputs[0];
    assert!(out.url.is_some() && out.file_id.is_some() && out.expires_at.is_some());
    // The payload's hydrated URL downloads without another call.
    let dir = tempfile::tempdir()?;
    assert!(matches!(
        download(
            &c,
            out.url.as_deref().unwrap(),
            &dir.path().join("speech.mp3")
        )
        .await,
        DownloadOutcome::Saved(_)
    ));
    let gone = seen
        .iter()
        .find(|e| e.job_id == cancelled)
        .expect("the cancel's event");
    assert_eq!(gone.event, "tool_execution.cancelled");
    assert_eq!(
        gone.status.as_ref().map(|s| s.status),
        Some(Status::Cancelled)
    );

    c.delete_webhook_endpoint(&created.endpoint_id).await?;
    assert!(
        c.list_webhook_endpoints()
            .await?
            .iter()
            .all(|e| e.endpoint_id != created.endpoint_id)
    );
    assert!(
        c.delete_webhook_endpoint(&created.endpoint_id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let st = stats(&sim).await;
    assert!(
        st["webhooks"]["videogen"]["delivered_2xx"].as_u64() >= Some(2),
        "{st}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_surfaced_and_a_429_says_when_to_come_back() -> TestResult {
    let limits = VideoGenLimits {
        status: 2,
        ..VideoGenLimits::default()
    };
    let sim = start(SimConfig {
        videogen_limits: limits,
        ..config()
    })
    .await?;
    let c = client(&sim);
    let id = c.submit_tool(GenerateImage::new("x")).await?.job.id;
    c.status(&id).await?;
    assert_eq!(
        c.last_rate_limit(RateLimitClass::Status).unwrap().remaining,
        Some(1)
    );
    c.status(&id).await?;
    let e = c.status(&id).await.unwrap_err();
    assert!(e.is_rate_limited() && e.is_transient(), "{e}");
    let wait = e.retry_after().expect("a wait");
    let rl = c.last_rate_limit(RateLimitClass::Status).unwrap();
    assert_eq!((rl.limit, rl.remaining), (Some(2), Some(0)));
    let reset = rl.reset.expect("X-RateLimit-Reset");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(3600));
    assert!(sim.now() + chrono::Duration::from_std(wait)? >= reset - chrono::Duration::seconds(1));
    // Other classes have their own budgets.
    assert_eq!(
        c.last_rate_limit(RateLimitClass::Submit).unwrap().remaining,
        Some(499)
    );
    sim.advance(wait);
    assert_eq!(c.status(&id).await?.job.id, id);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submit_is_uncertain_and_the_list_finds_it() -> TestResult {
    let sim = start(SimConfig {
        faults: "videogen:submit:lost=1".parse()?,
        ..config()
    })
    .await?;
    let c = client(&sim);
    let e = c
        .submit_tool(GenerateImage::new("lost in transit"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UncertainSubmit { .. }), "{e:?}");
    assert!(!e.is_transient());
    let page = c
        .list(&ListQuery {
            self_only: true,
            limit: Some(10),
            ..Default::default()
        })
        .await?;
    assert_eq!(page.items.len(), 1, "the execution exists");
    assert_eq!(page.items[0].tool.as_deref(), Some("GENERATE_IMAGE"));
    sim.shutdown().await;
    Ok(())
}
