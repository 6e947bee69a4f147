//! The receiver: configuration, the axum router and what each delivery goes through.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use mediajobs_core::{Clock, Provider, Timestamp, WebhookEvent, WebhookVerifier};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::dedupe::{Decision, Dedupe, event_status};
use crate::metrics::{Count, Counters, RejectReason, WebhookMetrics};
use crate::output::{ReceivedEvent, Trust, route_path};

/// The receiver's limits. Every field has a default that fits the providers' documented
/// behaviour; see [`ReceiverConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The largest body accepted, in bytes (default 1 MiB). A larger announced
    /// `Content-Length` is answered 413 without reading; a body without one is cut off, and
    /// answered 413, as soon as it passes the limit.
    pub body_limit: usize,
    /// How many event ids, and how many jobs' statuses, the dedupe memory keeps (default
    /// 16,384 of each; the oldest are forgotten first).
    pub dedupe_capacity: usize,
    /// How many events the output queue holds before back-pressure (default 1,024; at least
    /// 1). Hints are handed on only while more than half of it is free, so forged or stale
    /// deliveries can never crowd out verified ones.
    pub queue_capacity: usize,
    /// How long a verified event waits for room in a full queue before the delivery is
    /// answered 503 (so the provider retries it later) instead of being dropped (default 5 s).
    /// This is a network-level span, in real time like I/O timeouts, and it stays well below
    /// the providers' delivery timeouts (15 s for VideoGen).
    pub enqueue_timeout: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            body_limit: 1024 * 1024,
            dedupe_capacity: 16_384,
            queue_capacity: 1_024,
            enqueue_timeout: Duration::from_secs(5),
        }
    }
}

/// Builds a [`WebhookReceiver`]; see [`WebhookReceiver::builder`].
#[derive(Debug)]
pub struct WebhookReceiverBuilder {
    clock: Arc<dyn Clock>,
    verifiers: BTreeMap<Provider, Arc<dyn WebhookVerifier>>,
    config: ReceiverConfig,
}

impl WebhookReceiverBuilder {
    /// Verifies `verifier.provider()`'s webhooks with `verifier` (replacing any earlier one for
    /// that provider). A provider without a verifier has its route answer 401 to everything.
    pub fn verifier(mut self, verifier: Arc<dyn WebhookVerifier>) -> Self {
        self.verifiers.insert(verifier.provider(), verifier);
        self
    }

    /// Replaces all limits at once.
    pub fn config(mut self, config: ReceiverConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets [`ReceiverConfig::body_limit`].
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// Sets [`ReceiverConfig::dedupe_capacity`].
    pub fn dedupe_capacity(mut self, n: usize) -> Self {
        self.config.dedupe_capacity = n;
        self
    }

    /// Sets [`ReceiverConfig::queue_capacity`].
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.config.queue_capacity = n;
        self
    }

    /// Sets [`ReceiverConfig::enqueue_timeout`].
    pub fn enqueue_timeout(mut self, d: Duration) -> Self {
        self.config.enqueue_timeout = d;
        self
    }

    /// The receiver, and the receiving end of its bounded output queue.
    ///
    /// The queue ends (`recv` gives `None`) once the receiver, every clone of it and every
    /// router made from it are dropped.
    pub fn build(self) -> (WebhookReceiver, mpsc::Receiver<ReceivedEvent>) {
        let mut config = self.config;
        config.queue_capacity = config.queue_capacity.max(1);
        config.dedupe_capacity = config.dedupe_capacity.max(1);
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let inner = Inner {
            clock: self.clock,
            verifiers: self.verifiers,
            dedupe: Arc::new(Mutex::new(Dedupe::new(config.dedupe_capacity))),
            counters: Counters::default(),
            tx,
            config,
        };
        (
            WebhookReceiver {
                inner: Arc::new(inner),
            },
            rx,
        )
    }
}

