//! `run` and `resume`: a batch of jobs, durably (DESIGN.md, the flow of one job, and "Hard
//! cases, decided").
//!
//! The protocol with the journal (docs/journal.md): every job's intent is written before
//! anything is sent; each POST is preceded by the journal's *sending* marker and followed by
//! exactly one of submitted / not sent / rejected / uncertain; every status learned and every
//! file saved is written as it happens. A crash at any point therefore resumes without losing a
//! job, and an uncertain submit is reconciled (VideoGen, Vidiking) or reported (VibePeak),
//! never blindly sent again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use mediajobs_core::{Clock, Error, JobId, Operation, Provider, ProviderApi, Snapshot, Status};
use mediajobs_journal::{
    Intent, IntentOutcome, JobRecord, JobState, Journal, NewDownload, NextStep, ReconcileOptions,
    ReconcileOutcome, SqliteJournal, SubmitGate, Summary,
};
use mediajobs_scheduler::{JobEvent, Scheduler, SchedulerConfig, Stats, WaitError, WatchOptions};
use mediajobs_transport::Transport;
use serde::Serialize;

use crate::batch::BatchLine;
use crate::download::{download_output, file_name};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Save every result here (`{dir}/{provider}/{key}.{ext}`).
    pub download_dir: Option<PathBuf>,
    /// Send uncertain submits that cannot be reconciled (VibePeak) again: may pay twice.
    pub resubmit_uncertain: bool,
    /// How long each job is waited for (client clock) before the run gives up on it.
    pub deadline: Duration,
    /// Per-job webhook URLs, by provider (VibePeak `webhook_url`, Vidiking `callback`).
    pub webhook_urls: BTreeMap<Provider, String>,
    /// Scheduler settings.
    pub scheduler: SchedulerConfig,
    /// Transient submit failures (nothing sent) tolerated per job before it is left pending.
    pub submit_attempts: u32,
    /// The journal's counters when this invocation began, so that calls made while setting up
    /// (a webhook endpoint registered before the run) count in its summary; `None`: taken when
    /// `run`/`resume` starts.
    pub baseline: Option<mediajobs_journal::Counters>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            download_dir: None,
            resubmit_uncertain: false,
            deadline: Duration::from_secs(6 * 3600),
            webhook_urls: BTreeMap::new(),
            scheduler: SchedulerConfig::default(),
            submit_attempts: 8,
            baseline: None,
        }
    }
}

/// Something the runner wants shown (the CLI draws progress bars or prints lines).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// How many jobs each provider has in this invocation.
    Planned {
        /// Jobs per provider.
        totals: BTreeMap<Provider, u64>,
    },
    /// A job was submitted.
    Submitted {
        /// Its key.
        key: String,
        /// The job.
        job: JobId,
    },
    /// A job reached a terminal state (or its end in this run).
    Finished {
        /// Its key.
        key: String,
        /// The provider.
        provider: Provider,
        /// Its journal state.
        state: JobState,
    },
    /// A job's submit answer was lost and it could not be settled.
    Uncertain {
        /// Its key.
        key: String,
        /// The provider.
        provider: Provider,
        /// Why it is still uncertain.
        reason: String,
    },
    /// A file was saved.
    Downloaded {
        /// The job's key.
        key: String,
        /// Where.
        path: String,
        /// How big.
        bytes: u64,
    },
    /// Something went wrong with one job; the run goes on.
    Problem {
        /// The job's key, where one job is concerned.
        key: Option<String>,
        /// What happened.
        message: String,
    },
}

/// A callback that receives [`Progress`].
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The result of `run` / `resume`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The summary (the invocation's API calls and bytes).
    #[serde(flatten)]
    pub summary: Summary,
    /// Reconciliations of uncertain submits done in this invocation.
    pub reconciled: Vec<mediajobs_journal::Reconciliation>,
    /// Jobs whose deadline passed in this run.
    pub deadline_passed: u64,
    /// The scheduler's counters (calls by provider and operation, 429s).
    pub scheduler: Stats,
    /// Whether a provider could not be reached or refused our credentials.
    pub unreachable: Vec<String>,
    /// With a download folder: succeeded jobs with a result not saved yet (a download kept
    /// failing); `mediajobs resume` tries again. Zero without a download folder.
    pub downloads_missing: u64,
    /// Batch lines whose key the journal already holds with a different request: not run.
    pub conflicts: Vec<String>,
}

