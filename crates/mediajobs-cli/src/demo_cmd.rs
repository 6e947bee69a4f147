//! `mediajobs demo`: the whole of mediajobs in one command, on a fresh machine with no keys and
//! no network.
//!
//! The simulator starts in-process on 127.0.0.1 at high speed; a mixed batch over all three
//! providers (with documented failures) goes through exactly the code path of `mediajobs run`
//! ([`Session`]: journal, scheduler, webhook receiver with the VideoGen endpoint registered,
//! polling as the safety net, downloads), configured from the simulator's keys, secrets and
//! clock instead of the environment. At the end every job is judged against the simulator's
//! ground truth (`GET /_sim/stats`) and a summary compares the API calls made with what the
//! providers' documented polling loops would have cost for the same jobs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediajobs::batch::BatchLine;
use mediajobs::core::Timestamp;
use mediajobs::journal::{JobRecord, JobState, Journal, SqliteJournal};
use mediajobs::sim::{RunningSim, Sim, SimConfig};
use mediajobs::transport::{HttpRequest, ReqwestTransport, Transport};
use mediajobs::{Clock, Provider, ScaledClock};
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::{BatchOptions, DemoArgs};
use crate::batch_cmd::Session;
use crate::exit::{CliError, JOB_FAILED, UNREACHABLE};
use crate::jobs_cmd::Env;

/// The demo's journal, inside the output folder (replaced by every demo).
const JOURNAL_FILE: &str = "demo-journal.sqlite";
/// The folder used without `--out`.
pub const DEFAULT_OUT: &str = "mediajobs-demo";

/// The documented polling loops a naive client would run (PROVIDERS.md): label and interval in
/// seconds.
fn naive_loops(provider: Provider) -> &'static [(&'static str, f64)] {
    match provider {
        Provider::VibePeak => &[("every_30s", 30.0), ("every_5s", 5.0)],
        Provider::VideoGen => &[("every_1.5s", 1.5)],
        Provider::Vidiking => &[("every_3s", 3.0)],
    }
}

