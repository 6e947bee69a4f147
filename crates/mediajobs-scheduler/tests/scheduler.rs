//! The scheduler's rules, each in virtual time against a mockall fake provider.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::FutureExt;
use mediajobs_core::{
    ApiError, Clock, Error, ErrorKind, ListPage, ListQuery, Operation, Provider, ProviderApi,
    ProviderStatus, Snapshot, Status, SubmitRequest, TransportFailure,
};
use mediajobs_scheduler::{
    Backoff, CancelOutcome, JobEvent, Observed, ProviderBudget, RateLimit, Source, WaitError,
    WatchOptions,
};
use rand::SeedableRng;

use Provider::{VibePeak, VideoGen, Vidiking};

fn request() -> SubmitRequest {
    SubmitRequest::new(serde_json::json!({"prompt": "a cat"}))
}

fn arc(api: impl ProviderApi + 'static) -> Arc<dyn ProviderApi> {
    Arc::new(api)
}

#[tokio::test]
async fn retry_after_is_a_floor_between_checks() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_submit().times(1).returning(|_| {
        let mut s = snap(VibePeak, "task_1", Status::Queued);
        s.retry_after = Some(Duration::from_secs(30));
        // The estimate alone would look at 5 s.
        s.estimated_completion = Some(at(10.0));
        Ok(s)
    });
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let status = if secs(&c) >= 300.0 {
            Status::Succeeded
        } else {
            Status::Running
        };
        let mut s = snap(VibePeak, id, status);
        s.retry_after = Some(Duration::from_secs(30));
        Ok(s)
    });
    // A provider whose Retry-After is a floor (VibePeak's own is capped by default).
    let mut cfg = config();
    cfg.providers.get_mut(&VibePeak).unwrap().retry_after_cap = None;
    let s = start(cfg, &clock, vec![arc(api)]);
    let job = s.submit(VibePeak, &request()).await.unwrap().job;
    let done = s.wait(&job);
    run_until(&s, &clock, 400.0).await;
    assert_eq!(done.await.unwrap().status.status, Status::Succeeded);
    // 30: the floor, not the 5 s the estimate implies; 240: the documented 4 minutes; then
    // dense checks, but never closer than the 30 s the provider asked for.
    assert_eq!(calls.times(), [30.0, 240.0, 270.0, 300.0]);
}

#[tokio::test]
async fn a_capped_retry_after_is_only_advice_but_a_429_is_obeyed() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_submit().times(1).returning(|_| {
        let mut s = snap(VibePeak, "task_1", Status::Queued);
        s.retry_after = Some(Duration::from_secs(30));
        s.estimated_completion = Some(at(10.0));
        Ok(s)
    });
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let t = secs(&c);
        if t == 248.0 {
            // A 429 is a provider's order, never advice: nothing before 308 s.
            let mut e = ApiError::new(
                VibePeak,
                Operation::Status,
                ErrorKind::RateLimited,
                429,
                "slow down",
            );
            e.retry_after = Some(Duration::from_secs(60));
            return Err(e.into());
        }
        let status = if t >= 310.0 {
            Status::Succeeded
        } else {
            Status::Running
        };
        let mut s = snap(VibePeak, id, status);
        s.retry_after = Some(Duration::from_secs(30));
        Ok(s)
    });
    // VibePeak's documented config caps a Retry-After on answers at its dense interval (4 s).
    let s = start(config(), &clock, vec![arc(api)]);
    let job = s.submit(VibePeak, &request()).await.unwrap().job;
    let done = s.wait(&job);
    run_until(&s, &clock, 400.0).await;
    assert_eq!(done.await.unwrap().status.status, Status::Succeeded);
    // 6: the estimate's window (10 s ± 4 s), not the 30 s the answer asked for; 240: the
    // documented 4 minutes; then every 4 s, the 30 s of each answer notwithstanding, until the
    // 429 at 248 s holds everything for its full 60 s.
    assert_eq!(calls.times(), [6.0, 240.0, 244.0, 248.0, 308.0, 312.0]);
}

#[tokio::test]
async fn the_first_look_follows_estimated_completion() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_submit().times(1).returning(|_| {
        let mut s = snap(VibePeak, "task_1", Status::Queued);
        s.estimated_completion = Some(at(300.0));
        Ok(s)
    });
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let status = if secs(&c) >= 270.0 {
            Status::Succeeded
        } else {
            Status::Running
        };
        Ok(snap(VibePeak, id, status))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let job = s.submit(VibePeak, &request()).await.unwrap().job;
    step_until(&s, &clock, 263.0, 1.0).await;
    assert!(
        calls.times().is_empty(),
        "no look before the estimate's window"
    );
    let done = s.wait(&job);
    run_until(&s, &clock, 400.0).await;
    // The window is the estimate ± 12 % of the expected duration (36 s); inside it, every 4 s.
    assert_eq!(calls.times(), [264.0, 268.0, 272.0]);
    assert_eq!(done.await.unwrap().status.status, Status::Succeeded);
}

#[tokio::test]
async fn a_queue_position_delays_the_first_look() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VibePeak, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        Ok(snap(VibePeak, id, Status::Succeeded))
    });
    let mut cfg = config();
    cfg.max_interval = Duration::from_secs(900);
    let s = start(cfg, &clock, vec![arc(api)]);
    for (id, position) in [("front", 0), ("back", 5), ("far", 20)] {
        let mut known = snap(VibePeak, id, Status::Queued);
        known.queue_position = Some(position);
        let opts = WatchOptions::default().with_started_at(clock.now());
        s.watch(job(VibePeak, id), Some(known), opts).unwrap();
    }
    run_until(&s, &clock, 2000.0).await;
    // Front of the queue: the documented 4 minutes. Five places back: 5 × 60 s later.
    assert_eq!(calls.of("front"), [240.0]);
    assert_eq!(calls.of("back"), [540.0]);
    // Twenty places back would be 1,440 s: the ceiling checks it by 900 s.
    assert_eq!(calls.of("far"), [900.0]);
}

