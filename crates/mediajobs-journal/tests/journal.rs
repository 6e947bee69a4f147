#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test]

mod common;

use std::time::Duration;

use common::*;
use mediajobs_core::{JobId, Operation, Output, Provider, Secret, Status};
use mediajobs_journal::{
    HeadMark, HoldReason, IntentOutcome, JobState, Journal, JournalError, NewDownload, NextStep,
    SCHEMA_VERSION, SnapshotOutcome, SqliteJournal, SubmitGate, lock_path, settings,
};

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn a_new_journal_has_the_current_schema_and_reopens() {
    let f = fixture();
    drop(f.journal);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let v: u32 = conn
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    let j = reopen(&f.path, &f.clock);
    assert_eq!(j.summary().unwrap().jobs, 0);
}

#[test]
fn a_journal_from_a_newer_schema_is_refused_naming_both_versions() {
    let f = fixture();
    drop(f.journal);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (7, 'future', 'x')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteJournal::open(&f.path, f.clock.clone()).unwrap_err();
    assert!(
        matches!(err, JournalError::NewerSchema { found: 7, supported, .. } if supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("version 7") && msg.contains(&format!("version {SCHEMA_VERSION}")),
        "{msg}"
    );
    let err = SqliteJournal::open_read_only(&f.path).unwrap_err();
    assert!(
        matches!(err, JournalError::NewerSchema { found: 7, .. }),
        "{err:?}"
    );
}

#[test]
fn foreign_files_and_missing_journals_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, it is a text file of some length",
    )
    .unwrap();
    let err = SqliteJournal::open(&text, clock()).unwrap_err();
    assert!(matches!(err, JournalError::NotAJournal { .. }), "{err:?}");

    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = SqliteJournal::open(&other, clock()).unwrap_err();
    assert!(matches!(err, JournalError::NotAJournal { .. }), "{err:?}");

    let missing = dir.path().join("missing.db");
    assert!(matches!(
        SqliteJournal::open_existing(&missing, clock()).unwrap_err(),
        JournalError::NotFound { .. }
    ));
    assert!(matches!(
        SqliteJournal::open_read_only(&missing).unwrap_err(),
        JournalError::NotFound { .. }
    ));
    assert!(!missing.exists(), "open_existing must not create the file");
}

#[test]
fn a_second_run_is_refused_while_status_can_still_read() {
    let f = fixture();
    submitted(&f.journal, "a", Provider::Vidiking, None, "job_a");

    let err = SqliteJournal::open(&f.path, f.clock.clone()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("in use by another mediajobs run"));
    assert!(lock_path(&f.path).exists());

    let ro = SqliteJournal::open_read_only(&f.path).unwrap();
    assert!(ro.is_read_only());
    let report = ro.status_report().unwrap();
    assert_eq!(report.items.len(), 1);
    assert_eq!(report.items[0].id.as_deref(), Some("job_a"));
    // Writes through the read-only handle are refused, not attempted.
    assert!(matches!(
        ro.record_intent(&intent("b", Provider::Vidiking, None)),
        Err(JournalError::ReadOnly { .. })
    ));
    assert!(matches!(
        ro.set_setting("x", "y"),
        Err(JournalError::ReadOnly { .. })
    ));

    // The runner keeps writing while the reader is open; the reader sees each commit.
    f.journal
        .record_snapshot(&snap(
            Provider::Vidiking,
            "job_a",
            Status::Running,
            "PROCESSING",
        ))
        .unwrap();
    assert_eq!(ro.job("a").unwrap().unwrap().state, JobState::Running);

    drop(f.journal);
    let again = SqliteJournal::open(&f.path, f.clock.clone()).unwrap();
    assert_eq!(again.job("a").unwrap().unwrap().state, JobState::Running);
}

