//! The VideoGen adapter: media tools (images, video clips, speech, sound, music, avatars,
//! upscaling …) over the mediajobs [`ProviderApi`](mediajobs_core::ProviderApi).
//!
//! - [`VideoGenClient`]: submit (`POST /v1/tools/{tool}`), status
//!   (`GET /v1/tools/executions/{id}`), cancel, the cursor-paginated list (one page, or
//!   [`VideoGenClient::list_stream`]), files ([`VideoGenClient::get_file`],
//!   [`VideoGenClient::hydrate`] for fresh signed URLs) and webhook endpoints; the last
//!   `X-RateLimit-*` values per endpoint class ([`VideoGenClient::last_rate_limit`]).
//! - Every tool as a typed, validated request ([`GenerateImage`], [`GenerateVideoClip`],
//!   [`TextToSpeech`], …, gathered in [`ToolRequest`]), and raw JSON through
//!   [`SubmitRequest`](mediajobs_core::SubmitRequest) `{tool, body}`.
//! - The wire types with every documented field ([`ToolExecution`], [`StorageFile`], …).
//! - [`VideoGenWebhookVerifier`]: Standard Webhooks signatures, several secrets at once.
//!
//! Environment: `VIDEOGEN_API_KEY`, `VIDEOGEN_BASE_URL` (default `https://api.videogen.io`),
//! `VIDEOGEN_WEBHOOK_SECRET` (one `whsec_…` secret, or several separated by spaces or commas
//! while rotating).
//!
//! ```
//! use mediajobs_core::{ProviderApi, Status};
//! use mediajobs_videogen::{GenerateImage, Quality, ToolOptions, ToolRequest, VideoGenClient};
//!
//! let client = VideoGenClient::builder()
//!     .api_key("vg_secret_key")
//!     .base_url("http://127.0.0.1:4000/videogen")
//!     .build()?;
//! assert!(client.capabilities().cancel && client.capabilities().list);
//!
//! // A typed request, validated before sending; camelCase on the wire.
//! let request = ToolRequest::from(
//!     GenerateImage::new("a lighthouse at dusk").aspect_ratio(16, 9).quality(Quality::High).num_results(2),
//! );
//! let raw = request.to_submit_request()?;
//! assert_eq!(raw.tool.as_deref(), Some("generate-image"));
//! assert_eq!(raw.body["aspectRatio"]["width"], 16);
//!
//! // Unknown statuses are kept and never terminal.
//! let s = mediajobs_videogen::provider_status("awaiting_approval");
//! assert!(!s.recognized && !s.is_terminal());
//! assert_eq!(mediajobs_videogen::provider_status("succeeded").status, Status::Succeeded);
//! # Ok::<(), mediajobs_core::Error>(())
//! ```
#![deny(missing_docs)]

mod client;
mod generated;
mod request;
mod webhook;
mod wire;

pub use client::{
    CreatedEndpoint, DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_WEBHOOK_SECRET,
    MAX_LIST_LIMIT, RateLimitClass, TOOL_EXECUTION_EVENTS, VideoGenClient, VideoGenClientBuilder,
};
pub use mediajobs_transport::headers::RateLimit;
pub use request::{
    AspectRatio, CommonOptions, GenerateAudio, GenerateAvatar, GenerateImage,
    GenerateMotionGraphic, GenerateVideoClip, ImageInput, MAX_IMAGE_FILE_IDS, MAX_NUM_RESULTS,
    Quality, TextToSpeech, ToolOptions, ToolRequest, VideoInput, WatermarkMode, resolve_tool,
    tool_media, tool_name_of, tool_names, tool_type_of,
};
pub use webhook::{
    DEFAULT_TOLERANCE, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, VideoGenWebhookVerifier,
    WebhookPayload,
};
pub use wire::{
    EndpointPage, ExecutionError, ExecutionPage, ExecutionResult, FileSource, StorageFile,
    ToolExecution, WebhookEndpoint, mime_type, provider_status,
};

#[cfg(test)]
mod tests;
