//! Crash and lost-answer tests of `mediajobs run` / `resume` (issue 8, "Done when"), against a
//! real `mediajobs sim` child and judged by its ground truth (`GET {admin}/stats`):
//!
//! - the runner is SIGKILLed at seeded points (after the k-th progress line, or after a seeded
//!   delay), then `resume`d until it ends (itself killed again some of the time): every line ends
//!   at its true terminal state, no request body reaches the provider twice, and every succeeded
//!   output is on disk with the SHA-256 the journal recorded;
//! - submits whose answers are lost (`--faults …:submit:lost`) are reconciled on VideoGen and
//!   Vidiking (adopted, never sent twice), and reported as `uncertain` for VibePeak until
//!   `resume --resubmit-uncertain`; dropped submits (never processed) are proven absent and sent
//!   again, once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crash_support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Fast enough that a batch finishes in about a second, slow enough that a kill can land in
/// every phase.
const SPEED: f64 = 1200.0;
const LIMIT: Duration = Duration::from_secs(90);

/// Whether a run/resume that ended by itself left nothing to do.
fn nothing_open(work: &Workdir) -> bool {
    let s = work.status();
    ["pending", "queued", "running"]
        .iter()
        .all(|k| s[*k].as_u64().unwrap_or(0) == 0)
}

/// Whether the journal holds the batch's intents (they are written in one transaction).
fn intents_written(work: &Workdir, lines: usize) -> bool {
    // A run killed while creating the file leaves an SQLite file without the schema yet, which
    // `status --journal` rightly refuses: read it with the library, which says the same.
    mediajobs::journal::SqliteJournal::open_read_only(work.journal())
        .and_then(|j| mediajobs::journal::Journal::jobs(&j))
        .is_ok_and(|jobs| jobs.len() == lines)
}

/// The hashes of the uncertain lines' requests (VibePeak: the body goes out as given).
fn hashes_of(lines: &[Line], keys: &[String]) -> HashSet<String> {
    lines
        .iter()
        .filter(|l| keys.contains(&l.key))
        .filter_map(Line::body_sha256)
        .collect()
}

/// Checks an invocation's exit code against its `--json` summary (DESIGN.md exit codes).
fn check_exit(ended: &Ended, context: &str) -> Value {
    let summary = ended.summary();
    let all_ok = summary["succeeded"] == summary["jobs"];
    let expected = if all_ok { 0 } else { 1 };
    assert_eq!(
        ended.code,
        Some(expected),
        "{context}: exit code vs summary {summary}; stderr tail {:#?}",
        tail(&ended.stderr)
    );
    summary
}

