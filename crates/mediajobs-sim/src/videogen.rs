//! VideoGen: thirteen media tools behind `POST /v1/tools/{tool}`, executions with progress and
//! internal retries, cancel, a cursor-paginated list, storage files with signed URLs and hydrate,
//! account-wide webhook endpoints signed with Standard Webhooks, per-key hourly rate limits.

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use http::{Method, StatusCode};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::clock::{SimMs, unix_secs};
use crate::faults::{Op, Provider};
use crate::files::{FileKind, signed_url};
use crate::server::{Req, RouteMatch};
use crate::state::{DueKind, Shared, lock, stats_task};
use crate::util::{
    bearer, body_sha256, id_number, json_response, mix64, query_pairs, set_header, task_rng,
    webhook_url_ok,
};
use crate::webhooks::{Delivery, Signing};

const TAG: u64 = 0x7667;
const ENDPOINT_TAG: u64 = 0x7667_0e9d;
/// Signed URLs of results live about an hour.
const URL_TTL_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Image,
    Svg,
    Video,
    Speech,
    Sound,
    Music,
}

struct Tool {
    name: &'static str,
    tool_type: &'static str,
    out: Out,
    /// Run time range in sim seconds (the docs' guidance).
    secs: (f64, f64),
}

const TOOLS: [Tool; 13] = [
    Tool {
        name: "generate-image",
        tool_type: "GENERATE_IMAGE",
        out: Out::Image,
        secs: (15.0, 60.0),
    },
    Tool {
        name: "generate-video-clip",
        tool_type: "GENERATE_VIDEO_CLIP",
        out: Out::Video,
        secs: (60.0, 180.0),
    },
    Tool {
        name: "generate-motion-graphic",
        tool_type: "GENERATE_MOTION_GRAPHIC",
        out: Out::Video,
        secs: (120.0, 300.0),
    },
    Tool {
        name: "text-to-speech",
        tool_type: "TEXT_TO_SPEECH",
        out: Out::Speech,
        secs: (2.0, 10.0),
    },
    Tool {
        name: "generate-sound-effect",
        tool_type: "GENERATE_SOUND_EFFECT",
        out: Out::Sound,
        secs: (3.0, 15.0),
    },
    Tool {
        name: "generate-music",
        tool_type: "GENERATE_MUSIC",
        out: Out::Music,
        secs: (90.0, 240.0),
    },
    Tool {
        name: "generate-avatar",
        tool_type: "GENERATE_AVATAR",
        out: Out::Video,
        secs: (120.0, 300.0),
    },
    Tool {
        name: "vectorize-image",
        tool_type: "VECTORIZE_IMAGE",
        out: Out::Svg,
        secs: (10.0, 40.0),
    },
    Tool {
        name: "remove-image-background",
        tool_type: "REMOVE_IMAGE_BACKGROUND",
        out: Out::Image,
        secs: (5.0, 20.0),
    },
    Tool {
        name: "remove-video-background",
        tool_type: "REMOVE_VIDEO_BACKGROUND",
        out: Out::Video,
        secs: (60.0, 180.0),
    },
    Tool {
        name: "upscale-image",
        tool_type: "UPSCALE_IMAGE",
        out: Out::Image,
        secs: (10.0, 45.0),
    },
    Tool {
        name: "upscale-video",
        tool_type: "UPSCALE_VIDEO",
        out: Out::Video,
        secs: (60.0, 240.0),
    },
    Tool {
        name: "image-3d-effect",
        tool_type: "IMAGE_3D_EFFECT",
        out: Out::Video,
        secs: (30.0, 120.0),
    },
];

const FAILURES: [(&str, Option<&str>); 3] = [
    (
        "The model could not generate a result for this input",
        Some("generation_failed"),
    ),
    (
        "The request was rejected by content moderation",
        Some("content_moderation"),
    ),
    ("Internal error", None),
];

#[derive(Debug)]
struct Exec {
    num: u64,
    tool: u8,
    team: u8,
    key: u8,
    created: SimMs,
    pending_ms: u32,
    /// Length of an aborted first attempt (0: no internal retry).
    first_attempt_ms: u32,
    run_ms: u32,
    /// The last attempt's full length: a failing run stops part-way along it, so its progress
    /// is drawn against this and never falls back when the failure is announced.
    nominal_ms: u32,
    failure: Option<u8>,
    fail_progress: u8,
    cancelled_at: Option<SimMs>,
    num_results: u8,
    temporary: bool,
    curve: f32,
    out_secs: f32,
    out_w: u16,
    out_h: u16,
    sha: [u8; 32],
}

