//! Webhooks end to end against the simulator, with the webhook faults on: the receiver, the
//! facade's `forward_to_scheduler` and the scheduler in-process, every job over real HTTP on
//! 127.0.0.1, time moved in lock-step (sim frozen, client on a `ManualClock`), no real sleeps.
//!
//! Judged by the sim's ground truth (`/_sim/stats`): every job ends in its true terminal status,
//! no forged delivery is ever answered 2xx, jobs whose webhook was lost are ended by the safety
//! poll, duplicates act once.
#![cfg(all(feature = "sim", feature = "webhooks", feature = "all-providers"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../benches/harness/mod.rs"]
mod harness;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use harness::{Webhooks, World, webhooks_sent};
use mediajobs::core::{Provider, Status};
use mediajobs::scheduler::{JobEvent, Scheduler, SchedulerConfig, Source};
use mediajobs::sim::SimConfig;

const JOBS: usize = 36;

/// Waits until every answer is in, every delivery the sim sent was answered and applied, and
/// the scheduler has done everything due now; returns its next wake-up.
async fn quiesce(world: &World, scheduler: &Scheduler, hooks: &Webhooks) {
    for _ in 0..10_000 {
        scheduler.settled().await;
        let sent = webhooks_sent(&world.stats().await);
        if world.in_flight.get() == 0 && hooks.received() >= sent && hooks.drained() {
            // What the forwarder applied may have made a job due.
            scheduler.settled().await;
            if world.in_flight.get() == 0 {
                return;
            }
        }
        tokio::task::yield_now().await;
    }
    panic!("the system did not quiesce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_faults_never_change_the_truth() {
    let config = SimConfig {
        seed: 14,
        failure_rate: 0.15,
        faults: "*:webhook:lose=0.2,*:webhook:dup=0.4,*:webhook:delay=0.3,*:webhook:forge=0.4"
            .parse()
            .unwrap(),
        vibepeak_in_flight_limit: Some(1_000),
        ..SimConfig::default()
    };
    let world = World::start(config).await;
    let mut sconfig = SchedulerConfig {
        safety_poll: Some(Duration::from_secs(120)),
        rng_seed: Some(14),
        ..SchedulerConfig::default()
    };
    let mut vp = mediajobs::scheduler::ProviderConfig::documented(Provider::VibePeak);
    vp.budget.max_in_flight_tasks = None;
    sconfig = sconfig.with_provider(Provider::VibePeak, vp);
    let scheduler = Scheduler::start(sconfig, world.clock.clone(), world.apis());
    let hooks = Webhooks::start(&world, &scheduler).await;

    // Every terminal event, by job: how many and from whom.
    let terminals: Arc<Mutex<HashMap<String, Vec<Source>>>> = Arc::default();
    let mut events = scheduler.events();
    let sink = terminals.clone();
    let collector = tokio::spawn(async move {
        while let Some(e) = events.next().await {
            match e {
                JobEvent::Terminal { job, source, .. } => {
                    sink.lock().unwrap().entry(job.id).or_default().push(source);
                }
                JobEvent::Lagged { missed } => panic!("missed {missed} events"),
                _ => {}
            }
        }
    });

    // Submits go out under the documented budgets (Vidiking: 100 a minute, burst 10), so
    // some wait for tokens while time moves: they run beside the lock-step loop.
    let urls = hooks.urls();
    let submitter = {
        let scheduler = scheduler.clone();
        tokio::spawn(async move {
            let mut waits = Vec::new();
            for i in 0..JOBS {
                let (provider, mut request) = harness::request(i, Some(&urls));
                if provider == Provider::VibePeak && i % 4 == 0 {
                    // Test keys never fail on their own: ask for some failures.
                    request.body["test_scenario"] = "image_processing_failed".into();
                }
                let snap = scheduler.submit(provider, &request).await.unwrap();
                waits.push((snap.job.clone(), tokio::spawn(scheduler.wait(&snap.job))));
            }
            waits
        })
    };

    // Lock-step: settle everything, then move both clocks to the next wake-up (at most 2 s,
    // so deliveries and paced submits land close to their time).
    let mut steps = 0;
    loop {
        quiesce(&world, &scheduler, &hooks).await;
        if submitter.is_finished() && scheduler.stats().watching == 0 {
            break;
        }
        steps += 1;
        assert!(steps < 5_000, "jobs still waiting after {steps} steps");
        let now = world.now();
        let cap = now + chrono::Duration::seconds(2);
        let next = scheduler.settled().await.map_or(cap, |t| t.min(cap));
        world.advance_to(next.max(now + chrono::Duration::milliseconds(1)));
    }
    let waits = submitter.await.unwrap();

    let stats = world.stats().await;
    let truth: HashMap<String, String> = stats["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut outcomes: HashMap<Status, usize> = HashMap::new();
    for (job, wait) in waits {
        let snap = wait.await.unwrap().unwrap_or_else(|e| panic!("{job}: {e}"));
        let true_status = &truth[&job.id];
        assert!(
            snap.status.raw.eq_ignore_ascii_case(true_status),
            "{job}: the client says {} but the sim says {true_status}",
            snap.status.raw
        );
        assert!(snap.is_terminal());
        *outcomes.entry(snap.status.status).or_default() += 1;
    }
    assert!(
        outcomes.get(&Status::Failed).copied().unwrap_or(0) > 0,
        "{outcomes:?}"
    );

    // Forgeries: sent, refused, never acted on.
    let mut forged = 0;
    for p in ["vibepeak", "videogen", "vidiking"] {
        let w = &stats["webhooks"][p];
        assert_eq!(w["forged_2xx"], 0, "{p}: a forged webhook was answered 2xx");
        forged += w["forged"].as_u64().unwrap();
    }
    let m = hooks.receiver.metrics();
    assert!(forged > 0 && m.rejected.total() >= forged, "{m:?}");

    let fault = |kind: &str| -> u64 {
        ["vibepeak", "videogen", "vidiking"]
            .iter()
            .map(|p| {
                stats["faults"][p][format!("webhook:{kind}")]
                    .as_u64()
                    .unwrap_or(0)
            })
            .sum()
    };
    let (lost, dups, delayed) = (fault("lose"), fault("dup"), fault("delay"));
    assert!(
        lost > 0 && dups > 0 && delayed > 0,
        "lose {lost} dup {dups} delay {delayed}"
    );

    // Duplicates act once: one terminal event per job, and the receiver saw the copies.
    collector.abort();
    let terminals = terminals.lock().unwrap().clone();
    assert_eq!(terminals.len(), JOBS);
    assert!(terminals.values().all(|s| s.len() == 1), "{terminals:?}");
    assert!(m.duplicates + m.superseded > 0, "{m:?}");

    // A lost webhook leaves only the safety poll to end its job.
    let by_webhook = terminals
        .values()
        .filter(|s| s[0] == Source::VerifiedWebhook)
        .count();
    let by_poll = terminals
        .values()
        .filter(|s| matches!(s[0], Source::Poll | Source::List))
        .count();
    assert_eq!(by_webhook + by_poll, JOBS);
    assert!(
        by_poll as u64 >= lost,
        "lost {lost}, ended by poll {by_poll}"
    );
    assert!(by_webhook > 0);
    eprintln!(
        "{JOBS} jobs in {steps} steps: {by_webhook} ended by webhook, {by_poll} by poll; \
         lost {lost}, duplicated {dups}, delayed {delayed}, forged {forged}; receiver {m:?}"
    );
    assert_eq!(
        hooks.counters.stats().ended_by_webhook as usize,
        by_webhook,
        "{:?}",
        hooks.counters.stats()
    );

    hooks.stop().await;
    scheduler.shutdown();
}
