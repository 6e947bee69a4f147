//! The receiver over real HTTP on 127.0.0.1:0, with a fake provider and a manual clock.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mediajobs_core::{ManualClock, Provider, Status};
use mediajobs_webhooks::{
    ReceiverConfig, Trust, WebhookMetrics, WebhookReceiver, render_event_line, route_path,
};

fn config() -> ReceiverConfig {
    ReceiverConfig::default()
}

fn assert_balanced(m: &WebhookMetrics) {
    assert_eq!(m.received, m.verified + m.rejected.total(), "{m:?}");
    assert_eq!(
        m.verified,
        m.accepted + m.duplicates + m.superseded + m.busy + m.abandoned,
        "{m:?}"
    );
}

#[tokio::test]
async fn an_accepted_event_flows_to_the_queue_once_with_its_download_data() {
    let mut h = Harness::new(config()).await;
    let a = h
        .post(
            Provider::VibePeak,
            body("task_1:task.completed", "task_1", "succeeded"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);

    let item = h.next().await;
    assert_eq!(item.trust, Trust::Verified);
    assert!(item.is_verified() && item.ends_the_wait());
    assert_eq!(item.job().to_string(), "vibepeak:task_1");
    assert_eq!(item.status(), Some(Status::Succeeded));
    assert_eq!(item.received_at, t0());
    let snap = item
        .event
        .snapshot
        .as_ref()
        .expect("a terminal event carries its snapshot");
    assert_eq!(
        snap.outputs[0].url.as_deref(),
        Some("https://cdn.example/task_1.mp4")
    );
    assert_eq!(
        render_event_line(&item.event),
        r#"{"provider":"vibepeak","id":"task_1","status":"succeeded","event_id":"task_1:task.completed"}"#
    );
    h.assert_queue_empty();

    let m = h.receiver.metrics();
    assert_eq!((m.received, m.verified, m.accepted), (1, 1, 1));
    assert_balanced(&m);
}

#[tokio::test]
async fn every_provider_has_its_route_and_an_unknown_job_is_accepted() {
    let mut h = Harness::new(config()).await;
    for p in Provider::ALL {
        // Nobody ever submitted "job_nobody_knows": the receiver does not know jobs, it hands
        // the event on and answers 2xx; the scheduler decides it has no effect.
        let a = h
            .post(p, body(&format!("{p}-e1"), "job_nobody_knows", "running"))
            .await;
        assert_eq!(a.status, 200, "{p}: {}", a.body);
        let item = h.next().await;
        assert_eq!(item.event.provider, p);
        assert_eq!(item.status(), Some(Status::Running));
        assert!(!item.ends_the_wait());
    }
    // Same job id and status at different providers are different jobs.
    assert_eq!(h.receiver.metrics().accepted, 3);
}

#[tokio::test]
async fn a_duplicate_by_event_id_is_answered_2xx_and_acted_on_once() {
    let mut h = Harness::new(config()).await;
    let b = body("msg_1", "vg_exec_1", "succeeded");
    for _ in 0..3 {
        let a = h.post(Provider::VideoGen, b.clone()).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    // A retry keeps its id and gets a fresh timestamp: still a duplicate.
    h.clock.advance(Duration::from_secs(120));
    let a = h.post(Provider::VideoGen, b.clone()).await;
    assert_eq!(a.status, 200);

    assert_eq!(h.next().await.event.event_id, "msg_1");
    h.assert_queue_empty();
    let m = h.receiver.metrics();
    assert_eq!((m.accepted, m.duplicates), (1, 3));
    assert_balanced(&m);
}

#[tokio::test]
async fn a_duplicate_by_job_and_status_is_answered_2xx_and_acted_on_once() {
    let mut h = Harness::new(config()).await;
    let a = h
        .post(Provider::Vidiking, body("e-1", "job_1", "succeeded"))
        .await;
    assert_eq!(a.status, 200);
    let a = h
        .post(Provider::Vidiking, body("e-2", "job_1", "succeeded"))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(h.next().await.event.event_id, "e-1");
    h.assert_queue_empty();
    assert_eq!(h.receiver.metrics().duplicates, 1);
}

#[tokio::test]
async fn out_of_order_events_never_move_a_job_backwards() {
    let mut h = Harness::new(config().tap(|c| c.dedupe_capacity = 4)).await;
    let p = Provider::Vidiking;
    assert_eq!(h.post(p, body("q", "job_1", "queued")).await.status, 200);
    assert_eq!(
        h.post(p, body("done", "job_1", "succeeded")).await.status,
        200
    );
    // A delayed `processing` and a late `queued` arrive after the terminal one, many times
    // over with fresh ids: answered 2xx, never handed on, and they do not push the terminal
    // status out of the (tiny) dedupe memory.
    for i in 0..20 {
        let a = h
            .post(p, body(&format!("late-{i}"), "job_1", "running"))
            .await;
        assert_eq!(a.status, 200);
    }
    // A late `queued` is also a duplicate of the `queued` already acted on.
    assert_eq!(
        h.post(p, body("late-q", "job_1", "queued")).await.status,
        200
    );
    // A second, different terminal status is ignored too.
    assert_eq!(
        h.post(p, body("other", "job_1", "failed")).await.status,
        200
    );
    // The terminal event redelivered under a new id is still a duplicate.
    assert_eq!(
        h.post(p, body("done-again", "job_1", "succeeded"))
            .await
            .status,
        200
    );

    assert_eq!(h.next().await.status(), Some(Status::Queued));
    assert_eq!(h.next().await.status(), Some(Status::Succeeded));
    h.assert_queue_empty();
    let m = h.receiver.metrics();
    assert_eq!((m.accepted, m.superseded, m.duplicates), (2, 21, 2));
    assert_balanced(&m);
}

#[tokio::test]
async fn a_bad_signature_is_401_and_becomes_a_hint() {
    let mut h = Harness::new(config()).await;
    let ts = h.now_ts();
    let a = h
        .post_signed_with(
            Provider::VibePeak,
            "whsec_wrong",
            ts,
            body("f1", "task_9", "succeeded"),
        )
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, r#"{"error":"unauthorized"}"#);

    let hint = h.next().await;
    assert_eq!(hint.trust, Trust::Hint);
    assert!(!hint.is_verified() && !hint.ends_the_wait());
    assert_eq!(hint.job().to_string(), "vibepeak:task_9");

    // A tampered body with a signature made for another body.
    let sig = sign(SECRET, ts, &body("f2", "task_9", "running"));
    let a = h
        .post_raw(
            route_path(Provider::VibePeak),
            &[(TS_HEADER, ts.to_string()), (SIG_HEADER, sig)],
            body("f2", "task_9", "succeeded"),
        )
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(h.next().await.trust, Trust::Hint);

    // The genuine event afterwards is accepted: a forgery never marks anything as seen.
    assert_eq!(
        h.post(Provider::VibePeak, body("f1", "task_9", "succeeded"))
            .await
            .status,
        200
    );
    assert_eq!(h.next().await.trust, Trust::Verified);
    // Once the job is known to have ended, further forgeries are not even hints.
    let a = h
        .post_signed_with(Provider::VibePeak, "x", ts, body("f3", "task_9", "failed"))
        .await;
    assert_eq!(a.status, 401);
    h.assert_queue_empty();

    let m = h.receiver.metrics();
    assert_eq!((m.rejected.bad_signature, m.hints, m.accepted), (3, 2, 1));
    assert_balanced(&m);
}

#[tokio::test]
async fn stale_and_future_timestamps_are_401_and_the_window_edges_hold() {
    let mut h = Harness::new(config()).await;
    let now = h.now_ts();
    let p = Provider::VideoGen;
    let mut answers = Vec::new();
    for (i, ts) in [now - WINDOW_SECS - 1, now + WINDOW_SECS + 1, now - 86_400]
        .into_iter()
        .enumerate()
    {
        let a = h
            .post_signed_with(p, SECRET, ts, body(&format!("s{i}"), "vg_1", "succeeded"))
            .await;
        assert_eq!(a.status, 401, "timestamp {ts}");
        answers.push(a.body);
    }
    // Each refusal is a hint (its signature may even be right), never a state change.
    for _ in 0..3 {
        assert_eq!(h.next().await.trust, Trust::Hint);
    }
    for (i, ts) in [now - WINDOW_SECS, now + WINDOW_SECS]
        .into_iter()
        .enumerate()
    {
        let a = h
            .post_signed_with(
                p,
                SECRET,
                ts,
                body(&format!("edge{i}"), &format!("vg_e{i}"), "succeeded"),
            )
            .await;
        assert_eq!(a.status, 200, "timestamp {ts}");
        assert_eq!(h.next().await.trust, Trust::Verified);
    }
    // The receiver reads time only from its clock: the same delivery goes stale as it moves.
    let b = body("late", "vg_2", "succeeded");
    let sig = sign(SECRET, now, &b);
    h.clock.advance(Duration::from_secs(WINDOW_SECS as u64 + 1));
    let a = h
        .post_raw(
            route_path(p),
            &[(TS_HEADER, now.to_string()), (SIG_HEADER, sig)],
            b,
        )
        .await;
    assert_eq!(a.status, 401);
    answers.push(a.body);
    assert!(
        answers.iter().all(|b| b == r#"{"error":"unauthorized"}"#),
        "{answers:?}"
    );
    assert_eq!(h.receiver.metrics().rejected.stale, 4);
}

#[tokio::test]
async fn missing_headers_are_401_and_say_nothing_of_which() {
    let mut h = Harness::new(config()).await;
    let ts = h.now_ts();
    let b = body("m1", "task_1", "succeeded");
    let sig = sign(SECRET, ts, &b);
    let path = route_path(Provider::VibePeak);
    let cases: [Vec<(&str, String)>; 3] = [
        vec![(TS_HEADER, ts.to_string())],
        vec![(SIG_HEADER, sig.clone())],
        vec![],
    ];
    for headers in cases {
        let a = h.post_raw(path, &headers, b.clone()).await;
        assert_eq!(a.status, 401);
        assert_eq!(a.body, r#"{"error":"unauthorized"}"#);
        assert!(!a.body.contains("header") && !a.body.contains("signature"));
    }
    let m = h.receiver.metrics();
    assert_eq!(m.rejected.missing_header, 3);
    // The body decoded each time, so each refusal still moves the job's next poll forward.
    assert_eq!(m.hints, 3);
    for _ in 0..3 {
        assert_eq!(h.next().await.trust, Trust::Hint);
    }
    h.assert_queue_empty();
}

#[tokio::test]
async fn a_verified_body_that_does_not_parse_is_400_and_not_handed_on() {
    let mut h = Harness::new(config()).await;
    for b in [
        b"not json at all".to_vec(),
        br#"{"event_id":"x"}"#.to_vec(),
        Vec::new(),
    ] {
        let a = h.post(Provider::Vidiking, b).await;
        assert_eq!(a.status, 400);
        assert_eq!(a.body, r#"{"error":"malformed payload"}"#);
    }
    h.assert_queue_empty();
    let m = h.receiver.metrics();
    assert_eq!(m.rejected.malformed, 3);
    assert_balanced(&m);
}

#[tokio::test]
async fn an_unparsable_forgery_is_401_not_400() {
    let mut h = Harness::new(config()).await;
    let ts = h.now_ts();
    let a = h
        .post_signed_with(Provider::Vidiking, "wrong", ts, b"garbage".to_vec())
        .await;
    assert_eq!(a.status, 401);
    h.assert_queue_empty();
    let m = h.receiver.metrics();
    assert_eq!((m.rejected.bad_signature, m.hints), (1, 0));
}

fn request_head(path: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nconnection: close\r\n{extra}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn an_announced_oversized_body_is_413_without_reading_it() {
    let mut h = Harness::new(config()).await;
    assert_eq!(h.receiver.config().body_limit, 1024 * 1024);
    // Only the head is sent: the answer must come without the body ever arriving.
    let head = request_head(
        route_path(Provider::VideoGen),
        &format!("content-length: {}\r\n", 1024 * 1024 + 1),
    );
    let answer = h.raw_http(vec![head]).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#"{"error":"payload too large"}"#),
        "{answer}"
    );
    h.assert_queue_empty();
    assert_eq!(h.receiver.metrics().rejected.too_large, 1);
}

#[tokio::test]
async fn an_unannounced_oversized_body_is_413_once_past_the_limit() {
    let mut h = Harness::new(config()).await;
    let path = route_path(Provider::VideoGen);
    // Chunked, no Content-Length: exactly 1 MiB, then one byte more (and no final chunk).
    let mut parts = vec![request_head(path, "transfer-encoding: chunked\r\n")];
    for _ in 0..16 {
        let mut chunk = b"10000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b' ', 0x10000));
        chunk.extend(b"\r\n");
        parts.push(chunk);
    }
    parts.push(b"1\r\n \r\n".to_vec());
    let answer = h.raw_http(parts).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    h.assert_queue_empty();
    assert_eq!(h.receiver.metrics().rejected.too_large, 1);
}

#[tokio::test]
async fn a_body_at_the_limit_is_read_and_one_byte_more_is_413() {
    let mut h = Harness::new(config().tap(|c| c.body_limit = 200)).await;
    let mut b = body("l1", "job_l", "succeeded");
    let pad = 200 - b.len();
    // Pad inside the JSON object so it stays valid.
    b.pop();
    b.extend(format!(",\"p\":\"{}\"}}", " ".repeat(pad - 7)).into_bytes());
    assert_eq!(b.len(), 200);
    assert_eq!(h.post(Provider::Vidiking, b.clone()).await.status, 200);
    assert_eq!(h.next().await.trust, Trust::Verified);
    let mut over = b.clone();
    over.push(b' ');
    assert_eq!(h.post(Provider::Vidiking, over).await.status, 413);

    // Chunked, small chunks: cut off as soon as it passes the limit.
    let path = route_path(Provider::Vidiking);
    let answer = h
        .raw_http(vec![
            request_head(path, "transfer-encoding: chunked\r\n"),
            format!("c8\r\n{}\r\n", "x".repeat(200)).into_bytes(),
            b"1\r\nx\r\n".to_vec(),
        ])
        .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(h.receiver.metrics().rejected.too_large, 2);
}

#[tokio::test]
async fn a_full_queue_pushes_back_then_answers_503_and_the_retry_is_acted_on() {
    let cfg = config().tap(|c| {
        c.queue_capacity = 1;
        c.enqueue_timeout = Duration::from_millis(300);
    });
    let mut h = Harness::new(cfg).await;
    let p = Provider::VideoGen;
    assert_eq!(h.post(p, body("a", "vg_a", "succeeded")).await.status, 200);

    // The queue holds A; nobody drains it: B waits, then is refused so the provider retries.
    let started = std::time::Instant::now();
    let a = h.post(p, body("b", "vg_b", "succeeded")).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A forged event finds no room for hints (half the queue is kept for verified events).
    let ts = h.now_ts();
    let a = h
        .post_signed_with(p, "forged", ts, body("c", "vg_c", "succeeded"))
        .await;
    assert_eq!(a.status, 401);

    assert_eq!(h.next().await.event.event_id, "a");
    // The refused B was not remembered: its retry is accepted, not taken for a duplicate.
    assert_eq!(h.post(p, body("b", "vg_b", "succeeded")).await.status, 200);
    assert_eq!(h.next().await.event.event_id, "b");

    // Back-pressure: a delivery waits for room and is accepted as soon as the consumer reads.
    assert_eq!(h.post(p, body("d", "vg_d", "succeeded")).await.status, 200);
    let (client, url, ts) = (h.client.clone(), h.server.route_url(p), h.now_ts());
    let delivery = async move {
        let b = body("e", "vg_e", "succeeded");
        let res = client
            .post(url)
            .header(TS_HEADER, ts.to_string())
            .header(SIG_HEADER, sign(SECRET, ts, &b))
            .body(b)
            .send()
            .await
            .unwrap();
        res.status().as_u16()
    };
    let slow_consumer = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.rx.recv().await
    };
    let (answer, first) = tokio::join!(delivery, slow_consumer);
    assert_eq!(answer, 200);
    assert_eq!(first.unwrap().event.event_id, "d");
    assert_eq!(h.next().await.event.event_id, "e");

    let m = h.receiver.metrics();
    assert_eq!((m.accepted, m.busy, m.hints, m.hints_dropped), (4, 1, 0, 1));
    assert_balanced(&m);
}

#[tokio::test]
async fn a_sender_that_hangs_up_while_waiting_for_room_loses_nothing() {
    let cfg = config().tap(|c| {
        c.queue_capacity = 1;
        c.enqueue_timeout = Duration::from_millis(500);
    });
    let mut h = Harness::new(cfg).await;
    let p = Provider::VibePeak;
    assert_eq!(
        h.post(p, body("a", "task_a", "succeeded")).await.status,
        200
    );
    // B arrives while the queue is full, and its sender gives up before any answer.
    let b = body("b", "task_b", "succeeded");
    let ts = h.now_ts();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n{TS_HEADER}: {ts}\r\n{SIG_HEADER}: {}\r\n\r\n",
        route_path(p),
        b.len(),
        sign(SECRET, ts, &b)
    );
    {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(h.server.local_addr())
            .await
            .unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&b).await.unwrap();
        // Hang up once B is verified and waiting for room.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while h.receiver.metrics().verified < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.next().await.event.event_id, "a");
    // The provider retries B: however the abandoned attempt ended, B is acted on exactly once.
    assert_eq!(h.post(p, b).await.status, 200);
    assert_eq!(h.next().await.event.event_id, "b");
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.assert_queue_empty();
    let m = h.receiver.metrics();
    assert_eq!(m.accepted, 2);
    // Hyper drops the abandoned attempt (abandoned), or it ran on until answered 503 (busy) or
    // until queued (then the retry is a duplicate): in every case B is acted on once.
    assert_eq!(m.abandoned + m.busy + m.duplicates, 1, "{m:?}");
    assert_balanced(&m);
}

#[tokio::test]
async fn a_closed_queue_answers_503_never_2xx() {
    let mut h = Harness::new(config()).await;
    h.rx.close();
    let a = h
        .post(Provider::VibePeak, body("x", "task_x", "succeeded"))
        .await;
    assert_eq!(a.status, 503);
    assert_eq!(h.receiver.metrics().busy, 1);
}

#[tokio::test]
async fn a_provider_without_a_verifier_is_401() {
    let mut h = Harness::with_providers(config(), &[Provider::VideoGen]).await;
    let a = h
        .post(Provider::VibePeak, body("x", "task_x", "succeeded"))
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, r#"{"error":"unauthorized"}"#);
    h.assert_queue_empty();
    assert_eq!(h.receiver.metrics().rejected.no_secret, 1);
    assert_eq!(h.receiver.providers(), vec![Provider::VideoGen]);
}

#[tokio::test]
async fn unknown_routes_are_404_and_other_methods_405() {
    let h = Harness::new(config()).await;
    for path in [
        "/webhooks/openai",
        "/webhooks",
        "/webhooks/vibepeak/extra",
        "/",
    ] {
        let a = h.post_raw(path, &[], b"{}".to_vec()).await;
        assert_eq!(a.status, 404, "{path}");
    }
    let res = h
        .client
        .get(format!("{}/webhooks/vidiking", h.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(h.receiver.metrics().received, 0);
}

#[tokio::test]
async fn serve_binds_prints_its_readiness_and_shuts_down() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (receiver, _rx) = WebhookReceiver::builder(clock)
        .verifier(Arc::new(FakeVerifier::new(Provider::VibePeak)))
        .build();
    let server = receiver.serve("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().port();
    assert_ne!(port, 0);
    assert_eq!(server.url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        server.readiness().to_line(),
        format!(
            r#"{{"url":"http://127.0.0.1:{port}","routes":{{"vibepeak":"/webhooks/vibepeak","videogen":"/webhooks/videogen","vidiking":"/webhooks/vidiking"}}}}"#
        )
    );
    assert_eq!(
        server.route_url(Provider::Vidiking),
        format!("http://127.0.0.1:{port}/webhooks/vidiking")
    );
    let url = server.route_url(Provider::VibePeak);
    let res = reqwest::Client::new()
        .post(&url)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shuts down promptly")
        .unwrap();
    assert!(
        reqwest::Client::new()
            .post(&url)
            .body("{}")
            .send()
            .await
            .is_err(),
        "nothing listens after shutdown"
    );
    // Binding a port in use is an error, not a panic.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = receiver
        .serve(taken.local_addr().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, mediajobs_webhooks::ServeError::Bind(_)),
        "{err}"
    );
}

#[tokio::test]
async fn the_router_mounts_in_a_users_app() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (receiver, mut rx) = WebhookReceiver::builder(clock)
        .verifier(Arc::new(FakeVerifier::new(Provider::Vidiking)))
        .build();
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .merge(receiver.router());
    let server = mediajobs_webhooks::serve_router(app, "127.0.0.1:0")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/health", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let b = body("e", "job_m", "succeeded");
    let ts = t0().timestamp();
    let res = client
        .post(server.route_url(Provider::Vidiking))
        .header(TS_HEADER, ts.to_string())
        .header(SIG_HEADER, sign(SECRET, ts, &b))
        .body(b)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(rx.recv().await.unwrap().is_verified());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_serialise_with_every_reason() {
    let h = Harness::new(config()).await;
    h.post(Provider::VibePeak, body("a", "t", "succeeded"))
        .await;
    let v = serde_json::to_value(h.receiver.metrics()).unwrap();
    for k in [
        "received",
        "verified",
        "accepted",
        "duplicates",
        "superseded",
        "busy",
        "abandoned",
        "hints",
        "hints_dropped",
    ] {
        assert!(v[k].is_u64(), "{k}");
    }
    for k in [
        "bad_signature",
        "stale",
        "missing_header",
        "malformed",
        "too_large",
        "no_secret",
    ] {
        assert!(v["rejected"][k].is_u64(), "{k}");
    }
}

/// Small helper to tweak a config inline.
trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
impl Tap for ReceiverConfig {}