impl Exec {
    fn tool(&self) -> &'static Tool {
        &TOOLS[usize::from(self.tool) % TOOLS.len()]
    }
    fn start(&self) -> SimMs {
        self.created + i64::from(self.pending_ms)
    }
    fn natural_end(&self) -> SimMs {
        self.start() + i64::from(self.first_attempt_ms) + i64::from(self.run_ms)
    }
    fn terminal(&self) -> SimMs {
        match self.cancelled_at {
            Some(c) if c < self.natural_end() => c,
            _ => self.natural_end(),
        }
    }
    fn status(&self, now: SimMs) -> &'static str {
        if let Some(c) = self.cancelled_at {
            if c <= now && c < self.natural_end() {
                return "cancelled";
            }
        }
        if now < self.start() {
            "pending"
        } else if now < self.natural_end() {
            "running"
        } else if self.failure.is_some() {
            "failed"
        } else {
            "succeeded"
        }
    }
    /// (progressPercentage, attemptIndex) at `now`: uneven (a per-execution power curve), per
    /// attempt (restarting at 0 after an internal retry), 100 only when succeeded.
    fn progress(&self, now: SimMs) -> (u8, u8) {
        let at = match self.cancelled_at {
            Some(c) if c <= now && c < self.natural_end() => c,
            _ => now,
        };
        let start = self.start();
        let second = start + i64::from(self.first_attempt_ms);
        let curve = |from: SimMs, len: u32| -> u8 {
            let frac = ((at - from) as f64 / f64::from(len.max(1))).clamp(0.0, 1.0);
            ((100.0 * frac.powf(f64::from(self.curve))).floor() as u8).min(99)
        };
        match self.status(now) {
            "pending" => (0, 0),
            "succeeded" => (100, u8::from(self.first_attempt_ms > 0)),
            "failed" => (self.fail_progress, u8::from(self.first_attempt_ms > 0)),
            _ if self.first_attempt_ms > 0 && at < second => {
                (curve(start, self.first_attempt_ms), 0)
            }
            _ if self.first_attempt_ms > 0 => (curve(second, self.nominal_ms), 1),
            _ => (curve(start, self.nominal_ms), 0),
        }
    }
}

#[derive(Debug)]
struct Endpoint {
    num: u64,
    team: u8,
    url: String,
    events: Vec<String>,
    description: Option<String>,
    created: SimMs,
    secret: String,
}

