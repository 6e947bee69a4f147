//! The SQLite journal: one file, WAL, `synchronous=FULL`, a run lock beside it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mediajobs_core::{
    Clock, JobError, JobId, Operation, Output, Provider, Secret, Snapshot, Timestamp,
};
use rusqlite::types::ToSql;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
    params,
};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::error::{JournalError, SqlContext};
use crate::journal::Journal;
use crate::model::{
    Counters, DownloadRecord, Event, HeadMark, HoldReason, Intent, IntentOutcome, JobRecord,
    JobState, ListHead, NewDownload, NextStep, SnapshotOutcome, StatusItem, StatusReport,
    StoredOutput, SubmitGate, Summary, WorkItem, format_timestamp, parse_timestamp,
};
use crate::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};

/// How long a reader or writer waits for SQLite's own short-lived locks (a checkpoint, the
/// other side's commit) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const RECOVERED_REASON: &str = "the process stopped after this submit may have been sent and \
                                before its answer was recorded";

/// The journal on SQLite.
///
/// - [`SqliteJournal::open`] (or [`SqliteJournal::open_existing`]) is for a run: it takes the
///   run lock (a second run on the same journal is refused with [`JournalError::Locked`]),
///   migrates the schema, and turns every job whose submit was in flight when a previous process
///   died into `uncertain` ([`SqliteJournal::recovered_on_open`]).
/// - [`SqliteJournal::open_read_only`] is for `status`: no lock, no writes, works while a run
///   holds the lock (WAL readers see the last committed state).
///
/// Every write is one `BEGIN IMMEDIATE … COMMIT` with `synchronous=FULL`: when a method returns,
/// the write is in the fsynced WAL and survives `kill -9` and power loss.
pub struct SqliteJournal {
    path: PathBuf,
    conn: Mutex<Connection>,
    clock: Option<Arc<dyn Clock>>,
    lock: Option<RunLock>,
    journal_id: String,
    recovered: Vec<String>,
}

impl std::fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJournal")
            .field("path", &self.path)
            .field("journal_id", &self.journal_id)
            .field("read_only", &self.clock.is_none())
            .field("lock", &self.lock.as_ref().map(|l| &l.path))
            .finish()
    }
}

/// The run lock: an SQLite file beside the journal (`<journal>.lock`) held in an exclusive
/// transaction for the life of the run. The OS drops the lock when the process dies, even by
/// `kill -9`, so a stale lock never needs cleaning up. Readers of the journal never touch it.
struct RunLock {
    path: PathBuf,
    _conn: Mutex<Connection>,
}

impl RunLock {
    fn acquire(journal: &Path) -> Result<RunLock, JournalError> {
        let path = lock_path(journal);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| JournalError::sql("open the lock file", e).with_path(&path))?;
        // Long enough to outwait a `status` reader's momentary probe (`run_in_progress`),
        // short enough that a second run is refused at once.
        conn.busy_timeout(Duration::from_millis(250))
            .map_err(|e| JournalError::sql("configure the lock file", e).with_path(&path))?;
        // Another process holding the lock answers "busy" to any step below.
        let refuse = |what: &str, e: rusqlite::Error| match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
            {
                JournalError::Locked {
                    path: journal.to_path_buf(),
                    lock: path.clone(),
                }
            }
            _ => JournalError::sql(what, e).with_path(&path),
        };
        // No rollback journal: the lock file never holds data, so nothing is left behind.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = OFF", [], |r| r.get(0))
            .map_err(|e| refuse("configure the lock file", e))?;
        conn.execute_batch("BEGIN EXCLUSIVE")
            .map_err(|e| refuse("take the run lock", e))?;
        Ok(RunLock {
            path,
            _conn: Mutex::new(conn),
        })
    }
}

/// Whether a live process holds `journal`'s run lock, asked without taking it: a reader's
/// shared lock on the lock file is refused while a run holds it exclusively. Cannot tell (no
/// lock file, another error): no.
fn run_in_progress(journal: &Path) -> bool {
    let path = lock_path(journal);
    if !path.exists() {
        return false;
    }
    let Ok(conn) = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return false;
    };
    if conn.busy_timeout(Duration::ZERO).is_err() {
        return false;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Err(rusqlite::Error::SqliteFailure(f, _)) => {
            matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        }
        _ => false,
    }
}

/// The run lock's file for a journal: `<journal>.lock`.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut s = journal.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

fn open_error(path: &Path, what: &str, e: rusqlite::Error) -> JournalError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase => {
            JournalError::NotAJournal {
                path: path.to_path_buf(),
                reason: "not an SQLite database".into(),
            }
        }
        _ => JournalError::sql(what, e).with_path(path),
    }
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool, rusqlite::Error> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Checks the file is ours and returns the schema version in it (0 for a new file).
fn schema_version(conn: &Connection, path: &Path) -> Result<u32, JournalError> {
    let what = "read the schema version";
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| open_error(path, what, e))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(JournalError::NotAJournal {
            path: path.to_path_buf(),
            reason: format!("its SQLite application id is {app_id:#x}"),
        });
    }
    if !table_exists(conn, "schema_migrations").map_err(|e| open_error(path, what, e))? {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| open_error(path, what, e))?;
        if tables > 0 {
            return Err(JournalError::NotAJournal {
                path: path.to_path_buf(),
                reason: "it has tables but no schema_migrations table".into(),
            });
        }
        return Ok(0);
    }
    let v: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(|e| open_error(path, what, e))?;
    Ok(v.map(|v| u32::try_from(v).unwrap_or(u32::MAX)).unwrap_or(0))
}

#[cfg(unix)]
fn make_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // The journal may hold a webhook signing secret: owner-only. SQLite gives the -wal and -shm
    // files the same mode as the database.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        warn!(path = %path.display(), error = %e, "could not make the journal owner-only");
    }
}

#[cfg(not(unix))]
fn make_private(_path: &Path) {}