impl RunReport {
    /// Whether every job succeeded (and, with a download folder, every result was saved).
    pub fn all_succeeded(&self) -> bool {
        self.summary.jobs == self.summary.succeeded
            && self.downloads_missing == 0
            && self.conflicts.is_empty()
    }
}

/// The batch runner: journal + scheduler + adapters + downloads.
pub struct Runner {
    journal: Arc<SqliteJournal>,
    apis: BTreeMap<Provider, Arc<dyn ProviderApi>>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    scheduler: Scheduler,
    options: RunOptions,
    progress: ProgressFn,
    downloads: Arc<tokio::sync::Semaphore>,
    unreachable: std::sync::Mutex<Vec<String>>,
    conflicts: std::sync::Mutex<Vec<String>>,
    deadline_passed: AtomicU64,
    calls_synced: std::sync::Mutex<Stats>,
    /// Every reconciliation of this invocation (the initial pass and those made while
    /// submitting), for the report.
    reconciliations: std::sync::Mutex<Vec<mediajobs_journal::Reconciliation>>,
    /// Jobs whose submit became uncertain during this invocation: `--resubmit-uncertain` was
    /// given for the jobs uncertain before it, and never resends these (a lost answer again
    /// would otherwise pay for the same job over and over).
    uncertain_here: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("journal", &self.journal.path())
            .field("providers", &self.apis.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Where jobs that got a remote id (submitted, or adopted by a reconciliation) are sent, to
/// be waited on at once.
type Found = tokio::sync::mpsc::UnboundedSender<(String, JobId)>;

fn jerr(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("journal: {e}"))
}

impl Runner {
    /// A runner over `journal` with the given adapters.
    pub fn new(
        journal: Arc<SqliteJournal>,
        apis: Vec<Arc<dyn ProviderApi>>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        options: RunOptions,
        progress: ProgressFn,
    ) -> Self {
        let apis: BTreeMap<Provider, Arc<dyn ProviderApi>> =
            apis.into_iter().map(|a| (a.provider(), a)).collect();
        let mut config = options.scheduler.clone();
        config.default_deadline = options.deadline;
        let scheduler = Scheduler::start(config, clock.clone(), apis.values().cloned());
        Runner {
            journal,
            apis,
            transport,
            clock,
            scheduler,
            options,
            progress,
            downloads: Arc::new(tokio::sync::Semaphore::new(8)),
            unreachable: std::sync::Mutex::new(Vec::new()),
            conflicts: std::sync::Mutex::new(Vec::new()),
            deadline_passed: AtomicU64::new(0),
            calls_synced: std::sync::Mutex::new(Stats::default()),
            reconciliations: std::sync::Mutex::new(Vec::new()),
            uncertain_here: std::sync::Mutex::new(std::collections::BTreeSet::new()),
        }
    }

    /// The scheduler (webhook events are fed to it).
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<SqliteJournal> {
        &self.journal
    }

    fn api(&self, provider: Provider) -> Result<&Arc<dyn ProviderApi>, Error> {
        self.apis.get(&provider).ok_or_else(|| {
            Error::Config(format!(
                "the journal has {provider} jobs but {provider} is not configured: set {}_API_KEY",
                provider.env_prefix()
            ))
        })
    }

    /// `mediajobs run`: writes the intents of `lines` (a line whose key the journal already has
    /// is not submitted again), then does all the work the journal holds.
    pub async fn run(&self, lines: &[BatchLine]) -> Result<RunReport, Error> {
        let baseline = match self.options.baseline {
            Some(b) => b,
            None => self.journal.counters().map_err(jerr)?,
        };
        let intents: Vec<Intent> = lines
            .iter()
            .map(|l| {
                Intent::new(
                    l.key.clone(),
                    l.provider,
                    l.tool.as_deref(),
                    l.request.clone(),
                )
            })
            .collect();
        for (line, outcome) in lines
            .iter()
            .zip(self.journal.record_intents(&intents).map_err(jerr)?)
        {
            if let IntentOutcome::Conflict { .. } = outcome {
                if let Ok(mut c) = self.conflicts.lock() {
                    c.push(line.key.clone());
                }
                (self.progress)(&Progress::Problem {
                    key: Some(line.key.clone()),
                    message: format!(
                        "line {}: key {:?} is already in the journal with a different request; not submitted (use another key or journal)",
                        line.line, line.key
                    ),
                });
            }
        }
        self.work(baseline).await
    }

