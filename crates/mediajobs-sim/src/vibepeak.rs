//! VibePeak: narrated real-estate slideshows. `POST /v1/real-estate/narrated-slideshow`,
//! `GET /v1/tasks/{task_id}`, `GET /health`; test/live key isolation, in-flight limits per plan,
//! per-task webhooks signed with the key's secret.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::{Method, StatusCode};
use rand::Rng;
use serde_json::{Value, json};

use crate::clock::{SimMs, rfc3339};
use crate::faults::{Op, Provider};
use crate::files::{FileKind, signed_url};
use crate::server::{Req, RouteMatch};
use crate::state::{DueKind, Shared, lock, stats_task};
use crate::util::{
    asset_missing, bearer, body_sha256, id_number, json_response, parse_http_url, set_header,
    task_rng, webhook_url_ok,
};
use crate::webhooks::{Delivery, Signing};

const TAG: u64 = 0x7669_6265;
const SUBMIT_PATH: &str = "/v1/real-estate/narrated-slideshow";
/// How long a result URL stays valid after it is handed out.
const URL_TTL_MS: i64 = 7 * 24 * 3_600_000;
/// The recommended polling interval the sim announces, in sim seconds.
const POLL_S: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    ImageFailed(u8),
    NarrationFailed,
    InternalError,
}

#[derive(Debug)]
struct Task {
    id: Box<str>,
    live: bool,
    created: SimMs,
    queue_ms: u32,
    /// Offset of the terminal time from `created`.
    terminal_ms: u32,
    /// Offset of `estimated_completion` from `created` (the true duration, off by up to ±10 %).
    estimate_ms: u32,
    outcome: Outcome,
    duration_s: u16,
    webhook_url: Option<Box<str>>,
    sha: [u8; 32],
}

impl Task {
    fn started(&self) -> SimMs {
        self.created + i64::from(self.queue_ms)
    }
    fn terminal(&self) -> SimMs {
        self.created + i64::from(self.terminal_ms)
    }
    fn status(&self, now: SimMs) -> &'static str {
        if now < self.started() {
            "queued"
        } else if now < self.terminal() {
            "processing"
        } else if self.outcome == Outcome::Completed {
            "completed"
        } else {
            "failed"
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    tasks: Vec<Task>,
    index: HashMap<Box<str>, u32>,
    next_seq: u64,
    /// Terminal times of the tasks in flight, per mode (test, live): a min-heap, so counting the
    /// tasks still in flight at submit is a few pops, even with a raised limit.
    in_flight: [BinaryHeap<Reverse<SimMs>>; 2],
}

impl State {
    pub(crate) fn reset(&mut self) {
        self.tasks.clear();
        self.index.clear();
        self.in_flight = Default::default();
    }

