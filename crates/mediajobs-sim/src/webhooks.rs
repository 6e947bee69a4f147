//! Webhook delivery: one scheduler over a heap keyed by sim time, signing as each provider
//! documents, retries with exponential backoff (in sim time), and the webhook faults.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;

use crate::clock::{SimMs, unix_secs};
use crate::faults::{Kind, Op, Provider};
use crate::state::{DueKind, Shared, bump, lock};

type HmacSha256 = Hmac<Sha256>;

/// Attempts per event, the first included.
const MAX_ATTEMPTS: u32 = 5;
/// Backoff before attempt n+1 is `BASE × 2^(n-1)` sim seconds: 5, 10, 20, 40.
const BACKOFF_BASE_MS: i64 = 5_000;
/// How far back a forged "stale" delivery is dated: well outside any 5-minute replay window.
const STALE_MS: i64 = 3_600_000;

/// How a delivery is signed.
#[derive(Debug, Clone)]
pub(crate) enum Signing {
    /// `X-VibePeak-*` headers, hex HMAC over `"{timestamp}.{body}"`, `sha256=` prefix.
    VibePeak { secret: String, event: &'static str },
    /// Standard Webhooks with the endpoint's `whsec_` secret; the id is kept across retries.
    VideoGen { secret: String, msg_id: String },
    /// `x-vidiking-signature`: hex HMAC over the body as sent.
    Vidiking { secret: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Genuine,
    /// A second copy of a genuine delivery (fault `dup`).
    Dup,
    /// An extra delivery with a bad signature (fault `forge`).
    ForgedSignature,
    /// An extra delivery signed correctly but dated an hour back (fault `forge`).
    ForgedStale,
}

/// One event on its way to one URL.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub provider: Provider,
    pub url: String,
    pub body: Bytes,
    pub signing: Signing,
    attempt: u32,
    role: Role,
    faults_rolled: bool,
}

impl Delivery {
    pub(crate) fn new(provider: Provider, url: String, body: Bytes, signing: Signing) -> Self {
        Delivery {
            provider,
            url,
            body,
            signing,
            attempt: 1,
            role: Role::Genuine,
            faults_rolled: false,
        }
    }

    fn timeout(&self) -> Duration {
        // Real seconds: loopback does not run faster at speed F.
        Duration::from_secs(match self.provider {
            Provider::VibePeak => 30,
            Provider::VideoGen | Provider::Vidiking => 15,
        })
    }
}

fn hmac_bytes(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The Standard Webhooks signature header value (`v1,<base64>`) of a message, as VideoGen signs
/// it: HMAC-SHA256 keyed with the base64 part of `whsec_…`, over `"{id}.{timestamp}.{body}"`.
/// `None` when the secret is not `whsec_` + base64.
pub fn standard_webhooks_signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()?;
    let mut msg = format!("{id}.{timestamp}.").into_bytes();
    msg.extend_from_slice(body);
    let mac = hmac_bytes(&key, &msg);
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    ))
}

/// Hands an event to the delivery machinery: rolls the webhook faults once, then sends now (or
/// late, for `delay`).
pub(crate) fn dispatch(shared: &Arc<Shared>, mut d: Delivery) {
    let now = shared.now_ms();
    if !d.faults_rolled {
        d.faults_rolled = true;
        let kinds = shared.roll_webhook_faults(d.provider);
        for k in &kinds {
            shared.count_fault(d.provider, Op::Webhook, *k);
        }
        if kinds.contains(&Kind::Lose) {
            tracing::debug!(provider = d.provider.name(), "webhook lost by fault");
            return;
        }
        if kinds.contains(&Kind::Forge) {
            let mut forged = d.clone();
            forged.role = if shared.rand_range(0, 2) == 0 {
                Role::ForgedSignature
            } else {
                Role::ForgedStale
            };
            if let Signing::VideoGen { msg_id, .. } = &mut forged.signing {
                *msg_id = format!("msg_forged{:016x}", shared.rand_range(0, u64::MAX));
            }
            tokio::spawn(send(shared.clone(), forged));
        }
        if kinds.contains(&Kind::Dup) {
            let mut dup = d.clone();
            dup.role = Role::Dup;
            // The copy follows the original a little later, as a provider's redelivery would.
            let at = now + shared.rand_range(1_000, 10_000) as i64;
            shared.schedule(at, DueKind::Send(Box::new(dup)));
        }
        if kinds.contains(&Kind::Delay) {
            let at = now + shared.rand_range(30_000, 120_000) as i64;
            shared.schedule(at, DueKind::Send(Box::new(d)));
            return;
        }
    }
    tokio::spawn(send(shared.clone(), d));
}