#[test]
fn intents_are_idempotent_by_key_and_conflicts_are_reported() {
    let f = fixture();
    let j = &f.journal;
    let a = intent("1", Provider::VibePeak, None);
    assert_eq!(j.record_intent(&a).unwrap(), IntentOutcome::Created);
    // Same request, other key order: the canonical hash is the same.
    let mut reordered = a.clone();
    reordered.body = serde_json::from_str(r#"{"n": 1, "prompt": "request of 1"}"#).unwrap();
    assert_eq!(
        j.record_intent(&reordered).unwrap(),
        IntentOutcome::Existing {
            state: JobState::Pending
        }
    );
    let mut other = a.clone();
    other.body = serde_json::json!({"prompt": "something else"});
    assert!(matches!(
        j.record_intent(&other).unwrap(),
        IntentOutcome::Conflict { .. }
    ));
    let outcomes = j
        .record_intents(&[
            intent("2", Provider::VibePeak, None),
            intent("3", Provider::Vidiking, None),
            a,
        ])
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    assert_eq!(j.jobs().unwrap().len(), 3);
    assert!(matches!(
        j.record_intent(&intent(" ", Provider::VibePeak, None)),
        Err(JournalError::InvalidInput { .. })
    ));
    let rec = j.job("3").unwrap().unwrap();
    assert_eq!(rec.client_key, format!("mj-{}-3", j.journal_id()));
    assert_eq!(rec.state, JobState::Pending);
    assert_eq!(rec.remote_id, None);
    assert_eq!(rec.submit_request().unwrap().key, Some(rec.client_key));
}

#[test]
fn a_job_walks_through_its_states_and_terminal_states_stick() {
    let f = fixture();
    let j = &f.journal;
    j.record_intent(&intent("k", Provider::Vidiking, None))
        .unwrap();
    let sending = j.begin_submit("k").unwrap();
    assert!(sending.is_sending());
    assert_eq!(sending.submit_attempts, 1);
    assert!(matches!(
        j.begin_submit("k"),
        Err(JournalError::InvalidTransition { .. })
    ));

    f.clock.advance(Duration::from_millis(1500));
    j.record_submitted(
        "k",
        &snap(Provider::Vidiking, "job_1", Status::Queued, "QUEUED"),
    )
    .unwrap();
    let rec = j.job("k").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Queued);
    assert_eq!(rec.remote_id.as_deref(), Some("job_1"));
    assert_eq!(
        rec.submitted_at,
        Some(t0() + chrono::Duration::milliseconds(1500))
    );
    assert!(!rec.is_sending());
    // Idempotent for the same id, refused for another one.
    j.record_submitted(
        "k",
        &snap(Provider::Vidiking, "job_1", Status::Queued, "QUEUED"),
    )
    .unwrap();
    assert!(matches!(
        j.record_submitted(
            "k",
            &snap(Provider::Vidiking, "job_2", Status::Queued, "QUEUED")
        ),
        Err(JournalError::RemoteIdConflict { .. })
    ));

    let running = snap(Provider::Vidiking, "job_1", Status::Running, "PROCESSING");
    assert!(matches!(
        j.record_snapshot(&running).unwrap(),
        SnapshotOutcome::Changed {
            from: JobState::Queued,
            to: JobState::Running,
            ..
        }
    ));
    assert!(matches!(
        j.record_snapshot(&running).unwrap(),
        SnapshotOutcome::Unchanged { .. }
    ));

    f.clock.advance(Duration::from_secs(40));
    let done = succeeded_with_output(Provider::Vidiking, "job_1", "COMPLETE");
    j.record_snapshot(&done).unwrap();
    let rec = j.job("k").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Succeeded);
    let seen = t0() + chrono::Duration::milliseconds(41_500);
    assert_eq!(rec.terminal_seen_at, Some(seen));
    assert_eq!(rec.outputs.len(), 1);

    // A late or reordered event cannot move it back, nor fail it.
    for late in [
        running.clone(),
        failed(Provider::Vidiking, "job_1", "FAILED", "RENDER_TIMEOUT"),
    ] {
        assert!(matches!(
            j.record_snapshot(&late).unwrap(),
            SnapshotOutcome::IgnoredTerminal {
                state: JobState::Succeeded,
                ..
            }
        ));
    }
    // A refreshed URL of the same terminal state is taken.
    let mut refreshed = done.clone();
    refreshed.outputs[0].url = Some("https://cdn.example/fresh.mp4".into());
    assert!(matches!(
        j.record_snapshot(&refreshed).unwrap(),
        SnapshotOutcome::OutputsUpdated { .. }
    ));
    f.clock.advance(Duration::from_secs(5));
    j.record_snapshot(&done).unwrap();
    let rec = j.job("k").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Succeeded);
    assert_eq!(
        rec.terminal_seen_at,
        Some(seen),
        "terminal time is the first one"
    );

    let kinds: Vec<String> = j.events("k").unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "intent",
            "sending",
            "submitted",
            "status",
            "status",
            "ignored",
            "ignored",
            "output",
            "output"
        ]
    );
}