pub async fn run(args: DemoArgs, json_out: bool, quiet: bool) -> Result<u8, CliError> {
    if !(args.speed.is_finite() && args.speed >= 1.0 && args.speed <= 100_000.0) {
        return Err(CliError::usage(format!(
            "--speed {}: must be a number between 1 and 100000 (300 = five simulated minutes per real second)",
            args.speed
        )));
    }
    if args.jobs == 0 || args.jobs > 3000 {
        return Err(CliError::usage(format!(
            "--jobs {}: must be between 1 and 3000",
            args.jobs
        )));
    }
    let started = Instant::now();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
    std::fs::create_dir_all(&out).map_err(|e| {
        CliError::usage(format!(
            "--out {}: cannot create the folder: {e}",
            out.display()
        ))
    })?;
    let journal_path = out.join(JOURNAL_FILE);

    let config = SimConfig {
        speed: args.speed,
        seed: args.seed,
        ..SimConfig::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = Sim::start(addr, config).await.map_err(|e| CliError {
        code: UNREACHABLE,
        message: format!("could not start the simulator on {addr}: {e}"),
    })?;
    let transport: Arc<dyn Transport> = Arc::new(
        ReqwestTransport::with_defaults()
            .map_err(|e| CliError::usage(format!("could not set up HTTP: {}", e.message)))?,
    );
    let admin = sim.admin_url();
    let clock: Arc<dyn Clock> = Arc::new(sim_clock(transport.as_ref(), &admin).await?);
    let env = Env {
        clock: clock.clone(),
        transport: transport.clone(),
    };
    // Keys, base URLs and webhook secrets from the simulator, never from the process
    // environment (a VIDIKING_SANDBOX or a real key there must not leak into the demo).
    let values = sim_values(&sim);
    let lookup = move |name: &str| values.get(name).cloned();

    let journal = Arc::new(fresh_journal(&journal_path, clock.clone())?);
    let options = BatchOptions {
        journal: journal_path.clone(),
        download: Some(out.clone()),
        webhooks_addr: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        webhook_url: None,
        safety_poll: 300,
        deadline: 6 * 3600,
    };
    let lines = demo_batch(args.jobs);
    if !json_out && !quiet {
        errln!(
            "mediajobs demo: simulator on {} at {}x (seed {}), {} jobs over VibePeak, VideoGen and Vidiking, results into {}",
            sim.local_addr(),
            args.speed,
            args.seed,
            lines.len(),
            out.display()
        );
    }
    let sim_started = clock.now();
    let session = Session::start_with(
        &env,
        &lookup,
        journal,
        &Provider::ALL,
        &options,
        false,
        json_out,
        quiet,
    )
    .await?;
    let report = session.runner.run(&lines).await?;
    session.display.clear();
    let mut webhooks = json!(null);
    let mut receiver_accepted = 0;
    let mut ended_by_webhook = 0;
    if let Some((server, receiver, counters)) = &session.webhooks {
        let metrics = receiver.metrics();
        let forwarded = counters.stats();
        receiver_accepted = metrics.accepted;
        ended_by_webhook = forwarded.ended_by_webhook;
        webhooks =
            json!({"receiver": metrics, "forwarded": forwarded, "url": server.url().to_string()});
    }
    if let Some((server, _, _)) = session.webhooks {
        let _ = server.shutdown().await;
    }
    let sim_elapsed = clock.now() - sim_started;
    let stats = get_json(transport.as_ref(), &format!("{admin}/stats")).await?;
    let jobs = session
        .runner
        .journal()
        .jobs()
        .map_err(|e| CliError::usage(format!("reading the demo journal: {e}")))?;
    sim.shutdown().await;

    let judged = judge(&jobs, &stats);
    let wall = started.elapsed();
    let ok = judged.mismatches.is_empty() && report.unreachable.is_empty();
    let total = |f: fn(&ProviderSummary) -> u64| judged.providers.values().map(f).sum::<u64>();
    let summary = json!({
        "ok": ok,
        "out": out.display().to_string(),
        "journal": journal_path.display().to_string(),
        "speed": args.speed,
        "seed": args.seed,
        "jobs": total(|p| p.jobs),
        "succeeded": total(|p| p.succeeded),
        "failed": total(|p| p.failed),
        "cancelled": total(|p| p.cancelled),
        "uncertain": total(|p| p.uncertain),
        "api_calls": total(|p| p.api_calls),
        "client_api_calls": report.summary.api_calls,
        "downloaded_bytes": total(|p| p.downloaded_bytes),
        "files": total(|p| p.files),
        "providers": judged.providers,
        "webhooks": webhooks,
        "ground_truth": {
            "checked": judged.checked,
            "at_true_state": judged.at_true_state,
            "mismatches": judged.mismatches,
        },
        "unreachable": report.unreachable,
        "items": judged.items,
        "sim_seconds": sim_elapsed.num_milliseconds() as f64 / 1000.0,
        "wall_seconds": (wall.as_secs_f64() * 1000.0).round() / 1000.0,
    });
    if json_out {
        outln!("{summary}");
    } else {
        print_table(
            &judged,
            &out,
            &journal_path,
            receiver_accepted,
            ended_by_webhook,
            sim_elapsed.num_seconds(),
            wall,
        );
        for u in &report.unreachable {
            outln!("unreachable: {u}");
        }
    }
    Ok(if !report.unreachable.is_empty() {
        UNREACHABLE
    } else if ok {
        0
    } else {
        JOB_FAILED
    })
}

/// The values a `{PROVIDER}_*` lookup finds: the simulator's base URLs, test keys and secrets.
fn sim_values(sim: &RunningSim) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for p in Provider::ALL {
        let prefix = p.env_prefix();
        values.insert(format!("{prefix}_BASE_URL"), sim.base_url(p.as_str()));
        values.insert(format!("{prefix}_API_KEY"), sim.api_key(p.as_str()));
        if let Some(secret) = sim.webhook_secret(p.as_str()) {
            values.insert(format!("{prefix}_WEBHOOK_SECRET"), secret);
        }
    }
    values
}

/// A new, empty demo journal at `path`, replacing the previous demo's (refused while another
/// process holds it, or when the file is not a journal).
fn fresh_journal(path: &Path, clock: Arc<dyn Clock>) -> Result<SqliteJournal, CliError> {
    if path.exists() {
        // Opening takes the run lock: a demo still running in this folder is not disturbed.
        let old = SqliteJournal::open_existing(path, clock.clone()).map_err(|e| {
            CliError::usage(format!(
                "{}: {e}; choose another folder with --out",
                path.display()
            ))
        })?;
        drop(old);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            match std::fs::remove_file(PathBuf::from(p)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(CliError::usage(format!(
                        "{}: cannot replace the previous demo journal: {e}",
                        path.display()
                    )));
                }
            }
        }
    }
    SqliteJournal::open(path, clock)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

