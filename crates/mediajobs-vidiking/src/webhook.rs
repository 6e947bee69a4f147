//! Vidiking's webhooks: `x-vidiking-signature` over the raw body, freshness from the body's
//! `timestamp`.

use std::time::Duration;

use http::HeaderMap;
use mediajobs_core::{
    Error, Provider, Secret, Timestamp, WebhookError, WebhookEvent, WebhookVerifier,
};
use mediajobs_transport::signature;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::wire::{VidikingJob, time_from_value};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-vidiking-signature";

/// The environment variable holding the webhook secret.
pub const ENV_WEBHOOK_SECRET: &str = "VIDIKING_WEBHOOK_SECRET";

/// The default replay window: 5 minutes either way of the body's `timestamp`.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

pub use mediajobs_transport::signature::SignatureEncoding;

/// A webhook delivery's body: `{event, timestamp, data: {id, status, url?, duration?,
/// credits_used, wallet_balance}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VidikingWebhookPayload {
    /// `render.queued`, `render.processing`, `render.complete` or `render.failed`.
    #[serde(default)]
    pub event: String,
    /// When it was sent (ISO 8601); under the signature, so it also dates the delivery.
    #[serde(
        default,
        deserialize_with = "crate::wire::lenient_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<Timestamp>,
    /// The job summary (not the whole job). `wallet_balance` and other fields land in
    /// `data.extra`; see [`VidikingWebhookPayload::wallet_balance`].
    #[serde(default)]
    pub data: VidikingJob,
    /// Any other top-level field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl VidikingWebhookPayload {
    /// The wallet balance after this event, as sent.
    pub fn wallet_balance(&self) -> Option<Number> {
        match self.data.extra.get("wallet_balance")? {
            Value::Number(n) => Some(n.clone()),
            Value::String(s) => serde_json::from_str(s.trim()).ok(),
            _ => None,
        }
    }
}

/// Verifies and decodes Vidiking's webhooks, account-wide and per-job callbacks alike (both are
/// signed with the account webhook secret).
///
/// Scheme \[doc + assumed]: `x-vidiking-signature` = HMAC-SHA256 of the raw body as sent, keyed
/// with the secret string's UTF-8 bytes, hex without prefix; freshness from the body's
/// `timestamp`, 5 minutes either way. The encoding, an optional prefix (accepted, not
/// required), the window and extra secrets (rotation) are configurable.
///
/// ```
/// use mediajobs_core::WebhookVerifier;
/// use mediajobs_vidiking::VidikingWebhookVerifier;
///
/// let verifier = VidikingWebhookVerifier::new("whsec_test");
/// let body = br#"{"event":"render.complete","timestamp":"2026-01-01T00:00:00Z","data":{"id":"job_1","status":"COMPLETE","url":"https://cdn.vidiking.com/renders/job_1.mp4","credits_used":10,"wallet_balance":90}}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-vidiking-signature", verifier.sign(body).unwrap().parse().unwrap());
/// let now = "2026-01-01T00:01:00Z".parse().unwrap();
/// verifier.verify(&headers, body, now)?;
/// let event = verifier.parse(&headers, body)?;
/// assert_eq!(event.event_id, "job_1:render.complete");
/// assert!(event.snapshot.unwrap().outputs[0].url.is_some());
/// # Ok::<(), mediajobs_core::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VidikingWebhookVerifier {
    secrets: Vec<Secret>,
    tolerance: Duration,
    encoding: SignatureEncoding,
    prefix: Option<String>,
}

impl VidikingWebhookVerifier {
    /// A verifier for `secret` with the default scheme.
    pub fn new(secret: impl Into<Secret>) -> Self {
        VidikingWebhookVerifier {
            secrets: vec![secret.into()],
            tolerance: DEFAULT_TOLERANCE,
            encoding: SignatureEncoding::Hex,
            prefix: None,
        }
    }