    /// `mediajobs resume`: does all the work the journal holds.
    pub async fn resume(&self) -> Result<RunReport, Error> {
        let baseline = match self.options.baseline {
            Some(b) => b,
            None => self.journal.counters().map_err(jerr)?,
        };
        for key in self.journal.recovered_on_open() {
            (self.progress)(&Progress::Problem {
                key: Some(key.clone()),
                message: "its submit was in flight when the previous run stopped: uncertain, to be reconciled".into(),
            });
        }
        self.work(baseline).await
    }

    async fn work(&self, baseline: mediajobs_journal::Counters) -> Result<RunReport, Error> {
        let downloads = self.options.download_dir.is_some();
        let items = self.journal.work_on_resume(downloads).map_err(jerr)?;
        let mut totals: BTreeMap<Provider, u64> = BTreeMap::new();
        for item in &items {
            *totals.entry(item.job.provider).or_default() += 1;
        }
        (self.progress)(&Progress::Planned { totals });

        // Status changes are journaled as they come (best effort: a lagging subscriber only
        // loses intermediate states; terminal ones come through `wait`).
        let recorder = {
            let mut events = self.scheduler.events();
            let journal = self.journal.clone();
            tokio::spawn(async move {
                while let Some(event) = events.next().await {
                    if let JobEvent::StatusChanged { job, status, .. } = event {
                        if !status.is_terminal() {
                            let _ = journal.record_snapshot(&Snapshot::new(job, status));
                        }
                    }
                }
            })
        };

        let mut by_provider: BTreeMap<Provider, Vec<JobRecord>> = BTreeMap::new();
        let mut waits = FuturesUnordered::new();
        let mut reconcile: BTreeMap<Provider, ()> = BTreeMap::new();
        for item in items {
            let job = item.job;
            match item.step {
                NextStep::Submit => by_provider.entry(job.provider).or_default().push(job),
                NextStep::SubmitInFlight | NextStep::Reconcile => {
                    reconcile.insert(job.provider, ());
                }
                NextStep::Wait | NextStep::ReadOutputs => {
                    if let Some(id) = job.job_id() {
                        if self.apis.contains_key(&job.provider) {
                            let options = watch_options(&job, self.apis.get(&job.provider));
                            if let Err(e) = self.scheduler.watch(id.clone(), None, options) {
                                self.problem(Some(&job.key), e.to_string());
                                continue;
                            }
                            waits.push(self.wait_and_finish(job.key.clone(), id));
                        } else {
                            self.problem(
                                Some(&job.key),
                                self.api(job.provider)
                                    .err()
                                    .map(|e| e.to_string())
                                    .unwrap_or_default(),
                            );
                        }
                    }
                }
                NextStep::Download { indexes } => {
                    waits.push(Box::pin(self.download_stored(job, indexes))
                        as std::pin::Pin<
                            Box<dyn std::future::Future<Output = ()> + Send + '_>,
                        >);
                }
            }
        }
        // Jobs that get a remote id (submitted, or adopted by a reconciliation) come through
        // this channel and are waited on at once, while the other submits go on: a batch whose
        // submits are slow (VibePeak's task slots) must not hold back the jobs already running.
        let (found_tx, mut found_rx) = tokio::sync::mpsc::unbounded_channel::<(String, JobId)>();
        // Uncertain jobs first: their outcome decides whether the same tool may be submitted.
        let mut reconciled = Vec::new();
        for provider in reconcile.keys() {
            reconciled.extend(self.reconcile(*provider, &found_tx).await?);
        }
        for provider in self.apis.keys() {
            if !reconcile.contains_key(provider)
                && !self
                    .journal
                    .uncertain_jobs(*provider)
                    .map_err(jerr)?
                    .is_empty()
            {
                reconciled.extend(self.reconcile(*provider, &found_tx).await?);
            }
        }
        // Jobs the reconciliation proved unsent are pending again.
        for r in &reconciled {
            if matches!(
                r.outcome,
                ReconcileOutcome::NotSubmitted | ReconcileOutcome::ResubmitApproved
            ) {
                if let Some(job) = self.journal.job(&r.key).map_err(jerr)? {
                    by_provider.entry(job.provider).or_default().push(job);
                }
            }
        }

        let submitters = futures::future::join_all(
            by_provider
                .into_iter()
                .map(|(provider, jobs)| self.submit_all(provider, jobs, found_tx.clone())),
        );
        // The channel closes when the last submitter is done.
        drop(found_tx);
        let drive = async {
            loop {
                tokio::select! {
                    Some((key, id)) = found_rx.recv() => waits.push(self.wait_and_finish(key, id)),
                    Some(()) = waits.next(), if !waits.is_empty() => {}
                    else => break,
                }
            }
        };
        tokio::join!(submitters, drive);
        drop(waits);

        self.sync_api_calls();
        self.scheduler.shutdown();
        recorder.abort();
        let summary = self.journal.summary_since(&baseline).map_err(jerr)?;
        let downloads_missing = if downloads {
            self.journal
                .jobs()
                .map_err(jerr)?
                .iter()
                .filter(|j| {
                    j.state == JobState::Succeeded
                        && (j.outputs.is_empty() || !j.missing_downloads().is_empty())
                })
                .count() as u64
        } else {
            0
        };
        Ok(RunReport {
            summary,
            reconciled: self
                .reconciliations
                .lock()
                .map(|r| r.clone())
                .unwrap_or_default(),
            deadline_passed: self.deadline_passed.load(Ordering::Relaxed),
            scheduler: self.scheduler.stats(),
            unreachable: self
                .unreachable
                .lock()
                .map(|u| u.clone())
                .unwrap_or_default(),
            downloads_missing,
            conflicts: self.conflicts.lock().map(|c| c.clone()).unwrap_or_default(),
        })
    }

