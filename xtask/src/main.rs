//! Project automation, in plain Rust: `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks (fmt, clippy, codegen --check, layering, deny, features, docs,
//!   tests).
//! - `codegen [--check]`: writes the Rust (and doc tables) generated from `crates/*/spec/*.toml`.
//! - `layering`: fails on any dependency edge between our crates that DESIGN.md does not allow.
//! - `features`: checks the facade with each of its features alone, and with none.
//! - `deny`: `cargo deny` (licenses, bans, sources, advisories) when installed; see
//!   docs/supply-chain.md.
//! - `bench`: runs the benchmarks and writes their JSON under `target/bench/`.
//! - `soak [JOBS]`: the fault soak (crates/mediajobs-cli/tests/soak.rs) in release, 10,000 jobs
//!   by default; its figures go to `target/soak/figures.json` (see docs/reliability.md).

mod bench;
mod codegen;
mod layering;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("codegen") => codegen::run(&root, args.iter().any(|a| a == "--check")),
        Some("layering") => layering::run(&root),
        Some("deny") => deny(&root),
        Some("features") => features(&root),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("soak") => soak(&root, args.get(1).map(String::as_str)),
        _ => Err(
            "usage: cargo xtask <ci | codegen [--check] | layering | features | deny | bench [--quick] | soak [JOBS]>"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub(crate) fn run_cmd(root: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    run_cmd_env(root, &[], program, args)
}

/// [`run_cmd`] with environment variables set for the command.
pub(crate) fn run_cmd_env(
    root: &Path,
    env: &[(&str, &str)],
    program: &str,
    args: &[&str],
) -> Result<(), String> {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
    eprintln!("xtask: $ {}{program} {}", shown.concat(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// The fault soak in release with `jobs` jobs (default 10,000); figures in
/// `target/soak/figures.json`.
fn soak(root: &Path, jobs: Option<&str>) -> Result<(), String> {
    let jobs = jobs.unwrap_or("10000");
    if jobs.parse::<u32>().map_or(true, |n| n == 0) {
        return Err(format!(
            "soak: JOBS must be a positive number, not {jobs:?}"
        ));
    }
    let dir = root.join("target").join("soak");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let report = dir.join("figures.json");
    eprintln!(
        "xtask: soak with {jobs} jobs; figures to {}",
        report.display()
    );
    let status = Command::new("cargo")
        .args([
            "test",
            "--release",
            "-p",
            "mediajobs-cli",
            "--test",
            "soak",
            "--",
            "--nocapture",
        ])
        .env("MEDIAJOBS_SOAK_JOBS", jobs)
        .env("MEDIAJOBS_SOAK_REPORT", &report)
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the soak failed ({status}); its figures: {}",
            report.display()
        ))
    }
}

fn has_nextest(root: &Path) -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .current_dir(root)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ci(root: &Path) -> Result<(), String> {
    run_cmd(root, "cargo", &["fmt", "--all", "--", "--check"])?;
    codegen::run(root, true)?;
    layering::run(root)?;
    deny(root)?;
    run_cmd(
        root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    features(root)?;
    docs(root)?;
    if has_nextest(root) {
        run_cmd(
            root,
            "cargo",
            &["nextest", "run", "--workspace", "--no-fail-fast"],
        )?;
        run_cmd(root, "cargo", &["test", "--workspace", "--doc"])?;
    } else {
        run_cmd(root, "cargo", &["test", "--workspace", "--no-fail-fast"])?;
    }
    eprintln!("xtask: ci passed");
    Ok(())
}

/// The API docs of every crate, with rustdoc's warnings (broken intra-doc links, bad code
/// blocks) as errors: `#![deny(missing_docs)]` says each item has a doc, this that the docs
/// render.
fn docs(root: &Path) -> Result<(), String> {
    run_cmd_env(
        root,
        &[("RUSTDOCFLAGS", "-D warnings")],
        "cargo",
        &["doc", "--workspace", "--no-deps", "--quiet"],
    )
}

/// The facade's features one at a time (and none): a user who asks for one provider gets a
/// crate that builds with that provider alone, which `--workspace` builds (all features
/// unified) never show.
fn features(root: &Path) -> Result<(), String> {
    for features in [
        "", "vibepeak", "videogen", "vidiking", "webhooks", "journal", "sim",
    ] {
        run_cmd(
            root,
            "cargo",
            &[
                "check",
                "--quiet",
                "-p",
                "mediajobs",
                "--no-default-features",
                "--features",
                features,
            ],
        )?;
    }
    Ok(())
}

/// `cargo deny` with the workspace's deny.toml, if cargo-deny is installed (else skipped, saying
/// so). Licenses, bans and sources need nothing beyond crates.io and always run. Advisories need
/// the RustSec database, which cargo-deny clones from GitHub: checked against a fresh copy when
/// it can be fetched, else against a local copy (offline), else skipped with the reason. Only a
/// finding fails this step, never the network.
fn deny(root: &Path) -> Result<(), String> {
    let installed = Command::new("cargo")
        .args(["deny", "--version"])
        .current_dir(root)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !installed {
        eprintln!(
            "xtask: deny skipped: cargo-deny not installed (cargo install cargo-deny --locked)"
        );
        return Ok(());
    }
    let check = ["deny", "check", "--hide-inclusion-graph", "--show-stats"];
    run_cmd(
        root,
        "cargo",
        &[&check[..], &["licenses", "bans", "sources"]].concat(),
    )
    .map_err(|e| format!("{e}; `cargo deny check bans` shows who pulls each crate in"))?;
    let offline_advisories = ["deny", "--offline", "check", "--show-stats", "advisories"];
    eprintln!("xtask: $ cargo deny fetch db");
    let fetch = Command::new("cargo")
        .args(["deny", "fetch", "db"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not start cargo deny fetch: {e}"))?;
    if fetch.status.success() {
        return run_cmd(root, "cargo", &offline_advisories);
    }
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    let why = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output");
    eprintln!(
        "xtask: deny: the advisory database could not be fetched ({})",
        why.trim()
    );
    let dbs = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("advisory-dbs");
    let local = std::fs::read_dir(&dbs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.join(".git").exists()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("advisory-db-"))
        });
    let Some(local) = local else {
        eprintln!(
            "xtask: deny: advisories SKIPPED: no local advisory database under {} either \
             (licenses, bans and sources were checked; run `cargo deny check advisories` \
             where GitHub is reachable)",
            dbs.display()
        );
        return Ok(());
    };
    // cargo-deny's own staleness guard dates the copy by its last fetch attempt (even a failed
    // one), so say how old its content is.
    let newest = Command::new("git")
        .args(["log", "-1", "--format=%cs, %cr"])
        .current_dir(&local)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    eprintln!(
        "xtask: deny: checking advisories offline against the local copy {} (newest commit: {})",
        local.display(),
        newest
    );
    eprintln!("xtask: $ cargo {}", offline_advisories.join(" "));
    let out = Command::new("cargo")
        .args(offline_advisories)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not start cargo deny: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if out.status.success() {
        Ok(())
    } else if stderr.contains("repository is stale") {
        eprintln!(
            "xtask: deny: advisories SKIPPED: the local advisory database is older than \
             cargo-deny's maximum-db-staleness and cannot be refreshed without GitHub"
        );
        Ok(())
    } else {
        Err(format!(
            "`cargo {}` failed ({})",
            offline_advisories.join(" "),
            out.status
        ))
    }
}
