//! The transport trait and the request/response it carries.

use std::fmt;
use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use mediajobs_core::TransportFailure;

/// One HTTP request.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Headers; `Authorization` is marked sensitive by [`crate::Endpoint`].
    pub headers: HeaderMap,
    /// The body, if any.
    pub body: Option<Bytes>,
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json_body(mut self, body: Bytes) -> Self {
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Some(body);
        self
    }
}

impl fmt::Debug for HttpRequest {
    // Headers are left out on purpose: they carry the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_len", &self.body.as_ref().map(|b| b.len()))
            .finish_non_exhaustive()
    }
}

/// One HTTP answer, body read whole (within the transport's cap).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// An answer with a status and a body, for tests and mocks.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        HttpResponse {
            status,
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// Adds a header (ignored if the name or value is not valid HTTP).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.append(n, v);
        }
        self
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request that got no (whole) answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// How it failed; says whether the request may have been delivered.
    pub failure: TransportFailure,
    /// What happened, without secrets.
    pub message: String,
}

impl TransportError {
    /// An error of a kind with a message.
    pub fn new(failure: TransportFailure, message: impl Into<String>) -> Self {
        TransportError {
            failure,
            message: message.into(),
        }
    }
}

/// A result file saved to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Bytes written.
    pub bytes: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// The `Content-Type` the server announced.
    pub content_type: Option<String>,
}

/// Sends requests. Implementations are cheap to share (`Arc<dyn Transport>`).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends one request and reads the whole answer.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Downloads `request`'s answer to `dest`: streamed to a temporary file beside it, checked
    /// against the announced length and `max_bytes`, fsynced, then renamed, so `dest` is
    /// either whole or absent. A non-2xx answer is [`DownloadOutcome::Refused`].
    async fn download(
        &self,
        request: HttpRequest,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<DownloadOutcome, TransportError>;
}

/// What a download ended as: the file, or the server's refusal (e.g. an expired URL's 403/410),
/// which the caller answers by refreshing the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadOutcome {
    /// Saved whole.
    Saved(Download),
    /// The server answered with a non-2xx status; nothing was written.
    Refused {
        /// The status.
        status: u16,
    },
}
