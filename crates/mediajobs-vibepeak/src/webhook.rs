//! VibePeak's webhooks: `task.completed` / `task.failed`, signed with HMAC-SHA256.
//!
//! Headers \[doc\]: `X-VibePeak-Event`, `X-VibePeak-Timestamp` (unix seconds of sending),
//! `X-VibePeak-Signature`. Scheme \[assumed, configurable\]: HMAC-SHA256 keyed with the webhook
//! secret's UTF-8 bytes over `"{timestamp}.{raw body}"`, hex, optionally prefixed `sha256=`;
//! timestamps more than 5 minutes away from now (either way) are refused.

use std::time::Duration;

use http::HeaderMap;
use mediajobs_core::{
    Error, Provider, ProviderStatus, Secret, Timestamp, WebhookError, WebhookEvent, WebhookVerifier,
};
use mediajobs_transport::signature::{constant_time_eq, hmac_sha256};
use serde_json::Value;

use crate::client::ENV_WEBHOOK_SECRET;
use crate::generated;
use crate::lenient::timestamp_from_value;
use crate::task::{VibePeakTask, unwrap_envelope};

/// The header naming the event.
pub const EVENT_HEADER: &str = "X-VibePeak-Event";
/// The header carrying the unix time of sending.
pub const TIMESTAMP_HEADER: &str = "X-VibePeak-Timestamp";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-VibePeak-Signature";
/// The default signed string: `{timestamp}` and `{body}` are replaced by the header's value
/// and the raw body.
pub const DEFAULT_SIGNED_PAYLOAD: &str = "{timestamp}.{body}";
/// The default optional prefix of the signature.
pub const DEFAULT_SIGNATURE_PREFIX: &str = "sha256=";
/// The default replay window, both ways.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(300);
/// The event sent when a task completes.
pub const EVENT_COMPLETED: &str = "task.completed";
/// The event sent when a task fails.
pub const EVENT_FAILED: &str = "task.failed";

pub use mediajobs_transport::signature::SignatureEncoding;

/// Verifies and decodes VibePeak webhooks.
///
/// ```
/// use mediajobs_core::WebhookVerifier;
/// use mediajobs_vibepeak::VibePeakWebhookVerifier;
///
/// let verifier = VibePeakWebhookVerifier::new("whsec_test");
/// let body = br#"{"event":"task.completed","task_id":"task_1","status":"completed","livemode":false,
///   "created_at":"2026-01-04T12:00:00Z","completed_at":"2026-01-04T12:06:00Z",
///   "result":{"video_url":"https://cdn.example/v.mp4","expires_at":"2026-01-11T12:06:00Z"}}"#;
/// let now: chrono::DateTime<chrono::Utc> = "2026-01-04T12:06:01Z".parse().unwrap();
/// let ts = now.timestamp().to_string();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-vibepeak-event", "task.completed".parse().unwrap());
/// headers.insert("x-vibepeak-timestamp", ts.parse().unwrap());
/// let sig = verifier.sign(&ts, body).unwrap();
/// headers.insert("x-vibepeak-signature", sig.parse().unwrap());
///
/// verifier.verify(&headers, body, now).unwrap();
/// let event = verifier.parse(&headers, body).unwrap();
/// assert_eq!(event.event_id, "task_1:task.completed");
/// assert_eq!(event.snapshot.unwrap().outputs[0].mime_type.as_deref(), Some("video/mp4"));
/// ```
#[derive(Debug, Clone)]
pub struct VibePeakWebhookVerifier {
    secrets: Vec<Secret>,
    signed_payload: String,
    encoding: SignatureEncoding,
    prefix: Option<String>,
    replay_window: Duration,
}