impl Endpoint {
    fn id(&self) -> String {
        format!("vg_whep_{:016x}", self.num)
    }
    fn public(&self) -> Value {
        json!({
            "endpointId": self.id(),
            "url": self.url,
            "events": self.events,
            "description": self.description,
            "createdAt": unix_secs(self.created),
            "signingSecretLast4": self.secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<String>(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Budget {
    Submit,
    Status,
    List,
    Cancel,
    Files,
    Hydrate,
    EndpointsList,
    EndpointsCreate,
    EndpointsDelete,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    execs: Vec<Exec>,
    index: HashMap<u64, u32>,
    next_seq: u64,
    endpoints: Vec<Endpoint>,
    next_endpoint: u64,
    /// (key, budget) → (hour window, requests in it).
    windows: HashMap<(u8, Budget), (i64, u32)>,
}

impl State {
    pub(crate) fn reset(&mut self) {
        self.execs.clear();
        self.index.clear();
        self.endpoints.clear();
        self.windows.clear();
    }

    pub(crate) fn stats_tasks(&self, now: SimMs, out: &mut Vec<Value>) {
        for e in &self.execs {
            let status = e.status(now);
            let terminal =
                matches!(status, "succeeded" | "failed" | "cancelled").then(|| e.terminal());
            out.push(stats_task(
                Provider::VideoGen,
                &exec_id(e.num),
                &e.sha,
                status,
                e.created,
                terminal,
            ));
        }
    }
}

fn exec_id(num: u64) -> String {
    format!("vg_exec_{num:016x}")
}

fn file_id(num: u64, i: u8) -> String {
    format!("vg_file_{num:016x}{i:02x}")
}

fn well_formed(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

enum IdParse<T> {
    Ours(T),
    /// Well-formed but not one the sim issued: 404.
    Unknown,
    /// Malformed or wrongly prefixed: 400 invalid_id.
    Invalid,
}

fn parse_exec_id(id: &str) -> IdParse<u64> {
    if let Some(rest) = id.strip_prefix("vg_exec_") {
        if rest.len() == 16 {
            if let Ok(n) = u64::from_str_radix(rest, 16) {
                return IdParse::Ours(n);
            }
        }
        if well_formed(rest) {
            return IdParse::Unknown;
        }
    } else if id.strip_prefix("vg_tool_").is_some_and(well_formed) {
        return IdParse::Unknown;
    }
    IdParse::Invalid
}

fn parse_file_id(id: &str) -> IdParse<(u64, u8)> {
    match id.strip_prefix("vg_file_") {
        Some(rest) if rest.len() == 18 && rest.chars().all(|c| c.is_ascii_hexdigit()) => {
            match (
                u64::from_str_radix(&rest[..16], 16),
                u8::from_str_radix(&rest[16..], 16),
            ) {
                (Ok(n), Ok(i)) => IdParse::Ours((n, i)),
                _ => IdParse::Unknown,
            }
        }
        Some(rest) if well_formed(rest) => IdParse::Unknown,
        _ => IdParse::Invalid,
    }
}

/// The VideoGen error body `{message, code?}`.
pub(crate) fn error(status: StatusCode, message: &str, code: Option<&str>) -> Response {
    let mut body = json!({ "message": message });
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    json_response(status, &body)
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, Some("invalid_parameters"))
}

fn invalid_id(what: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("{what} is not a valid id"),
        Some("invalid_id"),
    )
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("{what} not found"),
        Some("not_found"),
    )
}

enum Route<'a> {
    Submit(&'a str),
    Status(&'a str),
    Cancel(&'a str),
    List,
    File(&'a str),
    Hydrate(&'a str),
    EndpointCreate,
    EndpointList,
    EndpointDelete(&'a str),
}

fn route<'a>(method: &Method, path: &'a str) -> Option<(Route<'a>, RouteMatch)> {
    let segs: Vec<&str> = path.strip_prefix("/v1/")?.split('/').collect();
    let m = |r, template, op| {
        Some((
            r,
            RouteMatch {
                template,
                op: Some(op),
            },
        ))
    };
    match (method, segs.as_slice()) {
        (&Method::GET, ["tools", "executions"]) => m(Route::List, "/v1/tools/executions", Op::List),
        (&Method::GET, ["tools", "executions", id]) if !id.is_empty() => m(
            Route::Status(id),
            "/v1/tools/executions/{toolExecutionId}",
            Op::Status,
        ),
        (&Method::POST, ["tools", "executions", id, "cancel"]) if !id.is_empty() => m(
            Route::Cancel(id),
            "/v1/tools/executions/{toolExecutionId}/cancel",
            Op::Cancel,
        ),
        (&Method::POST, ["tools", tool]) if !tool.is_empty() => {
            m(Route::Submit(tool), "/v1/tools/{tool}", Op::Submit)
        }
        (&Method::GET, ["files", id]) if !id.is_empty() => {
            m(Route::File(id), "/v1/files/{fileId}", Op::Files)
        }
        (&Method::POST, ["files", id, "hydrate"]) if !id.is_empty() => {
            m(Route::Hydrate(id), "/v1/files/{fileId}/hydrate", Op::Files)
        }
        (&Method::POST, ["webhooks", "endpoints"]) => m(
            Route::EndpointCreate,
            "/v1/webhooks/endpoints",
            Op::Endpoints,
        ),
        (&Method::GET, ["webhooks", "endpoints"]) => {
            m(Route::EndpointList, "/v1/webhooks/endpoints", Op::Endpoints)
        }
        (&Method::DELETE, ["webhooks", "endpoints", id]) if !id.is_empty() => m(
            Route::EndpointDelete(id),
            "/v1/webhooks/endpoints/{endpointId}",
            Op::Endpoints,
        ),
        _ => None,
    }
}

pub(crate) fn classify(method: &Method, path: &str) -> Option<RouteMatch> {
    route(method, path).map(|(_, m)| m)
}

fn budget_of(r: &Route<'_>) -> Budget {
    match r {
        Route::Submit(_) => Budget::Submit,
        Route::Status(_) => Budget::Status,
        Route::Cancel(_) => Budget::Cancel,
        Route::List => Budget::List,
        Route::File(_) => Budget::Files,
        Route::Hydrate(_) => Budget::Hydrate,
        Route::EndpointCreate => Budget::EndpointsCreate,
        Route::EndpointList => Budget::EndpointsList,
        Route::EndpointDelete(_) => Budget::EndpointsDelete,
    }
}

fn limit_of(shared: &Shared, b: Budget) -> u32 {
    let l = &shared.config.videogen_limits;
    match b {
        Budget::Submit => l.submit,
        Budget::Status => l.status,
        Budget::List => l.list,
        Budget::Cancel => l.cancel,
        Budget::Files => l.files,
        Budget::Hydrate => l.hydrate,
        Budget::EndpointsList => l.endpoints_list,
        Budget::EndpointsCreate => l.endpoints_create,
        Budget::EndpointsDelete => l.endpoints_delete,
    }
}

fn rate_headers(resp: &mut Response, limit: u32, remaining: u32, reset: i64) {
    set_header(resp, "x-ratelimit-limit", limit);
    set_header(resp, "x-ratelimit-remaining", remaining);
    set_header(resp, "x-ratelimit-reset", reset);
}

/// (key index, team) of a bearer key.
fn caller(shared: &Shared, key: &str) -> Option<(u8, u8)> {
    let k = &shared.keys;
    if key == k.videogen {
        Some((0, 0))
    } else if key == k.videogen_teammate {
        Some((1, 0))
    } else if key == k.videogen_other_team {
        Some((2, 1))
    } else {
        None
    }
}

/// The rate window an answer reports (`X-RateLimit-*` are on every answer, PROVIDERS.md):
/// the route's budget for the caller's key. A path that is no route reports the status-read
/// budget [assumed]; a missing or unknown key reports the whole limit.
struct Window {
    limit: u32,
    used: u32,
    reset: i64,
}

impl Window {
    /// The window of `method path` for the caller of `headers`; `consume` counts this request.
    fn of(
        shared: &Shared,
        method: &Method,
        path: &str,
        headers: &http::HeaderMap,
        consume: bool,
    ) -> Window {
        let budget = route(method, path).map_or(Budget::Status, |(r, _)| budget_of(&r));
        let limit = limit_of(shared, budget);
        let now = shared.now_ms();
        let window = unix_secs(now).div_euclid(3600);
        let reset = (window + 1) * 3600;
        let key = bearer(headers)
            .and_then(|t| caller(shared, t))
            .map(|(k, _)| k);
        let used = key.map_or(0, |key| {
            let mut st = lock(&shared.videogen);
            let w = st.windows.entry((key, budget)).or_insert((window, 0));
            if w.0 != window {
                *w = (window, 0);
            }
            if consume {
                w.1 = w.1.saturating_add(1);
            }
            w.1
        });
        Window { limit, used, reset }
    }

    fn apply(&self, resp: &mut Response) {
        rate_headers(
            resp,
            self.limit,
            self.limit.saturating_sub(self.used),
            self.reset,
        );
    }
}

/// Puts the `X-RateLimit-*` headers on an answer the handler did not make (an injected fault),
/// without counting the request against the window.
pub(crate) fn add_rate_headers(shared: &Shared, req: &Req<'_>, resp: &mut Response) {
    Window::of(shared, req.method, req.path, req.headers, false).apply(resp);
}

pub(crate) fn handle(shared: &Arc<Shared>, req: &Req<'_>) -> Response {
    let Some((r, _)) = route(req.method, req.path) else {
        let mut resp = error(StatusCode::NOT_FOUND, "Not found", Some("not_found"));
        add_rate_headers(shared, req, &mut resp);
        return resp;
    };
    let window = Window::of(shared, req.method, req.path, req.headers, true);
    let Some(token) = bearer(req.headers) else {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            Some("missing_api_key"),
        );
        window.apply(&mut resp);
        return resp;
    };
    let Some((key, team)) = caller(shared, token) else {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            Some("invalid_api_key"),
        );
        window.apply(&mut resp);
        return resp;
    };
    if window.used > window.limit {
        let mut resp = error(
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limit exceeded for this endpoint; try again after the reset time",
            Some("rate_limit_exceeded"),
        );
        window.apply(&mut resp);
        let now = unix_secs(shared.now_ms());
        set_header(&mut resp, "retry-after", (window.reset - now).max(1));
        return resp;
    }
    let mut resp = match r {
        Route::Submit(tool) => create(shared, req, tool, key, team),
        Route::Status(id) => status(shared, id, team),
        Route::Cancel(id) => cancel(shared, id, team),
        Route::List => list(shared, req.query, key, team),
        Route::File(id) => file(shared, id, team, false),
        Route::Hydrate(id) => file(shared, id, team, true),
        Route::EndpointCreate => endpoint_create(shared, req.body, team),
        Route::EndpointList => endpoint_list(shared, req.query, team),
        Route::EndpointDelete(id) => endpoint_delete(shared, id, team),
    };
    window.apply(&mut resp);
    resp
}

// ---------------------------------------------------------------------------------------------
// Create

struct Parsed {
    num_results: u8,
    temporary: bool,
    out_secs: f32,
    w: u16,
    h: u16,
}

fn opt<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn need_text(obj: &Map<String, Value>, name: &str) -> Result<(), Response> {
    match opt(obj, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        None => Err(bad(&format!("{name} is required"))),
        Some(Value::String(_)) => Err(bad(&format!("{name} is required"))),
        Some(_) => Err(bad(&format!("{name} must be a string"))),
    }
}

fn check_file_id(obj: &Map<String, Value>, name: &str) -> Result<bool, Response> {
    match opt(obj, name) {
        None => Ok(false),
        Some(Value::String(s)) => match parse_file_id(s) {
            IdParse::Invalid => Err(invalid_id(name)),
            _ => Ok(true),
        },
        Some(_) => Err(bad(&format!("{name} must be a file id string"))),
    }
}

/// One of two spellings (current and older docs) of a file id field, required.
fn need_file_id(obj: &Map<String, Value>, name: &str, older: &str) -> Result<(), Response> {
    if check_file_id(obj, name)? || check_file_id(obj, older)? {
        Ok(())
    } else {
        Err(bad(&format!("{name} is required")))
    }
}

fn check_enum(obj: &Map<String, Value>, name: &str, allowed: &[&str]) -> Result<(), Response> {
    match opt(obj, name) {
        None => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(_) => Err(bad(&format!(
            "{name} must be one of {}",
            allowed.join(", ")
        ))),
    }
}

fn check_bool(obj: &Map<String, Value>, name: &str) -> Result<(), Response> {
    match opt(obj, name) {
        None | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(bad(&format!("{name} must be a boolean"))),
    }
}

fn check_number(
    obj: &Map<String, Value>,
    name: &str,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>, Response> {
    match opt(obj, name) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n > lo && n <= hi => Ok(Some(n)),
            _ => Err(bad(&format!(
                "{name} must be a number greater than {lo} and at most {hi}"
            ))),
        },
    }
}

/// `aspectRatio` is an object `{width, height}` (a ratio); default 16:9.
fn aspect(obj: &Map<String, Value>) -> Result<(f64, f64), Response> {
    match opt(obj, "aspectRatio") {
        None => Ok((16.0, 9.0)),
        Some(Value::Object(a)) => {
            let w = a.get("width").and_then(Value::as_f64).filter(|w| *w > 0.0);
            let h = a.get("height").and_then(Value::as_f64).filter(|h| *h > 0.0);
            match (w, h) {
                (Some(w), Some(h)) if w / h <= 10.0 && h / w <= 10.0 => Ok((w, h)),
                _ => Err(bad(
                    "aspectRatio must be an object {width, height} with positive numbers",
                )),
            }
        }
        Some(_) => Err(bad("aspectRatio must be an object {width, height}")),
    }
}

fn dims(long: f64, (w, h): (f64, f64)) -> (u16, u16) {
    if w >= h {
        (long as u16, (long * h / w).round().max(1.0) as u16)
    } else {
        ((long * w / h).round().max(1.0) as u16, long as u16)
    }
}

fn check_image_ids(obj: &Map<String, Value>, max: usize) -> Result<bool, Response> {
    match opt(obj, "imageFileIds") {
        None => Ok(false),
        Some(Value::Array(ids)) => {
            if ids.len() > max {
                return Err(bad(&format!("imageFileIds accepts at most {max} files")));
            }
            for id in ids {
                match id.as_str().map(parse_file_id) {
                    Some(IdParse::Invalid) | None => return Err(invalid_id("imageFileIds")),
                    _ => {}
                }
            }
            Ok(!ids.is_empty())
        }
        Some(_) => Err(bad("imageFileIds must be an array of file ids")),
    }
}

fn validate(tool: &Tool, body: &Value) -> Result<Parsed, Response> {
    let Some(obj) = body.as_object() else {
        return Err(bad("The request body must be a JSON object"));
    };
    let num_results = match opt(obj, "numResults") {
        None => 1,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=100) => n as u8,
            _ => return Err(bad("numResults must be an integer between 1 and 100")),
        },
    };
    check_bool(obj, "isOutputTemporary")?;
    let temporary = opt(obj, "isOutputTemporary")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    check_enum(obj, "watermarkMode", &["AUTO", "VIDEO_GEN", "NONE"])?;
    let quality = |obj| check_enum(obj, "quality", &["LOW", "STANDARD", "HIGH", "MAX"]);
    let (mut out_secs, mut w, mut h) = (0.0f64, 0u16, 0u16);
    match tool.name {
        "generate-image" => {
            need_text(obj, "prompt")?;
            check_image_ids(obj, 4)?;
            quality(obj)?;
            (w, h) = dims(1024.0, aspect(obj)?);
        }
        "generate-video-clip" => {
            let has_prompt = match opt(obj, "prompt") {
                None => false,
                Some(Value::String(s)) => !s.trim().is_empty(),
                Some(_) => return Err(bad("prompt must be a string")),
            };
            let has_images = check_image_ids(obj, 4)?;
            let has_video = check_file_id(obj, "videoFileId")?;
            if !(has_prompt || has_images || has_video) {
                return Err(bad(
                    "at least one of prompt, imageFileIds or videoFileId is required",
                ));
            }
            check_bool(obj, "generateAudio")?;
            out_secs = check_number(obj, "durationSeconds", 0.0, 60.0)?.unwrap_or(5.0);
            quality(obj)?;
            (w, h) = dims(1280.0, aspect(obj)?);
        }
        "generate-motion-graphic" => {
            need_text(obj, "prompt")?;
            out_secs = check_number(obj, "durationSeconds", 0.0, 60.0)?.unwrap_or(6.0);
            check_bool(obj, "transparentBackground")?;
            (w, h) = dims(1280.0, aspect(obj)?);
        }
        "text-to-speech" => {
            need_text(obj, "ttsText")?;
            match opt(obj, "voiceId") {
                None | Some(Value::String(_)) => {}
                Some(_) => return Err(bad("voiceId must be a string or null")),
            }
            match opt(obj, "speechLanguageCode") {
                None | Some(Value::String(_)) => {}
                Some(_) => return Err(bad("speechLanguageCode must be a string")),
            }
            let speed = check_number(obj, "voiceSpeed", 0.0, 4.0)?.unwrap_or(1.0);
            let chars = obj
                .get("ttsText")
                .and_then(Value::as_str)
                .map_or(0, |t| t.chars().count());
            out_secs = (chars as f64 / 15.0 / speed).max(1.0);
        }
        "generate-sound-effect" => {
            need_text(obj, "prompt")?;
            out_secs = check_number(obj, "durationSeconds", 0.0, 30.0)?.unwrap_or(4.0);
        }
        "generate-music" => {
            need_text(obj, "prompt")?;
            check_number(obj, "durationSeconds", 0.0, 600.0)?;
            // About 30 s whatever durationSeconds says, as documented.
            out_secs = 30.0;
        }
        "generate-avatar" => {
            let actor = ["actorEntityId", "avatarPresenterId"]
                .into_iter()
                .find(|n| opt(obj, n).is_some());
            match actor {
                Some(n) => need_text(obj, n)?,
                None => return Err(bad("actorEntityId is required")),
            }
            need_file_id(obj, "audioFileId", "audioStorageFileId")?;
            out_secs = 10.0;
            (w, h) = (1280, 720);
        }
        "vectorize-image" | "remove-image-background" | "upscale-image" => {
            need_file_id(obj, "imageFileId", "imageStorageFileId")?;
            (w, h) = if tool.name == "upscale-image" {
                (2048, 1152)
            } else {
                (1024, 576)
            };
        }
        "image-3d-effect" => {
            need_file_id(obj, "imageFileId", "imageStorageFileId")?;
            out_secs = 5.0;
            (w, h) = (1280, 720);
        }
        _ => {
            // remove-video-background, upscale-video
            need_file_id(obj, "videoFileId", "videoStorageFileId")?;
            out_secs = 8.0;
            (w, h) = if tool.name == "upscale-video" {
                (3840, 2160)
            } else {
                (1280, 720)
            };
        }
    }
    Ok(Parsed {
        num_results,
        temporary,
        out_secs: out_secs as f32,
        w,
        h,
    })
}

fn create(shared: &Arc<Shared>, req: &Req<'_>, tool_name: &str, key: u8, team: u8) -> Response {
    let Some(tool_idx) = TOOLS.iter().position(|t| t.name == tool_name) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Tool {tool_name} not found"),
            Some("not_found"),
        );
    };
    let tool = &TOOLS[tool_idx];
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(_) => return bad("The request body must be valid JSON"),
    };
    let p = match validate(tool, &body) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let now = shared.now_ms();
    let sha = body_sha256("POST", req.path, &body);
    let mut st = lock(&shared.videogen);
    let seq = st.next_seq;
    st.next_seq += 1;
    let mut rng = task_rng(shared.config.seed, TAG, seq);
    let pending_ms = rng.gen_range(1_000..8_000u32);
    let nominal = rng.gen_range(tool.secs.0..tool.secs.1);
    let fails = rng.gen_bool(shared.config.failure_rate);
    let retry = rng.gen_bool(shared.config.videogen_retry_rate);
    let curve: f32 = rng.gen_range(0.5..2.0);
    let failure_kind = rng.gen_range(0..FAILURES.len()) as u8;
    let fail_frac: f64 = rng.gen_range(0.1..0.9);
    let first_attempt_ms = if retry {
        (nominal * rng.gen_range(0.2..0.8) * 1000.0) as u32
    } else {
        0
    };
    let run_ms = if fails { nominal * fail_frac } else { nominal };
    let exec = Exec {
        num: id_number(shared.config.seed, TAG, seq),
        tool: tool_idx as u8,
        team,
        key,
        created: now,
        pending_ms,
        first_attempt_ms,
        run_ms: (run_ms * 1000.0) as u32,
        nominal_ms: (nominal * 1000.0) as u32,
        failure: fails.then_some(failure_kind),
        fail_progress: ((100.0 * fail_frac.powf(f64::from(curve))).floor() as u8).min(99),
        cancelled_at: None,
        num_results: p.num_results,
        temporary: p.temporary,
        curve,
        out_secs: p.out_secs,
        out_w: p.w,
        out_h: p.h,
        sha,
    };
    let id = exec_id(exec.num);
    let end = exec.natural_end();
    let idx = st.execs.len() as u32;
    st.index.insert(exec.num, idx);
    st.execs.push(exec);
    drop(st);
    shared.schedule(end, DueKind::VideoGenTerminal(idx));
    json_response(StatusCode::ACCEPTED, &json!({ "toolExecutionId": id }))
}