    /// Adds a reconciliation to the report (an unsettled outcome repeated for the same job by a
    /// later pass of the same invocation is reported once).
    fn note_reconciliation(&self, r: &mediajobs_journal::Reconciliation) {
        let Ok(mut all) = self.reconciliations.lock() else {
            return;
        };
        let repeat = !r.outcome.is_settled()
            && all
                .iter()
                .any(|seen| seen.key == r.key && seen.outcome == r.outcome);
        if !repeat {
            all.push(r.clone());
        }
    }

    fn problem(&self, key: Option<&str>, message: String) {
        // The progress display shows it to the user; the log keeps it for -vv.
        tracing::debug!(key = key.unwrap_or(""), %message, "job problem");
        if let Some(k) = key {
            let _ = self.journal.record_error(k, None, &message);
        }
        (self.progress)(&Progress::Problem {
            key: key.map(str::to_string),
            message,
        });
    }

    /// Adds the scheduler's calls since the last sync to the journal's counters.
    fn sync_api_calls(&self) {
        let now = self.scheduler.stats();
        let Ok(mut last) = self.calls_synced.lock() else {
            return;
        };
        for (provider, s) in &now.providers {
            let before = last.providers.get(provider).copied().unwrap_or_default();
            for (op, n) in [
                (Operation::Submit, s.submit - before.submit),
                (Operation::Status, s.status - before.status),
                (Operation::List, s.list - before.list),
                (Operation::Cancel, s.cancel - before.cancel),
            ] {
                if n > 0 {
                    let _ = self.journal.add_api_calls(*provider, op, n);
                }
            }
        }
        *last = now;
    }