#[tokio::test]
async fn transient_errors_back_off_with_exact_full_jitter() {
    let clock = clock();
    let calls = Calls::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let mut api = mock_api(Vidiking, Default::default());
    let (c, log, n) = (clock.clone(), calls.clone(), failures.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        if n.fetch_add(1, Ordering::SeqCst) < 5 {
            Err(api_error(
                Vidiking,
                Operation::Status,
                ErrorKind::Unavailable,
                503,
            ))
        } else {
            Ok(snap(Vidiking, id, Status::Succeeded))
        }
    });
    let cfg = config();
    let s = start(cfg.clone(), &clock, vec![arc(api)]);
    let j = job(Vidiking, "job_1");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    let done = s.wait(&j);
    run_until(&s, &clock, 600.0).await;
    assert_eq!(done.await.unwrap().status.status, Status::Succeeded);

    // The same seed gives the same draws: every wait is known to the millisecond.
    let backoff = Backoff::new(&cfg.backoff);
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut expected = vec![10.0];
    for attempt in 0..5 {
        let d = backoff.delay(attempt, &mut rng);
        assert!(
            d <= backoff.ceiling(attempt),
            "full jitter stays under the ceiling"
        );
        let wait_ms = (d.as_millis() as i64).max(1000);
        let last = *expected.last().unwrap();
        expected.push(((last * 1000.0) as i64 + wait_ms) as f64 / 1000.0);
    }
    assert_eq!(calls.times(), expected);
    assert_eq!(s.stats().providers[&Vidiking].errors, 5);
}

#[tokio::test]
async fn a_429_pauses_the_whole_provider() {
    let clock = clock();
    let calls = Calls::default();
    let limited = Arc::new(AtomicBool::new(false));
    let mut api = mock_api(Vidiking, Default::default());
    let (c, log, once) = (clock.clone(), calls.clone(), limited.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        if id == "a" && !once.swap(true, Ordering::SeqCst) {
            return Err(rate_limited(
                Vidiking,
                Operation::Status,
                Duration::from_secs(60),
            ));
        }
        Ok(snap(Vidiking, id, Status::Succeeded))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let mut events = s.events();
    s.watch(job(Vidiking, "a"), None, WatchOptions::default())
        .unwrap();
    step_until(&s, &clock, 5.0, 5.0).await;
    s.watch(job(Vidiking, "b"), None, WatchOptions::default())
        .unwrap();
    run_until(&s, &clock, 200.0).await;
    // a at 10 s gets a 429 (Retry-After 60): b, due at 15 s, waits with a until 70 s.
    assert_eq!(calls.of("a"), [10.0, 70.0]);
    assert_eq!(calls.of("b"), [70.0]);
    assert_eq!(s.stats().providers[&Vidiking].rate_limited, 1);
    let paused: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::RateLimited { until, .. } => Some(until),
            _ => None,
        })
        .collect();
    assert_eq!(paused, [at(70.0)]);
}

#[tokio::test]
async fn the_token_bucket_keeps_every_window_under_the_limit() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(Vidiking, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        Ok(snap(Vidiking, id, Status::Running))
    });
    let mut cfg = config();
    cfg.providers.get_mut(&Vidiking).unwrap().budget = ProviderBudget {
        overall: Some(RateLimit::per_minute(10).with_burst(2)),
        ..ProviderBudget::unlimited()
    };
    let s = start(cfg, &clock, vec![arc(api)]);
    for n in 0..30 {
        s.watch(
            job(Vidiking, &format!("j{n}")),
            None,
            WatchOptions::default(),
        )
        .unwrap();
    }
    run_until(&s, &clock, 600.0).await;
    let times = calls.times();
    for (i, &t) in times.iter().enumerate() {
        let window = times[i..].iter().take_while(|&&u| u < t + 60.0).count();
        assert!(window <= 10, "{window} calls in the minute from {t} s");
    }
    // Thirty jobs want far more; the budget is used, not wasted: 2 + 8 a minute.
    assert!(times.len() >= 75, "only {} calls", times.len());
}

