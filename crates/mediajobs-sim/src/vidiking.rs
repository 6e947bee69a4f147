//! Vidiking: timeline renders. `POST /v1/render`, `GET /v1/render/{id}`, `GET /v1/render`,
//! `PUT /v1/webhooks`; sandbox mode by header (720p cap, 10 requests/min, 24 h retention),
//! 100 requests/min in production, per-job callbacks and an account webhook.

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::{Method, StatusCode};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::clock::{SimMs, rfc3339, unix_secs};
use crate::faults::{Op, Provider};
use crate::files::{FileKind, signed_url};
use crate::server::{Req, RouteMatch};
use crate::state::{DueKind, Shared, lock, stats_task};
use crate::util::{
    asset_missing, bearer, body_sha256, id_number, json_response, parse_http_url, query_pairs,
    set_header, task_rng, webhook_url_ok,
};
use crate::webhooks::{Delivery, Signing, dispatch};

const TAG: u64 = 0x766b;
const RETENTION_MS: i64 = 7 * 24 * 3_600_000;
const SANDBOX_RETENTION_MS: i64 = 24 * 3_600_000;
/// Rendering longer than this fails with RENDER_TIMEOUT.
const RENDER_TIMEOUT_MS: u32 = 600_000;
const INITIAL_WALLET: f64 = 1_000_000.0;

const CODES: [&str; 5] = [
    "INVALID_ASSET",
    "INVALID_TIMELINE",
    "INSUFFICIENT_CREDITS",
    "RENDER_TIMEOUT",
    "INTERNAL_ERROR",
];

#[derive(Debug)]
struct Job {
    num: u64,
    account: u8,
    sandbox: bool,
    created: SimMs,
    /// Offset of the processing start; for a job that never starts, of its failure.
    queue_ms: u32,
    started: bool,
    /// Processing time until the terminal state.
    process_ms: u32,
    /// Index into `CODES` when the job fails.
    failure: Option<u8>,
    failure_message: Option<Box<str>>,
    kind: FileKind,
    width: u16,
    height: u16,
    duration: f32,
    credits: f32,
    callback: Option<Box<str>>,
    /// Raw JSON of `metadata`, echoed verbatim.
    metadata: Option<Box<str>>,
    sha: [u8; 32],
}

impl Job {
    fn start(&self) -> SimMs {
        self.created + i64::from(self.queue_ms)
    }
    fn terminal(&self) -> SimMs {
        if self.started {
            self.start() + i64::from(self.process_ms)
        } else {
            self.start()
        }
    }
    fn status(&self, now: SimMs) -> &'static str {
        if now >= self.terminal() {
            if self.failure.is_some() {
                "FAILED"
            } else {
                "COMPLETE"
            }
        } else if self.started && now >= self.start() {
            "PROCESSING"
        } else {
            "QUEUED"
        }
    }
    fn id(&self) -> String {
        format!("job_{:016x}", self.num)
    }
    fn file_name(&self) -> String {
        format!("{}.{}", self.id(), self.kind.ext())
    }
    fn url(&self, shared: &Shared) -> String {
        let keep = if self.sandbox {
            SANDBOX_RETENTION_MS
        } else {
            RETENTION_MS
        };
        signed_url(
            shared,
            Provider::Vidiking,
            &self.file_name(),
            self.terminal() + keep,
        )
    }
    fn credits_used(&self) -> f64 {
        if self.failure.is_some() || self.sandbox {
            0.0
        } else {
            decimal(self.credits)
        }
    }

    fn duration(&self) -> f64 {
        decimal(self.duration)
    }
}

#[derive(Debug)]
struct Hook {
    url: String,
    events: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct State {
    jobs: Vec<Job>,
    index: HashMap<u64, u32>,
    next_seq: u64,
    hooks: [Option<Hook>; 2],
    /// Per account: the secret signing every delivery (replaced by `PUT /v1/webhooks`).
    secrets: [Option<String>; 2],
    wallets: [f64; 2],
    /// (account, sandbox) → (minute window, requests in it).
    windows: HashMap<(u8, bool), (i64, u32)>,
}

impl Default for State {
    fn default() -> Self {
        State {
            jobs: Vec::new(),
            index: HashMap::new(),
            next_seq: 0,
            hooks: [None, None],
            secrets: [None, None],
            wallets: [INITIAL_WALLET; 2],
            windows: HashMap::new(),
        }
    }
}

impl State {
    pub(crate) fn reset(&mut self) {
        let next_seq = self.next_seq;
        *self = State {
            next_seq,
            ..State::default()
        };
    }