impl VibePeakWebhookVerifier {
    /// A verifier for `secret` (the webhook secret shown when the API key was created), with
    /// the default scheme.
    pub fn new(secret: impl Into<Secret>) -> Self {
        VibePeakWebhookVerifier {
            secrets: vec![secret.into()],
            signed_payload: DEFAULT_SIGNED_PAYLOAD.to_string(),
            encoding: SignatureEncoding::Hex,
            prefix: Some(DEFAULT_SIGNATURE_PREFIX.to_string()),
            replay_window: DEFAULT_REPLAY_WINDOW,
        }
    }

    /// A verifier for the secret in `VIBEPEAK_WEBHOOK_SECRET`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading the variable through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        match lookup(ENV_WEBHOOK_SECRET).filter(|s| !s.trim().is_empty()) {
            Some(secret) => Ok(Self::new(secret.trim())),
            None => Err(Error::Config(format!(
                "vibepeak: no webhook secret; set {ENV_WEBHOOK_SECRET}"
            ))),
        }
    }

    /// Also accepts signatures made with `secret` (e.g. while keys are rotated).
    pub fn with_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// The signed string's template: `{timestamp}` and `{body}` stand for the timestamp
    /// header's value and the raw body (default [`DEFAULT_SIGNED_PAYLOAD`]; `"{body}"` signs
    /// the body alone). A template without `{body}` is refused.
    pub fn signed_payload(mut self, template: &str) -> Result<Self, Error> {
        if !template.contains("{body}") {
            return Err(Error::Config(format!(
                "vibepeak: webhook signed-payload template {template:?} must contain {{body}}"
            )));
        }
        self.signed_payload = template.to_string();
        Ok(self)
    }

    /// How the digest is encoded (default hex).
    pub fn encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The optional prefix before the digest (default `sha256=`; stripped when present, case
    /// insensitively; `None` to strip nothing).
    pub fn prefix(mut self, prefix: Option<&str>) -> Self {
        self.prefix = prefix.map(str::to_string);
        self
    }

    /// How far a timestamp may be from now, either way (default 5 minutes).
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.replay_window = window;
        self
    }

    /// The configured replay window.
    pub fn window(&self) -> Duration {
        self.replay_window
    }

    /// The string that is signed for `timestamp` and `body`.
    pub fn message(&self, timestamp: &str, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + timestamp.len() + 8);
        let mut rest = self.signed_payload.as_str();
        while !rest.is_empty() {
            let next_ts = rest.find("{timestamp}");
            let next_body = rest.find("{body}");
            let (at, token, value): (usize, &str, &[u8]) = match (next_ts, next_body) {
                (Some(t), Some(b)) if t < b => (t, "{timestamp}", timestamp.as_bytes()),
                (_, Some(b)) => (b, "{body}", body),
                (Some(t), None) => (t, "{timestamp}", timestamp.as_bytes()),
                (None, None) => {
                    out.extend_from_slice(rest.as_bytes());
                    break;
                }
            };
            out.extend_from_slice(rest.get(..at).unwrap_or_default().as_bytes());
            out.extend_from_slice(value);
            rest = rest.get(at + token.len()..).unwrap_or_default();
        }
        out
    }

    /// The signature header's value for `timestamp` and `body` under the first secret, with
    /// the configured encoding and prefix (for tests and for signing test deliveries).
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> Option<String> {
        let secret = self.secrets.iter().find(|s| !s.is_empty())?;
        let msg = self.message(timestamp, body);
        let digest = self
            .encoding
            .encode(&hmac_sha256(secret.expose().as_bytes(), &[&msg]));
        Some(format!("{}{digest}", self.prefix.as_deref().unwrap_or("")))
    }

    fn decode_digest(&self, given: &str) -> Option<Vec<u8>> {
        self.encoding.decode(given, self.prefix.as_deref())
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(name))
}

