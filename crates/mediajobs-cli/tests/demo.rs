//! `mediajobs demo` end to end: the real binary, no keys, no environment, the simulator
//! in-process. Every provider's jobs must end at their true terminal state (the demo checks
//! them against `GET /_sim/stats`, and this test checks the demo's items again), the documented
//! failures must show, the results must be on disk, and the exit code must be 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs `mediajobs demo --json --out <out> <extra…>` with a clean environment.
fn demo(out: &Path, extra: &[&str]) -> (i32, Value, String) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_mediajobs"))
        .args(["demo", "--json", "--out"])
        .arg(out)
        .args(extra)
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("no output; stderr:\n{stderr}"));
    let summary: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {last}\nstderr:\n{stderr}"));
    assert!(
        elapsed < Duration::from_secs(60),
        "the demo took {elapsed:?}"
    );
    (output.status.code().unwrap_or(-1), summary, stderr)
}

#[test]
fn the_demo_ends_every_job_at_its_true_terminal_state() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let (code, s, stderr) = demo(&out, &["--speed", "600"]);
    assert_eq!(code, 0, "summary {s}\nstderr:\n{stderr}");
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(
        s["ground_truth"]["mismatches"].as_array().unwrap().len(),
        0,
        "{s}"
    );
    assert_eq!(s["jobs"], 30);
    assert_eq!(s["ground_truth"]["at_true_state"], 30);
    for p in ["vibepeak", "videogen", "vidiking"] {
        let row = &s["providers"][p];
        assert_eq!(row["jobs"], 10, "{p}: {row}");
        assert_eq!(row["at_true_state"], 10, "{p}: {row}");
        assert_eq!(row["open"], 0, "{p}: {row}");
        assert_eq!(row["uncertain"], 0, "{p}: {row}");
        assert!(row["succeeded"].as_u64().unwrap() > 0, "{p}: {row}");
        assert!(row["files"].as_u64().unwrap() > 0, "{p}: {row}");
        // Fewer calls than the documented loops, with webhooks doing the waiting.
        let calls = row["api_calls"].as_u64().unwrap();
        for (label, naive) in row["naive_api_calls"].as_object().unwrap() {
            assert!(calls < naive.as_u64().unwrap(), "{p} {label}: {row}");
        }
        assert!(
            row["webhooks_delivered"].as_u64().unwrap() > 0,
            "{p}: {row}"
        );
    }
    // The documented failures.
    assert!(
        s["providers"]["vibepeak"]["failed_by_code"]["IMAGE_PROCESSING_FAILED"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{s}"
    );
    assert!(s["providers"]["vidiking"]["failed"].as_u64().unwrap() >= 1);

    // Each item again: the journal's raw status is the sim's, results are on disk.
    let items = s["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    let mut bytes = 0;
    for item in items {
        let truth = item["true_status"]
            .as_str()
            .unwrap_or_else(|| panic!("{item}"));
        let raw = item["raw_status"]
            .as_str()
            .unwrap_or_else(|| panic!("{item}"));
        assert!(raw.eq_ignore_ascii_case(truth), "{item}");
        let files = item["files"].as_array().unwrap();
        match item["status"].as_str().unwrap() {
            "succeeded" => {
                assert!(!files.is_empty(), "{item}");
                for f in files {
                    let path = Path::new(f.as_str().unwrap());
                    assert!(path.starts_with(&out), "{item}");
                    let len = std::fs::metadata(path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                        .len();
                    assert!(len > 0, "{item}");
                    bytes += len;
                }
            }
            "failed" => assert!(files.is_empty(), "{item}"),
            other => panic!("not terminal: {other} {item}"),
        }
        if item["key"].as_str().unwrap().contains("missing-asset")
            || item["key"]
                .as_str()
                .unwrap()
                .contains("image-processing-failed")
        {
            assert_eq!(item["status"], "failed", "{item}");
        }
    }
    assert_eq!(s["downloaded_bytes"].as_u64().unwrap(), bytes);
    assert!(out.join("demo-journal.sqlite").is_file());

    // Again in the same folder: the previous demo's journal is replaced, not resumed.
    let (code, s, stderr) = demo(&out, &["--speed", "600", "--jobs", "6"]);
    assert_eq!(code, 0, "summary {s}\nstderr:\n{stderr}");
    assert_eq!(s["jobs"], 6, "{s}");
    assert_eq!(s["ground_truth"]["at_true_state"], 6, "{s}");
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mediajobs"))
        .args(["demo", "--jobs", "0", "--out"])
        .arg(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--jobs"), "{stderr}");
}
