//! What the journal stores and reports: job states, records, summaries and status items.

use std::collections::BTreeMap;
use std::fmt;

use chrono::SecondsFormat;
use mediajobs_core::{JobError, JobId, Output, Provider, Status, SubmitRequest, Timestamp};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::JournalError;

/// The state of a job in the journal, in exactly the words of the batch contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// The intent is written; the submit has not been answered (and, unless
    /// [`JobRecord::sending_since`] is set, has not been sent).
    Pending,
    /// A submit may have reached the provider but its answer was lost (or never recorded):
    /// the task may exist. Reconcile it, never resubmit it blindly.
    Uncertain,
    /// Accepted by the provider, waiting to start.
    Queued,
    /// Being worked on.
    Running,
    /// Done; outputs are ready. Terminal.
    Succeeded,
    /// Done; it did not work (or the submit was refused). Terminal.
    Failed,
    /// Stopped on request. Terminal.
    Cancelled,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 7] = [
        JobState::Pending,
        JobState::Uncertain,
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The lowercase word used in the journal and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Uncertain => "uncertain",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses [`JobState::as_str`]'s words back.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Succeeded, failed and cancelled never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl From<Status> for JobState {
    fn from(s: Status) -> Self {
        match s {
            Status::Queued => JobState::Queued,
            Status::Running => JobState::Running,
            Status::Succeeded => JobState::Succeeded,
            Status::Failed => JobState::Failed,
            Status::Cancelled => JobState::Cancelled,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job the caller means to submit: written as `pending` before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// The caller's stable key (a batch line's `key`, or its line number): unique per journal.
    pub key: String,
    /// Who will run it.
    pub provider: Provider,
    /// The tool (VideoGen `generate-image`); `None` for single-endpoint providers.
    pub tool: Option<String>,
    /// The provider's documented request body.
    pub body: serde_json::Value,
}

impl Intent {
    /// An intent from its parts.
    pub fn new(
        key: impl Into<String>,
        provider: Provider,
        tool: Option<&str>,
        body: serde_json::Value,
    ) -> Self {
        Intent {
            key: key.into(),
            provider,
            tool: tool.map(str::to_string),
            body,
        }
    }

    /// The canonical hash of what would be submitted (see [`request_sha256`]).
    pub fn request_sha256(&self) -> String {
        request_sha256(self.provider, self.tool.as_deref(), &self.body)
    }
}

/// What [`crate::Journal::record_intent`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentOutcome {
    /// A new `pending` job was written.
    Created,
    /// The key was already there with the same request: nothing written (a re-run).
    Existing {
        /// The job's current state.
        state: JobState,
    },
    /// The key was already there with a different request: nothing written. Use another key
    /// or another journal.
    Conflict {
        /// The stored request's hash.
        stored_sha256: String,
        /// The new request's hash.
        new_sha256: String,
    },
}

/// The list head recorded before a submit: the newest task the provider's list showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum HeadMark {
    /// No list head was known when the submit began.
    NotRecorded,
    /// The list was empty.
    Empty,
    /// The newest task's id.
    Id(String),
}

/// A provider's most recent list head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListHead {
    /// The provider.
    pub provider: Provider,
    /// The newest task's id, `None` when the list was empty.
    pub id: Option<String>,
    /// When it was recorded (client clock).
    #[serde(serialize_with = "ser_ts")]
    pub recorded_at: Timestamp,
}

/// Why a submit is held (see [`SubmitGate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Another submit of the same tool is on the wire.
    SubmitInFlight,
    /// Another submit's outcome is unknown and not reconciled yet.
    Uncertain,
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HoldReason::SubmitInFlight => "a submit in flight",
            HoldReason::Uncertain => "an uncertain submit",
        })
    }
}

/// Whether a submit of (provider, tool) may go out now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitGate {
    /// Go ahead.
    Open,
    /// Wait: reconcile (or wait for) `blocking_key` first.
    Held {
        /// The job holding the gate.
        blocking_key: String,
        /// Why.
        reason: HoldReason,
    },
}

/// What [`crate::Journal::record_snapshot`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// The state or raw status changed (an event was written).
    Changed {
        /// The job's key.
        key: String,
        /// The state before.
        from: JobState,
        /// The state now.
        to: JobState,
    },
    /// Nothing new but the outputs (a refreshed URL): they were updated.
    OutputsUpdated {
        /// The job's key.
        key: String,
    },
    /// Nothing new: nothing written.
    Unchanged {
        /// The job's key.
        key: String,
    },
    /// The job is terminal and the snapshot says otherwise: ignored (terminal states stick).
    IgnoredTerminal {
        /// The job's key.
        key: String,
        /// Its terminal state.
        state: JobState,
    },
}

/// A finished download of one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadRecord {
    /// Where the file is (already fsynced and renamed into place).
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// When it was recorded (client clock).
    #[serde(serialize_with = "ser_ts")]
    pub downloaded_at: Timestamp,
}