/// `GET url` as JSON.
async fn get_json(transport: &dyn Transport, url: &str) -> Result<Value, CliError> {
    // `Method::default()` is GET (the CLI does not depend on `http` directly).
    let resp = transport
        .send(HttpRequest::new(Default::default(), url.to_string()))
        .await
        .map_err(|e| CliError {
            code: UNREACHABLE,
            message: format!("GET {url}: {}", e.message),
        })?;
    if !resp.is_success() {
        return Err(CliError {
            code: UNREACHABLE,
            message: format!("GET {url} answered HTTP {}", resp.status),
        });
    }
    serde_json::from_slice(&resp.body).map_err(|e| CliError {
        code: UNREACHABLE,
        message: format!("GET {url}: not JSON: {e}"),
    })
}

/// The client's clock: the simulator's `/clock`, scaled from there (DESIGN.md, "The client's
/// clock").
async fn sim_clock(transport: &dyn Transport, admin: &str) -> Result<ScaledClock, CliError> {
    let url = format!("{admin}/clock");
    let c = get_json(transport, &url).await?;
    let now = c["now"].as_str().and_then(|s| s.parse::<Timestamp>().ok());
    let speed = c["speed"].as_f64();
    match (now, speed) {
        (Some(now), Some(speed)) => Ok(ScaledClock::new(now, speed)),
        _ => Err(CliError {
            code: UNREACHABLE,
            message: format!("GET {url} did not answer {{now, speed}}: {c}"),
        }),
    }
}

/// The demo's batch: `jobs` jobs, one provider after another, each with its documented request
/// body. With 5 jobs or more, two of them fail by design: a VibePeak slideshow asking for the
/// documented `test_scenario: "image_processing_failed"`, and a Vidiking render with an asset on
/// the simulator's missing host (`INVALID_ASSET`).
pub fn demo_batch(jobs: usize) -> Vec<BatchLine> {
    const TOOLS: [&str; 8] = [
        "generate-image",
        "text-to-speech",
        "generate-video-clip",
        "generate-sound-effect",
        "upscale-image",
        "generate-music",
        "image-3d-effect",
        "remove-image-background",
    ];
    const PLACES: [&str; 6] = [
        "a sunny loft",
        "a garden cottage",
        "a harbour flat",
        "a farmhouse kitchen",
        "a city penthouse",
        "a lakeside cabin",
    ];
    let script_text = "Welcome home. A bright living room opens onto a calm garden, the kitchen is made for long dinners, and every bedroom wakes up with the morning sun. ";
    (0..jobs)
        .map(|i| {
            let provider = Provider::ALL[i % 3];
            let k = i / 3;
            let n = k + 1;
            let place = PLACES[k % PLACES.len()];
            let (key, tool, request) = match provider {
                Provider::VibePeak => {
                    let images = 6 + k % 4;
                    let urls: Vec<String> = (0..images)
                        .map(|j| format!("https://photos.example.com/demo/listing-{n}/{j}.jpg"))
                        .collect();
                    let script: String = script_text
                        .chars()
                        .cycle()
                        .take(45 * images)
                        .collect::<String>()
                        .trim_end()
                        .to_string();
                    let mut body = json!({
                        "images": urls,
                        "voice": {"voice_id": "voice_rachel", "language": "en"},
                        "script": script,
                        "orientation": if k % 2 == 0 { "landscape" } else { "portrait" },
                    });
                    if k == 1 {
                        body["test_scenario"] = json!("image_processing_failed");
                        (format!("vibepeak-{n:02}-image-processing-failed"), None, body)
                    } else {
                        (format!("vibepeak-{n:02}-slideshow"), None, body)
                    }
                }
                Provider::VideoGen => {
                    let tool = TOOLS[k % TOOLS.len()];
                    let file_id = format!("vg_file_{:018x}", 0xde40 + k);
                    let body = match tool {
                        "text-to-speech" => {
                            json!({"ttsText": format!("Welcome to {place}, open for visits this weekend.")})
                        }
                        "generate-video-clip" => {
                            json!({"prompt": format!("a slow drone shot over {place}"), "durationSeconds": 5})
                        }
                        "generate-sound-effect" => {
                            json!({"prompt": "a front door opening, birds outside", "durationSeconds": 4})
                        }
                        "generate-music" => {
                            json!({"prompt": "warm acoustic guitar for a house tour"})
                        }
                        "upscale-image" | "image-3d-effect" | "remove-image-background" => {
                            json!({"imageFileId": file_id})
                        }
                        _ => json!({"prompt": format!("{place} at golden hour, wide angle")}),
                    };
                    (
                        format!("videogen-{n:02}-{tool}"),
                        Some(tool.to_string()),
                        body,
                    )
                }
                Provider::Vidiking => {
                    let length = 5 + (k % 6) as u64;
                    let mut tracks = vec![json!({"clips": [{
                        "asset": {"type": "title", "text": format!("Open house: {place}")},
                        "start": 0,
                        "length": length,
                    }]})];
                    let missing = k == 1;
                    if missing {
                        tracks.push(json!({"clips": [{
                            "asset": {"type": "image", "src": "https://missing.invalid/demo/front-door.jpg"},
                            "start": 0,
                            "length": length,
                        }]}));
                    }
                    let format = ["mp4", "mp4", "webm", "gif"][k % 4];
                    let body = json!({
                        "timeline": {"background": "#000000", "tracks": tracks},
                        "output": {"format": format, "resolution": "sd"},
                    });
                    let what = if missing { "missing-asset" } else { "render" };
                    (format!("vidiking-{n:02}-{what}"), None, body)
                }
            };
            BatchLine {
                line: i + 1,
                provider,
                tool,
                key,
                request,
            }
        })
        .collect()
}

