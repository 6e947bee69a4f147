//! The durable job journal of mediajobs (SQLite): nothing lost, nothing paid twice.
//!
//! A [`Journal`] records every job of a batch: the intent (`pending`) before anything is sent, a
//! *sending* marker just before each submit, the remote id as soon as it is known, every status
//! change, outputs with their expiry, downloads with their checksum, errors, API-call counters
//! and a few settings. [`SqliteJournal`] keeps it in one SQLite file (WAL, `synchronous=FULL`,
//! versioned migrations) with a run lock beside it, so a crash at any point resumes without
//! losing a job or paying for one twice. [`reconcile_uncertain`] settles the submits whose
//! answer was lost, the way each provider's list allows. `docs/journal.md` explains the
//! protocol and why it holds.
//!
//! ```
//! use std::sync::Arc;
//! use mediajobs_core::{JobId, ManualClock, Provider, ProviderStatus, Snapshot, Status};
//! use mediajobs_journal::{Intent, Journal, JobState, SqliteJournal};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse()?));
//! let journal = SqliteJournal::open(dir.path().join("jobs.db"), clock)?;
//!
//! // 1. The intent, before anything is sent.
//! let body = serde_json::json!({"timeline": {"tracks": []}, "output": {"format": "mp4"}});
//! journal.record_intent(&Intent::new("line-1", Provider::Vidiking, None, body))?;
//! // 2. The sending marker, just before the POST (the request to send comes with it).
//! let request = journal.begin_submit("line-1")?.submit_request()?;
//! assert!(request.key.is_some());
//! // 3. The answer: the remote id and first status.
//! let job = JobId::new(Provider::Vidiking, "job_1");
//! journal.record_submitted("line-1", &Snapshot::new(job.clone(), ProviderStatus::known(Status::Queued, "QUEUED")))?;
//! // 4. Later statuses; terminal ones stick.
//! journal.record_snapshot(&Snapshot::new(job, ProviderStatus::known(Status::Failed, "FAILED")))?;
//!
//! let report = journal.status_report()?;
//! assert_eq!(report.items[0].status, JobState::Failed);
//! println!("{}", serde_json::to_string(&report)?);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod error;
mod journal;
mod model;
mod reconcile;
mod schema;
mod sqlite;

pub use error::JournalError;
pub use journal::Journal;
pub use model::{
    Counters, DownloadRecord, Event, HeadMark, HoldReason, Intent, IntentOutcome, JobRecord,
    JobState, ListHead, NewDownload, NextStep, SnapshotOutcome, StatusItem, StatusReport,
    StoredOutput, SubmitGate, Summary, WorkItem, canonical_json, format_timestamp, request_sha256,
};
pub use reconcile::{
    ReconcileError, ReconcileOptions, ReconcileOutcome, Reconciliation, VIDIKING_LIST_LIMIT,
    reconcile_uncertain, refresh_list_head,
};
pub use schema::SCHEMA_VERSION;
pub use sqlite::{SqliteJournal, lock_path};

/// Names of well-known settings.
pub mod settings {
    /// VideoGen's webhook signing secret (`whsec_…`), shown once when mediajobs registers an
    /// endpoint: store it with [`crate::Journal::set_secret`].
    pub const VIDEOGEN_WEBHOOK_SECRET: &str = "videogen.webhook.signing_secret";
    /// The id of the VideoGen webhook endpoint mediajobs registered.
    pub const VIDEOGEN_WEBHOOK_ENDPOINT_ID: &str = "videogen.webhook.endpoint_id";
    /// `"true"` while the VideoGen endpoint above was registered for an address that lives only
    /// as long as the process (`--webhooks-addr` without `--webhook-url`): one left behind by a
    /// process that died is deleted by the next run or resume.
    pub const VIDEOGEN_WEBHOOK_EPHEMERAL: &str = "videogen.webhook.ephemeral";
}
