//! What the scheduler tells its callers: events, outcomes, errors, counters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mediajobs_core::{Error, JobId, Operation, Provider, ProviderStatus, Snapshot, Timestamp};
use serde::Serialize;

/// Where an observation of a job came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The scheduler's own status read.
    Poll,
    /// The scheduler's own list call.
    List,
    /// The answer to our submit.
    Submit,
    /// A webhook event whose signature and timestamp were verified: trusted like a poll.
    VerifiedWebhook,
    /// A snapshot saved earlier (the journal, on resume).
    Journal,
    /// Anything else the caller vouches for (a status read of its own).
    Caller,
}

/// Something that happened to a job (or a provider), in the order the scheduler saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JobEvent {
    /// A submit went through; the job is now watched.
    Submitted {
        /// The new job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
    },
    /// [`crate::Scheduler::watch`] began watching a job submitted earlier.
    Watching {
        /// The job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
    },
    /// The job's status changed (terminal statuses come as [`JobEvent::Terminal`]).
    StatusChanged {
        /// The job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
        /// The new status.
        status: ProviderStatus,
        /// Who told us.
        source: Source,
    },
    /// The provider answered with a status the adapter does not know; polling goes on, with
    /// backoff.
    UnrecognizedStatus {
        /// The job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
        /// The provider's word.
        raw: String,
    },
    /// The job's progress percent changed.
    Progress {
        /// The job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
        /// 0–100.
        percent: f64,
    },
    /// The job reached succeeded, failed or cancelled; nothing moves it any more.
    Terminal {
        /// The job.
        job: JobId,
        /// Client-clock time: when the client learned it.
        at: Timestamp,
        /// What the provider said.
        snapshot: Arc<Snapshot>,
        /// Who told us.
        source: Source,
    },
    /// A request failed.
    Error {
        /// The job it was about, if one.
        job: Option<JobId>,
        /// The provider.
        provider: Provider,
        /// What was asked.
        operation: Operation,
        /// Client-clock time.
        at: Timestamp,
        /// The error, as text.
        message: String,
        /// Whether it will be tried again.
        will_retry: bool,
    },
    /// A 429 paused every request to the provider until `until`.
    RateLimited {
        /// The provider.
        provider: Provider,
        /// Client-clock time.
        at: Timestamp,
        /// When requests resume.
        until: Timestamp,
    },
    /// The job's deadline passed before it finished; it is no longer watched.
    DeadlinePassed {
        /// The job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
    },
    /// The job was cancelled by the caller.
    Cancelled {
        /// The job.
        job: JobId,
        /// Client-clock time.
        at: Timestamp,
        /// `true`: the provider was asked to cancel, and the job is watched until it says
        /// so. `false`: the provider cannot cancel; the job only stopped being watched and may
        /// still run (and cost).
        remote: bool,
    },
    /// This subscriber fell behind and missed `missed` events (see
    /// [`crate::Scheduler::events`]).
    Lagged {
        /// How many.
        missed: u64,
    },
}

impl JobEvent {
    /// The job the event is about, if it is about one.
    pub fn job(&self) -> Option<&JobId> {
        match self {
            JobEvent::Submitted { job, .. }
            | JobEvent::Watching { job, .. }
            | JobEvent::StatusChanged { job, .. }
            | JobEvent::UnrecognizedStatus { job, .. }
            | JobEvent::Progress { job, .. }
            | JobEvent::Terminal { job, .. }
            | JobEvent::DeadlinePassed { job, .. }
            | JobEvent::Cancelled { job, .. } => Some(job),
            JobEvent::Error { job, .. } => job.as_ref(),
            JobEvent::RateLimited { .. } | JobEvent::Lagged { .. } => None,
        }
    }
}

/// Why [`crate::Scheduler::wait`] ended without a terminal snapshot.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WaitError {
    /// The job's deadline passed first. It may still finish at the provider.
    #[error("{job}: deadline passed before the job finished (last status: {})",
        last.as_ref().map(|s| s.raw.as_str()).unwrap_or("unknown"))]
    DeadlinePassed {
        /// The job.
        job: JobId,
        /// The last status seen, if any.
        last: Option<ProviderStatus>,
    },
    /// The caller stopped watching it ([`crate::Scheduler::cancel`] on a provider with no remote
    /// cancel).
    #[error("{job}: no longer watched (cancelled locally; the provider has no cancel)")]
    CancelledLocally {
        /// The job.
        job: JobId,
    },
    /// Reading the job failed in a way retrying cannot fix (unknown id, refused key).
    #[error("{job}: {source}")]
    Provider {
        /// The job.
        job: JobId,
        /// The provider's error, as the adapter returned it.
        source: Error,
    },
    /// The scheduler does not watch this job (never submitted through it, nor `watch`ed, or
    /// forgotten).
    #[error("{0}: not watched by this scheduler")]
    NotWatched(JobId),
    /// The scheduler shut down.
    #[error("the scheduler shut down")]
    Shutdown,
}

