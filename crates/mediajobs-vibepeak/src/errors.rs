//! VibePeak's error answers: `{"error": {"code", "message", "request_id", "details"?}}`.
//!
//! Classification is the transport's ([`Endpoint::api_error`] with the generated table); this
//! adds what is VibePeak's own: the field a code implies when `details` does not name one, and
//! `details` itself, kept readable in the message and recoverable with [`error_details`],
//! [`ConcurrencyLimit::from_error`] and [`PlanRequirement::from_error`].

use mediajobs_core::{Error, Operation, Provider};
use mediajobs_transport::{Endpoint, HttpResponse};
use serde_json::Value;

use crate::generated;

/// The marker that introduces `details` in an error message.
const DETAILS_MARK: &str = " [details: ";
/// Details longer than this (as compact JSON) are left out of the message.
const MAX_DETAILS_LEN: usize = 1024;

/// The error an answer that is not 2xx stands for.
pub(crate) fn api_error(endpoint: &Endpoint, operation: Operation, resp: &HttpResponse) -> Error {
    let mut err = endpoint.api_error(operation, resp, generated::ERROR_RULES);
    let body = serde_json::from_slice::<Value>(&resp.body).ok();
    let details = body.as_ref().and_then(|v| {
        v.get("error")
            .filter(|e| e.is_object())
            .and_then(|e| e.get("details"))
            .or_else(|| v.get("details"))
            .filter(|d| !d.is_null())
            .cloned()
    });
    if let Error::Api(e) = &mut err {
        if e.field.is_none() {
            e.field = details
                .as_ref()
                .and_then(field_from_details)
                .or_else(|| field_for_code(e.code.as_deref()).map(str::to_string));
        }
        if let Some(d) = &details {
            let text = d.to_string();
            if text.len() <= MAX_DETAILS_LEN && !is_empty_details(d) {
                e.message = format!("{}{DETAILS_MARK}{text}]", e.message);
            }
        }
        // A provider echoing the key back must not put it in our errors.
        let key = endpoint.api_key().expose();
        if key.len() >= 8 && e.message.contains(key) {
            e.message = e.message.replace(key, "***");
        }
    }
    err
}

fn is_empty_details(d: &Value) -> bool {
    match d {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The field `details` names, in the shapes seen in the wild: `{field}`, `{param}`,
/// `{fields: [..]}` (handled by the transport), `[{field}]`, or an object whose only key is
/// the field (`{"script": "too short"}`).
fn field_from_details(d: &Value) -> Option<String> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match d {
        Value::Array(items) => items
            .iter()
            .find_map(|i| s(i, "field").or_else(|| s(i, "param"))),
        Value::Object(o) => {
            if let Some(f) = s(d, "field").or_else(|| s(d, "param")) {
                return Some(f);
            }
            const NOT_FIELDS: &[&str] = &[
                "limit",
                "in_flight",
                "plan",
                "current_plan",
                "required_plans",
                "reason",
                "message",
            ];
            let mut keys = o.keys().filter(|k| !NOT_FIELDS.contains(&k.as_str()));
            match (keys.next(), keys.next()) {
                (Some(k), None) => Some(k.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The field a code blames when the body does not say.
fn field_for_code(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "SCRIPT_TOO_SHORT" | "SCRIPT_TOO_LONG" => Some("script"),
        "AVATAR_ACCESS_DENIED" => Some("avatar_id"),
        "VOICE_ACCESS_DENIED" => Some("voice.voice_id"),
        _ => None,
    }
}

/// The `details` object of a VibePeak error answer, where it had one.
///
/// ```
/// use mediajobs_core::{ApiError, Error, ErrorKind, Operation, Provider};
/// use mediajobs_vibepeak::error_details;
/// let e = ApiError::new(Provider::VibePeak, Operation::Submit, ErrorKind::ConcurrencyLimited, 429,
///     r#"3 tasks in flight [details: {"limit":3,"in_flight":3,"plan":"pro"}]"#);
/// assert_eq!(error_details(&Error::from(e)).unwrap()["plan"], "pro");
/// ```
pub fn error_details(err: &Error) -> Option<Value> {
    let e = err.api().filter(|e| e.provider == Provider::VibePeak)?;
    let start = e.message.rfind(DETAILS_MARK)? + DETAILS_MARK.len();
    let text = e.message.get(start..)?.strip_suffix(']')?;
    serde_json::from_str(text).ok()
}

/// `429 CONCURRENCY_LIMIT_EXCEEDED`'s details \[doc\]: the plan's limit of tasks in flight.
/// Not a failure: wait for one of the tasks in flight to finish, then submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyLimit {
    /// Tasks allowed in flight (queued or processing): Plus 1, Pro 3, Max 10.
    pub limit: Option<u32>,
    /// Tasks in flight now.
    pub in_flight: Option<u32>,
    /// The account's plan.
    pub plan: Option<String>,
}

impl ConcurrencyLimit {
    /// The limit a `CONCURRENCY_LIMIT_EXCEEDED` error reports (fields `None` where the answer
    /// had no details); `None` for any other error.
    pub fn from_error(err: &Error) -> Option<ConcurrencyLimit> {
        if err.code() != Some("CONCURRENCY_LIMIT_EXCEEDED") {
            return None;
        }
        let d = error_details(err).unwrap_or(Value::Null);
        let num = |k: &str| {
            d.get(k)
                .and_then(crate::lenient::u64_from_value)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        Some(ConcurrencyLimit {
            limit: num("limit"),
            in_flight: num("in_flight"),
            plan: d.get("plan").and_then(Value::as_str).map(str::to_string),
        })
    }
}

/// `403 PLAN_REQUIRED` / `PLAN_NOT_ALLOWED`'s details \[doc\]: the plan the account has and the
/// plans that may use the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequirement {
    /// The account's plan (e.g. `free`).
    pub current_plan: Option<String>,
    /// Plans with API access (e.g. `plus`, `pro`, `max`).
    pub required_plans: Vec<String>,
}

impl PlanRequirement {
    /// The requirement a `PLAN_REQUIRED` or `PLAN_NOT_ALLOWED` error reports; `None` for any
    /// other error.
    pub fn from_error(err: &Error) -> Option<PlanRequirement> {
        if !matches!(err.code(), Some("PLAN_REQUIRED" | "PLAN_NOT_ALLOWED")) {
            return None;
        }
        let d = error_details(err).unwrap_or(Value::Null);
        let required_plans = match d.get("required_plans") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        Some(PlanRequirement {
            current_plan: d
                .get("current_plan")
                .and_then(Value::as_str)
                .map(str::to_string),
            required_plans,
        })
    }
}
