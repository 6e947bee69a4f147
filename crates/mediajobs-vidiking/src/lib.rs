//! The Vidiking adapter: timeline video renders over the mediajobs [`ProviderApi`](mediajobs_core::ProviderApi).
//!
//! - [`VidikingClient`] implements [`ProviderApi`](mediajobs_core::ProviderApi): submit (`POST /v1/render`, any 2xx), status
//!   (`GET /v1/render/{id}`), list (`GET /v1/render?limit=&status=`, newest first, no cursor);
//!   no cancel. [`VidikingClient::status_typed`] gives every documented field as a
//!   [`VidikingJob`]; [`VidikingClient::find_by_key`] finds a job by the stable key mediajobs
//!   puts in `metadata.mediajobs_key`, which is how a submit whose answer was lost is
//!   reconciled; [`VidikingClient::set_webhook`] sets the account webhook.
//! - [`RenderRequest`] is the typed request (timeline, tracks, clips, the five asset types,
//!   transitions, output settings, `callback`, `metadata`), validated before sending and naming
//!   the bad field; a raw [`SubmitRequest`](mediajobs_core::SubmitRequest) body is the escape hatch (only checked to be an
//!   object with a `timeline` object).
//! - [`VidikingWebhookVerifier`] checks `x-vidiking-signature` (hex HMAC-SHA256 of the raw body)
//!   and the body's `timestamp` (5 minutes either way).
//! - Sandbox mode (`.sandbox(true)` or `VIDIKING_SANDBOX=true`) sends `x-sandbox: true` on every
//!   request.
//!
//! Statuses and error codes come from `spec/*.toml` through `cargo xtask codegen`.
//!
//! ```
//! use mediajobs_core::{ProviderApi, SubmitRequest};
//! use mediajobs_vidiking::{Asset, Clip, RenderRequest, Track, VidikingClient};
//!
//! let client = VidikingClient::builder()
//!     .api_key("vk_live_example")
//!     .base_url("http://127.0.0.1:8080/vidiking")
//!     .build()?;
//! assert!(client.capabilities().list && !client.capabilities().cancel);
//!
//! let request = RenderRequest::builder()
//!     .track(Track::new(vec![Clip::new(Asset::title("Hello, world"), 0.0, 5.0)]))
//!     .build()?
//!     .into_submit_request()?
//!     .with_key("batch-line-1")
//!     .with_webhook_url("https://example.com/webhooks/vidiking");
//! // `client.submit(&request).await?` sends it, the key in `metadata.mediajobs_key` and the
//! // webhook URL in `callback`.
//! # let _ = (client, request);
//! # Ok::<(), mediajobs_core::Error>(())
//! ```
//!
//! ```no_run
//! # async fn run() -> Result<(), mediajobs_core::Error> {
//! use mediajobs_core::ProviderApi;
//! use mediajobs_vidiking::VidikingClient;
//!
//! let client = VidikingClient::from_env()?; // VIDIKING_API_KEY, VIDIKING_BASE_URL, VIDIKING_SANDBOX
//! let job = client.status_typed("job_abc123").await?;
//! if job.is_failed() {
//!     println!("failed, refunded: {}", job.refunded());
//! }
//! let snapshot = client.status("job_abc123").await?;
//! println!("{} {:?}", snapshot.status.raw, snapshot.outputs.first().and_then(|o| o.url.clone()));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod client;
mod generated;
mod timeline;
mod webhook;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{
    DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_SANDBOX, MAX_LIST_LIMIT, VidikingClient,
    VidikingClientBuilder,
};
pub use timeline::{
    Asset, AudioAsset, Clip, ClipEffect, Fit, Format, HtmlAsset, ImageAsset, Offset, RenderOutput,
    RenderRequest, RenderRequestBuilder, Resolution, Soundtrack, Timeline, TitleAsset, Track,
    Transition, TransitionKind, VideoAsset,
};
pub use webhook::{
    DEFAULT_TOLERANCE, ENV_WEBHOOK_SECRET, SIGNATURE_HEADER, SignatureEncoding,
    VidikingWebhookPayload, VidikingWebhookVerifier,
};
pub use wire::{
    KEY_METADATA_FIELD, PRODUCTION_RETENTION, RENDER_EVENTS, SANDBOX_RETENTION, VidikingJob,
    VidikingJobError, WebhookSettings,
};
