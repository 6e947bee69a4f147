//! What can go wrong with a journal, and what to do about it.

use std::path::{Path, PathBuf};

use mediajobs_core::{JobId, Provider};

use crate::model::JobState;

/// Everything the journal can refuse or fail at. Each message names the journal or the job and
/// says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another process holds the run lock of this journal.
    #[error(
        "journal {path} is in use by another mediajobs run (its lock {lock} is held); \
         wait for that run to finish, or read the journal with `mediajobs status --journal`"
    )]
    Locked {
        /// The journal.
        path: PathBuf,
        /// The lock file beside it.
        lock: PathBuf,
    },
    /// The journal was written by a newer mediajobs.
    #[error(
        "journal {path} has schema version {found}, newer than version {supported} that this \
         mediajobs understands; open it with the newer mediajobs that wrote it"
    )]
    NewerSchema {
        /// The journal.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A read-only open found an older schema, which only a writable open can upgrade.
    #[error(
        "journal {path} has schema version {found}, older than version {supported}; open it once \
         for writing (`mediajobs resume --journal`) to upgrade it"
    )]
    OlderSchema {
        /// The journal.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build writes.
        supported: u32,
    },
    /// The file exists but is not a mediajobs journal.
    #[error(
        "{path} is not a mediajobs journal ({reason}); pass the file that `mediajobs run` wrote"
    )]
    NotAJournal {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// There is no journal at the path.
    #[error("journal {path} does not exist; `mediajobs run --journal` creates one")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// SQLite failed.
    #[error(
        "journal {path}: {what} failed: {source}; check that the disk is writable and not full"
    )]
    Sqlite {
        /// The journal.
        path: PathBuf,
        /// What the journal was doing.
        what: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation around the journal failed.
    #[error("journal {path}: {what} failed: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the journal was doing.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A write on a journal opened read-only.
    #[error(
        "journal opened read-only: cannot {what}; open it for a run (`SqliteJournal::open`) to change it"
    )]
    ReadOnly {
        /// The refused write.
        what: &'static str,
    },
    /// No job has this key.
    #[error("no job with key {key:?} in the journal; record its intent first")]
    UnknownJob {
        /// The key asked for.
        key: String,
    },
    /// No job has this remote id.
    #[error("no job in the journal has the remote id {job}; was it submitted by another journal?")]
    UnknownRemoteId {
        /// The remote id.
        job: JobId,
    },
    /// The job is in a state where the step makes no sense (a protocol error of the caller).
    #[error("job {key:?} is {from}: cannot {action}")]
    InvalidTransition {
        /// The job.
        key: String,
        /// Its state.
        from: JobState,
        /// The refused step.
        action: &'static str,
    },
    /// A snapshot of another provider was recorded for the job.
    #[error("job {key:?} belongs to {expected}, but a {got} snapshot was recorded for it")]
    ProviderMismatch {
        /// The job.
        key: String,
        /// Its provider.
        expected: Provider,
        /// The snapshot's provider.
        got: Provider,
    },
    /// The remote id is already attached to another job, or the job has another one.
    #[error(
        "job {key:?}: remote id {id} conflicts with {other}; the journal keeps one remote task per job"
    )]
    RemoteIdConflict {
        /// The job.
        key: String,
        /// The new remote id.
        id: String,
        /// What it conflicts with (another job's key, or this job's existing id).
        other: String,
    },
    /// A submit must wait: another submit of the same provider/tool is in flight or uncertain.
    #[error(
        "job {key:?}: submit held, {provider}{tool} has {reason} (job {blocking_key:?}); \
         reconcile that job first"
    )]
    SubmitHeld {
        /// The job that wanted to submit.
        key: String,
        /// Its provider.
        provider: Provider,
        /// ` tool X`, or empty.
        tool: String,
        /// The job holding the gate.
        blocking_key: String,
        /// Why it holds it.
        reason: crate::model::HoldReason,
    },
    /// VideoGen submits need a list head recorded first (see `reconcile::refresh_list_head`).
    #[error(
        "{provider}: no list head recorded; call `refresh_list_head` before the first submit so that \
         a lost answer can be reconciled"
    )]
    ListHeadMissing {
        /// The provider.
        provider: Provider,
    },
    /// The caller passed something the journal cannot store.
    #[error("{what}: {message}")]
    InvalidInput {
        /// What was passed.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A stored value cannot be read back (the file was edited or damaged).
    #[error(
        "job {key:?}: the stored {what} is unreadable ({detail}); the journal was edited or damaged"
    )]
    CorruptRecord {
        /// The job (or setting) concerned.
        key: String,
        /// Which value.
        what: &'static str,
        /// The parser's complaint.
        detail: String,
    },
    /// The output index does not exist for the job.
    #[error("job {key:?} has no output #{index}; record the snapshot with its outputs first")]
    UnknownOutput {
        /// The job.
        key: String,
        /// The index asked for.
        index: u32,
    },
}

impl JournalError {
    pub(crate) fn sql(what: impl Into<String>, source: rusqlite::Error) -> Self {
        JournalError::Sqlite {
            path: PathBuf::new(),
            what: what.into(),
            source,
        }
    }

    /// Fills in the journal path of errors raised below the place that knows it.
    pub(crate) fn with_path(self, path: &Path) -> Self {
        match self {
            JournalError::Sqlite {
                path: p,
                what,
                source,
            } if p.as_os_str().is_empty() => JournalError::Sqlite {
                path: path.to_path_buf(),
                what,
                source,
            },
            other => other,
        }
    }
}

/// Adds "what was being done" to a rusqlite result.
pub(crate) trait SqlContext<T> {
    fn ctx(self, what: &str) -> Result<T, JournalError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, what: &str) -> Result<T, JournalError> {
        self.map_err(|e| JournalError::sql(what, e))
    }
}
