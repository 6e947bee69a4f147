//! The fault soak (issue 10): a batch over all three providers against `mediajobs sim` with 5 %
//! 5xx, 429s on reads, dropped connections, a few slow answers, lost submit answers, and
//! lost/duplicated/delayed/forged webhooks (`run --webhooks-addr`), with SIGKILLs of the runner
//! and `resume`. Judged by the sim's ground truth: no job lost, no request body submitted twice
//! without the user's opt-in, no forged event accepted, every job at its true terminal state, and
//! API calls per job against a fault-free run of the same batch.
//!
//! Size: `MEDIAJOBS_SOAK_JOBS` (default 240: the short seeded version of the normal test suite);
//! `cargo xtask soak` runs it in release with 10,000. `MEDIAJOBS_SOAK_SPEED` overrides the sim
//! speed, `MEDIAJOBS_SOAK_SEED` the seed. The figures are printed as one JSON line on stderr
//! (`soak figures: {…}`), and written to `MEDIAJOBS_SOAK_REPORT` when set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crash_support::*;
use serde_json::json;

/// The faults. Rules are tried in order and the first that fires wins, so the rates are each
/// rule's share of what the rules before it left.
const FAULTS: &str = "*:submit:lost=0.02,*:*:5xx=0.05,*:status:429=0.15,*:list:429=0.15,\
*:*:drop=0.01,*:status:slow=0.0005,*:webhook:lose=0.1,*:webhook:dup=0.2,*:webhook:delay=0.1,\
*:webhook:forge=0.1";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Generous per-invocation limit: the soak may be large, but never unbounded.
fn limit(jobs: usize) -> Duration {
    Duration::from_secs(120 + jobs as u64 / 4)
}