fn to_i64(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

fn to_u64(x: i64) -> u64 {
    u64::try_from(x).unwrap_or(0)
}

impl SqliteJournal {
    /// Opens the journal for a run, creating it if absent. Takes the run lock, migrates the
    /// schema, and marks every submit left in flight by a dead process `uncertain`.
    ///
    /// Errors: [`JournalError::Locked`] when another run holds it,
    /// [`JournalError::NewerSchema`] when a newer mediajobs wrote it,
    /// [`JournalError::NotAJournal`] for a foreign file.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self, JournalError> {
        Self::open_writable(path.as_ref(), clock, true)
    }

    /// Like [`SqliteJournal::open`], but a missing file is [`JournalError::NotFound`]
    /// (`resume`).
    pub fn open_existing(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JournalError> {
        Self::open_writable(path.as_ref(), clock, false)
    }

    /// Opens an existing journal read-only, without the run lock: for `status` while a run may
    /// be going on. Every write method returns [`JournalError::ReadOnly`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(JournalError::NotFound { path });
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(&path, "open the journal read-only", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(&path, "configure the journal", e))?;
        let found = schema_version(&conn, &path)?;
        if found == 0 {
            // An empty SQLite file: a run was stopped before it created the journal's tables,
            // so no job was ever recorded (or sent).
            return Err(JournalError::NotAJournal {
                path,
                reason: "it is empty: a run stopped before recording any job, so nothing was sent; run the batch again with `mediajobs run`".into(),
            });
        }
        if found > SCHEMA_VERSION {
            return Err(JournalError::NewerSchema {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(JournalError::OlderSchema {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let journal_id: String = conn
            .query_row(
                "SELECT journal_id FROM journal_info WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| open_error(&path, "read the journal id", e))?;
        Ok(SqliteJournal {
            path,
            conn: Mutex::new(conn),
            clock: None,
            lock: None,
            journal_id,
            recovered: Vec::new(),
        })
    }

    fn open_writable(
        path: &Path,
        clock: Arc<dyn Clock>,
        create: bool,
    ) -> Result<Self, JournalError> {
        let path = path.to_path_buf();
        let existed = path.exists();
        if !create && !existed {
            return Err(JournalError::NotFound { path });
        }
        // The lock first: nothing below may run while another process writes.
        let lock = RunLock::acquire(&path)?;
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(&path, "open the journal", e))?;
        if !existed {
            make_private(&path);
        }
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(&path, "configure the journal", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| open_error(&path, "switch the journal to WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::InvalidInput {
                what: format!("journal {}", path.display()),
                message: format!(
                    "SQLite could not use write-ahead logging here (journal_mode is {mode}); \
                     put the journal on a local file system"
                ),
            });
        }
        // FULL: every commit fsyncs the WAL. NORMAL would survive kill -9 but not a power cut,
        // and a lost sending marker could make a resume pay twice.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| open_error(&path, "configure the journal", e))?;
        let now = clock.now();
        let (journal_id, recovered) = migrate_and_recover(&mut conn, &path, now)?;
        info!(path = %path.display(), journal_id = %journal_id, recovered = recovered.len(), "journal opened for a run");
        Ok(SqliteJournal {
            path,
            conn: Mutex::new(conn),
            clock: Some(clock),
            lock: Some(lock),
            journal_id,
            recovered,
        })
    }

    /// The keys of jobs whose submit was in flight when the previous process stopped, and that
    /// opening turned `uncertain`.
    pub fn recovered_on_open(&self) -> &[String] {
        &self.recovered
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this handle can only read.
    pub fn is_read_only(&self) -> bool {
        self.clock.is_none()
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the guard dropped its transaction (rolled back): the
        // connection is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Transaction<'_>, Timestamp) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let clock = self.clock.as_ref().ok_or(JournalError::ReadOnly { what })?;
        let now = clock.now();
        let mut conn = self.conn();
        let run = || {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx(what)?;
            let out = f(&tx, now)?;
            tx.commit().ctx(what)?;
            Ok(out)
        };
        run().map_err(|e: JournalError| e.with_path(&self.path))
    }

    /// [`SqliteJournal::write`] for steps whose last statement returns a value nobody needs.
    fn write_unit<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Transaction<'_>, Timestamp) -> Result<T, JournalError>,
    ) -> Result<(), JournalError> {
        self.write(what, f).map(drop)
    }

    fn read<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut conn = self.conn();
        let run = || {
            // One read transaction: a consistent snapshot across the queries.
            let tx = conn.transaction().ctx(what)?;
            f(&tx)
        };
        run().map_err(|e: JournalError| e.with_path(&self.path))
    }
}

fn migrate_and_recover(
    conn: &mut Connection,
    path: &Path,
    now: Timestamp,
) -> Result<(String, Vec<String>), JournalError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| open_error(path, "start the migration", e))?;
    let found = schema_version(&tx, path)?;
    if found > SCHEMA_VERSION {
        return Err(JournalError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let at = format_timestamp(now);
    let run = || -> Result<(String, Vec<String>), JournalError> {
        for (version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            tx.execute_batch(sql)
                .ctx(&format!("migrate to schema version {version}"))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
                params![version, description, at],
            )
            .ctx("record the migration")?;
            info!(version, description, "journal schema migrated");
        }
        if found == 0 {
            tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))
                .ctx("set the application id")?;
            let mut h = Sha256::new();
            h.update(path.to_string_lossy().as_bytes());
            h.update(now.timestamp_nanos_opt().unwrap_or_default().to_le_bytes());
            h.update(std::process::id().to_le_bytes());
            let id = hex::encode(h.finalize());
            let id = id.get(..12).unwrap_or(&id).to_string();
            tx.execute(
                "INSERT INTO journal_info (id, journal_id, created_at) VALUES (1, ?1, ?2)",
                params![id, at],
            )
            .ctx("write the journal id")?;
        }
        let journal_id: String = tx
            .query_row(
                "SELECT journal_id FROM journal_info WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .ctx("read the journal id")?;

        // Every submit that was in flight belonged to a process that is gone (we hold the run
        // lock): its POST may have been sent, so it is uncertain.
        let stuck: Vec<(i64, String)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT seq, key FROM jobs WHERE state = 'pending' AND sending_since IS NOT NULL ORDER BY seq",
                )
                .ctx("find interrupted submits")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .ctx("find interrupted submits")?;
            rows.collect::<Result<_, _>>()
                .ctx("find interrupted submits")?
        };
        for (seq, key) in &stuck {
            tx.execute(
                "UPDATE jobs SET state = 'uncertain', uncertain_since = ?2, uncertain_reason = ?3, \
                 updated_at = ?2 WHERE seq = ?1",
                params![seq, at, RECOVERED_REASON],
            )
            .ctx("mark an interrupted submit uncertain")?;
            add_event(
                &tx,
                *seq,
                &at,
                "recovered",
                Some(JobState::Uncertain),
                None,
                None,
                Some(RECOVERED_REASON),
            )?;
            warn!(key = %key, "a submit was interrupted by a crash: the job is uncertain");
        }
        Ok((journal_id, stuck.into_iter().map(|(_, k)| k).collect()))
    };
    let out = run().map_err(|e| e.with_path(path))?;
    tx.commit()
        .map_err(|e| open_error(path, "commit the migration", e))?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Row mapping

const JOB_COLS: &str = "seq, key, provider, tool, request_json, request_sha256, client_key, state, \
     raw_status, remote_id, intent_at, sending_since, submit_attempts, head_known, head_id, \
     submitted_at, uncertain_since, uncertain_reason, terminal_seen_at, updated_at, error_code, \
     error_message, send_seq, submit_seq";