    async fn reconcile(
        &self,
        provider: Provider,
        found: &Found,
    ) -> Result<Vec<mediajobs_journal::Reconciliation>, Error> {
        let Ok(api) = self.api(provider) else {
            return Ok(Vec::new());
        };
        let options = ReconcileOptions {
            resubmit_uncertain: self.options.resubmit_uncertain,
            not_opted_in: self
                .uncertain_here
                .lock()
                .map(|k| k.clone())
                .unwrap_or_default(),
            ..ReconcileOptions::default()
        };
        let mut settled = Vec::new();
        // A submit lost moments ago may not be listed yet: try again after the wait the
        // journal names, a few times.
        for pass in 0..6u32 {
            let result = mediajobs_journal::reconcile_uncertain(
                self.journal.as_ref(),
                api.as_ref(),
                &options,
                self.clock.now(),
            )
            .await;
            let outcomes = match result {
                Ok(o) => o,
                Err(e) => {
                    let e = self.list_failed(provider, e);
                    // A busy list (429, 5xx, a dropped connection) decides nothing yet: ask
                    // again after its Retry-After or a doubling pause, as for any read.
                    if e.is_transient() && !e.is_unreachable() && pass < 5 {
                        self.clock.sleep(retry_pause(&e, pass)).await;
                        continue;
                    }
                    self.problem(None, e.to_string_with_hint());
                    return Ok(settled);
                }
            };
            let mut retry = false;
            for r in outcomes {
                match &r.outcome {
                    ReconcileOutcome::Adopted { id, .. } => {
                        let job_id = JobId::new(provider, id.clone());
                        let options = self
                            .journal
                            .job(&r.key)
                            .map_err(jerr)?
                            .map(|j| watch_options(&j, self.apis.get(&j.provider)))
                            .unwrap_or_default();
                        if self.scheduler.watch(job_id.clone(), None, options).is_ok() {
                            let _ = found.send((r.key.clone(), job_id));
                        }
                    }
                    ReconcileOutcome::TooRecent { .. } => retry = true,
                    ReconcileOutcome::NotSubmitted | ReconcileOutcome::ResubmitApproved => {}
                    other => (self.progress)(&Progress::Uncertain {
                        key: r.key.clone(),
                        provider,
                        reason: describe(other),
                    }),
                }
                if !r.outcome.retry_later() {
                    self.note_reconciliation(&r);
                    settled.push(r);
                }
            }
            if !retry {
                break;
            }
            self.clock.sleep(options.min_age).await;
        }
        Ok(settled)
    }

    /// Submits `jobs` of one provider in order, through the journal's gate and the scheduler's
    /// budgets. Returns the jobs that got an id.
    async fn submit_all(&self, provider: Provider, jobs: Vec<JobRecord>, found: Found) {
        let Ok(api) = self.api(provider).cloned() else {
            for job in &jobs {
                self.problem(
                    Some(&job.key),
                    self.api(provider)
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default(),
                );
            }
            return;
        };
        let mut head_fresh = false;
        let total = jobs.len();
        for (done, job) in jobs.into_iter().enumerate() {
            if self.is_unreachable(provider) {
                self.problem(
                    None,
                    format!(
                        "{provider}: {} job(s) left pending (not sent) because {provider} is unreachable or refused the key; `mediajobs resume` sends them later",
                        total - done
                    ),
                );
                break;
            }
            match self
                .submit_one(api.as_ref(), &job, &mut head_fresh, &found)
                .await
            {
                Ok(Some(id)) => {
                    (self.progress)(&Progress::Submitted {
                        key: job.key.clone(),
                        job: id.clone(),
                    });
                    let _ = found.send((job.key.clone(), id));
                }
                Ok(None) => {}
                Err(e) => self.problem(Some(&job.key), e.to_string_with_hint()),
            }
        }
    }

