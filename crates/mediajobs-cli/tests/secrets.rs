//! No API key or webhook secret ever reaches the terminal (issue 10, "Secrets"): the real
//! binary runs the paths that touch them (submit, wait, status with a wrong key, a batch with
//! webhooks, `webhooks serve` with forged deliveries, an unreachable provider, a missing
//! variable) at `RUST_LOG=trace` and `-vvv`, against a `mediajobs sim` child whose keys and
//! secrets are known from its readiness line. Everything printed, stdout and stderr, is
//! searched for each secret and for any 12-character run of its random part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_support;

use std::process::Command;

use cli_support::{
    Run, Server, Sim, batch_line, hmac_hex, http, vibepeak_request, vidiking_request, write,
};
use serde_json::json;

/// Wrong keys the tests pass: they must not be echoed either.
const WRONG_KEYS: [(&str, &str); 3] = [
    ("VIBEPEAK_API_KEY", "vpk_test_7f3e9c1a5b2d8e4f6a0c9b7d"),
    ("VIDEOGEN_API_KEY", "vg_key_c4a8e2f6b0d9173e5a2c8f4b"),
    ("VIDIKING_API_KEY", "vk_9d2b6f0e4a8c1e7b3f5d0a6c"),
];

/// The secrets to look for: the sim's keys and webhook secrets, and the wrong keys.
fn secrets(sim: &Sim) -> Vec<String> {
    let mut out: Vec<String> = ["vibepeak", "videogen", "vidiking"]
        .iter()
        .map(|p| sim.api_key(p))
        .collect();
    out.push(sim.webhook_secret("vibepeak"));
    out.push(sim.webhook_secret("vidiking"));
    out.extend(WRONG_KEYS.iter().map(|(_, k)| k.to_string()));
    out
}

/// Fails if `text` contains a secret, or 12 consecutive characters of its random part (what
/// follows its last `_`), or anything shaped like a `whsec_` secret.
fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: the secret {secret} was printed:\n{text}"
        );
        let random = secret.rsplit('_').next().unwrap();
        let chars: Vec<char> = random.chars().collect();
        for window in chars.windows(12) {
            let part: String = window.iter().collect();
            assert!(
                !text.contains(&part),
                "{what}: part {part:?} of the secret {secret} was printed:\n{text}"
            );
        }
    }
    // A signing secret we cannot know in advance (VideoGen's, learned by registering an
    // endpoint) has this shape: `whsec_` and base64.
    for (i, _) in text.match_indices("whsec_") {
        let tail: String = text[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/' || *c == '=')
            .collect();
        assert!(
            tail.len() < 8,
            "{what}: something shaped like a webhook secret was printed: whsec_{tail}"
        );
    }
}

/// The binary against `sim` at the most verbose logging.
fn loud(sim: &Sim) -> Command {
    let mut cmd = sim.cmd();
    cmd.env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .arg("-vvv");
    cmd
}

fn check(what: &str, r: &Run, secrets: &[String]) {
    r.no_panic();
    assert!(
        r.stderr.contains("TRACE"),
        "{what}: trace logging is not on, so the test proves nothing:\n{}",
        r.stderr
    );
    assert_no_secret(what, &r.all(), secrets);
}

#[test]
fn the_cli_never_prints_a_key_or_a_webhook_secret() {
    let sim = Sim::start();
    let secrets = secrets(&sim);
    let dir = tempfile::tempdir().unwrap();

    // Submits on every provider, waited for (the scheduler's logs included).
    let vp = write(dir.path(), "vp.json", &vibepeak_request("s").to_string());
    let r = cli_support::run(loud(&sim).args(["submit", "vibepeak", &vp, "--wait"]), None);
    r.expect_code(0);
    check("submit vibepeak --wait", &r, &secrets);
    let r = cli_support::run(
        loud(&sim).args([
            "submit",
            "videogen",
            "--tool",
            "generate-image",
            "--set",
            "prompt=a door",
            "--wait",
            "--json",
        ]),
        None,
    );
    r.expect_code(0);
    check("submit videogen --wait", &r, &secrets);
    let vk = write(dir.path(), "vk.json", &vidiking_request("S", 5).to_string());
    let r = cli_support::run(loud(&sim).args(["submit", "vidiking", &vk, "--json"]), None);
    r.expect_code(0);
    check("submit vidiking", &r, &secrets);
    let vidiking_job = r.json()["id"].as_str().unwrap().to_string();

    // Wrong keys: the 401 path, its error message and logs.
    for ((var, key), args) in WRONG_KEYS.iter().zip([
        vec!["status", "vibepeak", "task_0123456789abcdef"],
        vec!["list", "videogen"],
        vec!["status", "vidiking", vidiking_job.as_str(), "--json"],
    ]) {
        let r = cli_support::run(loud(&sim).env(var, key).args(&args), None);
        r.expect_code(3);
        check(&format!("{args:?} with a wrong {var}"), &r, &secrets);
    }

    // An unreachable provider.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let r = cli_support::run(
        loud(&sim)
            .env("VIDIKING_BASE_URL", &dead)
            .args(["submit", "vidiking", &vk]),
        None,
    );
    r.expect_code(3);
    check("submit to an unreachable URL", &r, &secrets);
    // A missing key.
    let r = cli_support::run(
        loud(&sim)
            .env_remove("VIDEOGEN_API_KEY")
            .args(["list", "videogen", "--json"]),
        None,
    );
    r.expect_code(2);
    check("a missing key", &r, &secrets);

    // A batch on all three providers with webhooks (VideoGen registers an endpoint and
    // learns its signing secret) and downloads, then the journal's report.
    let lines = [
        batch_line("vibepeak", None, "a", &vibepeak_request("batch")),
        batch_line(
            "videogen",
            Some("generate-image"),
            "b",
            &json!({"prompt": "a window"}),
        ),
        batch_line("vidiking", None, "c", &vidiking_request("C", 5)),
    ];
    let batch = write(dir.path(), "batch.jsonl", &lines.join("\n"));
    let journal = dir.path().join("j.db");
    let journal = journal.to_str().unwrap();
    let out = dir.path().join("out");
    let r = cli_support::run(
        loud(&sim).args([
            "run",
            &batch,
            "--journal",
            journal,
            "--webhooks-addr",
            "127.0.0.1:0",
            "--download",
            out.to_str().unwrap(),
            "--json",
        ]),
        None,
    );
    r.expect_code(0);
    check("run --webhooks-addr", &r, &secrets);
    for args in [
        vec!["status", "--journal", journal, "--json"],
        vec!["status", "--journal", journal],
    ] {
        let r = cli_support::run(loud(&sim).args(&args), None);
        r.expect_code(0);
        assert_no_secret("status --journal", &r.all(), &secrets);
    }
    // The batch again, with the journal's VideoGen secret reused; then with a wrong key.
    let r = cli_support::run(
        loud(&sim).args([
            "resume",
            "--journal",
            journal,
            "--webhooks-addr",
            "127.0.0.1:0",
        ]),
        None,
    );
    r.expect_code(0);
    check("resume --webhooks-addr", &r, &secrets);
}