#[tokio::test]
async fn requests_in_flight_are_capped() {
    let clock = clock();
    let mut inner = mock_api(Vidiking, Default::default());
    inner
        .expect_status()
        .times(10)
        .returning(|id| Ok(snap(Vidiking, id, Status::Succeeded)));
    let held = Arc::new(Held::new(inner));
    let mut cfg = config();
    cfg.providers
        .get_mut(&Vidiking)
        .unwrap()
        .budget
        .max_in_flight_requests = 3;
    let s = start(cfg, &clock, vec![held.clone() as Arc<dyn ProviderApi>]);
    let mut waits = Vec::new();
    for n in 0..10 {
        let j = job(Vidiking, &format!("j{n}"));
        s.watch(j.clone(), None, WatchOptions::default()).unwrap();
        waits.push(s.wait(&j));
    }
    clock.advance(Duration::from_secs(10));
    yield_a_lot().await;
    assert_eq!(held.in_flight.load(Ordering::SeqCst), 3);
    for _ in 0..10 {
        held.gate.add_permits(1);
        yield_a_lot().await;
    }
    for w in waits {
        assert_eq!(w.await.unwrap().status.status, Status::Succeeded);
    }
    assert_eq!(held.most.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn vibepeak_submits_wait_for_a_task_slot_and_retry_a_concurrency_limit() {
    let clock = clock();
    let calls = Calls::default();
    let mut answers: VecDeque<Result<Snapshot, Error>> = VecDeque::from([
        Ok(snap(VibePeak, "a", Status::Queued)),
        Err({
            let mut e = ApiError::new(
                VibePeak,
                Operation::Submit,
                ErrorKind::ConcurrencyLimited,
                429,
                "CONCURRENCY_LIMIT_EXCEEDED",
            );
            e.retry_after = Some(Duration::from_secs(30));
            e.into()
        }),
        Ok(snap(VibePeak, "b", Status::Queued)),
    ]);
    let mut api = mock_api(VibePeak, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_submit().times(3).returning(move |_| {
        log.record(&c, "submit");
        answers.pop_front().unwrap()
    });
    let mut cfg = config();
    cfg.providers
        .get_mut(&VibePeak)
        .unwrap()
        .budget
        .max_in_flight_tasks = Some(1);
    let s = start(cfg, &clock, vec![arc(api)]);
    let a = s.submit(VibePeak, &request()).await.unwrap().job;

    let second = tokio::spawn({
        let s = s.clone();
        async move { s.submit(VibePeak, &request()).await }
    });
    yield_a_lot().await;
    assert_eq!(
        calls.len(),
        1,
        "the plan's one slot is taken: the second submit waits"
    );

    // a finishes (a verified webhook): its slot frees, b goes, meets a 429 and waits 30 s.
    s.observe(
        snap(VibePeak, a.id.as_str(), Status::Succeeded),
        Source::VerifiedWebhook,
    );
    yield_a_lot().await;
    assert_eq!(calls.times(), [0.0, 0.0]);
    clock.advance(Duration::from_secs(29));
    yield_a_lot().await;
    assert_eq!(calls.len(), 2);
    clock.advance(Duration::from_secs(1));
    let b = second
        .await
        .unwrap()
        .expect("a concurrency limit is waited out, never an error");
    assert_eq!(b.job.id, "b");
    assert_eq!(calls.times(), [0.0, 0.0, 30.0]);
    assert_eq!(s.stats().providers[&VibePeak].rate_limited, 1);
    assert_eq!(s.stats().providers[&VibePeak].submit, 3);
}

#[tokio::test]
async fn a_job_past_its_deadline_ends_with_a_deadline_outcome() {
    let clock = clock();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_status()
        .returning(|id| Ok(snap(VibePeak, id, Status::Running)));
    let s = start(config(), &clock, vec![arc(api)]);
    let mut events = s.events();
    let j = job(VibePeak, "slow");
    let opts = WatchOptions::default().with_deadline(Duration::from_secs(600));
    s.watch(j.clone(), None, opts).unwrap();
    let done = s.wait(&j);
    run_until(&s, &clock, 1000.0).await;
    match done.await {
        Err(WaitError::DeadlinePassed { job, last }) => {
            assert_eq!(job, j);
            assert_eq!(last.unwrap().status, Status::Running);
        }
        other => panic!("expected a deadline, got {other:?}"),
    }
    let deadline_at: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::DeadlinePassed { at, .. } => Some(at),
            _ => None,
        })
        .collect();
    assert_eq!(deadline_at, [at(600.0)]);
    assert!(s.watching().is_empty());
}

#[tokio::test]
async fn the_default_deadline_is_configurable() {
    let clock = clock();
    let mut api = mock_api(Vidiking, Default::default());
    api.expect_status()
        .returning(|id| Ok(snap(Vidiking, id, Status::Running)));
    let mut cfg = config();
    cfg.default_deadline = Duration::from_secs(20 * 60);
    let s = start(cfg, &clock, vec![arc(api)]);
    let j = job(Vidiking, "slow");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    assert_eq!(s.job(&j).unwrap().deadline, at(1200.0));
}

#[tokio::test]
async fn cancel_asks_the_provider_where_it_can_and_otherwise_stops_watching() {
    let clock = clock();
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut videogen = mock_api(VideoGen, cancelling());
    let flag = cancelled.clone();
    videogen.expect_cancel().times(1).returning(move |_| {
        flag.store(true, Ordering::SeqCst);
        Ok(())
    });
    let flag = cancelled.clone();
    videogen.expect_status().returning(move |id| {
        let status = if flag.load(Ordering::SeqCst) {
            Status::Cancelled
        } else {
            Status::Running
        };
        Ok(snap(VideoGen, id, status))
    });
    let mut vibepeak = mock_api(VibePeak, Default::default());
    vibepeak.expect_cancel().never();
    vibepeak.expect_status().never();
    let s = start(config(), &clock, vec![arc(videogen), arc(vibepeak)]);

    let remote = job(VideoGen, "vg_exec_1");
    let local = job(VibePeak, "task_1");
    for j in [&remote, &local] {
        s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    }
    let (remote_done, local_done) = (s.wait(&remote), s.wait(&local));
    assert_eq!(s.cancel(&remote).await.unwrap(), CancelOutcome::Requested);
    assert_eq!(
        s.cancel(&local).await.unwrap(),
        CancelOutcome::StoppedWatching
    );
    s.settled().await;
    // The remote cancel is confirmed by a status read right away, not at the first look.
    assert_eq!(remote_done.await.unwrap().status.status, Status::Cancelled);
    assert!(matches!(
        local_done.await,
        Err(WaitError::CancelledLocally { .. })
    ));
    assert_eq!(
        s.cancel(&remote).await.unwrap(),
        CancelOutcome::AlreadyFinished
    );
    assert_eq!(s.stats().providers[&VideoGen].cancel, 1);
}

#[tokio::test]
async fn cancel_all_cancels_remotely_only_where_supported() {
    let clock = clock();
    let mut videogen = mock_api(VideoGen, cancelling());
    videogen.expect_cancel().times(2).returning(|_| Ok(()));
    videogen
        .expect_status()
        .returning(|id| Ok(snap(VideoGen, id, Status::Cancelled)));
    let mut vidiking = mock_api(Vidiking, Default::default());
    vidiking.expect_cancel().never();
    let s = start(config(), &clock, vec![arc(videogen), arc(vidiking)]);
    for j in [job(VideoGen, "x"), job(VideoGen, "y"), job(Vidiking, "z")] {
        s.watch(j, None, WatchOptions::default()).unwrap();
    }
    let summary = s.cancel_all().await;
    assert_eq!(summary.requested.len(), 2);
    assert_eq!(summary.stopped_watching, [job(Vidiking, "z")]);
    assert!(summary.failed.is_empty());
    s.settled().await;
    assert!(s.watching().is_empty());
}

#[tokio::test]
async fn terminal_is_terminal_for_later_answers_and_events() {
    let clock = clock();
    let mut api = mock_api(Vidiking, Default::default());
    api.expect_status()
        .times(1)
        .returning(|id| Ok(snap(Vidiking, id, Status::Succeeded)));
    let s = start(config(), &clock, vec![arc(api)]);
    let mut events = s.events();
    let j = job(Vidiking, "j");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    run_until(&s, &clock, 100.0).await;
    assert_eq!(
        s.observe(
            snap(Vidiking, "j", Status::Running),
            Source::VerifiedWebhook
        ),
        Observed::AlreadyFinished
    );
    assert_eq!(
        s.observe(snap(Vidiking, "j", Status::Failed), Source::Poll),
        Observed::AlreadyFinished
    );
    assert!(!s.hint(&j));
    run_until(&s, &clock, 400.0).await;
    assert_eq!(s.wait(&j).await.unwrap().status.status, Status::Succeeded);
    let events = drain(&mut events);
    let terminal = events
        .iter()
        .position(|e| matches!(e, JobEvent::Terminal { .. }))
        .unwrap();
    assert_eq!(
        terminal,
        events.len() - 1,
        "nothing happens to a job after its end"
    );
}

#[tokio::test]
async fn an_answer_in_flight_when_a_webhook_ends_the_job_is_ignored() {
    let clock = clock();
    let mut inner = mock_api(Vidiking, Default::default());
    inner
        .expect_status()
        .returning(|id| Ok(snap(Vidiking, id, Status::Running)));
    let held = Arc::new(Held::new(inner));
    let s = start(config(), &clock, vec![held.clone() as Arc<dyn ProviderApi>]);
    let j = job(Vidiking, "j");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    let done = s.wait(&j);
    clock.advance(Duration::from_secs(10));
    yield_a_lot().await;
    assert_eq!(
        held.in_flight.load(Ordering::SeqCst),
        1,
        "a status read is out"
    );
    let webhook = snap(Vidiking, "j", Status::Succeeded);
    assert_eq!(
        s.observe(webhook, Source::VerifiedWebhook),
        Observed::Finished
    );
    // The webhook ended the wait at once, while the poll is still out.
    assert_eq!(
        done.now_or_never().unwrap().unwrap().status.status,
        Status::Succeeded
    );
    held.gate.add_permits(1);
    yield_a_lot().await;
    s.settled().await;
    assert_eq!(s.wait(&j).await.unwrap().status.status, Status::Succeeded);
    assert!(s.watching().is_empty());
}

#[tokio::test]
async fn an_unknown_status_keeps_polling_with_backoff_and_is_reported() {
    let clock = clock();
    let calls = Calls::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let mut api = mock_api(VideoGen, Default::default());
    let (c, log, n) = (clock.clone(), calls.clone(), seen.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let status = if n.fetch_add(1, Ordering::SeqCst) < 4 {
            ProviderStatus::unrecognized("awaiting_approval")
        } else {
            ProviderStatus::known(Status::Succeeded, "succeeded")
        };
        Ok(Snapshot::new(job(VideoGen, id), status))
    });
    let cfg = config();
    let s = start(cfg.clone(), &clock, vec![arc(api)]);
    let mut events = s.events();
    let j = job(VideoGen, "vg_exec_1");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    let done = s.wait(&j);
    run_until(&s, &clock, 600.0).await;
    assert_eq!(done.await.unwrap().status.status, Status::Succeeded);
    let times = calls.times();
    assert_eq!(times.len(), 5, "polling went on through the unknown status");
    let backoff = Backoff::new(&cfg.backoff);
    for (k, pair) in times.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let ceiling = backoff.ceiling(k as u32).as_secs_f64().max(1.0);
        assert!((1.0..=ceiling).contains(&gap), "gap {gap} after answer {k}");
    }
    let reported: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::UnrecognizedStatus { raw, .. } => Some(raw),
            _ => None,
        })
        .collect();
    assert_eq!(reported, ["awaiting_approval"]);
}