    pub(crate) fn stats_tasks(&self, now: SimMs, out: &mut Vec<Value>) {
        for j in &self.jobs {
            let status = j.status(now);
            let terminal = matches!(status, "COMPLETE" | "FAILED").then(|| j.terminal());
            out.push(stats_task(
                Provider::Vidiking,
                &j.id(),
                &j.sha,
                status,
                j.created,
                terminal,
            ));
        }
    }

    fn secret(&self, shared: &Shared, account: u8) -> String {
        match &self.secrets[usize::from(account) % 2] {
            Some(s) => s.clone(),
            None if account == 0 => shared.keys.vidiking_secret.clone(),
            None => shared.keys.vidiking_other_secret.clone(),
        }
    }
}

/// The Vidiking error body `{"error": {code, message}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

/// A number kept as `f32` (tasks are many) as the decimal it was, not its widened binary
/// value: `0.17`, not `0.17000000178813934`.
fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

pub(crate) fn classify(method: &Method, path: &str) -> Option<RouteMatch> {
    let m = |template, op| {
        Some(RouteMatch {
            template,
            op: Some(op),
        })
    };
    match (method, path) {
        (&Method::POST, "/v1/render") => m("/v1/render", Op::Submit),
        (&Method::GET, "/v1/render") => m("/v1/render", Op::List),
        (&Method::GET, p) if job_id_of(p).is_some() => m("/v1/render/{id}", Op::Status),
        (&Method::PUT, "/v1/webhooks") => m("/v1/webhooks", Op::Endpoints),
        _ => None,
    }
}

fn job_id_of(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/render/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

pub(crate) fn handle(shared: &Arc<Shared>, req: &Req<'_>) -> Response {
    let Some(route) = classify(req.method, req.path) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such endpoint");
    };
    let account = match bearer(req.headers) {
        Some(k) if k == shared.keys.vidiking => 0u8,
        Some(k) if k == shared.keys.vidiking_other_account => 1u8,
        Some(_) => return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Invalid API key"),
        None => return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Missing API key"),
    };
    let sandbox = req
        .headers
        .get("x-sandbox")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let now = shared.now_ms();
    let minute = unix_secs(now).div_euclid(60);
    let limits = shared.config.vidiking_limits;
    let limit = if sandbox {
        limits.sandbox_per_minute
    } else {
        limits.production_per_minute
    };
    let used = {
        let mut st = lock(&shared.vidiking);
        let w = st.windows.entry((account, sandbox)).or_insert((minute, 0));
        if w.0 != minute {
            *w = (minute, 0);
        }
        w.1 = w.1.saturating_add(1);
        w.1
    };
    if used > limit {
        let mut resp = error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            &format!(
                "Rate limit of {limit} requests per minute exceeded{}",
                if sandbox { " (sandbox)" } else { "" }
            ),
        );
        set_header(
            &mut resp,
            "retry-after",
            ((minute + 1) * 60 - unix_secs(now)).max(1),
        );
        return resp;
    }
    match (route.op, req.method) {
        (Some(Op::Submit), _) => create(shared, req, account, sandbox),
        (Some(Op::List), _) => list(shared, req.query, account),
        (Some(Op::Endpoints), _) => put_webhook(shared, req.body, account),
        _ => status(shared, job_id_of(req.path).unwrap_or_default(), account),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: a job-level failure (INVALID_TIMELINE) carries the reason as its message.

const TRANSITIONS: [&str; 10] = [
    "fade",
    "slideLeft",
    "slideRight",
    "slideUp",
    "slideDown",
    "wipeLeft",
    "wipeRight",
    "wipeUp",
    "wipeDown",
    "zoom",
];

fn num_in(v: Option<&Value>, lo: f64, hi: f64) -> Result<Option<f64>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .filter(|n| *n >= lo && *n <= hi)
            .map(Some)
            .ok_or(()),
    }
}

