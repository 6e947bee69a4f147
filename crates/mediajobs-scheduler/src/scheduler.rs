//! The scheduler handle and its driver.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use mediajobs_core::{
    Capabilities, Clock, Error, ErrorKind, JobId, ListQuery, Operation, Provider, ProviderApi,
    Snapshot, Status, SubmitRequest, Timestamp, WebhookEvent,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{broadcast, oneshot, watch};
use tracing::Instrument;

use crate::backoff::Backoff;
use crate::budget::{Blocked, Gate, Permit, Wakers, lock};
use crate::plan::{self, DurationModel, JobTiming, PlanParams, ScaledModel};
use crate::state::{
    self, BEYOND_SWEEP, Entry, HOLDS_SLOT, JobState, LIST_MISS, NONE, Outcome, Phase,
    START_FROM_PROVIDER, START_KNOWN, State, pidx,
};
use crate::types::Counters;
use crate::{
    CancelOutcome, CancelSummary, JobEvent, JobInfo, Observed, ProviderConfig, SchedulerConfig,
    Source, Stats, WaitError, WatchOptions,
};

fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn ts(ms: i64) -> Timestamp {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// One provider: its adapter, settings, budget and counters.
#[derive(Debug)]
struct ProviderShared {
    provider: Provider,
    api: Arc<dyn ProviderApi>,
    caps: Capabilities,
    config: ProviderConfig,
    gate: Arc<Mutex<Gate>>,
    counters: Counters,
    params: PlanParams,
}

/// What a request future hands back to the driver.
enum Done {
    Status {
        slot: u32,
        epoch: u64,
        result: Result<Snapshot, Error>,
    },
    List {
        provider: Provider,
        targets: Vec<(u32, u64)>,
        items: Vec<Snapshot>,
        error: Option<Error>,
    },
}

type Request = Pin<Box<dyn Future<Output = Done> + Send>>;

#[derive(Debug)]
struct Inner {
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    providers: BTreeMap<Provider, Arc<ProviderShared>>,
    state: Mutex<State>,
    wakers: Arc<Wakers>,
    events: broadcast::Sender<JobEvent>,
    /// Requests made of the driver; it reports, when idle, the count it had seen and when it
    /// will wake next.
    pokes: AtomicU64,
    idle: watch::Sender<(u64, Option<i64>)>,
    shutdown: AtomicBool,
    backoff: Backoff,
}

/// Waits for many jobs with few calls. Cheap to clone; every clone drives the same jobs.
///
/// Created with a [`Driver`] that must run (spawn it, or use [`Scheduler::start`]): the driver
/// is the one task that sleeps on the clock until the next job is due and makes the status and
/// list calls. Submits and cancels run in the caller's task, under the same budgets.
#[derive(Debug, Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

/// The scheduler's one background future: run it to completion (it ends at
/// [`Scheduler::shutdown`]).
#[derive(Debug)]
#[must_use = "the driver does nothing unless run"]
pub struct Driver {
    inner: Arc<Inner>,
}

/// Reserved in-flight task slot of a submit under way; released unless a watched job takes it.
struct SlotGuard {
    inner: Arc<Inner>,
    provider: Provider,
    armed: bool,
}

impl SlotGuard {
    fn disarm(mut self) -> bool {
        std::mem::replace(&mut self.armed, false)
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if self.armed {
            let mut st = lock(&self.inner.state);
            let n = &mut st.tasks[pidx(self.provider)];
            *n = n.saturating_sub(1);
            drop(st);
            self.inner.wakers.wake_all();
        }
    }
}

/// What to do after a failed submit or cancel.
enum Retry {
    /// Give the error back.
    No,
    /// Try again once the pause the 429 set is over (not counted as an attempt).
    AfterPause,
    /// Try again after a backoff (counted).
    Backoff,
}

impl Scheduler {
    /// A scheduler for the providers behind `apis` (one adapter each; a later one replaces an
    /// earlier one of the same provider), reading time from `clock`.
    pub fn new(
        config: SchedulerConfig,
        clock: Arc<dyn Clock>,
        apis: impl IntoIterator<Item = Arc<dyn ProviderApi>>,
    ) -> (Scheduler, Driver) {
        let now = ms(clock.now());
        let wakers = Arc::new(Wakers::new());
        let mut providers = BTreeMap::new();
        for api in apis {
            let provider = api.provider();
            let pc = config.provider(provider);
            let params = PlanParams {
                dense_ms: dur_ms(pc.dense_interval).max(1),
                queue_step_ms: dur_ms(pc.queue_step),
                eta_error: config.eta_error.max(0.0),
                overdue_factor: config.overdue_factor.max(0.0),
            };
            let shared = ProviderShared {
                provider,
                caps: api.capabilities(),
                api,
                gate: Arc::new(Mutex::new(Gate::new(&pc.budget, now))),
                config: pc,
                counters: Counters::default(),
                params,
            };
            providers.insert(provider, Arc::new(shared));
        }
        let rng = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let (events, _) = broadcast::channel(config.event_capacity.max(16));
        let (idle, _) = watch::channel((0, None));
        let inner = Arc::new(Inner {
            backoff: Backoff::new(&config.backoff),
            clock,
            config,
            providers,
            state: Mutex::new(State::new(rng)),
            wakers,
            events,
            pokes: AtomicU64::new(0),
            idle,
            shutdown: AtomicBool::new(false),
        });
        (
            Scheduler {
                inner: inner.clone(),
            },
            Driver { inner },
        )
    }

    /// [`Scheduler::new`], with the driver spawned on the current tokio runtime.
    ///
    /// Must be called from inside a tokio runtime.
    pub fn start(
        config: SchedulerConfig,
        clock: Arc<dyn Clock>,
        apis: impl IntoIterator<Item = Arc<dyn ProviderApi>>,
    ) -> Scheduler {
        let (scheduler, driver) = Scheduler::new(config, clock, apis);
        tokio::spawn(driver.run());
        scheduler
    }

    /// The clock the scheduler reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Submits `request` to `provider` once its budget (and, for VibePeak, an in-flight task
    /// slot) allows, then watches the new job with default options.
    ///
    /// Waits and retries on 429s (VibePeak's concurrency limit included) and on failures that
    /// happened before the request was sent; any other error is returned as the adapter gave
    /// it, in particular [`Error::UncertainSubmit`], which is never retried here.
    pub async fn submit(
        &self,
        provider: Provider,
        request: &SubmitRequest,
    ) -> Result<Snapshot, Error> {
        self.submit_with(provider, request, WatchOptions::default())
            .await
    }

    /// [`Scheduler::submit`] with options for watching the new job.
    pub async fn submit_with(
        &self,
        provider: Provider,
        request: &SubmitRequest,
        mut options: WatchOptions,
    ) -> Result<Snapshot, Error> {
        let sh = self.inner.shared(provider)?;
        if options.tool.is_none() {
            options.tool = request.tool.clone();
        }
        if options.work.is_none() {
            options.work = sh.api.work_units(request);
        }
        let span = tracing::info_span!("submit", provider = %provider, tool = ?request.tool, key = ?request.key, job = tracing::field::Empty);
        let inner = self.inner.clone();
        async move {
            let mut failures = 0u32;
            loop {
                let slot = inner.reserve_slot(&sh).await?;
                let permit = inner.acquire(&sh, Operation::Submit).await?;
                sh.counters.call(Operation::Submit);
                let result = sh.api.submit(request).await;
                drop(permit);
                match result {
                    Ok(snapshot) => {
                        tracing::Span::current().record("job", snapshot.job.id.as_str());
                        tracing::debug!(status = %snapshot.status.raw, "submitted");
                        let holds = slot.disarm();
                        inner.register(
                            snapshot.job.clone(),
                            Some(snapshot.clone()),
                            Source::Submit,
                            options,
                            holds,
                        );
                        return Ok(snapshot);
                    }
                    Err(e) => {
                        drop(slot);
                        match inner.after_call_error(&sh, Operation::Submit, &e, failures) {
                            Retry::No => return Err(e),
                            Retry::AfterPause => continue,
                            Retry::Backoff => {
                                inner.sleep_backoff(failures).await;
                                failures += 1;
                            }
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Watches a job submitted earlier (the journal's resume): `known` is its last saved
    /// snapshot, if any. Watching a job already watched only takes `known` in.
    pub fn watch(
        &self,
        job: JobId,
        known: Option<Snapshot>,
        options: WatchOptions,
    ) -> Result<(), Error> {
        self.inner.shared(job.provider)?;
        // A snapshot of another job tells nothing about this one.
        let known = known.filter(|s| s.job == job);
        self.inner
            .register(job, known, Source::Journal, options, false);
        Ok(())
    }

    /// Resolves when `job` finishes: `Ok` with the terminal snapshot (succeeded, failed or
    /// cancelled: look at its status), or why it will not.
    pub fn wait(
        &self,
        job: &JobId,
    ) -> impl Future<Output = Result<Snapshot, WaitError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.inner.add_waiter(job, tx);
        async move { rx.await.unwrap_or(Err(WaitError::Shutdown)) }
    }

    /// Takes in what someone learned about a job: a poll of the caller's own, a saved
    /// snapshot, or a **verified** webhook event. A terminal snapshot finishes the job at once
    /// (its waits resolve); a finished job is never moved again. Unverified news must go to
    /// [`Scheduler::hint`] instead.
    pub fn observe(&self, snapshot: Snapshot, source: Source) -> Observed {
        let observed = self.inner.observe(snapshot, source);
        self.inner.poke();
        observed
    }

    /// Moves `job`'s next check to now (within its provider's budget and `Retry-After`), for
    /// news that cannot be trusted as a state change (an unverifiable webhook). Returns whether
    /// the job is watched.
    pub fn hint(&self, job: &JobId) -> bool {
        self.check_soon(job, false) == Observed::CheckSoon
    }

    /// The entry point for the webhook receiver: one decoded event and whether its signature
    /// and timestamp verified.
    ///
    /// - Unverified: only a [`Scheduler::hint`].
    /// - Verified, with a snapshot: [`Scheduler::observe`] as [`Source::VerifiedWebhook`]; a
    ///   terminal one ends the wait at once (unless
    ///   [`SchedulerConfig::confirm_terminal_webhooks`] asks for a confirming read).
    /// - Verified, a status but no snapshot: a non-terminal status is taken in; a terminal one
    ///   lacks what the download needs, so a status read goes out now (even inside
    ///   `Retry-After`: the provider itself said the job ended) and ends the wait.
    pub fn observe_webhook(&self, event: &WebhookEvent, verified: bool) -> Observed {
        let job = JobId::new(event.provider, event.job_id.clone());
        if !verified {
            return self.check_soon(&job, false);
        }
        let confirm = self.inner.config.confirm_terminal_webhooks;
        match (&event.snapshot, &event.status) {
            (Some(snapshot), _) if !(confirm && snapshot.is_terminal()) => {
                let mut snapshot = snapshot.clone();
                snapshot.job = job;
                self.observe(snapshot, Source::VerifiedWebhook)
            }
            (None, Some(status)) if !status.is_terminal() => {
                self.observe(Snapshot::new(job, status.clone()), Source::VerifiedWebhook)
            }
            _ => self.check_soon(&job, true),
        }
    }

    fn check_soon(&self, job: &JobId, past_retry_after: bool) -> Observed {
        let now = self.inner.now_ms();
        let mut st = lock(&self.inner.state);
        let Some(&slot) = st.index.get(job) else {
            return if st.finished.contains_key(job) {
                Observed::AlreadyFinished
            } else {
                Observed::NotWatched
            };
        };
        self.inner
            .bring_forward(&mut st, slot, now, past_retry_after);
        drop(st);
        self.inner.poke();
        Observed::CheckSoon
    }

    /// Cancels `job`: asks the provider where it can cancel (then watches until it confirms),
    /// else only stops watching and says so. Errors are the provider's; the job stays watched.
    pub async fn cancel(&self, job: &JobId) -> Result<CancelOutcome, Error> {
        let sh = self.inner.shared(job.provider)?;
        {
            let st = lock(&self.inner.state);
            if !st.index.contains_key(job) {
                return Ok(if st.finished.contains_key(job) {
                    CancelOutcome::AlreadyFinished
                } else {
                    CancelOutcome::NotWatched
                });
            }
        }
        let span = tracing::info_span!("cancel", provider = %job.provider, job = %job.id);
        let inner = self.inner.clone();
        async move {
            let now = inner.now_ms();
            if !sh.caps.cancel {
                let mut st = lock(&inner.state);
                let Some(&slot) = st.index.get(job) else {
                    return Ok(CancelOutcome::AlreadyFinished);
                };
                inner.emit(JobEvent::Cancelled {
                    job: job.clone(),
                    at: ts(now),
                    remote: false,
                });
                inner.finish(
                    &mut st,
                    slot,
                    Err(WaitError::CancelledLocally { job: job.clone() }),
                );
                tracing::info!("the provider cannot cancel: stopped watching");
                return Ok(CancelOutcome::StoppedWatching);
            }
            let mut failures = 0u32;
            loop {
                let permit = inner.acquire(&sh, Operation::Cancel).await?;
                sh.counters.call(Operation::Cancel);
                let result = sh.api.cancel(&job.id).await;
                drop(permit);
                match result {
                    Ok(()) => break,
                    Err(e) => match inner.after_call_error(&sh, Operation::Cancel, &e, failures) {
                        Retry::No => return Err(e),
                        Retry::AfterPause => continue,
                        Retry::Backoff => {
                            inner.sleep_backoff(failures).await;
                            failures += 1;
                        }
                    },
                }
            }
            let now = inner.now_ms();
            let mut st = lock(&inner.state);
            let Some(&slot) = st.index.get(job) else {
                return Ok(CancelOutcome::AlreadyFinished);
            };
            inner.emit(JobEvent::Cancelled {
                job: job.clone(),
                at: ts(now),
                remote: true,
            });
            // Confirm soon: the job ends when the provider reports it terminal.
            inner.bring_forward(&mut st, slot, now, false);
            drop(st);
            inner.poke();
            Ok(CancelOutcome::Requested)
        }
        .instrument(span)
        .await
    }

    /// Cancels every watched job (see [`Scheduler::cancel`]); remote cancels go out
    /// concurrently, within each provider's budget.
    pub async fn cancel_all(&self) -> CancelSummary {
        let jobs: Vec<JobId> = lock(&self.inner.state).index.keys().cloned().collect();
        let results = futures::future::join_all(jobs.iter().map(|job| self.cancel(job))).await;
        let mut summary = CancelSummary::default();
        for (job, result) in jobs.into_iter().zip(results) {
            match result {
                Ok(CancelOutcome::Requested) => summary.requested.push(job),
                Ok(CancelOutcome::StoppedWatching) => summary.stopped_watching.push(job),
                Ok(_) => {}
                Err(e) => summary.failed.push((job, e)),
            }
        }
        summary
    }

    /// Every event from now on.
    ///
    /// Lag policy: events go through a bounded broadcast channel
    /// ([`SchedulerConfig::event_capacity`]); the scheduler never waits for a subscriber. One
    /// that falls behind loses the oldest events and receives [`JobEvent::Lagged`] in their
    /// place. Outcomes are never lost that way: [`Scheduler::wait`] does not depend on events.
    pub fn events(&self) -> impl Stream<Item = JobEvent> + Send + Unpin + 'static {
        let rx = self.inner.events.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(event) => Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((JobEvent::Lagged { missed }, rx))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        }))
    }

    /// Calls made so far, per provider and operation, and the 429s received.
    pub fn stats(&self) -> Stats {
        let providers = self
            .inner
            .providers
            .iter()
            .map(|(p, sh)| (*p, sh.counters.read()))
            .collect();
        let st = lock(&self.inner.state);
        Stats {
            providers,
            watching: st.live(),
            finished: st.finished.len(),
        }
    }

    /// What is known of a watched job.
    pub fn job(&self, job: &JobId) -> Option<JobInfo> {
        let st = lock(&self.inner.state);
        let slot = *st.index.get(job)?;
        let j = st.job(slot)?;
        Some(JobInfo {
            job: j.job.clone(),
            status: st.provider_status(j),
            progress: j.progress.map(|(p, _)| f64::from(p)),
            next_check: (j.phase == Phase::Waiting).then(|| ts(j.next_check)),
            deadline: ts(j.deadline),
        })
    }

    /// Jobs being watched.
    pub fn watching(&self) -> Vec<JobId> {
        lock(&self.inner.state).index.keys().cloned().collect()
    }

    /// Forgets a finished job's outcome (kept so a late [`Scheduler::wait`] still gets it).
    /// Returns whether there was one.
    pub fn forget(&self, job: &JobId) -> bool {
        lock(&self.inner.state).finished.remove(job).is_some()
    }

    /// Resolves once the driver has done everything due at the current clock time and has no
    /// request out, with the time it will wake next on its own (`None`: nothing is
    /// scheduled). For tests and benchmarks in virtual time: set the clock to that time, await
    /// this again, and so on. (Submits and cancels waiting in callers' tasks are not included.)
    pub async fn settled(&self) -> Option<Timestamp> {
        let mut rx = self.inner.idle.subscribe();
        let want = self.inner.poke();
        loop {
            let (seen, wake) = *rx.borrow_and_update();
            if seen >= want || self.inner.shutdown.load(Ordering::SeqCst) {
                return wake.map(ts);
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Stops the driver; pending waits resolve with [`WaitError::Shutdown`].
    pub fn shutdown(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.wakers.wake_all();
    }
}

impl Driver {
    /// Runs until [`Scheduler::shutdown`]: sleeps on the clock until the next job is due (or
    /// new work arrives), makes the calls the budgets allow, takes in the answers.
    pub async fn run(self) {
        let inner = self.inner;
        // Dropped when this future ends or is dropped: waits must not hang on a dead driver.
        let _close = CloseOnDrop(inner.clone());
        let mut in_flight: FuturesUnordered<Request> = FuturesUnordered::new();
        loop {
            if inner.shutdown.load(Ordering::SeqCst) {
                break;
            }
            let seen = inner.pokes.load(Ordering::SeqCst);
            let now = inner.now_ms();
            let (launches, wake) = inner.dispatch(now);
            in_flight.extend(launches);
            if in_flight.is_empty() {
                inner.idle.send_replace((seen, wake));
            }
            let sleep = async {
                match wake {
                    Some(at) => inner.clock.sleep_until(ts(at)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                done = in_flight.next(), if !in_flight.is_empty() => {
                    if let Some(done) = done {
                        inner.complete(done);
                    }
                }
                _ = inner.wakers.driver.notified() => {}
                _ = sleep => {}
            }
        }
    }
}

struct CloseOnDrop(Arc<Inner>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Inner {
    fn now_ms(&self) -> i64 {
        ms(self.clock.now())
    }

    fn shared(&self, provider: Provider) -> Result<Arc<ProviderShared>, Error> {
        self.providers
            .get(&provider)
            .cloned()
            .ok_or_else(|| Error::Config(format!("the scheduler has no adapter for {provider}")))
    }

    fn emit(&self, event: JobEvent) {
        // No subscriber is not an error.
        let _ = self.events.send(event);
    }

    /// Asks the driver to look again; returns the request's number.
    fn poke(&self) -> u64 {
        let n = self.pokes.fetch_add(1, Ordering::SeqCst) + 1;
        self.wakers.driver.notify_one();
        n
    }

    fn close(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        let mut st = lock(&self.state);
        // Dropping the waiters' senders resolves their waits with `Shutdown`.
        for job in st.jobs.iter_mut().flatten() {
            job.waiters.clear();
        }
        drop(st);
        self.idle.send_replace((u64::MAX, None));
        self.wakers.wake_all();
    }

    /// Waits for a token and an in-flight slot for `op` on this provider.
    async fn acquire(&self, sh: &Arc<ProviderShared>, op: Operation) -> Result<Permit, Error> {
        if self.shutdown.load(Ordering::SeqCst) {
            return Err(Error::Config("the scheduler shut down".into()));
        }
        acquire(&self.clock, &self.wakers, sh, op).await
    }

    /// Waits for one of the provider's in-flight task slots, where it has such a limit.
    async fn reserve_slot(self: &Arc<Self>, sh: &Arc<ProviderShared>) -> Result<SlotGuard, Error> {
        let Some(limit) = sh.config.budget.max_in_flight_tasks else {
            return Ok(SlotGuard {
                inner: self.clone(),
                provider: sh.provider,
                armed: false,
            });
        };
        loop {
            let notified = self.wakers.budget.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shutdown.load(Ordering::SeqCst) {
                return Err(Error::Config("the scheduler shut down".into()));
            }
            {
                let mut st = lock(&self.state);
                let held = &mut st.tasks[pidx(sh.provider)];
                if *held < limit.max(1) {
                    *held += 1;
                    return Ok(SlotGuard {
                        inner: self.clone(),
                        provider: sh.provider,
                        armed: true,
                    });
                }
            }
            tracing::debug!(provider = %sh.provider, limit, "waiting for an in-flight task slot");
            notified.await;
        }
    }

    async fn sleep_backoff(&self, failures: u32) {
        let wait = {
            let mut st = lock(&self.state);
            self.backoff.delay(failures, &mut st.rng)
        };
        self.clock.sleep(wait.max(self.config.min_interval)).await;
    }

    /// Counts a failed submit or cancel, applies any pause it calls for, and says whether to
    /// try again.
    fn after_call_error(
        &self,
        sh: &ProviderShared,
        op: Operation,
        e: &Error,
        failures: u32,
    ) -> Retry {
        sh.counters.error(e);
        let now = self.now_ms();
        let retry = match e.kind() {
            Some(ErrorKind::RateLimited) => {
                self.pause_provider(sh, e, now);
                Retry::AfterPause
            }
            Some(ErrorKind::ConcurrencyLimited) if op == Operation::Submit => {
                // Not a request rate: only submits wait. The slot was released, so a job of
                // ours finishing lets the retry go sooner than a blind wait would.
                let wait = match e.retry_after() {
                    Some(d) => dur_ms(d),
                    None => {
                        let mut st = lock(&self.state);
                        dur_ms(self.backoff.delay(failures, &mut st.rng))
                    }
                };
                lock(&sh.gate).pause_submits(now + wait.max(dur_ms(self.config.min_interval)));
                Retry::AfterPause
            }
            _ if matches!(e, Error::UncertainSubmit { .. }) => Retry::No,
            _ if failures + 1 >= self.config.max_call_attempts => Retry::No,
            _ if op == Operation::Submit => {
                // A submit is retried only when it surely created nothing.
                let not_sent = matches!(e, Error::Transport { failure, .. } if !failure.maybe_delivered())
                    && e.is_transient();
                let server_error = sh.config.retry_submit_on_server_error
                    && e.kind() == Some(ErrorKind::Unavailable);
                if not_sent || server_error {
                    Retry::Backoff
                } else {
                    Retry::No
                }
            }
            _ if e.is_transient() => Retry::Backoff,
            _ => Retry::No,
        };
        self.emit(JobEvent::Error {
            job: None,
            provider: sh.provider,
            operation: op,
            at: ts(now),
            message: e.to_string(),
            will_retry: !matches!(retry, Retry::No),
        });
        retry
    }

    /// A 429: no request to this provider until its `Retry-After` (or a growing backoff).
    fn pause_provider(&self, sh: &ProviderShared, e: &Error, now: i64) -> i64 {
        let wait = match e.retry_after() {
            Some(d) => dur_ms(d),
            None => {
                let mut st = lock(&self.state);
                let streak = &mut st.rate_limit_streak[pidx(sh.provider)];
                *streak = streak.saturating_add(1);
                dur_ms(self.backoff.ceiling(*streak - 1))
            }
        }
        .max(dur_ms(self.config.min_interval));
        let until = now + wait;
        lock(&sh.gate).pause(until);
        tracing::warn!(provider = %sh.provider, wait_ms = wait, "429: pausing every request to the provider");
        self.emit(JobEvent::RateLimited {
            provider: sh.provider,
            at: ts(now),
            until: ts(until),
        });
        until
    }

    /// Starts watching the job `snapshot` describes (or takes it in if already watched).
    fn register(
        &self,
        job: JobId,
        snapshot: Option<Snapshot>,
        source: Source,
        options: WatchOptions,
        holds_slot: bool,
    ) {
        let now = self.now_ms();
        let mut st = lock(&self.state);
        if st.index.contains_key(&job) || st.finished.contains_key(&job) {
            if holds_slot {
                st.tasks[pidx(job.provider)] = st.tasks[pidx(job.provider)].saturating_sub(1);
            }
            drop(st);
            self.wakers.wake_all();
            if let Some(snapshot) = snapshot {
                self.observe(snapshot, source);
            }
            self.poke();
            return;
        }
        let deadline = now.saturating_add(dur_ms(
            options.deadline.unwrap_or(self.config.default_deadline),
        ));
        let mut state = JobState::new(job.clone(), now, deadline);
        if let Some(started) = options.started_at {
            state.start = ms(started).min(now);
            state.flags |= START_KNOWN;
        } else if source == Source::Submit {
            state.flags |= START_KNOWN;
        }
        let snapshot_tool = snapshot.as_ref().and_then(|s| s.tool.as_deref());
        if let Some(tool) = options.tool.as_deref().or(snapshot_tool) {
            state.tool = st.tools.intern(&state::normalize_tool(tool));
        }
        if let Some(work) = options.work.filter(|w| w.is_finite() && *w > 0.0) {
            state.work = work as f32;
        }
        if holds_slot {
            state.flags |= HOLDS_SLOT;
        } else if let Some(sh) = self.providers.get(&job.provider) {
            // A resumed job occupies one of the provider's task slots just the same.
            let terminal = snapshot.as_ref().is_some_and(Snapshot::is_terminal);
            if sh.config.budget.max_in_flight_tasks.is_some() && !terminal {
                st.tasks[pidx(job.provider)] += 1;
                state.flags |= HOLDS_SLOT;
            }
        }
        let p = pidx(job.provider);
        state.list_seq = st.list_seq_next[p];
        st.list_seq_next[p] = st.list_seq_next[p].wrapping_add(1);
        let slot = st.insert(state);
        self.emit(if source == Source::Submit {
            JobEvent::Submitted {
                job: job.clone(),
                at: ts(now),
            }
        } else {
            JobEvent::Watching {
                job: job.clone(),
                at: ts(now),
            }
        });
        match snapshot {
            Some(snapshot) => {
                self.apply(&mut st, slot, snapshot, source, now, true);
            }
            None => self.schedule_planned(&mut st, slot, now),
        }
        drop(st);
        self.poke();
    }

    fn add_waiter(&self, job: &JobId, tx: oneshot::Sender<Result<Snapshot, WaitError>>) {
        let mut st = lock(&self.state);
        if self.shutdown.load(Ordering::SeqCst) {
            let _ = tx.send(Err(WaitError::Shutdown));
            return;
        }
        if let Some(&slot) = st.index.get(job) {
            if let Some(j) = st.job_mut(slot) {
                j.waiters.push(tx);
                return;
            }
        }
        let result = match st.finished.get(job) {
            Some(Ok(snapshot)) => Ok(Snapshot::clone(snapshot)),
            Some(Err(e)) => Err(e.clone()),
            None => Err(WaitError::NotWatched(job.clone())),
        };
        let _ = tx.send(result);
    }

    fn observe(&self, snapshot: Snapshot, source: Source) -> Observed {
        let now = self.now_ms();
        let mut st = lock(&self.state);
        let Some(&slot) = st.index.get(&snapshot.job) else {
            return if st.finished.contains_key(&snapshot.job) {
                Observed::AlreadyFinished
            } else {
                Observed::NotWatched
            };
        };
        // A job whose request is out is rescheduled when the answer comes; otherwise what we
        // just learned sets its next check.
        let reschedule = st.job(slot).is_some_and(|j| j.phase != Phase::InFlight);
        self.apply(&mut st, slot, snapshot, source, now, reschedule)
    }

    /// Takes a snapshot of a watched job in: finishes it if terminal, else updates what the
    /// planner knows, emits events, and (if `reschedule`) plans its next check.
    fn apply(
        &self,
        st: &mut State,
        slot: u32,
        snapshot: Snapshot,
        source: Source,
        now: i64,
        reschedule: bool,
    ) -> Observed {
        let Some(job) = st.job(slot) else {
            return Observed::NotWatched;
        };
        let span = tracing::debug_span!("observe", provider = %job.job.provider, job = %job.job.id, ?source);
        let _enter = span.enter();
        // An answer to our own request (the submit's included) carries Retry-After and resets
        // the backoff; news from elsewhere does not.
        let polled = matches!(source, Source::Poll | Source::List | Source::Submit);
        if snapshot.is_terminal() {
            if snapshot.status.status == Status::Succeeded && job.has(START_KNOWN) {
                let took = Duration::from_millis((now - job.start).max(0) as u64);
                let key = (job.job.provider, job.tool);
                let work = f64::from(job.work);
                st.models
                    .entry(key)
                    .or_insert_with(DurationModel::new)
                    .record(took);
                if work > 0.0 {
                    st.scaled
                        .entry((key.0, key.1, plan::size_class(work)))
                        .or_insert_with(|| ScaledModel::new(work))
                        .record(took, work);
                }
            }
            let at = ts(now);
            let snapshot = Arc::new(snapshot);
            tracing::debug!(status = %snapshot.status.raw, "terminal");
            self.emit(JobEvent::Terminal {
                job: snapshot.job.clone(),
                at,
                snapshot: snapshot.clone(),
                source,
            });
            self.finish(st, slot, Ok(snapshot));
            return Observed::Finished;
        }

        let raw = st.raws.intern(&snapshot.status.raw);
        let Some(job) = st.job_mut(slot) else {
            return Observed::NotWatched;
        };
        let changed = job.status != Some(snapshot.status.status)
            || job.raw != raw
            || job.recognized != snapshot.status.recognized;
        job.status = Some(snapshot.status.status);
        job.raw = raw;
        job.recognized = snapshot.status.recognized;
        if polled {
            job.last_check = now;
            let cap = self
                .providers
                .get(&snapshot.job.provider)
                .and_then(|sh| sh.config.retry_after_cap)
                .map_or(i64::MAX, dur_ms);
            job.retry_after_ms = snapshot.retry_after.map_or(0, |d| dur_ms(d).min(cap));
            // An answer we cannot read is polled again with backoff; a readable one resets it.
            job.attempt = if snapshot.status.recognized {
                0
            } else {
                job.attempt.saturating_add(1)
            };
            st.rate_limit_streak[pidx(snapshot.job.provider)] = 0;
        }
        let Some(job) = st.job_mut(slot) else {
            return Observed::NotWatched;
        };
        job.queue_position = snapshot.queue_position;
        if let Some(eta) = snapshot.estimated_completion {
            job.eta = Some(ms(eta));
        } else if snapshot.status.status == Status::Running {
            // An estimate made while queued says nothing once running.
            job.eta = None;
        }
        if let Some(created) = snapshot.created_at {
            if !job.has(START_FROM_PROVIDER) {
                job.start = ms(created).min(now);
                job.flags |= START_KNOWN | START_FROM_PROVIDER;
            }
        }
        let mut progressed = None;
        if let Some(p) = snapshot.progress {
            let p = p.clamp(0.0, 100.0) as f32;
            match job.progress {
                Some((old, _)) if old == p => {}
                Some((old, at)) if old < p => {
                    job.prev_progress = Some((old, at));
                    job.progress = Some((p, now));
                    progressed = Some(p);
                }
                _ => {
                    // First reading, or a new attempt started over.
                    job.prev_progress = None;
                    job.progress = Some((p, now));
                    progressed = Some(p);
                }
            }
        }
        let id = job.job.clone();
        if changed {
            if snapshot.status.recognized {
                self.emit(JobEvent::StatusChanged {
                    job: id.clone(),
                    at: ts(now),
                    status: snapshot.status.clone(),
                    source,
                });
            } else {
                tracing::warn!(raw = %snapshot.status.raw, "unrecognized status: polling on with backoff");
                self.emit(JobEvent::UnrecognizedStatus {
                    job: id.clone(),
                    at: ts(now),
                    raw: snapshot.status.raw.clone(),
                });
            }
        }
        if let Some(p) = progressed {
            self.emit(JobEvent::Progress {
                job: id,
                at: ts(now),
                percent: f64::from(p),
            });
        }
        if reschedule {
            self.schedule_planned(st, slot, now);
        }
        Observed::Updated
    }

    /// Ends a job: its waiters get `outcome`, its task slot is freed, it is remembered as
    /// finished so no later answer can move it.
    fn finish(&self, st: &mut State, slot: u32, outcome: Outcome) {
        let Some(job) = st.remove(slot) else {
            return;
        };
        if job.has(HOLDS_SLOT) {
            let n = &mut st.tasks[pidx(job.job.provider)];
            *n = n.saturating_sub(1);
            self.wakers.budget.notify_waiters();
        }
        for waiter in job.waiters {
            let _ = waiter.send(match &outcome {
                Ok(s) => Ok(Snapshot::clone(s)),
                Err(e) => Err(e.clone()),
            });
        }
        st.finished.insert(job.job, outcome);
    }

    fn deadline_passed(&self, st: &mut State, slot: u32, now: i64) {
        let Some(job) = st.job(slot) else {
            return;
        };
        let id = job.job.clone();
        let last = st.provider_status(job);
        tracing::info!(provider = %id.provider, job = %id.id, "deadline passed");
        self.emit(JobEvent::DeadlinePassed {
            job: id.clone(),
            at: ts(now),
        });
        self.finish(st, slot, Err(WaitError::DeadlinePassed { job: id, last }));
    }

    /// Puts the job in the heap to be checked after `delay_ms` (but by its deadline).
    fn schedule_in(&self, st: &mut State, slot: u32, now: i64, delay_ms: i64) {
        let epoch = st.bump_epoch();
        let Some(job) = st.job_mut(slot) else {
            return;
        };
        let due = now.saturating_add(delay_ms.max(0)).min(job.deadline);
        job.epoch = epoch;
        job.phase = Phase::Waiting;
        job.next_check = due;
        st.heap.push(Reverse(Entry { due, epoch, slot }));
        st.compact_heap();
    }

    fn schedule_planned(&self, st: &mut State, slot: u32, now: i64) {
        let delay = self.plan(st, slot, now);
        self.schedule_in(st, slot, now, delay);
    }

    /// The wait before the job's next check.
    fn plan(&self, st: &mut State, slot: u32, now: i64) -> i64 {
        let Some(job) = st.job(slot) else {
            return 0;
        };
        let Some(sh) = self.providers.get(&job.job.provider) else {
            return dur_ms(self.config.max_interval);
        };
        let cfg = &self.config;
        let attempt = job.attempt;
        let floor = job.last_check + job.retry_after_ms - now;
        let mut delay = if attempt > 0 {
            let d = self.backoff.delay(u32::from(attempt) - 1, &mut st.rng);
            dur_ms(d)
        } else {
            let timing = JobTiming {
                start: job.start,
                status: job.status.unwrap_or(Status::Queued),
                queue_position: job.queue_position,
                eta: job.eta,
                progress: job.progress,
                prev_progress: job.prev_progress,
            };
            let usual = self.usual_duration(st, job, &sh.config);
            plan::planned_delay(&timing, now, &sh.params, usual)
        };
        delay = delay.clamp(dur_ms(cfg.min_interval), dur_ms(cfg.max_interval).max(1));
        if let Some(safety) = cfg.safety_poll {
            // Webhooks bring the news; polls only make sure none was lost.
            delay = delay.max(dur_ms(safety));
        }
        if cfg.respect_retry_after {
            delay = delay.max(floor);
        }
        delay
    }

    /// How long jobs like this one usually take: learned for jobs of its size, else the
    /// documented prior per unit of work, else learned for its tool, else the tool's prior,
    /// else the provider's.
    fn usual_duration(
        &self,
        st: &State,
        job: &JobState,
        pc: &ProviderConfig,
    ) -> (Duration, Duration) {
        let enough = |samples: u32| samples >= self.config.min_samples;
        let work = f64::from(job.work);
        if work > 0.0 {
            // The adapter gives a size only where duration grows with it.
            let key = (job.job.provider, job.tool, plan::size_class(work));
            let learned = st
                .scaled
                .get(&key)
                .filter(|m| enough(m.samples()))
                .and_then(|m| Some((m, m.quantile(0.05)?, m.quantile(0.95)?)));
            if let Some((m, lo, hi)) = learned {
                return (m.for_work(lo, work), m.for_work(hi, work));
            }
            if let Some(per_unit) = pc.work_prior {
                return (per_unit.min.mul_f64(work), per_unit.max.mul_f64(work));
            }
        }
        let learned = st
            .models
            .get(&(job.job.provider, job.tool))
            .filter(|m| enough(m.samples()))
            .and_then(|m| Some((m.quantile(0.05)?, m.quantile(0.95)?)));
        if let Some(range) = learned {
            return range;
        }
        let prior = (job.tool != NONE)
            .then(|| st.tools.get(job.tool))
            .flatten()
            .and_then(|tool| pc.tool_priors.get(tool))
            .unwrap_or(&pc.prior);
        (prior.min, prior.max)
    }

    /// Moves a waiting job's check to now (or its Retry-After floor, if later and not
    /// `past_retry_after`).
    fn bring_forward(&self, st: &mut State, slot: u32, now: i64, past_retry_after: bool) {
        let Some(job) = st.job(slot) else {
            return;
        };
        if job.phase != Phase::Waiting {
            // Due already, or being checked right now.
            return;
        }
        let floor = if self.config.respect_retry_after && !past_retry_after {
            job.last_check + job.retry_after_ms - now
        } else {
            0
        };
        let delay = floor.max(0);
        if now + delay < job.next_check {
            self.schedule_in(st, slot, now, delay);
        }
    }

    /// Moves due jobs to their ready queues and starts the requests the budgets allow.
    /// Returns them and when to wake next.
    fn dispatch(&self, now: i64) -> (Vec<Request>, Option<i64>) {
        let mut st = lock(&self.state);
        let st = &mut *st;
        let mut wake: Option<i64> = None;
        let soon = |t: i64, wake: &mut Option<i64>| {
            *wake = Some(wake.map_or(t, |w| w.min(t)));
        };

        // 1. Timers. Jobs of a listing provider due within the batch window come along with
        //    those due now, so one list call serves them all.
        while let Some(&Reverse(e)) = st.heap.peek() {
            if e.due > now {
                break;
            }
            st.heap.pop();
            let Some(job) = st.current(e.slot, e.epoch, Phase::Waiting) else {
                continue;
            };
            if now >= job.deadline {
                self.deadline_passed(st, e.slot, now);
            } else {
                self.make_ready(st, e.slot);
            }
        }
        let mut sweep = [false; 3];
        for sh in self.providers.values() {
            let p = pidx(sh.provider);
            sweep[p] = sh.caps.list && !st.ready_list[p].is_empty() && !st.early_swept[p];
        }
        if sweep.iter().any(|&s| s) {
            let horizon = now.saturating_add(dur_ms(self.config.batch_window));
            let mut keep = Vec::new();
            while let Some(&Reverse(e)) = st.heap.peek() {
                if e.due > horizon {
                    break;
                }
                st.heap.pop();
                let Some(job) = st.current(e.slot, e.epoch, Phase::Waiting) else {
                    continue;
                };
                if sweep[pidx(job.job.provider)] && self.listable(job) && !job.has(BEYOND_SWEEP) {
                    self.make_ready(st, e.slot);
                } else {
                    keep.push(e);
                }
            }
            for e in keep {
                st.heap.push(Reverse(e));
            }
            for (p, swept) in sweep.iter().enumerate() {
                if *swept {
                    st.early_swept[p] = true;
                }
            }
        }

        // 2. Requests, provider by provider, within budget.
        let mut launches: Vec<Request> = Vec::new();
        for sh in self.providers.values() {
            let p = pidx(sh.provider);
            loop {
                let use_list =
                    sh.caps.list && st.ready_list[p].len() >= self.config.min_list_batch.max(1);
                if !use_list {
                    // Too few for a list: check them one by one.
                    let moved: Vec<_> = st.ready_list[p].drain(..).collect();
                    st.ready_status[p].extend(moved);
                    // Drop stale entries and jobs past their deadline before spending budget.
                    while let Some(&(slot, epoch)) = st.ready_status[p].front() {
                        match st.current(slot, epoch, Phase::Ready) {
                            None => {
                                st.ready_status[p].pop_front();
                            }
                            Some(job) if now >= job.deadline => {
                                st.ready_status[p].pop_front();
                                self.deadline_passed(st, slot, now);
                            }
                            Some(_) => break,
                        }
                    }
                    if st.ready_status[p].is_empty() {
                        break;
                    }
                }
                let op = if use_list {
                    Operation::List
                } else {
                    Operation::Status
                };
                let taken = lock(&sh.gate).try_take(op, now);
                match taken {
                    Ok(()) => {}
                    Err(Blocked::Until(at)) => {
                        soon(at, &mut wake);
                        break;
                    }
                    // A request ending wakes the driver.
                    Err(Blocked::Busy) => break,
                }
                let permit = Permit::new(sh.gate.clone(), self.wakers.clone());
                if use_list {
                    let Some((targets, depth)) = self.plan_sweep(st, sh, now) else {
                        // Every due job is read by status: the list's token goes back.
                        lock(&sh.gate).refund(Operation::List, now);
                        drop(permit);
                        continue;
                    };
                    launches.push(self.launch_list(st, sh, targets, depth, permit));
                } else if let Some((slot, epoch)) = st.ready_status[p].pop_front() {
                    if let Some(job) = st.current(slot, epoch, Phase::Ready) {
                        job.phase = Phase::InFlight;
                        let id = job.job.clone();
                        launches.push(self.launch_status(sh, slot, epoch, id, permit));
                    }
                }
            }
        }

        for p in 0..3 {
            if st.ready_list[p].is_empty() {
                // The batch went out (or was read by status): the next one sweeps again.
                st.early_swept[p] = false;
            }
        }
        if let Some(Reverse(e)) = st.heap.peek() {
            soon(e.due, &mut wake);
        }
        (launches, wake.map(|w| w.max(now + 1)))
    }

    /// Splits a provider's due list batch: the jobs a sweep of the paying depth reaches go out
    /// on it (returned, with the depth), the others to status reads. `None` when no depth pays.
    fn plan_sweep(
        &self,
        st: &mut State,
        sh: &ProviderShared,
        now: i64,
    ) -> Option<(Vec<(u32, u64)>, u32)> {
        let p = pidx(sh.provider);
        let limit = sh.config.list_limit;
        let mut due = Vec::with_capacity(st.ready_list[p].len());
        while let Some((slot, epoch)) = st.ready_list[p].pop_front() {
            match st.current(slot, epoch, Phase::Ready) {
                None => {}
                Some(job) if now >= job.deadline => self.deadline_passed(st, slot, now),
                Some(_) => {
                    if let Some(job) = st.job(slot) {
                        due.push((slot, epoch, st.expected_page(job, limit)));
                    }
                }
            }
        }
        let pages: Vec<u32> = due.iter().map(|&(_, _, page)| page).collect();
        let depth = plan::sweep_depth(
            &pages,
            sh.config.list_max_pages.max(1),
            sh.config.list_page_cost,
            self.config.min_list_batch,
        );
        let mut targets = Vec::new();
        for (slot, epoch, page) in due {
            let Some(job) = st.job_mut(slot) else {
                continue;
            };
            if page < depth {
                job.phase = Phase::InFlight;
                job.flags &= !BEYOND_SWEEP;
                targets.push((slot, epoch));
            } else if job.next_check > now {
                // Gathered early for a sweep that will not reach it: back to its own time.
                job.flags |= BEYOND_SWEEP;
                let wait = job.next_check - now;
                self.schedule_in(st, slot, now, wait);
            } else {
                job.flags &= !BEYOND_SWEEP;
                st.ready_status[p].push_back((slot, epoch));
            }
        }
        (!targets.is_empty()).then_some((targets, depth))
    }

    fn listable(&self, job: &JobState) -> bool {
        self.providers
            .get(&job.job.provider)
            .is_some_and(|sh| sh.caps.list && sh.config.list_limit > 0)
            && !job.has(LIST_MISS)
    }

    fn make_ready(&self, st: &mut State, slot: u32) {
        let Some(job) = st.job(slot) else {
            return;
        };
        let listable = self.listable(job);
        let p = pidx(job.job.provider);
        let epoch = st.bump_epoch();
        let Some(job) = st.job_mut(slot) else {
            return;
        };
        job.epoch = epoch;
        job.phase = Phase::Ready;
        if listable {
            st.ready_list[p].push_back((slot, epoch));
        } else {
            st.ready_status[p].push_back((slot, epoch));
        }
    }

    fn launch_status(
        &self,
        sh: &Arc<ProviderShared>,
        slot: u32,
        epoch: u64,
        job: JobId,
        permit: Permit,
    ) -> Request {
        sh.counters.call(Operation::Status);
        let api = sh.api.clone();
        let span = tracing::debug_span!("status", provider = %job.provider, job = %job.id);
        Box::pin(
            async move {
                let result = api.status(&job.id).await;
                drop(permit);
                Done::Status {
                    slot,
                    epoch,
                    result,
                }
            }
            .instrument(span),
        )
    }

    fn launch_list(
        &self,
        st: &State,
        sh: &Arc<ProviderShared>,
        targets: Vec<(u32, u64)>,
        depth: u32,
        permit: Permit,
    ) -> Request {
        let wanted: HashSet<String> = targets
            .iter()
            .filter_map(|&(slot, _)| st.job(slot).map(|j| j.job.id.clone()))
            .collect();
        let sh = sh.clone();
        let limit = sh.config.list_limit;
        let max_pages = sh.config.list_max_pages.max(1);
        let min_batch = self.config.min_list_batch.max(1);
        let span =
            tracing::debug_span!("list", provider = %sh.provider, jobs = targets.len(), depth);
        let clock = self.clock.clone();
        let wakers = self.wakers.clone();
        Box::pin(
            async move {
                let mut permit = Some(permit);
                let mut missing = wanted;
                let mut items = Vec::new();
                let mut cursor = None;
                let mut pages = 0;
                let error = loop {
                    let permit_now = match permit.take() {
                        Some(p) => p,
                        None => match acquire(&clock, &wakers, &sh, Operation::List).await {
                            Ok(p) => p,
                            Err(e) => break Some(e),
                        },
                    };
                    sh.counters.call(Operation::List);
                    let query = ListQuery {
                        limit: Some(limit),
                        cursor: cursor.take(),
                        status: None,
                        self_only: true,
                    };
                    let result = sh.api.list(&query).await;
                    drop(permit_now);
                    match result {
                        Ok(page) => {
                            pages += 1;
                            sh.counters.listed(page.items.len());
                            let before = missing.len();
                            for s in &page.items {
                                missing.remove(&s.job.id);
                            }
                            let found = before - missing.len();
                            items.extend(page.items);
                            // The planned depth is a guess from submit order: executions created
                            // elsewhere with the same key push ours further down. Past it, a page
                            // pays while the last one still found targets and two or more are
                            // missing; none found means the rest are not on this list.
                            let more = if pages < depth {
                                !missing.is_empty()
                            } else {
                                found > 0 && missing.len() >= min_batch && pages < max_pages
                            };
                            if more && page.next_cursor.is_some() {
                                cursor = page.next_cursor;
                                continue;
                            }
                            break None;
                        }
                        Err(e) => break Some(e),
                    }
                };
                Done::List {
                    provider: sh.provider,
                    targets,
                    items,
                    error,
                }
            }
            .instrument(span),
        )
    }

    /// Takes in the answer to a status or list request.
    fn complete(&self, done: Done) {
        let now = self.now_ms();
        let mut st = lock(&self.state);
        let st = &mut *st;
        match done {
            Done::Status {
                slot,
                epoch,
                result,
            } => {
                let Some(job) = st.current(slot, epoch, Phase::InFlight) else {
                    // The job finished (a webhook, a cancel, a deadline) while we asked.
                    if let Err(e) = &result {
                        self.note_error_without_job(e, now);
                    }
                    return;
                };
                let id = job.job.clone();
                match result {
                    Ok(mut snapshot) => {
                        // The adapter answers for the id we asked about, whatever it echoes.
                        snapshot.job = id;
                        self.apply(st, slot, snapshot, Source::Poll, now, true);
                    }
                    Err(e) => self.job_error(st, slot, Operation::Status, &e, now, true),
                }
            }
            Done::List {
                provider,
                targets,
                items,
                error,
            } => {
                let mut seen = HashSet::new();
                for snapshot in items {
                    if snapshot.job.provider != provider {
                        continue;
                    }
                    let Some(&slot) = st.index.get(&snapshot.job) else {
                        continue;
                    };
                    seen.insert(slot);
                    let reschedule = st.job(slot).is_some_and(|j| {
                        j.phase != Phase::InFlight
                            || targets.iter().any(|&(s, g)| s == slot && g == j.epoch)
                    });
                    self.apply(st, slot, snapshot, Source::List, now, reschedule);
                }
                if let Some(e) = &error {
                    // One failed call, counted once whatever number of jobs it was about.
                    if let Some(sh) = self.providers.get(&provider) {
                        sh.counters.error(e);
                        if e.kind() == Some(ErrorKind::RateLimited) {
                            self.pause_provider(sh, e, now);
                        }
                    }
                }
                let mut fallback = 0usize;
                for (slot, epoch) in targets {
                    if seen.contains(&slot) || st.current(slot, epoch, Phase::InFlight).is_none() {
                        continue;
                    }
                    match &error {
                        Some(e) => self.job_error(st, slot, Operation::List, e, now, false),
                        None => {
                            // Not on the pages we read: too old for the list, so it is checked
                            // by status now and from now on.
                            if let Some(job) = st.job_mut(slot) {
                                job.flags |= LIST_MISS;
                            }
                            self.make_ready(st, slot);
                            fallback += 1;
                        }
                    }
                }
                if fallback > 0 {
                    tracing::debug!(%provider, fallback, "jobs missing from the list: status reads");
                }
            }
        }
    }

    /// Counts an error whose job is gone; a 429 still pauses its provider.
    fn note_error_without_job(&self, e: &Error, now: i64) {
        if let Some(api) = e.api() {
            if let Some(sh) = self.providers.get(&api.provider) {
                sh.counters.error(e);
                if api.kind == ErrorKind::RateLimited {
                    self.pause_provider(sh, e, now);
                }
            }
        }
    }

    /// A status or list request about a job failed.
    ///
    /// `count`: count the error and apply its pause here (a list's error was already).
    fn job_error(
        &self,
        st: &mut State,
        slot: u32,
        op: Operation,
        e: &Error,
        now: i64,
        count: bool,
    ) {
        let Some(job) = st.job(slot) else {
            return;
        };
        let id = job.job.clone();
        let Some(sh) = self.providers.get(&id.provider) else {
            return;
        };
        if count {
            sh.counters.error(e);
        }
        let mut delay = 0;
        if e.kind() == Some(ErrorKind::RateLimited) {
            let until = if count {
                self.pause_provider(sh, e, now)
            } else {
                lock(&sh.gate).paused_until(now).unwrap_or(now)
            };
            delay = until - now;
        }
        let transient = e.is_transient();
        self.emit(JobEvent::Error {
            job: Some(id.clone()),
            provider: id.provider,
            operation: op,
            at: ts(now),
            message: e.to_string(),
            will_retry: transient,
        });
        if !transient {
            tracing::warn!(provider = %id.provider, job = %id.id, error = %e, "giving up on the job");
            self.finish(
                st,
                slot,
                Err(WaitError::Provider {
                    job: id,
                    source: e.clone(),
                }),
            );
            return;
        }
        let Some(job) = st.job_mut(slot) else {
            return;
        };
        job.attempt = job.attempt.saturating_add(1);
        let attempt = u32::from(job.attempt) - 1;
        let backoff = dur_ms(self.backoff.delay(attempt, &mut st.rng));
        let retry_after = e.retry_after().map(dur_ms).unwrap_or(0);
        let delay = delay
            .max(backoff)
            .max(retry_after)
            .max(dur_ms(self.config.min_interval));
        tracing::debug!(provider = %id.provider, job = %id.id, error = %e, delay_ms = delay, "retrying");
        self.schedule_in(st, slot, now, delay);
    }
}

/// Waits for a token and an in-flight slot for `op` on `sh`'s provider.
async fn acquire(
    clock: &Arc<dyn Clock>,
    wakers: &Arc<Wakers>,
    sh: &Arc<ProviderShared>,
    op: Operation,
) -> Result<Permit, Error> {
    loop {
        // Registered before looking, so a release between the look and the wait is not lost.
        let notified = wakers.budget.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = ms(clock.now());
        let taken = lock(&sh.gate).try_take(op, now);
        match taken {
            Ok(()) => return Ok(Permit::new(sh.gate.clone(), wakers.clone())),
            Err(Blocked::Until(at)) => {
                tokio::select! {
                    _ = &mut notified => {}
                    _ = clock.sleep_until(ts(at)) => {}
                }
            }
            Err(Blocked::Busy) => notified.await,
        }
    }
}