struct RawJob {
    seq: i64,
    key: String,
    provider: String,
    tool: Option<String>,
    request_json: String,
    request_sha256: String,
    client_key: String,
    state: String,
    raw_status: Option<String>,
    remote_id: Option<String>,
    intent_at: String,
    sending_since: Option<String>,
    submit_attempts: i64,
    head_known: i64,
    head_id: Option<String>,
    submitted_at: Option<String>,
    uncertain_since: Option<String>,
    uncertain_reason: Option<String>,
    terminal_seen_at: Option<String>,
    updated_at: String,
    error_code: Option<String>,
    error_message: Option<String>,
    send_seq: Option<i64>,
    submit_seq: Option<i64>,
}

fn raw_job(r: &Row<'_>) -> rusqlite::Result<RawJob> {
    Ok(RawJob {
        seq: r.get(0)?,
        key: r.get(1)?,
        provider: r.get(2)?,
        tool: r.get(3)?,
        request_json: r.get(4)?,
        request_sha256: r.get(5)?,
        client_key: r.get(6)?,
        state: r.get(7)?,
        raw_status: r.get(8)?,
        remote_id: r.get(9)?,
        intent_at: r.get(10)?,
        sending_since: r.get(11)?,
        submit_attempts: r.get(12)?,
        head_known: r.get(13)?,
        head_id: r.get(14)?,
        submitted_at: r.get(15)?,
        uncertain_since: r.get(16)?,
        uncertain_reason: r.get(17)?,
        terminal_seen_at: r.get(18)?,
        updated_at: r.get(19)?,
        error_code: r.get(20)?,
        error_message: r.get(21)?,
        send_seq: r.get(22)?,
        submit_seq: r.get(23)?,
    })
}

struct RawOutput {
    idx: i64,
    url: Option<String>,
    file_id: Option<String>,
    mime_type: Option<String>,
    size: Option<i64>,
    expires_at: Option<String>,
    path: Option<String>,
    bytes: Option<i64>,
    sha256: Option<String>,
    downloaded_at: Option<String>,
}

fn ts(key: &str, what: &'static str, s: &str) -> Result<Timestamp, JournalError> {
    parse_timestamp(s).ok_or_else(|| JournalError::CorruptRecord {
        key: key.to_string(),
        what,
        detail: format!("{s:?} is not an RFC 3339 time"),
    })
}

fn opt_ts(
    key: &str,
    what: &'static str,
    s: Option<&str>,
) -> Result<Option<Timestamp>, JournalError> {
    s.map(|s| ts(key, what, s)).transpose()
}

impl RawOutput {
    fn into_stored(self, key: &str) -> Result<StoredOutput, JournalError> {
        let download = match (self.path, self.bytes, self.sha256, self.downloaded_at) {
            (Some(path), Some(bytes), Some(sha256), Some(at)) => Some(DownloadRecord {
                path,
                bytes: to_u64(bytes),
                sha256,
                downloaded_at: ts(key, "download time", &at)?,
            }),
            _ => None,
        };
        Ok(StoredOutput {
            index: u32::try_from(self.idx).unwrap_or(u32::MAX),
            output: Output {
                url: self.url,
                file_id: self.file_id,
                mime_type: self.mime_type,
                size: self.size.map(to_u64),
                expires_at: opt_ts(key, "output expiry", self.expires_at.as_deref())?,
            },
            download,
        })
    }
}

impl RawJob {
    fn into_record(self, outputs: Vec<RawOutput>) -> Result<JobRecord, JournalError> {
        let key = self.key;
        let corrupt = |what: &'static str, detail: String| JournalError::CorruptRecord {
            key: key.clone(),
            what,
            detail,
        };
        let provider: Provider = self
            .provider
            .parse()
            .map_err(|e| corrupt("provider", format!("{e}")))?;
        let state = JobState::parse(&self.state)
            .ok_or_else(|| corrupt("state", format!("{:?} is not a job state", self.state)))?;
        let list_head_at_send = match (self.head_known != 0, self.head_id) {
            (false, _) => HeadMark::NotRecorded,
            (true, None) => HeadMark::Empty,
            (true, Some(id)) => HeadMark::Id(id),
        };
        let error = match (self.error_code, self.error_message) {
            (None, None) => None,
            (code, message) => Some(JobError {
                code,
                message: message.unwrap_or_default(),
            }),
        };
        let outputs = outputs
            .into_iter()
            .map(|o| o.into_stored(&key))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JobRecord {
            provider,
            tool: self.tool,
            request_json: self.request_json,
            request_sha256: self.request_sha256,
            client_key: self.client_key,
            state,
            raw_status: self.raw_status,
            remote_id: self.remote_id,
            intent_at: ts(&key, "intent time", &self.intent_at)?,
            sending_since: opt_ts(&key, "sending marker", self.sending_since.as_deref())?,
            send_seq: self.send_seq,
            submit_seq: self.submit_seq,
            submit_attempts: u32::try_from(self.submit_attempts).unwrap_or(0),
            list_head_at_send,
            submitted_at: opt_ts(&key, "submit time", self.submitted_at.as_deref())?,
            uncertain_since: opt_ts(&key, "uncertain time", self.uncertain_since.as_deref())?,
            uncertain_reason: self.uncertain_reason,
            terminal_seen_at: opt_ts(&key, "terminal time", self.terminal_seen_at.as_deref())?,
            updated_at: ts(&key, "update time", &self.updated_at)?,
            error,
            outputs,
            key,
        })
    }
}

fn load_outputs(
    conn: &Connection,
    seq: Option<i64>,
) -> Result<HashMap<i64, Vec<RawOutput>>, JournalError> {
    let what = "read outputs";
    let sql = format!(
        "SELECT o.job_seq, o.idx, o.url, o.file_id, o.mime_type, o.size, o.expires_at, \
         d.path, d.bytes, d.sha256, d.downloaded_at \
         FROM outputs o LEFT JOIN downloads d ON d.job_seq = o.job_seq AND d.idx = o.idx \
         {} ORDER BY o.job_seq, o.idx",
        if seq.is_some() {
            "WHERE o.job_seq = ?1"
        } else {
            ""
        }
    );
    let mut stmt = conn.prepare(&sql).ctx(what)?;
    let map_row = |r: &Row<'_>| {
        Ok((
            r.get::<_, i64>(0)?,
            RawOutput {
                idx: r.get(1)?,
                url: r.get(2)?,
                file_id: r.get(3)?,
                mime_type: r.get(4)?,
                size: r.get(5)?,
                expires_at: r.get(6)?,
                path: r.get(7)?,
                bytes: r.get(8)?,
                sha256: r.get(9)?,
                downloaded_at: r.get(10)?,
            },
        ))
    };
    let rows: Vec<(i64, RawOutput)> = match seq {
        Some(seq) => stmt.query_map([seq], map_row),
        None => stmt.query_map([], map_row),
    }
    .ctx(what)?
    .collect::<Result<_, _>>()
    .ctx(what)?;
    let mut out: HashMap<i64, Vec<RawOutput>> = HashMap::new();
    for (seq, o) in rows {
        out.entry(seq).or_default().push(o);
    }
    Ok(out)
}