fn src_of(
    asset: &Map<String, Value>,
    at: &str,
    missing: &mut Option<String>,
) -> Result<(), String> {
    match asset.get("src").and_then(Value::as_str) {
        Some(u) if parse_http_url(u).is_some() => {
            if missing.is_none() && asset_missing(u) {
                *missing = Some(u.to_string());
            }
            Ok(())
        }
        _ => Err(format!("{at}.src must be an http(s) URL")),
    }
}

/// The timeline's duration in seconds, or why it is invalid; `missing` gets the first asset URL
/// the sim treats as missing.
fn check_timeline(t: &Map<String, Value>, missing: &mut Option<String>) -> Result<f64, String> {
    if let Some(bg) = t.get("background").filter(|b| !b.is_null()) {
        let ok = bg.as_str().is_some_and(|s| {
            s.strip_prefix('#').is_some_and(|h| {
                matches!(h.len(), 3 | 6 | 8) && h.chars().all(|c| c.is_ascii_hexdigit())
            })
        });
        if !ok {
            return Err("timeline.background must be a colour such as #000000".into());
        }
    }
    if let Some(st) = t.get("soundtrack").filter(|s| !s.is_null()) {
        let Some(st) = st.as_object() else {
            return Err("timeline.soundtrack must be an object".into());
        };
        src_of(st, "timeline.soundtrack", missing)?;
        num_in(st.get("volume"), 0.0, 1.0)
            .map_err(|_| "timeline.soundtrack.volume must be between 0 and 1")?;
    }
    let Some(tracks) = t
        .get("tracks")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return Err("timeline.tracks must be a non-empty array".into());
    };
    let mut duration: f64 = 0.0;
    for (ti, track) in tracks.iter().enumerate() {
        let Some(clips) = track
            .get("clips")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        else {
            return Err(format!(
                "timeline.tracks[{ti}].clips must be a non-empty array"
            ));
        };
        for (ci, clip) in clips.iter().enumerate() {
            let at = format!("timeline.tracks[{ti}].clips[{ci}]");
            let Some(clip) = clip.as_object() else {
                return Err(format!("{at} must be an object"));
            };
            let start = num_in(clip.get("start"), 0.0, 86_400.0)
                .ok()
                .flatten()
                .ok_or_else(|| format!("{at}.start must be a number ≥ 0"))?;
            let length = num_in(clip.get("length"), 0.0, 86_400.0)
                .ok()
                .flatten()
                .filter(|l| *l > 0.0)
                .ok_or_else(|| format!("{at}.length must be a number > 0"))?;
            duration = duration.max(start + length);
            let Some(asset) = clip.get("asset").and_then(Value::as_object) else {
                return Err(format!("{at}.asset must be an object"));
            };
            match asset.get("type").and_then(Value::as_str) {
                Some("video") | Some("audio") => {
                    src_of(asset, &format!("{at}.asset"), missing)?;
                    num_in(asset.get("trim"), 0.0, 86_400.0)
                        .map_err(|_| format!("{at}.asset.trim must be ≥ 0"))?;
                    num_in(asset.get("volume"), 0.0, 1.0)
                        .map_err(|_| format!("{at}.asset.volume must be between 0 and 1"))?;
                }
                Some("image") => src_of(asset, &format!("{at}.asset"), missing)?,
                Some("title") => {
                    if !asset.get("text").is_some_and(Value::is_string) {
                        return Err(format!("{at}.asset.text is required for a title"));
                    }
                }
                Some("html") => {
                    if !asset.get("html").is_some_and(Value::is_string) {
                        return Err(format!("{at}.asset.html is required for an html asset"));
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "{at}.asset.type `{other}` is not one of video, image, title, audio, html"
                    ));
                }
                None => return Err(format!("{at}.asset.type is required")),
            }
            if let Some(tr) = clip.get("transition").filter(|t| !t.is_null()) {
                let Some(tr) = tr.as_object() else {
                    return Err(format!("{at}.transition must be an object"));
                };
                for side in ["in", "out"] {
                    if let Some(v) = tr.get(side).filter(|v| !v.is_null()) {
                        if !v.as_str().is_some_and(|s| TRANSITIONS.contains(&s)) {
                            return Err(format!(
                                "{at}.transition.{side} must be one of {}",
                                TRANSITIONS.join(", ")
                            ));
                        }
                    }
                }
            }
            if let Some(e) = clip.get("effect").filter(|e| !e.is_null()) {
                if !matches!(e.as_str(), Some("zoomIn") | Some("zoomOut")) {
                    return Err(format!("{at}.effect must be zoomIn or zoomOut"));
                }
            }
            if let Some(o) = clip.get("offset").filter(|o| !o.is_null()) {
                let ok = o.as_object().is_some_and(|o| {
                    num_in(o.get("x"), -1.0, 1.0).is_ok() && num_in(o.get("y"), -1.0, 1.0).is_ok()
                });
                if !ok {
                    return Err(format!("{at}.offset.x and .y must be between -1 and 1"));
                }
            }
            num_in(clip.get("scale"), 0.01, 2.0)
                .map_err(|_| format!("{at}.scale must be between 0.01 and 2"))?;
            num_in(clip.get("opacity"), 0.0, 1.0)
                .map_err(|_| format!("{at}.opacity must be between 0 and 1"))?;
            if let Some(f) = clip.get("fit").filter(|f| !f.is_null()) {
                if !matches!(f.as_str(), Some("cover" | "contain" | "crop" | "none")) {
                    return Err(format!(
                        "{at}.fit must be one of cover, contain, crop, none"
                    ));
                }
            }
        }
    }
    Ok(duration)
}