// ---------------------------------------------------------------------------------------------
// Reads

fn out_kinds(out: Out) -> (&'static str, FileKind, Option<FileKind>, FileKind) {
    // (type, download kind, thumbnail kind (None: skipped), preview kind)
    match out {
        Out::Image => ("IMAGE", FileKind::Png, Some(FileKind::Png), FileKind::Png),
        Out::Svg => ("IMAGE", FileKind::Svg, Some(FileKind::Png), FileKind::Png),
        Out::Video => ("VIDEO", FileKind::Mp4, Some(FileKind::Png), FileKind::Mp4),
        Out::Speech | Out::Music => ("AUDIO", FileKind::Mp3, None, FileKind::Mp3),
        Out::Sound => ("AUDIO", FileKind::Wav, None, FileKind::Mp3),
    }
}

/// A storage file; `urls_expire` set → signed URLs valid until then, `None` → no URLs.
fn storage_file(shared: &Shared, e: &Exec, i: u8, urls_expire: Option<SimMs>) -> Value {
    let fid = file_id(e.num, i);
    let (ty, download, thumb, preview) = out_kinds(e.tool().out);
    let visual = ty != "AUDIO";
    let source = |variant: &str, kind: Option<FileKind>, w: u16, h: u16| -> Value {
        let Some(kind) = kind else {
            return json!({"status": "skipped"});
        };
        let mut s = json!({"status": "ready", "fileBytes": kind.len()});
        if let Some(exp) = urls_expire {
            s["url"] = json!(signed_url(
                shared,
                Provider::VideoGen,
                &format!("{fid}/{variant}.{}", kind.ext()),
                exp
            ));
            s["expiresAt"] = json!(unix_secs(exp));
        }
        if visual {
            s["width"] = json!(w);
            s["height"] = json!(h);
        }
        s
    };
    let (w, h) = (e.out_w, e.out_h);
    let tw = 320u16;
    let th = ((f64::from(h) * 320.0 / f64::from(w.max(1))).round() as u16).max(1);
    let mut f = json!({
        "fileId": fid,
        "type": ty,
        "scope": if e.temporary { "TEMPORARY" } else { "TEAM" },
        "displayName": format!("{} result {}.{}", e.tool().name, u16::from(i) + 1, download.ext()),
        "thumbnailSource": source("thumbnail", thumb, tw, th),
        "previewSource": source("preview", Some(preview), w.min(1280), h.min(720)),
        "downloadSource": source("download", Some(download), w, h),
    });
    if !matches!(e.tool().out, Out::Image | Out::Svg) {
        f["durationSeconds"] = json!(e.out_secs);
    }
    f
}

