//! Support for the crash, lost-answer and soak tests: a real `mediajobs sim` child, `mediajobs
//! run` / `resume` children that can be killed with SIGKILL at any point, and an audit of the
//! journal (and the files on disk) against the simulator's ground truth (`GET {admin}/stats`).
//!
//! Every wait here is bounded in time; readiness is the sim's JSON line, never a sleep.

#![allow(dead_code)] // each test target uses its own part of this module

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mediajobs::journal::{Journal, SqliteJournal};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mediajobs");

/// How a sim child is started.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// `--speed`.
    pub speed: f64,
    /// `--seed`.
    pub seed: u64,
    /// `--faults` (empty: none).
    pub faults: String,
    /// `--failure-rate` (None: the sim's default).
    pub failure_rate: Option<f64>,
}

impl SimOptions {
    /// A fault-free sim at `speed`.
    pub fn new(speed: f64, seed: u64) -> Self {
        SimOptions {
            speed,
            seed,
            faults: String::new(),
            failure_rate: None,
        }
    }

    /// With `--faults`.
    pub fn faults(mut self, spec: &str) -> Self {
        self.faults = spec.to_string();
        self
    }

    /// With `--failure-rate`.
    pub fn failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = Some(rate);
        self
    }
}

/// A `mediajobs sim` child; killed when dropped.
#[derive(Debug)]
pub struct Sim {
    child: Child,
    /// The readiness line.
    pub ready: Value,
    stderr_path: PathBuf,
}