/// One provider's row of the summary.
#[derive(Debug, Default, Serialize)]
struct ProviderSummary {
    jobs: u64,
    succeeded: u64,
    failed: u64,
    failed_by_code: BTreeMap<String, u64>,
    cancelled: u64,
    uncertain: u64,
    /// Not terminal at the end (pending, queued, running).
    open: u64,
    /// Requests the simulator counted from us (ground truth), every operation.
    api_calls: u64,
    /// What the documented polling loops would have used for the same jobs: one submit plus
    /// one status read per interval until the true terminal time.
    naive_api_calls: BTreeMap<&'static str, u64>,
    files: u64,
    downloaded_bytes: u64,
    /// Genuine webhook deliveries our receiver answered 2xx (the simulator's count).
    webhooks_delivered: u64,
    at_true_state: u64,
}

/// The verdict: per provider rows, each job against the simulator's ground truth.
#[derive(Debug, Default)]
struct Judged {
    providers: BTreeMap<&'static str, ProviderSummary>,
    checked: u64,
    at_true_state: u64,
    mismatches: Vec<String>,
    items: Vec<Value>,
}

fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse::<Timestamp>().ok())
}

/// One task as the simulator knows it: its status, `created_at`, `terminal_at`.
type TaskTruth = (String, Option<Timestamp>, Option<Timestamp>);

