//! The `mediajobs` binary, end to end: every verb runs as a real process against a real
//! `mediajobs sim` child (speed 600 unless a test says why not), configured only through the
//! environment the sim's readiness line implies. Judged by what a user relies on: exit codes,
//! `--json` shapes (DESIGN.md, "Contracts the outside relies on"), messages that say what to
//! do, files on disk, and the sim's ground truth (`/_sim/stats`) for what was really sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cli_support::{
    Server, Sim, batch_line, body_sha256, hmac_hex, http, vibepeak_failing_request,
    vibepeak_request, vidiking_missing_asset_request, vidiking_request, write,
};
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The sim's tasks by id: (status in the provider's words, body_sha256).
fn sim_tasks(sim: &Sim) -> BTreeMap<String, (String, String)> {
    sim.stats()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                (
                    t["status"].as_str().unwrap().to_string(),
                    t["body_sha256"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// The sim's VideoGen webhook endpoints, as `GET /v1/webhooks/endpoints` lists them.
fn videogen_endpoints(sim: &Sim) -> String {
    let (status, body) = http(
        "GET",
        &format!("{}/v1/webhooks/endpoints", sim.field("/videogen")),
        &[(
            "authorization",
            format!("Bearer {}", sim.api_key("videogen")),
        )],
        b"",
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {v}"))
}

/// A 127.0.0.1 URL where nothing listens (a port just bound, then released).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn the_sim_readiness_line_is_the_contract() {
    let sim = Sim::start();
    let r = &sim.ready;
    let fields: BTreeSet<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "vibepeak",
            "videogen",
            "vidiking",
            "admin",
            "speed",
            "api_keys",
            "webhook_secrets"
        ])
    );
    let admin = sim.admin();
    let root = admin.strip_suffix("/_sim").unwrap();
    assert!(root.starts_with("http://127.0.0.1:"), "{r}");
    for p in ["vibepeak", "videogen", "vidiking"] {
        assert_eq!(sim.field(p), format!("{root}/{p}"));
        assert!(!sim.api_key(p).is_empty());
    }
    assert!(sim.api_key("vibepeak").starts_with("vpk_test_"), "{r}");
    assert_eq!(r["speed"], 600.0);
    let secrets: BTreeSet<&str> = r["webhook_secrets"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(secrets, BTreeSet::from(["vibepeak", "vidiking"]));
    // The sim's clock runs 600 times as fast as ours.
    let (a, t) = (sim.now_unix(), std::time::Instant::now());
    let mut b = sim.now_unix();
    while t.elapsed() < std::time::Duration::from_millis(200) {
        b = sim.now_unix();
    }
    let rate = (b - a) / t.elapsed().as_secs_f64();
    assert!(
        (300.0..1200.0).contains(&rate),
        "sim seconds per real second: {rate}"
    );
}

#[test]
fn submit_reads_the_request_from_a_file_from_stdin_and_from_set_flags() {
    let sim = Sim::start();
    let dir = tempdir();

    // From a file.
    let from_file = json!({"prompt": "a house by the sea", "numResults": 1});
    let file = write(dir.path(), "image.json", &from_file.to_string());
    let r = sim.run(&[
        "submit",
        "videogen",
        "--tool",
        "generate-image",
        &file,
        "--json",
    ]);
    r.expect_code(0);
    let a = r.json();
    assert_eq!(a["provider"], "videogen");
    assert!(str_of(&a, "id").starts_with("vg_exec_"), "{a}");
    assert_eq!(a["status"], "queued", "{a}");
    assert_eq!(a["tool"], "GENERATE_IMAGE", "{a}");

    // From stdin.
    let from_stdin = json!({"prompt": "a cabin in the snow"});
    let r = sim.run_stdin(
        &[
            "submit",
            "videogen",
            "--tool",
            "generate-image",
            "-",
            "--json",
        ],
        &from_stdin.to_string(),
    );
    r.expect_code(0);
    let b = r.json();
    assert!(str_of(&b, "id").starts_with("vg_exec_"), "{b}");
    assert_ne!(a["id"], b["id"]);

    // From --set flags only: dotted names nest, values are JSON when they parse.
    let r = sim.run(&[
        "submit",
        "vidiking",
        "--set",
        r#"timeline.tracks=[{"clips":[{"asset":{"type":"title","text":"Open house"},"start":0,"length":5}]}]"#,
        "--set",
        "output.format=mp4",
        "--set",
        "output.resolution=hd",
        "--json",
    ]);
    r.expect_code(0);
    let c = r.json();
    assert_eq!(c["provider"], "vidiking");
    assert!(str_of(&c, "id").starts_with("job_"), "{c}");
    assert_eq!(c["raw_status"], "QUEUED", "{c}");

    // --set on top of a file overrides and adds fields.
    let r = sim.run(&[
        "submit",
        "videogen",
        "--tool",
        "generate-image",
        &file,
        "--set",
        "prompt=a lighthouse",
        "--set",
        "numResults=2",
    ]);
    r.expect_code(0);
    // Without --json: one human line naming the job.
    assert!(r.stdout.starts_with("videogen:vg_exec_"), "{}", r.stdout);
    assert!(r.stdout.contains("queued"), "{}", r.stdout);

    // The sim received exactly these bodies, once each.
    let tasks = sim_tasks(&sim);
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    let image = "/v1/tools/generate-image";
    let expected = [
        (str_of(&a, "id"), body_sha256("POST", image, &from_file)),
        (str_of(&b, "id"), body_sha256("POST", image, &from_stdin)),
        (
            str_of(&c, "id"),
            body_sha256("POST", "/v1/render", &vidiking_request("Open house", 5)),
        ),
    ];
    for (id, sha) in expected {
        assert_eq!(tasks[id].1, sha, "{id}: the body sent is not the one given");
    }
    let overridden = body_sha256(
        "POST",
        image,
        &json!({"prompt": "a lighthouse", "numResults": 2}),
    );
    assert!(
        tasks.values().any(|(_, sha)| *sha == overridden),
        "--set did not override the file's fields"
    );
}

#[test]
fn submit_wait_status_and_wait_with_download() {
    let sim = Sim::start();
    let dir = tempdir();
    let file = write(
        dir.path(),
        "slideshow.json",
        &vibepeak_request("wait").to_string(),
    );

    // submit --wait: the job's final snapshot, exit 0 when it succeeded.
    let r = sim.run(&["submit", "vibepeak", &file, "--wait", "--json"]);
    r.expect_code(0);
    let done = r.json();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["raw_status"], "completed", "{done}");
    let outputs = done["outputs"].as_array().unwrap();
    let mimes: BTreeSet<&str> = outputs
        .iter()
        .map(|o| o["mime_type"].as_str().unwrap())
        .collect();
    assert_eq!(mimes, BTreeSet::from(["image/png", "video/mp4"]), "{done}");
    let id = str_of(&done, "id").to_string();

    // status: one read, the same truth.
    let r = sim.run(&["status", "vibepeak", &id, "--json"]);
    r.expect_code(0);
    let s = r.json();
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["status"], "succeeded");
    assert_eq!(sim_tasks(&sim)[&id].0, "completed");
    let r = sim.run(&["status", "vibepeak", &id]);
    r.expect_code(0);
    assert!(
        r.stdout
            .contains(&format!("vibepeak:{id} succeeded (completed)")),
        "{}",
        r.stdout
    );

    // An id the provider does not know is an input error; a wait that runs out of time is
    // a job that could not be settled.
    let r = sim.run(&["status", "vibepeak", "task_ffffffffffffffff"]);
    r.expect_code(2);
    assert!(r.stderr.contains("404"), "{}", r.stderr);
    let r = sim.run(&["wait", "vidiking", "job_ffffffffffffffff"]);
    r.expect_code(2);
    let r = sim.run(&["submit", "vibepeak", &file, "--json"]);
    r.expect_code(0);
    let slow = str_of(&r.json(), "id").to_string();
    let r = sim.run(&["wait", "vibepeak", &slow, "--timeout", "10"]);
    r.expect_code(1);
    assert!(r.stderr.contains("deadline passed"), "{}", r.stderr);

    // wait --download: the result lands on disk, as announced.
    let render = write(
        dir.path(),
        "render.json",
        &vidiking_request("Open house", 5).to_string(),
    );
    let r = sim.run(&["submit", "vidiking", &render, "--json"]);
    r.expect_code(0);
    let job = str_of(&r.json(), "id").to_string();
    let out = dir.path().join("results");
    let r = sim.run(&[
        "wait",
        "vidiking",
        &job,
        "--download",
        out.to_str().unwrap(),
        "--json",
    ]);
    r.expect_code(0);
    let w = r.json();
    assert_eq!(w["status"], "succeeded", "{w}");
    let size = w["outputs"][0]["size"].as_u64().unwrap();
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(&bytes[4..8], b"ftyp", "not an MP4");
    assert!(files[0].to_str().unwrap().contains(&job), "{files:?}");
    assert_eq!(sim.stats()["downloads"]["vidiking"], 1);
}