    /// Records VideoGen's list head before a submit. A transient failure (5xx, 429, a dropped
    /// connection) is tried again like a submit, with the provider's `Retry-After` or a
    /// doubling pause, before the job is left for `resume`.
    async fn refresh_list_head(
        &self,
        provider: Provider,
        api: &dyn ProviderApi,
    ) -> Result<(), Error> {
        let options = ReconcileOptions::default();
        let attempts = self.options.submit_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            let e = match mediajobs_journal::refresh_list_head(self.journal.as_ref(), api, &options)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => self.list_failed(provider, e),
            };
            attempt += 1;
            if !e.is_transient() || e.is_unreachable() || attempt >= attempts {
                return Err(e);
            }
            self.clock.sleep(retry_pause(&e, attempt)).await;
        }
    }

    /// The error of a list call made for the journal (the head before a VideoGen submit, a
    /// reconciliation): a provider that cannot be reached or refuses the key is recorded as
    /// such (exit 3), as a submit's own failure would be.
    fn list_failed(&self, provider: Provider, e: mediajobs_journal::ReconcileError) -> Error {
        match e {
            mediajobs_journal::ReconcileError::List { source, .. } => {
                if source.is_unreachable() || source.is_unauthorized() {
                    self.mark_unreachable(provider, &source);
                }
                source
            }
            other => jerr(other),
        }
    }

    fn mark_unreachable(&self, provider: Provider, e: &Error) {
        if let Ok(mut u) = self.unreachable.lock() {
            u.push(format!("{provider}: {e}"));
        }
    }

    fn is_unreachable(&self, provider: Provider) -> bool {
        self.unreachable
            .lock()
            .map(|u| u.iter().any(|p| p.starts_with(provider.as_str())))
            .unwrap_or(false)
    }

    async fn submit_one(
        &self,
        api: &dyn ProviderApi,
        job: &JobRecord,
        head_fresh: &mut bool,
        found: &Found,
    ) -> Result<Option<JobId>, Error> {
        let provider = job.provider;
        // The gate: VideoGen holds a tool (Vidiking everything) while a submit is uncertain.
        for attempt in 0..8u32 {
            match self
                .journal
                .submit_gate(provider, job.tool.as_deref())
                .map_err(jerr)?
            {
                SubmitGate::Open => break,
                SubmitGate::Held { .. } => {
                    let settled = self.reconcile(provider, found).await?;
                    *head_fresh = false;
                    // Nothing settled (the list failed): pause before asking again rather
                    // than hammering a provider that is refusing.
                    if settled.is_empty() {
                        self.clock.sleep(download_backoff(attempt)).await;
                    }
                }
            }
        }
        if let SubmitGate::Held {
            blocking_key,
            reason,
        } = self
            .journal
            .submit_gate(provider, job.tool.as_deref())
            .map_err(jerr)?
        {
            (self.progress)(&Progress::Uncertain {
                key: job.key.clone(),
                provider,
                reason: format!("not submitted: held by {reason} of job {blocking_key}"),
            });
            return Ok(None);
        }
        // VideoGen: a list head recorded before the submit, so a lost answer can be found.
        if provider == Provider::VideoGen && !*head_fresh {
            self.refresh_list_head(provider, api).await?;
            *head_fresh = true;
        }
        let mut request = job.submit_request().map_err(jerr)?;
        if let Some(url) = self.options.webhook_urls.get(&provider) {
            request = request.with_webhook_url(url.clone());
        }
        let options = watch_options(job, None);
        for attempt in 0..self.options.submit_attempts.max(1) {
            self.journal.begin_submit(&job.key).map_err(jerr)?;
            let result = self
                .scheduler
                .submit_with(provider, &request, options.clone())
                .await;
            match result {
                Ok(snapshot) => {
                    self.journal
                        .record_submitted(&job.key, &snapshot)
                        .map_err(jerr)?;
                    return Ok(Some(snapshot.job));
                }
                Err(Error::UncertainSubmit { message, .. }) => {
                    if let Ok(mut keys) = self.uncertain_here.lock() {
                        keys.insert(job.key.clone());
                    }
                    self.journal
                        .mark_uncertain(&job.key, &message)
                        .map_err(jerr)?;
                    *head_fresh = false;
                    // Settle it now where the provider can tell, so the rest can go on.
                    let _ = self.reconcile(provider, found).await?;
                    let now = self.journal.job(&job.key).map_err(jerr)?;
                    return match now {
                        Some(j) if j.state == JobState::Pending => {
                            // Proven unsent: submit again.
                            continue_submit(self, api, &j, head_fresh, found).await
                        }
                        Some(j) if j.remote_id.is_some() => Ok(None), // adopted: already waited on
                        _ => Ok(None),
                    };
                }
                Err(e) if e.is_unauthorized() || e.is_unreachable() => {
                    // The scheduler has already retried the connection with backoff: stacking
                    // our own retries on top would only make an unreachable run slow to say so.
                    self.journal
                        .abort_submit(&job.key, &e.to_string())
                        .map_err(jerr)?;
                    self.mark_unreachable(provider, &e);
                    return Err(e);
                }
                Err(e) if e.is_transient() => {
                    self.journal
                        .abort_submit(&job.key, &e.to_string())
                        .map_err(jerr)?;
                    self.clock.sleep(retry_pause(&e, attempt)).await;
                }
                Err(e) => {
                    // A permanent refusal (a 4xx, our own validation): the job failed.
                    self.journal
                        .record_rejected(&job.key, e.code().or(e.field()), &e.to_string())
                        .map_err(jerr)?;
                    (self.progress)(&Progress::Finished {
                        key: job.key.clone(),
                        provider,
                        state: JobState::Failed,
                    });
                    return Ok(None);
                }
            }
        }
        self.problem(
            Some(&job.key),
            format!("{provider}: submit kept failing; left pending for `mediajobs resume`"),
        );
        Ok(None)
    }

    /// Waits for one job, journals its end, downloads its results.
    fn wait_and_finish<'a>(
        &'a self,
        key: String,
        id: JobId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let outcome = self.scheduler.wait(&id).await;
            self.sync_api_calls();
            match outcome {
                Ok(snapshot) => self.finish(&key, snapshot).await,
                Err(WaitError::DeadlinePassed { .. }) => {
                    self.deadline_passed.fetch_add(1, Ordering::Relaxed);
                    self.problem(
                        Some(&key),
                        format!("{id}: deadline passed; `mediajobs resume` keeps waiting"),
                    );
                }
                Err(WaitError::Provider { source, .. }) => {
                    if source.is_not_found() {
                        let _ = self.journal.record_rejected(
                            &key,
                            Some("not_found"),
                            &source.to_string(),
                        );
                        (self.progress)(&Progress::Finished {
                            key,
                            provider: id.provider,
                            state: JobState::Failed,
                        });
                    } else {
                        self.problem(Some(&key), source.to_string());
                    }
                }
                Err(e) => self.problem(Some(&key), e.to_string()),
            }
        })
    }

    async fn finish(&self, key: &str, snapshot: Snapshot) {
        if let Err(e) = self.journal.record_snapshot(&snapshot) {
            self.problem(Some(key), format!("journal: {e}"));
            return;
        }
        let state = match snapshot.status.status {
            Status::Succeeded => JobState::Succeeded,
            Status::Failed => JobState::Failed,
            Status::Cancelled => JobState::Cancelled,
            Status::Queued => JobState::Queued,
            Status::Running => JobState::Running,
        };
        if state == JobState::Succeeded && self.options.download_dir.is_some() {
            if let Ok(Some(job)) = self.journal.job(key) {
                let indexes = job.missing_downloads();
                self.download_stored(job, indexes).await;
            }
        }
        (self.progress)(&Progress::Finished {
            key: key.to_string(),
            provider: snapshot.job.provider,
            state,
        });
    }

    /// Downloads outputs `indexes` of a succeeded job (reading its status first when the
    /// journal has no outputs for it).
    async fn download_stored(&self, mut job: JobRecord, indexes: Vec<u32>) {
        let Some(dir) = self.options.download_dir.clone() else {
            return;
        };
        let Some(id) = job.job_id() else { return };
        let Ok(api) = self.api(job.provider).cloned() else {
            return;
        };
        if job.outputs.is_empty() {
            let mut read = api.status(&id.id).await;
            let mut reads = 1;
            for attempt in 1..DOWNLOAD_ATTEMPTS {
                match &read {
                    Err(e) if e.is_transient() || e.is_unreachable() => {
                        self.clock.sleep(download_backoff(attempt)).await;
                        read = api.status(&id.id).await;
                        reads += 1;
                    }
                    _ => break,
                }
            }
            let _ = self
                .journal
                .add_api_calls(job.provider, Operation::Status, reads);
            match read {
                Ok(s) => {
                    let _ = self.journal.record_snapshot(&s);
                    if let Ok(Some(j)) = self.journal.job(&job.key) {
                        job = j;
                    }
                }
                Err(e) => {
                    self.problem(Some(&job.key), e.to_string());
                    return;
                }
            }
        }
        let indexes = if indexes.is_empty() {
            job.missing_downloads()
        } else {
            indexes
        };
        let folder = dir.join(job.provider.as_str());
        if let Err(e) = tokio::fs::create_dir_all(&folder).await {
            self.problem(
                Some(&job.key),
                format!("creating {}: {e}", folder.display()),
            );
            return;
        }
        for index in indexes {
            let Some(stored) = job.outputs.iter().find(|o| o.index == index) else {
                continue;
            };
            let Ok(_permit) = self.downloads.acquire().await else {
                return;
            };
            let dest = folder.join(file_name(&job.key, index as usize, &stored.output));
            // A 5xx, a dropped connection or a refused URL is worth another try (the URL is
            // refreshed when it expired): a result that is not saved is not delivered.
            let mut result = Err(Error::Config("no download attempted".into()));
            for attempt in 0..DOWNLOAD_ATTEMPTS {
                if attempt > 0 {
                    tracing::info!(key = %job.key, index, attempt, error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(), "download failed; trying again");
                    self.clock.sleep(download_backoff(attempt)).await;
                }
                let mut refresh_calls = 0;
                result = download_output(
                    api.as_ref(),
                    self.transport.as_ref(),
                    self.clock.as_ref(),
                    &id.id,
                    &stored.output,
                    &dest,
                    &mut refresh_calls,
                )
                .await;
                // Every refresh asked is an API call of this invocation, answered or not.
                if refresh_calls > 0 {
                    let _ = self.journal.add_api_calls(
                        job.provider,
                        refresh_operation(job.provider),
                        u64::from(refresh_calls),
                    );
                }
                if result.is_ok() {
                    break;
                }
            }
            match result {
                Ok(saved) => {
                    let record = NewDownload {
                        index,
                        path: saved.path.clone(),
                        bytes: saved.download.bytes,
                        sha256: saved.download.sha256.clone(),
                    };
                    if let Err(e) = self.journal.record_download(&job.key, &record) {
                        self.problem(Some(&job.key), format!("journal: {e}"));
                        continue;
                    }
                    (self.progress)(&Progress::Downloaded {
                        key: job.key.clone(),
                        path: saved.path.display().to_string(),
                        bytes: saved.download.bytes,
                    });
                }
                Err(e) => self.problem(Some(&job.key), format!("download of output {index}: {e}")),
            }
        }
    }
}