#[tokio::test]
async fn one_list_call_refreshes_many_jobs_and_missing_ones_fall_back_to_status() {
    let clock = clock();
    let mut api = mock_api(Vidiking, listing());
    api.expect_list().times(1).returning(|q| {
        assert_eq!(q.limit, Some(100));
        assert!(q.self_only && q.cursor.is_none());
        let mut items: Vec<_> = (0..4)
            .map(|n| snap(Vidiking, &format!("j{n}"), Status::Succeeded))
            .collect();
        items.push(snap(Vidiking, "someone_elses", Status::Running));
        Ok(ListPage {
            items,
            next_cursor: None,
        })
    });
    api.expect_status()
        .withf(|id| id == "j4")
        .times(1)
        .returning(|id| Ok(snap(Vidiking, id, Status::Failed)));
    let s = start(config(), &clock, vec![arc(api)]);
    let mut waits = Vec::new();
    for n in 0..5 {
        let j = job(Vidiking, &format!("j{n}"));
        s.watch(j.clone(), None, WatchOptions::default()).unwrap();
        waits.push(s.wait(&j));
    }
    run_until(&s, &clock, 100.0).await;
    let outcomes: Vec<_> = futures::future::join_all(waits)
        .await
        .into_iter()
        .map(|r| r.unwrap().status.status)
        .collect();
    assert_eq!(outcomes[..4], [Status::Succeeded; 4]);
    assert_eq!(outcomes[4], Status::Failed);
    let stats = s.stats().providers[&Vidiking];
    assert_eq!((stats.list, stats.status), (1, 1));
}

