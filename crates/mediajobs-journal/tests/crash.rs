//! A real `kill -9`: a child process (this test binary, re-run in a child role) writes and
//! holds the journal; the parent kills it and checks what survived.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mediajobs_core::Provider;
use mediajobs_journal::{JobState, Journal, JournalError, SqliteJournal};

const CHILD_ENV: &str = "MEDIAJOBS_JOURNAL_CRASH_CHILD";

/// The child's role; a no-op when run as an ordinary test.
#[test]
fn crash_child_role() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let j = SqliteJournal::open(&path, clock()).unwrap();
    j.record_intents(&[
        intent("in-flight", Provider::VibePeak, None),
        intent("never-sent", Provider::VibePeak, None),
        intent("answered", Provider::VibePeak, None),
    ])
    .unwrap();
    j.begin_submit("answered").unwrap();
    j.record_submitted(
        "answered",
        &snap(
            Provider::VibePeak,
            "task_1",
            mediajobs_core::Status::Queued,
            "queued",
        ),
    )
    .unwrap();
    j.begin_submit("in-flight").unwrap();
    // Every write above has returned: from here on, a kill must not lose any of them.
    std::fs::write(format!("{path}.ready"), b"ready").unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn kill_9_loses_no_returned_write_and_releases_the_lock() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_role",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = dir.path().join("jobs.db.ready");
    let started = Instant::now();
    while !ready.exists() {
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("the child never got ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // While the child runs: a second run is refused, status can read.
    let err = SqliteJournal::open(&path, clock()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err:?}");
    let ro = SqliteJournal::open_read_only(&path).unwrap();
    assert!(ro.job("in-flight").unwrap().unwrap().is_sending());
    drop(ro);

    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();

    let j = SqliteJournal::open(&path, clock()).unwrap();
    assert_eq!(j.recovered_on_open(), ["in-flight".to_string()]);
    let state = |k: &str| j.job(k).unwrap().unwrap().state;
    assert_eq!(state("in-flight"), JobState::Uncertain);
    assert_eq!(state("never-sent"), JobState::Pending);
    assert_eq!(state("answered"), JobState::Queued);
    assert_eq!(
        j.job("answered").unwrap().unwrap().remote_id.as_deref(),
        Some("task_1")
    );
}