    /// A verifier for the secret in `VIDIKING_WEBHOOK_SECRET`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`VidikingWebhookVerifier::from_env`] with another source of variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        lookup(ENV_WEBHOOK_SECRET)
            .filter(|s| !s.is_empty())
            .map(Self::new)
            .ok_or_else(|| {
                Error::Config(format!(
                    "vidiking: no webhook secret: set {ENV_WEBHOOK_SECRET} to the account webhook secret"
                ))
            })
    }

    /// Also accepts signatures made with `secret` (while rotating).
    pub fn with_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// The replay window, either way of the body's `timestamp` (default 5 minutes).
    pub fn tolerance(mut self, window: Duration) -> Self {
        self.tolerance = window;
        self
    }

    /// How the signature is written (default hex).
    pub fn encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// A prefix in front of the signature (e.g. `sha256=`), stripped where present (default
    /// none).
    pub fn prefix(mut self, prefix: Option<&str>) -> Self {
        self.prefix = prefix.map(str::to_string);
        self
    }

    /// The replay window in force.
    pub fn replay_window(&self) -> Duration {
        self.tolerance
    }

    /// The header value the first secret gives `body` (for tests and local senders).
    pub fn sign(&self, body: &[u8]) -> Option<String> {
        let secret = self.secrets.iter().find(|s| !s.is_empty())?;
        let key = secret.expose().as_bytes();
        let sig = self.encoding.encode(&signature::hmac_sha256(key, &[body]));
        Some(format!("{}{sig}", self.prefix.as_deref().unwrap_or("")))
    }

    /// Decodes a body into the typed payload (does not verify).
    pub fn parse_payload(body: &[u8]) -> Result<VidikingWebhookPayload, WebhookError> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| WebhookError::Malformed(format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(WebhookError::Malformed("not a JSON object".into()));
        }
        if let Some(d) = v.get("data") {
            if !d.is_object() {
                return Err(WebhookError::Malformed("`data` is not an object".into()));
            }
        }
        serde_json::from_value(v).map_err(|e| WebhookError::Malformed(e.to_string()))
    }

    fn matches(&self, secret: &Secret, body: &[u8], given: &str) -> bool {
        self.encoding.verify(
            secret.expose().as_bytes(),
            &[body],
            given,
            self.prefix.as_deref(),
        )
    }
}

/// The raw status an event name announces when `data.status` is missing.
fn status_of_event(event: &str) -> Option<&'static str> {
    match event {
        "render.queued" => Some("QUEUED"),
        "render.processing" => Some("PROCESSING"),
        "render.complete" => Some("COMPLETE"),
        "render.failed" => Some("FAILED"),
        _ => None,
    }
}