impl Sim {
    /// Starts the sim and reads its readiness line (the only readiness signal).
    pub fn start(options: &SimOptions, dir: &Path) -> Sim {
        let stderr_path = dir.join("sim.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("sim stderr file");
        let mut cmd = Command::new(BIN);
        cmd.args(["sim", "--addr", "127.0.0.1:0", "--speed"])
            .arg(options.speed.to_string())
            .arg("--seed")
            .arg(options.seed.to_string());
        if !options.faults.is_empty() {
            cmd.arg("--faults").arg(&options.faults);
        }
        if let Some(rate) = options.failure_rate {
            cmd.arg("--failure-rate").arg(rate.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start mediajobs sim");
        let stdout = child.stdout.take().expect("sim stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep draining so the sim never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the sim printed no readiness line ({e:?}); stderr: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        };
        let ready: Value = serde_json::from_str(&line).expect("readiness line is JSON");
        Sim {
            child,
            ready,
            stderr_path,
        }
    }

    /// `{admin}`.
    pub fn admin(&self) -> String {
        self.ready["admin"].as_str().expect("admin url").to_string()
    }

    /// The environment a client needs to talk to this sim (DESIGN.md, "Environment and CLI").
    pub fn env(&self) -> Vec<(String, String)> {
        let r = &self.ready;
        let mut env = Vec::new();
        for p in ["vibepeak", "videogen", "vidiking"] {
            let up = p.to_uppercase();
            env.push((format!("{up}_API_KEY"), text(&r["api_keys"][p])));
            env.push((format!("{up}_BASE_URL"), text(&r[p])));
        }
        for p in ["vibepeak", "vidiking"] {
            env.push((
                format!("{}_WEBHOOK_SECRET", p.to_uppercase()),
                text(&r["webhook_secrets"][p]),
            ));
        }
        env.push(("MEDIAJOBS_SIM_CLOCK".into(), self.admin()));
        env
    }

    /// `GET {admin}/stats`: the ground truth.
    pub fn stats(&self) -> Value {
        let (status, body) = http_get(&format!("{}/stats", self.admin()));
        assert_eq!(status, 200, "GET /_sim/stats answered {status}: {body}");
        serde_json::from_str(&body).expect("stats are JSON")
    }

    /// What the sim wrote on stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

/// A plain HTTP/1.1 GET over loopback (no client library needed): status and body.
pub fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    assert!(host.starts_with("127.0.0.1:"), "only loopback: {url}");
    let mut stream = TcpStream::connect(host).expect("connect to the sim");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    )
    .expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, String::from_utf8_lossy(&body).to_string())
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1_000_000 {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .expect("chunk size");
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

/// How a child process ended.
#[derive(Debug, Clone)]
pub struct Ended {
    /// Its exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Whether we killed it (SIGKILL) while it was still running.
    pub killed: bool,
    /// Everything it wrote on stdout.
    pub stdout: String,
    /// Every line it wrote on stderr.
    pub stderr: Vec<String>,
}

impl Ended {
    /// The `--json` summary: the last stdout line.
    pub fn summary(&self) -> Value {
        let last = self
            .stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        serde_json::from_str(last).unwrap_or_else(|e| {
            panic!(
                "no JSON summary on stdout ({e}): stdout {:?}, stderr tail {:?}",
                self.stdout,
                tail(&self.stderr)
            )
        })
    }
}

/// The last lines of a log, for failure messages.
pub fn tail(lines: &[String]) -> Vec<String> {
    lines.iter().rev().take(25).rev().cloned().collect()
}

/// A `mediajobs` child whose stderr lines are watched as they come.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    lines: Receiver<String>,
    seen: usize,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Option<JoinHandle<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Proc {
    /// Starts `mediajobs <args>` in `cwd` with `env` added.
    pub fn spawn(args: &[String], env: &[(String, String)], cwd: &Path) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start mediajobs");
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(out).read_to_string(&mut s);
            s
        });
        let (tx, rx) = channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut l) = log2.lock() {
                    l.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
        Proc {
            child,
            lines: rx,
            seen: 0,
            stderr: log,
            stdout: Some(stdout),
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Waits until `n` stderr lines were seen in all, the process closed stderr, or `limit`
    /// passed. Returns whether `n` lines were seen.
    pub fn wait_lines(&mut self, n: usize, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while self.seen < n {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(_) => self.seen += 1,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
        true
    }

    /// Sends SIGKILL (if it still runs) and reaps it.
    pub fn kill(mut self) -> Ended {
        let running = matches!(self.child.try_wait(), Ok(None));
        if running {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("reap child");
        self.collect(status.code(), running)
    }

    /// Waits for the process to end by itself, at most `limit` (then kills it and panics).
    pub fn wait(mut self, limit: Duration) -> Ended {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return self.collect(status.code(), false);
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let ended = self.collect(None, true);
                panic!(
                    "mediajobs did not end within {limit:?}; stderr tail: {:#?}",
                    tail(&ended.stderr)
                );
            }
            // Drain progress lines meanwhile (the receiver is unbounded anyway).
            let _ = self.lines.recv_timeout(Duration::from_millis(20));
        }
    }

    fn collect(&mut self, code: Option<i32>, killed: bool) -> Ended {
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if let Some(h) = self.stderr_reader.take() {
            let _ = h.join();
        }
        let stderr = self.stderr.lock().map(|l| l.clone()).unwrap_or_default();
        Ended {
            code,
            killed,
            stdout,
            stderr,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Where a kill lands: after the k-th stderr progress line, or after a delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillPoint {
    /// After this many stderr lines.
    Lines(usize),
    /// After this many milliseconds.
    Delay(u64),
}

impl KillPoint {
    /// A seeded kill point: after up to `max_lines` lines, or after a delay of up to `max_ms`
    /// drawn log-uniformly (as many kills in the first few milliseconds, where intents and
    /// submits happen, as in the long tail of waiting and downloading).
    pub fn random(rng: &mut StdRng, max_lines: usize, max_ms: u64) -> KillPoint {
        if rng.gen_bool(0.5) {
            KillPoint::Lines(rng.gen_range(0..=max_lines))
        } else {
            let x: f64 = rng.gen_range(0.0..=((max_ms as f64) + 1.0).ln());
            KillPoint::Delay((x.exp() - 1.0) as u64)
        }
    }

    /// Waits for the point (bounded), then kills `proc`.
    pub fn kill(self, mut proc: Proc) -> Ended {
        match self {
            KillPoint::Lines(n) => {
                proc.wait_lines(n, Duration::from_secs(60));
            }
            KillPoint::Delay(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
        proc.kill()
    }
}

/// A test folder: batch file, journal, download folder.
#[derive(Debug)]
pub struct Workdir {
    _dir: tempfile::TempDir,
    /// Its path.
    pub path: PathBuf,
}

impl Workdir {
    /// A fresh one.
    pub fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        Workdir { _dir: dir, path }
    }

    /// The journal path.
    pub fn journal(&self) -> PathBuf {
        self.path.join("j.db")
    }

    /// The download folder.
    pub fn downloads(&self) -> PathBuf {
        self.path.join("dl")
    }

    /// The batch file.
    pub fn batch(&self) -> PathBuf {
        self.path.join("batch.jsonl")
    }

    /// `run batch.jsonl --journal j.db --download dl --json [extra]`.
    pub fn run_args<S: AsRef<str>>(&self, extra: &[S]) -> Vec<String> {
        let mut a = vec![
            "run".to_string(),
            self.batch().display().to_string(),
            "--journal".into(),
            self.journal().display().to_string(),
            "--download".into(),
            self.downloads().display().to_string(),
            "--json".into(),
        ];
        a.extend(extra.iter().map(|s| s.as_ref().to_string()));
        a
    }

    /// `resume --journal j.db --download dl --json [extra]`.
    pub fn resume_args<S: AsRef<str>>(&self, extra: &[S]) -> Vec<String> {
        let mut a = vec![
            "resume".to_string(),
            "--journal".into(),
            self.journal().display().to_string(),
            "--download".into(),
            self.downloads().display().to_string(),
            "--json".into(),
        ];
        a.extend(extra.iter().map(|s| s.as_ref().to_string()));
        a
    }

    /// `status --journal j.db --json`, parsed.
    pub fn status(&self) -> Value {
        let out = Command::new(BIN)
            .args(["status", "--json", "--journal"])
            .arg(self.journal())
            .output()
            .expect("mediajobs status");
        assert!(
            out.status.success(),
            "status --journal failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }
}

/// One batch line.
#[derive(Debug, Clone)]
pub struct Line {
    /// `vibepeak`, `videogen` or `vidiking`.
    pub provider: &'static str,
    /// The VideoGen tool.
    pub tool: Option<&'static str>,
    /// Its key.
    pub key: String,
    /// The request body.
    pub request: Value,
}

impl Line {
    /// The JSON line.
    pub fn to_json(&self) -> String {
        let mut v = json!({"provider": self.provider, "key": self.key, "request": self.request});
        if let Some(t) = self.tool {
            v["tool"] = json!(t);
        }
        v.to_string()
    }

    /// The sim's `body_sha256` of this line's submit, where the client sends the body as given
    /// (VibePeak and VideoGen; Vidiking adds our key to `metadata`).
    pub fn body_sha256(&self) -> Option<String> {
        let path = match self.provider {
            "vibepeak" => "/v1/real-estate/narrated-slideshow".to_string(),
            "videogen" => format!("/v1/tools/{}", self.tool?),
            _ => return None,
        };
        let mut body = self.request.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("webhook_url");
            o.remove("callback");
        }
        let text = format!("POST {path}\n{}", canonical(&body));
        Some(hex::encode(Sha256::digest(text.as_bytes())))
    }
}

/// Canonical JSON: keys sorted recursively, no whitespace.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// A share of each provider in a batch.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// VibePeak weight.
    pub vibepeak: u32,
    /// VideoGen weight.
    pub videogen: u32,
    /// Vidiking weight.
    pub vidiking: u32,
}

impl Mix {
    /// One of each, in turn.
    pub const EVEN: Mix = Mix {
        vibepeak: 1,
        videogen: 1,
        vidiking: 1,
    };
}

const VIDEOGEN_TOOLS: [&str; 3] = ["generate-image", "text-to-speech", "generate-sound-effect"];

/// `n` valid jobs over the three providers (each request distinct), keys `{provider}-{i}`,
/// shuffled by `seed`.
pub fn batch(n: usize, seed: u64, mix: Mix) -> Vec<Line> {
    let mut rng = StdRng::seed_from_u64(seed);
    let total = (mix.vibepeak + mix.videogen + mix.vidiking).max(1);
    let mut lines = Vec::with_capacity(n);
    for i in 0..n {
        // Deterministic shares (not random) so small batches still hold every provider.
        let slot = (i as u32) % total;
        let provider = if slot < mix.vibepeak {
            "vibepeak"
        } else if slot < mix.vibepeak + mix.videogen {
            "videogen"
        } else {
            "vidiking"
        };
        let key = format!("{provider}-{i}");
        let (tool, request) = match provider {
            "vibepeak" => (None, vibepeak_body(seed, i)),
            "videogen" => {
                let tool = VIDEOGEN_TOOLS[(i / total as usize) % VIDEOGEN_TOOLS.len()];
                (Some(tool), videogen_body(tool, seed, i, &mut rng))
            }
            _ => (None, vidiking_body(seed, i, &mut rng)),
        };
        lines.push(Line {
            provider,
            tool,
            key,
            request,
        });
    }
    // A seeded shuffle, so providers interleave differently from seed to seed.
    for i in (1..lines.len()).rev() {
        let j = rng.gen_range(0..=i);
        lines.swap(i, j);
    }
    lines
}

fn vibepeak_body(seed: u64, i: usize) -> Value {
    let images: Vec<String> = (0..6)
        .map(|k| format!("https://img.example.com/s{seed}/job{i}/{k}.jpg"))
        .collect();
    let mut script = String::new();
    while script.chars().count() < 45 * 6 {
        script.push_str("Welcome home, a bright and quiet place. ");
    }
    let script: String = script.chars().take(45 * 6).collect();
    json!({"images": images, "voice": {"voice_id": "narrator_1", "language": "en"}, "script": script})
}

fn videogen_body(tool: &str, seed: u64, i: usize, rng: &mut StdRng) -> Value {
    match tool {
        "generate-image" => {
            json!({"prompt": format!("a house by the sea, take {i} of {seed}"), "numResults": rng.gen_range(1..=2)})
        }
        "text-to-speech" => json!({"ttsText": format!("Hello from job {i} of batch {seed}.")}),
        _ => json!({"prompt": format!("a door closing, take {i} of {seed}"), "durationSeconds": 3}),
    }
}

fn vidiking_body(seed: u64, i: usize, rng: &mut StdRng) -> Value {
    let format = ["mp4", "gif", "webm"][rng.gen_range(0..3)];
    json!({
        "timeline": {"tracks": [{"clips": [
            {"asset": {"type": "title", "text": format!("job {i} of {seed}")}, "start": 0, "length": rng.gen_range(1..=2)}
        ]}]},
        "output": {"format": format, "resolution": "sd"}
    })
}

/// Writes the batch file.
pub fn write_batch(path: &Path, lines: &[Line]) {
    let text: String = lines.iter().map(|l| l.to_json() + "\n").collect();
    std::fs::write(path, text).expect("write batch");
}

/// Unified status from a provider's own word (as the sim states it).
pub fn unified(raw: &str) -> &'static str {
    match raw.to_ascii_lowercase().as_str() {
        "completed" | "succeeded" | "complete" => "succeeded",
        "failed" => "failed",
        "cancelled" | "canceled" => "cancelled",
        "queued" | "pending" => "queued",
        _ => "running",
    }
}

fn is_terminal(unified: &str) -> bool {
    matches!(unified, "succeeded" | "failed" | "cancelled")
}

/// The journal and the files on disk judged against the sim's ground truth.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// Lines of the batch.
    pub lines: usize,
    /// Tasks the sim holds.
    pub sim_tasks: usize,
    /// Lines whose journal item is terminal and agrees with the sim's task.
    pub at_true_terminal: usize,
    /// Lines that are `uncertain` in the journal.
    pub uncertain: Vec<String>,
    /// Lines neither terminal nor uncertain, or missing from the journal: `key: why`.
    pub lost: Vec<String>,
    /// Lines whose journal state disagrees with the sim: `key: why`.
    pub mismatched: Vec<String>,
    /// Request bodies the sim received more than once: `hash × n`.
    pub duplicate_bodies: Vec<String>,
    /// Sim tasks no journal item points at: `provider id hash`.
    pub orphans: Vec<String>,
    /// Problems with the saved files: `key: why`.
    pub file_problems: Vec<String>,
    /// Files checked (present, size and SHA-256 as recorded).
    pub files_checked: usize,
    /// `webhooks.*.forged_2xx` in all.
    pub forged_2xx: u64,
    /// `webhooks.*.forged` in all.
    pub forged: u64,
    /// `providers.*.requests` in all.
    pub api_requests: u64,
    /// `faults.*` in all, by `provider op:kind`.
    pub faults: BTreeMap<String, u64>,
}

impl Audit {
    /// Audits `work`'s journal and downloads for `lines` against `stats`.
    ///
    /// `allowed_orphans`: hashes of sim tasks no journal item needs to point at (a VibePeak job
    /// reported `uncertain`, whose first submit did reach the provider); `allowed_twice`: hashes
    /// whose duplicates the user accepted (`--resubmit-uncertain` of such a job).
    pub fn new(
        lines: &[Line],
        work: &Workdir,
        stats: &Value,
        allowed_orphans: &HashSet<String>,
        allowed_twice: &HashSet<String>,
    ) -> Audit {
        let mut audit = Audit {
            lines: lines.len(),
            ..Audit::default()
        };
        let tasks = stats["tasks"].as_array().cloned().unwrap_or_default();
        audit.sim_tasks = tasks.len();
        let mut by_id: HashMap<(String, String), &Value> = HashMap::new();
        let mut by_hash: HashMap<String, usize> = HashMap::new();
        for t in &tasks {
            by_id.insert((text(&t["provider"]), text(&t["id"])), t);
            *by_hash.entry(text(&t["body_sha256"])).or_default() += 1;
        }
        let mut dups: Vec<String> = by_hash
            .iter()
            .filter(|(h, n)| **n > 1 && !allowed_twice.contains(*h))
            .map(|(h, n)| format!("{h} x{n}"))
            .collect();
        dups.sort();
        audit.duplicate_bodies = dups;
        for (name, w) in stats["webhooks"].as_object().into_iter().flatten() {
            audit.forged_2xx += w["forged_2xx"].as_u64().unwrap_or(0);
            audit.forged += w["forged"].as_u64().unwrap_or(0);
            let _ = name;
        }
        for p in stats["providers"].as_object().into_iter().flatten() {
            audit.api_requests += p.1["requests"].as_u64().unwrap_or(0);
        }
        for (provider, kinds) in stats["faults"].as_object().into_iter().flatten() {
            for (kind, n) in kinds.as_object().into_iter().flatten() {
                audit
                    .faults
                    .insert(format!("{provider} {kind}"), n.as_u64().unwrap_or(0));
            }
        }

        let status = work.status();
        let items: HashMap<String, Value> = status["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|i| (text(&i["key"]), i))
            .collect();
        let journal = SqliteJournal::open_read_only(work.journal()).expect("open the journal");
        let records: HashMap<String, mediajobs::journal::JobRecord> = journal
            .jobs()
            .expect("journal jobs")
            .into_iter()
            .map(|j| (j.key.clone(), j))
            .collect();
        let mut claimed: HashSet<(String, String)> = HashSet::new();
        for line in lines {
            let Some(item) = items.get(&line.key) else {
                audit.lost.push(format!("{}: not in the journal", line.key));
                continue;
            };
            let state = text(&item["status"]);
            let id = item["id"].as_str().map(str::to_string);
            if let Some(id) = &id {
                claimed.insert((line.provider.to_string(), id.clone()));
            }
            if state == "uncertain" {
                audit.uncertain.push(line.key.clone());
                continue;
            }
            if !is_terminal(&state) {
                audit
                    .lost
                    .push(format!("{}: left {state} ({id:?})", line.key));
                continue;
            }
            let Some(id) = id else {
                audit
                    .mismatched
                    .push(format!("{}: {state} without a remote id", line.key));
                continue;
            };
            let Some(task) = by_id.get(&(line.provider.to_string(), id.clone())) else {
                audit
                    .mismatched
                    .push(format!("{}: {id} is not a task of the sim", line.key));
                continue;
            };
            let truth = text(&task["status"]);
            if unified(&truth) != state || text(&item["raw_status"]) != truth {
                audit.mismatched.push(format!(
                    "{}: journal {state}/{} but the sim says {truth}",
                    line.key,
                    text(&item["raw_status"])
                ));
                continue;
            }
            if let Some(h) = line.body_sha256() {
                if text(&task["body_sha256"]) != h {
                    audit
                        .mismatched
                        .push(format!("{}: {id} is another request's task", line.key));
                    continue;
                }
            }
            audit.at_true_terminal += 1;
            if state == "succeeded" {
                audit.check_files(&line.key, item, records.get(&line.key));
            }
        }
        for t in &tasks {
            let k = (text(&t["provider"]), text(&t["id"]));
            if !claimed.contains(&k) && !allowed_orphans.contains(&text(&t["body_sha256"])) {
                audit
                    .orphans
                    .push(format!("{} {} {}", k.0, k.1, text(&t["body_sha256"])));
            }
        }
        audit
    }

    fn check_files(
        &mut self,
        key: &str,
        item: &Value,
        record: Option<&mediajobs::journal::JobRecord>,
    ) {
        let Some(record) = record else {
            self.file_problems.push(format!("{key}: no journal record"));
            return;
        };
        if record.outputs.is_empty() {
            self.file_problems
                .push(format!("{key}: succeeded without outputs"));
        }
        let listed: HashSet<String> = item["files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        for out in &record.outputs {
            let Some(d) = &out.download else {
                self.file_problems
                    .push(format!("{key}: output {} not downloaded", out.index));
                continue;
            };
            if !listed.contains(&d.path) {
                self.file_problems
                    .push(format!("{key}: {} missing from status files", d.path));
            }
            match std::fs::read(&d.path) {
                Ok(bytes) => {
                    let sha = hex::encode(Sha256::digest(&bytes));
                    if sha != d.sha256 || bytes.len() as u64 != d.bytes || bytes.is_empty() {
                        self.file_problems.push(format!(
                            "{key}: {} has {} bytes sha256 {sha}, the journal recorded {} bytes {}",
                            d.path,
                            bytes.len(),
                            d.bytes,
                            d.sha256
                        ));
                    } else {
                        self.files_checked += 1;
                    }
                }
                Err(e) => self.file_problems.push(format!("{key}: {}: {e}", d.path)),
            }
        }
    }

    /// Nothing lost, nothing paid twice, nothing wrong on disk, no forgery accepted.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        p.extend(self.lost.iter().map(|s| format!("lost: {s}")));
        p.extend(self.mismatched.iter().map(|s| format!("wrong state: {s}")));
        p.extend(
            self.duplicate_bodies
                .iter()
                .map(|s| format!("submitted twice: {s}")),
        );
        p.extend(
            self.orphans
                .iter()
                .map(|s| format!("task nobody waits for: {s}")),
        );
        p.extend(self.file_problems.iter().map(|s| format!("file: {s}")));
        if self.forged_2xx > 0 {
            p.push(format!(
                "{} forged webhook(s) answered 2xx",
                self.forged_2xx
            ));
        }
        p
    }

    /// Panics with every problem, naming `context` (the seed, the kill points).
    pub fn assert_settled(&self, context: &str) {
        let mut p = self.problems();
        if !self.uncertain.is_empty() {
            p.push(format!("still uncertain: {:?}", self.uncertain));
        }
        if self.at_true_terminal != self.lines {
            p.push(format!(
                "{} of {} lines at their true terminal state",
                self.at_true_terminal, self.lines
            ));
        }
        assert!(p.is_empty(), "{context}: {p:#?}");
    }
}

/// What the journal held at the moment of a kill (which phase the kill interrupted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phase {
    /// No job had reached the provider (no id, nothing in flight).
    pub before_submit: bool,
    /// A submit was on the wire (sending marker without an answer).
    pub mid_submit: bool,
    /// A job was queued or running.
    pub waiting: bool,
    /// A job had succeeded with an output not yet saved.
    pub downloading: bool,
}

impl Phase {
    /// Reads the journal after a kill (read-only; no lock needed).
    pub fn of(work: &Workdir) -> Phase {
        let Ok(journal) = SqliteJournal::open_read_only(work.journal()) else {
            return Phase {
                before_submit: true,
                ..Phase::default()
            };
        };
        let jobs = journal.jobs().unwrap_or_default();
        use mediajobs::journal::JobState;
        Phase {
            before_submit: jobs.iter().all(|j| {
                j.remote_id.is_none() && j.sending_since.is_none() && j.state == JobState::Pending
            }),
            mid_submit: jobs.iter().any(|j| j.is_sending()),
            waiting: jobs
                .iter()
                .any(|j| matches!(j.state, JobState::Queued | JobState::Running)),
            downloading: jobs.iter().any(|j| {
                j.state == JobState::Succeeded
                    && (j.outputs.is_empty() || j.outputs.iter().any(|o| o.download.is_none()))
            }),
        }
    }

    /// Adds another kill's phase to a tally.
    pub fn tally(self, counts: &mut [u32; 4]) {
        for (i, hit) in [
            self.before_submit,
            self.mid_submit,
            self.waiting,
            self.downloading,
        ]
        .into_iter()
        .enumerate()
        {
            if hit {
                counts[i] += 1;
            }
        }
    }
}
