//! The journal's schema and its migrations.

/// The schema version this build writes. A journal with a higher version is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// `PRAGMA application_id` of a journal ("MJJ1"), so a foreign SQLite file is recognised.
pub(crate) const APPLICATION_ID: i32 = 0x4D4A_4A31;

/// Every migration, in order: (version it brings the schema to, description, SQL).
pub(crate) const MIGRATIONS: &[(u32, &str, &str)] = &[(1, "initial schema", V1)];

const V1: &str = r#"
CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
);
CREATE TABLE journal_info (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    journal_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    key              TEXT NOT NULL UNIQUE,
    provider         TEXT NOT NULL,
    tool             TEXT,
    request_json     TEXT NOT NULL,
    request_sha256   TEXT NOT NULL,
    client_key       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN
                       ('pending','uncertain','queued','running','succeeded','failed','cancelled')),
    raw_status       TEXT,
    remote_id        TEXT,
    intent_at        TEXT NOT NULL,
    sending_since    TEXT,
    send_seq         INTEGER,
    submit_attempts  INTEGER NOT NULL DEFAULT 0,
    head_known       INTEGER NOT NULL DEFAULT 0,
    head_id          TEXT,
    submitted_at     TEXT,
    submit_seq       INTEGER,
    uncertain_since  TEXT,
    uncertain_reason TEXT,
    terminal_seen_at TEXT,
    updated_at       TEXT NOT NULL,
    error_code       TEXT,
    error_message    TEXT,
    progress         REAL,
    last_snapshot    TEXT
);
CREATE UNIQUE INDEX jobs_remote_id ON jobs (provider, remote_id) WHERE remote_id IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, provider, tool);
CREATE TABLE outputs (
    job_seq    INTEGER NOT NULL REFERENCES jobs (seq),
    idx        INTEGER NOT NULL,
    url        TEXT,
    file_id    TEXT,
    mime_type  TEXT,
    size       INTEGER,
    expires_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_seq, idx)
);
CREATE TABLE downloads (
    job_seq       INTEGER NOT NULL REFERENCES jobs (seq),
    idx           INTEGER NOT NULL,
    path          TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    downloaded_at TEXT NOT NULL,
    PRIMARY KEY (job_seq, idx)
);
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_seq    INTEGER NOT NULL REFERENCES jobs (seq),
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    state      TEXT,
    raw_status TEXT,
    code       TEXT,
    message    TEXT
);
CREATE INDEX events_job ON events (job_seq, id);
CREATE TABLE api_calls (
    provider  TEXT NOT NULL,
    operation TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (provider, operation)
);
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE list_heads (
    provider    TEXT PRIMARY KEY,
    head_id     TEXT,
    recorded_at TEXT NOT NULL
);
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    secret     INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
"#;
