//! Webhook events and how their signatures are checked.

use http::HeaderMap;

use crate::{Provider, ProviderStatus, Snapshot, Timestamp};

/// A webhook event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// Who sent it.
    pub provider: Provider,
    /// The event id used for dedupe: `webhook-id` for VideoGen, `"{id}:{event}"` for others.
    pub event_id: String,
    /// The event name (`task.completed`, `tool_execution.succeeded`, `render.complete`).
    pub event: String,
    /// The job's remote id.
    pub job_id: String,
    /// The status the event announces, where it announces one.
    pub status: Option<ProviderStatus>,
    /// When the provider says it happened or was sent.
    pub occurred_at: Option<Timestamp>,
    /// What the payload says about the job (outputs, error), where it says enough.
    pub snapshot: Option<Snapshot>,
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required header is missing (answer 401).
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The signature does not verify with any configured secret (answer 401). Says nothing
    /// about which part was wrong.
    #[error("signature does not verify")]
    BadSignature,
    /// The timestamp is outside the replay window (answer 401).
    #[error("timestamp outside the replay window")]
    Stale,
    /// No secret is configured for this provider, so nothing can be verified.
    #[error("no webhook secret configured")]
    NoSecret,
    /// The body could not be decoded (answer 400 if it verified).
    #[error("malformed payload: {0}")]
    Malformed(String),
}

impl WebhookError {
    /// The HTTP status a receiver answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Malformed(_) => 400,
            _ => 401,
        }
    }
}

/// A provider's webhook signature scheme and payload format.
///
/// Verification and parsing are separate so a receiver can treat an unverifiable event as a
/// hint (parse it, never trust it) and a verified but unparsable one as a `400`.
pub trait WebhookVerifier: Send + Sync + std::fmt::Debug {
    /// Whose webhooks these are.
    fn provider(&self) -> Provider;

    /// Checks the signature (and the timestamp, against `now` ± the replay window).
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: Timestamp) -> Result<(), WebhookError>;

    /// Decodes the payload. Does not verify.
    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError>;
}
