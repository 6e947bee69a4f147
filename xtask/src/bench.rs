//! `cargo xtask bench`: runs every benchmark target and keeps its JSON line under
//! `target/bench/`.

use std::path::Path;
use std::process::Command;

/// Benchmarks: (package, bench target). Each prints one JSON object on its last stdout line.
const BENCHES: &[(&str, &str)] = &[("mediajobs-sim", "sim_load"), ("mediajobs", "fleet")];

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
    let quick = args.iter().any(|a| a == "--quick");
    for (package, bench) in BENCHES {
        let manifest = root
            .join("crates")
            .join(package)
            .join("benches")
            .join(format!("{bench}.rs"));
        if !manifest.exists() {
            eprintln!("xtask: skipping {package}/{bench}: not written yet");
            continue;
        }
        eprintln!("xtask: $ cargo bench -p {package} --bench {bench}");
        let mut cmd = Command::new("cargo");
        cmd.args(["bench", "-p", package, "--bench", bench])
            .current_dir(root);
        if quick {
            cmd.env("MEDIAJOBS_BENCH_QUICK", "1");
        }
        let out = cmd
            .output()
            .map_err(|e| format!("could not run cargo bench: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "bench {package}/{bench} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| format!("bench {package}/{bench} printed no JSON line"))?;
        let _: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("bench {package}/{bench}: bad JSON: {e}"))?;
        let path = out_dir.join(format!("{bench}.json"));
        std::fs::write(&path, line).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("{bench}: {line}");
    }
    Ok(())
}