#[test]
fn documented_failures_exit_1_with_the_providers_code() {
    let sim = Sim::start();
    let dir = tempdir();
    let file = write(
        dir.path(),
        "fail.json",
        &vibepeak_failing_request("fail").to_string(),
    );
    let r = sim.run(&["submit", "vibepeak", &file, "--wait", "--json"]);
    r.expect_code(1);
    let s = r.json();
    assert_eq!(s["status"], "failed", "{s}");
    assert_eq!(s["error"]["code"], "IMAGE_PROCESSING_FAILED", "{s}");
    assert_eq!(sim_tasks(&sim)[str_of(&s, "id")].0, "failed");

    let missing = write(
        dir.path(),
        "missing.json",
        &vidiking_missing_asset_request().to_string(),
    );
    let r = sim.run(&["submit", "vidiking", &missing, "--json"]);
    r.expect_code(0);
    let id = str_of(&r.json(), "id").to_string();
    let r = sim.run(&["wait", "vidiking", &id]);
    r.expect_code(1);
    assert!(r.stdout.contains("failed"), "{}", r.stdout);
    assert!(r.stdout.contains("INVALID_ASSET"), "{}", r.stdout);
    assert!(r.stdout.contains("missing.invalid"), "{}", r.stdout);
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    // `mediajobs submit … | head -0`: stdout is a pipe nobody reads. The job is sent, the
    // command ends as it would have, and nothing panics.
    let sim = Sim::start();
    let dir = tempdir();
    let file = write(
        dir.path(),
        "render.json",
        &vidiking_request("closed stdout", 5).to_string(),
    );
    for args in [
        vec!["submit", "vidiking", file.as_str()],
        vec!["--json", "list", "vidiking"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = sim
            .cmd()
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(sim.task_count(), 1, "the submit was sent once");
}

#[test]
fn cancel_works_on_videogen_and_says_why_not_on_vibepeak() {
    // Speed 10: a one-minute video clip lasts at least 6 real seconds, so the cancel surely
    // reaches a running execution.
    let sim = Sim::start_with(&["--speed", "10"]);
    let r = sim.run(&[
        "submit",
        "videogen",
        "--tool",
        "generate-video-clip",
        "--set",
        "prompt=a drone shot over the bay",
        "--set",
        "durationSeconds=5",
        "--json",
    ]);
    r.expect_code(0);
    let id = str_of(&r.json(), "id").to_string();

    let r = sim.run(&["cancel", "videogen", &id, "--json"]);
    r.expect_code(0);
    assert_eq!(
        r.json(),
        json!({"provider": "videogen", "id": id, "cancel": "requested"})
    );
    let stats = sim.stats();
    assert_eq!(
        stats["providers"]["videogen"]["by_route"]["POST /v1/tools/executions/{toolExecutionId}/cancel"],
        1
    );
    assert_eq!(sim_tasks(&sim)[&id].0, "cancelled");
    let r = sim.run(&["status", "videogen", &id, "--json"]);
    r.expect_code(0);
    assert_eq!(r.json()["status"], "cancelled");
    // Waiting on a cancelled job is not a success.
    let r = sim.run(&["wait", "videogen", &id, "--json"]);
    r.expect_code(1);
    assert_eq!(r.json()["status"], "cancelled");

    // VibePeak has no cancel: a clear message, exit 2, nothing sent.
    let before = sim.stats()["providers"]["vibepeak"]["requests"].clone();
    let r = sim.run(&["cancel", "vibepeak", "task_0123456789abcdef"]);
    r.expect_code(2);
    assert!(r.stderr.contains("vibepeak has no cancel"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(sim.stats()["providers"]["vibepeak"]["requests"], before);
    // With --json the error is machine-readable too.
    let r = sim.run(&["cancel", "vibepeak", "task_0123456789abcdef", "--json"]);
    r.expect_code(2);
    let e = r.json();
    assert_eq!(e["exit_code"], 2);
    assert!(str_of(&e, "error").contains("no cancel"), "{e}");
}

#[test]
fn list_shows_videogen_and_vidiking_jobs_and_refuses_vibepeak() {
    let sim = Sim::start();
    let mut videogen = BTreeSet::new();
    for prompt in ["prompt=a red door", "prompt=a blue door"] {
        let r = sim.run(&[
            "submit",
            "videogen",
            "--tool",
            "generate-image",
            "--set",
            prompt,
            "--json",
        ]);
        r.expect_code(0);
        videogen.insert(str_of(&r.json(), "id").to_string());
    }
    let r = sim.run(&["submit", "vidiking", "-", "--json"]);
    r.expect_code(2); // empty stdin is not a request
    let r = sim.run_stdin(
        &["submit", "vidiking", "-", "--json"],
        &vidiking_request("Listing", 5).to_string(),
    );
    r.expect_code(0);
    let vidiking = str_of(&r.json(), "id").to_string();

    let r = sim.run(&["list", "videogen", "--json"]);
    r.expect_code(0);
    let page = r.json();
    let items = page["items"].as_array().unwrap();
    let ids: BTreeSet<String> = items.iter().map(|i| str_of(i, "id").to_string()).collect();
    assert_eq!(ids, videogen, "{page}");
    for i in items {
        assert_eq!(i["provider"], "videogen");
        assert!(
            i["status"].is_string() && i["raw_status"].is_string(),
            "{i}"
        );
    }
    assert!(page.get("next_cursor").is_some(), "{page}");
    let r = sim.run(&["list", "videogen", "--limit", "1", "--json"]);
    r.expect_code(0);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    // --status filters in the provider's words; none of these has failed.
    let r = sim.run(&["list", "videogen", "--status", "failed", "--json"]);
    r.expect_code(0);
    assert_eq!(r.json()["items"], json!([]));

    let r = sim.run(&["list", "vidiking", "--json"]);
    r.expect_code(0);
    let page = r.json();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [vidiking.as_str()], "{page}");
    // Human output: one line per job.
    let r = sim.run(&["list", "vidiking"]);
    r.expect_code(0);
    assert!(
        r.stdout.contains(&format!("vidiking:{vidiking}")),
        "{}",
        r.stdout
    );

    let r = sim.run(&["list", "vibepeak"]);
    r.expect_code(2);
    assert!(r.stderr.contains("vibepeak has no list"), "{}", r.stderr);
    assert_eq!(sim.stats()["providers"]["vibepeak"]["requests"], 0);
}

/// The mixed batch of `run`: two of each outcome, a malformed line 3.
fn mixed_batch(dir: &Path) -> String {
    let lines = [
        batch_line("vibepeak", None, "vp-ok", &vibepeak_request("ok")),
        batch_line(
            "videogen",
            Some("generate-image"),
            "vg-img",
            &json!({"prompt": "a house"}),
        ),
        "this is not json".to_string(),
        batch_line(
            "vidiking",
            None,
            "vk-ok",
            &vidiking_request("Open house", 5),
        ),
        batch_line(
            "vidiking",
            None,
            "vk-missing",
            &vidiking_missing_asset_request(),
        ),
        batch_line(
            "vibepeak",
            None,
            "vp-fail",
            &vibepeak_failing_request("fail"),
        ),
    ];
    write(dir, "batch.jsonl", &(lines.join("\n") + "\n"))
}

#[test]
fn run_a_mixed_batch_then_rerun_it_then_read_the_journal() {
    let sim = Sim::start();
    let dir = tempdir();
    let batch = mixed_batch(dir.path());
    let journal = dir.path().join("jobs.db");
    let journal = journal.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();

    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        journal,
        "--download",
        out,
        "--json",
    ]);
    // A job failed: exit 1; the malformed line is reported with its number and skipped.
    r.expect_code(1);
    assert!(
        r.stderr.contains("line 3: not JSON"),
        "the malformed line is not reported:\n{}",
        r.stderr
    );
    let s = r.json();
    for (field, want) in [
        ("jobs", 5),
        ("succeeded", 3),
        ("failed", 2),
        ("cancelled", 0),
        ("uncertain", 0),
        ("malformed_lines", 1),
    ] {
        assert_eq!(s[field], want, "{field} in {s}");
    }
    assert_eq!(
        s["failed_by_code"],
        json!({"IMAGE_PROCESSING_FAILED": 1, "INVALID_ASSET": 1}),
        "{s}"
    );
    let api_calls = s["api_calls"].as_u64().unwrap();
    assert!(api_calls >= 5, "{s}");
    let files = [
        "vibepeak/vp-ok.mp4",
        "vibepeak/vp-ok-1.png",
        "videogen/vg-img.png",
        "vidiking/vk-ok.mp4",
    ];
    let mut on_disk = 0;
    for f in files {
        let path = Path::new(out).join(f);
        on_disk += std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
    }
    assert_eq!(s["downloaded_bytes"], on_disk, "{s}");

    // Ground truth: 5 tasks, each once, in the state the summary claims.
    let tasks = sim_tasks(&sim);
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    let mut truth: BTreeMap<&str, usize> = BTreeMap::new();
    for (status, _) in tasks.values() {
        *truth.entry(status.as_str()).or_default() += 1;
    }
    assert_eq!(
        truth,
        BTreeMap::from([
            ("COMPLETE", 1),
            ("FAILED", 1),
            ("completed", 1),
            ("failed", 1),
            ("succeeded", 1)
        ])
    );
    let requests = sim.requests();

    // The same batch with the same journal: nothing submitted again, nothing asked.
    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        journal,
        "--download",
        out,
        "--json",
    ]);
    r.expect_code(1);
    let again = r.json();
    assert_eq!(again["api_calls"], 0, "{again}");
    assert_eq!(again["jobs"], 5, "{again}");
    assert_eq!(sim.task_count(), 5);
    assert_eq!(sim.requests(), requests);

    // resume with nothing left to do: no call, the same verdict.
    let r = sim.run(&["resume", "--journal", journal, "--json"]);
    r.expect_code(1);
    assert_eq!(r.json()["api_calls"], 0);
    assert_eq!(sim.requests(), requests);

    // status --journal --json: the contract's fields, the journal's totals.
    let r = sim.run(&["status", "--journal", journal, "--json"]);
    r.expect_code(0);
    let report = r.json();
    for (field, want) in [
        ("jobs", json!(5)),
        ("succeeded", json!(3)),
        ("failed", json!(2)),
        ("cancelled", json!(0)),
        ("uncertain", json!(0)),
        ("api_calls", json!(api_calls)),
        ("downloaded_bytes", json!(on_disk)),
    ] {
        assert_eq!(report[field], want, "{field} in {report}");
    }
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let contract: BTreeSet<&str> = [
        "key",
        "provider",
        "id",
        "status",
        "raw_status",
        "submitted_at",
        "terminal_seen_at",
        "files",
    ]
    .into();
    let mut by_key = BTreeMap::new();
    for item in items {
        let fields: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert!(fields.is_superset(&contract), "missing fields in {item}");
        let id = str_of(item, "id");
        assert_eq!(
            tasks[id].0,
            str_of(item, "raw_status"),
            "raw_status is the provider's word: {item}"
        );
        chrono::DateTime::parse_from_rfc3339(str_of(item, "submitted_at")).unwrap();
        let seen = str_of(item, "terminal_seen_at");
        chrono::DateTime::parse_from_rfc3339(seen).unwrap();
        let frac = seen.split('.').nth(1).unwrap_or_default();
        assert!(
            frac.len() >= 4 && frac[..3].bytes().all(|b| b.is_ascii_digit()),
            "terminal_seen_at has no milliseconds: {seen}"
        );
        for f in item["files"].as_array().unwrap() {
            assert!(Path::new(f.as_str().unwrap()).is_file(), "{item}");
        }
        by_key.insert(str_of(item, "key").to_string(), item.clone());
    }
    for (key, provider, status, files) in [
        ("vp-ok", "vibepeak", "succeeded", 2),
        ("vp-fail", "vibepeak", "failed", 0),
        ("vg-img", "videogen", "succeeded", 1),
        ("vk-ok", "vidiking", "succeeded", 1),
        ("vk-missing", "vidiking", "failed", 0),
    ] {
        let item = &by_key[key];
        assert_eq!(item["provider"], provider, "{item}");
        assert_eq!(item["status"], status, "{item}");
        assert_eq!(item["files"].as_array().unwrap().len(), files, "{item}");
    }

    // Without --json: a summary line and one line per job.
    let r = sim.run(&["status", "--journal", journal]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("jobs 5, succeeded 3, failed 2"),
        "{}",
        r.stdout
    );
    for key in ["vp-ok", "vp-fail", "vg-img", "vk-ok", "vk-missing"] {
        assert!(r.stdout.contains(key), "{key} missing from\n{}", r.stdout);
    }
}