/// A download to record (see [`crate::Journal::record_download`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDownload {
    /// Which output of the job (0-based, as in the snapshot's `outputs`).
    pub index: u32,
    /// Where the file now is (after the rename).
    pub path: std::path::PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, 64 hex digits.
    pub sha256: String,
}

/// One output of a job, with its download when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutput {
    /// Its position in the job's outputs.
    pub index: u32,
    /// What the provider said (URL, file id, MIME type, size, expiry).
    pub output: Output,
    /// The finished download, if any.
    pub download: Option<DownloadRecord>,
}

/// Everything the journal knows about one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// The caller's stable key.
    pub key: String,
    /// Who runs it.
    pub provider: Provider,
    /// The tool, for VideoGen.
    pub tool: Option<String>,
    /// The request body as stored (JSON text). See [`JobRecord::request_body`].
    pub request_json: String,
    /// The canonical hash of provider, tool and body ([`request_sha256`]).
    pub request_sha256: String,
    /// The key that travels with the submit (Vidiking `metadata`): this journal's id and the
    /// job's key, so that two journals using the same keys never adopt each other's tasks.
    pub client_key: String,
    /// The state.
    pub state: JobState,
    /// The provider's last raw status.
    pub raw_status: Option<String>,
    /// The provider's id, once known.
    pub remote_id: Option<String>,
    /// When the intent was written.
    pub intent_at: Timestamp,
    /// Set from just before a submit is sent until its answer is recorded (and kept while the
    /// job is `uncertain`): the journal's proof of whether a POST may have gone out.
    pub sending_since: Option<Timestamp>,
    /// The journal-wide order of the (last) sending marker: event ids only grow, across
    /// processes, so ordering never depends on a clock.
    pub send_seq: Option<i64>,
    /// The journal-wide order of the moment the remote id was recorded.
    pub submit_seq: Option<i64>,
    /// How many submits were begun.
    pub submit_attempts: u32,
    /// The list head copied when the (last) submit began.
    pub list_head_at_send: HeadMark,
    /// When the remote id became known.
    pub submitted_at: Option<Timestamp>,
    /// When the job became uncertain.
    pub uncertain_since: Option<Timestamp>,
    /// Why it is uncertain.
    pub uncertain_reason: Option<String>,
    /// When the client learned the terminal status.
    pub terminal_seen_at: Option<Timestamp>,
    /// When the record last changed.
    pub updated_at: Timestamp,
    /// Why it failed.
    pub error: Option<JobError>,
    /// Its outputs, in the provider's order.
    pub outputs: Vec<StoredOutput>,
}

impl JobRecord {
    /// The remote job, once its id is known.
    pub fn job_id(&self) -> Option<JobId> {
        self.remote_id
            .as_ref()
            .map(|id| JobId::new(self.provider, id.clone()))
    }

    /// Whether a submit was begun and its answer not recorded.
    pub fn is_sending(&self) -> bool {
        self.state == JobState::Pending && self.sending_since.is_some()
    }

    /// The stored request body, parsed. A damaged value is an error, never a panic.
    pub fn request_body(&self) -> Result<serde_json::Value, JournalError> {
        serde_json::from_str(&self.request_json).map_err(|e| JournalError::CorruptRecord {
            key: self.key.clone(),
            what: "request JSON",
            detail: e.to_string(),
        })
    }

    /// The request to submit: body, tool and [`JobRecord::client_key`] as the key. Add the
    /// webhook URL of this invocation with [`SubmitRequest::with_webhook_url`].
    pub fn submit_request(&self) -> Result<SubmitRequest, JournalError> {
        let mut req = SubmitRequest::new(self.request_body()?).with_key(self.client_key.clone());
        req.tool = self.tool.clone();
        Ok(req)
    }

    /// The paths of the finished downloads.
    pub fn files(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|o| o.download.as_ref().map(|d| d.path.clone()))
            .collect()
    }

    /// The indexes of outputs without a finished download.
    pub fn missing_downloads(&self) -> Vec<u32> {
        self.outputs
            .iter()
            .filter(|o| o.download.is_none())
            .map(|o| o.index)
            .collect()
    }
}

/// What a job needs on resume (see [`crate::Journal::work_on_resume`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Never sent: submit it (through the [`SubmitGate`]).
    Submit,
    /// A submit was begun in this process and is not answered yet.
    SubmitInFlight,
    /// Uncertain: reconcile it (see [`crate::reconcile_uncertain`]).
    Reconcile,
    /// Known id, not terminal: wait for it (poll or webhook).
    Wait,
    /// Succeeded without outputs recorded: read its status for them.
    ReadOutputs,
    /// Succeeded, these outputs are not downloaded yet.
    Download {
        /// The output indexes.
        indexes: Vec<u32>,
    },
}

/// A job and what it needs next.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// The job.
    pub job: JobRecord,
    /// What to do.
    pub step: NextStep,
}