impl WebhookVerifier for VidikingWebhookVerifier {
    fn provider(&self) -> Provider {
        Provider::Vidiking
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: Timestamp) -> Result<(), WebhookError> {
        let secrets: Vec<&Secret> = self.secrets.iter().filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return Err(WebhookError::NoSecret);
        }
        let given: Vec<&str> = headers
            .get_all(SIGNATURE_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if given.is_empty() {
            return Err(WebhookError::MissingHeader(SIGNATURE_HEADER));
        }
        let genuine = given
            .iter()
            .any(|sig| secrets.iter().any(|s| self.matches(s, body, sig)));
        if !genuine {
            return Err(WebhookError::BadSignature);
        }
        // The signature holds, so the body is the provider's: its timestamp dates the delivery.
        let sent = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("timestamp").and_then(time_from_value))
            .ok_or_else(|| {
                WebhookError::Malformed("no readable `timestamp` to check freshness".into())
            })?;
        let window = chrono::Duration::from_std(self.tolerance).unwrap_or(chrono::Duration::MAX);
        if (now - sent).abs() > window {
            return Err(WebhookError::Stale);
        }
        Ok(())
    }

    /// Decodes a `render.*` event. Other events (`ai.*`, `wallet.*`) are not about a render
    /// job and mediajobs never subscribes to them: they are [`WebhookError::Malformed`] (a
    /// receiver answers 400), since a [`WebhookEvent`] must name a job.
    fn parse(&self, _headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let payload = Self::parse_payload(body)?;
        if payload.event.is_empty() {
            return Err(WebhookError::Malformed("no `event`".into()));
        }
        if !payload.event.starts_with("render.") {
            return Err(WebhookError::Malformed(format!(
                "`{}` is not a render event (mediajobs handles render.* only)",
                payload.event
            )));
        }
        let mut job = payload.data.clone();
        if job.id.is_empty() {
            return Err(WebhookError::Malformed("no `data.id`".into()));
        }
        if job.status.is_empty() {
            job.status = status_of_event(&payload.event)
                .unwrap_or_default()
                .to_string();
        }
        let status = (!job.status.is_empty()).then(|| job.provider_status());
        let raw: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        // A terminal event is trusted as the job's end only when it carries what the journal
        // needs: a complete one its URL, a failed one its error code. The documented payload
        // has no error, so a bare `render.failed` names the outcome and leaves the details to
        // one status read (DESIGN: a read follows where the payload lacks something).
        let complete_enough = if job.is_complete() {
            job.url.is_some()
        } else {
            !job.is_failed() || job.error.is_some()
        };
        let snapshot = match &status {
            Some(s) if s.is_terminal() && complete_enough => Some(job.snapshot_with(raw, None)),
            _ => None,
        };
        Ok(WebhookEvent {
            provider: Provider::Vidiking,
            event_id: format!("{}:{}", job.id, payload.event),
            event: payload.event,
            job_id: job.id,
            status,
            occurred_at: payload.timestamp,
            snapshot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mediajobs_core::Status;

    const SECRET: &str = "whsec_vidiking_test";

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn body(event: &str, ts: &str, data: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"event": event, "timestamp": ts, "data": data}))
            .unwrap()
    }

    fn complete() -> Vec<u8> {
        body(
            "render.complete",
            "2026-03-01T12:00:00Z",
            serde_json::json!({"id": "job_abc123", "status": "COMPLETE",
                "url": "https://cdn.vidiking.com/renders/job_abc123.mp4", "duration": 10.5,
                "credits_used": 10, "wallet_balance": 90.5}),
        )
    }

    fn signed(v: &VidikingWebhookVerifier, body: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, v.sign(body).unwrap().parse().unwrap());
        h
    }

    #[test]
    fn valid_delivery_verifies_and_parses() {
        let v = VidikingWebhookVerifier::new(SECRET);
        let b = complete();
        let h = signed(&v, &b);
        // Independent of our own signer: hex HMAC-SHA256 of the raw body, keyed with the secret.
        assert_eq!(
            h.get(SIGNATURE_HEADER).unwrap().to_str().unwrap(),
            signature::sign_hex(SECRET.as_bytes(), &[&b])
        );
        v.verify(&h, &b, now()).unwrap();
        let e = v.parse(&h, &b).unwrap();
        assert_eq!(e.provider, Provider::Vidiking);
        assert_eq!(e.event, "render.complete");
        assert_eq!(e.event_id, "job_abc123:render.complete");
        assert_eq!(e.job_id, "job_abc123");
        assert_eq!(e.status.as_ref().unwrap().status, Status::Succeeded);
        assert_eq!(e.occurred_at, Some(now()));
        let snap = e.snapshot.unwrap();
        assert!(snap.is_terminal());
        assert_eq!(
            snap.outputs[0].url.as_deref(),
            Some("https://cdn.vidiking.com/renders/job_abc123.mp4")
        );
        assert_eq!(snap.outputs[0].mime_type.as_deref(), Some("video/mp4"));
        assert_eq!(snap.raw["data"]["wallet_balance"], 90.5);
        let p = VidikingWebhookVerifier::parse_payload(&b).unwrap();
        assert_eq!(p.wallet_balance().and_then(|n| n.as_f64()), Some(90.5));
        assert_eq!(p.data.duration, Some(10.5));
    }

    #[test]
    fn wrong_secret_tampered_body_and_garbage_signatures_are_refused() {
        let v = VidikingWebhookVerifier::new(SECRET);
        let b = complete();
        let other = VidikingWebhookVerifier::new("whsec_other");
        assert_eq!(
            v.verify(&signed(&other, &b), &b, now()),
            Err(WebhookError::BadSignature)
        );
        let h = signed(&v, &b);
        let tampered = String::from_utf8(b.clone())
            .unwrap()
            .replace("90.5", "99.5");
        assert_eq!(
            v.verify(&h, tampered.as_bytes(), now()),
            Err(WebhookError::BadSignature)
        );
        // Re-serialised (pretty) bodies are not the bytes that were signed.
        let pretty =
            serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&b).unwrap()).unwrap();
        assert_eq!(
            v.verify(&h, &pretty, now()),
            Err(WebhookError::BadSignature)
        );
        for junk in ["zz", "", "sha256=", "deadbeef"] {
            let mut h = HeaderMap::new();
            h.insert(SIGNATURE_HEADER, junk.parse().unwrap());
            let e = v.verify(&h, &b, now()).unwrap_err();
            assert!(
                matches!(
                    e,
                    WebhookError::BadSignature | WebhookError::MissingHeader(_)
                ),
                "{junk:?}"
            );
            assert_eq!(e.http_status(), 401);
        }
    }

    #[test]
    fn missing_header_and_missing_secret() {
        let v = VidikingWebhookVerifier::new(SECRET);
        let e = v.verify(&HeaderMap::new(), &complete(), now()).unwrap_err();
        assert_eq!(e, WebhookError::MissingHeader(SIGNATURE_HEADER));
        assert_eq!(e.http_status(), 401);
        let none = VidikingWebhookVerifier::new("");
        assert_eq!(
            none.verify(&signed(&v, &complete()), &complete(), now()),
            Err(WebhookError::NoSecret)
        );
        assert!(none.sign(b"x").is_none());
    }

    #[test]
    fn stale_and_future_timestamps_are_refused_at_the_window_edge() {
        let v = VidikingWebhookVerifier::new(SECRET);
        for (ts, ok) in [
            ("2026-03-01T11:55:00Z", true),
            ("2026-03-01T11:54:59Z", false),
            ("2026-03-01T12:05:00Z", true),
            ("2026-03-01T12:05:01Z", false),
            ("2026-02-01T12:00:00Z", false),
        ] {
            let b = body(
                "render.complete",
                ts,
                serde_json::json!({"id": "j", "status": "COMPLETE"}),
            );
            let r = v.verify(&signed(&v, &b), &b, now());
            assert_eq!(r.is_ok(), ok, "{ts}: {r:?}");
            if !ok {
                assert_eq!(r, Err(WebhookError::Stale));
            }
        }
        // The window is configurable.
        let wide = VidikingWebhookVerifier::new(SECRET).tolerance(Duration::from_secs(3600));
        let b = body(
            "render.complete",
            "2026-03-01T11:30:00Z",
            serde_json::json!({"id": "j"}),
        );
        wide.verify(&signed(&wide, &b), &b, now()).unwrap();
        assert_eq!(wide.replay_window(), Duration::from_secs(3600));
    }

    #[test]
    fn signed_body_without_timestamp_is_malformed_not_accepted() {
        let v = VidikingWebhookVerifier::new(SECRET);
        let b = br#"{"event":"render.complete","data":{"id":"j"}}"#;
        let e = v.verify(&signed(&v, b), b, now()).unwrap_err();
        assert!(matches!(e, WebhookError::Malformed(_)));
        let b = b"not json";
        assert!(matches!(
            v.verify(&signed(&v, b), b, now()),
            Err(WebhookError::Malformed(_))
        ));
        // Unsigned garbage is a signature failure first.
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, "00".parse().unwrap());
        assert_eq!(v.verify(&h, b, now()), Err(WebhookError::BadSignature));
    }

    #[test]
    fn encoding_prefix_and_rotation_are_configurable() {
        let b = complete();
        let v = VidikingWebhookVerifier::new(SECRET)
            .encoding(SignatureEncoding::Base64)
            .prefix(Some("sha256="));
        let h = signed(&v, &b);
        assert!(
            h.get(SIGNATURE_HEADER)
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("sha256=")
        );
        v.verify(&h, &b, now()).unwrap();
        // The prefix is accepted, not required.
        let mut bare = HeaderMap::new();
        bare.insert(
            SIGNATURE_HEADER,
            signature::sign_base64(SECRET.as_bytes(), &[&b])
                .parse()
                .unwrap(),
        );
        v.verify(&bare, &b, now()).unwrap();
        // Hex in upper case too.
        let hex = VidikingWebhookVerifier::new(SECRET);
        let mut upper = HeaderMap::new();
        upper.insert(
            SIGNATURE_HEADER,
            hex.sign(&b).unwrap().to_uppercase().parse().unwrap(),
        );
        hex.verify(&upper, &b, now()).unwrap();
        // Rotation: the old secret still verifies.
        let rotated = VidikingWebhookVerifier::new("whsec_new").with_secret(SECRET);
        rotated.verify(&signed(&hex, &b), &b, now()).unwrap();
    }

    #[test]
    fn every_render_event_parses_and_only_terminal_ones_carry_a_snapshot() {
        let v = VidikingWebhookVerifier::new(SECRET);
        for (event, status, unified, snap) in [
            ("render.queued", "QUEUED", Status::Queued, false),
            ("render.processing", "PROCESSING", Status::Running, false),
            // No error code in the documented payload: the status is announced, the code needs
            // a read.
            ("render.failed", "FAILED", Status::Failed, false),
        ] {
            let b = body(
                event,
                "2026-03-01T12:00:00Z",
                serde_json::json!({"id": "job_1", "status": status, "credits_used": 0, "wallet_balance": 5}),
            );
            let e = v.parse(&HeaderMap::new(), &b).unwrap();
            assert_eq!(e.event_id, format!("job_1:{event}"));
            assert_eq!(e.status.unwrap().status, unified);
            assert_eq!(e.snapshot.is_some(), snap, "{event}");
        }
        let b = body(
            "render.failed",
            "2026-03-01T12:00:00Z",
            serde_json::json!({"id": "job_1", "status": "FAILED", "credits_used": 0,
                "error": {"code": "INVALID_ASSET", "message": "404"}}),
        );
        let e = v.parse(&HeaderMap::new(), &b).unwrap();
        let err = e.snapshot.unwrap().error.unwrap();
        assert_eq!(err.code.as_deref(), Some("INVALID_ASSET"));
        // data.status missing: the event name says it.
        let b = body(
            "render.complete",
            "2026-03-01T12:00:00Z",
            serde_json::json!({"id": "job_1", "url": "https://cdn/x.mp4"}),
        );
        let e = v.parse(&HeaderMap::new(), &b).unwrap();
        assert_eq!(e.status.unwrap().raw, "COMPLETE");
        assert!(e.snapshot.is_some());
        // A complete event without a URL: the status is announced, the download needs a read.
        let b = body(
            "render.complete",
            "2026-03-01T12:00:00Z",
            serde_json::json!({"id": "job_1", "status": "COMPLETE"}),
        );
        let e = v.parse(&HeaderMap::new(), &b).unwrap();
        assert!(e.status.unwrap().is_terminal() && e.snapshot.is_none());
        // An unknown render event with an unknown status: kept, not terminal.
        let b = body(
            "render.paused",
            "2026-03-01T12:00:00Z",
            serde_json::json!({"id": "job_1", "status": "PAUSED"}),
        );
        let e = v.parse(&HeaderMap::new(), &b).unwrap();
        let s = e.status.unwrap();
        assert!(!s.recognized && !s.is_terminal());
    }

    #[test]
    fn malformed_payloads_and_foreign_events() {
        let v = VidikingWebhookVerifier::new(SECRET);
        for b in [
            &b""[..],
            b"{",
            b"[]",
            b"{\"event\": 3}",
            br#"{"timestamp":"2026-03-01T12:00:00Z","data":{"id":"j"}}"#,
            br#"{"event":"render.complete","data":"x"}"#,
            br#"{"event":"render.complete","data":{"status":"COMPLETE"}}"#,
            br#"{"event":"wallet.low_balance","timestamp":"2026-03-01T12:00:00Z","data":{"balance":1}}"#,
            br#"{"event":"ai.generation.complete","data":{"id":"ai_1"}}"#,
        ] {
            let e = v.parse(&HeaderMap::new(), b).unwrap_err();
            assert!(matches!(e, WebhookError::Malformed(_)), "{:?}", String::from_utf8_lossy(b));
            assert_eq!(e.http_status(), 400);
        }
    }

    #[test]
    fn from_env_and_debug_never_show_the_secret() {
        let v = VidikingWebhookVerifier::from_lookup(|n| {
            (n == ENV_WEBHOOK_SECRET).then(|| SECRET.to_string())
        })
        .unwrap();
        assert!(!format!("{v:?}").contains("vidiking_test"));
        let e = VidikingWebhookVerifier::from_lookup(|_| None).unwrap_err();
        assert!(e.to_string().contains(ENV_WEBHOOK_SECRET), "{e}");
    }
}