#[tokio::test]
async fn jobs_due_close_together_share_a_list_and_a_lone_job_uses_status() {
    let clock = clock();
    let mut api = mock_api(Vidiking, listing());
    api.expect_list().times(1).returning(|_| {
        Ok(ListPage {
            items: vec![
                snap(Vidiking, "a", Status::Succeeded),
                snap(Vidiking, "b", Status::Succeeded),
            ],
            next_cursor: None,
        })
    });
    api.expect_status()
        .withf(|id| id == "lone")
        .times(1)
        .returning(|id| Ok(snap(Vidiking, id, Status::Succeeded)));
    let s = start(config(), &clock, vec![arc(api)]);
    s.watch(job(Vidiking, "a"), None, WatchOptions::default())
        .unwrap();
    // b is due 1.5 s after a: within the batch window, so a's list serves it too.
    step_until(&s, &clock, 1.5, 1.5).await;
    s.watch(job(Vidiking, "b"), None, WatchOptions::default())
        .unwrap();
    run_until(&s, &clock, 100.0).await;
    s.watch(job(Vidiking, "lone"), None, WatchOptions::default())
        .unwrap();
    run_until(&s, &clock, 200.0).await;
    assert!(s.watching().is_empty());
}

#[tokio::test]
async fn a_videogen_list_follows_its_cursor_while_jobs_are_missing() {
    let clock = clock();
    let pages = Arc::new(Mutex::new(Vec::new()));
    let mut api = mock_api(VideoGen, listing());
    let seen = pages.clone();
    api.expect_list().times(2).returning(move |q| {
        seen.lock().unwrap().push(q.cursor.clone());
        assert_eq!(q.limit, Some(200));
        let (ids, next) = match q.cursor.as_deref() {
            None => (["a", "b"], Some("page2".to_string())),
            _ => (["c", "d"], None),
        };
        Ok(ListPage {
            items: ids
                .iter()
                .map(|id| snap(VideoGen, id, Status::Succeeded))
                .collect(),
            next_cursor: next,
        })
    });
    api.expect_status().never();
    let s = start(config(), &clock, vec![arc(api)]);
    for id in ["a", "b", "c", "d"] {
        s.watch(job(VideoGen, id), None, WatchOptions::default())
            .unwrap();
    }
    run_until(&s, &clock, 100.0).await;
    assert!(s.watching().is_empty());
    assert_eq!(*pages.lock().unwrap(), [None, Some("page2".to_string())]);
}

/// A VideoGen list of `ids` (newest first) in pages of the asked size, every one succeeded.
#[allow(clippy::unwrap_used)] // a cursor it did not hand out fails the test
fn paged_list(ids: Vec<String>) -> impl Fn(&ListQuery) -> Result<ListPage, Error> {
    move |q| {
        let limit = q.limit.unwrap_or(50) as usize;
        let from: usize = q.cursor.as_deref().map_or(0, |c| c.parse().unwrap());
        let to = (from + limit).min(ids.len());
        Ok(ListPage {
            items: ids[from..to]
                .iter()
                .map(|id| snap(VideoGen, id, Status::Succeeded))
                .collect(),
            next_cursor: (to < ids.len()).then(|| to.to_string()),
        })
    }
}

#[tokio::test]
async fn a_sweep_reads_as_many_pages_as_its_due_jobs_need() {
    let clock = clock();
    // 900 jobs watched oldest first; the list shows them newest first, 200 a page.
    let ids: Vec<String> = (0..900).map(|n| format!("e{n}")).collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let mut api = mock_api(VideoGen, listing());
    api.expect_list()
        .times(5)
        .returning(paged_list(newest_first));
    api.expect_status().never();
    let s = start(config(), &clock, vec![arc(api)]);
    for id in &ids {
        s.watch(job(VideoGen, id), None, WatchOptions::default())
            .unwrap();
    }
    run_until(&s, &clock, 100.0).await;
    // Five calls for 900 jobs, where status reads would have cost 900.
    assert!(s.watching().is_empty());
    assert_eq!(s.stats().providers[&VideoGen].list, 5);
}

