//! VideoGen webhooks: Standard Webhooks signatures and the `tool_execution.*` payload.
//!
//! Headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature` (one or
//! more space-separated `v1,<base64>` entries; only `v1` counts, any one valid entry
//! suffices). The secret is `whsec_<base64 key>`: the HMAC key is the base64-decoded part
//! after the prefix. The MAC is HMAC-SHA256 over `"{id}.{timestamp}.{raw body}"`, compared in
//! constant time, and the timestamp must be within the replay window (±300 s by default) of
//! `now`. Several secrets can be configured at once, for rotation.
//!
//! Payload: `{event, toolExecutionId, toolType, occurredAt, results?, error?}`; the event name
//! is the outcome (`tool_execution.succeeded | failed | cancelled`). Other events of the
//! account (`file.*`, `workflow_run.*`, anything else) parse as non-job events: no status, no
//! snapshot, `job_id` empty unless the payload names a `toolExecutionId`; a receiver answers
//! them 2xx (so VideoGen does not retry them) and acts on nothing.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use http::HeaderMap;
use mediajobs_core::{
    Error, Provider, ProviderStatus, Secret, Snapshot, Timestamp, WebhookError, WebhookEvent,
    WebhookVerifier,
};
use mediajobs_transport::signature::{sign_base64, verify_base64};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::ENV_WEBHOOK_SECRET;
use crate::wire::{self, ExecutionError, ExecutionResult, ToolExecution};

/// The default replay window: a delivery is accepted within ±300 s of its timestamp.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The header carrying the message id (also the dedupe key).
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the unix-seconds timestamp.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The prefix of VideoGen signing secrets.
const SECRET_PREFIX: &str = "whsec_";

/// A decoded HMAC key; never printed.
#[derive(Clone)]
struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(***)")
    }
}

fn decode_secret(secret: &Secret) -> Result<Key, Error> {
    let text = secret.expose().trim();
    let b64 = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let key = engines
        .iter()
        .find_map(|e| e.decode(b64).ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Error::Config(format!(
                "videogen: a webhook signing secret is not of the form whsec_<base64>; check {ENV_WEBHOOK_SECRET}"
            ))
        })?;
    Ok(Key(key))
}

/// Verifies and decodes VideoGen's webhooks (Standard Webhooks).
///
/// ```
/// use mediajobs_core::WebhookVerifier;
/// use mediajobs_videogen::VideoGenWebhookVerifier;
/// // The test vector of the Standard Webhooks specification.
/// let v = VideoGenWebhookVerifier::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
/// let body = br#"{"email":"test@example.com","username":"test_user"}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".parse().unwrap());
/// headers.insert("webhook-timestamp", "1649367553".parse().unwrap());
/// headers.insert(
///     "webhook-signature",
///     "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".parse().unwrap(),
/// );
/// let now = chrono::DateTime::from_timestamp(1649367553 + 60, 0).unwrap();
/// assert!(v.verify(&headers, body, now).is_ok());
/// ```
#[derive(Clone)]
pub struct VideoGenWebhookVerifier {
    keys: Vec<Key>,
    tolerance: Duration,
}

impl fmt::Debug for VideoGenWebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoGenWebhookVerifier")
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl VideoGenWebhookVerifier {
    /// A verifier for one secret (`whsec_<base64>`; the prefix may be left out).
    pub fn new(secret: impl Into<Secret>) -> Result<Self, Error> {
        Self::with_secrets([secret])
    }

    /// A verifier accepting a signature by any of `secrets` (rotation). At least one.
    pub fn with_secrets<S: Into<Secret>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, Error> {
        let keys = secrets
            .into_iter()
            .map(|s| decode_secret(&s.into()))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(Error::Config(format!(
                "videogen: no webhook signing secret; set {ENV_WEBHOOK_SECRET}"
            )));
        }
        Ok(VideoGenWebhookVerifier {
            keys,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Also accepts signatures by `secret`.
    pub fn add_secret(mut self, secret: impl Into<Secret>) -> Result<Self, Error> {
        self.keys.push(decode_secret(&secret.into())?);
        Ok(self)
    }

    /// A verifier from a list of secrets separated by spaces and/or commas, as
    /// `VIDEOGEN_WEBHOOK_SECRET` holds them.
    pub fn from_secret_list(list: &str) -> Result<Self, Error> {
        Self::with_secrets(
            list.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(Secret::new),
        )
    }

    /// A verifier from `VIDEOGEN_WEBHOOK_SECRET` (one secret, or several separated by spaces
    /// or commas while rotating). Unset or empty is an [`Error::Config`] naming the variable.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`VideoGenWebhookVerifier::from_env`] with another source of variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let value = lookup(ENV_WEBHOOK_SECRET).unwrap_or_default();
        Self::from_secret_list(&value)
    }

    /// Sets the replay window (default [`DEFAULT_TOLERANCE`], both ways).
    pub fn tolerance(mut self, window: Duration) -> Self {
        self.tolerance = window;
        self
    }

    /// The replay window.
    pub fn replay_window(&self) -> Duration {
        self.tolerance
    }

    /// How many secrets are accepted.
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// The `webhook-signature` value VideoGen would send (`v1,<base64>`) with the first
    /// secret, for tests and local senders.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = self
            .keys
            .first()
            .map(|k| k.0.as_slice())
            .unwrap_or_default();
        let ts = timestamp.to_string();
        format!(
            "v1,{}",
            sign_base64(key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body])
        )
    }

    /// Decodes a payload (does not verify).
    pub fn parse_payload(body: &[u8]) -> Result<WebhookPayload, WebhookError> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| WebhookError::Malformed(format!("videogen webhook: not JSON: {e}")))?;
        if !v.is_object() {
            return Err(WebhookError::Malformed(
                "videogen webhook: the body is not a JSON object".into(),
            ));
        }
        // Tolerated alternative: the Standard Webhooks envelope `{type, timestamp, data}`.
        let v = match (v.get("event"), v.get("type"), v.get("data")) {
            (None, Some(Value::String(t)), Some(Value::Object(data))) => {
                let mut inner = data.clone();
                inner.insert("event".into(), Value::String(t.clone()));
                if !inner.contains_key("occurredAt") {
                    if let Some(ts) = v.get("timestamp") {
                        inner.insert("occurredAt".into(), ts.clone());
                    }
                }
                Value::Object(inner)
            }
            _ => v,
        };
        serde_json::from_value(v)
            .map_err(|e| WebhookError::Malformed(format!("videogen webhook: {e}")))
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    let v = headers.get(name).ok_or(WebhookError::MissingHeader(name))?;
    let v = v.to_str().map_err(|_| WebhookError::BadSignature)?.trim();
    if v.is_empty() {
        return Err(WebhookError::MissingHeader(name));
    }
    Ok(v)
}