#[test]
fn run_strict_refuses_a_malformed_batch_and_submits_nothing() {
    let sim = Sim::start();
    let dir = tempdir();
    let batch = mixed_batch(dir.path());
    let journal = dir.path().join("strict.db");
    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        journal.to_str().unwrap(),
        "--strict",
    ]);
    r.expect_code(2);
    assert!(r.stderr.contains("line 3"), "{}", r.stderr);
    assert!(r.stderr.contains("--strict"), "{}", r.stderr);
    assert_eq!(sim.task_count(), 0);
    assert_eq!(sim.requests(), 0);

    // Well-formed lines whose requests the provider would refuse (an unknown VideoGen tool,
    // five images where VibePeak wants six) are refused whole too: nothing sent, no journal.
    let mut five_images = vibepeak_request("five");
    five_images["images"] = json!(five_images["images"].as_array().unwrap()[..5]);
    let invalid = write(
        dir.path(),
        "invalid.jsonl",
        &[
            batch_line("vidiking", None, "vk-ok", &vidiking_request("Fine", 5)),
            batch_line(
                "videogen",
                Some("paint-a-mural"),
                "vg",
                &json!({"prompt": "x"}),
            ),
            batch_line("vibepeak", None, "vp", &five_images),
        ]
        .join("\n"),
    );
    let invalid_journal = dir.path().join("invalid.db");
    let r = sim.run(&[
        "run",
        &invalid,
        "--journal",
        invalid_journal.to_str().unwrap(),
        "--strict",
    ]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("line 2") && r.stderr.contains("paint-a-mural"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("line 3") && r.stderr.contains("images"),
        "{}",
        r.stderr
    );
    assert!(!invalid_journal.exists(), "no journal for a refused batch");
    assert_eq!(sim.task_count(), 0);
    assert_eq!(sim.requests(), 0);

    // A batch with only good lines runs under --strict; read from stdin.
    let good: String = std::fs::read_to_string(&batch)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"vk-ok\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = sim.run_stdin(
        &[
            "run",
            "-",
            "--journal",
            journal.to_str().unwrap(),
            "--strict",
            "--json",
        ],
        &good,
    );
    r.expect_code(0);
    assert_eq!(r.json()["succeeded"], 1);
    assert_eq!(sim.task_count(), 1);
}