fn judge(jobs: &[JobRecord], stats: &Value) -> Judged {
    let mut out = Judged::default();
    // The sim's tasks by (provider, id): (status, created_at, terminal_at).
    let mut truth: BTreeMap<(String, String), TaskTruth> = BTreeMap::new();
    if let Some(tasks) = stats["tasks"].as_array() {
        for t in tasks {
            let (Some(p), Some(id)) = (t["provider"].as_str(), t["id"].as_str()) else {
                continue;
            };
            truth.insert(
                (p.to_string(), id.to_string()),
                (
                    t["status"].as_str().unwrap_or("").to_string(),
                    ts(&t["created_at"]),
                    ts(&t["terminal_at"]),
                ),
            );
        }
    }
    for p in Provider::ALL {
        let name = p.as_str();
        let row = out.providers.entry(name).or_default();
        row.api_calls = stats["providers"][name]["requests"].as_u64().unwrap_or(0);
        row.webhooks_delivered = stats["webhooks"][name]["delivered_2xx"]
            .as_u64()
            .unwrap_or(0);
        for (label, _) in naive_loops(p) {
            row.naive_api_calls.insert(label, 0);
        }
        let forged = stats["webhooks"][name]["forged_2xx"].as_u64().unwrap_or(0);
        if forged > 0 {
            out.mismatches
                .push(format!("{name}: {forged} forged webhook(s) answered 2xx"));
        }
    }
    let mut seen: BTreeMap<(String, String), ()> = BTreeMap::new();
    for job in jobs {
        let name = job.provider.as_str();
        out.checked += 1;
        let Some(row) = out.providers.get_mut(name) else {
            continue;
        };
        row.jobs += 1;
        match job.state {
            JobState::Succeeded => row.succeeded += 1,
            JobState::Failed => {
                row.failed += 1;
                let code = job
                    .error
                    .as_ref()
                    .and_then(|e| e.code.clone())
                    .unwrap_or_else(|| "unknown".into());
                *row.failed_by_code.entry(code).or_default() += 1;
            }
            JobState::Cancelled => row.cancelled += 1,
            JobState::Uncertain => row.uncertain += 1,
            JobState::Pending | JobState::Queued | JobState::Running => row.open += 1,
        }
        let mut files = Vec::new();
        for o in &job.outputs {
            if let Some(d) = &o.download {
                row.files += 1;
                row.downloaded_bytes += d.bytes;
                files.push(d.path.clone());
            }
        }
        let raw = job.raw_status.clone().unwrap_or_default();
        let key = &job.key;
        let mut problem: Option<String> = None;
        let mut true_status = Value::Null;
        match &job.remote_id {
            None => {
                problem = Some(format!(
                    "{name} {key}: {} without a task at the provider{}",
                    job.state,
                    job.error
                        .as_ref()
                        .map(|e| format!(" ({})", e.message))
                        .unwrap_or_default()
                ));
            }
            Some(id) => {
                let k = (name.to_string(), id.clone());
                seen.insert(k.clone(), ());
                match truth.get(&k) {
                    None => {
                        problem = Some(format!(
                            "{name} {key} ({id}): the simulator has no such task"
                        ))
                    }
                    Some((status, created, terminal)) => {
                        true_status = json!(status);
                        if let (Some(c), Some(t)) = (created, terminal) {
                            let secs = (*t - *c).num_milliseconds().max(0) as f64 / 1000.0;
                            for (label, every) in naive_loops(job.provider) {
                                let polls = ((secs / every).ceil() as u64).max(1);
                                *row.naive_api_calls.entry(label).or_default() += 1 + polls;
                            }
                        }
                        if terminal.is_none() {
                            problem = Some(format!(
                                "{name} {key} ({id}): the simulator says {status}, not terminal, but the journal says {} ({raw})",
                                job.state
                            ));
                        } else if !job.state.is_terminal() || !raw.eq_ignore_ascii_case(status) {
                            problem = Some(format!(
                                "{name} {key} ({id}): the journal says {} ({raw}), the simulator says {status}",
                                job.state
                            ));
                        }
                    }
                }
            }
        }
        if problem.is_none() && job.state == JobState::Succeeded {
            let missing: Vec<String> = job
                .outputs
                .iter()
                .filter(|o| {
                    o.download
                        .as_ref()
                        .is_none_or(|d| !Path::new(&d.path).is_file())
                })
                .map(|o| o.index.to_string())
                .collect();
            if job.outputs.is_empty() || !missing.is_empty() {
                problem = Some(format!(
                    "{name} {key}: succeeded but output(s) [{}] not downloaded",
                    missing.join(", ")
                ));
            }
        }
        match problem {
            Some(p) => out.mismatches.push(p),
            None => {
                row.at_true_state += 1;
                out.at_true_state += 1;
            }
        }
        out.items.push(json!({
            "key": key,
            "provider": name,
            "id": job.remote_id,
            "status": job.state,
            "raw_status": job.raw_status,
            "true_status": true_status,
            "error_code": job.error.as_ref().and_then(|e| e.code.clone()),
            "files": files,
        }));
    }
    for ((p, id), (status, _, _)) in &truth {
        if !seen.contains_key(&(p.clone(), id.clone())) {
            out.mismatches.push(format!(
                "{p} {id} ({status}): a task at the provider that the journal does not know (paid twice?)"
            ));
        }
    }
    out
}

fn human_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20))
    } else if b >= 1 << 10 {
        format!("{:.1} KiB", b as f64 / 1024.0)
    } else {
        format!("{b} B")
    }
}

