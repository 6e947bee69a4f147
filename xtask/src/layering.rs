//! The crate layering of DESIGN.md, enforced from `cargo metadata`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Which of our crates each crate may depend on (normal and build dependencies), exactly the
/// table in DESIGN.md.
const ALLOWED: &[(&str, &[&str])] = &[
    ("mediajobs-core", &[]),
    ("mediajobs-transport", &["mediajobs-core"]),
    (
        "mediajobs-vibepeak",
        &["mediajobs-core", "mediajobs-transport"],
    ),
    (
        "mediajobs-videogen",
        &["mediajobs-core", "mediajobs-transport"],
    ),
    (
        "mediajobs-vidiking",
        &["mediajobs-core", "mediajobs-transport"],
    ),
    ("mediajobs-scheduler", &["mediajobs-core"]),
    ("mediajobs-webhooks", &["mediajobs-core"]),
    ("mediajobs-journal", &["mediajobs-core"]),
    ("mediajobs-sim", &[]),
    (
        "mediajobs",
        &[
            "mediajobs-core",
            "mediajobs-transport",
            "mediajobs-vibepeak",
            "mediajobs-videogen",
            "mediajobs-vidiking",
            "mediajobs-scheduler",
            "mediajobs-webhooks",
            "mediajobs-journal",
            "mediajobs-sim",
        ],
    ),
    ("mediajobs-cli", &["mediajobs"]),
    ("xtask", &[]),
];

/// Test-only (dev) dependencies may also reach the simulator, which is every integration
/// test's provider, and the adapters (for their webhook verifiers and clients in tests). The
/// simulator itself never depends on an adapter, not even in tests: it must not share their
/// wire types.
const DEV_EXTRA: &[&str] = &[
    "mediajobs-sim",
    "mediajobs-transport",
    "mediajobs-vibepeak",
    "mediajobs-videogen",
    "mediajobs-vidiking",
];

pub fn run(root: &Path) -> Result<(), String> {
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let violations = check(&metadata);
    if violations.is_empty() {
        eprintln!("xtask: layering ok");
        Ok(())
    } else {
        Err(format!(
            "layering violations (see the crate table in DESIGN.md):\n  {}",
            violations.join("\n  ")
        ))
    }
}

/// Every forbidden edge between workspace crates, as a message naming it.
pub fn check(metadata: &Value) -> Vec<String> {
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let ours: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    let mut violations = Vec::new();
    for p in &packages {
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            violations.push(format!(
                "{name}: not in the layering table; add it to DESIGN.md and xtask/src/layering.rs"
            ));
            continue;
        };
        for dep in p["dependencies"].as_array().into_iter().flatten() {
            let Some(dep_name) = dep["name"].as_str() else {
                continue;
            };
            if !ours.contains(dep_name) || dep_name == name {
                continue;
            }
            let kind = dep["kind"].as_str().unwrap_or("normal");
            let ok = allowed.contains(&dep_name)
                || (kind == "dev" && name != "mediajobs-sim" && DEV_EXTRA.contains(&dep_name));
            if !ok {
                violations.push(format!(
                    "{name} -> {dep_name} ({kind} dependency) is not allowed"
                ));
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(edges: &[(&str, &str, &str)]) -> Value {
        let names: BTreeSet<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
        let packages: Vec<Value> = names
            .iter()
            .map(|n| {
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(from, _, _)| from == n)
                    .map(|(_, to, kind)| {
                        let kind = if *kind == "normal" {
                            Value::Null
                        } else {
                            Value::from(*kind)
                        };
                        serde_json::json!({"name": to, "kind": kind})
                    })
                    .collect();
                serde_json::json!({"name": n, "dependencies": deps})
            })
            .collect();
        serde_json::json!({ "packages": packages })
    }

    #[test]
    fn the_designed_edges_pass() {
        let edges: Vec<(&str, &str, &str)> = ALLOWED
            .iter()
            .flat_map(|(from, tos)| tos.iter().map(move |to| (*from, *to, "normal")))
            .collect();
        assert_eq!(check(&metadata(&edges)), Vec::<String>::new());
    }

    #[test]
    fn scheduler_to_transport_is_named() {
        let v = check(&metadata(&[
            ("mediajobs-scheduler", "mediajobs-core", "normal"),
            ("mediajobs-scheduler", "mediajobs-transport", "normal"),
        ]));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].contains("mediajobs-scheduler -> mediajobs-transport"),
            "{v:?}"
        );
    }

    #[test]
    fn sim_may_not_reach_an_adapter_even_in_tests() {
        let v = check(&metadata(&[("mediajobs-sim", "mediajobs-videogen", "dev")]));
        assert!(
            v[0].contains("mediajobs-sim -> mediajobs-videogen (dev"),
            "{v:?}"
        );
        // Other crates' tests may use the sim.
        assert!(check(&metadata(&[("mediajobs-videogen", "mediajobs-sim", "dev")])).is_empty());
        // But not as a normal dependency.
        assert_eq!(
            check(&metadata(&[(
                "mediajobs-videogen",
                "mediajobs-sim",
                "normal"
            )]))
            .len(),
            1
        );
    }

    #[test]
    fn a_crate_missing_from_the_table_fails() {
        let mut m = metadata(&[]);
        m["packages"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "mediajobs-extra", "dependencies": []}));
        assert!(check(&m)[0].contains("mediajobs-extra: not in the layering table"));
    }
}