#[test]
fn unknown_remote_ids_and_protocol_errors_are_errors_not_panics() {
    let f = fixture();
    let j = &f.journal;
    assert!(matches!(
        j.record_snapshot(&snap(
            Provider::VibePeak,
            "task_x",
            Status::Running,
            "processing"
        )),
        Err(JournalError::UnknownRemoteId { .. })
    ));
    assert!(matches!(
        j.begin_submit("nope"),
        Err(JournalError::UnknownJob { .. })
    ));
    j.record_intent(&intent("v", Provider::VibePeak, None))
        .unwrap();
    assert!(matches!(
        j.mark_resubmittable("v", "x"),
        Err(JournalError::InvalidTransition { .. })
    ));
    assert!(matches!(
        j.record_submitted(
            "v",
            &snap(Provider::Vidiking, "job_1", Status::Queued, "QUEUED")
        ),
        Err(JournalError::ProviderMismatch { .. })
    ));
    assert!(matches!(
        j.record_download(
            "v",
            &NewDownload {
                index: 0,
                path: "/tmp/x".into(),
                bytes: 1,
                sha256: SHA.into()
            }
        ),
        Err(JournalError::InvalidTransition { .. })
    ));
    // Two jobs cannot share one remote task.
    submitted(j, "a", Provider::VibePeak, None, "task_1");
    j.record_intent(&intent("b", Provider::VibePeak, None))
        .unwrap();
    j.begin_submit("b").unwrap();
    assert!(matches!(
        j.record_submitted(
            "b",
            &snap(Provider::VibePeak, "task_1", Status::Queued, "queued")
        ),
        Err(JournalError::RemoteIdConflict { .. })
    ));
}

#[test]
fn refused_submits_fail_with_their_code_and_lost_answers_become_uncertain() {
    let f = fixture();
    let j = &f.journal;
    j.record_intents(&[
        intent("bad", Provider::VibePeak, None),
        intent("lost", Provider::VibePeak, None),
        intent("busy", Provider::VibePeak, None),
    ])
    .unwrap();
    j.begin_submit("bad").unwrap();
    j.record_rejected("bad", Some("SCRIPT_TOO_SHORT"), "script too short")
        .unwrap();
    let bad = j.job("bad").unwrap().unwrap();
    assert_eq!(bad.state, JobState::Failed);
    assert_eq!(bad.error.unwrap().code.as_deref(), Some("SCRIPT_TOO_SHORT"));
    assert!(bad.terminal_seen_at.is_some());

    j.begin_submit("busy").unwrap();
    j.abort_submit("busy", "429 CONCURRENCY_LIMIT_EXCEEDED")
        .unwrap();
    let busy = j.job("busy").unwrap().unwrap();
    assert_eq!(busy.state, JobState::Pending);
    assert!(!busy.is_sending());
    j.begin_submit("busy").unwrap();
    assert_eq!(j.job("busy").unwrap().unwrap().submit_attempts, 2);

    j.begin_submit("lost").unwrap();
    j.mark_uncertain("lost", "connection closed before the answer")
        .unwrap();
    let lost = j.job("lost").unwrap().unwrap();
    assert_eq!(lost.state, JobState::Uncertain);
    assert!(lost.sending_since.is_some() && lost.send_seq.is_some());
    assert!(matches!(
        j.begin_submit("lost"),
        Err(JournalError::InvalidTransition { .. })
    ));
    j.mark_resubmittable("lost", "user opted in").unwrap();
    let lost = j.job("lost").unwrap().unwrap();
    assert_eq!(lost.state, JobState::Pending);
    assert!(!lost.is_sending());

    let s = j.summary().unwrap();
    assert_eq!((s.jobs, s.failed, s.pending), (3, 1, 2));
    assert_eq!(s.failed_by_code.get("SCRIPT_TOO_SHORT"), Some(&1));
}

