//! The VibePeak client: submit, status, health, and the `ProviderApi` implementation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Method;
use mediajobs_core::{
    Capabilities, Clock, Error, Operation, Output, Provider, ProviderApi, Secret, Snapshot,
    SubmitRequest,
};
use mediajobs_transport::headers::retry_after;
use mediajobs_transport::{Endpoint, EndpointBuilder, HttpRequest, HttpResponse, Transport};
use serde_json::Value;

use crate::errors::api_error;
use crate::request::{NarratedSlideshow, invalid, validate_body, validate_webhook_url};
use crate::task::{VibePeakTask, kind_of};
use crate::webhook::VibePeakWebhookVerifier;

/// The real API's host root.
pub const DEFAULT_BASE_URL: &str = "https://api.vibepeak.ai";
/// Where slideshows are created.
pub const SUBMIT_PATH: &str = "/v1/real-estate/narrated-slideshow";
/// Where the service's health is read (no key needed).
pub const HEALTH_PATH: &str = "/health";
/// The prefix of test-mode keys.
pub const TEST_KEY_PREFIX: &str = "vpk_test_";
/// The prefix of live-mode keys.
pub const LIVE_KEY_PREFIX: &str = "vpk_live_";
/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "VIBEPEAK_API_KEY";
/// The environment variable holding the base URL (e.g. the simulator's).
pub const ENV_BASE_URL: &str = "VIBEPEAK_BASE_URL";
/// The environment variable holding the webhook secret.
pub const ENV_WEBHOOK_SECRET: &str = "VIBEPEAK_WEBHOOK_SECRET";

/// A VibePeak API client.
///
/// Build one with [`VibePeakClient::builder`] or [`VibePeakClient::from_env`]. It implements
/// [`ProviderApi`] (no cancel, no list: VibePeak has neither) and offers the typed calls
/// [`submit_slideshow`](Self::submit_slideshow), [`status_typed`](Self::status_typed),
/// [`read_task`](Self::read_task) and [`health`](Self::health). `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct VibePeakClient {
    endpoint: Endpoint,
}

/// Builds a [`VibePeakClient`].
#[derive(Debug, Clone)]
pub struct VibePeakClientBuilder {
    endpoint: EndpointBuilder,
}

impl Default for VibePeakClientBuilder {
    fn default() -> Self {
        VibePeakClientBuilder {
            endpoint: EndpointBuilder::new(Provider::VibePeak),
        }
    }
}

impl VibePeakClientBuilder {
    /// The API key.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.endpoint = self.endpoint.api_key(key);
        self
    }

    /// The host root (default [`DEFAULT_BASE_URL`]); the simulator's `http://127.0.0.1:P/vibepeak`
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

    /// Fills the key and base URL from `VIBEPEAK_API_KEY` and `VIBEPEAK_BASE_URL` where set (values
    /// set on the builder win).
    pub fn from_env(self) -> Self {
        self.from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (for tests and
    /// embedders with their own configuration).
    pub fn from_lookup(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        self.endpoint = self.endpoint.from_lookup(lookup);
        self
    }

    /// The client. Fails with [`Error::Config`] when no key was given (naming
    /// `VIBEPEAK_API_KEY`) or the base URL is not an http(s) URL.
    pub fn build(self) -> Result<VibePeakClient, Error> {
        Ok(VibePeakClient {
            endpoint: self.endpoint.build(DEFAULT_BASE_URL)?,
        })
    }
}

/// What a submit returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// The `202` answer's body: `task_id`, `status` (`queued`), `queue_position`,
    /// `estimated_completion`, `created_at`, `livemode`.
    pub task: VibePeakTask,
    /// The `Location` header as sent (`/v1/tasks/{task_id}`, relative to the base URL).
    pub location: Option<String>,
    /// `Location` joined to the base URL.
    pub status_url: Option<String>,
    /// `Retry-After`: the recommended polling interval.
    pub retry_after: Option<Duration>,
    /// The same in the unified model (`raw` = the answer's body).
    pub snapshot: Snapshot,
}

/// What a status read returned.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    /// The task, every documented field typed.
    pub task: VibePeakTask,
    /// `Retry-After`, where sent (only while the task is not terminal \[assumed\]).
    pub retry_after: Option<Duration>,
    /// The same in the unified model (`raw` = the answer's body).
    pub snapshot: Snapshot,
}

/// What `GET /health` said.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The HTTP status (2xx).
    pub http_status: u16,
    /// The body: JSON where it was JSON, else its text as a JSON string.
    pub body: Value,
}

impl VibePeakClient {
    /// A builder.
    pub fn builder() -> VibePeakClientBuilder {
        VibePeakClientBuilder::default()
    }

    /// A client configured from `VIBEPEAK_API_KEY` and `VIBEPEAK_BASE_URL`.
    pub fn from_env() -> Result<VibePeakClient, Error> {
        Self::builder().from_env().build()
    }