/// Webhooks on (the sim's deliveries, faults included, reach the runner), and a deadline far
/// beyond the batch's length in sim time.
fn batch_args(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["--webhooks-addr", "127.0.0.1:0", "--deadline", "2592000"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn open_jobs(work: &Workdir) -> u64 {
    let s = work.status();
    ["pending", "queued", "running"]
        .iter()
        .map(|k| s[*k].as_u64().unwrap_or(0))
        .sum()
}

/// The fault-free run of the same batch: API requests per job, and its wall time.
fn reference(lines: &[Line], seed: u64, speed: f64) -> (f64, Duration) {
    let work = Workdir::new();
    let sim = Sim::start(&SimOptions::new(speed, seed), &work.path);
    write_batch(&work.batch(), lines);
    let started = Instant::now();
    let ended = Proc::spawn(&work.run_args(&batch_args(&[])), &sim.env(), &work.path)
        .wait(limit(lines.len()));
    let wall = started.elapsed();
    let summary = ended.summary();
    assert!(
        ended.code == Some(0) || ended.code == Some(1),
        "reference run: {summary}"
    );
    let none = HashSet::new();
    let audit = Audit::new(lines, &work, &sim.stats(), &none, &none);
    audit.assert_settled("the fault-free reference run");
    (audit.api_requests as f64 / lines.len() as f64, wall)
}

#[test]
fn fault_soak_with_kills_loses_nothing_and_pays_nothing_twice() {
    let jobs: usize = env_or("MEDIAJOBS_SOAK_JOBS", 240);
    let seed: u64 = env_or("MEDIAJOBS_SOAK_SEED", 2026);
    let speed: f64 = env_or(
        "MEDIAJOBS_SOAK_SPEED",
        if jobs > 1000 { 3600.0 } else { 1200.0 },
    );
    let limit = limit(jobs);
    let lines = batch(jobs, seed, Mix::EVEN);

    let work = Workdir::new();
    let sim = Sim::start(&SimOptions::new(speed, seed).faults(FAULTS), &work.path);
    let env = sim.env();
    write_batch(&work.batch(), &lines);
    let started = Instant::now();
    let mut kills = 0;
    let mut invocations = 1;

    // Killed once a third of the way in (about one progress line per job in all)…
    let mut proc = Proc::spawn(&work.run_args(&batch_args(&[])), &env, &work.path);
    proc.wait_lines(jobs, limit);
    let first = proc.kill();
    kills += usize::from(first.killed);
    // …resumed and killed again…
    invocations += 1;
    let mut proc = Proc::spawn(&work.resume_args(&batch_args(&[])), &env, &work.path);
    proc.wait_lines(jobs / 2, limit);
    let second = proc.kill();
    kills += usize::from(second.killed);
    // …then resumed until nothing is open (a job past its deadline or a provider found
    // unreachable for a while ends an invocation; `resume` picks them up again).
    let mut last = None;
    for _ in 0..6 {
        invocations += 1;
        let ended = Proc::spawn(&work.resume_args(&batch_args(&[])), &env, &work.path).wait(limit);
        let done = open_jobs(&work) == 0;
        last = Some(ended);
        if done {
            break;
        }
    }
    let last = last.unwrap();
    let summary = last.summary();
    assert_eq!(open_jobs(&work), 0, "still open after resumes: {summary}");

    // Lost VibePeak answers cannot be reconciled: reported, then the user's opt-in.
    let none = HashSet::new();
    let before_opt_in = Audit::new(&lines, &work, &sim.stats(), &none, &none);
    let mut ever_uncertain = before_opt_in.uncertain.clone();
    assert!(
        ever_uncertain.iter().all(|k| k.starts_with("vibepeak-")),
        "VideoGen/Vidiking jobs left uncertain: {ever_uncertain:?}"
    );
    if !ever_uncertain.is_empty() {
        assert_eq!(last.code, Some(1), "uncertain jobs must exit 1: {summary}");
        assert_eq!(
            summary["uncertain"].as_u64(),
            Some(ever_uncertain.len() as u64)
        );
    }
    let maybe_sent = hashes_of(&lines, &ever_uncertain);
    let audit = Audit::new(&lines, &work, &sim.stats(), &maybe_sent, &none);
    assert!(
        audit.problems().is_empty(),
        "before the opt-in: {:#?}",
        audit.problems()
    );
    let mut opt_in_rounds = 0;
    for _ in 0..8 {
        if Audit::new(&lines, &work, &sim.stats(), &none, &none)
            .uncertain
            .is_empty()
        {
            break;
        }
        opt_in_rounds += 1;
        invocations += 1;
        Proc::spawn(
            &work.resume_args(&batch_args(&["--resubmit-uncertain"])),
            &env,
            &work.path,
        )
        .wait(limit);
        let now = Audit::new(&lines, &work, &sim.stats(), &none, &none);
        ever_uncertain.extend(now.uncertain.iter().cloned());
    }
    let wall = started.elapsed();
    let stats = sim.stats();
    let allowed = hashes_of(&lines, &ever_uncertain);
    let strict = Audit::new(&lines, &work, &stats, &allowed, &none);
    let audit = Audit::new(&lines, &work, &stats, &allowed, &allowed);
    let paid_twice_by_opt_in: usize = strict.duplicate_bodies.len();
    let (reference_calls, reference_wall) = reference(&lines, seed, speed);
    let calls_per_job = audit.api_requests as f64 / jobs as f64;

    let figures = json!({
        "jobs": jobs,
        "seed": seed,
        "speed": speed,
        "faults": FAULTS,
        "kills": kills,
        "invocations": invocations,
        "opt_in_rounds": opt_in_rounds,
        "wall_seconds": wall.as_secs_f64(),
        "jobs_lost": audit.lost.len() + audit.uncertain.len(),
        "bodies_submitted_twice": audit.duplicate_bodies.len(),
        "vibepeak_lost_answers_resubmitted_by_opt_in": ever_uncertain.len(),
        "of_which_paid_twice": paid_twice_by_opt_in,
        "forged_sent": audit.forged,
        "forged_2xx": audit.forged_2xx,
        "at_true_terminal": audit.at_true_terminal,
        "wrong_state": audit.mismatched.len(),
        "files_checked": audit.files_checked,
        "file_problems": audit.file_problems.len(),
        "api_requests": audit.api_requests,
        "api_calls_per_job": calls_per_job,
        "fault_free_api_calls_per_job": reference_calls,
        "fault_free_wall_seconds": reference_wall.as_secs_f64(),
        "faults_injected": audit.faults,
        "webhooks": stats["webhooks"],
    });
    eprintln!("soak figures: {figures}");
    if let Ok(path) = std::env::var("MEDIAJOBS_SOAK_REPORT") {
        std::fs::write(path, format!("{figures}\n")).expect("write the soak report");
    }
    audit.assert_settled(&format!("soak, seed {seed}"));
    assert_eq!(audit.forged_2xx, 0);
    assert!(audit.forged > 0, "the soak forged no webhook: {figures}");
    assert!(kills >= 1, "the runner was never killed: {figures}");
}

/// The hashes of the given lines' requests.
fn hashes_of(lines: &[Line], keys: &[String]) -> HashSet<String> {
    lines
        .iter()
        .filter(|l| keys.contains(&l.key))
        .filter_map(Line::body_sha256)
        .collect()
}
