//! The `Journal` trait: what the runner writes, in which order, and what it can ask.

use std::collections::HashMap;

use mediajobs_core::{JobId, Operation, Output, Provider, Secret, Snapshot};

use crate::error::JournalError;
use crate::model::{
    Counters, Event, Intent, IntentOutcome, JobRecord, ListHead, NewDownload, SnapshotOutcome,
    StatusReport, SubmitGate, Summary, WorkItem,
};

/// The durable record of a batch of jobs.
///
/// Every write returns only once it is durable: a `kill -9` after a method returned never loses
/// what it wrote. The order in which the runner calls these methods is what makes "nothing lost,
/// nothing paid twice" hold; `docs/journal.md` gives the protocol and the reasons:
///
/// 1. [`record_intent`](Journal::record_intent) (`pending`) for every job, before anything is sent;
/// 2. [`begin_submit`](Journal::begin_submit) just before each POST (the *sending* marker);
/// 3. then exactly one of [`record_submitted`](Journal::record_submitted) (an id came back),
///    [`abort_submit`](Journal::abort_submit) (an answer proves nothing was created),
///    [`record_rejected`](Journal::record_rejected) (a permanent refusal) or
///    [`mark_uncertain`](Journal::mark_uncertain) (the answer was lost);
/// 4. [`record_snapshot`](Journal::record_snapshot) for every status learned (terminal states
///    stick), [`record_download`](Journal::record_download) after each file is in place.
///
/// Methods take `&self`; implementations are `Send + Sync`, so one journal can be shared by the
/// tasks of a run behind an `Arc`. They are synchronous (local disk, milliseconds).
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// This journal's id: part of every job's [`JobRecord::client_key`].
    fn journal_id(&self) -> &str;

    /// Writes a `pending` job, or reports that its key is already there.
    fn record_intent(&self, intent: &Intent) -> Result<IntentOutcome, JournalError> {
        let mut out = self.record_intents(std::slice::from_ref(intent))?;
        out.pop().ok_or_else(|| JournalError::InvalidInput {
            what: "record_intent".into(),
            message: "no outcome returned".into(),
        })
    }

    /// [`Journal::record_intent`] for many jobs in one transaction (one disk sync), in order.
    fn record_intents(&self, intents: &[Intent]) -> Result<Vec<IntentOutcome>, JournalError>;

    /// Records the newest task id a provider's list showed (`None`: the list was empty). Later
    /// [`Journal::begin_submit`]s copy it; reconciliation looks only above it.
    fn record_list_head(
        &self,
        provider: Provider,
        head_id: Option<&str>,
    ) -> Result<(), JournalError>;

    /// The provider's last recorded list head.
    fn list_head(&self, provider: Provider) -> Result<Option<ListHead>, JournalError>;

    /// Whether a submit of (provider, tool) may go out now. VideoGen: held while another submit
    /// of the same tool is in flight or uncertain; Vidiking: held while a Vidiking submit is
    /// uncertain; VibePeak: always open (it cannot be reconciled anyway).
    fn submit_gate(
        &self,
        provider: Provider,
        tool: Option<&str>,
    ) -> Result<SubmitGate, JournalError>;

    /// Writes the *sending* marker of a `pending` job, durably, just before its POST. Refused
    /// when the [`SubmitGate`] is held, when a submit is already in flight, and for VideoGen
    /// when no list head was ever recorded. Returns the record with the marker.
    fn begin_submit(&self, key: &str) -> Result<JobRecord, JournalError>;

    /// The submit was answered with an id: writes it and the first status. Accepts a `pending`
    /// or `uncertain` job; idempotent for the same id.
    fn record_submitted(&self, key: &str, snapshot: &Snapshot) -> Result<(), JournalError>;

    /// The submit was answered in a way that proves no task was made (connection refused, a
    /// 429 or 5xx answer): clears the marker, the job stays `pending`.
    fn abort_submit(&self, key: &str, reason: &str) -> Result<(), JournalError>;

    /// The provider refused the request for good (a 4xx): the job is `failed` with that code.
    fn record_rejected(
        &self,
        key: &str,
        code: Option<&str>,
        message: &str,
    ) -> Result<(), JournalError>;

    /// The submit's answer was lost after the request may have been sent: `uncertain`.
    fn mark_uncertain(&self, key: &str, reason: &str) -> Result<(), JournalError>;

    /// An `uncertain` job was proven never created, or the user opted in to resubmit it:
    /// back to `pending` (without marker).
    fn mark_resubmittable(&self, key: &str, reason: &str) -> Result<(), JournalError>;

    /// An `uncertain` job was found at the provider: attaches that task.
    fn adopt(&self, key: &str, snapshot: &Snapshot, reason: &str) -> Result<(), JournalError>;

    /// Records what the provider said about a known job (found by provider and remote id).
    /// Writes only when something changed; never moves a terminal job to another state.
    fn record_snapshot(&self, snapshot: &Snapshot) -> Result<SnapshotOutcome, JournalError>;

    /// Replaces one output (a refreshed URL) of a known job.
    fn record_output(&self, job: &JobId, index: u32, output: &Output) -> Result<(), JournalError>;

    /// Records a finished download (the file already fsynced and renamed into place).
    fn record_download(&self, key: &str, download: &NewDownload) -> Result<(), JournalError>;

    /// Adds an error to the job's history without changing its state (a failed poll or
    /// download, a reconciliation note).
    fn record_error(
        &self,
        key: &str,
        code: Option<&str>,
        message: &str,
    ) -> Result<(), JournalError>;

    /// Counts `n` API requests (answered or not).
    fn add_api_calls(
        &self,
        provider: Provider,
        operation: Operation,
        n: u64,
    ) -> Result<(), JournalError>;

    /// Stores a plain setting.
    fn set_setting(&self, name: &str, value: &str) -> Result<(), JournalError>;

    /// Reads a plain setting.
    fn setting(&self, name: &str) -> Result<Option<String>, JournalError>;

    /// Stores a secret setting (e.g. [`crate::settings::VIDEOGEN_WEBHOOK_SECRET`]). Never logged.
    fn set_secret(&self, name: &str, value: &Secret) -> Result<(), JournalError>;

    /// Reads a secret setting.
    fn secret(&self, name: &str) -> Result<Option<Secret>, JournalError>;

    /// The job with this key.
    fn job(&self, key: &str) -> Result<Option<JobRecord>, JournalError>;

    /// The job with this remote id.
    fn job_by_remote_id(&self, job: &JobId) -> Result<Option<JobRecord>, JournalError>;

    /// Every job, in the order the intents were written.
    fn jobs(&self) -> Result<Vec<JobRecord>, JournalError>;

    /// The provider's `uncertain` jobs, oldest intent first.
    fn uncertain_jobs(&self, provider: Provider) -> Result<Vec<JobRecord>, JournalError>;

    /// The provider's remote ids in the journal, each with the journal-wide order of the
    /// moment it became known ([`JobRecord::submit_seq`]).
    fn known_remote_ids(
        &self,
        provider: Provider,
    ) -> Result<HashMap<String, Option<i64>>, JournalError>;

    /// Every job that needs work, and what: unsent, in flight, uncertain, waiting, and (when
    /// `downloads`) succeeded without every output downloaded.
    fn work_on_resume(&self, downloads: bool) -> Result<Vec<WorkItem>, JournalError>;

    /// The job's history, oldest first.
    fn events(&self, key: &str) -> Result<Vec<Event>, JournalError>;

    /// The monotonic totals.
    fn counters(&self) -> Result<Counters, JournalError>;

    /// The summary with the journal's totals.
    fn summary(&self) -> Result<Summary, JournalError>;

    /// The summary with `api_calls` and `downloaded_bytes` counted since `baseline` (taken with
    /// [`Journal::counters`] when the invocation started): the `run`/`resume` summary.
    fn summary_since(&self, baseline: &Counters) -> Result<Summary, JournalError> {
        let mut s = self.summary()?;
        s.api_calls = s.api_calls.saturating_sub(baseline.api_calls);
        s.downloaded_bytes = s.downloaded_bytes.saturating_sub(baseline.downloaded_bytes);
        Ok(s)
    }

    /// The `status --journal --json` object.
    fn status_report(&self) -> Result<StatusReport, JournalError>;
}