impl WebhookVerifier for VibePeakWebhookVerifier {
    fn provider(&self) -> Provider {
        Provider::VibePeak
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: Timestamp) -> Result<(), WebhookError> {
        let secrets: Vec<&Secret> = self.secrets.iter().filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return Err(WebhookError::NoSecret);
        }
        let given = header(headers, SIGNATURE_HEADER)?;
        let timestamp = header(headers, TIMESTAMP_HEADER)?;
        let msg = self.message(timestamp, body);
        // Several signatures may be sent (`,` or space separated): one valid one suffices.
        let candidates: Vec<Vec<u8>> = given
            .split([',', ' '])
            .filter(|c| !c.is_empty())
            .filter_map(|c| self.decode_digest(c))
            .collect();
        let valid = secrets.iter().any(|secret| {
            let want = hmac_sha256(secret.expose().as_bytes(), &[&msg]);
            candidates.iter().any(|c| constant_time_eq(&want, c))
        });
        if !valid {
            return Err(WebhookError::BadSignature);
        }
        let sent = timestamp.parse::<i64>().map_err(|_| WebhookError::Stale)?;
        let window = i64::try_from(self.replay_window.as_secs()).unwrap_or(i64::MAX);
        let skew = now.timestamp().saturating_sub(sent).saturating_abs();
        if skew > window {
            return Err(WebhookError::Stale);
        }
        Ok(())
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let payload = VibePeakWebhookPayload::parse(body, headers)?;
        let status = payload.task.provider_status();
        let occurred_at = payload.task.completed_at.or_else(|| {
            header(headers, TIMESTAMP_HEADER)
                .ok()
                .and_then(|t| timestamp_from_value(&Value::String(t.to_string())))
        });
        let snapshot = status
            .is_terminal()
            .then(|| payload.task.to_snapshot(payload.raw.clone(), None));
        Ok(WebhookEvent {
            provider: Provider::VibePeak,
            event_id: format!("{}:{}", payload.task.task_id, payload.event),
            event: payload.event,
            job_id: payload.task.task_id,
            status: Some(status),
            occurred_at,
            snapshot,
        })
    }
}

/// A webhook's payload \[doc\]: `{event, task_id, status, created_at, completed_at, result |
/// error, livemode}`.
#[derive(Debug, Clone, PartialEq)]
pub struct VibePeakWebhookPayload {
    /// `task.completed` or `task.failed` (from the body, else the `X-VibePeak-Event` header).
    pub event: String,
    /// The task as the payload describes it (status derived from the event when absent).
    pub task: VibePeakTask,
    /// The body as JSON.
    pub raw: Value,
}

impl VibePeakWebhookPayload {
    /// Decodes a payload (an envelope `{data: …}` is unwrapped). Does not verify.
    pub fn parse(body: &[u8], headers: &HeaderMap) -> Result<Self, WebhookError> {
        let raw: Value = serde_json::from_slice(body)
            .map_err(|e| WebhookError::Malformed(format!("not JSON: {e}")))?;
        if !raw.is_object() {
            return Err(WebhookError::Malformed(
                "the payload is not a JSON object".into(),
            ));
        }
        let event = raw
            .get("event")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| header(headers, EVENT_HEADER).ok().map(str::to_string))
            .ok_or_else(|| WebhookError::Malformed("no `event`".into()))?;
        let mut task = VibePeakTask::from_value(unwrap_envelope(&raw))
            .map_err(|e| WebhookError::Malformed(format!("bad task: {e}")))?;
        task.extra.remove("event");
        if task.task_id.is_empty() {
            return Err(WebhookError::Malformed("no `task_id`".into()));
        }
        if task.status.is_empty() {
            task.status = match event.as_str() {
                EVENT_COMPLETED => "completed".to_string(),
                EVENT_FAILED => "failed".to_string(),
                other => {
                    return Err(WebhookError::Malformed(format!(
                        "no `status`, and event {other:?} does not imply one"
                    )));
                }
            };
        }
        if generated::status_from_raw(&task.status).is_none() {
            tracing::debug!(provider = "vibepeak", status = %task.status, "webhook with an unknown status");
        }
        Ok(VibePeakWebhookPayload { event, task, raw })
    }

    /// The unified status the payload announces.
    pub fn status(&self) -> ProviderStatus {
        self.task.provider_status()
    }
}