/// Jobs matching `filter` (a `WHERE …` clause or empty), in intent order, with their seq.
fn load_jobs(
    conn: &Connection,
    filter: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<(i64, JobRecord)>, JournalError> {
    let what = "read jobs";
    let sql = format!("SELECT {JOB_COLS} FROM jobs {filter} ORDER BY seq");
    let mut stmt = conn.prepare(&sql).ctx(what)?;
    let raws: Vec<RawJob> = stmt
        .query_map(params, raw_job)
        .ctx(what)?
        .collect::<Result<_, _>>()
        .ctx(what)?;
    let mut outputs = match raws.as_slice() {
        [] => HashMap::new(),
        [one] => load_outputs(conn, Some(one.seq))?,
        _ => load_outputs(conn, None)?,
    };
    raws.into_iter()
        .map(|r| {
            let seq = r.seq;
            let outs = outputs.remove(&seq).unwrap_or_default();
            r.into_record(outs).map(|j| (seq, j))
        })
        .collect()
}

fn job_by_key(conn: &Connection, key: &str) -> Result<(i64, JobRecord), JournalError> {
    load_jobs(conn, "WHERE key = ?1", &[&key])?
        .pop()
        .ok_or_else(|| JournalError::UnknownJob {
            key: key.to_string(),
        })
}

fn job_by_remote(conn: &Connection, job: &JobId) -> Result<Option<(i64, JobRecord)>, JournalError> {
    Ok(load_jobs(
        conn,
        "WHERE provider = ?1 AND remote_id = ?2",
        &[&job.provider.as_str(), &job.id],
    )?
    .pop())
}

#[allow(clippy::too_many_arguments)]
fn add_event(
    tx: &Connection,
    seq: i64,
    at: &str,
    kind: &str,
    state: Option<JobState>,
    raw_status: Option<&str>,
    code: Option<&str>,
    message: Option<&str>,
) -> Result<i64, JournalError> {
    tx.execute(
        "INSERT INTO events (job_seq, at, kind, state, raw_status, code, message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            seq,
            at,
            kind,
            state.map(JobState::as_str),
            raw_status,
            code,
            message
        ],
    )
    .ctx("write a history event")?;
    Ok(tx.last_insert_rowid())
}

fn upsert_output(
    tx: &Connection,
    seq: i64,
    index: u32,
    o: &Output,
    at: &str,
) -> Result<(), JournalError> {
    tx.execute(
        "INSERT INTO outputs (job_seq, idx, url, file_id, mime_type, size, expires_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (job_seq, idx) DO UPDATE SET url = excluded.url, file_id = excluded.file_id, \
         mime_type = excluded.mime_type, size = excluded.size, expires_at = excluded.expires_at, \
         updated_at = excluded.updated_at",
        params![
            seq,
            index,
            o.url,
            o.file_id,
            o.mime_type,
            o.size.map(to_i64),
            o.expires_at.map(format_timestamp),
            at
        ],
    )
    .ctx("write an output")?;
    Ok(())
}

fn outputs_differ(job: &JobRecord, snap: &Snapshot) -> bool {
    !snap.outputs.is_empty()
        && (snap.outputs.len() != job.outputs.len()
            || snap
                .outputs
                .iter()
                .zip(&job.outputs)
                .any(|(new, old)| *new != old.output))
}

fn write_outputs(tx: &Connection, seq: i64, snap: &Snapshot, at: &str) -> Result<(), JournalError> {
    for (i, o) in snap.outputs.iter().enumerate() {
        upsert_output(tx, seq, u32::try_from(i).unwrap_or(u32::MAX), o, at)?;
    }
    Ok(())
}

/// Writes the status part of a snapshot onto a non-terminal job (state, raw status, progress,
/// terminal time, error, outputs) and an event of `kind`.
#[allow(clippy::too_many_arguments)]
fn write_status(
    tx: &Connection,
    seq: i64,
    job: &JobRecord,
    snap: &Snapshot,
    now: Timestamp,
    kind: &str,
    message: Option<&str>,
    force_event: bool,
) -> Result<(SnapshotOutcome, Option<i64>), JournalError> {
    let at = format_timestamp(now);
    let to = JobState::from(snap.status.status);
    let changed = to != job.state || job.raw_status.as_deref() != Some(snap.status.raw.as_str());
    let new_outputs = outputs_differ(job, snap);
    let mut event_id = None;
    if changed || force_event {
        let terminal_seen = match job.terminal_seen_at {
            Some(t) => Some(t),
            None if snap.status.is_terminal() => Some(now),
            None => None,
        };
        let (code, msg) = match &snap.error {
            Some(e) => (e.code.as_deref(), Some(e.message.as_str())),
            None => (None, None),
        };
        let snapshot_json = serde_json::to_string(snap).ok();
        tx.execute(
            "UPDATE jobs SET state = ?2, raw_status = ?3, progress = ?4, terminal_seen_at = ?5, \
             error_code = COALESCE(?6, error_code), error_message = COALESCE(?7, error_message), \
             last_snapshot = ?8, updated_at = ?9 WHERE seq = ?1",
            params![
                seq,
                to.as_str(),
                snap.status.raw,
                snap.progress,
                terminal_seen.map(format_timestamp),
                code,
                msg,
                snapshot_json,
                at
            ],
        )
        .ctx("write a status")?;
        event_id = Some(add_event(
            tx,
            seq,
            &at,
            kind,
            Some(to),
            Some(&snap.status.raw),
            code,
            message.or(msg),
        )?);
        if !snap.status.recognized {
            warn!(key = %job.key, raw = %snap.status.raw, "unrecognized provider status: kept as running");
        }
        debug!(key = %job.key, from = %job.state, to = %to, raw = %snap.status.raw, "job status recorded");
    }
    if new_outputs {
        write_outputs(tx, seq, snap, &at)?;
    }
    let outcome = if changed {
        SnapshotOutcome::Changed {
            key: job.key.clone(),
            from: job.state,
            to,
        }
    } else if new_outputs {
        SnapshotOutcome::OutputsUpdated {
            key: job.key.clone(),
        }
    } else {
        SnapshotOutcome::Unchanged {
            key: job.key.clone(),
        }
    };
    Ok((outcome, event_id))
}