/// Receives the providers' webhooks, verifies them, drops duplicates and hands each event on,
/// once, through a bounded queue.
///
/// What a delivery gets (the "Webhooks" contract of the design):
///
/// | delivery | answer | handed on |
/// |---|---|---|
/// | verified, new | 200 | once, [`Trust::Verified`] |
/// | verified, already seen (same event id, or same provider, job id and status) | 200 | no |
/// | verified, older than what is known of the job (e.g. `running` after `succeeded`) | 200 | no |
/// | verified, new, queue still full after [`ReceiverConfig::enqueue_timeout`] | 503 | no: the provider retries |
/// | verified, new, sender hangs up while waiting for room | none | no, and not remembered: the retry is acted on |
/// | signature, timestamp or header wrong, or no verifier | 401 | as a [`Trust::Hint`] if the body decodes |
/// | verified, body does not decode | 400 | no |
/// | body over [`ReceiverConfig::body_limit`] | 413 | no |
///
/// Answers are one fixed JSON object per status; the 401 never says which check failed, and
/// nothing about a secret is ever answered or logged. The receiver does not know which jobs
/// exist: an event for an unknown job is handed on like any other, and the consumer decides.
///
/// Cloning is cheap and shares everything (queue, dedupe memory, metrics).
#[derive(Clone)]
pub struct WebhookReceiver {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    verifiers: BTreeMap<Provider, Arc<dyn WebhookVerifier>>,
    dedupe: Arc<Mutex<Dedupe>>,
    counters: Counters,
    tx: mpsc::Sender<ReceivedEvent>,
    config: ReceiverConfig,
}

impl fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field(
                "providers",
                &self.inner.verifiers.keys().collect::<Vec<_>>(),
            )
            .field("config", &self.inner.config)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl WebhookReceiver {
    /// A builder reading time from `clock` (passed to every verifier as `now`).
    pub fn builder(clock: Arc<dyn Clock>) -> WebhookReceiverBuilder {
        WebhookReceiverBuilder {
            clock,
            verifiers: BTreeMap::new(),
            config: ReceiverConfig::default(),
        }
    }

    /// The receiver's routes: `POST /webhooks/vibepeak`, `/webhooks/videogen` and
    /// `/webhooks/vidiking`, ready to mount in any axum server (or to serve with
    /// [`WebhookReceiver::serve`]). Any other path is left to the host router (404 when
    /// served alone).
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        for provider in Provider::ALL {
            let inner = self.inner.clone();
            router = router.route(
                route_path(provider),
                post(move |headers: HeaderMap, body: Body| {
                    let inner = inner.clone();
                    async move { inner.handle(provider, headers, body).await }
                }),
            );
        }
        router
    }

    /// The counters so far.
    pub fn metrics(&self) -> WebhookMetrics {
        self.inner.counters.snapshot()
    }

    /// The limits in force.
    pub fn config(&self) -> &ReceiverConfig {
        &self.inner.config
    }

    /// The providers that have a verifier.
    pub fn providers(&self) -> Vec<Provider> {
        self.inner.verifiers.keys().copied().collect()
    }
}

/// The fixed answer bodies: one per status, never anything about the delivery itself.
fn answer(status: StatusCode, body: &'static str) -> Response {
    let mut r = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    r
}

fn ok(body: &'static str) -> Response {
    answer(StatusCode::OK, body)
}

enum ReadError {
    TooLarge,
    Broken,
}