#[test]
fn a_job_is_settled_while_later_submits_still_wait_for_task_slots() {
    // Four VibePeak jobs on the Pro plan (3 in flight): the fourth submit waits minutes (sim)
    // for a slot. The Vidiking render, done in seconds, must be journaled as done long before
    // that, not after the last submit.
    let sim = Sim::start();
    let dir = tempdir();
    let mut lines = vec![batch_line(
        "vidiking",
        None,
        "vk",
        &vidiking_request("Quick", 5),
    )];
    for i in 0..4 {
        lines.push(batch_line(
            "vibepeak",
            None,
            &format!("vp-{i}"),
            &vibepeak_request(&format!("slot{i}")),
        ));
    }
    let batch = write(dir.path(), "slots.jsonl", &lines.join("\n"));
    let journal = dir.path().join("slots.db");
    let journal = journal.to_str().unwrap();
    sim.run(&["run", &batch, "--journal", journal, "--json"])
        .expect_code(0);
    let report = sim.run(&["status", "--journal", journal, "--json"]).json();
    let item = |key: &str| {
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == key)
            .unwrap()
            .clone()
    };
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let render_seen = at(&item("vk")["terminal_seen_at"]);
    let last_submit = at(&item("vp-3")["submitted_at"]);
    assert!(
        render_seen < last_submit,
        "the render was journaled as done at {render_seen}, only after the last submit at {last_submit}"
    );
}

