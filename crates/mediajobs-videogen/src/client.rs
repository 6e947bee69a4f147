//! The VideoGen client: submit, status, cancel, list, files and webhook endpoints.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::Stream;
use http::Method;
use mediajobs_core::{
    Capabilities, Clock, Error, ErrorKind, JobId, ListPage, ListQuery, Operation, Output, Provider,
    ProviderApi, ProviderStatus, Secret, Snapshot, Status, SubmitRequest, Timestamp,
};
use mediajobs_transport::headers::{RateLimit, retry_after};
use mediajobs_transport::{Endpoint, EndpointBuilder, HttpResponse, Transport};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::generated;
use crate::request::{self, ToolRequest};
use crate::webhook::VideoGenWebhookVerifier;
use crate::wire::{
    CreatedEndpointWire, EndpointPage, ExecutionPage, StorageFile, ToolExecution, WebhookEndpoint,
};

/// VideoGen's real host.
pub const DEFAULT_BASE_URL: &str = "https://api.videogen.io";
/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "VIDEOGEN_API_KEY";
/// The environment variable holding the base URL (to point at the simulator).
pub const ENV_BASE_URL: &str = "VIDEOGEN_BASE_URL";
/// The environment variable holding the webhook signing secret(s), separated by spaces or
/// commas while rotating.
pub const ENV_WEBHOOK_SECRET: &str = "VIDEOGEN_WEBHOOK_SECRET";
/// The largest `limit` the list of executions takes.
pub const MAX_LIST_LIMIT: u32 = 200;
/// The events of a tool execution reaching a terminal status.
pub const TOOL_EXECUTION_EVENTS: [&str; 3] = [
    "tool_execution.succeeded",
    "tool_execution.failed",
    "tool_execution.cancelled",
];

/// How many pages [`VideoGenClient::list_webhook_endpoints`] follows at most.
const MAX_ENDPOINT_PAGES: usize = 100;

/// The endpoint classes VideoGen rate-limits separately (per key, per hour), for
/// [`VideoGenClient::last_rate_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitClass {
    /// `POST /v1/tools/*`.
    Submit,
    /// `GET /v1/tools/executions/{id}`.
    Status,
    /// `POST /v1/tools/executions/{id}/cancel`.
    Cancel,
    /// `GET /v1/tools/executions`.
    List,
    /// `GET /v1/files/{id}`.
    GetFile,
    /// `POST /v1/files/{id}/hydrate`.
    Hydrate,
    /// `GET /v1/webhooks/endpoints`.
    ListEndpoints,
    /// `POST /v1/webhooks/endpoints`.
    CreateEndpoint,
    /// `DELETE /v1/webhooks/endpoints/{id}`.
    DeleteEndpoint,
}

impl RateLimitClass {
    /// Every class.
    pub const ALL: [RateLimitClass; 9] = [
        RateLimitClass::Submit,
        RateLimitClass::Status,
        RateLimitClass::Cancel,
        RateLimitClass::List,
        RateLimitClass::GetFile,
        RateLimitClass::Hydrate,
        RateLimitClass::ListEndpoints,
        RateLimitClass::CreateEndpoint,
        RateLimitClass::DeleteEndpoint,
    ];

    /// The documented requests per hour per key (list: assumed 5,000; a file read: none
    /// documented).
    pub fn documented_limit_per_hour(self) -> Option<u32> {
        match self {
            RateLimitClass::Submit => Some(500),
            RateLimitClass::Status => Some(5_000),
            RateLimitClass::Cancel => Some(250),
            RateLimitClass::List => Some(5_000),
            RateLimitClass::GetFile => None,
            RateLimitClass::Hydrate => Some(2_500),
            RateLimitClass::ListEndpoints => Some(500),
            RateLimitClass::CreateEndpoint | RateLimitClass::DeleteEndpoint => Some(10),
        }
    }
}

/// A webhook endpoint just created: the only answer that carries its signing secret.
#[derive(Debug, Clone)]
pub struct CreatedEndpoint {
    /// The endpoint's id.
    pub endpoint_id: String,
    /// Where events go.
    pub url: String,
    /// The events it receives.
    pub events: Vec<String>,
    /// The description given.
    pub description: Option<String>,
    /// The signing secret (`whsec_…`). VideoGen shows it only now: keep it.
    pub signing_secret: Secret,
    /// Its last four characters, as later listings show them.
    pub signing_secret_last4: Option<String>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
}