#[tokio::test]
async fn jobs_deep_down_the_list_are_read_by_status_when_pages_would_cost_more() {
    let clock = clock();
    let ids: Vec<String> = (0..402).map(|n| format!("e{n}")).collect();
    let mut api = mock_api(VideoGen, listing());
    api.expect_list().never();
    api.expect_status()
        .times(2)
        .returning(|id| Ok(snap(VideoGen, id, Status::Succeeded)));
    let s = start(config(), &clock, vec![arc(api)]);
    for id in &ids {
        s.watch(job(VideoGen, id), None, WatchOptions::default())
            .unwrap();
    }
    // The 400 newest end by webhook: the two oldest sit on the list's third page, two status
    // reads against three pages.
    for id in &ids[2..] {
        s.observe(
            snap(VideoGen, id, Status::Succeeded),
            Source::VerifiedWebhook,
        );
    }
    run_until(&s, &clock, 100.0).await;
    assert!(s.watching().is_empty());
    let stats = s.stats().providers[&VideoGen];
    assert_eq!((stats.list, stats.status), (0, 2));
}

#[tokio::test]
async fn a_job_no_sweep_reaches_is_read_at_its_own_time_not_early() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VideoGen, listing());
    api.expect_list().never();
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        Ok(snap(VideoGen, id, Status::Succeeded))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    // Two old jobs due 1 s apart (the prior's first look at 5 s after their start), then 400
    // newer ones that end by webhook: the old two sit on the list's third page.
    let options = |ago: f64| WatchOptions::default().with_started_at(at(-ago));
    s.watch(job(VideoGen, "old0"), None, options(1.0)).unwrap();
    s.watch(job(VideoGen, "old1"), None, options(0.0)).unwrap();
    for n in 0..400 {
        let id = format!("new{n}");
        s.watch(job(VideoGen, &id), None, WatchOptions::default())
            .unwrap();
        s.observe(
            snap(VideoGen, &id, Status::Succeeded),
            Source::VerifiedWebhook,
        );
    }
    run_until(&s, &clock, 100.0).await;
    // old1 came along when old0 was due (the batch window), but no sweep pays for it, so it
    // is read when it is due itself, not a second early.
    assert_eq!(calls.of("old0"), [4.0]);
    assert_eq!(calls.of("old1"), [5.0]);
}

#[tokio::test]
async fn a_documented_prior_per_unit_of_work_sets_the_first_look() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(Vidiking, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        Ok(snap(Vidiking, id, Status::Succeeded))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let options = |work: f64| {
        WatchOptions::default()
            .with_started_at(clock.now())
            .with_work(work)
    };
    s.watch(job(Vidiking, "short"), None, options(5.0)).unwrap();
    s.watch(job(Vidiking, "long"), None, options(15.0)).unwrap();
    s.watch(job(Vidiking, "unsized"), None, WatchOptions::default())
        .unwrap();
    run_until(&s, &clock, 100.0).await;
    // 2 s per second of timeline before anything is learned; the provider's 10 s without a size.
    assert_eq!(calls.of("short"), [10.0]);
    assert_eq!(calls.of("long"), [30.0]);
    assert_eq!(calls.of("unsized"), [10.0]);
}

#[tokio::test]
async fn durations_are_learned_per_unit_of_work_where_size_explains_them() {
    let clock = clock();
    let calls = Calls::default();
    // Vidiking renders take 4 s per second of timeline here; no list, to count status reads.
    let mut api = mock_api(Vidiking, Default::default());
    let started = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let (c, log, s2) = (clock.clone(), calls.clone(), started.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let (t0, work): (f64, f64) = s2.lock().unwrap()[id];
        let status = if secs(&c) - t0 >= 4.0 * work {
            Status::Succeeded
        } else {
            Status::Running
        };
        Ok(snap(Vidiking, id, status))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    // Timelines of 12 to 15 s (one size class): 48 to 60 s of rendering; the last one is looked
    // at below.
    let jobs = [12.0, 15.0, 13.0, 14.0, 12.5, 15.0, 13.5];
    for (n, work) in jobs.into_iter().enumerate() {
        let id = if n == jobs.len() - 1 {
            "big".to_string()
        } else {
            format!("r{n}")
        };
        started
            .lock()
            .unwrap()
            .insert(id.clone(), (secs(&clock), work));
        let j = job(Vidiking, &id);
        let options = WatchOptions::default()
            .with_started_at(clock.now())
            .with_work(work);
        s.watch(j.clone(), None, options).unwrap();
        let done = s.wait(&j);
        let until = secs(&clock) + 400.0;
        run_until(&s, &clock, until).await;
        done.await.unwrap();
    }
    // A 13.5 s timeline: the documented prior (2-6 s per second) would look first at 27 s and
    // every 3 s after; learned, the first look comes near the 54 s it takes, and few follow.
    let t0 = started.lock().unwrap()["big"].0;
    let looks: Vec<f64> = calls.of("big").iter().map(|t| t - t0).collect();
    assert!((44.0..=54.0).contains(&looks[0]), "looks at {looks:?}");
    assert!(looks.len() <= 4, "looks at {looks:?}");
}

#[tokio::test]
async fn a_verified_webhook_ends_a_wait_at_once() {
    let clock = clock();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_status().never();
    let s = start(config(), &clock, vec![arc(api)]);
    let j = job(VibePeak, "task_1");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    let done = s.wait(&j);
    let mut event = snap(VibePeak, "task_1", Status::Succeeded);
    event.outputs.push(mediajobs_core::Output {
        url: Some("https://cdn.example/v.mp4".into()),
        file_id: None,
        mime_type: Some("video/mp4".into()),
        size: None,
        expires_at: None,
    });
    assert_eq!(
        s.observe(event.clone(), Source::VerifiedWebhook),
        Observed::Finished
    );
    // No clock movement, no poll: the wait has its answer, outputs and all.
    assert_eq!(done.now_or_never().unwrap().unwrap(), event);
    assert_eq!(s.stats().calls(), 0);
}

#[tokio::test]
async fn a_hint_moves_the_next_poll_forward() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VibePeak, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        Ok(snap(VibePeak, id, Status::Running))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let j = job(VibePeak, "task_1");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    assert_eq!(s.job(&j).unwrap().next_check, Some(at(240.0)));
    step_until(&s, &clock, 10.0, 10.0).await;
    assert!(calls.times().is_empty());
    // An unverifiable event: not trusted as news, but worth a look now.
    assert!(s.hint(&j));
    s.settled().await;
    assert_eq!(calls.times(), [10.0]);
    assert!(!s.hint(&job(VibePeak, "unknown")));
}