    pub(crate) fn stats_tasks(&self, now: SimMs, out: &mut Vec<Value>) {
        for t in &self.tasks {
            let terminal = (now >= t.terminal()).then(|| t.terminal());
            out.push(stats_task(
                Provider::VibePeak,
                &t.id,
                &t.sha,
                t.status(now),
                t.created,
                terminal,
            ));
        }
    }
}

pub(crate) fn classify(method: &Method, path: &str) -> Option<RouteMatch> {
    let m = |template, op| Some(RouteMatch { template, op });
    match (method, path) {
        (&Method::GET, "/health") => m("/health", None),
        (&Method::POST, SUBMIT_PATH) => m(SUBMIT_PATH, Some(Op::Submit)),
        (&Method::GET, p) if task_id_of(p).is_some() => m("/v1/tasks/{task_id}", Some(Op::Status)),
        _ => None,
    }
}

fn task_id_of(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/tasks/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The VibePeak error body `{"error": {code, message, request_id, details?}}`.
pub(crate) fn error(
    shared: &Shared,
    status: StatusCode,
    code: &str,
    message: &str,
    details: Option<Value>,
) -> Response {
    let mut e = json!({"code": code, "message": message, "request_id": shared.request_id()});
    if let Some(d) = details {
        e["details"] = d;
    }
    json_response(status, &json!({ "error": e }))
}

/// The one 429 VibePeak documents, `CONCURRENCY_LIMIT_EXCEEDED` with its details and the
/// sim's `Retry-After: 30`.
fn concurrency_exceeded(shared: &Shared, limit: u32, in_flight: usize) -> Response {
    let mut resp = error(
        shared,
        StatusCode::TOO_MANY_REQUESTS,
        "CONCURRENCY_LIMIT_EXCEEDED",
        &format!("Your plan allows {limit} tasks in flight; {in_flight} are queued or processing"),
        Some(json!({
            "limit": limit,
            "in_flight": in_flight,
            "plan": shared.config.vibepeak_plan.as_str(),
        })),
    );
    set_header(&mut resp, "retry-after", POLL_S);
    resp
}

/// An injected `429` fault: VibePeak documents no other 429 than the concurrency limit, so the
/// fault takes its shape, reporting the test-mode tasks in flight (a client must treat it
/// as transient whatever the operation).
pub(crate) fn injected_429(shared: &Shared) -> Response {
    let now = shared.now_ms();
    let in_flight = lock(&shared.vibepeak).in_flight[0]
        .iter()
        .filter(|Reverse(t)| *t > now)
        .count();
    let limit = shared.config.vibepeak_limit().unwrap_or(0);
    concurrency_exceeded(shared, limit, in_flight)
}

fn invalid(shared: &Shared, field: &str, message: &str) -> Response {
    error(
        shared,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        message,
        Some(json!({"field": field, "reason": message})),
    )
}

pub(crate) fn handle(shared: &Arc<Shared>, req: &Req<'_>) -> Response {
    if req.path == "/health" && req.method == Method::GET {
        return json_response(StatusCode::OK, &json!({"status": "ok"}));
    }
    let Some(route) = classify(req.method, req.path) else {
        return error(
            shared,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "No such endpoint",
            None,
        );
    };
    let live = match bearer(req.headers) {
        None => {
            return error(
                shared,
                StatusCode::UNAUTHORIZED,
                "MISSING_API_KEY",
                "No API key provided: send Authorization: Bearer <key>",
                None,
            );
        }
        Some(k) if k == shared.keys.vibepeak_test => false,
        Some(k) if k == shared.keys.vibepeak_live => true,
        Some(_) => {
            return error(
                shared,
                StatusCode::UNAUTHORIZED,
                "INVALID_API_KEY",
                "The API key is not valid",
                None,
            );
        }
    };
    let Some(limit) = shared.config.vibepeak_limit() else {
        return error(
            shared,
            StatusCode::FORBIDDEN,
            "PLAN_REQUIRED",
            "API access requires the Plus, Pro or Max plan",
            Some(json!({
                "current_plan": shared.config.vibepeak_plan.as_str(),
                "required_plans": ["plus", "pro", "max"],
            })),
        );
    };
    match route.op {
        Some(Op::Submit) => create(shared, req, live, limit),
        _ => status(shared, task_id_of(req.path).unwrap_or_default(), live),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Success,
    ImageProcessingFailed,
    Slow,
}

struct Valid {
    images: usize,
    missing_image: Option<usize>,
    scenario: Option<Scenario>,
    webhook_url: Option<String>,
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            19 => matches!(c.to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// BCP-47 in the shape the sim checks: a 2–3 letter language, then 1–8 character alphanumeric subtags.
fn is_bcp47(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn script_char_ok(c: char) -> bool {
    c.is_alphabetic() || c.is_whitespace() || ".,!?'\"-:;()’‘“”—–".contains(c)
}

fn validate(shared: &Shared, body: &Value, live: bool) -> Result<Valid, Response> {
    let Some(obj) = body.as_object() else {
        return Err(invalid(
            shared,
            "body",
            "The request body must be a JSON object",
        ));
    };
    // images
    let Some(images) = obj.get("images").and_then(Value::as_array) else {
        return Err(invalid(
            shared,
            "images",
            "images is required: an array of 6 to 15 image URLs",
        ));
    };
    if images.len() < 6 || images.len() > 15 {
        return Err(invalid(
            shared,
            "images",
            &format!(
                "images must contain between 6 and 15 URLs, got {}",
                images.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut missing_image = None;
    for (i, img) in images.iter().enumerate() {
        let Some(url) = img.as_str() else {
            return Err(invalid(
                shared,
                "images",
                &format!("image at index {i} must be a URL string"),
            ));
        };
        let Some((_, _, path)) = parse_http_url(url) else {
            return Err(invalid(
                shared,
                "images",
                &format!("image at index {i} is not a valid http(s) URL"),
            ));
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let file = path.rsplit('/').next().unwrap_or_default();
        if let Some((_, ext)) = file.rsplit_once('.') {
            let ext = ext.to_ascii_lowercase();
            if !matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "webp") {
                return Err(invalid(
                    shared,
                    "images",
                    &format!("image at index {i} must be a JPEG, PNG or WebP image"),
                ));
            }
        }
        if !seen.insert(url) {
            return Err(invalid(
                shared,
                "images",
                &format!("image at index {i} is a duplicate; images must be unique"),
            ));
        }
        if missing_image.is_none() && asset_missing(url) {
            missing_image = Some(i);
        }
    }
    // voice
    let Some(voice) = obj.get("voice").and_then(Value::as_object) else {
        return Err(invalid(
            shared,
            "voice",
            "voice is required: an object {voice_id, language?}",
        ));
    };
    if voice
        .get("voice_id")
        .and_then(Value::as_str)
        .is_none_or(|v| v.trim().is_empty())
    {
        return Err(invalid(
            shared,
            "voice.voice_id",
            "voice.voice_id is required",
        ));
    }
    if let Some(lang) = voice.get("language") {
        if !lang.as_str().is_some_and(is_bcp47) {
            return Err(invalid(
                shared,
                "voice.language",
                "voice.language must be a BCP-47 tag such as en or en-US",
            ));
        }
    }
    // script
    let Some(script) = obj.get("script").and_then(Value::as_str) else {
        return Err(invalid(shared, "script", "script is required"));
    };
    let n = images.len();
    let len = script.chars().count();
    let (min, max) = (40 * n, 50 * n);
    if len < min {
        return Err(error(
            shared,
            StatusCode::BAD_REQUEST,
            "SCRIPT_TOO_SHORT",
            &format!("The script has {len} characters; {n} images need at least {min}"),
            Some(json!({"field": "script", "length": len, "min_length": min, "max_length": max})),
        ));
    }
    if len > max {
        return Err(error(
            shared,
            StatusCode::BAD_REQUEST,
            "SCRIPT_TOO_LONG",
            &format!("The script has {len} characters; {n} images allow at most {max}"),
            Some(json!({"field": "script", "length": len, "min_length": min, "max_length": max})),
        ));
    }
    if script.chars().any(|c| c.is_numeric()) {
        return Err(invalid(
            shared,
            "script",
            "script must not contain numbers; spell them out",
        ));
    }
    if let Some(c) = script.chars().find(|c| !script_char_ok(*c)) {
        return Err(invalid(
            shared,
            "script",
            &format!("script must not contain special symbols such as `{c}`"),
        ));
    }
    // optional fields
    let enum_field = |name: &str, allowed: &[&str]| -> Result<(), Response> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
            Some(_) => Err(invalid(
                shared,
                name,
                &format!("{name} must be one of: {}", allowed.join(", ")),
            )),
        }
    };
    enum_field("orientation", &["landscape", "portrait"])?;
    enum_field(
        "orchestration_mode",
        &["standard", "artistic", "sequential"],
    )?;
    if let Some(v) = obj.get("background_music") {
        if !v.is_boolean() && !v.is_null() {
            return Err(invalid(
                shared,
                "background_music",
                "background_music must be a boolean",
            ));
        }
    }
    if let Some(v) = obj.get("avatar_id").filter(|v| !v.is_null()) {
        if !v.as_str().is_some_and(is_uuid_v4) {
            return Err(invalid(shared, "avatar_id", "avatar_id must be a UUID v4"));
        }
    }
    if let Some(v) = obj.get("subtitle").filter(|v| !v.is_null()) {
        let ok = v.as_object().is_some_and(|s| {
            s.get("subtitle_style_preset")
                .is_none_or(|p| p.as_str().is_some_and(|p| !p.is_empty()))
        });
        if !ok {
            return Err(invalid(
                shared,
                "subtitle",
                "subtitle must be an object {subtitle_style_preset}",
            ));
        }
    }
    if let Some(v) = obj.get("elements_config").filter(|v| !v.is_null()) {
        validate_elements(shared, v)?;
    }
    let webhook_url = match obj.get("webhook_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if webhook_url_ok(u) => Some(u.clone()),
        Some(_) => {
            return Err(invalid(
                shared,
                "webhook_url",
                "webhook_url must be a valid https URL",
            ));
        }
    };
    let scenario = match obj.get("test_scenario") {
        None | Some(Value::Null) => None,
        Some(_) if live => {
            return Err(invalid(
                shared,
                "test_scenario",
                "test_scenario is only accepted with test keys",
            ));
        }
        Some(Value::String(s)) => match s.as_str() {
            "success" => Some(Scenario::Success),
            "image_processing_failed" => Some(Scenario::ImageProcessingFailed),
            "slow" => Some(Scenario::Slow),
            _ => {
                return Err(invalid(
                    shared,
                    "test_scenario",
                    "test_scenario must be one of: success, image_processing_failed, slow",
                ));
            }
        },
        Some(_) => {
            return Err(invalid(
                shared,
                "test_scenario",
                "test_scenario must be a string",
            ));
        }
    };
    Ok(Valid {
        images: n,
        missing_image,
        scenario,
        webhook_url,
    })
}

fn validate_elements(shared: &Shared, v: &Value) -> Result<(), Response> {
    let bad = |field: &str, msg: &str| Err(invalid(shared, field, msg));
    let Some(ec) = v.as_object() else {
        return bad("elements_config", "elements_config must be an object");
    };
    if ec.get("enabled").is_some_and(|e| !e.is_boolean()) {
        return bad(
            "elements_config.enabled",
            "elements_config.enabled must be a boolean",
        );
    }
    if let Some(w) = ec.get("watermark").filter(|w| !w.is_null()) {
        let Some(w) = w.as_object() else {
            return bad(
                "elements_config.watermark",
                "elements_config.watermark must be an object",
            );
        };
        if w.get("url")
            .is_some_and(|u| u.as_str().is_none_or(|u| parse_http_url(u).is_none()))
        {
            return bad(
                "elements_config.watermark.url",
                "elements_config.watermark.url must be an http(s) URL",
            );
        }
        if w.get("opacity")
            .is_some_and(|o| !o.as_f64().is_some_and(|o| (0.0..=1.0).contains(&o)))
        {
            return bad(
                "elements_config.watermark.opacity",
                "elements_config.watermark.opacity must be between 0 and 1",
            );
        }
        if w.get("position").is_some_and(|p| !p.is_string()) {
            return bad(
                "elements_config.watermark.position",
                "elements_config.watermark.position must be a string",
            );
        }
    }
    if let Some(t) = ec.get("text").filter(|t| !t.is_null()) {
        let Some(t) = t.as_object() else {
            return bad(
                "elements_config.text",
                "elements_config.text must be an object",
            );
        };
        for f in ["content", "color", "font", "position"] {
            if t.get(f).is_some_and(|x| !x.is_string()) {
                return bad(
                    &format!("elements_config.text.{f}"),
                    &format!("elements_config.text.{f} must be a string"),
                );
            }
        }
    }
    Ok(())
}

fn create(shared: &Arc<Shared>, req: &Req<'_>, live: bool, limit: u32) -> Response {
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(e) => {
            return invalid(
                shared,
                "body",
                &format!("The request body is not valid JSON: {e}"),
            );
        }
    };
    let valid = match validate(shared, &body, live) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let now = shared.now_ms();
    let mode = usize::from(live);
    let mut st = lock(&shared.vibepeak);
    let heap = &mut st.in_flight[mode];
    while heap.peek().is_some_and(|Reverse(t)| *t <= now) {
        heap.pop();
    }
    let in_flight = heap.len();
    if in_flight >= limit as usize {
        drop(st);
        return concurrency_exceeded(shared, limit, in_flight);
    }

    let seq = st.next_seq;
    st.next_seq += 1;
    let mut rng = task_rng(shared.config.seed, TAG, seq);
    let total_s: f64 = match valid.scenario {
        Some(Scenario::Slow) => rng.gen_range(900.0..1500.0),
        _ => rng.gen_range(240.0..600.0),
    };
    let queue_s: f64 = rng.gen_range(5.0..45.0);
    let error_frac: f64 = rng.gen_range(-0.10..=0.10);
    let roll: f64 = rng.r#gen();
    let pick: f64 = rng.r#gen();
    let n = valid.images;
    let outcome = if let Some(i) = valid.missing_image {
        Outcome::ImageFailed(i as u8)
    } else {
        match valid.scenario {
            Some(Scenario::ImageProcessingFailed) => {
                Outcome::ImageFailed(rng.gen_range(0..n) as u8)
            }
            Some(_) => Outcome::Completed,
            // Test keys default to the `success` scenario; live keys fail at the seeded rate.
            None if !live => Outcome::Completed,
            None if roll < shared.config.failure_rate => {
                if pick < 0.5 {
                    Outcome::ImageFailed(rng.gen_range(0..n) as u8)
                } else if pick < 0.8 {
                    Outcome::NarrationFailed
                } else {
                    Outcome::InternalError
                }
            }
            None => Outcome::Completed,
        }
    };
    let terminal_s = if outcome == Outcome::Completed {
        total_s
    } else {
        queue_s + (total_s - queue_s) * rng.gen_range(0.2..0.9)
    };
    let id = format!("task_{:016x}", id_number(shared.config.seed, TAG, seq));
    let task = Task {
        id: id.clone().into_boxed_str(),
        live,
        created: now,
        queue_ms: (queue_s * 1000.0) as u32,
        terminal_ms: (terminal_s * 1000.0) as u32,
        estimate_ms: (total_s * (1.0 + error_frac) * 1000.0) as u32,
        outcome,
        duration_s: (n as f64 * rng.gen_range(4.0..7.0) + 3.0) as u16,
        webhook_url: valid.webhook_url.map(String::into_boxed_str),
        sha: body_sha256("POST", SUBMIT_PATH, &body),
    };
    let terminal = task.terminal();
    let has_webhook = task.webhook_url.is_some();
    let answer = json!({
        "task_id": id,
        "status": "queued",
        "queue_position": queue_position(&task, now),
        "estimated_completion": rfc3339(task.created + i64::from(task.estimate_ms)),
        "created_at": rfc3339(now),
        "livemode": live,
    });
    let idx = st.tasks.len() as u32;
    st.in_flight[mode].push(Reverse(terminal));
    st.index.insert(task.id.clone(), idx);
    st.tasks.push(task);
    drop(st);
    if has_webhook {
        shared.schedule(terminal, DueKind::VibePeakTerminal(idx));
    }
    let mut resp = json_response(StatusCode::ACCEPTED, &answer);
    set_header(&mut resp, "location", format!("/v1/tasks/{id}"));
    set_header(&mut resp, "retry-after", POLL_S);
    resp
}

/// The sim's queue model: one position per 15 s of queue wait left.
fn queue_position(t: &Task, now: SimMs) -> i64 {
    1 + (t.started() - now).max(0) / 15_000
}

fn failure(t: &Task) -> (&'static str, String) {
    match t.outcome {
        Outcome::ImageFailed(i) => (
            "IMAGE_PROCESSING_FAILED",
            format!(
                "Failed to process image at index {i}: the image could not be downloaded or decoded"
            ),
        ),
        Outcome::NarrationFailed => (
            "NARRATION_FAILED",
            "Failed to generate the narration for the script".into(),
        ),
        _ => (
            "INTERNAL_ERROR",
            "An internal error occurred while rendering the video".into(),
        ),
    }
}

fn result(shared: &Shared, t: &Task, now: SimMs) -> Value {
    let expires = now + URL_TTL_MS;
    json!({
        "video_url": signed_url(shared, Provider::VibePeak, &format!("{}/video.{}", t.id, FileKind::Mp4.ext()), expires),
        "cover_image_url": signed_url(shared, Provider::VibePeak, &format!("{}/cover.{}", t.id, FileKind::Png.ext()), expires),
        "duration_seconds": t.duration_s,
        "resolution": "1080p",
        "expires_at": rfc3339(expires),
    })
}

fn view(shared: &Shared, t: &Task, now: SimMs) -> Value {
    let status = t.status(now);
    let mut v = json!({
        "task_id": &*t.id,
        "status": status,
        "created_at": rfc3339(t.created),
        "livemode": t.live,
    });
    let estimate = rfc3339(t.created + i64::from(t.estimate_ms));
    match status {
        "queued" => {
            v["queue_position"] = json!(queue_position(t, now));
            v["estimated_completion"] = json!(estimate);
        }
        "processing" => {
            v["started_at"] = json!(rfc3339(t.started()));
            v["estimated_completion"] = json!(estimate);
        }
        "completed" => {
            v["started_at"] = json!(rfc3339(t.started()));
            v["completed_at"] = json!(rfc3339(t.terminal()));
            v["result"] = result(shared, t, now);
        }
        _ => {
            let (code, message) = failure(t);
            v["started_at"] = json!(rfc3339(t.started()));
            v["completed_at"] = json!(rfc3339(t.terminal()));
            v["error"] = json!({"code": code, "message": message});
        }
    }
    v
}

fn status(shared: &Shared, id: &str, live: bool) -> Response {
    let now = shared.now_ms();
    let st = lock(&shared.vibepeak);
    let task = st
        .index
        .get(id)
        .and_then(|i| st.tasks.get(*i as usize))
        .filter(|t| t.live == live);
    let Some(t) = task else {
        drop(st);
        return error(
            shared,
            StatusCode::NOT_FOUND,
            "TASK_NOT_FOUND",
            &format!("No task {id}"),
            None,
        );
    };
    let body = view(shared, t, now);
    let retry_after = match t.status(now) {
        "queued" => Some(POLL_S),
        "processing" => {
            let left = (t.created + i64::from(t.estimate_ms) - now) / 1000;
            Some(left.clamp(5, POLL_S))
        }
        _ => None,
    };
    drop(st);
    let mut resp = json_response(StatusCode::OK, &body);
    if let Some(s) = retry_after {
        set_header(&mut resp, "retry-after", s);
    }
    resp
}

/// The webhook of task `idx`, due at `at` (its terminal time), if it asked for one.
pub(crate) fn terminal_delivery(shared: &Shared, idx: u32, at: SimMs) -> Option<Delivery> {
    let now = shared.now_ms();
    let st = lock(&shared.vibepeak);
    let t = st.tasks.get(idx as usize).filter(|t| t.terminal() == at)?;
    let url = t.webhook_url.as_deref()?.to_string();
    let completed = t.outcome == Outcome::Completed;
    let event = if completed {
        "task.completed"
    } else {
        "task.failed"
    };
    let mut body = json!({
        "event": event,
        "task_id": &*t.id,
        "status": if completed { "completed" } else { "failed" },
        "created_at": rfc3339(t.created),
        "completed_at": rfc3339(t.terminal()),
        "livemode": t.live,
    });
    if completed {
        body["result"] = result(shared, t, now);
    } else {
        let (code, message) = failure(t);
        body["error"] = json!({"code": code, "message": message});
    }
    let secret = if t.live {
        shared.keys.vibepeak_live_secret.clone()
    } else {
        shared.keys.vibepeak_test_secret.clone()
    };
    Some(Delivery::new(
        Provider::VibePeak,
        url,
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        Signing::VibePeak { secret, event },
    ))
}

/// Whether `{task_id}/video.mp4` or `{task_id}/cover.png` names a completed task's file.
pub(crate) fn file_exists(shared: &Shared, name: &str) -> bool {
    let Some((id, file)) = name.split_once('/') else {
        return false;
    };
    if file != "video.mp4" && file != "cover.png" {
        return false;
    }
    let now = shared.now_ms();
    let st = lock(&shared.vibepeak);
    st.index
        .get(id)
        .and_then(|i| st.tasks.get(*i as usize))
        .is_some_and(|t| t.status(now) == "completed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_uuid_v4("123e4567-e89b-42d3-a456-426614174000"));
        assert!(!is_uuid_v4("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_bcp47("en") && is_bcp47("en-US") && is_bcp47("zh-Hant-TW"));
        assert!(!is_bcp47("english!") && !is_bcp47("e"));
        assert!(script_char_ok('é') && !script_char_ok('$') && !script_char_ok('%'));
    }
}
