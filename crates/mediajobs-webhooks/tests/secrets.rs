//! Nothing about a secret reaches an answer or a log line, at trace level, through every
//! path of the receiver. Its own test binary, so it can own the global subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mediajobs_core::Provider;
use mediajobs_webhooks::{ReceiverConfig, route_path};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_answer_or_log_line() {
    let logs = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let cfg = ReceiverConfig {
        body_limit: 4096,
        queue_capacity: 1,
        enqueue_timeout: Duration::from_millis(100),
        ..ReceiverConfig::default()
    };
    let mut h = Harness::with_providers(cfg, &[Provider::VibePeak, Provider::VideoGen]).await;
    let p = Provider::VibePeak;
    let ts = h.now_ts();
    let mut answers = Vec::new();
    let mut keep = |a: Answer| answers.push(format!("{} {}", a.status, a.body));

    keep(h.post(p, body("ok", "task_secret_test", "succeeded")).await); // accepted
    keep(h.post(p, body("ok", "task_secret_test", "succeeded")).await); // duplicate
    keep(h.post(p, body("busy", "task_busy", "succeeded")).await); // 503: queue full
    let _ = h.next().await;
    keep(h.post(p, body("late", "task_secret_test", "running")).await); // superseded
    // Forged with the real secret's neighbours, and with the secret as a header value.
    keep(
        h.post_signed_with(p, &format!("{SECRET}x"), ts, body("f", "task_f", "failed"))
            .await,
    );
    keep(
        h.post_raw(
            route_path(p),
            &[
                (TS_HEADER, ts.to_string()),
                (SIG_HEADER, SECRET.to_string()),
            ],
            body("g", "task_g", "failed"),
        )
        .await,
    );
    keep(
        h.post_signed_with(p, SECRET, ts - 10_000, body("s", "task_s", "failed"))
            .await,
    ); // stale
    keep(
        h.post_raw(route_path(p), &[], body("m", "task_m", "failed"))
            .await,
    ); // missing headers
    keep(h.post(p, b"{not json".to_vec()).await); // malformed
    keep(h.post(p, vec![b' '; 5000]).await); // too large
    keep(
        h.post(Provider::Vidiking, body("n", "job_n", "failed"))
            .await,
    ); // no verifier
    let debug = format!("{:?}", h.receiver);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The capture works, and spans carry the provider and the job id.
    assert!(logs.contains("webhook accepted"), "{logs}");
    assert!(logs.contains("provider=\"vibepeak\""), "{logs}");
    assert!(logs.contains("task_secret_test"), "{logs}");
    for reason in [
        "bad_signature",
        "stale",
        "missing_header",
        "malformed",
        "too_large",
        "no_secret",
    ] {
        assert!(logs.contains(reason), "no log of {reason}: {logs}");
    }
    let statuses: Vec<&str> = answers.iter().map(|a| &a[..3]).collect();
    assert_eq!(
        statuses,
        [
            "200", "200", "503", "200", "401", "401", "401", "401", "400", "413", "401"
        ]
    );
    let secret_bits = [SECRET, &SECRET[6..], "K3y-that-must-never-leak"];
    for haystack in answers.iter().chain([&logs, &debug]) {
        for s in secret_bits {
            assert!(!haystack.contains(s), "secret leaked in: {haystack}");
        }
    }
}
