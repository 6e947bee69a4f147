//! Load benchmark of the simulator itself: memory per task and requests per second.
//!
//! Starts the sim in-process on 127.0.0.1 (limits raised, frozen clock), creates 100,000 VideoGen
//! executions over loopback HTTP while measuring RSS, then drives status and list reads from
//! concurrent clients for a bounded time and prints one JSON line:
//! `{"tasks", "bytes_per_task", "requests", "requests_per_sec", "p50_ms", "p99_ms"}`.
//! Environment: `SIM_BENCH_TASKS` (default 100000), `SIM_BENCH_CLIENTS` (32),
//! `SIM_BENCH_SECONDS` (10).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mediajobs_sim::{Sim, SimConfig};
use rand::{Rng, SeedableRng};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let tasks = env_usize("SIM_BENCH_TASKS", 100_000);
    let clients = env_usize("SIM_BENCH_CLIENTS", 32);
    let seconds = env_usize("SIM_BENCH_SECONDS", 10);
    let config = SimConfig {
        speed: 0.0,
        ..SimConfig::default()
    }
    .unlimited();
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let base = sim.base_url("videogen");
    let key = sim.api_key("videogen");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();

    // Phase 1: create the tasks.
    let rss_before = rss_bytes();
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (http, base, key, next) = (http.clone(), base.clone(), key.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < tasks {
                let resp = http
                    .post(format!("{base}/v1/tools/generate-image"))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(r#"{"prompt":"a quiet house by the sea","aspectRatio":{"width":16,"height":9}}"#)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 202);
                let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
                ids.push(v["toolExecutionId"].as_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut ids = Vec::with_capacity(tasks);
    for h in handles {
        ids.extend(h.await.unwrap());
    }
    let rss_after = rss_bytes();
    // The ids the bench keeps are not the sim's memory: subtract them.
    let id_bytes: u64 = ids.iter().map(|s| s.capacity() as u64 + 24).sum();
    let bytes_per_task = rss_after
        .saturating_sub(rss_before)
        .saturating_sub(id_bytes)
        / tasks.max(1) as u64;
    sim.advance(Duration::from_secs(30));

    // Phase 2: status and list reads for a bounded time.
    let ids = Arc::new(ids);
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let (http, base, key, ids) = (http.clone(), base.clone(), key.clone(), ids.clone());
        handles.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let url = if rng.gen_range(0..10) == 0 {
                    format!("{base}/v1/tools/executions?limit=20")
                } else {
                    format!(
                        "{base}/v1/tools/executions/{}",
                        ids[rng.gen_range(0..ids.len())]
                    )
                };
                let t = Instant::now();
                let resp = http.get(url).bearer_auth(&key).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                let _ = resp.bytes().await.unwrap();
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let line = serde_json::json!({
        "tasks": tasks,
        "bytes_per_task": bytes_per_task,
        "requests": lat.len(),
        "requests_per_sec": (lat.len() as f64 / elapsed).round(),
        "p50_ms": (pct(0.50) * 1000.0).round() / 1000.0,
        "p99_ms": (pct(0.99) * 1000.0).round() / 1000.0,
    });
    println!("{line}");
    sim.shutdown().await;
}