struct OutputSpec {
    kind: FileKind,
    width: u16,
    height: u16,
}

fn check_output(o: Option<&Value>, sandbox: bool) -> Result<OutputSpec, String> {
    let Some(o) = o.and_then(Value::as_object) else {
        return Err("output is required: {format, resolution}".into());
    };
    let kind = match o.get("format").and_then(Value::as_str) {
        Some("mp4") => FileKind::Mp4,
        Some("webm") => FileKind::Webm,
        Some("gif") => FileKind::Gif,
        Some("mp3") => FileKind::Mp3,
        _ => return Err("output.format must be one of mp4, webm, gif, mp3".into()),
    };
    let mut height: u32 = match o.get("resolution").and_then(Value::as_str) {
        Some("sd") => 576,
        Some("hd") => 720,
        Some("1080") => 1080,
        Some("4k") => 2160,
        _ => return Err("output.resolution must be one of sd, hd, 1080, 4k".into()),
    };
    if sandbox {
        // Sandbox renders are capped at 720p whatever `resolution` says.
        height = height.min(720);
    }
    let (w, h) = match o.get("aspectRatio").filter(|a| !a.is_null()) {
        None => (height * 16 / 9, height),
        Some(a) => match a.as_str() {
            Some("16:9") => (height * 16 / 9, height),
            Some("9:16") => (height, height * 16 / 9),
            Some("1:1") => (height, height),
            Some("4:5") => (height * 4 / 5, height),
            Some("4:3") => (height * 4 / 3, height),
            _ => return Err("output.aspectRatio must be one of 16:9, 9:16, 1:1, 4:5, 4:3".into()),
        },
    };
    num_in(o.get("fps"), 1.0, 120.0)
        .map_err(|_| "output.fps must be between 1 and 120".to_string())?;
    Ok(OutputSpec {
        kind,
        width: w as u16,
        height: h as u16,
    })
}

fn format_name(kind: FileKind) -> &'static str {
    kind.ext()
}

