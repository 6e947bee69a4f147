//! A provider's base URL and key over a transport: the HTTP machinery every adapter shares.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use mediajobs_core::{
    ApiError, Clock, Error, ErrorKind, Operation, Provider, Secret, Snapshot, SystemClock,
    Timestamp,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

use crate::headers::{RateLimit, retry_after, server_date};
use crate::{HttpRequest, HttpResponse, Transport, TransportError};

/// Moves a snapshot's absolute provider times (estimate, creation, URL expiry) by `skew`
/// ([`Endpoint::clock_skew`]), for answers read in bulk (a list page: one `Date`).
pub fn shift_snapshot(snapshot: &mut Snapshot, skew: chrono::Duration) {
    shift_time(&mut snapshot.estimated_completion, skew);
    shift_time(&mut snapshot.created_at, skew);
    for output in &mut snapshot.outputs {
        shift_time(&mut output.expires_at, skew);
    }
}

/// Moves one provider time by `skew` (an overflow leaves it as it was).
pub fn shift_time(t: &mut Option<Timestamp>, skew: chrono::Duration) {
    if let Some(at) = t.as_mut() {
        *at = at.checked_add_signed(skew).unwrap_or(*at);
    }
}

/// A difference between the provider's `Date` and our clock up to this much is not taken for
/// skew: `Date` has whole seconds, and an answer takes time to arrive.
pub const SKEW_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(2);

/// One row of an adapter's generated error table: a provider error code and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRule {
    /// The provider's code, exactly as sent.
    pub code: &'static str,
    /// The HTTP status the provider documents for it (0 when it is only a job failure code).
    pub http_status: u16,
    /// Its class.
    pub kind: ErrorKind,
    /// Whether retrying later can help.
    pub transient: bool,
    /// What the user should do.
    pub advice: &'static str,
}

/// What an error body said, read leniently: whichever of the usual shapes it has
/// (`{"error": {"code", "message", "request_id", "details"}}`, `{"message", "code"}`,
/// `{"error": "text"}`, `{"success": false, "data": …}`), or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code.
    pub code: Option<String>,
    /// The message.
    pub message: Option<String>,
    /// The blamed field, from `details` where present.
    pub field: Option<String>,
    /// The provider's request id.
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// Reads an error body of any shape; never fails.
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(200)
                .collect::<String>();
            return ErrorBody {
                message: (!text.is_empty()).then_some(text),
                ..ErrorBody::default()
            };
        };
        let inner = match v.get("error") {
            Some(e @ Value::Object(_)) => e,
            _ => &v,
        };
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let message = s(inner, "message")
            .or_else(|| v.get("error").and_then(Value::as_str).map(str::to_string))
            .or_else(|| s(&v, "message"));
        let details = inner.get("details").or_else(|| v.get("details"));
        let field = details
            .and_then(|d| {
                s(d, "field")
                    .or_else(|| s(d, "param"))
                    .or_else(|| s(d, "parameter"))
                    .or_else(|| {
                        d.get("fields")
                            .and_then(Value::as_array)
                            .and_then(|a| a.first())
                            .and_then(|f| f.as_str().map(str::to_string).or_else(|| s(f, "field")))
                    })
            })
            .or_else(|| s(inner, "field"))
            .or_else(|| s(inner, "param"));
        ErrorBody {
            code: s(inner, "code").or_else(|| s(&v, "code")),
            message,
            field,
            request_id: s(inner, "request_id").or_else(|| s(&v, "request_id")),
        }
    }
}