#[test]
fn a_failing_list_before_a_videogen_submit_is_tried_again() {
    // VideoGen records its list head before a submit (to find a lost answer later). Half the
    // lists fail here: each is tried again like a submit, and every job is sent.
    let sim = Sim::start_with(&[
        "--speed",
        "600",
        "--faults",
        "videogen:list:5xx=0.5",
        "--seed",
        "5",
    ]);
    let dir = tempdir();
    let lines: Vec<String> = (0..6)
        .map(|i| {
            batch_line(
                "videogen",
                Some("generate-image"),
                &format!("g{i}"),
                &json!({"prompt": format!("a lighthouse, take {i}")}),
            )
        })
        .collect();
    let batch = write(dir.path(), "vg.jsonl", &lines.join("\n"));
    let journal = dir.path().join("vg.db");
    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        journal.to_str().unwrap(),
        "--json",
    ]);
    let s = r.json();
    // The sim fails a few executions on its own: those are failed jobs, not unsent ones.
    assert_eq!(s["pending"], 0, "{s}");
    assert_eq!(
        s["succeeded"].as_u64().unwrap() + s["failed"].as_u64().unwrap(),
        6,
        "{s}"
    );
    assert!(
        sim.stats()["faults"]["videogen"]["list:5xx"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(sim.task_count(), 6);
}

#[test]
fn wait_rides_out_a_failing_provider_until_its_timeout() {
    // Every status read fails with 503: the provider is there, only busy. `wait` keeps asking
    // (with backoff) until its timeout, then says the deadline passed (exit 1); exit 3 is for a
    // provider that cannot be reached or refuses the key.
    let sim = Sim::start_with(&["--speed", "600", "--faults", "vidiking:status:5xx=1"]);
    let dir = tempdir();
    let file = write(
        dir.path(),
        "render.json",
        &vidiking_request("Busy", 5).to_string(),
    );
    let id = str_of(
        &sim.run(&["submit", "vidiking", &file, "--json"]).json(),
        "id",
    )
    .to_string();
    let r = sim.run(&["wait", "vidiking", &id, "--timeout", "60", "--json"]);
    r.expect_code(1);
    r.no_panic();
    assert!(r.all().contains("deadline"), "{}", r.all());
    let reads = sim.stats()["providers"]["vidiking"]["by_route"]["GET /v1/render/{id}"]
        .as_u64()
        .unwrap();
    assert!(reads > 1, "it kept asking: {reads} read(s)");
}

#[test]
fn an_endpoint_left_behind_by_a_killed_run_is_removed_by_the_next_invocation() {
    use std::io::BufRead;
    let sim = Sim::start();
    let dir = tempdir();
    let lines = [
        batch_line(
            "videogen",
            Some("generate-image"),
            "vg",
            &json!({"prompt": "a barn"}),
        ),
        batch_line("vibepeak", None, "vp", &vibepeak_request("killed")),
    ];
    let batch = write(dir.path(), "batch.jsonl", &lines.join("\n"));
    let journal = dir.path().join("killed.db");
    let journal = journal.to_str().unwrap();
    let mut child = sim
        .cmd()
        .args([
            "run",
            &batch,
            "--journal",
            journal,
            "--webhooks-addr",
            "127.0.0.1:0",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The endpoint is registered before the first submit: a "submitted" progress line is the
    // signal that it exists. Then SIGKILL: no chance to remove it.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("submitted") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let endpoints = || videogen_endpoints(&sim);
    assert!(endpoints().contains("127.0.0.1"), "{}", endpoints());
    // The next invocation, webhooks or not, removes it first (and counts the call).
    let r = sim.run(&["resume", "--journal", journal, "--json"]);
    r.expect_code(0);
    assert!(!endpoints().contains("127.0.0.1"), "{}", endpoints());
}

#[test]
fn api_calls_count_url_refreshes_that_failed_too() {
    // Results downloaded after their URLs expired: each needs a hydrate, and half of the
    // hydrates fail (5xx) and are asked again. The summary counts every call the sim saw.
    let sim = Sim::start_with(&[
        "--speed",
        "600",
        "--faults",
        "videogen:files:5xx=0.5",
        "--seed",
        "3",
    ]);
    let dir = tempdir();
    let batch = write(
        dir.path(),
        "vg.jsonl",
        &batch_line(
            "videogen",
            Some("generate-image"),
            "four",
            &json!({"prompt": "four barns", "numResults": 4}),
        ),
    );
    let journal = dir.path().join("vg.db");
    let journal = journal.to_str().unwrap();
    sim.run(&["run", &batch, "--journal", journal])
        .expect_code(0);
    // Past the signed URLs' expiry.
    let (status, body) = http(
        "POST",
        &format!("{}/advance", sim.admin()),
        &[("content-type", "application/json".to_string())],
        br#"{"seconds": 8000}"#,
    );
    assert_eq!(status, 200, "{body}");
    let before = sim.requests();
    let out = dir.path().join("out");
    let r = sim.run(&[
        "resume",
        "--journal",
        journal,
        "--download",
        out.to_str().unwrap(),
        "--json",
    ]);
    let s = r.json();
    let hydrates = &sim.stats()["faults"]["videogen"]["files:5xx"];
    assert!(
        hydrates.as_u64().unwrap_or(0) >= 1,
        "no hydrate failed: {hydrates}"
    );
    assert_eq!(
        s["api_calls"].as_u64().unwrap(),
        sim.requests() - before,
        "{s}"
    );
}

#[test]
fn resubmit_uncertain_sends_each_uncertain_job_once_per_decision() {
    // Every VibePeak answer is lost: the opt-in must not turn into a loop that pays again
    // and again within one invocation.
    let sim = Sim::start_with(&["--speed", "600", "--faults", "vibepeak:submit:lost=1"]);
    let dir = tempdir();
    let batch = write(
        dir.path(),
        "batch.jsonl",
        &batch_line("vibepeak", None, "vp", &vibepeak_request("vp")),
    );
    let journal = dir.path().join("jobs.db");
    let journal = journal.to_str().unwrap();
    let r = sim.run(&["run", &batch, "--journal", journal, "--json"]);
    r.expect_code(1);
    assert_eq!(r.json()["uncertain"], 1, "{}", r.stdout);
    assert_eq!(sim.task_count(), 1);

    for sent in 2..=3 {
        let r = sim.run(&[
            "resume",
            "--journal",
            journal,
            "--resubmit-uncertain",
            "--json",
        ]);
        r.expect_code(1);
        let s = r.json();
        assert_eq!(s["uncertain"], 1, "{s}");
        let approved = s["reconciled"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["outcome"] == "resubmit_approved")
            .count();
        assert_eq!(approved, 1, "one resend per decision: {s}");
        assert_eq!(sim.task_count(), sent, "one more task per decision");
    }
    let r = sim.run(&["status", "--journal", journal, "--json"]);
    assert_eq!(r.json()["items"][0]["status"], "uncertain");
}

#[test]
fn resume_finishes_what_a_run_left_waiting_without_resubmitting() {
    let sim = Sim::start();
    let dir = tempdir();
    let lines = [
        batch_line("vibepeak", None, "a", &vibepeak_request("a")),
        batch_line("vibepeak", None, "b", &vibepeak_request("b")),
        batch_line("vidiking", None, "c", &vidiking_request("Listing", 5)),
    ];
    let batch = write(dir.path(), "batch.jsonl", &lines.join("\n"));
    let journal = dir.path().join("jobs.db");
    let journal = journal.to_str().unwrap();
    // VibePeak takes 4–10 sim minutes: a 30 s deadline leaves both jobs waiting.
    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        journal,
        "--deadline",
        "30",
        "--json",
    ]);
    r.expect_code(1);
    let s = r.json();
    assert!(s["deadline_passed"].as_u64().unwrap() >= 2, "{s}");
    assert_eq!(s["jobs"], 3);
    assert!(s["succeeded"].as_u64().unwrap() < 3, "{s}");
    let r = sim.run(&["status", "--journal", journal, "--json"]);
    r.expect_code(0);
    let report = r.json();
    for item in report["items"].as_array().unwrap() {
        if item["provider"] == "vibepeak" {
            assert!(
                item["status"] == "queued" || item["status"] == "running",
                "{item}"
            );
            assert!(str_of(item, "id").starts_with("task_"), "{item}");
            assert!(item["terminal_seen_at"].is_null(), "{item}");
        }
    }
    assert_eq!(sim.task_count(), 3);

    let out = dir.path().join("out");
    let r = sim.run(&[
        "resume",
        "--journal",
        journal,
        "--download",
        out.to_str().unwrap(),
        "--json",
    ]);
    r.expect_code(0);
    let s = r.json();
    assert_eq!(s["jobs"], 3, "{s}");
    assert_eq!(s["succeeded"], 3, "{s}");
    assert!(s["api_calls"].as_u64().unwrap() > 0, "{s}");
    assert!(s["downloaded_bytes"].as_u64().unwrap() > 0, "{s}");
    assert!(out.join("vibepeak/a.mp4").is_file());
    assert!(out.join("vidiking/c.mp4").is_file());
    // Nothing was submitted twice.
    assert_eq!(sim.task_count(), 3);
    assert_eq!(
        sim.stats()["providers"]["vibepeak"]["by_route"]["POST /v1/real-estate/narrated-slideshow"],
        2
    );

    // resume of a journal that does not exist is an input error.
    let r = sim.run(&[
        "resume",
        "--journal",
        dir.path().join("nope.db").to_str().unwrap(),
    ]);
    r.expect_code(2);
    r.no_panic();
}

/// A VibePeak delivery as the provider sends it, signed with `secret` at `ts`.
fn vibepeak_delivery(secret: &str, ts: i64, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("x-vibepeak-event", "task.completed".into()),
        ("x-vibepeak-timestamp", ts.to_string()),
        (
            "x-vibepeak-signature",
            format!(
                "sha256={}",
                hmac_hex(secret, format!("{ts}.{body}").as_bytes())
            ),
        ),
    ]
}

fn vibepeak_body(id: &str) -> String {
    json!({
        "event": "task.completed",
        "task_id": id,
        "status": "completed",
        "created_at": "2026-01-01T10:00:00.000Z",
        "completed_at": "2026-01-01T10:06:00.000Z",
        "livemode": false,
        "result": {
            "video_url": "http://127.0.0.1:9/vibepeak/_files/x/video.mp4",
            "cover_image_url": "http://127.0.0.1:9/vibepeak/_files/x/cover.png",
            "expires_at": "2026-01-08T10:06:00.000Z",
            "duration_seconds": 30,
            "resolution": "1080p"
        }
    })
    .to_string()
}