fn create(shared: &Arc<Shared>, req: &Req<'_>, account: u8, sandbox: bool) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
        return bad("The request body is not valid JSON");
    };
    let Some(obj) = body.as_object() else {
        return bad("The request body must be a JSON object");
    };
    let Some(timeline) = obj.get("timeline").and_then(Value::as_object) else {
        return bad("timeline is required and must be an object");
    };
    let callback = match obj.get("callback") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if webhook_url_ok(u) => Some(u.clone()),
        Some(_) => return bad("callback must be a valid https URL"),
    };
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m @ Value::Object(_)) => Some(m.to_string()),
        Some(_) => return bad("metadata must be an object of key-value pairs"),
    };
    let mut missing = None;
    let checked = check_timeline(timeline, &mut missing)
        .and_then(|d| check_output(obj.get("output"), sandbox).map(|o| (d, o)));

    let now = shared.now_ms();
    let sha = body_sha256("POST", "/v1/render", &body);
    let mut st = lock(&shared.vidiking);
    let seq = st.next_seq;
    st.next_seq += 1;
    let mut rng = task_rng(shared.config.seed, TAG, seq);
    let queue_ms = rng.gen_range(1_000..4_000u32);
    let fails = rng.gen_bool(shared.config.failure_rate);
    let timeout = rng.gen_bool(0.3);
    let frac: f64 = rng.gen_range(0.2..0.9);
    let quick_fail_ms = rng.gen_range(1_000..3_000u32);
    let asset_fail_ms = rng.gen_range(2_000..5_000u32);
    let speed_factor: f64 = rng.gen_range(2.5..4.5);
    let overhead: f64 = rng.gen_range(3.0..8.0);
    let (duration, output) = match &checked {
        Ok((d, o)) => (*d, Some(o)),
        Err(_) => (0.0, None),
    };
    let render_s = (duration * speed_factor + overhead).clamp(10.0, 590.0);
    let credits = ((duration / 60.0) * 100.0).ceil() / 100.0;
    let account_idx = usize::from(account) % 2;
    let (started, queue_ms, process_ms, failure, message) = match &checked {
        Err(reason) => (false, quick_fail_ms, 0, Some(1u8), Some(reason.clone())),
        Ok(_) if missing.is_some() => (
            true,
            queue_ms,
            asset_fail_ms,
            Some(0u8),
            missing
                .as_ref()
                .map(|u| format!("Unable to fetch asset: {u} returned 404")),
        ),
        Ok(_) if !sandbox && st.wallets[account_idx] < credits => (
            false,
            quick_fail_ms,
            0,
            Some(2u8),
            Some("Insufficient credits in the wallet for this render".to_string()),
        ),
        Ok(_) if fails && timeout => (
            true,
            queue_ms,
            RENDER_TIMEOUT_MS + 1_000,
            Some(3u8),
            Some("Rendering exceeded 10 minutes".to_string()),
        ),
        Ok(_) if fails => (
            true,
            queue_ms,
            (render_s * frac * 1000.0) as u32,
            Some(4u8),
            Some("An internal error occurred while rendering".to_string()),
        ),
        Ok(_) => (true, queue_ms, (render_s * 1000.0) as u32, None, None),
    };
    let job = Job {
        num: id_number(shared.config.seed, TAG, seq),
        account,
        sandbox,
        created: now,
        queue_ms,
        started,
        process_ms,
        failure,
        failure_message: message.map(String::into_boxed_str),
        kind: output.map_or(FileKind::Mp4, |o| o.kind),
        width: output.map_or(1280, |o| o.width),
        height: output.map_or(720, |o| o.height),
        duration: duration as f32,
        credits: credits as f32,
        callback: callback.map(String::into_boxed_str),
        metadata: metadata.map(String::into_boxed_str),
        sha,
    };
    // A hold is placed at submit; a job known to fail is refunded, so it is never charged here.
    if !sandbox && job.failure.is_none() {
        st.wallets[account_idx] -= credits;
    }
    let idx = st.jobs.len() as u32;
    let answer = json!({"id": job.id(), "status": "QUEUED", "created_at": rfc3339(now)});
    let (start, terminal, job_started) = (job.start(), job.terminal(), job.started);
    st.index.insert(job.num, idx);
    st.jobs.push(job);
    let queued_delivery = account_hook_delivery(shared, &st, idx, "render.queued", now);
    drop(st);
    if job_started {
        shared.schedule(start, DueKind::VidikingEvent(idx, false));
    }
    shared.schedule(terminal, DueKind::VidikingEvent(idx, true));
    if let Some(d) = queued_delivery {
        dispatch(shared, d);
    }
    json_response(StatusCode::CREATED, &answer)
}