/// One seeded crash scenario. Returns the phases its kills interrupted, and how many VibePeak
/// jobs it left uncertain (then settled by `--resubmit-uncertain`).
fn crash_scenario(seed: u64) -> (Vec<Phase>, usize) {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xC0FFEE);
    let work = Workdir::new();
    let sim = Sim::start(&SimOptions::new(SPEED, seed), &work.path);
    let env = sim.env();
    let lines = batch(9, seed, Mix::EVEN);
    write_batch(&work.batch(), &lines);
    let mut context = format!("seed {seed}");

    // The first kill: anywhere from before the first submit to the last download.
    let point = KillPoint::random(&mut rng, 32, 1400);
    let mut last = point.kill(Proc::spawn(
        &work.run_args(&[] as &[&str]),
        &env,
        &work.path,
    ));
    let mut phases = Vec::new();
    context.push_str(&format!(", run killed at {point:?} ({})", last.killed));
    if last.killed {
        phases.push(Phase::of(&work));
    }
    let started = Instant::now();
    for round in 0..8 {
        if !last.killed && (last.code == Some(0) || (last.code == Some(1) && nothing_open(&work))) {
            break;
        }
        assert!(
            started.elapsed() < LIMIT,
            "{context}: resumes did not settle the batch in {LIMIT:?}"
        );
        // A run killed before its intents were written left nothing to resume: the user runs
        // the same command again (which also never resubmits what the journal knows).
        let rerun = !intents_written(&work, lines.len()) || rng.gen_bool(0.25);
        let args = if rerun {
            work.run_args(&[] as &[&str])
        } else {
            work.resume_args(&[] as &[&str])
        };
        context.push_str(if rerun { ", run again" } else { ", resume" });
        let proc = Proc::spawn(&args, &env, &work.path);
        if round < 3 && rng.gen_bool(0.35) {
            let point = KillPoint::random(&mut rng, 16, 900);
            last = point.kill(proc);
            context.push_str(&format!(" {round} killed at {point:?} ({})", last.killed));
            if last.killed {
                phases.push(Phase::of(&work));
            }
        } else {
            last = proc.wait(LIMIT);
        }
    }
    assert!(!last.killed, "{context}: never resumed to the end");
    let summary = check_exit(&last, &context);

    let none = HashSet::new();
    let audit = Audit::new(&lines, &work, &sim.stats(), &none, &none);
    // VibePeak cannot be asked: a submit interrupted on the wire stays uncertain, reported.
    let uncertain = audit.uncertain.clone();
    if !uncertain.is_empty() {
        for key in &uncertain {
            assert!(
                key.starts_with("vibepeak-"),
                "{context}: {key} left uncertain; VideoGen and Vidiking must be reconciled"
            );
        }
        assert_eq!(
            summary["uncertain"].as_u64(),
            Some(uncertain.len() as u64),
            "{context}: {summary}"
        );
        // Not sent twice so far; the first submit may or may not have reached the sim.
        let maybe_sent = hashes_of(&lines, &uncertain);
        let audit = Audit::new(&lines, &work, &sim.stats(), &maybe_sent, &none);
        assert!(
            audit.problems().is_empty(),
            "{context}: {:#?}",
            audit.problems()
        );
        // The user's explicit opt-in settles them (and may pay twice for those that did).
        for _ in 0..3 {
            last = Proc::spawn(
                &work.resume_args(&["--resubmit-uncertain"]),
                &env,
                &work.path,
            )
            .wait(LIMIT);
            check_exit(&last, &context);
            if nothing_open(&work) {
                break;
            }
        }
        let audit = Audit::new(&lines, &work, &sim.stats(), &maybe_sent, &maybe_sent);
        audit.assert_settled(&format!("{context}, after --resubmit-uncertain"));
        return (phases, uncertain.len());
    }
    audit.assert_settled(&context);
    assert_eq!(
        audit.sim_tasks, audit.lines,
        "{context}: one task per line, no more"
    );
    (phases, 0)
}