/// Tries per result file (each may refresh the URL once) before the run reports it unsaved.
const DOWNLOAD_ATTEMPTS: u32 = 5;

/// The pause before download attempt `attempt` (1-based): 2, 4, 8, 16 s on the client clock.
fn download_backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.min(6))
}

/// The pause before asking again after transient error `e` (a submit, a list for the
/// journal): the provider's `Retry-After` where it gave one, else [`download_backoff`]'s
/// doubling pause.
fn retry_pause(e: &Error, attempt: u32) -> Duration {
    e.retry_after().unwrap_or_else(|| download_backoff(attempt))
}

fn refresh_operation(provider: Provider) -> Operation {
    match provider {
        Provider::VideoGen => Operation::Files,
        _ => Operation::Status,
    }
}

/// Re-enters `submit_one` for a job proven unsent (boxed: the call is recursive).
fn continue_submit<'b>(
    runner: &'b Runner,
    api: &'b dyn ProviderApi,
    job: &'b JobRecord,
    head_fresh: &'b mut bool,
    found: &'b Found,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<JobId>, Error>> + Send + 'b>>
{
    Box::pin(runner.submit_one(api, job, head_fresh, found))
}

/// How to watch a journal's job: its tool, when it was submitted and (when its adapter can
/// tell from the saved request) how much work it is, so a resumed job is planned like a new one.
fn watch_options(job: &JobRecord, api: Option<&Arc<dyn ProviderApi>>) -> WatchOptions {
    let mut o = WatchOptions::default();
    if let Some(t) = &job.tool {
        o = o.with_tool(t.clone());
    }
    if let Some(at) = job.submitted_at {
        o = o.with_started_at(at);
    }
    if let (Some(api), Ok(request)) = (api, job.submit_request()) {
        o.work = api.work_units(&request);
    }
    o
}

fn describe(outcome: &ReconcileOutcome) -> String {
    match outcome {
        ReconcileOutcome::Ambiguous { candidates } => format!(
            "several unknown tasks could be it ({}); decide by hand",
            candidates.join(", ")
        ),
        ReconcileOutcome::Unprovable { reason } => reason.clone(),
        ReconcileOutcome::NeedsDecision => "the provider cannot be asked whether the task exists; `mediajobs resume --resubmit-uncertain` sends it again (it may be paid twice)".into(),
        other => format!("{other:?}"),
    }
}