fn naive_text(row: &ProviderSummary, provider: Provider) -> String {
    naive_loops(provider)
        .iter()
        .map(|(label, every)| {
            format!(
                "{} @{}s",
                row.naive_api_calls.get(label).copied().unwrap_or(0),
                every
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_table(
    judged: &Judged,
    out: &Path,
    journal: &Path,
    receiver_accepted: u64,
    ended_by_webhook: u64,
    sim_seconds: i64,
    wall: Duration,
) {
    outln!();
    outln!(
        "{:<9} {:>4} {:>9} {:>6} {:>9} {:>9} {:>9}  {:<20} {:>5} {:>9} {:>8}",
        "provider",
        "jobs",
        "succeeded",
        "failed",
        "cancelled",
        "uncertain",
        "api calls",
        "docs' naive loops",
        "files",
        "bytes",
        "webhooks"
    );
    let mut total = ProviderSummary::default();
    let (mut naive_low, mut naive_high) = (0u64, 0u64);
    for p in Provider::ALL {
        let Some(row) = judged.providers.get(p.as_str()) else {
            continue;
        };
        outln!(
            "{:<9} {:>4} {:>9} {:>6} {:>9} {:>9} {:>9}  {:<20} {:>5} {:>9} {:>8}",
            p.as_str(),
            row.jobs,
            row.succeeded,
            row.failed,
            row.cancelled,
            row.uncertain,
            row.api_calls,
            naive_text(row, p),
            row.files,
            human_bytes(row.downloaded_bytes),
            row.webhooks_delivered
        );
        total.jobs += row.jobs;
        total.succeeded += row.succeeded;
        total.failed += row.failed;
        total.cancelled += row.cancelled;
        total.uncertain += row.uncertain;
        total.api_calls += row.api_calls;
        total.files += row.files;
        total.downloaded_bytes += row.downloaded_bytes;
        total.webhooks_delivered += row.webhooks_delivered;
        let values: Vec<u64> = row.naive_api_calls.values().copied().collect();
        naive_low += values.iter().copied().min().unwrap_or(0);
        naive_high += values.iter().copied().max().unwrap_or(0);
    }
    let naive_total = if naive_low == naive_high {
        naive_low.to_string()
    } else {
        format!("{naive_low}-{naive_high}")
    };
    outln!(
        "{:<9} {:>4} {:>9} {:>6} {:>9} {:>9} {:>9}  {:<20} {:>5} {:>9} {:>8}",
        "total",
        total.jobs,
        total.succeeded,
        total.failed,
        total.cancelled,
        total.uncertain,
        total.api_calls,
        naive_total,
        total.files,
        human_bytes(total.downloaded_bytes),
        total.webhooks_delivered
    );
    outln!();
    let failures: Vec<String> = judged
        .providers
        .iter()
        .flat_map(|(p, row)| {
            row.failed_by_code
                .iter()
                .map(move |(code, n)| format!("{p} {code} x{n}"))
        })
        .collect();
    if !failures.is_empty() {
        outln!(
            "failures (expected: VibePeak test_scenario, Vidiking missing asset, the sim's random 5 %): {}",
            failures.join(", ")
        );
    }
    if judged.mismatches.is_empty() {
        outln!(
            "ground truth (GET /_sim/stats): all {} jobs at their true terminal state",
            judged.at_true_state
        );
    } else {
        outln!(
            "ground truth (GET /_sim/stats): {} of {} jobs at their true terminal state; mismatches:",
            judged.at_true_state,
            judged.checked
        );
        for m in &judged.mismatches {
            outln!("  {m}");
        }
    }
    outln!(
        "webhooks: {receiver_accepted} events accepted, {ended_by_webhook} jobs ended by a webhook, polling as the safety net"
    );
    outln!(
        "api calls: counted by the simulator, every operation (submits, reads, lists, endpoint setup); naive loops: one submit plus one read per interval until each job's true end"
    );
    outln!(
        "results: {} (journal {}: try `mediajobs status --journal {}`)",
        out.display(),
        journal.display(),
        journal.display()
    );
    outln!(
        "time: {:.1} s wall, {} min {} s simulated",
        wall.as_secs_f64(),
        sim_seconds / 60,
        sim_seconds % 60
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_batch_mixes_all_providers_and_the_documented_failures() {
        let lines = demo_batch(30);
        assert_eq!(lines.len(), 30);
        for p in Provider::ALL {
            assert_eq!(lines.iter().filter(|l| l.provider == p).count(), 10);
        }
        let keys: std::collections::HashSet<&str> = lines.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys.len(), 30, "keys are unique");
        assert!(
            lines
                .iter()
                .any(|l| l.request["test_scenario"] == "image_processing_failed")
        );
        assert!(
            lines
                .iter()
                .any(|l| l.request.to_string().contains("missing.invalid"))
        );
        for l in lines.iter().filter(|l| l.provider == Provider::VibePeak) {
            let script = l.request["script"].as_str().unwrap();
            let images = l.request["images"].as_array().unwrap().len();
            assert!(script.len() >= 40 * images && script.len() <= 50 * images);
            assert!(!script.chars().any(|c| c.is_ascii_digit()));
        }
    }
}
