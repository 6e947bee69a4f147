//! Shared helpers of the CLI tests (`cli.rs`, `secrets.rs`): a real `mediajobs sim` child
//! started from the binary under test, the environment its readiness line implies, running
//! the binary with that environment (never the test process's), a tiny HTTP client for the
//! sim's admin endpoints and for posting webhooks, and HMAC signing done independently of the
//! code under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mediajobs")
}

/// How long any one CLI invocation may take before the test fails (it is killed).
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `mediajobs sim` child; killed when dropped.
pub struct Sim {
    child: Child,
    /// The readiness line, parsed.
    pub ready: Value,
}

impl Sim {
    /// `mediajobs sim --addr 127.0.0.1:0 --speed 600` (VibePeak's 4–10 min take about 1 s).
    pub fn start() -> Sim {
        Sim::start_with(&["--speed", "600"])
    }

    /// `mediajobs sim --addr 127.0.0.1:0 ARGS…`, returned once its readiness line is read.
    pub fn start_with(args: &[&str]) -> Sim {
        let mut child = Command::new(bin())
            .args(["sim", "--addr", "127.0.0.1:0"])
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mediajobs sim");
        let stdout = child.stdout.take().expect("sim stdout");
        // The readiness line is the explicit signal: reading it blocks until the sim listens.
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut line)
            .expect("read the sim's readiness line");
        let ready: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("readiness line {line:?} is not JSON: {e}"));
        Sim { child, ready }
    }

    /// A field of the readiness line as a string (`"admin"`, `"/api_keys/videogen"` pointers
    /// too).
    pub fn field(&self, pointer: &str) -> String {
        let v = if pointer.starts_with('/') {
            self.ready.pointer(pointer)
        } else {
            self.ready.get(pointer)
        };
        v.and_then(Value::as_str)
            .unwrap_or_else(|| panic!("readiness line has no {pointer}: {}", self.ready))
            .to_string()
    }

    /// The admin URL (`http://127.0.0.1:P/_sim`).
    pub fn admin(&self) -> String {
        self.field("admin")
    }

    /// The API key of `provider`, from the readiness line.
    pub fn api_key(&self, provider: &str) -> String {
        self.field(&format!("/api_keys/{provider}"))
    }

    /// The webhook secret of `provider` (vibepeak, vidiking), from the readiness line.
    pub fn webhook_secret(&self, provider: &str) -> String {
        self.field(&format!("/webhook_secrets/{provider}"))
    }

    /// Every variable the contract names, from the readiness line.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        for (p, prefix) in [
            ("vibepeak", "VIBEPEAK"),
            ("videogen", "VIDEOGEN"),
            ("vidiking", "VIDIKING"),
        ] {
            env.push((format!("{prefix}_API_KEY"), self.api_key(p)));
            env.push((format!("{prefix}_BASE_URL"), self.field(p)));
            if let Some(secret) = self.ready.pointer(&format!("/webhook_secrets/{p}")) {
                env.push((
                    format!("{prefix}_WEBHOOK_SECRET"),
                    secret.as_str().unwrap().to_string(),
                ));
            }
        }
        env.push(("MEDIAJOBS_SIM_CLOCK".into(), self.admin()));
        env
    }

    /// The binary with exactly this sim's environment (the test process's is cleared).
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.env_clear();
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `mediajobs ARGS…` against this sim.
    pub fn run(&self, args: &[&str]) -> Run {
        run(self.cmd().args(args), None)
    }

    /// Runs `mediajobs ARGS…` against this sim with `stdin` as its standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        run(self.cmd().args(args), Some(stdin))
    }

    /// `GET {admin}/stats`, the ground truth.
    pub fn stats(&self) -> Value {
        let (status, body) = http("GET", &format!("{}/stats", self.admin()), &[], b"");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// How many tasks the sim holds (every provider).
    pub fn task_count(&self) -> usize {
        self.stats()["tasks"].as_array().unwrap().len()
    }

    /// Every API request the sim counted (every provider).
    pub fn requests(&self) -> u64 {
        let stats = self.stats();
        stats["providers"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["requests"].as_u64().unwrap())
            .sum()
    }

    /// The sim's clock now, as unix seconds (with milliseconds).
    pub fn now_unix(&self) -> f64 {
        let (status, body) = http("GET", &format!("{}/clock", self.admin()), &[], b"");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let now = chrono::DateTime::parse_from_rfc3339(v["now"].as_str().unwrap()).unwrap();
        now.timestamp_millis() as f64 / 1000.0
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The outcome of one invocation.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Fails the test unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout's last line, parsed as JSON (`--json` ends stdout with one object).
    pub fn json(&self) -> Value {
        let line = self
            .stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("no stdout\n--- stderr\n{}", self.stderr));
        serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "stdout's last line is not JSON ({e}): {line}\n--- stderr\n{}",
                self.stderr
            )
        })
    }

    /// Stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the invocation did not panic (no panic message, no backtrace).
    pub fn no_panic(&self) -> &Self {
        let all = self.all();
        assert!(
            !all.contains("panicked")
                && !all.contains("backtrace")
                && !all.contains("RUST_BACKTRACE"),
            "the binary panicked:\n{all}"
        );
        assert_ne!(self.code, Some(101), "exit 101 is a panic:\n{all}");
        self
    }
}

