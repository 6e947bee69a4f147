//! Receives and verifies provider webhooks and hands events to the scheduler.
//!
//! A [`WebhookReceiver`] holds one [`WebhookVerifier`](mediajobs_core::WebhookVerifier) per
//! provider (each adapter exports one) and the injected [`Clock`](mediajobs_core::Clock). Its
//! [`router`](WebhookReceiver::router) answers `POST /webhooks/vibepeak`,
//! `/webhooks/videogen` and `/webhooks/vidiking` exactly as the design's "Webhooks" contract
//! says, and every event it accepts comes out, once, on a bounded queue as a
//! [`ReceivedEvent`]:
//!
//! - [`Trust::Verified`]: the signature and the timestamp (against `clock.now()` and the
//!   verifier's replay window) hold; a terminal one ends the job's wait and its
//!   `snapshot` carries the download data;
//! - [`Trust::Hint`]: the delivery was refused with 401, yet its body decoded; it may only
//!   move the job's next poll forward.
//!
//! Duplicates (same event id, or same provider, job id and status) are answered 2xx and not
//! handed on again, and so are events older than what was already acted on for the job (a
//! `running` after a `succeeded`): the receiver never moves a job backwards. The receiver does
//! not know which jobs exist; an event for an unknown job is handed on and answered 2xx, and
//! the consumer decides.
//!
//! **When the queue is full.** A verified event waits up to
//! [`ReceiverConfig::enqueue_timeout`] for room; if none comes (or the consumer is gone) the
//! delivery is answered 503 with `Retry-After` and forgotten by the dedupe memory, so the
//! provider's retry is acted on: a verified event is never dropped silently. Hints never wait:
//! they are handed on only while more than half of the queue is free, else dropped (and
//! counted). [`WebhookReceiver::metrics`] counts everything.
//!
//! **Wiring it to a scheduler.** Read the queue in one task: a [`Trust::Verified`] item goes to
//! the scheduler's `observe` (its `event.snapshot`, or its status when the payload carries no
//! snapshot, in which case the scheduler confirms with a read); a [`Trust::Hint`] only moves
//! that job's next poll forward. Serve with [`WebhookReceiver::serve`] and advertise
//! [`WebhookServer::route_url`] (or [`route_url`] below a public `--webhook-url`).
//!
//! ```
//! use std::sync::Arc;
//! use http::HeaderMap;
//! use mediajobs_core::{
//!     ManualClock, Provider, ProviderStatus, Status, Timestamp, WebhookError, WebhookEvent,
//!     WebhookVerifier,
//! };
//! use mediajobs_webhooks::{WebhookReceiver, print_accepted};
//!
//! // Each adapter exports a real verifier; this one trusts everything, for the example only.
//! #[derive(Debug)]
//! struct TrustAll;
//! impl WebhookVerifier for TrustAll {
//!     fn provider(&self) -> Provider { Provider::Vidiking }
//!     fn verify(&self, _: &HeaderMap, _: &[u8], _: Timestamp) -> Result<(), WebhookError> {
//!         Ok(())
//!     }
//!     fn parse(&self, _: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
//!         let id = String::from_utf8_lossy(body).into_owned();
//!         Ok(WebhookEvent {
//!             provider: Provider::Vidiking,
//!             event_id: format!("{id}:render.complete"),
//!             event: "render.complete".into(),
//!             job_id: id,
//!             status: Some(ProviderStatus::known(Status::Succeeded, "COMPLETE")),
//!             occurred_at: None,
//!             snapshot: None,
//!         })
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # rt.block_on(async {
//! let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse()?));
//! let (receiver, mut events) = WebhookReceiver::builder(clock)
//!     .verifier(Arc::new(TrustAll))
//!     .build();
//!
//! // Mount `receiver.router()` in your own axum app, or serve it alone:
//! let server = receiver.serve("127.0.0.1:0").await?;
//! println!("{}", server.readiness().to_line());
//! // {"url":"http://127.0.0.1:P","routes":{"vibepeak":"/webhooks/vibepeak",...}}
//!
//! // The consumer side. `mediajobs webhooks serve` prints one line per accepted event:
//! let printer = tokio::spawn(async move { print_accepted(&mut events, std::io::stdout()).await });
//! // (the facade instead hands each item to the scheduler, and may print it with
//! // `render_event_line(&item.event)`).
//!
//! let body = "job_1".as_bytes().to_vec();
//! let answer = reqwest::Client::new()
//!     .post(server.route_url(Provider::Vidiking))
//!     .body(body)
//!     .send()
//!     .await?;
//! assert_eq!(answer.status().as_u16(), 200); // printed: {"provider":"vidiking","id":"job_1",...}
//! assert_eq!(receiver.metrics().accepted, 1);
//!
//! server.shutdown().await?;
//! drop(receiver); // the queue ends once the receiver and its routers are gone
//! assert_eq!(printer.await??, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod dedupe;
mod metrics;
mod output;
mod receiver;
mod server;

pub use metrics::{RejectReason, RejectedCounts, WebhookMetrics};
pub use output::{
    EventLine, Readiness, ReceivedEvent, Routes, Trust, print_accepted, readiness_json,
    render_event_line, route_path, route_url,
};
pub use receiver::{ReceiverConfig, WebhookReceiver, WebhookReceiverBuilder};
pub use server::{ServeError, WebhookServer, serve_router};