#[test]
fn webhooks_serve_never_prints_a_secret_even_for_forgeries() {
    // Speed 1, so the replay window (5 sim minutes) is not half a real second.
    let sim = Sim::start_with(&["--speed", "1"]);
    let secrets = secrets(&sim);
    let mut server = Server::start(loud(&sim).args(["webhooks", "serve", "--addr", "127.0.0.1:0"]));
    let ready: serde_json::Value = serde_json::from_str(server.ready_line.trim()).unwrap();
    let url = ready["url"].as_str().unwrap().to_string();
    let vp_secret = sim.webhook_secret("vibepeak");
    let vk_secret = sim.webhook_secret("vidiking");
    let now = sim.now_unix() as i64;

    let body = json!({"event": "task.failed", "task_id": "task_s_1", "status": "failed",
        "created_at": "2026-01-01T10:00:00.000Z", "completed_at": "2026-01-01T10:06:00.000Z",
        "livemode": false, "error": {"code": "INTERNAL_ERROR", "message": "x"}})
    .to_string();
    let sign = |secret: &str, ts: i64| {
        vec![
            ("x-vibepeak-event", "task.failed".to_string()),
            ("x-vibepeak-timestamp", ts.to_string()),
            (
                "x-vibepeak-signature",
                format!(
                    "sha256={}",
                    hmac_hex(secret, format!("{ts}.{body}").as_bytes())
                ),
            ),
        ]
    };
    let vp = format!("{url}/webhooks/vibepeak");
    let vk = format!("{url}/webhooks/vidiking");
    let vg = format!("{url}/webhooks/videogen");
    // Forged: a near-miss key (the secret with one character changed), a stale timestamp,
    // no signature at all, a VideoGen delivery (no secret configured), a tampered Vidiking body.
    let near_miss = format!("{}X", &vp_secret[..vp_secret.len() - 1]);
    let mut expected_signatures = Vec::new();
    for (headers, target) in [
        (sign(&near_miss, now), &vp),
        (sign(&vp_secret, now - 7200), &vp),
        (vec![("x-vibepeak-timestamp", now.to_string())], &vp),
    ] {
        let (status, answer) = http("POST", target, &headers, body.as_bytes());
        assert_eq!(status, 401);
        assert_no_secret("a 401 answer", &answer, &secrets);
    }
    let vk_body = json!({"event": "render.complete", "timestamp": "2026-01-01T10:00:00.000Z",
        "data": {"id": "job_s_1", "status": "COMPLETE", "credits_used": 0.1,
        "wallet_balance": 100}})
    .to_string();
    let tampered = vk_body.replace("job_s_1", "job_s_2");
    // The signature the receiver computes for the tampered body must not be printed.
    let (status, _) = http(
        "POST",
        &vk,
        &[(
            "x-vidiking-signature",
            hmac_hex(&vk_secret, vk_body.as_bytes()),
        )],
        tampered.as_bytes(),
    );
    assert_eq!(status, 401);
    expected_signatures.push(hmac_hex(&vk_secret, tampered.as_bytes()));
    let (status, _) = http(
        "POST",
        &vg,
        &[
            ("webhook-id", "msg_s_1".to_string()),
            ("webhook-timestamp", now.to_string()),
            ("webhook-signature", "v1,Zm9yZ2Vk".to_string()),
        ],
        b"{}",
    );
    assert_eq!(status, 401);
    // And one genuine delivery, so the accepted path is covered too.
    let (status, _) = http("POST", &vp, &sign(&vp_secret, now), body.as_bytes());
    assert_eq!(status, 200);
    let line = server.next_line();
    assert!(line.contains("task_s_1"), "{line}");

    let (rest, stderr) = server.stop();
    let all = format!("{}{line}{rest}\n{stderr}", server_ready(&ready));
    assert!(
        stderr.contains("TRACE"),
        "trace logging is not on:\n{stderr}"
    );
    assert!(stderr.contains("bad_signature"), "{stderr}");
    assert_no_secret("webhooks serve", &all, &secrets);
    for sig in expected_signatures {
        assert!(
            !all.contains(&sig[..16]),
            "the expected signature was printed: {sig}\n{all}"
        );
    }
}

fn server_ready(ready: &serde_json::Value) -> String {
    format!("{ready}\n")
}