impl WebhookVerifier for VideoGenWebhookVerifier {
    fn provider(&self) -> Provider {
        Provider::VideoGen
    }

    /// Checks the signature first (any configured secret, any `v1` entry), then that the
    /// timestamp is within the replay window of `now`.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: Timestamp) -> Result<(), WebhookError> {
        if self.keys.is_empty() {
            return Err(WebhookError::NoSecret);
        }
        let id = header(headers, HEADER_ID)?;
        let ts_text = header(headers, HEADER_TIMESTAMP)?;
        let signatures = header(headers, HEADER_SIGNATURE)?;
        let ts: i64 = ts_text.parse().map_err(|_| WebhookError::BadSignature)?;
        let message: [&[u8]; 5] = [id.as_bytes(), b".", ts_text.as_bytes(), b".", body];
        let valid = signatures
            .split_whitespace()
            .filter_map(|entry| entry.split_once(','))
            .filter(|(version, _)| *version == "v1")
            .any(|(_, sig)| self.keys.iter().any(|k| verify_base64(&k.0, &message, sig)));
        if !valid {
            return Err(WebhookError::BadSignature);
        }
        let skew = (now.timestamp() as i128 - ts as i128).unsigned_abs();
        if skew > self.tolerance.as_secs() as u128 {
            return Err(WebhookError::Stale);
        }
        Ok(())
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let event_id = header(headers, HEADER_ID)
            .map_err(|_| WebhookError::MissingHeader(HEADER_ID))?
            .to_string();
        let payload = Self::parse_payload(body)?;
        let raw: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        payload.to_event(event_id, raw)
    }
}

/// A VideoGen webhook payload, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// `tool_execution.succeeded | failed | cancelled` (or an event of another family).
    pub event: String,
    /// The execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_execution_id: Option<String>,
    /// The tool, UPPER_SNAKE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_type: Option<String>,
    /// When the execution became terminal (unix seconds on the wire).
    #[serde(
        default,
        with = "wire::unix_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub occurred_at: Option<Timestamp>,
    /// The results with their hydrated files (succeeded only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<ExecutionResult>>,
    /// Why it failed (failed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExecutionError>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The prefix of the events about tool executions.
const TOOL_EXECUTION_PREFIX: &str = "tool_execution.";

impl WebhookPayload {
    /// The execution status the event announces (`tool_execution.succeeded` → `succeeded`);
    /// `None` for events that are not about a tool execution.
    pub fn status(&self) -> Option<ProviderStatus> {
        self.event
            .strip_prefix(TOOL_EXECUTION_PREFIX)
            .map(wire::provider_status)
    }

    /// The snapshot a terminal event stands for (outputs from `results`, or the error).
    pub fn to_snapshot(&self, raw: Value) -> Option<Snapshot> {
        let status = self.status()?;
        if !status.is_terminal() {
            return None;
        }
        let exec = ToolExecution {
            tool_execution_id: self.tool_execution_id.clone()?,
            tool_type: self.tool_type.clone(),
            status: status.raw,
            progress_percentage: None,
            attempt_index: None,
            results: self.results.clone(),
            error: self.error.clone(),
            extra: Map::new(),
        };
        Some(exec.to_snapshot(raw))
    }

    fn to_event(&self, event_id: String, raw: Value) -> Result<WebhookEvent, WebhookError> {
        let status = self.status();
        if status.is_some() && self.tool_execution_id.as_deref().unwrap_or("").is_empty() {
            return Err(WebhookError::Malformed(format!(
                "videogen webhook: {} without a toolExecutionId",
                self.event
            )));
        }
        Ok(WebhookEvent {
            provider: Provider::VideoGen,
            event_id,
            event: self.event.clone(),
            job_id: self.tool_execution_id.clone().unwrap_or_default(),
            snapshot: self.to_snapshot(raw),
            status,
            occurred_at: self.occurred_at,
        })
    }
}