fn results(shared: &Shared, e: &Exec, urls_expire: SimMs) -> Value {
    let (ty, ..) = out_kinds(e.tool().out);
    Value::Array(
        (0..e.num_results)
            .map(|i| json!({"fileId": file_id(e.num, i), "type": ty, "file": storage_file(shared, e, i, Some(urls_expire))}))
            .collect(),
    )
}

fn view(shared: &Shared, e: &Exec, now: SimMs) -> Value {
    let status = e.status(now);
    let (progress, attempt) = e.progress(now);
    let mut v = json!({
        "toolExecutionId": exec_id(e.num),
        "toolType": e.tool().tool_type,
        "status": status,
        "progressPercentage": progress,
        "attemptIndex": attempt,
        "error": Value::Null,
    });
    match status {
        // The URLs from completion time: once they lapse, hydrate the file for fresh ones.
        "succeeded" => v["results"] = results(shared, e, e.terminal() + URL_TTL_MS),
        "failed" => v["error"] = failure_json(e),
        _ => {}
    }
    v
}

fn failure_json(e: &Exec) -> Value {
    let (message, code) = FAILURES[usize::from(e.failure.unwrap_or(2)) % FAILURES.len()];
    let mut err = json!({ "message": message });
    if let Some(c) = code {
        err["code"] = json!(c);
    }
    err
}

