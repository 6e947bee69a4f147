//! The HTTP layer every mediajobs adapter shares.
//!
//! - [`Transport`]: one request in, status + headers + body out. [`ReqwestTransport`] is the
//!   real one (rustls, pooled, connect and read timeouts, a cap on answer size); with the `mock`
//!   feature, `MockTransport` (mockall) stands in for it in unit tests.
//! - [`Endpoint`]: a provider's base URL and key over a transport. It builds requests, sends
//!   them with the key, turns transport failures into [`mediajobs_core::Error`]s (an interrupted
//!   submit becomes an uncertain one) and decodes JSON with the provider and operation in every
//!   message. Adapters add only what is theirs: paths, wire types, error tables.
//! - [`headers`]: `Retry-After` (seconds and HTTP-date), `X-RateLimit-*`, `Date`.
//! - [`signature`]: HMAC-SHA256 and constant-time comparison for webhook schemes.
//!
//! Redaction: the key lives in a [`mediajobs_core::Secret`], goes on the wire in an
//! `Authorization` header marked sensitive, and appears in no `Debug`, `Display`, log line or
//! error.
//!
//! ```
//! use mediajobs_transport::headers::parse_retry_after;
//! let now = "2026-01-01T00:00:00Z".parse().unwrap();
//! assert_eq!(parse_retry_after("30", now), Some(std::time::Duration::from_secs(30)));
//! assert_eq!(parse_retry_after("soon", now), None);
//! ```
#![deny(missing_docs)]

mod endpoint;
pub mod headers;
mod http_types;
mod reqwest_transport;
pub mod signature;

pub use endpoint::{
    Endpoint, EndpointBuilder, ErrorBody, ErrorRule, SKEW_TOLERANCE, shift_snapshot, shift_time,
};
#[cfg(any(test, feature = "mock"))]
pub use http_types::MockTransport;
pub use http_types::{
    Download, DownloadOutcome, HttpRequest, HttpResponse, Transport, TransportError,
};
pub use reqwest_transport::{ReqwestTransport, TransportConfig};
