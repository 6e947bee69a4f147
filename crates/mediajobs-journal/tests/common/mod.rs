#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mediajobs_core::{
    JobError, JobId, ManualClock, Output, Provider, ProviderStatus, Snapshot, Status, Timestamp,
};
use mediajobs_journal::{Intent, Journal, SqliteJournal};

pub fn t0() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub clock: Arc<ManualClock>,
    pub journal: SqliteJournal,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let clock = clock();
    let journal = SqliteJournal::open(&path, clock.clone()).unwrap();
    Fixture {
        dir,
        path,
        clock,
        journal,
    }
}

pub fn reopen(path: &Path, clock: &Arc<ManualClock>) -> SqliteJournal {
    SqliteJournal::open(path, clock.clone()).unwrap()
}

pub fn intent(key: &str, provider: Provider, tool: Option<&str>) -> Intent {
    Intent::new(
        key,
        provider,
        tool,
        serde_json::json!({"prompt": format!("request of {key}"), "n": 1}),
    )
}

pub fn snap(provider: Provider, id: &str, status: Status, raw: &str) -> Snapshot {
    Snapshot::new(JobId::new(provider, id), ProviderStatus::known(status, raw))
}

pub fn vg(id: &str, tool: &str, status: Status) -> Snapshot {
    let raw = match status {
        Status::Queued => "pending",
        Status::Running => "running",
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
    };
    let mut s = snap(Provider::VideoGen, id, status, raw);
    s.tool = Some(tool.to_string());
    s
}

pub fn vk(id: &str, client_key: Option<&str>) -> Snapshot {
    let mut s = snap(Provider::Vidiking, id, Status::Queued, "QUEUED");
    s.client_key = client_key.map(str::to_string);
    s
}

pub fn succeeded_with_output(provider: Provider, id: &str, raw: &str) -> Snapshot {
    let mut s = snap(provider, id, Status::Succeeded, raw);
    s.outputs = vec![Output {
        url: Some(format!("https://cdn.example/{id}.mp4")),
        file_id: None,
        mime_type: Some("video/mp4".into()),
        size: Some(1234),
        expires_at: Some(t0() + chrono::Duration::days(7)),
    }];
    s
}

pub fn failed(provider: Provider, id: &str, raw: &str, code: &str) -> Snapshot {
    let mut s = snap(provider, id, Status::Failed, raw);
    s.error = Some(JobError {
        code: Some(code.into()),
        message: format!("{code} happened"),
    });
    s
}

/// Intent → sending → submitted, in one go.
pub fn submitted(j: &dyn Journal, key: &str, provider: Provider, tool: Option<&str>, id: &str) {
    j.record_intent(&intent(key, provider, tool)).unwrap();
    j.begin_submit(key).unwrap();
    let s = match provider {
        Provider::VideoGen => vg(id, tool.unwrap_or("generate-image"), Status::Queued),
        Provider::Vidiking => snap(provider, id, Status::Queued, "QUEUED"),
        Provider::VibePeak => snap(provider, id, Status::Queued, "queued"),
    };
    j.record_submitted(key, &s).unwrap();
}