fn find<'a>(st: &'a State, id: &str, team: u8) -> Result<(u32, &'a Exec), Response> {
    match parse_exec_id(id) {
        IdParse::Invalid => Err(invalid_id("toolExecutionId")),
        IdParse::Unknown => Err(not_found("Tool execution")),
        IdParse::Ours(num) => st
            .index
            .get(&num)
            .and_then(|i| st.execs.get(*i as usize).map(|e| (*i, e)))
            .filter(|(_, e)| e.team == team)
            .ok_or_else(|| not_found("Tool execution")),
    }
}

fn status(shared: &Shared, id: &str, team: u8) -> Response {
    let now = shared.now_ms();
    let st = lock(&shared.videogen);
    match find(&st, id, team) {
        Ok((_, e)) => json_response(StatusCode::OK, &view(shared, e, now)),
        Err(resp) => resp,
    }
}

fn cancel(shared: &Shared, id: &str, team: u8) -> Response {
    let now = shared.now_ms();
    let mut st = lock(&shared.videogen);
    let idx = match find(&st, id, team) {
        Ok((idx, _)) => idx,
        Err(resp) => return resp,
    };
    let Some(e) = st.execs.get_mut(idx as usize) else {
        return not_found("Tool execution");
    };
    // Best effort: only a non-terminal execution changes; a terminal one never does.
    let cancelled = matches!(e.status(now), "pending" | "running");
    if cancelled {
        e.cancelled_at = Some(now);
    }
    let exec = exec_id(e.num);
    drop(st);
    if cancelled {
        shared.schedule(now, DueKind::VideoGenTerminal(idx));
    }
    json_response(StatusCode::OK, &json!({ "toolExecutionId": exec }))
}