fn vidiking_body(id: &str, event: &str, status: &str, at: &str) -> String {
    json!({
        "event": event,
        "timestamp": at,
        "data": {"id": id, "status": status, "credits_used": 0, "wallet_balance": 1000000}
    })
    .to_string()
}

fn vidiking_delivery(secret: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("x-vidiking-signature", hmac_hex(secret, body.as_bytes())),
    ]
}

#[test]
fn webhooks_serve_prints_each_verified_event_once_and_refuses_forgeries() {
    // Speed 1: the replay window is 5 sim minutes, which at speed 600 would be half a real
    // second between signing here and verifying there.
    let sim = Sim::start_with(&["--speed", "1"]);
    let mut server = Server::start(
        sim.cmd()
            .args(["webhooks", "serve", "--addr", "127.0.0.1:0"]),
    );

    // The readiness line, exactly as the contract writes it.
    let ready: Value = serde_json::from_str(server.ready_line.trim()).unwrap();
    let url = str_of(&ready, "url").to_string();
    let port = url.strip_prefix("http://127.0.0.1:").unwrap();
    assert!(port.parse::<u16>().unwrap() > 0, "{url}");
    assert_eq!(
        ready,
        json!({"url": url, "routes": {
            "vibepeak": "/webhooks/vibepeak",
            "videogen": "/webhooks/videogen",
            "vidiking": "/webhooks/vidiking",
        }})
    );
    assert_eq!(server.ready_line.matches('\n').count(), 1);
    let line = &server.ready_line;
    assert!(line.find("\"url\"") < line.find("\"routes\""), "{line}");
    let vp = format!("{url}/webhooks/vibepeak");
    let vk = format!("{url}/webhooks/vidiking");
    let vp_secret = sim.webhook_secret("vibepeak");
    let vk_secret = sim.webhook_secret("vidiking");

    // A genuine VibePeak delivery: 2xx, one line.
    let now = sim.now_unix() as i64;
    let body = vibepeak_body("task_cli_0001");
    let headers = vibepeak_delivery(&vp_secret, now, &body);
    let (status, _) = http("POST", &vp, &headers, body.as_bytes());
    assert_eq!(status, 200);
    let line: Value = serde_json::from_str(&server.next_line()).unwrap();
    assert_eq!(
        line,
        json!({"provider": "vibepeak", "id": "task_cli_0001", "status": "succeeded",
               "event_id": "task_cli_0001:task.completed"})
    );

    // A genuine Vidiking delivery (its timestamp is in the signed body).
    let at = chrono::DateTime::from_timestamp(sim.now_unix() as i64, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let vk_body = vidiking_body("job_cli_0001", "render.failed", "FAILED", &at);
    let (status, _) = http(
        "POST",
        &vk,
        &vidiking_delivery(&vk_secret, &vk_body),
        vk_body.as_bytes(),
    );
    assert_eq!(status, 200);
    let line: Value = serde_json::from_str(&server.next_line()).unwrap();
    assert_eq!(
        line,
        json!({"provider": "vidiking", "id": "job_cli_0001", "status": "failed",
               "event_id": "job_cli_0001:render.failed"})
    );

    // Forgeries: a wrong key, a stale timestamp, a Vidiking body changed after signing.
    let forged = vibepeak_body("task_cli_forged");
    let wrong_key = vibepeak_delivery("whsec_not_the_secret", now, &forged);
    let (status, answer) = http("POST", &vp, &wrong_key, forged.as_bytes());
    assert_eq!(status, 401);
    assert!(!answer.contains(&vp_secret));
    let stale = vibepeak_delivery(&vp_secret, now - 3600, &forged);
    assert_eq!(http("POST", &vp, &stale, forged.as_bytes()).0, 401);
    let tampered = vk_body.replace("job_cli_0001", "job_cli_forged");
    assert_eq!(
        http(
            "POST",
            &vk,
            &vidiking_delivery(&vk_secret, &vk_body),
            tampered.as_bytes()
        )
        .0,
        401
    );
    // Verified but not a payload: 400.
    let junk = "[1,2,3]";
    assert_eq!(
        http(
            "POST",
            &vk,
            &vidiking_delivery(&vk_secret, junk),
            junk.as_bytes()
        )
        .0,
        400
    );

    // Over the 1 MiB limit: 413.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(1 << 20));
    let (status, _) = http(
        "POST",
        &vk,
        &vidiking_delivery(&vk_secret, &big),
        big.as_bytes(),
    );
    assert_eq!(status, 413);

    // Duplicates: the same delivery again, and the same event re-signed later: 2xx, silent.
    assert_eq!(http("POST", &vp, &headers, body.as_bytes()).0, 200);
    let resent = vibepeak_delivery(&vp_secret, sim.now_unix() as i64, &body);
    assert_eq!(http("POST", &vp, &resent, body.as_bytes()).0, 200);

    // A marker event: the next printed line is it, so nothing was printed in between.
    let marker = vidiking_body("job_cli_0002", "render.failed", "FAILED", &at);
    assert_eq!(
        http(
            "POST",
            &vk,
            &vidiking_delivery(&vk_secret, &marker),
            marker.as_bytes()
        )
        .0,
        200
    );
    let line: Value = serde_json::from_str(&server.next_line()).unwrap();
    assert_eq!(line["id"], "job_cli_0002", "{line}");

    let (rest, stderr) = server.stop();
    assert!(rest.trim().is_empty(), "printed after the marker: {rest}");
    for secret in [&vp_secret, &vk_secret] {
        assert!(!stderr.contains(secret.as_str()), "{stderr}");
    }
}

#[test]
fn run_with_webhooks_settles_every_job_with_fewer_calls() {
    let sim = Sim::start();
    let dir = tempdir();
    let lines = [
        batch_line("vibepeak", None, "vp-1", &vibepeak_request("w1")),
        batch_line("vibepeak", None, "vp-2", &vibepeak_request("w2")),
        batch_line("vibepeak", None, "vp-3", &vibepeak_failing_request("w3")),
        batch_line("vidiking", None, "vk-1", &vidiking_request("One", 5)),
        batch_line("vidiking", None, "vk-2", &vidiking_request("Two", 8)),
        batch_line("vidiking", None, "vk-3", &vidiking_missing_asset_request()),
        batch_line(
            "videogen",
            Some("generate-image"),
            "vg-1",
            &json!({"prompt": "a porch at dusk"}),
        ),
    ];
    let batch = write(dir.path(), "batch.jsonl", &lines.join("\n"));

    let polled = dir.path().join("polled.db");
    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        polled.to_str().unwrap(),
        "--json",
    ]);
    r.expect_code(1);
    let without = r.json();
    assert_eq!(without["succeeded"], 5, "{without}");
    assert!(without.get("webhooks").is_none(), "{without}");

    let hooked = dir.path().join("hooked.db");
    let requests_before = sim.requests();
    let r = sim.run(&[
        "run",
        &batch,
        "--journal",
        hooked.to_str().unwrap(),
        "--webhooks-addr",
        "127.0.0.1:0",
        "--json",
    ]);
    r.expect_code(1);
    let with = r.json();
    // Every call of the invocation is counted, the endpoint's registration and removal too.
    assert_eq!(
        with["api_calls"].as_u64().unwrap(),
        sim.requests() - requests_before,
        "{with}"
    );
    // The endpoint registered for this process's own address is gone with it: VideoGen would
    // deliver to a dead port for ever after.
    let endpoints = videogen_endpoints;
    assert!(
        !endpoints(&sim).contains("127.0.0.1"),
        "{}",
        endpoints(&sim)
    );
    assert_eq!(with["jobs"], 7, "{with}");
    assert_eq!(with["succeeded"], 5, "{with}");
    assert_eq!(with["failed"], 2, "{with}");
    // A webhook that only says "failed" does not lose the provider's reason.
    assert_eq!(with["failed_by_code"], without["failed_by_code"], "{with}");
    assert_eq!(
        with["failed_by_code"],
        json!({"IMAGE_PROCESSING_FAILED": 1, "INVALID_ASSET": 1}),
        "{with}"
    );
    assert_eq!(with["uncertain"], 0, "{with}");
    let hooks = &with["webhooks"];
    assert!(
        hooks["receiver"]["accepted"].as_u64().unwrap() >= 1,
        "{with}"
    );
    assert!(
        hooks["jobs_ended_by_webhook"].as_u64().unwrap() >= 1,
        "{with}"
    );
    assert_eq!(
        hooks["receiver"]["rejected"]["bad_signature"], 0,
        "genuine deliveries were refused: {with}"
    );
    let (a, b) = (
        without["api_calls"].as_u64().unwrap(),
        with["api_calls"].as_u64().unwrap(),
    );
    assert!(b < a, "webhooks did not save calls: {b} with, {a} without");

    let stats = sim.stats();
    let mut delivered = 0;
    for p in ["vibepeak", "videogen", "vidiking"] {
        assert_eq!(stats["webhooks"][p]["forged_2xx"], 0);
        delivered += stats["webhooks"][p]["delivered_2xx"].as_u64().unwrap();
    }
    assert!(delivered >= 1, "{}", stats["webhooks"]);
    assert_eq!(sim.task_count(), 14);

    // A VideoGen secret in the environment belongs to an endpoint the user manages elsewhere:
    // advertising our own address still means registering it, or VideoGen never calls.
    let vg_delivered = |sim: &Sim| sim.stats()["webhooks"]["videogen"]["delivered_2xx"].as_u64();
    let before = vg_delivered(&sim);
    let only_videogen = write(dir.path(), "vg.jsonl", &lines[6]);
    let r = cli_support::run(
        sim.cmd()
            .env(
                "VIDEOGEN_WEBHOOK_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            )
            .args([
                "run",
                &only_videogen,
                "--journal",
                dir.path().join("secret.db").to_str().unwrap(),
                "--webhooks-addr",
                "127.0.0.1:0",
                "--json",
            ]),
        None,
    );
    r.expect_code(0);
    assert!(vg_delivered(&sim) > before, "{}", r.stdout);
    assert_eq!(
        r.json()["webhooks"]["jobs_ended_by_webhook"],
        1,
        "{}",
        r.stdout
    );
    assert!(
        !endpoints(&sim).contains("127.0.0.1"),
        "{}",
        endpoints(&sim)
    );
}

