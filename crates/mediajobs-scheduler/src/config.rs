//! What the scheduler may spend and how it guesses: budgets, intervals, priors, backoff.
//!
//! Every default is a documented provider fact (see `specs/PROVIDERS.md`) or a plain guess that
//! says so; all of it can be changed, since the sim, a paid plan or a new tier may differ.

use std::collections::BTreeMap;
use std::time::Duration;

use mediajobs_core::Provider;

/// The documented configs' [`ProviderConfig::list_page_cost`].
const PAGE_COST: u32 = 1;

/// At most `limit` requests in any window of length `per`.
///
/// Enforced by a token bucket holding `burst` tokens that refills at `(limit - burst) / per`:
/// whatever the timing, any window of length `per` sees at most `burst + (limit - burst) =
/// limit` requests, so a provider counting a sliding window never answers 429. A bucket that
/// refilled at `limit / per` with `burst = limit` could send twice the limit in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// The window.
    pub per: Duration,
    /// Requests that may go at once after a quiet spell (clamped to `1..=limit`).
    pub burst: u32,
}

impl RateLimit {
    /// `limit` per `per`, with a burst of a tenth of the limit (at least 1).
    pub fn new(limit: u32, per: Duration) -> Self {
        RateLimit {
            limit,
            per,
            burst: (limit / 10).max(1),
        }
    }

    /// `limit` per minute.
    pub fn per_minute(limit: u32) -> Self {
        RateLimit::new(limit, Duration::from_secs(60))
    }

    /// `limit` per hour.
    pub fn per_hour(limit: u32) -> Self {
        RateLimit::new(limit, Duration::from_secs(3600))
    }

    /// Sets the burst.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }
}

/// What the scheduler may spend on one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderBudget {
    /// A limit on every request to this provider, whatever the operation (Vidiking counts all
    /// requests together).
    pub overall: Option<RateLimit>,
    /// A limit on submits alone (VideoGen counts per endpoint).
    pub submit: Option<RateLimit>,
    /// A limit on single-job status reads.
    pub status: Option<RateLimit>,
    /// A limit on list calls.
    pub list: Option<RateLimit>,
    /// A limit on cancels.
    pub cancel: Option<RateLimit>,
    /// Requests in flight at once (answers not yet received).
    pub max_in_flight_requests: usize,
    /// Tasks the provider lets us have queued or running at once (VibePeak's plan limit); a
    /// submit waits for a slot instead of failing. `None`: no such limit.
    pub max_in_flight_tasks: Option<usize>,
}

impl ProviderBudget {
    /// The documented limits of `provider`, with VibePeak on the Pro plan.
    pub fn documented(provider: Provider) -> Self {
        match provider {
            // No request rate is documented; the limit that matters is tasks in flight. The
            // rate here only keeps a runaway loop polite.
            Provider::VibePeak => ProviderBudget {
                overall: Some(RateLimit::per_minute(600)),
                submit: None,
                status: None,
                list: None,
                cancel: None,
                max_in_flight_requests: 16,
                max_in_flight_tasks: Some(VibePeakPlan::Pro.max_in_flight_tasks()),
            },
            // Per key, per endpoint, per hour; list is assumed to share the status read limit.
            Provider::VideoGen => ProviderBudget {
                overall: None,
                submit: Some(RateLimit::per_hour(500)),
                status: Some(RateLimit::per_hour(5_000)),
                list: Some(RateLimit::per_hour(5_000)),
                cancel: Some(RateLimit::per_hour(250)),
                max_in_flight_requests: 16,
                max_in_flight_tasks: None,
            },
            // 100 requests a minute in production, all endpoints together.
            Provider::Vidiking => ProviderBudget {
                overall: Some(RateLimit::per_minute(100)),
                submit: None,
                status: None,
                list: None,
                cancel: None,
                max_in_flight_requests: 16,
                max_in_flight_tasks: None,
            },
        }
    }

    /// No limits at all but the in-flight request cap (for fakes and benchmarks of the
    /// scheduler alone).
    pub fn unlimited() -> Self {
        ProviderBudget {
            overall: None,
            submit: None,
            status: None,
            list: None,
            cancel: None,
            max_in_flight_requests: 64,
            max_in_flight_tasks: None,
        }
    }
}

/// VibePeak's plans, which set the in-flight task limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VibePeakPlan {
    /// 1 task in flight.
    Plus,
    /// 3 tasks in flight (the default).
    Pro,
    /// 10 tasks in flight (assumed).
    Max,
}

