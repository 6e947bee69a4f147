//! Project automation, in plain Rust: `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks (fmt, clippy, codegen --check, layering, tests).
//! - `codegen [--check]`: writes the Rust (and doc tables) generated from `crates/*/spec/*.toml`.
//! - `layering`: fails on any dependency edge between our crates that DESIGN.md does not allow.
//! - `bench`: runs the benchmarks and writes their JSON under `target/bench/`.

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
        Some("bench") => bench::run(&root, &args[1..]),
        _ => Err(
            "usage: cargo xtask <ci | codegen [--check] | layering | bench [--quick]>".to_string(),
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
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest)
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub(crate) fn run_cmd(root: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
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
    run_cmd(
        root,
        "cargo",
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
    )?;
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
