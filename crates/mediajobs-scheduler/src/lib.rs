//! Waits for many jobs with few calls: one timer heap, budgets, backoff, batched list polls.
//!
//! A [`Scheduler`] watches jobs on any number of providers (each a
//! [`mediajobs_core::ProviderApi`]) and decides when to ask about each:
//!
//! - **When to look.** A job is checked sparsely while it cannot plausibly be done and densely
//!   inside the window where it most likely finishes. The window comes from the provider's
//!   `estimated_completion`, else progress percent, else the durations learned per provider and
//!   tool (a streaming log-histogram), else documented priors; a queue position moves it later.
//!   `Retry-After` is a floor, [`SchedulerConfig::max_interval`] a ceiling,
//!   [`SchedulerConfig::safety_poll`] slows polling to a safety net when webhooks bring news.
//! - **Errors.** Exponential backoff with full jitter ([`Backoff`]); a 429 pauses the whole
//!   provider until its `Retry-After`; a status the adapter does not know keeps being polled,
//!   with backoff, and is reported.
//! - **Budgets.** Per provider: token buckets at the documented rates, a cap on requests in
//!   flight, and VibePeak's in-flight task limit, for which [`Scheduler::submit`] waits.
//! - **Batching.** Where a provider lists (VideoGen, Vidiking), one list call refreshes every
//!   due job it shows; the others fall back to status reads.
//! - **Ends.** Terminal is terminal; each job has a deadline; jobs can be cancelled (remotely
//!   where the provider can); [`Scheduler::wait`] resolves with the terminal snapshot, and
//!   [`Scheduler::observe`] lets a verified webhook end a wait at once.
//!
//! All jobs live in one heap driven by one [`Driver`] future, so 100,000 waiting jobs cost a
//! few hundred bytes each, not a task each. Time comes only from the injected
//! [`mediajobs_core::Clock`], so tests and benchmarks run in virtual time.
//!
//! ```
//! use std::sync::Arc;
//! use mediajobs_core::{
//!     Capabilities, Clock, Error, JobId, ManualClock, Provider, ProviderApi, ProviderStatus,
//!     Snapshot, Status, SubmitRequest,
//! };
//! use mediajobs_scheduler::{Scheduler, SchedulerConfig, Source};
//!
//! /// A provider whose every job is done on the first look.
//! #[derive(Debug)]
//! struct Instant;
//!
//! #[async_trait::async_trait]
//! impl ProviderApi for Instant {
//!     fn provider(&self) -> Provider { Provider::Vidiking }
//!     fn capabilities(&self) -> Capabilities { Capabilities::default() }
//!     async fn submit(&self, _: &SubmitRequest) -> Result<Snapshot, Error> {
//!         let job = JobId::new(Provider::Vidiking, "job_1");
//!         Ok(Snapshot::new(job, ProviderStatus::known(Status::Queued, "QUEUED")))
//!     }
//!     async fn status(&self, id: &str) -> Result<Snapshot, Error> {
//!         let job = JobId::new(Provider::Vidiking, id);
//!         Ok(Snapshot::new(job, ProviderStatus::known(Status::Succeeded, "COMPLETE")))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
//! let scheduler = Scheduler::start(
//!     SchedulerConfig::default(),
//!     clock.clone(),
//!     [Arc::new(Instant) as Arc<dyn ProviderApi>],
//! );
//! let request = SubmitRequest::new(serde_json::json!({"timeline": {"tracks": []}}));
//! let job = scheduler.submit(Provider::Vidiking, &request).await?.job;
//! let done = scheduler.wait(&job);
//!
//! // Virtual time: move the clock to the first look (a Vidiking render takes 10 s or more).
//! clock.advance(std::time::Duration::from_secs(10));
//! let snapshot = done.await?;
//! assert_eq!(snapshot.status.status, Status::Succeeded);
//! assert_eq!(scheduler.stats().calls(), 2); // one submit, one status read
//!
//! // A verified webhook for a finished job changes nothing: terminal is terminal.
//! let late = Snapshot::new(job, ProviderStatus::known(Status::Running, "PROCESSING"));
//! assert_eq!(scheduler.observe(late, Source::VerifiedWebhook),
//!            mediajobs_scheduler::Observed::AlreadyFinished);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![deny(missing_docs)]

mod backoff;
mod budget;
mod config;
mod plan;
mod scheduler;
mod state;
mod types;

pub use backoff::Backoff;
pub use config::{
    BackoffConfig, DurationPrior, ProviderBudget, ProviderConfig, RateLimit, SchedulerConfig,
    VibePeakPlan,
};
pub use scheduler::{Driver, Scheduler};
pub use types::{
    CancelOutcome, CancelSummary, JobEvent, JobInfo, Observed, ProviderStats, Source, Stats,
    WaitError, WatchOptions,
};