/// Attaches a remote task to a `pending` or `uncertain` job.
fn attach_remote(
    tx: &Connection,
    seq: i64,
    job: &JobRecord,
    snap: &Snapshot,
    now: Timestamp,
    kind: &str,
    message: Option<&str>,
) -> Result<(), JournalError> {
    if snap.job.provider != job.provider {
        return Err(JournalError::ProviderMismatch {
            key: job.key.clone(),
            expected: job.provider,
            got: snap.job.provider,
        });
    }
    match &job.remote_id {
        Some(id) if *id == snap.job.id => {
            // Already attached (a repeated call): just the status.
            if !job.state.is_terminal() {
                write_status(tx, seq, job, snap, now, "status", None, false)?;
            }
            return Ok(());
        }
        Some(other) => {
            return Err(JournalError::RemoteIdConflict {
                key: job.key.clone(),
                id: snap.job.id.clone(),
                other: format!("its recorded id {other}"),
            });
        }
        None => {}
    }
    if !matches!(job.state, JobState::Pending | JobState::Uncertain) {
        return Err(JournalError::InvalidTransition {
            key: job.key.clone(),
            from: job.state,
            action: "attach a remote id",
        });
    }
    let holder: Option<String> = tx
        .query_row(
            "SELECT key FROM jobs WHERE provider = ?1 AND remote_id = ?2",
            params![job.provider.as_str(), snap.job.id],
            |r| r.get(0),
        )
        .optional()
        .ctx("check the remote id")?;
    if let Some(other) = holder {
        return Err(JournalError::RemoteIdConflict {
            key: job.key.clone(),
            id: snap.job.id.clone(),
            other: format!("job {other:?}"),
        });
    }
    let at = format_timestamp(now);
    tx.execute(
        "UPDATE jobs SET remote_id = ?2, submitted_at = ?3, sending_since = NULL, send_seq = NULL, \
         uncertain_since = NULL, uncertain_reason = NULL, updated_at = ?3 WHERE seq = ?1",
        params![seq, snap.job.id, at],
    )
    .ctx("write the remote id")?;
    info!(key = %job.key, id = %snap.job, how = kind, "remote id recorded");
    let (_, event_id) = write_status(tx, seq, job, snap, now, kind, message, true)?;
    tx.execute(
        "UPDATE jobs SET submit_seq = ?2 WHERE seq = ?1",
        params![seq, event_id],
    )
    .ctx("write the remote id")?;
    Ok(())
}