/// A provider's API as seen from the client: base URL, key, extra headers, transport and clock.
///
/// ```
/// use std::sync::Arc;
/// use mediajobs_core::{Provider, Secret};
/// use mediajobs_transport::{Endpoint, ReqwestTransport};
/// let transport = Arc::new(ReqwestTransport::with_defaults().unwrap());
/// let ep = Endpoint::new(Provider::Vidiking, "http://127.0.0.1:9/vidiking/", Secret::new("key"), transport).unwrap();
/// assert_eq!(ep.url("/v1/render"), "http://127.0.0.1:9/vidiking/v1/render");
/// assert!(!format!("{ep:?}").contains("key\""));
/// ```
#[derive(Clone)]
pub struct Endpoint {
    provider: Provider,
    base_url: String,
    api_key: Secret,
    headers: HeaderMap,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint at `base_url` (the provider's host root; a trailing `/` is ignored).
    pub fn new(
        provider: Provider,
        base_url: &str,
        api_key: Secret,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, Error> {
        let parsed = url::Url::parse(base_url).map_err(|e| {
            Error::Config(format!(
                "{provider}: base URL {base_url:?} is not a valid URL ({e}); set {}_BASE_URL",
                provider.env_prefix()
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "{provider}: base URL {base_url:?} must be http or https"
            )));
        }
        Ok(Endpoint {
            provider,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            headers: HeaderMap::new(),
            transport,
            clock: Arc::new(SystemClock),
        })
    }

    /// Adds a header sent with every request (e.g. Vidiking's `x-sandbox: true`).
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        self
    }

    /// Uses `clock` for time arithmetic (HTTP-date `Retry-After` without a `Date` header).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API key (redacted when printed).
    pub fn api_key(&self) -> &Secret {
        &self.api_key
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The transport.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// `path` (starting with `/v1`, or a provider's relative `Location`) joined to the base
    /// URL; an absolute URL is returned as is.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        if path.starts_with('/') {
            format!("{}{}", self.base_url, path)
        } else {
            format!("{}/{}", self.base_url, path)
        }
    }