    /// The webhook verifier configured from `VIBEPEAK_WEBHOOK_SECRET`.
    pub fn webhook_verifier_from_env() -> Result<VibePeakWebhookVerifier, Error> {
        VibePeakWebhookVerifier::from_env()
    }

    /// Whether the key is a test-mode key (`vpk_test_…`): tasks are free, return a watermarked
    /// sample video and may carry a `test_scenario`.
    pub fn is_test_mode(&self) -> bool {
        self.endpoint
            .api_key()
            .expose()
            .starts_with(TEST_KEY_PREFIX)
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.endpoint.base_url()
    }

    /// The endpoint (base URL, key, transport, clock).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The body `request` would be sent with: its `body`, with `webhook_url` set from
    /// [`SubmitRequest::webhook_url`] (which wins over one in the body), checked by
    /// [`validate_body`] and, for `test_scenario`, against the key's mode.
    pub fn prepare_body(&self, request: &SubmitRequest) -> Result<Value, Error> {
        if let Some(tool) = request.tool.as_deref() {
            if !matches!(
                tool,
                "narrated-slideshow" | "real-estate/narrated-slideshow"
            ) {
                return Err(invalid(
                    "tool",
                    format!("VibePeak has one endpoint (narrated-slideshow); got tool {tool:?}"),
                ));
            }
        }
        let mut body = request.body.clone();
        let Some(obj) = body.as_object_mut() else {
            return Err(invalid(
                "body",
                format!(
                    "the request body must be a JSON object, got {}",
                    kind_of(&request.body)
                ),
            ));
        };
        if let Some(url) = &request.webhook_url {
            validate_webhook_url(url)?;
            obj.insert("webhook_url".into(), Value::String(url.clone()));
        }
        if obj.contains_key("test_scenario") && !self.is_test_mode() {
            return Err(invalid(
                "test_scenario",
                format!("test_scenario is accepted only with a test key ({TEST_KEY_PREFIX}…)"),
            ));
        }
        validate_body(&body)?;
        Ok(body)
    }

    /// Submits a typed slideshow.
    pub async fn submit_slideshow(&self, show: &NarratedSlideshow) -> Result<Submitted, Error> {
        self.submit_request(&SubmitRequest::from(show.clone()))
            .await
    }

    /// Submits a request (typed or raw): `POST /v1/real-estate/narrated-slideshow`.
    ///
    /// Any 2xx is success. The task id comes from the body's `task_id`, else from `Location`;
    /// a 2xx that yields neither is [`Error::UncertainSubmit`] (the task exists but cannot be
    /// named, so it must not be resubmitted blindly).
    #[tracing::instrument(skip(self, request), fields(provider = "vibepeak", task_id = tracing::field::Empty))]
    pub async fn submit_request(&self, request: &SubmitRequest) -> Result<Submitted, Error> {
        let body = self.prepare_body(request)?;
        let resp = self
            .endpoint
            .send_json(Operation::Submit, Method::POST, SUBMIT_PATH, &body)
            .await?;
        if !resp.is_success() {
            return Err(api_error(&self.endpoint, Operation::Submit, &resp));
        }
        let submitted = self.read_submit_answer(&resp)?;
        tracing::Span::current().record("task_id", submitted.task.task_id.as_str());
        tracing::debug!(queue_position = ?submitted.task.queue_position, "submitted");
        Ok(submitted)
    }

    fn read_submit_answer(&self, resp: &HttpResponse) -> Result<Submitted, Error> {
        let location = resp.header("location").map(str::to_string);
        let wait = retry_after(&resp.headers, self.endpoint.answer_time(resp));
        let raw: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        let parsed = VibePeakTask::from_value(&raw);
        let mut task = parsed.unwrap_or_default();
        if task.task_id.is_empty() {
            if let Some(id) = location.as_deref().and_then(task_id_from_location) {
                task.task_id = id;
            }
        }
        if task.task_id.is_empty() {
            let what = if resp.body.is_empty() {
                "an empty body".to_string()
            } else if raw.is_null() {
                "a body that is not JSON".to_string()
            } else {
                "no task_id".to_string()
            };
            return Err(Error::UncertainSubmit {
                provider: Provider::VibePeak,
                message: format!(
                    "HTTP {} with {what} and no usable Location header: the task was created but \
                     its id is unknown",
                    resp.status
                ),
            });
        }
        if task.status.is_empty() {
            task.status = "queued".to_string();
        }
        let mut snapshot = task.to_snapshot(raw, wait);
        self.endpoint.localize(resp, &mut snapshot);
        Ok(Submitted {
            status_url: location.as_deref().map(|l| self.endpoint.url(l)),
            location,
            retry_after: wait,
            task,
            snapshot,
        })
    }