impl VibePeakPlan {
    /// Tasks the plan allows queued or processing at once.
    pub fn max_in_flight_tasks(self) -> usize {
        match self {
            VibePeakPlan::Plus => 1,
            VibePeakPlan::Pro => 3,
            VibePeakPlan::Max => 10,
        }
    }
}

/// How long a job of some kind usually takes, before the scheduler has seen any finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationPrior {
    /// The shortest usual duration.
    pub min: Duration,
    /// The longest usual duration.
    pub max: Duration,
}

impl DurationPrior {
    /// A prior from seconds.
    pub const fn secs(min: u64, max: u64) -> Self {
        DurationPrior {
            min: Duration::from_secs(min),
            max: Duration::from_secs(max),
        }
    }
}

/// How the scheduler treats one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// What it may spend.
    pub budget: ProviderBudget,
    /// The interval between checks while a job is inside its likely completion window: the
    /// price of detection latency.
    pub dense_interval: Duration,
    /// How much later the first look comes per position in the provider's queue.
    pub queue_step: Duration,
    /// Usual duration when the job's tool has no prior of its own and nothing was learned.
    pub prior: DurationPrior,
    /// Usual durations by tool (lowercase, `-` separated: `generate-image`).
    pub tool_priors: BTreeMap<String, DurationPrior>,
    /// Usual duration per unit of work ([`crate::WatchOptions::work`]), for jobs whose size is
    /// known, before any was learned: it comes before the tool's and the provider's priors.
    pub work_prior: Option<DurationPrior>,
    /// Page size of a list call.
    pub list_limit: u32,
    /// The deepest a list sweep may read, in pages. Within it, a sweep reads as deep as it
    /// pays: a page costs one call and spares a status read per due job on it (where a job
    /// sits is known from the order jobs were submitted, the list being newest first).
    pub list_max_pages: u32,
    /// What a list page costs, in status reads: a sweep reads a page only where it spares more
    /// status reads than this. `1` counts calls alone; more weighs the transfer of a page of
    /// `list_limit` tasks (most of them, in a large fleet, not due or already finished).
    pub list_page_cost: u32,
    /// Retry a submit answered with a 5xx. Off by default: nothing documents that a 5xx
    /// created no task. Turn it on where that is known (the simulator's `5xx` fault).
    pub retry_submit_on_server_error: bool,
    /// The most a `Retry-After` on a successful answer (submit, status, list) may hold a job's
    /// next check back: `None` obeys it in full (it is a floor). For a provider whose
    /// `Retry-After` is only advice, a cap lets the likely completion window decide. A 429's
    /// `Retry-After` is never capped.
    ///
    /// VibePeak: `Some(dense_interval)`. Its status answers carry `Retry-After: 30` while
    /// queued and up to 30 while processing (PROVIDERS.md: \[assumed\], "a client must not need
    /// it"); as a floor it costs up to 30 s of detection latency where the docs' own 5 s loop
    /// costs 5 (the fleet benchmark, `docs/benchmarks.md`).
    pub retry_after_cap: Option<Duration>,
}

impl ProviderConfig {
    /// The documented behaviour of `provider`.
    pub fn documented(provider: Provider) -> Self {
        match provider {
            Provider::VibePeak => ProviderConfig {
                budget: ProviderBudget::documented(provider),
                // Under the docs' 5 s loop, so the p95 detection latency beats it (benchmark).
                dense_interval: Duration::from_secs(4),
                queue_step: Duration::from_secs(60),
                prior: DurationPrior::secs(240, 600),
                tool_priors: BTreeMap::new(),
                work_prior: None,
                list_limit: 0,
                list_max_pages: 0,
                list_page_cost: 1,
                retry_submit_on_server_error: false,
                retry_after_cap: Some(Duration::from_secs(4)),
            },
            Provider::VideoGen => ProviderConfig {
                budget: ProviderBudget::documented(provider),
                dense_interval: Duration::from_secs(3),
                queue_step: Duration::from_secs(10),
                prior: DurationPrior::secs(5, 180),
                tool_priors: [
                    ("generate-image", DurationPrior::secs(15, 60)),
                    ("generate-video-clip", DurationPrior::secs(60, 180)),
                    ("generate-motion-graphic", DurationPrior::secs(120, 300)),
                    ("generate-avatar", DurationPrior::secs(60, 300)),
                    ("generate-music", DurationPrior::secs(60, 300)),
                    ("text-to-speech", DurationPrior::secs(2, 20)),
                    ("generate-sound-effect", DurationPrior::secs(2, 20)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
                work_prior: None,
                list_limit: 200,
                // 100,000 executions: a sweep that deep pays only with thousands of jobs due.
                list_max_pages: 500,
                list_page_cost: PAGE_COST,
                retry_submit_on_server_error: false,
                retry_after_cap: None,
            },
            Provider::Vidiking => ProviderConfig {
                budget: ProviderBudget::documented(provider),
                dense_interval: Duration::from_secs(3),
                queue_step: Duration::from_secs(10),
                prior: DurationPrior::secs(10, 120),
                tool_priors: BTreeMap::new(),
                // Per second of timeline: the docs' example renders 10.5 s in 43 s (4.1 s per
                // second), taken ± 50 %.
                work_prior: Some(DurationPrior::secs(2, 6)),
                // No cursor: the newest 100 jobs only.
                list_limit: 100,
                list_max_pages: 1,
                list_page_cost: PAGE_COST,
                retry_submit_on_server_error: false,
                retry_after_cap: None,
            },
        }
    }

    /// Replaces the budget.
    pub fn with_budget(mut self, budget: ProviderBudget) -> Self {
        self.budget = budget;
        self
    }
}

/// Exponential backoff with full jitter, for errors and unrecognized statuses.
///
/// The `n`-th retry waits a uniformly random time in `[0, min(max, initial × multiplier^n)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The ceiling of the first wait.
    pub initial: Duration,
    /// The largest ceiling.
    pub max: Duration,
    /// How much the ceiling grows per retry.
    pub multiplier: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(120),
            multiplier: 2.0,
        }
    }
}