const EXEC_CURSOR: &str = "executions";
const ENDPOINT_CURSOR: &str = "endpoints";

fn encode_cursor(kind: &str, pos: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{pos}"))
}

fn decode_cursor(kind: &str, cursor: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (k, pos) = s.split_once(':')?;
    (k == kind).then(|| pos.parse().ok()).flatten()
}

struct Page {
    limit: usize,
    cursor: Option<usize>,
    self_only: bool,
}

fn page_params(query: Option<&str>, kind: &str) -> Result<Page, Response> {
    let mut page = Page {
        limit: 50,
        cursor: None,
        self_only: false,
    };
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "limit" => match v.parse::<usize>() {
                Ok(n @ 1..=200) => page.limit = n,
                _ => return Err(bad("limit must be an integer between 1 and 200")),
            },
            "cursor" if !v.is_empty() => match decode_cursor(kind, &v) {
                Some(pos) => page.cursor = Some(pos),
                None => return Err(bad("cursor is invalid")),
            },
            "selfOnly" if kind == EXEC_CURSOR => match v.as_str() {
                "true" => page.self_only = true,
                "false" | "" => page.self_only = false,
                _ => return Err(bad("selfOnly must be true or false")),
            },
            _ => {}
        }
    }
    Ok(page)
}

fn list(shared: &Shared, query: Option<&str>, key: u8, team: u8) -> Response {
    let page = match page_params(query, EXEC_CURSOR) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let now = shared.now_ms();
    let st = lock(&shared.videogen);
    let end = page.cursor.unwrap_or(st.execs.len()).min(st.execs.len());
    let mut items = Vec::with_capacity(page.limit.min(200));
    let mut next = None;
    // Newest first: executions are stored in creation order.
    for pos in (0..end).rev() {
        let e = &st.execs[pos];
        if e.team != team || (page.self_only && e.key != key) {
            continue;
        }
        if items.len() == page.limit {
            next = Some(encode_cursor(EXEC_CURSOR, pos + 1));
            break;
        }
        items.push(view(shared, e, now));
    }
    drop(st);
    json_response(
        StatusCode::OK,
        &json!({"toolExecutions": items, "hasMore": next.is_some(), "nextCursor": next}),
    )
}

fn file(shared: &Shared, id: &str, team: u8, hydrate: bool) -> Response {
    let (num, i) = match parse_file_id(id) {
        IdParse::Invalid => return invalid_id("fileId"),
        IdParse::Unknown => return not_found("File"),
        IdParse::Ours(x) => x,
    };
    let now = shared.now_ms();
    let st = lock(&shared.videogen);
    let exec = st
        .index
        .get(&num)
        .and_then(|x| st.execs.get(*x as usize))
        .filter(|e| e.team == team && i < e.num_results && e.status(now) == "succeeded");
    match exec {
        Some(e) => json_response(
            StatusCode::OK,
            &storage_file(shared, e, i, hydrate.then_some(now + URL_TTL_MS)),
        ),
        None => not_found("File"),
    }
}

/// Whether `{fileId}/{variant}.{ext}` names a file of a succeeded execution.
pub(crate) fn file_exists(shared: &Shared, name: &str) -> bool {
    let Some((fid, _)) = name.split_once('/') else {
        return false;
    };
    let IdParse::Ours((num, i)) = parse_file_id(fid) else {
        return false;
    };
    let now = shared.now_ms();
    let st = lock(&shared.videogen);
    st.index
        .get(&num)
        .and_then(|x| st.execs.get(*x as usize))
        .is_some_and(|e| i < e.num_results && e.status(now) == "succeeded")
}

