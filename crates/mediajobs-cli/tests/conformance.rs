//! The outsider's check of the simulator (issue 12, "Done when"): runs
//! `scripts/sim_conformance.py`, a Python-standard-library client that knows only
//! `specs/PROVIDERS.md` and the simulator contract of `DESIGN.md`, against the `mediajobs` binary
//! of this build (`mediajobs sim --addr 127.0.0.1:0 --speed 600`). It submits, polls, cancels,
//! lists, hydrates, downloads and receives signed webhooks on all three providers and checks every
//! documented field; any `FAIL` line makes it exit non-zero and fails this test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

#[test]
fn simulator_conforms_to_providers_md() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("scripts/sim_conformance.py");
    assert!(script.is_file(), "missing {}", script.display());
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_mediajobs"))
        .current_dir(&root)
        .output()
        .expect("python3 runs (the machine image ships CPython 3.11)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.lines().last().unwrap_or("").to_owned();
    if !out.status.success() {
        let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
        panic!(
            "sim_conformance.py exited with {} after {:.1?}: {summary}\n\
             --- failed checks ---\n{}\n--- full output ---\n{stdout}\n--- stderr ---\n{stderr}",
            out.status,
            started.elapsed(),
            failures.join("\n"),
        );
    }
    assert!(
        summary.ends_with(" 0 failed"),
        "unexpected summary line: {summary:?}\n{stdout}"
    );
    eprintln!("sim_conformance.py: {summary} in {:.1?}", started.elapsed());
}