/// Everything the scheduler is told.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// Per-provider behaviour; a provider missing here uses [`ProviderConfig::documented`].
    pub providers: BTreeMap<Provider, ProviderConfig>,
    /// How long a job is watched before it ends with [`crate::WaitError::DeadlinePassed`],
    /// unless its [`crate::WatchOptions`] say otherwise.
    pub default_deadline: Duration,
    /// No two checks of one job closer than this (Retry-After and backoff aside).
    pub min_interval: Duration,
    /// No job goes unchecked longer than this (unless `safety_poll` or Retry-After is longer).
    pub max_interval: Duration,
    /// With webhooks on, polls are only a safety net: no job is checked more often than this.
    pub safety_poll: Option<Duration>,
    /// Treat `Retry-After` on a status answer as the earliest next check.
    pub respect_retry_after: bool,
    /// Confirm a verified terminal webhook with a status read before ending the wait (off: the
    /// verified event is trusted, as the design decides).
    pub confirm_terminal_webhooks: bool,
    /// How far off `estimated_completion` may be, as a fraction of the job's expected
    /// duration: the likely window is the estimate ± this.
    pub eta_error: f64,
    /// Past the likely window, the next check comes after this fraction of the time overdue.
    pub overdue_factor: f64,
    /// Jobs of a listing provider due within this much of each other share one list call.
    pub batch_window: Duration,
    /// A list call replaces status calls when at least this many jobs are due.
    pub min_list_batch: usize,
    /// Finished jobs learned before this many successes use priors, not the learned model.
    pub min_samples: u32,
    /// Backoff for errors and unrecognized statuses.
    pub backoff: BackoffConfig,
    /// Transient errors a submit or cancel is retried on before the error is returned.
    pub max_call_attempts: u32,
    /// Events kept for a slow subscriber before it misses some ([`crate::JobEvent::Lagged`]).
    pub event_capacity: usize,
    /// Seed of the jitter RNG; `None` seeds from the OS. Set it for reproducible runs.
    pub rng_seed: Option<u64>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            providers: BTreeMap::new(),
            default_deadline: Duration::from_secs(2 * 3600),
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(300),
            safety_poll: None,
            respect_retry_after: true,
            confirm_terminal_webhooks: false,
            eta_error: 0.12,
            overdue_factor: 0.25,
            batch_window: Duration::from_secs(2),
            min_list_batch: 2,
            min_samples: 5,
            backoff: BackoffConfig::default(),
            max_call_attempts: 6,
            event_capacity: 4096,
            rng_seed: None,
        }
    }
}

impl SchedulerConfig {
    /// The configuration of `provider` (explicit, else documented).
    pub fn provider(&self, provider: Provider) -> ProviderConfig {
        self.providers
            .get(&provider)
            .cloned()
            .unwrap_or_else(|| ProviderConfig::documented(provider))
    }

    /// Sets one provider's configuration.
    pub fn with_provider(mut self, provider: Provider, config: ProviderConfig) -> Self {
        self.providers.insert(provider, config);
        self
    }
}