/// One entry of a job's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// When (client clock).
    #[serde(serialize_with = "ser_ts")]
    pub at: Timestamp,
    /// What happened: `intent`, `sending`, `submitted`, `not_sent`, `rejected`, `uncertain`,
    /// `recovered`, `resubmittable`, `adopted`, `status`, `ignored`, `output`, `download`,
    /// `error`.
    pub kind: String,
    /// The state after it, where it changed one.
    pub state: Option<String>,
    /// The provider's raw status, where one came with it.
    pub raw_status: Option<String>,
    /// An error or reconciliation code.
    pub code: Option<String>,
    /// A message.
    pub message: Option<String>,
}

/// Monotonic totals of the journal, to compute one invocation's share (see
/// [`crate::Journal::summary_since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Every API request counted.
    pub api_calls: u64,
    /// Every byte downloaded and recorded.
    pub downloaded_bytes: u64,
}

/// The summary object of `run`, `resume` and `status --journal`. The first seven fields are the
/// contract; the rest extend it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Jobs in the journal.
    pub jobs: u64,
    /// Succeeded jobs.
    pub succeeded: u64,
    /// Failed jobs (including submits the provider refused).
    pub failed: u64,
    /// Cancelled jobs.
    pub cancelled: u64,
    /// Uncertain jobs (not reconciled).
    pub uncertain: u64,
    /// API requests (the invocation's in `run`/`resume`, the journal's in `status`).
    pub api_calls: u64,
    /// Bytes downloaded (likewise).
    pub downloaded_bytes: u64,
    /// Jobs not yet sent.
    pub pending: u64,
    /// Jobs queued at the provider.
    pub queued: u64,
    /// Jobs running at the provider.
    pub running: u64,
    /// Failed jobs by the provider's error code (`unknown` without one).
    pub failed_by_code: BTreeMap<String, u64>,
}

/// One item of `status --journal --json`, exactly as the contract says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusItem {
    /// The caller's key.
    pub key: String,
    /// The provider.
    pub provider: Provider,
    /// The remote id, `null` until known.
    pub id: Option<String>,
    /// The journal state.
    pub status: JobState,
    /// The provider's raw status, `null` until known.
    pub raw_status: Option<String>,
    /// When the remote id became known (RFC 3339, milliseconds).
    #[serde(serialize_with = "ser_opt_ts")]
    pub submitted_at: Option<Timestamp>,
    /// When the client learned the terminal status (RFC 3339, milliseconds).
    #[serde(serialize_with = "ser_opt_ts")]
    pub terminal_seen_at: Option<Timestamp>,
    /// The downloaded files.
    pub files: Vec<String>,
}

impl From<&JobRecord> for StatusItem {
    fn from(j: &JobRecord) -> Self {
        StatusItem {
            key: j.key.clone(),
            provider: j.provider,
            id: j.remote_id.clone(),
            status: j.state,
            raw_status: j.raw_status.clone(),
            submitted_at: j.submitted_at,
            terminal_seen_at: j.terminal_seen_at,
            files: j.files(),
        }
    }
}

/// The whole `status --journal --json` object: the summary fields plus `items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The journal's summary (its totals).
    #[serde(flatten)]
    pub summary: Summary,
    /// One item per job, in the order the intents were written.
    pub items: Vec<StatusItem>,
}

/// `t` as RFC 3339 UTC with milliseconds (`2026-01-01T00:00:00.000Z`), as the journal stores it.
pub fn format_timestamp(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.to_utc())
}

fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(*t))
}

fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_timestamp(*t)),
        None => s.serialize_none(),
    }
}

/// JSON with object keys sorted and no whitespace, whatever order the input had.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The canonical hash of a request: SHA-256 (hex) of `"{provider}\n{tool}\n{canonical body}"`.
/// The same request in another key order hashes the same.
pub fn request_sha256(provider: Provider, tool: Option<&str>, body: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(provider.as_str().as_bytes());
    h.update(b"\n");
    h.update(tool.unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(canonical_json(body).as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "é"}}"#)
                .unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"é","y":[1,{"c":3,"d":2}]},"b":1}"#
        );
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a": {"x": "é", "y": [1, {"c": 3, "d": 2}]}, "b": 1}"#)
                .unwrap();
        assert_eq!(
            request_sha256(Provider::VideoGen, Some("generate-image"), &a),
            request_sha256(Provider::VideoGen, Some("generate-image"), &b)
        );
        assert_ne!(
            request_sha256(Provider::VideoGen, Some("generate-image"), &a),
            request_sha256(Provider::VideoGen, Some("generate-video-clip"), &a)
        );
    }

    #[test]
    fn states_round_trip_in_contract_words() {
        let words: Vec<_> = JobState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            words,
            [
                "pending",
                "uncertain",
                "queued",
                "running",
                "succeeded",
                "failed",
                "cancelled"
            ]
        );
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(JobState::parse("done"), None);
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(format_timestamp(t), "2026-01-01T00:00:00.000Z");
        assert_eq!(parse_timestamp("2026-01-01T00:00:00.000Z"), Some(t));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