impl CreatedEndpoint {
    /// A verifier for this endpoint's deliveries.
    pub fn verifier(&self) -> Result<VideoGenWebhookVerifier, Error> {
        VideoGenWebhookVerifier::new(self.signing_secret.clone())
    }
}

/// Builds a [`VideoGenClient`].
///
/// ```
/// use mediajobs_videogen::VideoGenClient;
/// let client = VideoGenClient::builder()
///     .api_key("vg_test_key")
///     .base_url("http://127.0.0.1:8080/videogen")
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080/videogen");
/// assert!(!format!("{client:?}").contains("vg_test_key"));
/// ```
#[derive(Debug, Clone)]
pub struct VideoGenClientBuilder {
    endpoint: EndpointBuilder,
}

impl Default for VideoGenClientBuilder {
    fn default() -> Self {
        VideoGenClientBuilder {
            endpoint: EndpointBuilder::new(Provider::VideoGen),
        }
    }
}

impl VideoGenClientBuilder {
    /// The API key.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.endpoint = self.endpoint.api_key(key);
        self
    }

    /// The host root (default [`DEFAULT_BASE_URL`]); the simulator's `http://127.0.0.1:P/videogen`
    /// in tests. Paths start with `/v1`.
    pub fn base_url(mut self, url: &str) -> Self {
        self.endpoint = self.endpoint.base_url(url);
        self
    }

    /// The transport (default: [`mediajobs_transport::ReqwestTransport::with_defaults`]).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.endpoint = self.endpoint.transport(transport);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.endpoint = self.endpoint.clock(clock);
        self
    }

    /// Fills the key and base URL from `VIDEOGEN_API_KEY` and `VIDEOGEN_BASE_URL` where set (values
    /// set on the builder win).
    pub fn from_env(self) -> Self {
        self.from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`VideoGenClientBuilder::from_env`] with another source of variables.
    pub fn from_lookup(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        self.endpoint = self.endpoint.from_lookup(lookup);
        self
    }

    /// Builds the client. A missing key is an [`Error::Config`] naming `VIDEOGEN_API_KEY`.
    pub fn build(self) -> Result<VideoGenClient, Error> {
        let endpoint = self.endpoint.build(DEFAULT_BASE_URL)?;
        Ok(VideoGenClient {
            inner: Arc::new(Inner {
                endpoint,
                rate_limits: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// The VideoGen adapter: every documented operation, and [`ProviderApi`] for the scheduler.
///
/// Cloning is cheap and shares the connection pool and the rate-limit memory.
#[derive(Clone)]
pub struct VideoGenClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    rate_limits: Mutex<HashMap<RateLimitClass, RateLimit>>,
}

impl fmt::Debug for VideoGenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoGenClient")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes an opaque id for one path segment; an empty id is refused.
fn segment(field: &str, id: &str) -> Result<String, Error> {
    if id.is_empty() {
        return Err(Error::InvalidInput {
            provider: Provider::VideoGen,
            field: field.to_string(),
            message: "must not be empty".into(),
        });
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// Percent-encodes a query value.
fn query_value(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// The object inside a single-object envelope (`{"toolExecution": {…}}`, `{"data": {…}}`),
/// or the value itself.
fn unwrap_object(v: Value, marker: &str, keys: &[&str]) -> Value {
    if v.get(marker).is_some() {
        return v;
    }
    for k in keys {
        if let Some(inner @ Value::Object(_)) = v.get(*k) {
            return inner.clone();
        }
    }
    v
}

/// The list inside a page (`{key: […]}`, `{"data": […]}`, `{"items": […]}`) or a bare array;
/// with the page's `hasMore` and `nextCursor`.
fn unwrap_list(v: &Value, key: &str) -> Option<(Vec<Value>, Option<bool>, Option<String>)> {
    if let Value::Array(items) = v {
        return Some((items.clone(), None, None));
    }
    let items = match [key, "data", "items", "results"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_array))
    {
        Some(items) => items.clone(),
        // `{key: null}`: an empty page.
        None if v.get(key).is_some_and(Value::is_null) => Vec::new(),
        None => return None,
    };
    let has_more = v.get("hasMore").and_then(Value::as_bool);
    let cursor = v
        .get("nextCursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    Some((items, has_more, cursor))
}

fn next_cursor(has_more: Option<bool>, cursor: Option<String>) -> Option<String> {
    match has_more {
        Some(false) => None,
        _ => cursor,
    }
}

impl VideoGenClient {
    /// A builder.
    pub fn builder() -> VideoGenClientBuilder {
        VideoGenClientBuilder::default()
    }

    /// A client from `VIDEOGEN_API_KEY` and `VIDEOGEN_BASE_URL` (default: the real host).
    pub fn from_env() -> Result<VideoGenClient, Error> {
        Self::builder().from_env().build()
    }

    /// A webhook verifier from `VIDEOGEN_WEBHOOK_SECRET` (several secrets separated by spaces
    /// or commas while rotating).
    pub fn webhook_verifier_from_env() -> Result<VideoGenWebhookVerifier, Error> {
        VideoGenWebhookVerifier::from_env()
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.inner.endpoint.base_url()
    }

    /// The transport (also the one to download result files with: signed URLs need no key).
    pub fn transport(&self) -> &Arc<dyn Transport> {
        self.inner.endpoint.transport()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.endpoint.clock()
    }

    /// The `X-RateLimit-*` values of the last answer of this endpoint class that carried them.
    pub fn last_rate_limit(&self, class: RateLimitClass) -> Option<RateLimit> {
        self.inner
            .rate_limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&class)
            .copied()
    }

    /// Every class's last seen rate-limit values.
    pub fn rate_limits(&self) -> Vec<(RateLimitClass, RateLimit)> {
        let map = self
            .inner
            .rate_limits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, v)| (*k, *v)).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    fn record_rate_limit(&self, class: RateLimitClass, resp: &HttpResponse) {
        if let Some(rl) = RateLimit::from_headers(&resp.headers) {
            self.inner
                .rate_limits
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(class, rl);
        }
    }

    /// Sends, records the rate-limit headers, and turns a non-2xx answer into an error.
    async fn call(
        &self,
        class: RateLimitClass,
        op: Operation,
        req: mediajobs_transport::HttpRequest,
    ) -> Result<HttpResponse, Error> {
        let resp = self.inner.endpoint.send(op, req).await?;
        self.record_rate_limit(class, &resp);
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(self.api_error(op, &resp))
        }
    }

    /// The error of a non-2xx answer: the generated table, then the HTTP status; plus the
    /// field an `invalid_parameters` message names and a `requirement` where given.
    fn api_error(&self, op: Operation, resp: &HttpResponse) -> Error {
        let mut err = self
            .inner
            .endpoint
            .api_error(op, resp, generated::ERROR_RULES);
        if let Error::Api(e) = &mut err {
            if e.field.is_none() && e.kind == ErrorKind::InvalidRequest {
                e.field = request::field_in_message(&e.message).map(str::to_string);
            }
            let requirement = serde_json::from_slice::<Value>(&resp.body)
                .ok()
                .and_then(|v| v.get("requirement").cloned())
                .filter(|r| !r.is_null());
            if let Some(r) = requirement {
                let what = r
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| r.to_string());
                e.message = format!("{} (requirement: {what})", e.message);
            }
        }
        err
    }

    fn decode_value(&self, op: Operation, resp: &HttpResponse) -> Result<Value, Error> {
        self.inner.endpoint.decode::<Value>(op, resp)
    }

    fn parse_value<T: DeserializeOwned>(
        &self,
        op: Operation,
        http_status: u16,
        v: Value,
    ) -> Result<T, Error> {
        serde_json::from_value(v).map_err(|e| Error::Decode {
            provider: Provider::VideoGen,
            operation: op,
            http_status,
            message: e.to_string(),
        })
    }

    fn retry_hint(&self, resp: &HttpResponse) -> Option<std::time::Duration> {
        retry_after(&resp.headers, self.inner.endpoint.answer_time(resp))
    }

    /// Submits a typed tool request (validated first).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), mediajobs_core::Error> {
    /// use mediajobs_videogen::{GenerateImage, Quality, VideoGenClient};
    /// let client = VideoGenClient::from_env()?;
    /// let snap = client
    ///     .submit_tool(GenerateImage::new("a red bicycle").quality(Quality::High))
    ///     .await?;
    /// println!("execution {}", snap.job.id);
    /// # Ok(()) }
    /// ```
    pub async fn submit_tool(&self, request: impl Into<ToolRequest>) -> Result<Snapshot, Error> {
        let req = request.into().to_submit_request()?;
        self.submit(&req).await
    }

    /// The tool `request` names, once the request is checked against it.
    fn checked_tool(request: &SubmitRequest) -> Result<&'static str, Error> {
        let tool_given = request.tool.as_deref().ok_or_else(|| Error::InvalidInput {
            provider: Provider::VideoGen,
            field: "tool".into(),
            message: format!(
                "VideoGen needs a tool; known tools: {}",
                request::tool_names().collect::<Vec<_>>().join(", ")
            ),
        })?;
        let tool = request::resolve_tool(tool_given)?;
        request::validate_raw(tool, &request.body)?;
        Ok(tool)
    }

    async fn submit_inner(&self, request: &SubmitRequest) -> Result<Snapshot, Error> {
        let tool = Self::checked_tool(request)?;
        tracing::debug!(provider = "videogen", tool, "submit");
        let path = format!("/v1/tools/{tool}");
        let bytes = serde_json::to_vec(&request.body).map_err(|e| Error::InvalidInput {
            provider: Provider::VideoGen,
            field: "body".into(),
            message: e.to_string(),
        })?;
        let req = self
            .inner
            .endpoint
            .request(Method::POST, &path)
            .json_body(bytes::Bytes::from(bytes));
        let resp = self
            .call(RateLimitClass::Submit, Operation::Submit, req)
            .await?;
        // The execution exists now: an answer we cannot read leaves it unknown to us, which is
        // an uncertain submit (reconcile through the list), not a plain decode error.
        let uncertain = |why: String| Error::UncertainSubmit {
            provider: Provider::VideoGen,
            message: format!(
                "HTTP {} answer without a readable toolExecutionId: {why}",
                resp.status
            ),
        };
        let raw: Value = serde_json::from_slice(&resp.body).map_err(|e| {
            uncertain(if resp.body.is_empty() {
                "empty body".into()
            } else {
                e.to_string()
            })
        })?;
        let raw = unwrap_object(
            raw,
            "toolExecutionId",
            &["toolExecution", "execution", "data"],
        );
        let id = raw
            .get("toolExecutionId")
            .or_else(|| raw.get("id"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| uncertain("no toolExecutionId".into()))?
            .to_string();
        let status = raw
            .get("status")
            .and_then(Value::as_str)
            .map(crate::wire::provider_status)
            .unwrap_or_else(|| ProviderStatus::known(Status::Queued, "pending"));
        let mut snap = Snapshot::new(JobId::new(Provider::VideoGen, id), status);
        snap.tool = raw
            .get("toolType")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| request::tool_type_of(tool).map(str::to_string));
        snap.retry_after = self.retry_hint(&resp);
        snap.raw = raw;
        Ok(snap)
    }

    /// Reads one execution with every documented field, and the answer as received.
    async fn execution(&self, id: &str) -> Result<(ToolExecution, Value, HttpResponse), Error> {
        let path = format!("/v1/tools/executions/{}", segment("id", id)?);
        let req = self.inner.endpoint.request(Method::GET, &path);
        let resp = self
            .call(RateLimitClass::Status, Operation::Status, req)
            .await?;
        let raw = self.decode_value(Operation::Status, &resp)?;
        let raw = unwrap_object(raw, "status", &["toolExecution", "execution", "data"]);
        let mut exec: ToolExecution =
            self.parse_value(Operation::Status, resp.status, raw.clone())?;
        if exec.tool_execution_id.is_empty() {
            exec.tool_execution_id = id.to_string();
        }
        Ok((exec, raw, resp))
    }

    /// Reads one execution as VideoGen sends it (every documented field, typed).
    #[tracing::instrument(skip(self), fields(provider = "videogen", task_id = %id))]
    pub async fn status_typed(&self, id: &str) -> Result<ToolExecution, Error> {
        Ok(self.execution(id).await?.0)
    }

    /// One page of executions, typed. `query.status` is not sent (VideoGen has no such
    /// filter): see [`ProviderApi::list`].
    #[tracing::instrument(skip(self), fields(provider = "videogen"))]
    pub async fn list_typed(&self, query: &ListQuery) -> Result<ExecutionPage, Error> {
        Ok(self.list_raw(query).await?.2)
    }

    async fn list_raw(
        &self,
        query: &ListQuery,
    ) -> Result<
        (
            Vec<Value>,
            Option<String>,
            ExecutionPage,
            Option<chrono::Duration>,
        ),
        Error,
    > {
        let mut params = Vec::new();
        if let Some(limit) = query.limit {
            if !(1..=MAX_LIST_LIMIT).contains(&limit) {
                return Err(Error::InvalidInput {
                    provider: Provider::VideoGen,
                    field: "limit".into(),
                    message: format!("must be between 1 and {MAX_LIST_LIMIT}, got {limit}"),
                });
            }
            params.push(format!("limit={limit}"));
        }
        if let Some(cursor) = query.cursor.as_deref().filter(|c| !c.is_empty()) {
            params.push(format!("cursor={}", query_value(cursor)));
        }
        if query.self_only {
            params.push("selfOnly=true".to_string());
        }
        let mut path = "/v1/tools/executions".to_string();
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        let req = self.inner.endpoint.request(Method::GET, &path);
        let resp = self
            .call(RateLimitClass::List, Operation::List, req)
            .await?;
        let raw = self.decode_value(Operation::List, &resp)?;
        let (items, has_more, cursor) =
            unwrap_list(&raw, "toolExecutions").ok_or_else(|| Error::Decode {
                provider: Provider::VideoGen,
                operation: Operation::List,
                http_status: resp.status,
                message: "expected {toolExecutions: […], hasMore, nextCursor} or an array".into(),
            })?;
        let mut execs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let exec: ToolExecution = self
                .parse_value(Operation::List, resp.status, item.clone())
                .map_err(|e| match e {
                    Error::Decode {
                        provider,
                        operation,
                        http_status,
                        message,
                    } => Error::Decode {
                        provider,
                        operation,
                        http_status,
                        message: format!("toolExecutions[{i}]: {message}"),
                    },
                    other => other,
                })?;
            if exec.tool_execution_id.is_empty() {
                return Err(Error::Decode {
                    provider: Provider::VideoGen,
                    operation: Operation::List,
                    http_status: resp.status,
                    message: format!("toolExecutions[{i}] has no toolExecutionId"),
                });
            }
            execs.push(exec);
        }
        let next = next_cursor(has_more, cursor);
        let page = ExecutionPage {
            tool_executions: execs,
            has_more: next.is_some(),
            next_cursor: next.clone(),
        };
        let skew = self.inner.endpoint.clock_skew(&resp);
        Ok((items, next, page, skew))
    }

    async fn list_inner(&self, query: &ListQuery) -> Result<ListPage, Error> {
        let wanted = query.status.as_deref();
        // VideoGen has no status filter: it is applied here, so a word that matches no status
        // would silently show nothing. Refused before any call instead.
        if let Some(w) = wanted {
            let known = crate::generated::STATUSES
                .iter()
                .any(|(raw, unified)| *raw == w || unified.as_str() == w);
            if !known {
                let raws: Vec<&str> = crate::generated::STATUSES.iter().map(|(r, _)| *r).collect();
                return Err(Error::InvalidInput {
                    provider: Provider::VideoGen,
                    field: "status".into(),
                    message: format!(
                        "unknown status `{w}`: expected one of {} (or queued)",
                        raws.join(", ")
                    ),
                });
            }
        }
        let (items, next, page, skew) = self.list_raw(query).await?;
        let snaps = page
            .tool_executions
            .iter()
            .zip(items)
            .map(|(exec, raw)| {
                let mut snap = exec.to_snapshot(raw);
                if let Some(skew) = skew {
                    mediajobs_transport::shift_snapshot(&mut snap, skew);
                }
                snap
            })
            .filter(|s| match wanted {
                None => true,
                Some(w) => s.status.raw == w || s.status.status.as_str() == w,
            })
            .collect();
        Ok(ListPage {
            items: snaps,
            next_cursor: next,
        })
    }

    /// Every execution from `query`'s page on, following cursors, newest first. Ends after
    /// the last page or the first error (a cursor that repeats is an error, not a loop).
    ///
    /// ```no_run
    /// # async fn run(client: mediajobs_videogen::VideoGenClient) -> Result<(), mediajobs_core::Error> {
    /// use futures::StreamExt;
    /// use mediajobs_core::ListQuery;
    /// let query = ListQuery { limit: Some(100), self_only: true, ..Default::default() };
    /// let mut all = std::pin::pin!(client.list_stream(query));
    /// while let Some(snapshot) = all.next().await {
    ///     println!("{}", snapshot?.job);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_stream(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<Snapshot, Error>> + Send + 'static {
        use futures::StreamExt;
        let client = self.clone();
        // State: the next query, or None once done.
        let pages = futures::stream::unfold(Some(query), move |state| {
            let client = client.clone();
            async move {
                let query = state?;
                match client.list_inner(&query).await {
                    Err(e) => Some((vec![Err(e)], None)),
                    Ok(page) => {
                        let mut out: Vec<Result<Snapshot, Error>> =
                            page.items.into_iter().map(Ok).collect();
                        let next = match page.next_cursor {
                            None => None,
                            Some(c) if Some(&c) == query.cursor.as_ref() => {
                                out.push(Err(Error::Decode {
                                    provider: Provider::VideoGen,
                                    operation: Operation::List,
                                    http_status: 200,
                                    message: format!(
                                        "the list returned its own cursor {c:?} again"
                                    ),
                                }));
                                None
                            }
                            Some(c) => Some(ListQuery {
                                cursor: Some(c),
                                ..query
                            }),
                        };
                        Some((out, next))
                    }
                }
            }
        });
        pages.flat_map(futures::stream::iter)
    }

    async fn cancel_inner(&self, id: &str) -> Result<(), Error> {
        let path = format!("/v1/tools/executions/{}/cancel", segment("id", id)?);
        let req = self.inner.endpoint.request(Method::POST, &path);
        // `{toolExecutionId}` is documented, but nothing in it is needed: any 2xx will do.
        self.call(RateLimitClass::Cancel, Operation::Cancel, req)
            .await?;
        Ok(())
    }

    fn storage_file(&self, resp: &HttpResponse) -> Result<StorageFile, Error> {
        let raw = self.decode_value(Operation::Files, resp)?;
        let raw = unwrap_object(raw, "fileId", &["file", "storageFile", "data"]);
        if !raw.is_object() {
            return Err(Error::Decode {
                provider: Provider::VideoGen,
                operation: Operation::Files,
                http_status: resp.status,
                message: "expected a storage file object".into(),
            });
        }
        self.parse_value(Operation::Files, resp.status, raw)
    }

    /// `GET /v1/files/{fileId}`: the file's metadata, without signed URLs.
    #[tracing::instrument(skip(self), fields(provider = "videogen"))]
    pub async fn get_file(&self, file_id: &str) -> Result<StorageFile, Error> {
        let path = format!("/v1/files/{}", segment("fileId", file_id)?);
        let req = self.inner.endpoint.request(Method::GET, &path);
        let resp = self
            .call(RateLimitClass::GetFile, Operation::Files, req)
            .await?;
        self.storage_file(&resp)
    }

    /// `POST /v1/files/{fileId}/hydrate`: the file with fresh signed URLs.
    #[tracing::instrument(skip(self), fields(provider = "videogen"))]
    pub async fn hydrate(&self, file_id: &str) -> Result<StorageFile, Error> {
        Ok(self.hydrate_inner(file_id).await?.0)
    }

    /// [`hydrate`](Self::hydrate), with the skew of our clock the answer's `Date` shows.
    async fn hydrate_inner(
        &self,
        file_id: &str,
    ) -> Result<(StorageFile, Option<chrono::Duration>), Error> {
        let path = format!("/v1/files/{}/hydrate", segment("fileId", file_id)?);
        let req = self.inner.endpoint.request(Method::POST, &path);
        let resp = self
            .call(RateLimitClass::Hydrate, Operation::Files, req)
            .await?;
        let skew = self.inner.endpoint.clock_skew(&resp);
        let mut file = self.storage_file(&resp)?;
        if file.file_id.is_none() {
            file.file_id = Some(file_id.to_string());
        }
        Ok((file, skew))
    }

    /// `POST /v1/webhooks/endpoints`: registers an account-wide endpoint. The answer is the
    /// only one that carries the signing secret: keep it (e.g. in the journal).
    #[tracing::instrument(skip(self, events, description), fields(provider = "videogen"))]
    pub async fn create_webhook_endpoint(
        &self,
        url: &str,
        events: &[&str],
        description: Option<&str>,
    ) -> Result<CreatedEndpoint, Error> {
        let invalid = |field: &str, message: String| Error::InvalidInput {
            provider: Provider::VideoGen,
            field: field.into(),
            message,
        };
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(invalid(
                    "url",
                    format!("{url:?} is not an http(s) URL (VideoGen wants https)"),
                ));
            }
        }
        if events.is_empty() || events.iter().any(|e| e.trim().is_empty()) {
            return Err(invalid(
                "events",
                format!(
                    "name at least one event, e.g. {}",
                    TOOL_EXECUTION_EVENTS.join(", ")
                ),
            ));
        }
        let mut body = json!({"url": url, "events": events});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let bytes = serde_json::to_vec(&body).map_err(|e| invalid("body", e.to_string()))?;
        let req = self
            .inner
            .endpoint
            .request(Method::POST, "/v1/webhooks/endpoints")
            .json_body(bytes::Bytes::from(bytes));
        let resp = self
            .call(RateLimitClass::CreateEndpoint, Operation::Endpoints, req)
            .await?;
        let raw = self.decode_value(Operation::Endpoints, &resp)?;
        let raw = unwrap_object(raw, "endpointId", &["endpoint", "data"]);
        let wire: CreatedEndpointWire = self.parse_value(Operation::Endpoints, resp.status, raw)?;
        let secret = wire
            .signing_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::Decode {
                provider: Provider::VideoGen,
                operation: Operation::Endpoints,
                http_status: resp.status,
                message: format!(
                    "endpoint {} was created but the answer carried no signingSecret; delete it and create another",
                    wire.endpoint_id
                ),
            })?;
        Ok(CreatedEndpoint {
            endpoint_id: wire.endpoint_id,
            url: wire.url,
            events: wire.events,
            description: wire.description,
            signing_secret: Secret::new(secret),
            signing_secret_last4: wire.signing_secret_last4,
            created_at: wire.created_at,
        })
    }

    /// One page of `GET /v1/webhooks/endpoints` (a bare array is accepted too).
    #[tracing::instrument(skip(self), fields(provider = "videogen"))]
    pub async fn list_webhook_endpoints_page(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<EndpointPage, Error> {
        let mut params = Vec::new();
        if let Some(l) = limit {
            params.push(format!("limit={l}"));
        }
        if let Some(c) = cursor.filter(|c| !c.is_empty()) {
            params.push(format!("cursor={}", query_value(c)));
        }
        let mut path = "/v1/webhooks/endpoints".to_string();
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        let req = self.inner.endpoint.request(Method::GET, &path);
        let resp = self
            .call(RateLimitClass::ListEndpoints, Operation::Endpoints, req)
            .await?;
        let raw = self.decode_value(Operation::Endpoints, &resp)?;
        let (items, has_more, cursor) =
            unwrap_list(&raw, "endpoints").ok_or_else(|| Error::Decode {
                provider: Provider::VideoGen,
                operation: Operation::Endpoints,
                http_status: resp.status,
                message: "expected {endpoints: […], hasMore, nextCursor} or an array".into(),
            })?;
        let endpoints: Vec<WebhookEndpoint> =
            self.parse_value(Operation::Endpoints, resp.status, Value::Array(items))?;
        let next = next_cursor(has_more, cursor);
        Ok(EndpointPage {
            endpoints,
            has_more: next.is_some(),
            next_cursor: next,
        })
    }

    /// Every webhook endpoint of the account, following cursors.
    pub async fn list_webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, Error> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_ENDPOINT_PAGES {
            let page = self
                .list_webhook_endpoints_page(None, cursor.as_deref())
                .await?;
            all.extend(page.endpoints);
            match page.next_cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(all),
            }
        }
        Ok(all)
    }

    /// `DELETE /v1/webhooks/endpoints/{endpointId}` (any 2xx).
    #[tracing::instrument(skip(self), fields(provider = "videogen"))]
    pub async fn delete_webhook_endpoint(&self, endpoint_id: &str) -> Result<(), Error> {
        let path = format!(
            "/v1/webhooks/endpoints/{}",
            segment("endpointId", endpoint_id)?
        );
        let req = self.inner.endpoint.request(Method::DELETE, &path);
        self.call(RateLimitClass::DeleteEndpoint, Operation::Endpoints, req)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl ProviderApi for VideoGenClient {
    fn provider(&self) -> Provider {
        Provider::VideoGen
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            cancel: true,
            list: true,
            list_cursor: true,
            per_job_webhook: false,
            webhook_endpoints: true,
        }
    }

    /// Submits `request.tool` (a path name such as `generate-image`, or a `toolType`) with
    /// `request.body`, after checking the tool and the body's required fields.
    /// `request.webhook_url` and `request.key` are not sent: VideoGen has neither.
    #[tracing::instrument(skip(self, request), fields(provider = "videogen", tool = ?request.tool))]
    async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error> {
        self.submit_inner(request).await
    }

    fn validate(&self, request: &SubmitRequest) -> Result<(), Error> {
        Self::checked_tool(request).map(|_| ())
    }

    #[tracing::instrument(skip(self), fields(provider = "videogen", task_id = %id))]
    async fn status(&self, id: &str) -> Result<Snapshot, Error> {
        let (exec, raw, resp) = self.execution(id).await?;
        let mut snap = exec.to_snapshot(raw);
        self.inner.endpoint.localize(&resp, &mut snap);
        snap.retry_after = self.retry_hint(&resp);
        Ok(snap)
    }

    #[tracing::instrument(skip(self), fields(provider = "videogen", task_id = %id))]
    async fn cancel(&self, id: &str) -> Result<(), Error> {
        self.cancel_inner(id).await
    }

    /// One page, newest first. `query.status` (a raw status such as `succeeded`, or a unified
    /// one such as `queued`) filters the page on our side: VideoGen has no such parameter.
    #[tracing::instrument(skip(self), fields(provider = "videogen"))]
    async fn list(&self, query: &ListQuery) -> Result<ListPage, Error> {
        self.list_inner(query).await
    }

    /// Hydrates the output's file (`POST /v1/files/{fileId}/hydrate`): a re-read of the
    /// execution would return the completion-time URLs, which may have expired.
    #[tracing::instrument(skip(self, output), fields(provider = "videogen", task_id = %id))]
    async fn refresh_output(&self, id: &str, output: &Output) -> Result<Output, Error> {
        let file_id = output.file_id.as_deref().ok_or_else(|| Error::InvalidInput {
            provider: Provider::VideoGen,
            field: "output.file_id".into(),
            message: "VideoGen refreshes a URL by hydrating the output's file, and this output has no file id".into(),
        })?;
        let (file, skew) = self.hydrate_inner(file_id).await?;
        let mut out = file.to_output();
        if let Some(skew) = skew {
            mediajobs_transport::shift_time(&mut out.expires_at, skew);
        }
        if out.url.is_none() {
            let status = file
                .download_source
                .as_ref()
                .and_then(|s| s.status.clone())
                .unwrap_or_else(|| "absent".into());
            return Err(Error::Decode {
                provider: Provider::VideoGen,
                operation: Operation::Files,
                http_status: 200,
                message: format!(
                    "file {file_id}: hydrate answered without a download URL (downloadSource status {status})"
                ),
            });
        }
        if out.mime_type.is_none() {
            out.mime_type = output.mime_type.clone();
        }
        Ok(out)
    }
}