fn gate(
    conn: &Connection,
    provider: Provider,
    tool: Option<&str>,
    except: Option<&str>,
) -> Result<SubmitGate, JournalError> {
    let what = "check the submit gate";
    let row: Option<(String, String)> = match provider {
        Provider::VibePeak => None,
        Provider::VideoGen => conn
            .query_row(
                "SELECT key, state FROM jobs WHERE provider = 'videogen' AND tool IS ?1 \
                 AND key IS NOT ?2 AND (state = 'uncertain' OR \
                 (state = 'pending' AND sending_since IS NOT NULL)) ORDER BY seq LIMIT 1",
                params![tool, except],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx(what)?,
        Provider::Vidiking => conn
            .query_row(
                "SELECT key, state FROM jobs WHERE provider = 'vidiking' AND key IS NOT ?1 \
                 AND state = 'uncertain' ORDER BY seq LIMIT 1",
                params![except],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx(what)?,
    };
    Ok(match row {
        None => SubmitGate::Open,
        Some((blocking_key, state)) => SubmitGate::Held {
            blocking_key,
            reason: if state == "uncertain" {
                HoldReason::Uncertain
            } else {
                HoldReason::SubmitInFlight
            },
        },
    })
}

fn read_list_head(conn: &Connection, provider: Provider) -> Result<Option<ListHead>, JournalError> {
    let row: Option<(Option<String>, String)> = conn
        .query_row(
            "SELECT head_id, recorded_at FROM list_heads WHERE provider = ?1",
            [provider.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("read the list head")?;
    row.map(|(id, at)| {
        Ok(ListHead {
            provider,
            id,
            recorded_at: ts(provider.as_str(), "list head time", &at)?,
        })
    })
    .transpose()
}

fn require_state(
    job: &JobRecord,
    ok: &[JobState],
    action: &'static str,
) -> Result<(), JournalError> {
    if ok.contains(&job.state) {
        Ok(())
    } else {
        Err(JournalError::InvalidTransition {
            key: job.key.clone(),
            from: job.state,
            action,
        })
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Journal for SqliteJournal {
    fn journal_id(&self) -> &str {
        &self.journal_id
    }

    fn record_intents(&self, intents: &[Intent]) -> Result<Vec<IntentOutcome>, JournalError> {
        let journal_id = self.journal_id.clone();
        self.write("record intents", |tx, now| {
            let at = format_timestamp(now);
            let mut out = Vec::with_capacity(intents.len());
            for intent in intents {
                if intent.key.trim().is_empty() {
                    return Err(JournalError::InvalidInput {
                        what: "intent".into(),
                        message: "the key is empty; give every job a stable key".into(),
                    });
                }
                let hash = intent.request_sha256();
                let existing: Option<(String, String)> = tx
                    .query_row(
                        "SELECT request_sha256, state FROM jobs WHERE key = ?1",
                        [&intent.key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .ctx("look up a key")?;
                match existing {
                    Some((stored, state)) if stored == hash => {
                        let state =
                            JobState::parse(&state).ok_or_else(|| JournalError::CorruptRecord {
                                key: intent.key.clone(),
                                what: "state",
                                detail: format!("{state:?} is not a job state"),
                            })?;
                        out.push(IntentOutcome::Existing { state });
                    }
                    Some((stored, _)) => {
                        warn!(key = %intent.key, "key already in the journal with another request");
                        out.push(IntentOutcome::Conflict {
                            stored_sha256: stored,
                            new_sha256: hash,
                        });
                    }
                    None => {
                        tx.execute(
                            "INSERT INTO jobs (key, provider, tool, request_json, request_sha256, \
                             client_key, state, intent_at, updated_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
                            params![
                                intent.key,
                                intent.provider.as_str(),
                                intent.tool,
                                intent.body.to_string(),
                                hash,
                                format!("mj-{journal_id}-{}", intent.key),
                                at
                            ],
                        )
                        .ctx("write an intent")?;
                        let seq = tx.last_insert_rowid();
                        add_event(
                            tx,
                            seq,
                            &at,
                            "intent",
                            Some(JobState::Pending),
                            None,
                            None,
                            None,
                        )?;
                        out.push(IntentOutcome::Created);
                    }
                }
            }
            debug!(count = intents.len(), "intents recorded");
            Ok(out)
        })
    }

    fn record_list_head(
        &self,
        provider: Provider,
        head_id: Option<&str>,
    ) -> Result<(), JournalError> {
        self.write("record a list head", |tx, now| {
            tx.execute(
                "INSERT INTO list_heads (provider, head_id, recorded_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (provider) DO UPDATE SET head_id = excluded.head_id, \
                 recorded_at = excluded.recorded_at",
                params![provider.as_str(), head_id, format_timestamp(now)],
            )
            .ctx("record a list head")?;
            debug!(%provider, head = ?head_id, "list head recorded");
            Ok(())
        })
    }

    fn list_head(&self, provider: Provider) -> Result<Option<ListHead>, JournalError> {
        self.read("read the list head", |tx| read_list_head(tx, provider))
    }

    fn submit_gate(
        &self,
        provider: Provider,
        tool: Option<&str>,
    ) -> Result<SubmitGate, JournalError> {
        self.read("check the submit gate", |tx| gate(tx, provider, tool, None))
    }

    fn begin_submit(&self, key: &str) -> Result<JobRecord, JournalError> {
        self.write("begin a submit", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(&job, &[JobState::Pending], "begin a submit")?;
            if job.sending_since.is_some() {
                return Err(JournalError::InvalidTransition {
                    key: job.key,
                    from: JobState::Pending,
                    action: "begin a submit while its previous one is in flight",
                });
            }
            if let SubmitGate::Held {
                blocking_key,
                reason,
            } = gate(tx, job.provider, job.tool.as_deref(), Some(key))?
            {
                return Err(JournalError::SubmitHeld {
                    key: job.key,
                    provider: job.provider,
                    tool: job.tool.map(|t| format!(" tool {t}")).unwrap_or_default(),
                    blocking_key,
                    reason,
                });
            }
            let head = read_list_head(tx, job.provider)?;
            if job.provider == Provider::VideoGen && head.is_none() {
                return Err(JournalError::ListHeadMissing {
                    provider: job.provider,
                });
            }
            let (known, head_id) = match head {
                Some(h) => (1, h.id),
                None => (0, None),
            };
            let at = format_timestamp(now);
            let event = add_event(tx, seq, &at, "sending", None, None, None, None)?;
            tx.execute(
                "UPDATE jobs SET sending_since = ?2, send_seq = ?5, \
                 submit_attempts = submit_attempts + 1, head_known = ?3, head_id = ?4, \
                 updated_at = ?2 WHERE seq = ?1",
                params![seq, at, known, head_id, event],
            )
            .ctx("write the sending marker")?;
            debug!(key, "sending marker written");
            Ok(job_by_key(tx, key)?.1)
        })
    }

    fn record_submitted(&self, key: &str, snapshot: &Snapshot) -> Result<(), JournalError> {
        self.write("record a submit", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            if job.remote_id.is_none()
                && job.state == JobState::Pending
                && job.sending_since.is_none()
            {
                warn!(
                    key,
                    "submit recorded without a sending marker: call begin_submit before sending"
                );
            }
            attach_remote(tx, seq, &job, snapshot, now, "submitted", None)
        })
    }

    fn abort_submit(&self, key: &str, reason: &str) -> Result<(), JournalError> {
        self.write_unit("clear a submit", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(&job, &[JobState::Pending], "clear a submit")?;
            let at = format_timestamp(now);
            tx.execute(
                "UPDATE jobs SET sending_since = NULL, send_seq = NULL, updated_at = ?2 WHERE seq = ?1",
                params![seq, at],
            )
            .ctx("clear the sending marker")?;
            add_event(tx, seq, &at, "not_sent", Some(JobState::Pending), None, None, Some(reason))
        })
    }

    fn record_rejected(
        &self,
        key: &str,
        code: Option<&str>,
        message: &str,
    ) -> Result<(), JournalError> {
        self.write_unit("record a refused submit", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(&job, &[JobState::Pending], "record a refused submit")?;
            let at = format_timestamp(now);
            tx.execute(
                "UPDATE jobs SET state = 'failed', sending_since = NULL, send_seq = NULL, terminal_seen_at = ?2, \
                 error_code = ?3, error_message = ?4, updated_at = ?2 WHERE seq = ?1",
                params![seq, at, code, message],
            )
            .ctx("record a refused submit")?;
            info!(key, code = ?code, "submit refused by the provider: job failed");
            add_event(tx, seq, &at, "rejected", Some(JobState::Failed), None, code, Some(message))
        })
    }

    fn mark_uncertain(&self, key: &str, reason: &str) -> Result<(), JournalError> {
        self.write("mark a job uncertain", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(
                &job,
                &[JobState::Pending, JobState::Uncertain],
                "mark it uncertain",
            )?;
            if job.state == JobState::Uncertain {
                return Ok(());
            }
            let at = format_timestamp(now);
            let event = add_event(
                tx,
                seq,
                &at,
                "uncertain",
                Some(JobState::Uncertain),
                None,
                None,
                Some(reason),
            )?;
            tx.execute(
                "UPDATE jobs SET state = 'uncertain', uncertain_since = ?2, uncertain_reason = ?3, \
                 sending_since = COALESCE(sending_since, ?2), send_seq = COALESCE(send_seq, ?4), \
                 updated_at = ?2 WHERE seq = ?1",
                params![seq, at, reason, event],
            )
            .ctx("mark a job uncertain")?;
            warn!(key, reason, "submit outcome unknown: job uncertain");
            Ok(())
        })
    }

    fn mark_resubmittable(&self, key: &str, reason: &str) -> Result<(), JournalError> {
        self.write_unit("make a job resubmittable", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(&job, &[JobState::Uncertain], "make it resubmittable")?;
            let at = format_timestamp(now);
            tx.execute(
                "UPDATE jobs SET state = 'pending', sending_since = NULL, send_seq = NULL, uncertain_since = NULL, \
                 uncertain_reason = NULL, updated_at = ?2 WHERE seq = ?1",
                params![seq, at],
            )
            .ctx("make a job resubmittable")?;
            info!(key, reason, "uncertain job back to pending");
            add_event(tx, seq, &at, "resubmittable", Some(JobState::Pending), None, None, Some(reason))
        })
    }

    fn adopt(&self, key: &str, snapshot: &Snapshot, reason: &str) -> Result<(), JournalError> {
        self.write("adopt a task", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(&job, &[JobState::Uncertain], "adopt a task")?;
            attach_remote(tx, seq, &job, snapshot, now, "adopted", Some(reason))
        })
    }

    fn record_snapshot(&self, snapshot: &Snapshot) -> Result<SnapshotOutcome, JournalError> {
        self.write("record a status", |tx, now| {
            let (seq, job) =
                job_by_remote(tx, &snapshot.job)?.ok_or_else(|| JournalError::UnknownRemoteId {
                    job: snapshot.job.clone(),
                })?;
            if job.state.is_terminal() {
                let same = snapshot.status.is_terminal()
                    && JobState::from(snapshot.status.status) == job.state;
                if same {
                    if outputs_differ(&job, snapshot) {
                        let at = format_timestamp(now);
                        write_outputs(tx, seq, snapshot, &at)?;
                        add_event(
                            tx,
                            seq,
                            &at,
                            "output",
                            None,
                            None,
                            None,
                            Some("outputs updated"),
                        )?;
                        return Ok(SnapshotOutcome::OutputsUpdated { key: job.key });
                    }
                    return Ok(SnapshotOutcome::Unchanged { key: job.key });
                }
                warn!(key = %job.key, state = %job.state, raw = %snapshot.status.raw,
                      "a terminal job was reported in another state: ignored");
                add_event(
                    tx,
                    seq,
                    &format_timestamp(now),
                    "ignored",
                    None,
                    Some(&snapshot.status.raw),
                    None,
                    Some("the job is terminal; a later status cannot change it"),
                )?;
                return Ok(SnapshotOutcome::IgnoredTerminal {
                    key: job.key,
                    state: job.state,
                });
            }
            Ok(write_status(tx, seq, &job, snapshot, now, "status", None, false)?.0)
        })
    }

    fn record_output(&self, job: &JobId, index: u32, output: &Output) -> Result<(), JournalError> {
        self.write_unit("record an output", |tx, now| {
            let (seq, rec) = job_by_remote(tx, job)?
                .ok_or_else(|| JournalError::UnknownRemoteId { job: job.clone() })?;
            let at = format_timestamp(now);
            upsert_output(tx, seq, index, output, &at)?;
            debug!(key = %rec.key, index, "output updated");
            add_event(
                tx,
                seq,
                &at,
                "output",
                None,
                None,
                None,
                Some(&format!("output #{index} updated")),
            )
        })
    }

    fn record_download(&self, key: &str, download: &NewDownload) -> Result<(), JournalError> {
        if !is_sha256_hex(&download.sha256) {
            return Err(JournalError::InvalidInput {
                what: format!("download of job {key:?}"),
                message: format!("sha256 {:?} is not 64 hex digits", download.sha256),
            });
        }
        self.write_unit("record a download", |tx, now| {
            let (seq, job) = job_by_key(tx, key)?;
            require_state(&job, &[JobState::Succeeded], "record a download")?;
            if !job.outputs.iter().any(|o| o.index == download.index) {
                return Err(JournalError::UnknownOutput {
                    key: key.to_string(),
                    index: download.index,
                });
            }
            let at = format_timestamp(now);
            let path = download.path.to_string_lossy();
            tx.execute(
                "INSERT INTO downloads (job_seq, idx, path, bytes, sha256, downloaded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (job_seq, idx) DO UPDATE SET \
                 path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256, \
                 downloaded_at = excluded.downloaded_at",
                params![
                    seq,
                    download.index,
                    path,
                    to_i64(download.bytes),
                    download.sha256.to_ascii_lowercase(),
                    at
                ],
            )
            .ctx("record a download")?;
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ('downloaded_bytes', ?1) \
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                [to_i64(download.bytes)],
            )
            .ctx("count downloaded bytes")?;
            info!(key, index = download.index, path = %path, bytes = download.bytes, "download recorded");
            add_event(tx, seq, &at, "download", None, None, None, Some(&path))
        })
    }

    fn record_error(
        &self,
        key: &str,
        code: Option<&str>,
        message: &str,
    ) -> Result<(), JournalError> {
        self.write_unit("record an error", |tx, now| {
            let (seq, _) = job_by_key(tx, key)?;
            add_event(
                tx,
                seq,
                &format_timestamp(now),
                "error",
                None,
                None,
                code,
                Some(message),
            )
        })
    }

    fn add_api_calls(
        &self,
        provider: Provider,
        operation: Operation,
        n: u64,
    ) -> Result<(), JournalError> {
        if n == 0 {
            return Ok(());
        }
        self.write("count API calls", |tx, _| {
            tx.execute(
                "INSERT INTO api_calls (provider, operation, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (provider, operation) DO UPDATE SET count = count + excluded.count",
                params![provider.as_str(), operation.as_str(), to_i64(n)],
            )
            .ctx("count API calls")?;
            Ok(())
        })
    }

    fn set_setting(&self, name: &str, value: &str) -> Result<(), JournalError> {
        self.write("store a setting", |tx, now| {
            tx.execute(
                "INSERT INTO settings (name, value, secret, updated_at) VALUES (?1, ?2, 0, ?3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, secret = 0, \
                 updated_at = excluded.updated_at",
                params![name, value, format_timestamp(now)],
            )
            .ctx("store a setting")?;
            debug!(name, "setting stored");
            Ok(())
        })
    }

    fn setting(&self, name: &str) -> Result<Option<String>, JournalError> {
        let row: Option<(String, i64)> = self.read("read a setting", |tx| {
            tx.query_row(
                "SELECT value, secret FROM settings WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx("read a setting")
        })?;
        match row {
            Some((_, secret)) if secret != 0 => Err(JournalError::InvalidInput {
                what: format!("setting {name:?}"),
                message: "it is a secret; read it with `secret`".into(),
            }),
            Some((value, _)) => Ok(Some(value)),
            None => Ok(None),
        }
    }

    fn set_secret(&self, name: &str, value: &Secret) -> Result<(), JournalError> {
        self.write("store a secret", |tx, now| {
            tx.execute(
                "INSERT INTO settings (name, value, secret, updated_at) VALUES (?1, ?2, 1, ?3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, secret = 1, \
                 updated_at = excluded.updated_at",
                params![name, value.expose(), format_timestamp(now)],
            )
            .ctx("store a secret")?;
            debug!(name, "secret stored");
            Ok(())
        })
    }

    fn secret(&self, name: &str) -> Result<Option<Secret>, JournalError> {
        self.read("read a secret", |tx| {
            tx.query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .ctx("read a secret")
        })
        .map(|v| v.map(Secret::new))
    }

    fn job(&self, key: &str) -> Result<Option<JobRecord>, JournalError> {
        self.read("read a job", |tx| {
            Ok(load_jobs(tx, "WHERE key = ?1", &[&key])?
                .pop()
                .map(|(_, j)| j))
        })
    }

    fn job_by_remote_id(&self, job: &JobId) -> Result<Option<JobRecord>, JournalError> {
        self.read("read a job", |tx| {
            Ok(job_by_remote(tx, job)?.map(|(_, j)| j))
        })
    }

    fn jobs(&self) -> Result<Vec<JobRecord>, JournalError> {
        self.read("read jobs", |tx| {
            Ok(load_jobs(tx, "", &[])?
                .into_iter()
                .map(|(_, j)| j)
                .collect())
        })
    }

    fn uncertain_jobs(&self, provider: Provider) -> Result<Vec<JobRecord>, JournalError> {
        self.read("read uncertain jobs", |tx| {
            Ok(load_jobs(
                tx,
                "WHERE state = 'uncertain' AND provider = ?1",
                &[&provider.as_str()],
            )?
            .into_iter()
            .map(|(_, j)| j)
            .collect())
        })
    }

    fn known_remote_ids(
        &self,
        provider: Provider,
    ) -> Result<HashMap<String, Option<i64>>, JournalError> {
        self.read("read remote ids", |tx| {
            let what = "read remote ids";
            let mut stmt = tx
                .prepare(
                    "SELECT remote_id, submit_seq FROM jobs \
                     WHERE provider = ?1 AND remote_id IS NOT NULL",
                )
                .ctx(what)?;
            let rows = stmt
                .query_map([provider.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .ctx(what)?
                .collect::<Result<_, _>>()
                .ctx(what)?;
            Ok(rows)
        })
    }

    fn work_on_resume(&self, downloads: bool) -> Result<Vec<WorkItem>, JournalError> {
        let jobs = self.read("read unfinished jobs", |tx| {
            load_jobs(tx, "WHERE state NOT IN ('failed', 'cancelled')", &[])
        })?;
        Ok(jobs
            .into_iter()
            .filter_map(|(_, job)| {
                let step = match job.state {
                    JobState::Pending if job.sending_since.is_some() => NextStep::SubmitInFlight,
                    JobState::Pending => NextStep::Submit,
                    JobState::Uncertain => NextStep::Reconcile,
                    JobState::Queued | JobState::Running => NextStep::Wait,
                    JobState::Succeeded if !downloads => return None,
                    JobState::Succeeded if job.outputs.is_empty() => NextStep::ReadOutputs,
                    JobState::Succeeded => {
                        let indexes = job.missing_downloads();
                        if indexes.is_empty() {
                            return None;
                        }
                        NextStep::Download { indexes }
                    }
                    JobState::Failed | JobState::Cancelled => return None,
                };
                Some(WorkItem { job, step })
            })
            .collect())
    }

    fn events(&self, key: &str) -> Result<Vec<Event>, JournalError> {
        self.read("read a job's history", |tx| {
            let (seq, _) = job_by_key(tx, key)?;
            let what = "read a job's history";
            let mut stmt = tx
                .prepare(
                    "SELECT at, kind, state, raw_status, code, message FROM events \
                     WHERE job_seq = ?1 ORDER BY id",
                )
                .ctx(what)?;
            let rows: Vec<EventRow> = stmt
                .query_map([seq], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .ctx(what)?
                .collect::<Result<_, _>>()
                .ctx(what)?;
            rows.into_iter()
                .map(|(at, kind, state, raw_status, code, message)| {
                    Ok(Event {
                        at: ts(key, "event time", &at)?,
                        kind,
                        state,
                        raw_status,
                        code,
                        message,
                    })
                })
                .collect()
        })
    }

    fn counters(&self) -> Result<Counters, JournalError> {
        self.read("read counters", |tx| counters(tx))
    }

    fn summary(&self) -> Result<Summary, JournalError> {
        self.read("summarise the journal", |tx| summary(tx))
    }

    fn status_report(&self) -> Result<StatusReport, JournalError> {
        // A submit begun and never answered is being sent right now while a run holds the
        // journal; with no run holding it, the process that sent it died, and its outcome was
        // never recorded: `uncertain` (DESIGN.md). A writable journal recovered such jobs on
        // open, so only a reader has to tell.
        let orphaned = self.lock.is_none() && !run_in_progress(&self.path);
        self.read("report the journal's status", |tx| {
            let mut summary = summary(tx)?;
            let items = load_jobs(tx, "", &[])?
                .iter()
                .map(|(_, j)| {
                    let mut item = StatusItem::from(j);
                    if orphaned && j.is_sending() {
                        item.status = JobState::Uncertain;
                        summary.pending = summary.pending.saturating_sub(1);
                        summary.uncertain += 1;
                    }
                    item
                })
                .collect();
            Ok(StatusReport { summary, items })
        })
    }
}

/// `at, kind, state, raw_status, code, message` of an event row.
type EventRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn counters(conn: &Connection) -> Result<Counters, JournalError> {
    let what = "read counters";
    let api_calls: i64 = conn
        .query_row("SELECT COALESCE(SUM(count), 0) FROM api_calls", [], |r| {
            r.get(0)
        })
        .ctx(what)?;
    let downloaded_bytes: i64 = conn
        .query_row(
            "SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'downloaded_bytes'",
            [],
            |r| r.get(0),
        )
        .ctx(what)?;
    Ok(Counters {
        api_calls: to_u64(api_calls),
        downloaded_bytes: to_u64(downloaded_bytes),
    })
}

fn summary(conn: &Connection) -> Result<Summary, JournalError> {
    let what = "summarise the journal";
    let c = counters(conn)?;
    let mut s = Summary {
        api_calls: c.api_calls,
        downloaded_bytes: c.downloaded_bytes,
        ..Summary::default()
    };
    let mut stmt = conn
        .prepare("SELECT state, count(*) FROM jobs GROUP BY state")
        .ctx(what)?;
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx(what)?
        .collect::<Result<_, _>>()
        .ctx(what)?;
    for (state, n) in rows {
        let n = to_u64(n);
        s.jobs += n;
        match JobState::parse(&state) {
            Some(JobState::Pending) => s.pending += n,
            Some(JobState::Uncertain) => s.uncertain += n,
            Some(JobState::Queued) => s.queued += n,
            Some(JobState::Running) => s.running += n,
            Some(JobState::Succeeded) => s.succeeded += n,
            Some(JobState::Failed) => s.failed += n,
            Some(JobState::Cancelled) => s.cancelled += n,
            None => {}
        }
    }
    let mut stmt = conn
        .prepare(
            "SELECT COALESCE(error_code, 'unknown'), count(*) FROM jobs WHERE state = 'failed' \
             GROUP BY 1",
        )
        .ctx(what)?;
    let by_code: BTreeMap<String, u64> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?))))
        .ctx(what)?
        .collect::<Result<_, _>>()
        .ctx(what)?;
    s.failed_by_code = by_code;
    Ok(s)
}