#[test]
fn usage_and_input_errors_exit_2_with_a_message_that_names_the_problem() {
    let sim = Sim::start();
    let dir = tempdir();

    let r = sim.run(&["submit", "videogen", "--bogus"]);
    r.expect_code(2);
    assert!(r.stderr.contains("--bogus"), "{}", r.stderr);
    // With --json, a usage error is JSON on stdout too, wherever --json stands.
    for args in [
        ["--json", "submit", "videogen", "--bogus"],
        ["submit", "videogen", "--bogus", "--json"],
    ] {
        let r = sim.run(&args);
        r.expect_code(2);
        let e = r.json();
        assert_eq!(e["exit_code"], 2, "{e}");
        assert!(e["error"].as_str().unwrap().contains("--bogus"), "{e}");
    }
    // A status filter that matches nothing VideoGen has.
    let r = sim.run(&["list", "videogen", "--status", "bogus"]);
    r.expect_code(2);
    assert!(r.stderr.contains("bogus"), "{}", r.stderr);
    // A webhook address already in use is the user's input: exit 2, naming it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let r = sim.run(&["webhooks", "serve", "--addr", &addr]);
    r.expect_code(2);
    assert!(r.stderr.contains(&addr), "{}", r.stderr);
    let r = sim.run(&["frobnicate"]);
    r.expect_code(2);
    let r = sim.run(&["submit", "openai", "--set", "prompt=x"]);
    r.expect_code(2);
    assert!(r.stderr.contains("openai"), "{}", r.stderr);
    let r = sim.run(&["status"]);
    r.expect_code(2);
    assert!(r.stderr.contains("usage"), "{}", r.stderr);

    // A request file that is not JSON: the message gives the position.
    let bad = write(dir.path(), "bad.json", "{\"prompt\": \"x\",}");
    let r = sim.run(&["submit", "videogen", "--tool", "generate-image", &bad]);
    r.expect_code(2);
    assert!(r.stderr.contains("bad.json"), "{}", r.stderr);
    assert!(r.stderr.contains("line 1 column 16"), "{}", r.stderr);
    // A file that does not exist.
    let r = sim.run(&["submit", "vidiking", "/nonexistent/request.json"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("/nonexistent/request.json"),
        "{}",
        r.stderr
    );
    // JSON, but not an object.
    let list = write(dir.path(), "list.json", "[1, 2]");
    let r = sim.run(&["submit", "vidiking", &list]);
    r.expect_code(2);
    assert!(r.stderr.contains("JSON object"), "{}", r.stderr);
    // A bad --set.
    let r = sim.run(&["submit", "vidiking", "--set", "timeline"]);
    r.expect_code(2);
    assert!(r.stderr.contains("FIELD=VALUE"), "{}", r.stderr);

    // Valid JSON that the provider refuses: the field is named, exit 2.
    let wrong = write(dir.path(), "wrong.json", r#"{"prompt": 5}"#);
    let r = sim.run(&["submit", "videogen", "--tool", "generate-image", &wrong]);
    r.expect_code(2);
    assert!(r.stderr.contains("`prompt`"), "{}", r.stderr);
    let r = sim.run(&["submit", "vibepeak", "--set", "script=A short script."]);
    r.expect_code(2);
    assert!(r.stderr.contains("images"), "{}", r.stderr);
    // Nothing was created by any of these.
    assert_eq!(sim.task_count(), 0);

    // A batch file that does not exist, and one with no job.
    let journal = dir.path().join("j.db");
    let r = sim.run(&[
        "run",
        "/nonexistent/batch.jsonl",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("/nonexistent/batch.jsonl"),
        "{}",
        r.stderr
    );
    let empty = write(dir.path(), "empty.jsonl", "\n# nothing\n");
    let r = sim.run(&["run", &empty, "--journal", journal.to_str().unwrap()]);
    r.expect_code(2);
    assert!(r.stderr.contains("no jobs"), "{}", r.stderr);
    // status --journal of a missing journal.
    let r = sim.run(&[
        "status",
        "--journal",
        dir.path().join("none.db").to_str().unwrap(),
    ]);
    r.expect_code(2);
    r.no_panic();
}

#[test]
fn credentials_and_reachability_errors() {
    let sim = Sim::start();
    let dir = tempdir();

    // A missing key: the message names the variable to set.
    let r = cli_support::run(
        sim.cmd().env_remove("VIDEOGEN_API_KEY").args([
            "submit",
            "videogen",
            "--tool",
            "generate-image",
            "--set",
            "prompt=x",
        ]),
        None,
    );
    r.expect_code(2);
    assert!(r.stderr.contains("VIDEOGEN_API_KEY"), "{}", r.stderr);
    let r = cli_support::run(
        sim.cmd().env_remove("VIBEPEAK_API_KEY").args([
            "status",
            "vibepeak",
            "task_0123456789abcdef",
        ]),
        None,
    );
    r.expect_code(2);
    assert!(r.stderr.contains("VIBEPEAK_API_KEY"), "{}", r.stderr);
    // run with a batch for a provider whose key is missing: refused before anything is sent.
    let batch = write(
        dir.path(),
        "needs-vibepeak.jsonl",
        &[
            batch_line("vidiking", None, "vk", &vidiking_request("Fine", 5)),
            batch_line("vibepeak", None, "vp", &vibepeak_request("nokey")),
        ]
        .join("\n"),
    );
    let journal = dir.path().join("nokey.db");
    let r = cli_support::run(
        sim.cmd().env_remove("VIBEPEAK_API_KEY").args([
            "run",
            &batch,
            "--journal",
            journal.to_str().unwrap(),
        ]),
        None,
    );
    r.expect_code(2);
    assert!(r.stderr.contains("VIBEPEAK_API_KEY"), "{}", r.stderr);
    assert_eq!(sim.task_count(), 0);

    // A wrong key: exit 3, the message says which variable holds it.
    for (var, args) in [
        ("VIDEOGEN_API_KEY", vec!["list", "videogen"]),
        (
            "VIBEPEAK_API_KEY",
            vec!["status", "vibepeak", "task_0123456789abcdef"],
        ),
        ("VIDIKING_API_KEY", vec!["list", "vidiking", "--json"]),
    ] {
        let r = cli_support::run(sim.cmd().env(var, "wrong_key_0000").args(&args), None);
        r.expect_code(3);
        r.no_panic();
        assert!(r.stderr.contains(var), "{var}: {}", r.stderr);
        assert!(r.stderr.contains("401"), "{var}: {}", r.stderr);
    }

    // An unreachable base URL: exit 3, a clear message, no panic, no backtrace.
    let dead = dead_url();
    let r = cli_support::run(
        sim.cmd()
            .env("VIDEOGEN_BASE_URL", &dead)
            .env("RUST_BACKTRACE", "1")
            .args([
                "submit",
                "videogen",
                "--tool",
                "generate-image",
                "--set",
                "prompt=x",
            ]),
        None,
    );
    r.expect_code(3);
    r.no_panic();
    assert!(r.stderr.contains("could not connect"), "{}", r.stderr);
    assert!(r.stderr.contains(&dead), "{}", r.stderr);
    assert!(r.stderr.contains("VIDEOGEN_BASE_URL"), "{}", r.stderr);
    // submit --wait too, on the real clock: at once, not after minutes of backoff.
    let file = write(dir.path(), "vp.json", &vibepeak_request("dead").to_string());
    let started = std::time::Instant::now();
    let r = cli_support::run(
        sim.cmd()
            .env_remove("MEDIAJOBS_SIM_CLOCK")
            .env("VIBEPEAK_BASE_URL", &dead)
            .args(["submit", "vibepeak", &file, "--wait"]),
        None,
    );
    r.expect_code(3);
    r.no_panic();
    assert!(r.stderr.contains("could not connect"), "{}", r.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "submit --wait took {:?} to give up on an unreachable provider",
        started.elapsed()
    );
    let r = cli_support::run(
        sim.cmd()
            .env("VIDIKING_BASE_URL", &dead)
            .env("RUST_BACKTRACE", "1")
            .args(["wait", "vidiking", "job_0123456789abcdef", "--json"]),
        None,
    );
    r.expect_code(3);
    r.no_panic();
    assert_eq!(r.json()["exit_code"], 3);

    // run: the unreachable provider (or the one refusing the key) is reported, exit 3; the
    // reachable ones still ran, and the refused provider's job is left for `resume`. VideoGen
    // reads a list head before its first submit: that list failing counts the same (it used to
    // be reported as a job problem, exit 1).
    let cases = [
        ("vibepeak", "VIBEPEAK_BASE_URL", dead.clone()),
        ("videogen", "VIDEOGEN_BASE_URL", dead.clone()),
        ("videogen", "VIDEOGEN_API_KEY", "wrong_key_0000".to_string()),
    ];
    for (i, (provider, var, value)) in cases.into_iter().enumerate() {
        let job = match provider {
            "vibepeak" => batch_line("vibepeak", None, "job", &vibepeak_request("unreachable")),
            _ => batch_line(
                "videogen",
                Some("generate-image"),
                "job",
                &json!({"prompt": "a cat"}),
            ),
        };
        let lines = [
            batch_line("vidiking", None, "vk", &vidiking_request("Reachable", 5)),
            job,
        ];
        let batch = write(dir.path(), &format!("batch{i}.jsonl"), &lines.join("\n"));
        let journal = dir.path().join(format!("j{i}.db"));
        let requests_before = sim.stats()["providers"][provider]["requests"].clone();
        let r = cli_support::run(
            sim.cmd().env(var, &value).env("RUST_BACKTRACE", "1").args([
                "run",
                &batch,
                "--journal",
                journal.to_str().unwrap(),
                "--json",
            ]),
            None,
        );
        r.expect_code(3);
        r.no_panic();
        let s = r.json();
        assert!(
            s["unreachable"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u.as_str().unwrap().starts_with(provider)),
            "{var}: {s}"
        );
        assert!(r.stderr.contains(var), "{var}: {}", r.stderr);
        assert_eq!(s["succeeded"], 1, "{var}: {s}");
        assert_eq!(s["pending"], 1, "{var}: left for resume: {s}");
        if var.ends_with("_BASE_URL") {
            assert_eq!(
                sim.stats()["providers"][provider]["requests"],
                requests_before,
                "{var}: nothing reached the sim"
            );
        }
    }

    // A sim clock that is not there: a configuration error naming the variable.
    let r = cli_support::run(
        sim.cmd()
            .env("MEDIAJOBS_SIM_CLOCK", format!("{dead}/_sim"))
            .args(["status", "vidiking", "job_0123456789abcdef"]),
        None,
    );
    assert_ne!(r.code, Some(0));
    r.no_panic();
    assert!(r.stderr.contains("MEDIAJOBS_SIM_CLOCK"), "{}", r.stderr);
}