/// Builds the headers and body of one attempt (signatures use the sim time of sending).
fn sign(shared: &Shared, d: &Delivery) -> (Vec<(&'static str, String)>, Bytes) {
    let now = shared.now_ms();
    let stale = d.role == Role::ForgedStale;
    let bad = d.role == Role::ForgedSignature;
    let ts = unix_secs(if stale { now - STALE_MS } else { now });
    match &d.signing {
        Signing::VibePeak { secret, event } => {
            let key = if bad {
                format!("{secret}-forged")
            } else {
                secret.clone()
            };
            let mut msg = format!("{ts}.").into_bytes();
            msg.extend_from_slice(&d.body);
            let sig = hex::encode(hmac_bytes(key.as_bytes(), &msg));
            (
                vec![
                    ("x-vibepeak-event", (*event).to_string()),
                    ("x-vibepeak-timestamp", ts.to_string()),
                    ("x-vibepeak-signature", format!("sha256={sig}")),
                ],
                d.body.clone(),
            )
        }
        Signing::VideoGen { secret, msg_id } => {
            let secret = if bad {
                "whsec_Zm9yZ2VkLWtleS1mb3JnZWQta2V5".to_string()
            } else {
                secret.clone()
            };
            let sig = standard_webhooks_signature(&secret, msg_id, ts, &d.body).unwrap_or_default();
            (
                vec![
                    ("webhook-id", msg_id.clone()),
                    ("webhook-timestamp", ts.to_string()),
                    ("webhook-signature", sig),
                ],
                d.body.clone(),
            )
        }
        Signing::Vidiking { secret } => {
            // The timestamp lives in the body, under the signature: a stale forgery re-dates it.
            let body = if stale {
                match serde_json::from_slice::<serde_json::Value>(&d.body) {
                    Ok(mut v) => {
                        v["timestamp"] =
                            serde_json::Value::String(crate::clock::rfc3339(now - STALE_MS));
                        Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
                    }
                    Err(_) => d.body.clone(),
                }
            } else {
                d.body.clone()
            };
            let key = if bad {
                format!("{secret}-forged")
            } else {
                secret.clone()
            };
            let sig = hex::encode(hmac_bytes(key.as_bytes(), &body));
            (vec![("x-vidiking-signature", sig)], body)
        }
    }
}

async fn send(shared: Arc<Shared>, d: Delivery) {
    let stats = shared.stats(d.provider);
    let (headers, body) = sign(&shared, &d);
    let mut req = shared
        .http
        .post(&d.url)
        .timeout(d.timeout())
        .header("content-type", "application/json")
        .header(
            "user-agent",
            format!("{}-webhooks/1.0 (mediajobs-sim)", d.provider.name()),
        );
    for (name, value) in headers {
        req = req.header(name, value);
    }
    bump(&stats.sent);
    let forged = matches!(d.role, Role::ForgedSignature | Role::ForgedStale);
    if forged {
        bump(&stats.forged);
    }
    let ok = match req.body(body).send().await {
        Ok(resp) => resp.status().is_success(),
        Err(e) => {
            tracing::debug!(provider = d.provider.name(), url = %d.url, error = %e, "webhook attempt failed");
            false
        }
    };
    match (ok, forged) {
        (true, true) => bump(&stats.forged_2xx),
        (true, false) => bump(&stats.delivered_2xx),
        (false, false) if d.role == Role::Genuine && d.attempt < MAX_ATTEMPTS => {
            let backoff = BACKOFF_BASE_MS << (d.attempt - 1);
            let mut next = d;
            next.attempt += 1;
            shared.schedule(shared.now_ms() + backoff, DueKind::Send(Box::new(next)));
        }
        _ => {}
    }
}

/// The one delivery scheduler: sleeps until the earliest heap entry is due in sim time (scaled
/// by speed), or until the clock jumps or an entry is added.
pub(crate) async fn run_scheduler(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = shared.now_ms();
        let mut due = Vec::new();
        let next_at: Option<SimMs> = {
            let mut heap = lock(&shared.heap);
            while heap.peek().is_some_and(|d| d.at <= now) {
                if let Some(d) = heap.pop() {
                    due.push(d);
                }
            }
            heap.peek().map(|d| d.at)
        };
        if !due.is_empty() {
            for d in due {
                process(&shared, d.at, d.what);
            }
            continue;
        }
        let wait = next_at.and_then(|at| shared.clock.real_delay(at - now));
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = shared.clock.jumped.notified() => {}
            _ = async {
                match wait {
                    // Sleep a little past the due time so the entry is due when we wake.
                    Some(w) => tokio::time::sleep(w + Duration::from_millis(1)).await,
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }
}

fn process(shared: &Arc<Shared>, at: SimMs, what: DueKind) {
    match what {
        DueKind::Send(d) => dispatch(shared, *d),
        DueKind::VibePeakTerminal(idx) => {
            if let Some(d) = crate::vibepeak::terminal_delivery(shared, idx, at) {
                dispatch(shared, d);
            }
        }
        DueKind::VideoGenTerminal(idx) => {
            for d in crate::videogen::terminal_deliveries(shared, idx, at) {
                dispatch(shared, d);
            }
        }
        DueKind::VidikingEvent(idx, terminal) => {
            for d in crate::vidiking::event_deliveries(shared, idx, at, terminal) {
                dispatch(shared, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_test_vector() {
        let sig = standard_webhooks_signature(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
        );
        assert_eq!(standard_webhooks_signature("nope", "a", 1, b""), None);
    }
}