#[test]
fn a_crash_mid_submit_makes_the_job_uncertain_and_nothing_else() {
    let f = fixture();
    let j = f.journal;
    j.record_intents(&[
        intent("sent", Provider::VibePeak, None),
        intent("unsent", Provider::VibePeak, None),
        intent("answered", Provider::VibePeak, None),
    ])
    .unwrap();
    j.begin_submit("answered").unwrap();
    j.record_submitted(
        "answered",
        &snap(Provider::VibePeak, "task_1", Status::Queued, "queued"),
    )
    .unwrap();
    j.begin_submit("sent").unwrap();
    j.add_api_calls(Provider::VibePeak, Operation::Submit, 2)
        .unwrap();
    let before = j.jobs().unwrap();
    // While the run holds the journal, `status` sees a submit being sent: pending.
    let status = |path: &std::path::Path| {
        let report = SqliteJournal::open_read_only(path)
            .unwrap()
            .status_report()
            .unwrap();
        let sent = report.items.iter().find(|i| i.key == "sent").unwrap();
        (
            sent.status,
            report.summary.pending,
            report.summary.uncertain,
        )
    };
    assert_eq!(status(&f.path), (JobState::Pending, 2, 0));
    drop(j); // no close, no checkpoint: as if killed

    // Before anything reopens it, `status` already says what DESIGN.md says of a submit whose
    // outcome was never recorded because the process died: uncertain.
    assert_eq!(status(&f.path), (JobState::Uncertain, 1, 1));

    let j = reopen(&f.path, &f.clock);
    assert_eq!(j.recovered_on_open(), ["sent".to_string()]);
    let sent = j.job("sent").unwrap().unwrap();
    assert_eq!(sent.state, JobState::Uncertain);
    assert!(
        sent.uncertain_reason
            .unwrap()
            .contains("may have been sent")
    );
    assert_eq!(j.job("unsent").unwrap().unwrap().state, JobState::Pending);
    let answered = j.job("answered").unwrap().unwrap();
    assert_eq!(answered, before[2]);
    assert_eq!(j.counters().unwrap().api_calls, 2);
    let kinds: Vec<String> = j
        .events("sent")
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["intent", "sending", "recovered"]);

    // A second reopen finds nothing more to recover.
    drop(j);
    assert!(reopen(&f.path, &f.clock).recovered_on_open().is_empty());
}

#[test]
fn reopening_after_drop_keeps_everything() {
    let f = fixture();
    let j = f.journal;
    submitted(&j, "a", Provider::Vidiking, None, "job_a");
    j.record_snapshot(&succeeded_with_output(
        Provider::Vidiking,
        "job_a",
        "COMPLETE",
    ))
    .unwrap();
    j.record_download(
        "a",
        &NewDownload {
            index: 0,
            path: "/data/a.mp4".into(),
            bytes: 1234,
            sha256: SHA.into(),
        },
    )
    .unwrap();
    j.record_list_head(Provider::VideoGen, Some("vg_0"))
        .unwrap();
    submitted(&j, "b", Provider::VideoGen, Some("generate-image"), "vg_b");
    j.set_setting("endpoint", "ep_1").unwrap();
    j.set_secret(settings::VIDEOGEN_WEBHOOK_SECRET, &Secret::new("whsec_abc"))
        .unwrap();
    j.add_api_calls(Provider::Vidiking, Operation::Status, 5)
        .unwrap();
    let jobs = j.jobs().unwrap();
    let report = serde_json::to_value(j.status_report().unwrap()).unwrap();
    let id = j.journal_id().to_string();
    drop(j);

    let j = reopen(&f.path, &f.clock);
    assert_eq!(j.jobs().unwrap(), jobs);
    assert_eq!(
        serde_json::to_value(j.status_report().unwrap()).unwrap(),
        report
    );
    assert_eq!(j.journal_id(), id);
    assert_eq!(j.setting("endpoint").unwrap().as_deref(), Some("ep_1"));
    assert_eq!(
        j.secret(settings::VIDEOGEN_WEBHOOK_SECRET)
            .unwrap()
            .unwrap()
            .expose(),
        "whsec_abc"
    );
    assert_eq!(j.counters().unwrap().api_calls, 5);
    assert_eq!(j.counters().unwrap().downloaded_bytes, 1234);
}