/// Reads at most `limit` bytes of `body`, stopping as soon as it is over.
async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ReadError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Broken)?;
        if buf.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn announced_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl Inner {
    async fn handle(
        self: Arc<Self>,
        provider: Provider,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        let span = tracing::info_span!(
            "webhook",
            provider = provider.as_str(),
            job_id = tracing::field::Empty,
            event_id = tracing::field::Empty,
        );
        self.handle_in_span(provider, headers, body)
            .instrument(span)
            .await
    }

    fn reject(&self, reason: RejectReason) -> Response {
        self.counters.bump(Count::Rejected(reason));
        tracing::warn!(reason = reason.as_str(), "webhook refused");
        match reason.http_status() {
            400 => answer(StatusCode::BAD_REQUEST, r#"{"error":"malformed payload"}"#),
            413 => answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                r#"{"error":"payload too large"}"#,
            ),
            _ => answer(StatusCode::UNAUTHORIZED, r#"{"error":"unauthorized"}"#),
        }
    }

    async fn handle_in_span(&self, provider: Provider, headers: HeaderMap, body: Body) -> Response {
        self.counters.bump(Count::Received);
        let limit = self.config.body_limit;
        if announced_length(&headers).is_some_and(|n| n > limit as u64) {
            return self.reject(RejectReason::TooLarge);
        }
        let body = match read_limited(body, limit).await {
            Ok(b) => b,
            Err(ReadError::TooLarge) => return self.reject(RejectReason::TooLarge),
            Err(ReadError::Broken) => return self.reject(RejectReason::Malformed),
        };
        let Some(verifier) = self.verifiers.get(&provider) else {
            return self.reject(RejectReason::NoSecret);
        };
        let now = self.clock.now();
        if let Err(e) = verifier.verify(&headers, &body, now) {
            let reason = RejectReason::from_error(&e);
            tracing::debug!(error = %e, "webhook did not verify");
            if reason != RejectReason::Malformed {
                if let Ok(event) = verifier.parse(&headers, &body) {
                    self.offer_hint(event, now);
                }
            }
            return self.reject(reason);
        }
        let event = match verifier.parse(&headers, &body) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::debug!(error = %e, "verified webhook did not decode");
                return self.reject(RejectReason::from_error(&e));
            }
        };
        record_ids(&event);
        self.counters.bump(Count::Verified);
        self.accept(event, now).await
    }

    async fn accept(&self, event: WebhookEvent, now: Timestamp) -> Response {
        let status = event_status(&event).map(|s| s.as_str()).unwrap_or("none");
        let reservation = match Dedupe::check(&self.dedupe, &event) {
            Decision::Duplicate => {
                self.counters.bump(Count::Duplicate);
                tracing::debug!(status, "duplicate webhook: already acted on");
                return ok(r#"{"status":"duplicate"}"#);
            }
            Decision::Superseded => {
                self.counters.bump(Count::Superseded);
                tracing::info!(
                    status,
                    "webhook older than what is known of the job: ignored"
                );
                return ok(r#"{"status":"superseded"}"#);
            }
            Decision::New(r) => r,
        };
        // If the sender hangs up while the event waits for room, this future is dropped: the
        // reservation then rolls back (so the retry is acted on instead of being taken for a
        // duplicate) and the guard counts the delivery as abandoned.
        let abandoned = AbandonGuard {
            counters: &self.counters,
            armed: true,
        };
        let permit = tokio::time::timeout(self.config.enqueue_timeout, self.tx.reserve()).await;
        abandoned.disarm();
        match permit {
            Ok(Ok(permit)) => {
                permit.send(ReceivedEvent {
                    trust: Trust::Verified,
                    event,
                    received_at: now,
                });
                reservation.commit();
                self.counters.bump(Count::Accepted);
                tracing::info!(status, "webhook accepted");
                ok(r#"{"status":"accepted"}"#)
            }
            Ok(Err(_)) | Err(_) => {
                drop(reservation);
                self.counters.bump(Count::Busy);
                tracing::warn!(
                    status,
                    "event queue full or closed: answered 503 so the provider retries"
                );
                answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"error":"busy"}"#)
            }
        }
    }

    /// Hands an unverified event on as a hint, only while more than half the queue is free and
    /// the job is not known to have ended; never waits.
    fn offer_hint(&self, event: WebhookEvent, now: Timestamp) {
        record_ids(&event);
        if Dedupe::knows_terminal(&self.dedupe, event.provider, &event.job_id) {
            tracing::debug!("unverified webhook for a job already ended: ignored");
            return;
        }
        let room = self.tx.capacity().saturating_mul(2) > self.tx.max_capacity();
        let item = ReceivedEvent {
            trust: Trust::Hint,
            event,
            received_at: now,
        };
        if room && self.tx.try_send(item).is_ok() {
            self.counters.bump(Count::Hint);
            tracing::debug!("unverified webhook handed on as a hint");
        } else {
            self.counters.bump(Count::HintDropped);
            tracing::debug!("unverified webhook dropped: queue too full for hints");
        }
    }
}

/// Counts a verified delivery as abandoned when dropped armed.
struct AbandonGuard<'a> {
    counters: &'a Counters,
    armed: bool,
}

impl AbandonGuard<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.counters.bump(Count::Abandoned);
            tracing::info!("sender hung up before its event was queued: not acted on");
        }
    }
}

/// Names the event in the current span. Ids of unverified events come from anyone, so they
/// are cut to a sane length before they reach a log.
fn record_ids(event: &WebhookEvent) {
    let span = tracing::Span::current();
    span.record("job_id", clip(&event.job_id));
    span.record("event_id", clip(&event.event_id));
}

fn clip(s: &str) -> &str {
    const MAX: usize = 128;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn long_ids_are_clipped_on_a_char_boundary() {
        assert_eq!(clip("job_1"), "job_1");
        let long = "é".repeat(100);
        assert_eq!(clip(&long).len(), 128);
        assert!(clip(&long).chars().all(|c| c == 'é'));
    }
}
