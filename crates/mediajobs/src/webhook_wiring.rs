//! Feeding verified webhook events to the scheduler (DESIGN.md, "Which events to trust").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mediajobs_scheduler::{Observed, Scheduler};
use mediajobs_webhooks::ReceivedEvent;
use serde::Serialize;
use tokio::sync::mpsc;

/// What the forwarder did with the events it was handed.
#[derive(Debug, Default)]
pub struct ForwardCounters {
    ended_by_webhook: AtomicU64,
    updates: AtomicU64,
    hints: AtomicU64,
    unknown_jobs: AtomicU64,
}

/// A snapshot of [`ForwardCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ForwardStats {
    /// Jobs whose wait a verified terminal event ended.
    pub ended_by_webhook: u64,
    /// Verified non-terminal events applied.
    pub updates: u64,
    /// Unverified events used only to move a poll forward.
    pub hints: u64,
    /// Events for jobs the scheduler does not watch (answered 2xx, no effect).
    pub unknown_jobs: u64,
}

impl ForwardCounters {
    /// The current counts.
    pub fn stats(&self) -> ForwardStats {
        ForwardStats {
            ended_by_webhook: self.ended_by_webhook.load(Ordering::Relaxed),
            updates: self.updates.load(Ordering::Relaxed),
            hints: self.hints.load(Ordering::Relaxed),
            unknown_jobs: self.unknown_jobs.load(Ordering::Relaxed),
        }
    }
}

/// Applies every received event to `scheduler` until the receiver's queue closes: a verified
/// event through the same entry point as a poll result (a terminal one ends the wait), an
/// unverified one only as a hint. `on_accepted` sees each verified event that changed a job
/// (the CLI prints it).
pub fn forward_to_scheduler(
    mut events: mpsc::Receiver<ReceivedEvent>,
    scheduler: Scheduler,
    counters: Arc<ForwardCounters>,
    mut on_accepted: impl FnMut(&ReceivedEvent) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(item) = events.recv().await {
            let verified = item.is_verified();
            let outcome = scheduler.observe_webhook(&item.event, verified);
            let counter = match (verified, outcome) {
                (false, _) => &counters.hints,
                (true, Observed::Finished) => &counters.ended_by_webhook,
                (true, Observed::NotWatched) => &counters.unknown_jobs,
                (true, _) => &counters.updates,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if verified
                && matches!(
                    outcome,
                    Observed::Finished | Observed::Updated | Observed::CheckSoon
                )
            {
                on_accepted(&item);
            }
        }
    })
}

/// A verifier whose real one arrives after the receiver is serving: VideoGen's signing secret
/// is only known once an endpoint is registered, and registering needs the bound URL. Until
/// then every delivery is refused as unverifiable ([`WebhookError::NoSecret`]).
#[derive(Debug)]
pub struct DeferredVerifier {
    provider: mediajobs_core::Provider,
    inner: std::sync::OnceLock<Arc<dyn WebhookVerifier>>,
}

use mediajobs_core::{WebhookError, WebhookEvent, WebhookVerifier};

impl DeferredVerifier {
    /// A verifier for `provider` with no secret yet.
    pub fn new(provider: mediajobs_core::Provider) -> Self {
        DeferredVerifier {
            provider,
            inner: std::sync::OnceLock::new(),
        }
    }

    /// Installs the real verifier; `false` if one was already installed.
    pub fn set(&self, verifier: Arc<dyn WebhookVerifier>) -> bool {
        self.inner.set(verifier).is_ok()
    }
}

impl WebhookVerifier for DeferredVerifier {
    fn provider(&self) -> mediajobs_core::Provider {
        self.provider
    }

    fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: mediajobs_core::Timestamp,
    ) -> Result<(), WebhookError> {
        match self.inner.get() {
            Some(v) => v.verify(headers, body, now),
            None => Err(WebhookError::NoSecret),
        }
    }

    fn parse(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        match self.inner.get() {
            Some(v) => v.parse(headers, body),
            None => Err(WebhookError::NoSecret),
        }
    }
}