fn view(shared: &Shared, j: &Job, now: SimMs) -> Value {
    let status = j.status(now);
    let mut v = json!({"id": j.id(), "status": status, "created_at": rfc3339(j.created)});
    if j.started && now >= j.start() {
        v["processing_started_at"] = json!(rfc3339(j.start()));
    }
    match status {
        "COMPLETE" => {
            v["url"] = json!(j.url(shared));
            v["duration"] = json!(j.duration());
            v["resolution"] = json!(format!("{}x{}", j.width, j.height));
            v["format"] = json!(format_name(j.kind));
            v["file_size"] = json!(j.kind.len());
            v["credits_used"] = json!(j.credits_used());
            v["completed_at"] = json!(rfc3339(j.terminal()));
            v["render_time"] = json!(((j.terminal() - j.start()) as f64 / 1000.0).round() as i64);
        }
        "FAILED" => {
            let code = CODES[usize::from(j.failure.unwrap_or(4)) % CODES.len()];
            v["error"] = json!({"code": code, "message": j.failure_message.as_deref().unwrap_or("Render failed")});
            v["credits_used"] = json!(0);
            v["failed_at"] = json!(rfc3339(j.terminal()));
        }
        _ => {}
    }
    if let Some(m) = &j.metadata {
        v["metadata"] = serde_json::from_str(m).unwrap_or(Value::Null);
    }
    v
}

fn status(shared: &Shared, id: &str, account: u8) -> Response {
    let now = shared.now_ms();
    let st = lock(&shared.vidiking);
    let job = id
        .strip_prefix("job_")
        .filter(|h| h.len() == 16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .and_then(|n| st.index.get(&n))
        .and_then(|i| st.jobs.get(*i as usize))
        .filter(|j| j.account == account);
    match job {
        Some(j) => json_response(StatusCode::OK, &view(shared, j, now)),
        None => error(
            StatusCode::NOT_FOUND,
            "JOB_NOT_FOUND",
            &format!("No render job {id}"),
        ),
    }
}

fn list(shared: &Shared, query: Option<&str>, account: u8) -> Response {
    let mut limit = 20usize;
    let mut filter: Option<String> = None;
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "limit" => match v.parse::<usize>() {
                Ok(n) if n >= 1 => limit = n.min(100),
                _ => return bad("limit must be a positive integer"),
            },
            "status" if !v.is_empty() => {
                let up = v.to_ascii_uppercase();
                if !matches!(up.as_str(), "QUEUED" | "PROCESSING" | "COMPLETE" | "FAILED") {
                    return bad("status must be one of QUEUED, PROCESSING, COMPLETE, FAILED");
                }
                filter = Some(up);
            }
            _ => {}
        }
    }
    let now = shared.now_ms();
    let st = lock(&shared.vidiking);
    let data: Vec<Value> = st
        .jobs
        .iter()
        .rev()
        .filter(|j| j.account == account && filter.as_deref().is_none_or(|f| j.status(now) == f))
        .take(limit)
        .map(|j| view(shared, j, now))
        .collect();
    drop(st);
    json_response(StatusCode::OK, &json!({ "data": data }))
}

const EVENTS: [&str; 4] = [
    "render.queued",
    "render.processing",
    "render.complete",
    "render.failed",
];