#[tokio::test]
async fn an_uncertain_submit_is_returned_untouched_and_never_retried() {
    let clock = clock();
    let mut api = mock_api(VideoGen, Default::default());
    api.expect_submit().times(1).returning(|_| {
        Err(Error::UncertainSubmit {
            provider: VideoGen,
            message: "connection closed after the request was sent".into(),
        })
    });
    let s = start(config(), &clock, vec![arc(api)]);
    match s
        .submit(VideoGen, &request().with_tool("generate-image"))
        .await
    {
        Err(Error::UncertainSubmit { provider, message }) => {
            assert_eq!(provider, VideoGen);
            assert_eq!(message, "connection closed after the request was sent");
        }
        other => panic!("expected the uncertain submit back, got {other:?}"),
    }
    assert!(s.watching().is_empty());
    assert_eq!(s.stats().providers[&VideoGen].submit, 1);
}

#[tokio::test]
async fn a_submit_that_never_left_is_retried_and_one_that_may_have_is_not() {
    let clock = clock();
    let mut answers: VecDeque<Result<Snapshot, Error>> = VecDeque::from([
        Err(Error::Transport {
            provider: Vidiking,
            operation: Operation::Submit,
            failure: TransportFailure::Connect,
            message: "refused".into(),
        }),
        Ok(snap(Vidiking, "job_1", Status::Queued)),
        Err(api_error(
            Vidiking,
            Operation::Submit,
            ErrorKind::Unavailable,
            500,
        )),
    ]);
    let mut api = mock_api(Vidiking, Default::default());
    api.expect_submit()
        .times(3)
        .returning(move |_| answers.pop_front().unwrap());
    let s = start(config(), &clock, vec![arc(api)]);
    let first = tokio::spawn({
        let s = s.clone();
        async move { s.submit(Vidiking, &request()).await }
    });
    yield_a_lot().await;
    // The backoff sleep is on the virtual clock.
    clock.advance(Duration::from_secs(5));
    assert_eq!(first.await.unwrap().unwrap().job.id, "job_1");
    // A 500 may have created the task: handed back, not retried (the default).
    let second = s.submit(Vidiking, &request()).await;
    assert_eq!(second.unwrap_err().kind(), Some(ErrorKind::Unavailable));
}

#[tokio::test]
async fn a_safety_poll_makes_polling_a_slow_net_under_webhooks() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(Vidiking, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        Ok(snap(Vidiking, id, Status::Running))
    });
    let mut cfg = config();
    cfg.safety_poll = Some(Duration::from_secs(600));
    let s = start(cfg, &clock, vec![arc(api)]);
    s.watch(job(Vidiking, "j"), None, WatchOptions::default())
        .unwrap();
    run_until(&s, &clock, 1300.0).await;
    assert_eq!(calls.times(), [600.0, 1200.0]);
}