#[test]
fn the_submit_gate_holds_what_reconciliation_needs_held() {
    let f = fixture();
    let j = &f.journal;
    j.record_intents(&[
        intent("img1", Provider::VideoGen, Some("generate-image")),
        intent("img2", Provider::VideoGen, Some("generate-image")),
        intent("clip", Provider::VideoGen, Some("generate-video-clip")),
        intent("vk1", Provider::Vidiking, None),
        intent("vk2", Provider::Vidiking, None),
        intent("vp1", Provider::VibePeak, None),
        intent("vp2", Provider::VibePeak, None),
    ])
    .unwrap();
    // VideoGen needs a list head before its first submit.
    assert!(matches!(
        j.begin_submit("img1"),
        Err(JournalError::ListHeadMissing { .. })
    ));
    j.record_list_head(Provider::VideoGen, None).unwrap();
    let rec = j.begin_submit("img1").unwrap();
    assert_eq!(rec.list_head_at_send, HeadMark::Empty);

    // One generate-image on the wire holds the next one, not other tools.
    assert_eq!(
        j.submit_gate(Provider::VideoGen, Some("generate-image"))
            .unwrap(),
        SubmitGate::Held {
            blocking_key: "img1".into(),
            reason: HoldReason::SubmitInFlight
        }
    );
    let err = j.begin_submit("img2").unwrap_err();
    assert!(matches!(err, JournalError::SubmitHeld { .. }), "{err:?}");
    assert!(err.to_string().contains("img1"));
    j.record_list_head(Provider::VideoGen, Some("vg_9"))
        .unwrap();
    let clip = j.begin_submit("clip").unwrap();
    assert_eq!(clip.list_head_at_send, HeadMark::Id("vg_9".into()));

    // Uncertain holds it too, until reconciled.
    j.mark_uncertain("img1", "timeout").unwrap();
    assert!(matches!(
        j.submit_gate(Provider::VideoGen, Some("generate-image"))
            .unwrap(),
        SubmitGate::Held {
            reason: HoldReason::Uncertain,
            ..
        }
    ));
    j.mark_resubmittable("img1", "proven absent").unwrap();
    assert_eq!(
        j.submit_gate(Provider::VideoGen, Some("generate-image"))
            .unwrap(),
        SubmitGate::Open
    );
    j.begin_submit("img2").unwrap();

    // Vidiking: concurrent submits are fine (the key finds them), an uncertain one holds all.
    j.begin_submit("vk1").unwrap();
    assert_eq!(
        j.submit_gate(Provider::Vidiking, None).unwrap(),
        SubmitGate::Open
    );
    j.mark_uncertain("vk1", "timeout").unwrap();
    assert!(matches!(
        j.begin_submit("vk2"),
        Err(JournalError::SubmitHeld { .. })
    ));

    // VibePeak cannot be reconciled at all: nothing to wait for.
    j.begin_submit("vp1").unwrap();
    j.mark_uncertain("vp1", "timeout").unwrap();
    assert_eq!(
        j.submit_gate(Provider::VibePeak, None).unwrap(),
        SubmitGate::Open
    );
    j.begin_submit("vp2").unwrap();
}

