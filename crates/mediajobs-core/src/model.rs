//! Providers, job ids, statuses, snapshots and outputs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in time, always UTC. Read from the injected [`crate::Clock`], never from the system.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The media-generation providers mediajobs speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// VibePeak: real-estate narrated slideshows.
    VibePeak,
    /// VideoGen: media tools (images, video clips, speech, ...).
    VideoGen,
    /// Vidiking: timeline renders.
    Vidiking,
}

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Provider; 3] = [Provider::VibePeak, Provider::VideoGen, Provider::Vidiking];

    /// The provider's lowercase name, as used in batch files, URLs and environment variables.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::VibePeak => "vibepeak",
            Provider::VideoGen => "videogen",
            Provider::Vidiking => "vidiking",
        }
    }

    /// The prefix of this provider's environment variables, e.g. `VIDEOGEN` for
    /// `VIDEOGEN_API_KEY`.
    pub fn env_prefix(self) -> &'static str {
        match self {
            Provider::VibePeak => "VIBEPEAK",
            Provider::VideoGen => "VIDEOGEN",
            Provider::Vidiking => "VIDIKING",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a provider name that is not one of [`Provider::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?}: expected one of vibepeak, videogen, vidiking")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vibepeak" => Ok(Provider::VibePeak),
            "videogen" => Ok(Provider::VideoGen),
            "vidiking" => Ok(Provider::Vidiking),
            _ => Err(UnknownProvider(s.to_string())),
        }
    }
}

/// A job as the provider knows it: the provider plus its opaque remote id.
///
/// Remote ids are stored, never parsed (`task_…`, `vg_exec_…`, `job_…` are conventions, not
/// contracts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId {
    /// Who runs the job.
    pub provider: Provider,
    /// The provider's id for it.
    pub id: String,
}

impl JobId {
    /// A job id from its parts.
    pub fn new(provider: Provider, id: impl Into<String>) -> Self {
        JobId {
            provider,
            id: id.into(),
        }
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.id)
    }
}

/// The unified lifecycle every provider's statuses map onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted, waiting to start.
    Queued,
    /// Being worked on.
    Running,
    /// Done; outputs are ready.
    Succeeded,
    /// Done; it did not work. Terminal.
    Failed,
    /// Stopped on request. Terminal.
    Cancelled,
}

impl Status {
    /// Succeeded, failed and cancelled never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    /// The lowercase name used in JSON output and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Parses [`Status::as_str`]'s names back.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "queued" => Some(Status::Queued),
            "running" => Some(Status::Running),
            "succeeded" => Some(Status::Succeeded),
            "failed" => Some(Status::Failed),
            "cancelled" => Some(Status::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unified status together with the provider's own word for it.
///
/// A raw status the adapter does not know (say a future `awaiting_approval`) is kept as a
/// non-terminal [`Status::Running`] with `recognized == false`, so callers keep waiting and
/// can report it; it is never a panic nor a guess at an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStatus {
    /// The unified status.
    pub status: Status,
    /// The provider's status string, exactly as it was sent.
    pub raw: String,
    /// `false` when the adapter did not know `raw`.
    pub recognized: bool,
}

impl ProviderStatus {
    /// A raw status the adapter maps to `status`.
    pub fn known(status: Status, raw: impl Into<String>) -> Self {
        ProviderStatus {
            status,
            raw: raw.into(),
            recognized: true,
        }
    }

    /// A raw status the adapter does not know: non-terminal, flagged.
    pub fn unrecognized(raw: impl Into<String>) -> Self {
        ProviderStatus {
            status: Status::Running,
            raw: raw.into(),
            recognized: false,
        }
    }

    /// Maps `raw` with `table` (an adapter's generated status table); unknown → unrecognized.
    pub fn from_table(raw: &str, table: impl Fn(&str) -> Option<Status>) -> Self {
        match table(raw) {
            Some(status) => ProviderStatus::known(status, raw),
            None => ProviderStatus::unrecognized(raw),
        }
    }

    /// Whether the status can never change again.
    pub fn is_terminal(&self) -> bool {
        self.recognized && self.status.is_terminal()
    }
}

/// One result file of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// Where to download it. Signed URLs expire: see `expires_at`.
    pub url: Option<String>,
    /// The provider's id for the file, where it has one (VideoGen `fileId`: needed to refresh
    /// an expired URL).
    pub file_id: Option<String>,
    /// What it is: a MIME type where the provider says or implies one (`video/mp4`), else the
    /// provider's kind (`IMAGE`, `VIDEO`).
    pub mime_type: Option<String>,
    /// The size in bytes, where announced.
    pub size: Option<u64>,
    /// When `url` stops working, where known.
    pub expires_at: Option<Timestamp>,
}

impl Output {
    /// Whether the URL is missing or expired at `now`, allowing `margin` for the download
    /// itself.
    pub fn needs_refresh(&self, now: Timestamp, margin: Duration) -> bool {
        if self.url.is_none() {
            return true;
        }
        match self.expires_at {
            Some(at) => match chrono::Duration::from_std(margin) {
                Ok(m) => now + m >= at,
                Err(_) => true,
            },
            None => false,
        }
    }
}

/// Why a job failed, in the provider's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// The provider's failure code (`IMAGE_PROCESSING_FAILED`, `INVALID_ASSET`), where given.
    pub code: Option<String>,
    /// The provider's message.
    pub message: String,
}

/// What a provider said about a job at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The job.
    pub job: JobId,
    /// Its status, unified and raw.
    pub status: ProviderStatus,
    /// Progress percent (0–100) where the provider reports it.
    pub progress: Option<f64>,
    /// Position in the provider's queue where reported.
    pub queue_position: Option<u32>,
    /// The provider's estimate of completion, where given.
    pub estimated_completion: Option<Timestamp>,
    /// The provider's hint of when to ask again (`Retry-After`), where given.
    pub retry_after: Option<Duration>,
    /// When the provider says it created the job, where given.
    pub created_at: Option<Timestamp>,
    /// Which attempt the provider is on (VideoGen `attemptIndex`), where given.
    pub attempt: Option<u32>,
    /// The tool or kind of job, where the provider names it (VideoGen `toolType`).
    pub tool: Option<String>,
    /// The caller's stable key, where the provider echoes it back (Vidiking `metadata`).
    pub client_key: Option<String>,
    /// Result files; empty until succeeded.
    pub outputs: Vec<Output>,
    /// Why it failed, when it did.
    pub error: Option<JobError>,
    /// The provider's answer as received, for fields the unified model does not carry.
    pub raw: serde_json::Value,
}

impl Snapshot {
    /// A snapshot with only a status; everything else empty.
    pub fn new(job: JobId, status: ProviderStatus) -> Self {
        Snapshot {
            job,
            status,
            progress: None,
            queue_position: None,
            estimated_completion: None,
            retry_after: None,
            created_at: None,
            attempt: None,
            tool: None,
            client_key: None,
            outputs: Vec::new(),
            error: None,
            raw: serde_json::Value::Null,
        }
    }

    /// Whether the job can never change again.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        assert!("openai".parse::<Provider>().is_err());
        assert_eq!(" VideoGen ".parse::<Provider>(), Ok(Provider::VideoGen));
    }

    #[test]
    fn only_succeeded_failed_cancelled_are_terminal() {
        let terminal: Vec<_> = [
            Status::Queued,
            Status::Running,
            Status::Succeeded,
            Status::Failed,
            Status::Cancelled,
        ]
        .into_iter()
        .filter(|s| s.is_terminal())
        .collect();
        assert_eq!(
            terminal,
            [Status::Succeeded, Status::Failed, Status::Cancelled]
        );
        for s in terminal {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn unknown_raw_status_is_kept_and_never_terminal() {
        let table = |raw: &str| match raw {
            "succeeded" => Some(Status::Succeeded),
            _ => None,
        };
        let s = ProviderStatus::from_table("awaiting_approval", table);
        assert_eq!(s.raw, "awaiting_approval");
        assert!(!s.recognized);
        assert!(!s.is_terminal());
        assert!(ProviderStatus::from_table("succeeded", table).is_terminal());
    }

    #[test]
    fn output_refresh_honours_expiry_and_margin() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let mut out = Output {
            url: Some("http://x".into()),
            file_id: None,
            mime_type: None,
            size: None,
            expires_at: Some(now + chrono::Duration::seconds(60)),
        };
        assert!(!out.needs_refresh(now, Duration::from_secs(30)));
        assert!(out.needs_refresh(now, Duration::from_secs(60)));
        out.expires_at = None;
        assert!(!out.needs_refresh(now, Duration::from_secs(3600)));
        out.url = None;
        assert!(out.needs_refresh(now, Duration::ZERO));
    }
}
