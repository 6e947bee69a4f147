//! The VibePeak adapter: real-estate narrated slideshows over the mediajobs [`ProviderApi`].
//!
//! VibePeak turns 6–15 photos and a script into a narrated MP4 in 4–10 minutes:
//!
//! - [`NarratedSlideshow`] (built with [`NarratedSlideshow::builder`]) is the request with every
//!   documented field, validated before anything is sent (image count, uniqueness and URLs,
//!   the script's length window of 40–50 characters per image and its characters, the avatar's
//!   UUID v4, the webhook URL); errors are [`Error::InvalidInput`] naming the field. A raw
//!   [`SubmitRequest`] is checked by the same rules ([`validate_body`]).
//! - [`VibePeakClient`] submits (`POST /v1/real-estate/narrated-slideshow` → `202`,
//!   `Location`, `Retry-After`), reads tasks (`GET /v1/tasks/{task_id}`) into [`Snapshot`]s
//!   and typed [`VibePeakTask`]s, and checks `GET /health`. VibePeak has no cancel and no
//!   list: [`ProviderApi::capabilities`] says so and both answer [`Error::Unsupported`]. An
//!   expired video URL is refreshed by re-reading the task
//!   ([`ProviderApi::refresh_output`]).
//! - Errors follow the generated table (`spec/errors.toml`); `429 CONCURRENCY_LIMIT_EXCEEDED`
//!   is transient ("wait for a slot"), its details available through
//!   [`ConcurrencyLimit::from_error`].
//! - [`VibePeakWebhookVerifier`] checks `X-VibePeak-Signature` (HMAC-SHA256 over
//!   `"{timestamp}.{body}"`, hex, optional `sha256=`, 5-minute replay window: all
//!   configurable) and decodes `task.completed` / `task.failed`.
//!
//! Environment: `VIBEPEAK_API_KEY`, `VIBEPEAK_BASE_URL` ([`VibePeakClient::from_env`]) and
//! `VIBEPEAK_WEBHOOK_SECRET` ([`VibePeakWebhookVerifier::from_env`]).
//!
//! ```
//! use std::sync::Arc;
//! use mediajobs_core::{ProviderApi, SubmitRequest};
//! use mediajobs_vibepeak::{NarratedSlideshow, Orientation, VibePeakClient, Voice};
//!
//! let client = VibePeakClient::builder()
//!     .api_key("vpk_test_example")
//!     .base_url("http://127.0.0.1:7070/vibepeak")
//!     .build()?;
//! assert!(client.is_test_mode());
//! assert!(!client.capabilities().cancel && !client.capabilities().list);
//! assert!(!format!("{client:?}").contains("vpk_test_example"));
//!
//! let images: Vec<String> =
//!     (1..=6).map(|i| format!("https://photos.example.com/listing/{i}.jpg")).collect();
//! let script = "Step inside this calm and sunny home, where every room opens to the light. \
//!     The kitchen invites long dinners, the garden welcomes slow mornings, \
//!     and the bedrooms promise quiet nights. Come and see it for yourself, \
//!     and feel at home from the very first step.";
//! let show = NarratedSlideshow::builder()
//!     .images(images)
//!     .voice(Voice::new("voice_rachel").language("en"))
//!     .script(script)
//!     .orientation(Orientation::Landscape)
//!     .build()?;
//! let request: SubmitRequest = show.into();
//! let body = client.prepare_body(&request)?; // exactly what `submit` would send
//! assert_eq!(body["voice"]["voice_id"], "voice_rachel");
//!
//! // Then, in async code:
//! // let snapshot = client.submit(&request).await?;
//! // let later = client.status(&snapshot.job.id).await?;
//! # Ok::<(), mediajobs_core::Error>(())
//! ```
//!
//! [`Error::InvalidInput`]: mediajobs_core::Error::InvalidInput
//! [`Error::Unsupported`]: mediajobs_core::Error::Unsupported
//! [`SubmitRequest`]: mediajobs_core::SubmitRequest
//! [`Snapshot`]: mediajobs_core::Snapshot
//! [`ProviderApi`]: mediajobs_core::ProviderApi
//! [`ProviderApi::capabilities`]: mediajobs_core::ProviderApi::capabilities
//! [`ProviderApi::refresh_output`]: mediajobs_core::ProviderApi::refresh_output
#![deny(missing_docs)]

mod client;
mod errors;
mod generated;
mod lenient;
mod request;
mod task;
mod webhook;

pub use client::{
    DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_WEBHOOK_SECRET, HEALTH_PATH, Health,
    LIVE_KEY_PREFIX, SUBMIT_PATH, Submitted, TEST_KEY_PREFIX, TaskStatus, VibePeakClient,
    VibePeakClientBuilder,
};
pub use errors::{ConcurrencyLimit, PlanRequirement, error_details};
pub use request::{
    ElementSize, ElementsConfig, IMAGE_EXTENSIONS, MAX_IMAGES, MAX_SCRIPT_CHARS_PER_IMAGE,
    MIN_IMAGES, MIN_SCRIPT_CHARS_PER_IMAGE, NarratedSlideshow, NarratedSlideshowBuilder,
    OrchestrationMode, Orientation, SCRIPT_PUNCTUATION, Subtitle, TestScenario, TextElement, Voice,
    Watermark, is_uuid_v4, script_char_allowed, script_length_range, validate_body,
};
pub use task::{TaskError, TaskResult, VIDEO_MIME, VibePeakTask};
pub use webhook::{
    DEFAULT_REPLAY_WINDOW, DEFAULT_SIGNATURE_PREFIX, DEFAULT_SIGNED_PAYLOAD, EVENT_COMPLETED,
    EVENT_FAILED, EVENT_HEADER, SIGNATURE_HEADER, SignatureEncoding, TIMESTAMP_HEADER,
    VibePeakWebhookPayload, VibePeakWebhookVerifier,
};

/// The generated status table: each raw VibePeak status and the unified status it maps to.
pub fn statuses() -> &'static [(&'static str, mediajobs_core::Status)] {
    generated::STATUSES
}

/// The generated error table: each documented code, its HTTP status (0 for job failures),
/// class, transience and advice.
pub fn error_rules() -> &'static [mediajobs_transport::ErrorRule] {
    generated::ERROR_RULES
}