fn put_webhook(shared: &Shared, body: &[u8], account: u8) -> Response {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return bad("The request body must be a JSON object {url, events, secret}");
    };
    let url = match obj.get("url") {
        Some(Value::String(u)) if webhook_url_ok(u) => u.clone(),
        _ => return bad("url must be a valid https URL"),
    };
    let events: Vec<String> = match obj.get("events").and_then(Value::as_array) {
        Some(evs) if !evs.is_empty() => {
            let mut out = Vec::new();
            for e in evs {
                match e.as_str() {
                    Some(s)
                        if EVENTS.contains(&s)
                            || s.starts_with("ai.")
                            || s.starts_with("wallet.") =>
                    {
                        out.push(s.to_string());
                    }
                    _ => return bad(&format!("events contains an unknown event: {e}")),
                }
            }
            out
        }
        _ => return bad("events must be a non-empty array of event names"),
    };
    let secret = match obj.get("secret") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return bad("secret must be a non-empty string"),
    };
    let mut st = lock(&shared.vidiking);
    let a = usize::from(account) % 2;
    st.hooks[a] = Some(Hook {
        url: url.clone(),
        events: events.clone(),
    });
    st.secrets[a] = Some(secret);
    json_response(StatusCode::OK, &json!({"url": url, "events": events}))
}

fn event_body(shared: &Shared, st: &State, j: &Job, event: &str, now: SimMs) -> Bytes {
    let status = match event {
        "render.queued" => "QUEUED",
        "render.processing" => "PROCESSING",
        "render.complete" => "COMPLETE",
        _ => "FAILED",
    };
    let mut data = json!({
        "id": j.id(),
        "status": status,
        "credits_used": if status == "COMPLETE" { json!(j.credits_used()) } else { json!(0) },
        // Credits are whole hundredths: the sum is too, once float noise is rounded off.
        "wallet_balance": (st.wallets[usize::from(j.account) % 2] * 100.0).round() / 100.0,
    });
    if status == "COMPLETE" {
        data["url"] = json!(j.url(shared));
        data["duration"] = json!(j.duration());
    }
    let body = json!({"event": event, "timestamp": rfc3339(now), "data": data});
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

fn account_hook_delivery(
    shared: &Shared,
    st: &State,
    idx: u32,
    event: &str,
    now: SimMs,
) -> Option<Delivery> {
    let j = st.jobs.get(idx as usize)?;
    let hook = st.hooks[usize::from(j.account) % 2].as_ref()?;
    if !hook.events.iter().any(|e| e == event) {
        return None;
    }
    Some(Delivery::new(
        Provider::Vidiking,
        hook.url.clone(),
        event_body(shared, st, j, event, now),
        Signing::Vidiking {
            secret: st.secret(shared, j.account),
        },
    ))
}

/// The deliveries when job `idx` starts processing (`terminal == false`) or ends, at `at`.
pub(crate) fn event_deliveries(
    shared: &Shared,
    idx: u32,
    at: SimMs,
    terminal: bool,
) -> Vec<Delivery> {
    let now = shared.now_ms();
    let st = lock(&shared.vidiking);
    let Some(j) = st.jobs.get(idx as usize) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !terminal {
        if j.started && j.start() == at {
            out.extend(account_hook_delivery(
                shared,
                &st,
                idx,
                "render.processing",
                now,
            ));
        }
        return out;
    }
    if j.terminal() != at {
        return out;
    }
    let event = if j.failure.is_some() {
        "render.failed"
    } else {
        "render.complete"
    };
    let hook = account_hook_delivery(shared, &st, idx, event, now);
    if let Some(cb) = &j.callback {
        // A per-job callback to the very URL of the account webhook is sent once.
        if hook.as_ref().is_none_or(|h| h.url != **cb) {
            out.push(Delivery::new(
                Provider::Vidiking,
                cb.to_string(),
                event_body(shared, &st, j, event, now),
                Signing::Vidiking {
                    secret: st.secret(shared, j.account),
                },
            ));
        }
    }
    out.extend(hook);
    out
}

/// Whether `job_….{ext}` names a completed job's output.
pub(crate) fn file_exists(shared: &Shared, name: &str) -> bool {
    let Some((id, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let now = shared.now_ms();
    let st = lock(&shared.vidiking);
    id.strip_prefix("job_")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .and_then(|n| st.index.get(&n))
        .and_then(|i| st.jobs.get(*i as usize))
        .is_some_and(|j| j.kind.ext() == ext && j.status(now) == "COMPLETE")
}
