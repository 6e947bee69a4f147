//! A fake provider (mockall) and virtual-time helpers shared by the scheduler's tests.
#![allow(dead_code)]
// Test support: a failed lock or parse is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mediajobs_core::{
    ApiError, Capabilities, Clock, Error, ErrorKind, JobId, ListPage, ListQuery, ManualClock,
    Operation, Output, Provider, ProviderApi, ProviderStatus, Snapshot, Status, SubmitRequest,
    Timestamp,
};
use mediajobs_scheduler::{JobEvent, ProviderBudget, ProviderConfig, Scheduler, SchedulerConfig};
use mockall::mock;
use tokio::sync::Semaphore;

mock! {
    pub Api {}

    #[async_trait]
    impl ProviderApi for Api {
        fn provider(&self) -> Provider;
        fn capabilities(&self) -> Capabilities;
        async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error>;
        async fn status(&self, id: &str) -> Result<Snapshot, Error>;
        async fn cancel(&self, id: &str) -> Result<(), Error>;
        async fn list(&self, query: &ListQuery) -> Result<ListPage, Error>;
        async fn refresh_output(&self, id: &str, output: &Output) -> Result<Output, Error>;
    }
}

pub fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

/// Seconds since `t0`, to the millisecond.
pub fn secs(clock: &ManualClock) -> f64 {
    (clock.now() - t0()).num_milliseconds() as f64 / 1000.0
}

pub fn at(s: f64) -> Timestamp {
    t0() + chrono::Duration::milliseconds((s * 1000.0) as i64)
}

pub fn job(provider: Provider, id: &str) -> JobId {
    JobId::new(provider, id)
}

pub fn snap(provider: Provider, id: &str, status: Status) -> Snapshot {
    let raw = match status {
        Status::Queued => "queued",
        Status::Running => "running",
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
    };
    Snapshot::new(job(provider, id), ProviderStatus::known(status, raw))
}

pub fn api_error(provider: Provider, op: Operation, kind: ErrorKind, http: u16) -> Error {
    ApiError::new(provider, op, kind, http, "fake").into()
}

pub fn rate_limited(provider: Provider, op: Operation, wait: Duration) -> Error {
    let mut e = ApiError::new(provider, op, ErrorKind::RateLimited, 429, "slow down");
    e.retry_after = Some(wait);
    e.into()
}

/// A mock of `provider` with these capabilities and no other expectation yet.
pub fn mock_api(provider: Provider, caps: Capabilities) -> MockApi {
    let mut api = MockApi::new();
    api.expect_provider().return_const(provider);
    api.expect_capabilities().return_const(caps);
    api
}

pub fn listing() -> Capabilities {
    Capabilities {
        list: true,
        ..Capabilities::default()
    }
}

pub fn cancelling() -> Capabilities {
    Capabilities {
        cancel: true,
        ..Capabilities::default()
    }
}

impl std::fmt::Debug for MockApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockApi")
    }
}

/// When each call happened (seconds since `t0`) and about which id.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<(f64, String)>>>);

impl Calls {
    pub fn record(&self, clock: &ManualClock, what: impl Into<String>) {
        self.0.lock().unwrap().push((secs(clock), what.into()));
    }

    pub fn times(&self) -> Vec<f64> {
        self.0.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }

    pub fn of(&self, what: &str) -> Vec<f64> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, w)| w == what)
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A config with documented defaults but no budgets, a fixed seed, and `provider` set as given.
pub fn config() -> SchedulerConfig {
    let mut cfg = SchedulerConfig {
        rng_seed: Some(42),
        ..SchedulerConfig::default()
    };
    for p in Provider::ALL {
        cfg.providers.insert(
            p,
            ProviderConfig::documented(p).with_budget(ProviderBudget::unlimited()),
        );
    }
    cfg
}

pub fn start(
    cfg: SchedulerConfig,
    clock: &Arc<ManualClock>,
    apis: Vec<Arc<dyn ProviderApi>>,
) -> Scheduler {
    let clock: Arc<dyn Clock> = clock.clone();
    Scheduler::start(cfg, clock, apis)
}

/// Lets spawned tasks (submits waiting for budget) run until they block again.
pub async fn yield_a_lot() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Runs virtual time to `until` seconds after `t0`, stopping at every time the driver asked
/// to wake, so every check happens at its planned time.
pub async fn run_until(s: &Scheduler, clock: &ManualClock, until: f64) {
    let end = at(until);
    loop {
        yield_a_lot().await;
        match s.settled().await {
            Some(next) if next <= end && next > clock.now() => clock.set(next),
            Some(next) if next <= clock.now() => {}
            _ => {
                if clock.now() < end {
                    clock.set(end);
                    yield_a_lot().await;
                    s.settled().await;
                }
                return;
            }
        }
    }
}

/// Advances the clock in steps of `step` seconds up to `until`, settling at each.
pub async fn step_until(s: &Scheduler, clock: &ManualClock, until: f64, step: f64) {
    while secs(clock) + 1e-9 < until {
        clock.advance(Duration::from_secs_f64(step));
        yield_a_lot().await;
        s.settled().await;
        yield_a_lot().await;
    }
}

/// Every event received so far, without waiting.
pub fn drain(rx: &mut (impl futures::Stream<Item = JobEvent> + Unpin)) -> Vec<JobEvent> {
    use futures::{FutureExt, StreamExt};
    let mut out = Vec::new();
    while let Some(Some(e)) = rx.next().now_or_never() {
        out.push(e);
    }
    out
}

/// A fake whose status answers wait until the test lets them through, to hold requests in
/// flight; it also records the most requests it saw in flight at once.
#[derive(Debug)]
pub struct Held {
    pub inner: MockApi,
    pub gate: Arc<Semaphore>,
    pub in_flight: AtomicUsize,
    pub most: AtomicUsize,
}

impl Held {
    pub fn new(inner: MockApi) -> Self {
        Held {
            inner,
            gate: Arc::new(Semaphore::new(0)),
            in_flight: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl ProviderApi for Held {
    fn provider(&self) -> Provider {
        self.inner.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error> {
        self.inner.submit(request).await
    }
    async fn status(&self, id: &str) -> Result<Snapshot, Error> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        if let Ok(permit) = self.gate.acquire().await {
            permit.forget();
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.inner.status(id).await
    }
}