// ---------------------------------------------------------------------------------------------
// Webhook endpoints

const OUR_EVENTS: [&str; 3] = [
    "tool_execution.succeeded",
    "tool_execution.failed",
    "tool_execution.cancelled",
];

fn endpoint_create(shared: &Shared, body: &[u8], team: u8) -> Response {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return bad("The request body must be a JSON object");
    };
    let url = match obj.get("url") {
        Some(Value::String(u)) if webhook_url_ok(u) => u.clone(),
        Some(_) => return bad("url must be a valid https URL"),
        None => return bad("url is required"),
    };
    let events: Vec<String> = match obj.get("events") {
        Some(Value::Array(evs)) if !evs.is_empty() => {
            let mut out = Vec::new();
            for ev in evs {
                match ev.as_str() {
                    Some(s)
                        if OUR_EVENTS.contains(&s)
                            || s.starts_with("file.")
                            || s.starts_with("workflow_run.") =>
                    {
                        out.push(s.to_string());
                    }
                    _ => return bad(&format!("events contains an unknown event: {ev}")),
                }
            }
            out
        }
        Some(_) => return bad("events must be a non-empty array of event names"),
        None => return bad("events is required"),
    };
    let description = match opt(&obj, "description") {
        None => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(_) => return bad("description must be a string"),
    };
    let now = shared.now_ms();
    let mut st = lock(&shared.videogen);
    let seq = st.next_endpoint;
    st.next_endpoint += 1;
    let num = id_number(shared.config.seed, ENDPOINT_TAG, seq);
    let mut key = Vec::with_capacity(24);
    for j in 0..3u64 {
        key.extend_from_slice(&mix64(num ^ j ^ shared.config.seed).to_le_bytes());
    }
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let ep = Endpoint {
        num,
        team,
        url,
        events,
        description,
        created: now,
        secret: secret.clone(),
    };
    let mut answer = ep.public();
    answer["signingSecret"] = json!(secret);
    st.endpoints.push(ep);
    json_response(StatusCode::CREATED, &answer)
}

fn endpoint_list(shared: &Shared, query: Option<&str>, team: u8) -> Response {
    let page = match page_params(query, ENDPOINT_CURSOR) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let st = lock(&shared.videogen);
    let mine: Vec<&Endpoint> = st.endpoints.iter().filter(|e| e.team == team).collect();
    let start = page.cursor.unwrap_or(0).min(mine.len());
    let end = (start + page.limit).min(mine.len());
    let items: Vec<Value> = mine[start..end].iter().map(|e| e.public()).collect();
    let next = (end < mine.len()).then(|| encode_cursor(ENDPOINT_CURSOR, end));
    json_response(
        StatusCode::OK,
        &json!({"endpoints": items, "hasMore": next.is_some(), "nextCursor": next}),
    )
}

fn endpoint_delete(shared: &Shared, id: &str, team: u8) -> Response {
    let num = match id.strip_prefix("vg_whep_") {
        Some(rest) if rest.len() == 16 => match u64::from_str_radix(rest, 16) {
            Ok(n) => Some(n),
            Err(_) => return invalid_id("endpointId"),
        },
        Some(rest) if well_formed(rest) => None,
        _ => return invalid_id("endpointId"),
    };
    let mut st = lock(&shared.videogen);
    let pos = num.and_then(|n| {
        st.endpoints
            .iter()
            .position(|e| e.num == n && e.team == team)
    });
    match pos {
        Some(p) => {
            st.endpoints.remove(p);
            let mut resp = Response::new(axum::body::Body::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        None => not_found("Webhook endpoint"),
    }
}

/// The deliveries of execution `idx` becoming terminal at `at`, one per subscribed endpoint.
pub(crate) fn terminal_deliveries(shared: &Shared, idx: u32, at: SimMs) -> Vec<Delivery> {
    let now = shared.now_ms();
    let st = lock(&shared.videogen);
    let Some(e) = st.execs.get(idx as usize).filter(|e| e.terminal() == at) else {
        return Vec::new();
    };
    let status = e.status(at.max(now));
    let event = match status {
        "succeeded" => "tool_execution.succeeded",
        "failed" => "tool_execution.failed",
        "cancelled" => "tool_execution.cancelled",
        _ => return Vec::new(),
    };
    let targets: Vec<&Endpoint> = st
        .endpoints
        .iter()
        .filter(|ep| ep.team == e.team && ep.events.iter().any(|x| x == event))
        .collect();
    if targets.is_empty() {
        return Vec::new();
    }
    let mut body = json!({
        "event": event,
        "toolExecutionId": exec_id(e.num),
        "toolType": e.tool().tool_type,
        "occurredAt": unix_secs(e.terminal()),
    });
    match status {
        // Hydrated at sending: the receiver needs no extra call.
        "succeeded" => body["results"] = results(shared, e, now + URL_TTL_MS),
        "failed" => body["error"] = failure_json(e),
        _ => {}
    }
    let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    targets
        .into_iter()
        .map(|ep| {
            let msg_id = format!("msg_{:016x}{:08x}", mix64(e.num ^ ep.num), ep.num as u32);
            Delivery::new(
                Provider::VideoGen,
                ep.url.clone(),
                bytes.clone(),
                Signing::VideoGen {
                    secret: ep.secret.clone(),
                    msg_id,
                },
            )
        })
        .collect()
}