#[test]
fn status_json_has_exactly_the_contract_shape() {
    let f = fixture();
    let j = &f.journal;
    submitted(j, "done", Provider::Vidiking, None, "job_1");
    f.clock.advance(Duration::from_millis(2345));
    j.record_snapshot(&succeeded_with_output(
        Provider::Vidiking,
        "job_1",
        "COMPLETE",
    ))
    .unwrap();
    j.record_download(
        "done",
        &NewDownload {
            index: 0,
            path: "out/done-0.mp4".into(),
            bytes: 1234,
            sha256: SHA.to_uppercase(),
        },
    )
    .unwrap();
    submitted(j, "bad", Provider::VibePeak, None, "task_2");
    j.record_snapshot(&failed(
        Provider::VibePeak,
        "task_2",
        "failed",
        "IMAGE_PROCESSING_FAILED",
    ))
    .unwrap();
    j.record_intent(&intent("later", Provider::VibePeak, None))
        .unwrap();
    j.record_intent(&intent("lost", Provider::VibePeak, None))
        .unwrap();
    j.begin_submit("lost").unwrap();
    j.mark_uncertain("lost", "timeout").unwrap();
    j.add_api_calls(Provider::Vidiking, Operation::Submit, 1)
        .unwrap();
    j.add_api_calls(Provider::Vidiking, Operation::Status, 3)
        .unwrap();

    let v = serde_json::to_value(j.status_report().unwrap()).unwrap();
    for field in [
        "jobs",
        "succeeded",
        "failed",
        "cancelled",
        "uncertain",
        "api_calls",
        "downloaded_bytes",
        "items",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    assert_eq!(v["jobs"], 4);
    assert_eq!(v["succeeded"], 1);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["cancelled"], 0);
    assert_eq!(v["uncertain"], 1);
    assert_eq!(v["api_calls"], 4);
    assert_eq!(v["downloaded_bytes"], 1234);
    assert_eq!(v["failed_by_code"]["IMAGE_PROCESSING_FAILED"], 1);
    assert_eq!(
        v["items"][0],
        serde_json::json!({
            "key": "done",
            "provider": "vidiking",
            "id": "job_1",
            "status": "succeeded",
            "raw_status": "COMPLETE",
            "submitted_at": "2026-03-01T12:00:00.000Z",
            "terminal_seen_at": "2026-03-01T12:00:02.345Z",
            "files": ["out/done-0.mp4"]
        })
    );
    assert_eq!(
        v["items"][2],
        serde_json::json!({
            "key": "later",
            "provider": "vibepeak",
            "id": null,
            "status": "pending",
            "raw_status": null,
            "submitted_at": null,
            "terminal_seen_at": null,
            "files": []
        })
    );
    assert_eq!(v["items"][1]["status"], "failed");
    assert_eq!(v["items"][3]["status"], "uncertain");
    let item_keys: Vec<&String> = v["items"][0].as_object().unwrap().keys().collect();
    assert_eq!(item_keys.len(), 8);

    // The invocation's share of the counters.
    let base = j.counters().unwrap();
    j.add_api_calls(Provider::VibePeak, Operation::Status, 2)
        .unwrap();
    let s = j.summary_since(&base).unwrap();
    assert_eq!((s.api_calls, s.downloaded_bytes, s.jobs), (2, 0, 4));
    assert_eq!(j.summary().unwrap().api_calls, 6);
}

#[test]
fn downloads_are_checked_recorded_and_drive_resume_work() {
    let f = fixture();
    let j = &f.journal;
    let vp = Provider::VibePeak;
    j.record_intents(&[
        intent("p", vp, None),
        intent("s", vp, None),
        intent("u", vp, None),
    ])
    .unwrap();
    j.begin_submit("s").unwrap();
    j.begin_submit("u").unwrap();
    j.mark_uncertain("u", "timeout").unwrap();
    submitted(j, "w", vp, None, "task_w");
    submitted(j, "f", vp, None, "task_f");
    j.record_snapshot(&failed(vp, "task_f", "failed", "INTERNAL_ERROR"))
        .unwrap();
    submitted(j, "d0", vp, None, "task_d0");
    j.record_snapshot(&snap(vp, "task_d0", Status::Succeeded, "completed"))
        .unwrap();
    submitted(j, "d2", vp, None, "task_d2");
    let mut two = succeeded_with_output(vp, "task_d2", "completed");
    two.outputs.push(Output {
        url: Some("https://cdn.example/cover.jpg".into()),
        file_id: Some("file_9".into()),
        mime_type: Some("image/jpeg".into()),
        size: None,
        expires_at: None,
    });
    j.record_snapshot(&two).unwrap();

    let dl = |index: u32, sha: &str| NewDownload {
        index,
        path: format!("out/d2-{index}").into(),
        bytes: 10,
        sha256: sha.into(),
    };
    assert!(matches!(
        j.record_download("d2", &dl(0, "abc")),
        Err(JournalError::InvalidInput { .. })
    ));
    assert!(matches!(
        j.record_download("d2", &dl(5, SHA)),
        Err(JournalError::UnknownOutput { index: 5, .. })
    ));
    j.record_download("d2", &dl(0, SHA)).unwrap();

    // A refreshed URL replaces the output, the download stays.
    let job = JobId::new(vp, "task_d2");
    let fresh = Output {
        url: Some("https://cdn.example/cover-fresh.jpg".into()),
        ..two.outputs[1].clone()
    };
    j.record_output(&job, 1, &fresh).unwrap();
    let rec = j.job_by_remote_id(&job).unwrap().unwrap();
    assert_eq!(rec.key, "d2");
    assert_eq!(rec.outputs[1].output, fresh);
    assert_eq!(rec.files(), ["out/d2-0"]);
    assert_eq!(rec.outputs[0].download.as_ref().unwrap().sha256, SHA);

    let steps: Vec<(String, NextStep)> = j
        .work_on_resume(true)
        .unwrap()
        .into_iter()
        .map(|w| (w.job.key, w.step))
        .collect();
    assert_eq!(
        steps,
        [
            ("p".to_string(), NextStep::Submit),
            ("s".to_string(), NextStep::SubmitInFlight),
            ("u".to_string(), NextStep::Reconcile),
            ("w".to_string(), NextStep::Wait),
            ("d0".to_string(), NextStep::ReadOutputs),
            ("d2".to_string(), NextStep::Download { indexes: vec![1] }),
        ]
    );
    j.record_download("d2", &dl(1, SHA)).unwrap();
    let keys: Vec<String> = j
        .work_on_resume(true)
        .unwrap()
        .into_iter()
        .map(|w| w.job.key)
        .collect();
    assert_eq!(keys, ["p", "s", "u", "w", "d0"]);
    let keys: Vec<String> = j
        .work_on_resume(false)
        .unwrap()
        .into_iter()
        .map(|w| w.job.key)
        .collect();
    assert_eq!(keys, ["p", "s", "u", "w"]);
    assert_eq!(j.counters().unwrap().downloaded_bytes, 20);
}