#[tokio::test]
async fn events_tell_the_story_of_a_job() {
    let clock = clock();
    let answers = Arc::new(Mutex::new(VecDeque::from([
        (Status::Running, Some(40.0)),
        (Status::Running, Some(80.0)),
        (Status::Succeeded, Some(100.0)),
    ])));
    let mut api = mock_api(VideoGen, Default::default());
    api.expect_submit()
        .returning(|_| Ok(snap(VideoGen, "vg_exec_1", Status::Queued)));
    api.expect_status().returning(move |id| {
        let (status, progress) = answers.lock().unwrap().pop_front().unwrap();
        let mut s = snap(VideoGen, id, status);
        s.progress = progress;
        Ok(s)
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let mut events = s.events();
    let j = s
        .submit(VideoGen, &request().with_tool("generate-image"))
        .await
        .unwrap()
        .job;
    let done = s.wait(&j);
    run_until(&s, &clock, 300.0).await;
    done.await.unwrap();
    let kinds: Vec<String> = drain(&mut events)
        .into_iter()
        .map(|e| match e {
            JobEvent::Submitted { .. } => "submitted".into(),
            JobEvent::StatusChanged { status, .. } => format!("status {}", status.raw),
            JobEvent::Progress { percent, .. } => format!("progress {percent}"),
            JobEvent::Terminal { snapshot, .. } => format!("terminal {}", snapshot.status.raw),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "submitted",
            "status queued",
            "status running",
            "progress 40",
            "progress 80",
            "terminal succeeded"
        ]
    );
}

#[tokio::test]
async fn learned_durations_move_the_first_look() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(VideoGen, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    // Every image takes 100 s here, well past the documented 15–60 s.
    let started = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let s2 = started.clone();
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let t0 = *s2.lock().unwrap().get(id).unwrap();
        let status = if secs(&c) - t0 >= 100.0 {
            Status::Succeeded
        } else {
            Status::Running
        };
        Ok(snap(VideoGen, id, status))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let image = || WatchOptions::default().with_tool("generate-image");
    for n in 0..6 {
        let id = format!("img{n}");
        started.lock().unwrap().insert(id.clone(), secs(&clock));
        let j = job(VideoGen, &id);
        s.watch(j.clone(), None, image().with_started_at(clock.now()))
            .unwrap();
        let done = s.wait(&j);
        let until = secs(&clock) + 400.0;
        run_until(&s, &clock, until).await;
        done.await.unwrap();
    }
    // The first job looked at 15 s (the prior); the learned model waits until near 100 s.
    let first = calls.of("img0")[0];
    let last = calls.of("img5")[0] - started.lock().unwrap()["img5"];
    assert_eq!(first, 15.0);
    assert!((80.0..=100.0).contains(&last), "first look after {last} s");
    assert!(calls.of("img5").len() < calls.of("img0").len());
}

#[tokio::test]
async fn resume_watches_a_saved_job_and_counts_its_task_slot() {
    let clock = clock();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_submit().never();
    api.expect_status()
        .returning(|id| Ok(snap(VibePeak, id, Status::Succeeded)));
    let mut cfg = config();
    cfg.providers
        .get_mut(&VibePeak)
        .unwrap()
        .budget
        .max_in_flight_tasks = Some(1);
    let s = start(cfg, &clock, vec![arc(api)]);
    let saved = snap(VibePeak, "task_9", Status::Running);
    let j = saved.job.clone();
    let opts = WatchOptions::default().with_started_at(clock.now() - chrono::Duration::minutes(3));
    s.watch(j.clone(), Some(saved), opts).unwrap();
    // A finished job resumed from the journal is simply done.
    let old = snap(VibePeak, "task_8", Status::Failed);
    s.watch(old.job.clone(), Some(old.clone()), WatchOptions::default())
        .unwrap();
    assert_eq!(s.wait(&old.job).await.unwrap(), old);
    let done = s.wait(&j);
    run_until(&s, &clock, 600.0).await;
    assert_eq!(done.await.unwrap().status.status, Status::Succeeded);
}

#[tokio::test]
async fn waiting_on_an_unknown_job_says_so_and_shutdown_ends_waits() {
    let clock = clock();
    let mut api = mock_api(VibePeak, Default::default());
    api.expect_status().never();
    let s = start(config(), &clock, vec![arc(api)]);
    let stranger = job(VibePeak, "nope");
    assert!(matches!(
        s.wait(&stranger).await,
        Err(WaitError::NotWatched(_))
    ));
    assert!(matches!(
        s.watch(job(Vidiking, "x"), None, WatchOptions::default()),
        Err(Error::Config(_))
    ));
    let j = job(VibePeak, "t");
    s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    let done = s.wait(&j);
    s.shutdown();
    assert!(matches!(done.await, Err(WaitError::Shutdown)));
    let _: &Arc<dyn Clock> = s.clock();
}

fn event(id: &str, status: Status, snapshot: bool) -> mediajobs_core::WebhookEvent {
    let s = snap(Vidiking, id, status);
    mediajobs_core::WebhookEvent {
        provider: Vidiking,
        event_id: format!("{id}:render.complete"),
        event: "render.complete".into(),
        job_id: id.into(),
        status: Some(s.status.clone()),
        occurred_at: None,
        snapshot: snapshot.then_some(s),
    }
}

#[tokio::test]
async fn webhook_events_end_waits_confirm_or_only_hint_as_their_trust_allows() {
    let clock = clock();
    let calls = Calls::default();
    let mut api = mock_api(Vidiking, Default::default());
    let (c, log) = (clock.clone(), calls.clone());
    api.expect_submit().returning(|_| {
        let mut s = snap(Vidiking, "confirm", Status::Queued);
        // A floor the confirming read may pass: the provider itself announced the end.
        s.retry_after = Some(Duration::from_secs(60));
        Ok(s)
    });
    api.expect_status().returning(move |id| {
        log.record(&c, id);
        let status = if id == "confirm" {
            Status::Succeeded
        } else {
            Status::Running
        };
        Ok(snap(Vidiking, id, status))
    });
    let s = start(config(), &clock, vec![arc(api)]);
    let full = job(Vidiking, "full");
    let bare = s.submit(Vidiking, &request()).await.unwrap().job;
    let forged = job(Vidiking, "forged");
    for j in [&full, &forged] {
        s.watch(j.clone(), None, WatchOptions::default()).unwrap();
    }
    let (full_done, bare_done) = (s.wait(&full), s.wait(&bare));

    // Verified, payload complete: ends the wait, no call.
    let e = event("full", Status::Succeeded, true);
    assert_eq!(s.observe_webhook(&e, true), Observed::Finished);
    assert_eq!(
        full_done.now_or_never().unwrap().unwrap().status.status,
        Status::Succeeded
    );

    // Verified, status only: a read now (inside the 60 s Retry-After) fetches what is missing.
    let e = event("confirm", Status::Succeeded, false);
    assert_eq!(s.observe_webhook(&e, true), Observed::CheckSoon);
    s.settled().await;
    assert_eq!(bare_done.await.unwrap().status.status, Status::Succeeded);

    // Unverified: never a state change, only an earlier look (which finds it still running).
    let e = event("forged", Status::Succeeded, true);
    assert_eq!(s.observe_webhook(&e, false), Observed::CheckSoon);
    s.settled().await;
    assert_eq!(calls.times(), [0.0, 0.0]);
    assert_eq!(
        s.job(&forged).unwrap().status.unwrap().status,
        Status::Running
    );
    assert_eq!(s.observe_webhook(&e, true), Observed::Finished);
    assert_eq!(s.observe_webhook(&e, true), Observed::AlreadyFinished);
}