#[test]
fn sigkill_at_seeded_points_then_resume_loses_nothing_and_pays_nothing_twice() {
    const SEEDS: u64 = 40;
    let next = std::sync::atomic::AtomicU64::new(0);
    let phases = std::sync::Mutex::new(Vec::new());
    let uncertain = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if seed >= SEEDS {
                        break;
                    }
                    let (p, u) = crash_scenario(seed);
                    phases.lock().unwrap().extend(p);
                    uncertain.fetch_add(u, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    let phases = phases.into_inner().unwrap();
    let mut counts = [0u32; 4];
    for p in &phases {
        p.tally(&mut counts);
    }
    eprintln!(
        "{} kills: before submit {}, mid-submit {}, waiting {}, downloading {}; \
         VibePeak jobs left uncertain then resubmitted by opt-in: {}",
        phases.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        uncertain.into_inner()
    );
    // The kills must actually have landed in the phases that matter.
    assert!(counts[0] > 0, "no kill before the first submit: {counts:?}");
    assert!(
        counts[1] > 0,
        "no kill with a submit on the wire: {counts:?}"
    );
    assert!(counts[2] > 0, "no kill while jobs were waiting: {counts:?}");
    assert!(
        counts[3] > 0,
        "no kill before a download was saved: {counts:?}"
    );
}

/// The run's reconciliations of `provider` with `outcome`.
fn reconciled(summary: &Value, provider: &str, outcome: &str) -> u64 {
    summary["reconciled"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["provider"] == provider && r["outcome"] == outcome)
        .count() as u64
}

fn fault_count(stats: &Value, provider: &str, kind: &str) -> u64 {
    stats["faults"][provider][kind].as_u64().unwrap_or(0)
}

fn provider_tasks(stats: &Value, provider: &str) -> u64 {
    stats["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["provider"] == provider)
        .count() as u64
}

#[test]
fn lost_submit_answers_are_reconciled_or_reported_never_paid_twice() {
    let work = Workdir::new();
    let sim = Sim::start(
        &SimOptions::new(SPEED, 7)
            .faults("videogen:submit:lost=0.3,vidiking:submit:lost=0.3,vibepeak:submit:lost=0.3")
            .failure_rate(0.0),
        &work.path,
    );
    let env = sim.env();
    let lines = batch(36, 7, Mix::EVEN);
    write_batch(&work.batch(), &lines);

    let run = Proc::spawn(&work.run_args(&[] as &[&str]), &env, &work.path).wait(LIMIT);
    let summary = run.summary();
    let stats = sim.stats();
    let lost = |p| fault_count(&stats, p, "submit:lost");
    let context = format!("lost faults {stats}", stats = stats["faults"]);
    assert!(
        lost("videogen") > 0 && lost("vidiking") > 0 && lost("vibepeak") > 0,
        "the seeded sim lost no answer somewhere: {context}"
    );
    // VideoGen and Vidiking: every lost answer's task was found in the list and adopted.
    for p in ["videogen", "vidiking"] {
        assert_eq!(
            reconciled(&summary, p, "adopted"),
            lost(p),
            "{p}: one adoption per lost answer; {context}; {summary}"
        );
        assert_eq!(
            reconciled(&summary, p, "not_submitted"),
            0,
            "{p}: {summary}"
        );
    }
    // VibePeak: reported, exit 1, never sent again by itself.
    let vibepeak_lost = lost("vibepeak");
    assert_eq!(run.code, Some(1), "{summary}");
    assert_eq!(
        summary["uncertain"].as_u64(),
        Some(vibepeak_lost),
        "{summary}"
    );
    let none = HashSet::new();
    let audit = Audit::new(&lines, &work, &stats, &none, &none);
    assert_eq!(audit.uncertain.len() as u64, vibepeak_lost);
    assert!(audit.uncertain.iter().all(|k| k.starts_with("vibepeak-")));
    let maybe_sent = hashes_of(&lines, &audit.uncertain);
    let audit = Audit::new(&lines, &work, &stats, &maybe_sent, &none);
    assert!(
        audit.problems().is_empty(),
        "after run: {:#?}",
        audit.problems()
    );
    assert_eq!(audit.at_true_terminal as u64, 36 - vibepeak_lost);
    // `status --journal` says the same.
    assert_eq!(work.status()["uncertain"].as_u64(), Some(vibepeak_lost));

    // The user's opt-in: sent again (each may be lost again, and again reported) until settled.
    let mut ever_uncertain = audit.uncertain.clone();
    let mut last = None;
    for _ in 0..8 {
        let ended = Proc::spawn(
            &work.resume_args(&["--resubmit-uncertain"]),
            &env,
            &work.path,
        )
        .wait(LIMIT);
        let code = ended.code;
        let now = Audit::new(&lines, &work, &sim.stats(), &none, &none);
        ever_uncertain.extend(now.uncertain.iter().cloned());
        last = Some(ended);
        if code == Some(0) {
            break;
        }
    }
    let last = last.unwrap();
    assert_eq!(last.code, Some(0), "{}", last.summary());
    let stats = sim.stats();
    let allowed = hashes_of(&lines, &ever_uncertain);
    let audit = Audit::new(&lines, &work, &stats, &allowed, &allowed);
    audit.assert_settled("after --resubmit-uncertain");
    // Exactly one extra VibePeak task per lost answer (the price of the opt-in), no other.
    assert_eq!(
        provider_tasks(&stats, "vibepeak"),
        12 + fault_count(&stats, "vibepeak", "submit:lost")
    );
    assert_eq!(provider_tasks(&stats, "videogen"), 12);
    assert_eq!(provider_tasks(&stats, "vidiking"), 12);
}

#[test]
fn dropped_submits_are_proven_absent_and_sent_exactly_once() {
    let work = Workdir::new();
    let sim = Sim::start(
        &SimOptions::new(SPEED, 11)
            .faults("videogen:submit:drop=0.3,vidiking:submit:drop=0.3")
            .failure_rate(0.0),
        &work.path,
    );
    let env = sim.env();
    let lines = batch(
        24,
        11,
        Mix {
            vibepeak: 0,
            videogen: 1,
            vidiking: 1,
        },
    );
    write_batch(&work.batch(), &lines);
    let run = Proc::spawn(&work.run_args(&[] as &[&str]), &env, &work.path).wait(LIMIT);
    let summary = check_exit(&run, "drop");
    assert_eq!(run.code, Some(0), "{summary}");
    let stats = sim.stats();
    for p in ["videogen", "vidiking"] {
        let dropped = fault_count(&stats, p, "submit:drop");
        assert!(dropped > 0, "{p}: the seeded sim dropped nothing");
        // Connection closed without an answer: the client cannot tell it from a lost answer, so
        // each is uncertain, the list proves it absent, and it is sent again.
        assert_eq!(
            reconciled(&summary, p, "not_submitted"),
            dropped,
            "{p}: {summary}"
        );
        assert_eq!(reconciled(&summary, p, "adopted"), 0, "{p}: {summary}");
        assert_eq!(provider_tasks(&stats, p), 12);
    }
    let none = HashSet::new();
    Audit::new(&lines, &work, &stats, &none, &none).assert_settled("drop");
}

#[test]
fn failing_downloads_are_retried_and_an_unsaved_result_is_never_a_success() {
    // Three in ten downloads answer 5xx: every result still ends on disk, exit 0.
    let work = Workdir::new();
    let sim = Sim::start(
        &SimOptions::new(SPEED, 5)
            .faults("*:download:5xx=0.3,*:download:drop=0.1")
            .failure_rate(0.0),
        &work.path,
    );
    let lines = batch(12, 5, Mix::EVEN);
    write_batch(&work.batch(), &lines);
    let run = Proc::spawn(&work.run_args(&[] as &[&str]), &sim.env(), &work.path).wait(LIMIT);
    let summary = check_exit(&run, "download 5xx");
    assert_eq!(run.code, Some(0), "{summary}");
    assert_eq!(summary["downloads_missing"], 0, "{summary}");
    let none = HashSet::new();
    Audit::new(&lines, &work, &sim.stats(), &none, &none).assert_settled("download 5xx");

    // Every download refused: the jobs succeeded, but their results are not saved, so the run
    // says so and exits 1; a later resume (downloads back) saves them and exits 0.
    let work = Workdir::new();
    let broken = Sim::start(
        &SimOptions::new(SPEED, 6)
            .faults("*:download:5xx=1")
            .failure_rate(0.0),
        &work.path,
    );
    let lines = batch(3, 6, Mix::EVEN);
    write_batch(&work.batch(), &lines);
    let run = Proc::spawn(&work.run_args(&[] as &[&str]), &broken.env(), &work.path).wait(LIMIT);
    let summary = run.summary();
    assert_eq!(run.code, Some(1), "{summary}");
    assert_eq!(summary["succeeded"], 3, "{summary}");
    assert_eq!(summary["downloads_missing"], 3, "{summary}");
}