#[test]
fn secrets_never_print_and_are_not_plain_settings() {
    let f = fixture();
    let j = &f.journal;
    j.set_secret(
        settings::VIDEOGEN_WEBHOOK_SECRET,
        &Secret::new("whsec_TOPSECRET"),
    )
    .unwrap();
    let s = j
        .secret(settings::VIDEOGEN_WEBHOOK_SECRET)
        .unwrap()
        .unwrap();
    assert_eq!(s.expose(), "whsec_TOPSECRET");
    assert!(!format!("{s:?} {j:?}").contains("TOPSECRET"));
    assert!(matches!(
        j.setting(settings::VIDEOGEN_WEBHOOK_SECRET),
        Err(JournalError::InvalidInput { .. })
    ));
    assert_eq!(j.secret("absent").unwrap(), None);
    assert_eq!(j.setting("absent").unwrap(), None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&f.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "journal must be owner-only, mode {mode:o}");
    }
}

#[test]
fn damaged_records_are_errors_never_panics() {
    let f = fixture();
    let j = &f.journal;
    submitted(j, "a", Provider::Vidiking, None, "job_a");
    j.record_intent(&intent("b", Provider::Vidiking, None))
        .unwrap();
    // Damage the stored request behind the journal's back (same process, another connection).
    let raw = rusqlite::Connection::open(&f.path).unwrap();
    raw.execute(
        "UPDATE jobs SET request_json = '{\"prompt\": tru' WHERE key = 'b'",
        [],
    )
    .unwrap();
    let b = j.job("b").unwrap().unwrap();
    assert!(matches!(
        b.request_body(),
        Err(JournalError::CorruptRecord { .. })
    ));
    assert!(matches!(
        b.submit_request(),
        Err(JournalError::CorruptRecord { .. })
    ));
    // Everything that does not need the body keeps working.
    assert_eq!(j.status_report().unwrap().items.len(), 2);
    assert_eq!(j.work_on_resume(true).unwrap().len(), 2);
    j.begin_submit("b").unwrap();

    // A damaged timestamp or provider name is a clear error from the queries that need it.
    raw.execute(
        "UPDATE jobs SET submitted_at = 'yesterday', provider = 'openai' WHERE key = 'a'",
        [],
    )
    .unwrap();
    let err = j.status_report().unwrap_err();
    assert!(matches!(err, JournalError::CorruptRecord { .. }), "{err:?}");
    assert!(err.to_string().contains("\"a\""), "{err}");
    assert!(j.jobs().is_err());
    assert!(j.summary().is_ok());
    drop(raw);
}