/// What [`crate::Scheduler::observe`] did with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// The job is watched and the snapshot was taken in (it is not terminal).
    Updated,
    /// The snapshot was terminal: the job is finished and its waits have ended.
    Finished,
    /// The job had already finished; the snapshot changes nothing (terminal means terminal).
    AlreadyFinished,
    /// The scheduler does not watch this job.
    NotWatched,
    /// Nothing was taken in, but the job's next check was moved to now (a hint, or a verified
    /// end whose payload needs confirming by a status read).
    CheckSoon,
}

/// What [`crate::Scheduler::cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The provider accepted a cancel; the job is watched until it reports a terminal status
    /// (usually cancelled, succeeded if it won the race).
    Requested,
    /// The provider has no cancel: the job is no longer watched but may still run.
    StoppedWatching,
    /// The job had already finished.
    AlreadyFinished,
    /// The scheduler does not watch this job.
    NotWatched,
}

/// What [`crate::Scheduler::cancel_all`] did.
#[derive(Debug, Default)]
pub struct CancelSummary {
    /// Jobs the provider was asked to cancel.
    pub requested: Vec<JobId>,
    /// Jobs only no longer watched (their provider has no cancel).
    pub stopped_watching: Vec<JobId>,
    /// Jobs whose cancel failed; they are still watched.
    pub failed: Vec<(JobId, Error)>,
}

/// How to watch one job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchOptions {
    /// How long to watch before giving up; the configured default when `None`.
    pub deadline: Option<Duration>,
    /// The tool, for the learned durations (VideoGen `generate-image`).
    pub tool: Option<String>,
    /// When the job was submitted, if known (saved in the journal): shapes the first look and
    /// lets its duration be learned.
    pub started_at: Option<Timestamp>,
    /// How much work the job is, in its provider's unit ([`ProviderApi::work_units`], taken
    /// from the request by [`crate::Scheduler::submit`]): durations are learned per unit too,
    /// and used where they spread less than per job.
    ///
    /// [`ProviderApi::work_units`]: mediajobs_core::ProviderApi::work_units
    pub work: Option<f64>,
}

impl WatchOptions {
    /// Sets the deadline.
    pub fn with_deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Sets the tool.
    pub fn with_tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    /// Sets when the job was submitted.
    pub fn with_started_at(mut self, t: Timestamp) -> Self {
        self.started_at = Some(t);
        self
    }

    /// Sets how much work the job is.
    pub fn with_work(mut self, units: f64) -> Self {
        self.work = Some(units);
        self
    }
}

/// What the scheduler knows of a watched job right now.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    /// The job.
    pub job: JobId,
    /// The last status seen, if any.
    pub status: Option<ProviderStatus>,
    /// The last progress percent seen.
    pub progress: Option<f64>,
    /// When it will be checked next (client clock).
    pub next_check: Option<Timestamp>,
    /// When it will be given up.
    pub deadline: Timestamp,
}

/// Calls made to one provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProviderStats {
    /// Submits sent.
    pub submit: u64,
    /// Single-job status reads sent.
    pub status: u64,
    /// List calls sent (one per page).
    pub list: u64,
    /// Tasks read from list pages, watched or not: what list calls cost in transfer, where a
    /// status read reads one.
    pub listed: u64,
    /// Cancels sent.
    pub cancel: u64,
    /// 429 answers received (rate and concurrency limits).
    pub rate_limited: u64,
    /// Failed calls of any kind (429s included).
    pub errors: u64,
}

impl ProviderStats {
    /// Every API call made.
    pub fn calls(&self) -> u64 {
        self.submit + self.status + self.list + self.cancel
    }
}

/// The scheduler's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Calls per provider.
    pub providers: BTreeMap<Provider, ProviderStats>,
    /// Jobs being watched.
    pub watching: usize,
    /// Finished jobs remembered (for late `wait`s).
    pub finished: usize,
}

impl Stats {
    /// Every API call made, all providers.
    pub fn calls(&self) -> u64 {
        self.providers.values().map(ProviderStats::calls).sum()
    }

    /// Every 429 received, all providers.
    pub fn rate_limited(&self) -> u64 {
        self.providers.values().map(|p| p.rate_limited).sum()
    }
}

/// Lock-free counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    submit: AtomicU64,
    status: AtomicU64,
    list: AtomicU64,
    listed: AtomicU64,
    cancel: AtomicU64,
    rate_limited: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    pub(crate) fn call(&self, op: Operation) {
        let c = match op {
            Operation::Submit => &self.submit,
            Operation::Status => &self.status,
            Operation::List => &self.list,
            Operation::Cancel => &self.cancel,
            _ => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn listed(&self, tasks: usize) {
        self.listed.fetch_add(tasks as u64, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, e: &Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if e.is_rate_limited() {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self) -> ProviderStats {
        ProviderStats {
            submit: self.submit.load(Ordering::Relaxed),
            status: self.status.load(Ordering::Relaxed),
            list: self.list.load(Ordering::Relaxed),
            listed: self.listed.load(Ordering::Relaxed),
            cancel: self.cancel.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}