    /// Reads a task: `GET /v1/tasks/{task_id}`.
    #[tracing::instrument(skip(self), fields(provider = "vibepeak", task_id = %id))]
    pub async fn read_task(&self, id: &str) -> Result<TaskStatus, Error> {
        if id.trim().is_empty() {
            return Err(invalid("task_id", "a task id is required"));
        }
        let path = format!("/v1/tasks/{}", encode_segment(id));
        let resp = self.endpoint.get(Operation::Status, &path).await?;
        if !resp.is_success() {
            return Err(api_error(&self.endpoint, Operation::Status, &resp));
        }
        let raw: Value = self.endpoint.decode(Operation::Status, &resp)?;
        let decode_error = |message: String| Error::Decode {
            provider: Provider::VibePeak,
            operation: Operation::Status,
            http_status: resp.status,
            message,
        };
        let mut task = VibePeakTask::from_value(&raw).map_err(decode_error)?;
        if task.status.is_empty() {
            return Err(decode_error("the answer has no `status`".to_string()));
        }
        if task.task_id.is_empty() {
            task.task_id = id.to_string();
        }
        let wait = retry_after(&resp.headers, self.endpoint.answer_time(&resp));
        let mut snapshot = task.to_snapshot(raw, wait);
        self.endpoint.localize(&resp, &mut snapshot);
        tracing::debug!(status = %task.status, "status read");
        Ok(TaskStatus {
            task,
            retry_after: wait,
            snapshot,
        })
    }

    /// The task with every documented field.
    pub async fn status_typed(&self, id: &str) -> Result<VibePeakTask, Error> {
        Ok(self.read_task(id).await?.task)
    }

    /// `GET /health` (sent without the key).
    #[tracing::instrument(skip(self), fields(provider = "vibepeak"))]
    pub async fn health(&self) -> Result<Health, Error> {
        let mut req = HttpRequest::new(Method::GET, self.endpoint.url(HEALTH_PATH));
        req.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let resp = self.endpoint.send(Operation::Health, req).await?;
        if !resp.is_success() {
            return Err(api_error(&self.endpoint, Operation::Health, &resp));
        }
        let body = serde_json::from_slice(&resp.body).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&resp.body).trim().to_string())
        });
        Ok(Health {
            http_status: resp.status,
            body,
        })
    }
}

/// The last path segment of a `Location` like `/v1/tasks/task_abc`.
fn task_id_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?;
    let (_, id) = path.trim_end_matches('/').rsplit_once("/tasks/")?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an odd id cannot change
/// the path.
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `output` is the cover image (an image), as opposed to the video.
fn is_cover(output: &Output) -> bool {
    output
        .mime_type
        .as_deref()
        .is_some_and(|m| m.starts_with("image/"))
}

#[async_trait]
impl ProviderApi for VibePeakClient {
    fn provider(&self) -> Provider {
        Provider::VibePeak
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            cancel: false,
            list: false,
            list_cursor: false,
            per_job_webhook: true,
            webhook_endpoints: false,
        }
    }

    async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error> {
        Ok(self.submit_request(request).await?.snapshot)
    }

    fn validate(&self, request: &SubmitRequest) -> Result<(), Error> {
        self.prepare_body(request).map(|_| ())
    }

    async fn status(&self, id: &str) -> Result<Snapshot, Error> {
        Ok(self.read_task(id).await?.snapshot)
    }

    /// VibePeak refreshes URLs by re-reading the task \[doc\]. The output is matched by role:
    /// an image (`image/*`) is the cover, anything else the video.
    async fn refresh_output(&self, id: &str, output: &Output) -> Result<Output, Error> {
        let status = self.read_task(id).await?;
        // From the snapshot: its expiry is on our clock.
        let fresh = status
            .snapshot
            .outputs
            .iter()
            .find(|o| is_cover(o) == is_cover(output))
            .cloned();
        fresh.ok_or_else(|| Error::Decode {
            provider: Provider::VibePeak,
            operation: Operation::Status,
            http_status: 200,
            message: format!(
                "task {id} ({}) has no {} to refresh",
                status.task.status,
                if is_cover(output) {
                    "cover image"
                } else {
                    "video"
                }
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_path_safe() {
        assert_eq!(encode_segment("task_abc-1.2~"), "task_abc-1.2~");
        assert_eq!(encode_segment("a/b?c d"), "a%2Fb%3Fc%20d");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn location_gives_the_id() {
        assert_eq!(
            task_id_from_location("/v1/tasks/task_1").as_deref(),
            Some("task_1")
        );
        assert_eq!(
            task_id_from_location("https://x/vibepeak/v1/tasks/task_1/?a=b").as_deref(),
            Some("task_1")
        );
        assert_eq!(task_id_from_location("/v1/other/x"), None);
        assert_eq!(task_id_from_location("/v1/tasks/"), None);
    }
}