/// Runs `cmd` to its end (at most [`INVOCATION_TIMEOUT`]), feeding `stdin`.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mediajobs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
        drop(pipe);
    }
    let out = reader_thread(child.stdout.take().unwrap());
    let err = reader_thread(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > INVOCATION_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "mediajobs {:?} did not finish in {INVOCATION_TIMEOUT:?}",
                cmd.get_args().collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn reader_thread(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// A long-running child (`webhooks serve`): its readiness line read, its stdout lines
/// readable one by one; killed when dropped.
pub struct Server {
    child: Child,
    lines: BufReader<ChildStdout>,
    /// The readiness line as printed.
    pub ready_line: String,
}

impl Server {
    /// Spawns `cmd` and reads its first stdout line (the readiness line).
    pub fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mediajobs");
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut ready_line = String::new();
        lines.read_line(&mut ready_line).unwrap();
        Server {
            child,
            lines,
            ready_line,
        }
    }

    /// Stops the child (SIGKILL) and returns the rest of stdout and all of stderr.
    pub fn stop(mut self) -> (String, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = String::new();
        let _ = self.lines.read_to_string(&mut rest);
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (rest, err)
    }

    /// The next stdout line (blocks until the child prints one).
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).unwrap();
        line
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 request to a 127.0.0.1 URL; returns the status and the body.
pub fn http(method: &str, url: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs: {url}"));
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    assert!(host.starts_with("127.0.0.1:"), "only 127.0.0.1: {url}");
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    // A server may answer from the headers (413 from Content-Length) and close before the
    // body is all sent: the answer is what counts.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if raw.is_empty() => panic!("no answer from {url}: {e}"),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad HTTP answer: {head}"));
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Hex HMAC-SHA256 of `msg` under `secret` (the secret's UTF-8 bytes, as the providers do).
pub fn hmac_hex(secret: &str, msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// The sim's `body_sha256` of a request: SHA-256 of `"{METHOD} {path}\n{canonical body}"`,
/// keys sorted, no whitespace, without top-level `webhook_url` and `callback`.
pub fn body_sha256(method: &str, path: &str, body: &Value) -> String {
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("webhook_url");
        o.remove("callback");
    }
    let text = format!("{method} {path}\n{}", canonical(&body));
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn canonical(v: &Value) -> String {
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

/// A valid VibePeak narrated-slideshow request (6 images, a script of the right length).
pub fn vibepeak_request(tag: &str) -> Value {
    let images: Vec<String> = (1..=6)
        .map(|i| format!("https://photos.example.com/{tag}/{i}.jpg"))
        .collect();
    let sentence =
        "Welcome home: a bright living room, a calm garden and a kitchen made for long dinners. ";
    let script: String = sentence
        .chars()
        .cycle()
        .take(45 * 6)
        .collect::<String>()
        .trim_end()
        .to_string();
    serde_json::json!({
        "images": images,
        "voice": {"voice_id": "voice_rachel", "language": "en"},
        "script": script,
    })
}

/// A VibePeak request that fails with the documented `IMAGE_PROCESSING_FAILED`.
pub fn vibepeak_failing_request(tag: &str) -> Value {
    let mut r = vibepeak_request(tag);
    r["test_scenario"] = "image_processing_failed".into();
    r
}

/// A valid Vidiking render request: one title clip of `length` seconds.
pub fn vidiking_request(text: &str, length: u32) -> Value {
    serde_json::json!({
        "timeline": {"tracks": [{"clips": [{
            "asset": {"type": "title", "text": text},
            "start": 0,
            "length": length,
        }]}]},
        "output": {"format": "mp4", "resolution": "hd"},
    })
}

/// A Vidiking render whose asset is on `missing.invalid`: fails with `INVALID_ASSET`.
pub fn vidiking_missing_asset_request() -> Value {
    serde_json::json!({
        "timeline": {"tracks": [{"clips": [{
            "asset": {"type": "image", "src": "https://missing.invalid/photo.jpg"},
            "start": 0,
            "length": 5,
        }]}]},
        "output": {"format": "mp4", "resolution": "hd"},
    })
}

/// One batch line.
pub fn batch_line(provider: &str, tool: Option<&str>, key: &str, request: &Value) -> String {
    let mut line = serde_json::json!({"provider": provider, "key": key, "request": request});
    if let Some(t) = tool {
        line["tool"] = t.into();
    }
    line.to_string()
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}