    /// A request to `path` carrying the key and the extra headers.
    pub fn request(&self, method: Method, path: &str) -> HttpRequest {
        let mut req = HttpRequest::new(method, self.url(path));
        req.headers = self.headers.clone();
        if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", self.api_key.expose())) {
            v.set_sensitive(true);
            req.headers.insert(http::header::AUTHORIZATION, v);
        }
        req.headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        req
    }

    /// Sends `request` for `operation`. A transport failure becomes [`Error::Transport`]; for a
    /// submit that may have been delivered, [`Error::UncertainSubmit`].
    pub async fn send(
        &self,
        operation: Operation,
        request: HttpRequest,
    ) -> Result<HttpResponse, Error> {
        let span = tracing::debug_span!("http", provider = %self.provider, %operation, method = %request.method);
        match self.transport.send(request).instrument(span).await {
            Ok(resp) => {
                tracing::debug!(provider = %self.provider, %operation, status = resp.status, "answer");
                Ok(resp)
            }
            Err(e) => Err(self.transport_error(operation, e)),
        }
    }

    /// Turns a transport failure into the core error for `operation`.
    pub fn transport_error(&self, operation: Operation, e: TransportError) -> Error {
        tracing::debug!(provider = %self.provider, %operation, error = %e.message, "transport failure");
        if operation == Operation::Submit && e.failure.maybe_delivered() {
            Error::UncertainSubmit {
                provider: self.provider,
                message: e.message,
            }
        } else {
            Error::Transport {
                provider: self.provider,
                operation,
                failure: e.failure,
                message: e.message,
            }
        }
    }

    /// `GET path`.
    pub async fn get(&self, operation: Operation, path: &str) -> Result<HttpResponse, Error> {
        self.send(operation, self.request(Method::GET, path)).await
    }

    /// `method path` with a JSON body.
    pub async fn send_json(
        &self,
        operation: Operation,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<HttpResponse, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::InvalidInput {
            provider: self.provider,
            field: "body".into(),
            message: e.to_string(),
        })?;
        let req = self.request(method, path).json_body(Bytes::from(bytes));
        self.send(operation, req).await
    }

    /// Decodes a JSON answer, naming the provider and operation if it does not parse.
    pub fn decode<T: DeserializeOwned>(
        &self,
        operation: Operation,
        resp: &HttpResponse,
    ) -> Result<T, Error> {
        serde_json::from_slice(&resp.body).map_err(|e| Error::Decode {
            provider: self.provider,
            operation,
            http_status: resp.status,
            message: if resp.body.is_empty() {
                "empty body".to_string()
            } else {
                e.to_string()
            },
        })
    }

    /// A 2xx answer to a submit that could not be read: the provider accepted the request, so
    /// the task most likely exists. That is an uncertain submit (reconcile it, never resubmit
    /// blindly), not a decode error.
    pub fn unreadable_submit_answer(&self, resp: &HttpResponse, why: impl fmt::Display) -> Error {
        Error::UncertainSubmit {
            provider: self.provider,
            message: format!(
                "HTTP {} accepted the request but the answer could not be read: {why}",
                resp.status
            ),
        }
    }

    /// The time to read the answer's relative headers against: the provider's `Date` where
    /// sent, else our clock.
    pub fn answer_time(&self, resp: &HttpResponse) -> Timestamp {
        server_date(&resp.headers).unwrap_or_else(|| self.clock.now())
    }

    /// How far our clock is ahead of the provider's, as the answer's `Date` tells: `None`
    /// without a `Date`, or within [`SKEW_TOLERANCE`] (`Date` has whole seconds, and the
    /// answer took time to arrive: a smaller difference is noise, not skew).
    pub fn clock_skew(&self, resp: &HttpResponse) -> Option<chrono::Duration> {
        let theirs = server_date(&resp.headers)?;
        // Whole milliseconds, as every time mediajobs states.
        let skew = chrono::Duration::milliseconds((self.clock.now() - theirs).num_milliseconds());
        let tolerance = chrono::Duration::from_std(SKEW_TOLERANCE).ok()?;
        (skew.abs() > tolerance).then_some(skew)
    }

    /// Moves the provider's absolute times in `snapshot` (its estimate of completion, its
    /// creation time, its URLs' expiry) onto our clock, by the skew the answer's `Date` shows:
    /// a provider clock a minute behind ours must not make us poll a minute early, or take a
    /// URL for valid a minute after it expired.
    pub fn localize(&self, resp: &HttpResponse, snapshot: &mut Snapshot) {
        if let Some(skew) = self.clock_skew(resp) {
            shift_snapshot(snapshot, skew);
        }
    }

    /// The error an answer that is not 2xx stands for, classified with the adapter's `rules`
    /// (by code, else by HTTP status), with the wait from `Retry-After`, else (for 429) from
    /// `X-RateLimit-Reset`.
    pub fn api_error(
        &self,
        operation: Operation,
        resp: &HttpResponse,
        rules: &[ErrorRule],
    ) -> Error {
        let body = ErrorBody::parse(&resp.body);
        let rule = body
            .code
            .as_deref()
            .and_then(|c| rules.iter().find(|r| r.code == c));
        let kind = rule
            .map(|r| r.kind)
            .unwrap_or_else(|| ErrorKind::from_http_status(resp.status));
        let now = self.answer_time(resp);
        let mut wait = retry_after(&resp.headers, now);
        if wait.is_none() && resp.status == 429 {
            wait = RateLimit::from_headers(&resp.headers).and_then(|r| r.wait_for_reset(now));
        }
        let message = body.message.clone().unwrap_or_else(|| {
            http::StatusCode::from_u16(resp.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_string()
        });
        let mut e = ApiError::new(self.provider, operation, kind, resp.status, message);
        e.transient = rule.map(|r| r.transient).unwrap_or(kind.is_transient());
        e.code = body.code;
        e.field = body.field;
        e.request_id = body.request_id;
        e.retry_after = wait;
        e.advice = rule.map(|r| r.advice).filter(|a| !a.is_empty());
        Error::from(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockTransport;
    use mediajobs_core::TransportFailure;

    fn endpoint(mock: MockTransport) -> Endpoint {
        Endpoint::new(
            Provider::VibePeak,
            "http://127.0.0.1:1/vibepeak",
            Secret::new("vpk_test_SECRET"),
            Arc::new(mock),
        )
        .unwrap()
    }

    const RULES: &[ErrorRule] = &[ErrorRule {
        code: "CONCURRENCY_LIMIT_EXCEEDED",
        http_status: 429,
        kind: ErrorKind::ConcurrencyLimited,
        transient: true,
        advice: "wait for a task to finish",
    }];

    #[test]
    fn provider_times_are_moved_onto_our_clock_by_the_skew_date_shows() {
        let ours: Timestamp = "2026-01-04T12:01:00Z".parse().unwrap();
        let ep = endpoint(MockTransport::new())
            .with_clock(Arc::new(mediajobs_core::ManualClock::new(ours)));
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let snapshot = || {
            let mut s = Snapshot::new(
                mediajobs_core::JobId::new(Provider::VibePeak, "task_1"),
                mediajobs_core::ProviderStatus::known(
                    mediajobs_core::Status::Running,
                    "processing",
                ),
            );
            s.estimated_completion = Some(at("2026-01-04T12:05:00Z"));
            s.created_at = Some(at("2026-01-04T11:59:00Z"));
            s.outputs.push(mediajobs_core::Output {
                url: Some("https://x/y.mp4".into()),
                file_id: None,
                mime_type: None,
                size: None,
                expires_at: Some(at("2026-01-04T13:00:00Z")),
            });
            s
        };
        // The provider's clock is a minute behind ours: its "12:05" is our 12:06.
        let behind =
            HttpResponse::new(200, "").with_header("date", "Sun, 04 Jan 2026 12:00:00 GMT");
        assert_eq!(ep.clock_skew(&behind), Some(chrono::Duration::seconds(60)));
        let mut s = snapshot();
        ep.localize(&behind, &mut s);
        assert_eq!(s.estimated_completion, Some(at("2026-01-04T12:06:00Z")));
        assert_eq!(s.created_at, Some(at("2026-01-04T12:00:00Z")));
        assert_eq!(s.outputs[0].expires_at, Some(at("2026-01-04T13:01:00Z")));
        // A second of difference is `Date`'s resolution, not skew; no `Date`, nothing known.
        for resp in [
            HttpResponse::new(200, "").with_header("date", "Sun, 04 Jan 2026 12:00:59 GMT"),
            HttpResponse::new(200, ""),
        ] {
            assert_eq!(ep.clock_skew(&resp), None);
            let mut s = snapshot();
            ep.localize(&resp, &mut s);
            assert_eq!(s, snapshot());
        }
    }

    #[test]
    fn error_bodies_of_every_shape() {
        let b = ErrorBody::parse(
            br#"{"error":{"code":"VALIDATION_ERROR","message":"bad","request_id":"req_1","details":{"field":"script"}}}"#,
        );
        assert_eq!(b.code.as_deref(), Some("VALIDATION_ERROR"));
        assert_eq!(b.field.as_deref(), Some("script"));
        assert_eq!(b.request_id.as_deref(), Some("req_1"));
        let b = ErrorBody::parse(br#"{"message":"Unauthorized"}"#);
        assert_eq!((b.code, b.message.as_deref()), (None, Some("Unauthorized")));
        let b = ErrorBody::parse(br#"{"error":"boom"}"#);
        assert_eq!(b.message.as_deref(), Some("boom"));
        let b = ErrorBody::parse(b"<html>502 Bad Gateway</html>");
        assert_eq!(b.message.as_deref(), Some("<html>502 Bad Gateway</html>"));
        assert_eq!(ErrorBody::parse(b""), ErrorBody::default());
        let b = ErrorBody::parse(br#"{"success":false,"data":null,"code":"x"}"#);
        assert_eq!(b.code.as_deref(), Some("x"));
    }

    #[test]
    fn api_error_uses_rules_then_status_and_reads_waits() {
        let ep = endpoint(MockTransport::new());
        let resp = HttpResponse::new(
            429,
            r#"{"error":{"code":"CONCURRENCY_LIMIT_EXCEEDED","message":"3 in flight","details":{"limit":3}}}"#,
        )
        .with_header("retry-after", "30");
        let e = ep.api_error(Operation::Submit, &resp, RULES);
        assert_eq!(e.kind(), Some(ErrorKind::ConcurrencyLimited));
        assert!(e.is_transient() && e.is_rate_limited());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(30)));
        assert!(e.to_string().contains("wait for a task to finish"));

        let resp = HttpResponse::new(429, r#"{"message":"slow down"}"#)
            .with_header("date", "Sun, 04 Jan 2026 12:00:00 GMT")
            .with_header("x-ratelimit-reset", "1767528005");
        let e = ep.api_error(Operation::Status, &resp, RULES);
        assert_eq!(e.kind(), Some(ErrorKind::RateLimited));
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(5)));

        let e = ep.api_error(Operation::Status, &HttpResponse::new(503, ""), RULES);
        assert!(e.is_transient());
        assert!(e.to_string().contains("Service Unavailable"));
    }

    #[tokio::test]
    async fn key_goes_on_the_wire_marked_sensitive_and_nowhere_else() {
        let mut mock = MockTransport::new();
        mock.expect_send().returning(|req| {
            let auth = req.headers.get("authorization").unwrap();
            assert!(auth.is_sensitive());
            assert_eq!(auth.to_str().unwrap(), "Bearer vpk_test_SECRET");
            assert!(!format!("{req:?}").contains("SECRET"));
            Err(TransportError::new(
                TransportFailure::Connect,
                "could not connect",
            ))
        });
        let ep = endpoint(mock);
        let err = ep.get(Operation::Status, "/v1/tasks/t").await.unwrap_err();
        assert!(err.is_unreachable());
        for text in [format!("{err}"), format!("{err:?}"), format!("{ep:?}")] {
            assert!(!text.contains("SECRET"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_submit_that_may_have_arrived_is_uncertain_others_are_transport_errors() {
        let mut mock = MockTransport::new();
        mock.expect_send().returning(|_| {
            Err(TransportError::new(
                TransportFailure::Timeout,
                "no answer in time",
            ))
        });
        let ep = endpoint(mock);
        let e = ep
            .send_json(
                Operation::Submit,
                Method::POST,
                "/v1/x",
                &serde_json::json!({}),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::UncertainSubmit { .. }) && !e.is_transient());
        let e = ep.get(Operation::Status, "/v1/x").await.unwrap_err();
        assert!(matches!(
            e,
            Error::Transport {
                failure: TransportFailure::Timeout,
                ..
            }
        ));
        assert!(e.is_transient());
    }

    #[test]
    fn urls_join_and_bad_base_urls_are_config_errors() {
        let ep = endpoint(MockTransport::new());
        assert_eq!(
            ep.url("/v1/tasks/t"),
            "http://127.0.0.1:1/vibepeak/v1/tasks/t"
        );
        assert_eq!(ep.url("https://cdn/x"), "https://cdn/x");
        let e = Endpoint::new(
            Provider::VideoGen,
            "not a url",
            Secret::new("k"),
            Arc::new(MockTransport::new()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("VIDEOGEN_BASE_URL"), "{e}");
        let ok = ep.decode::<serde_json::Value>(Operation::Status, &HttpResponse::new(200, "{"));
        let e = ok.unwrap_err();
        assert!(e.to_string().contains("vibepeak status"), "{e}");
    }
}

/// The configuration every adapter's builder shares: key, base URL, transport, clock, and
/// reading `{PROVIDER}_API_KEY` / `{PROVIDER}_BASE_URL`. Adapters wrap it and add their own
/// settings, so the rules (which variable, which error) are written once.
///
/// ```
/// use mediajobs_core::Provider;
/// use mediajobs_transport::EndpointBuilder;
/// let env = |name: &str| (name == "VIDIKING_API_KEY").then(|| "vk_1".to_string());
/// let ep = EndpointBuilder::new(Provider::Vidiking).from_lookup(env).build("https://api.vidiking.com").unwrap();
/// assert_eq!(ep.base_url(), "https://api.vidiking.com");
/// let missing = EndpointBuilder::new(Provider::VideoGen).build("https://api.videogen.io").unwrap_err();
/// assert!(missing.to_string().contains("VIDEOGEN_API_KEY"));
/// ```
#[derive(Debug, Clone)]
pub struct EndpointBuilder {
    provider: Provider,
    api_key: Option<Secret>,
    base_url: Option<String>,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<Arc<dyn Clock>>,
}

impl EndpointBuilder {
    /// An empty configuration for `provider`.
    pub fn new(provider: Provider) -> Self {
        EndpointBuilder {
            provider,
            api_key: None,
            base_url: None,
            transport: None,
            clock: None,
        }
    }

    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the host root (default: the provider's real host).
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_string());
        self
    }

    /// Sets the transport (default: [`crate::ReqwestTransport::with_defaults`]).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Sets the clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Fills the key and base URL from `{PROVIDER}_API_KEY` and `{PROVIDER}_BASE_URL` where
    /// `lookup` has them (non-empty) and they are not set yet: values set in code win.
    pub fn from_lookup(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let prefix = self.provider.env_prefix();
        let get = |suffix: &str| {
            lookup(&format!("{prefix}_{suffix}"))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if self.api_key.is_none() {
            self.api_key = get("API_KEY").map(Secret::new);
        }
        if self.base_url.is_none() {
            self.base_url = get("BASE_URL");
        }
        self
    }

    /// The endpoint. Fails with [`Error::Config`] naming `{PROVIDER}_API_KEY` when no key was
    /// given, or the base URL variable when the URL is not http(s).
    pub fn build(self, default_base_url: &str) -> Result<Endpoint, Error> {
        let provider = self.provider;
        let key = self.api_key.filter(|k| !k.is_empty()).ok_or_else(|| {
            Error::Config(format!(
                "{provider}: no API key; set {}_API_KEY (or call .api_key(..))",
                provider.env_prefix()
            ))
        })?;
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            None => Arc::new(crate::ReqwestTransport::with_defaults().map_err(|e| {
                Error::Config(format!("{provider}: could not build the HTTP client: {e}"))
            })?),
        };
        let base = self.base_url.as_deref().unwrap_or(default_base_url);
        let endpoint = Endpoint::new(provider, base, key, transport)?;
        Ok(match self.clock {
            Some(clock) => endpoint.with_clock(clock),
            None => endpoint,
        })
    }
}
