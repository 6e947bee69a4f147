//! The Vidiking client: submit, status, list, the account webhook.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Method;
use mediajobs_core::{
    Capabilities, Clock, Error, ListPage, ListQuery, Operation, Output, Provider, ProviderApi,
    Secret, Snapshot, SubmitRequest,
};
use mediajobs_transport::headers::retry_after;
use mediajobs_transport::{Endpoint, EndpointBuilder, HttpResponse, Transport};
use serde_json::{Map, Value};

use crate::generated;
use crate::timeline::{RenderRequest, validate_url};
use crate::webhook::VidikingWebhookVerifier;
use crate::wire::{KEY_METADATA_FIELD, VidikingJob, WebhookSettings, list_items, unwrap_object};

/// The real host.
pub const DEFAULT_BASE_URL: &str = "https://api.vidiking.com";

/// The list's largest page \[assumed]: a larger `limit` is clamped to this before sending.
pub const MAX_LIST_LIMIT: u32 = 100;

/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "VIDIKING_API_KEY";
/// The environment variable overriding the base URL (e.g. the simulator's).
pub const ENV_BASE_URL: &str = "VIDIKING_BASE_URL";
/// The environment variable turning sandbox mode on (`true` or `1`).
pub const ENV_SANDBOX: &str = "VIDIKING_SANDBOX";

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        provider: Provider::Vidiking,
        field: field.to_string(),
        message: message.into(),
    }
}

fn decode_error(operation: Operation, resp: &HttpResponse, message: impl Into<String>) -> Error {
    Error::Decode {
        provider: Provider::Vidiking,
        operation,
        http_status: resp.status,
        message: message.into(),
    }
}

/// A Vidiking client: [`ProviderApi`] plus the typed job, the key lookup used to reconcile a
/// lost submit, and the account webhook.
///
/// ```
/// use mediajobs_core::{Provider, ProviderApi};
/// use mediajobs_vidiking::VidikingClient;
///
/// let client = VidikingClient::builder()
///     .api_key("vk_secret_value")
///     .base_url("http://127.0.0.1:8080/vidiking")
///     .sandbox(true)
///     .build()?;
/// assert_eq!(client.provider(), Provider::Vidiking);
/// assert!(client.is_sandbox());
/// assert!(!format!("{client:?}").contains("vk_secret_value"));
/// # Ok::<(), mediajobs_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VidikingClient {
    endpoint: Endpoint,
    sandbox: bool,
}

/// Builds a [`VidikingClient`]; see [`VidikingClient::builder`].
#[derive(Debug, Clone)]
pub struct VidikingClientBuilder {
    endpoint: EndpointBuilder,
    sandbox: Option<bool>,
    env_error: Option<String>,
}

impl Default for VidikingClientBuilder {
    fn default() -> Self {
        VidikingClientBuilder {
            endpoint: EndpointBuilder::new(Provider::Vidiking),
            sandbox: None,
            env_error: None,
        }
    }
}

impl VidikingClientBuilder {
    /// The API key.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.endpoint = self.endpoint.api_key(key);
        self
    }

    /// The host root (default [`DEFAULT_BASE_URL`]); the simulator's `http://127.0.0.1:P/vidiking`
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

    /// Fills the key and base URL from `VIDIKING_API_KEY` and `VIDIKING_BASE_URL` and `VIDIKING_SANDBOX`
    /// (`true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`; anything else is a configuration
    /// error at build) where set; values set on the builder win.
    pub fn from_env(self) -> Self {
        self.from_lookup(|name| std::env::var(name).ok())
    }

    /// Sandbox mode: `x-sandbox: true` on every request. Sandbox renders are free, watermarked,
    /// capped at 720p, deleted after 24 h and limited to 10 requests/min.
    pub fn sandbox(mut self, on: bool) -> Self {
        self.sandbox = Some(on);
        self
    }

    /// [`VidikingClientBuilder::from_env`] with another source of variables (tests, config
    /// files).
    pub fn from_lookup(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        if self.sandbox.is_none() {
            if let Some(v) = lookup(ENV_SANDBOX) {
                match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => self.sandbox = Some(true),
                    "false" | "0" | "no" | "off" | "" => self.sandbox = Some(false),
                    _ => {
                        self.env_error = Some(format!(
                            "vidiking: {ENV_SANDBOX}={v:?} is not a boolean: set it to true or 1 (sandbox) or false or 0 (production)"
                        ))
                    }
                }
            }
        }
        self.endpoint = self.endpoint.from_lookup(lookup);
        self
    }

    /// The client. Fails with [`Error::Config`] when the key is missing (naming
    /// `VIDIKING_API_KEY`), the base URL is not http(s), or the environment was malformed.
    pub fn build(self) -> Result<VidikingClient, Error> {
        if let Some(e) = self.env_error {
            return Err(Error::Config(e));
        }
        let mut endpoint = self.endpoint.build(DEFAULT_BASE_URL)?;
        let sandbox = self.sandbox.unwrap_or(false);
        if sandbox {
            endpoint = endpoint.with_header("x-sandbox", "true");
        }
        Ok(VidikingClient { endpoint, sandbox })
    }
}

impl VidikingClient {
    /// A builder.
    pub fn builder() -> VidikingClientBuilder {
        VidikingClientBuilder::default()
    }

    /// A client configured from `VIDIKING_API_KEY`, `VIDIKING_BASE_URL` and `VIDIKING_SANDBOX`.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env().build()
    }

    /// The webhook verifier configured from `VIDIKING_WEBHOOK_SECRET`.
    pub fn webhook_verifier_from_env() -> Result<VidikingWebhookVerifier, Error> {
        VidikingWebhookVerifier::from_env()
    }

    /// Whether requests carry `x-sandbox: true`.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox
    }

    /// The documented request budget of this mode: 10 requests/min in sandbox, 100 in
    /// production.
    pub fn requests_per_minute(&self) -> u32 {
        if self.sandbox { 10 } else { 100 }
    }

    /// The endpoint (base URL, key, transport, clock).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Validates and submits a typed request (without a stable key; use
    /// [`RenderRequest::into_submit_request`] and [`SubmitRequest::with_key`] for one).
    pub async fn submit_render(&self, request: &RenderRequest) -> Result<Snapshot, Error> {
        let body = request.to_body()?;
        self.submit(&SubmitRequest::new(body)).await
    }

    /// Reads one job with every documented field.
    #[tracing::instrument(skip(self), fields(provider = "vidiking", task_id = %id))]
    pub async fn status_typed(&self, id: &str) -> Result<VidikingJob, Error> {
        Ok(self.fetch(id).await?.0)
    }

    /// Lists recent jobs, newest first (`limit` clamped to 1–100; `status` a raw status such
    /// as `COMPLETE`).
    #[tracing::instrument(skip(self), fields(provider = "vidiking"))]
    pub async fn list_typed(
        &self,
        limit: Option<u32>,
        status: Option<&str>,
    ) -> Result<Vec<VidikingJob>, Error> {
        Ok(self
            .list_jobs(limit, status)
            .await?
            .0
            .into_iter()
            .map(|(job, _)| job)
            .collect())
    }

    /// Looks for the job submitted with the stable `key` among the newest 100 jobs (one list
    /// call): how a submit whose answer was lost is reconciled. `Ok(None)` proves absence only
    /// among those 100 (the list has no cursor). When several carry the key, the newest wins.
    #[tracing::instrument(skip(self), fields(provider = "vidiking"))]
    pub async fn find_by_key(&self, key: &str) -> Result<Option<Snapshot>, Error> {
        let (jobs, skew) = self.list_jobs(Some(MAX_LIST_LIMIT), None).await?;
        Ok(jobs
            .into_iter()
            .find(|(job, _)| job.client_key().as_deref() == Some(key))
            .map(|(job, raw)| {
                let mut snapshot = job.snapshot_with(raw, None);
                if let Some(skew) = skew {
                    mediajobs_transport::shift_snapshot(&mut snapshot, skew);
                }
                snapshot
            }))
    }

    /// Sets the account webhook: `PUT /v1/webhooks {url, events, secret}`. The secret is chosen
    /// by the caller (e.g. `whsec_…`) and signs every event, per-job callbacks included; keep it
    /// for [`VidikingWebhookVerifier`]. Answers the settings as echoed (secret omitted).
    #[tracing::instrument(skip(self, secret), fields(provider = "vidiking"))]
    pub async fn set_webhook(
        &self,
        url: &str,
        events: &[&str],
        secret: Secret,
    ) -> Result<WebhookSettings, Error> {
        validate_url(url, "url")?;
        if secret.is_empty() {
            return Err(invalid("secret", "must not be empty"));
        }
        let body = serde_json::json!({ "url": url, "events": events, "secret": secret.expose() });
        let resp = self
            .endpoint
            .send_json(Operation::Endpoints, Method::PUT, "/v1/webhooks", &body)
            .await?;
        if !resp.is_success() {
            return Err(self.endpoint.api_error(
                Operation::Endpoints,
                &resp,
                generated::ERROR_RULES,
            ));
        }
        let sent = WebhookSettings {
            url: url.to_string(),
            events: events.iter().map(|e| e.to_string()).collect(),
            extra: Map::new(),
        };
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(sent);
        }
        let v: Value = self.endpoint.decode(Operation::Endpoints, &resp)?;
        let mut got: WebhookSettings = serde_json::from_value(unwrap_object(v))
            .map_err(|e| decode_error(Operation::Endpoints, &resp, e.to_string()))?;
        got.extra.remove("secret");
        if got.url.is_empty() {
            got.url = sent.url;
        }
        if got.events.is_empty() {
            got.events = sent.events;
        }
        Ok(got)
    }

    /// A job as read, its raw answer, its `Retry-After`, and the skew of our clock the answer's
    /// `Date` shows ([`Endpoint::clock_skew`](mediajobs_transport::Endpoint::clock_skew)).
    async fn fetch(&self, id: &str) -> Result<Fetched, Error> {
        if id.trim().is_empty() {
            return Err(invalid("id", "must not be empty"));
        }
        let path = format!("/v1/render/{}", encode_segment(id));
        let resp = self.endpoint.get(Operation::Status, &path).await?;
        if !resp.is_success() {
            return Err(self
                .endpoint
                .api_error(Operation::Status, &resp, generated::ERROR_RULES));
        }
        let raw = unwrap_object(self.endpoint.decode::<Value>(Operation::Status, &resp)?);
        let mut job = read_job(&raw, Operation::Status, &resp)?;
        if job.status.is_empty() {
            return Err(decode_error(
                Operation::Status,
                &resp,
                "the answer has no `status`",
            ));
        }
        if job.id.is_empty() {
            job.id = id.to_string();
        }
        let wait = retry_after(&resp.headers, self.endpoint.answer_time(&resp));
        let skew = self.endpoint.clock_skew(&resp);
        Ok((job, raw, wait, skew))
    }

    async fn list_jobs(
        &self,
        limit: Option<u32>,
        status: Option<&str>,
    ) -> Result<(Vec<(VidikingJob, Value)>, Option<chrono::Duration>), Error> {
        // A larger limit is clamped to 100, as Vidiking does; none at all is a mistake.
        if limit == Some(0) {
            return Err(invalid(
                "limit",
                "must be at least 1 (at most 100 are listed)",
            ));
        }
        let path = list_path(limit, status);
        let resp = self.endpoint.get(Operation::List, &path).await?;
        if !resp.is_success() {
            return Err(self
                .endpoint
                .api_error(Operation::List, &resp, generated::ERROR_RULES));
        }
        let v: Value = self.endpoint.decode(Operation::List, &resp)?;
        let items = list_items(&v).ok_or_else(|| {
            decode_error(
                Operation::List,
                &resp,
                "expected `{\"data\": [job…]}` or an array of jobs",
            )
        })?;
        // One unreadable job fails the whole list: skipping it could make reconciliation
        // believe a job absent and submit it twice.
        let jobs = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let job = read_job(item, Operation::List, &resp)
                    .map_err(|e| decode_error(Operation::List, &resp, format!("job {i}: {e}")))?;
                if job.id.is_empty() || job.status.is_empty() {
                    return Err(decode_error(
                        Operation::List,
                        &resp,
                        format!("job {i} has no `id` or `status`"),
                    ));
                }
                Ok((job, item.clone()))
            })
            .collect::<Result<_, Error>>()?;
        Ok((jobs, self.endpoint.clock_skew(&resp)))
    }
}

/// What [`VidikingClient::fetch`] reads.
type Fetched = (
    VidikingJob,
    Value,
    Option<Duration>,
    Option<chrono::Duration>,
);

/// `/v1/render?limit=&status=`, the limit clamped to 1–100.
fn list_path(limit: Option<u32>, status: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(limit) = limit {
        query.append_pair("limit", &limit.clamp(1, MAX_LIST_LIMIT).to_string());
    }
    if let Some(status) = status.filter(|s| !s.is_empty()) {
        query.append_pair("status", status);
    }
    let query = query.finish();
    if query.is_empty() {
        "/v1/render".to_string()
    } else {
        format!("/v1/render?{query}")
    }
}

fn read_job(v: &Value, operation: Operation, resp: &HttpResponse) -> Result<VidikingJob, Error> {
    if !v.is_object() {
        return Err(decode_error(
            operation,
            resp,
            "expected a JSON object describing a job",
        ));
    }
    serde_json::from_value(v.clone()).map_err(|e| decode_error(operation, resp, e.to_string()))
}

/// The body to send for `request`: checks the synchronous rules (a JSON object with a
/// `timeline` object), puts the key in `metadata.mediajobs_key` (keeping the caller's other
/// metadata) and the webhook URL in `callback` (replacing one already in the body).
pub(crate) fn prepare_body(request: &SubmitRequest) -> Result<Value, Error> {
    let Value::Object(body) = &request.body else {
        return Err(invalid(
            "body",
            "must be a JSON object with a `timeline` object",
        ));
    };
    if !body.get("timeline").is_some_and(Value::is_object) {
        return Err(invalid("timeline", "is required and must be a JSON object"));
    }
    let mut body = body.clone();
    if let Some(key) = &request.key {
        let metadata = match body.remove("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(invalid(
                    "metadata",
                    "must be a JSON object (key-value pairs)",
                ));
            }
        };
        let mut metadata = metadata;
        metadata.insert(KEY_METADATA_FIELD.to_string(), Value::String(key.clone()));
        body.insert("metadata".to_string(), Value::Object(metadata));
    }
    if let Some(url) = &request.webhook_url {
        validate_url(url, "callback")?;
        body.insert("callback".to_string(), Value::String(url.clone()));
    }
    Ok(Value::Object(body))
}

/// Percent-encodes an id for use as one path segment (ids are opaque and never parsed).
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The end of the timeline's last clip, in seconds; `None` when no clip has a number for its
/// `start` and `length`.
fn timeline_seconds(body: &Value) -> Option<f64> {
    let tracks = body.get("timeline")?.get("tracks")?.as_array()?;
    tracks
        .iter()
        .filter_map(|t| t.get("clips")?.as_array())
        .flatten()
        .filter_map(|c| Some(c.get("start")?.as_f64()? + c.get("length")?.as_f64()?))
        .filter(|end| end.is_finite() && *end > 0.0)
        .reduce(f64::max)
}

#[async_trait]
impl ProviderApi for VidikingClient {
    fn provider(&self) -> Provider {
        Provider::Vidiking
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            cancel: false,
            list: true,
            list_cursor: false,
            per_job_webhook: true,
            webhook_endpoints: true,
        }
    }

    /// Seconds of timeline: render time grows with it (the docs' example renders 10.5 s of
    /// video in 43 s).
    fn work_units(&self, request: &SubmitRequest) -> Option<f64> {
        timeline_seconds(&request.body)
    }

    #[tracing::instrument(skip_all, fields(provider = "vidiking", task_id = tracing::field::Empty))]
    fn validate(&self, request: &SubmitRequest) -> Result<(), Error> {
        prepare_body(request).map(|_| ())
    }

    async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error> {
        let body = prepare_body(request)?;
        let resp = self
            .endpoint
            .send_json(Operation::Submit, Method::POST, "/v1/render", &body)
            .await?;
        if !resp.is_success() {
            return Err(self
                .endpoint
                .api_error(Operation::Submit, &resp, generated::ERROR_RULES));
        }
        // Past a 2xx the job exists: an answer we cannot read makes the submit uncertain.
        let raw = self
            .endpoint
            .decode::<Value>(Operation::Submit, &resp)
            .map(unwrap_object)
            .map_err(|e| self.endpoint.unreadable_submit_answer(&resp, e))?;
        let mut job = read_job(&raw, Operation::Submit, &resp)
            .map_err(|e| self.endpoint.unreadable_submit_answer(&resp, e))?;
        if job.id.is_empty() {
            return Err(self
                .endpoint
                .unreadable_submit_answer(&resp, "the answer has no job `id`"));
        }
        if job.status.is_empty() {
            // The documented answer always says QUEUED; a missing one means just that.
            job.status = "QUEUED".to_string();
        }
        tracing::Span::current().record("task_id", job.id.as_str());
        let wait = retry_after(&resp.headers, self.endpoint.answer_time(&resp));
        let mut snapshot = job.snapshot_with(raw, wait);
        self.endpoint.localize(&resp, &mut snapshot);
        if snapshot.client_key.is_none() {
            snapshot.client_key = request.key.clone();
        }
        Ok(snapshot)
    }

    #[tracing::instrument(skip(self), fields(provider = "vidiking", task_id = %id))]
    async fn status(&self, id: &str) -> Result<Snapshot, Error> {
        let (job, raw, wait, skew) = self.fetch(id).await?;
        let mut snapshot = job.snapshot_with(raw, wait);
        if let Some(skew) = skew {
            mediajobs_transport::shift_snapshot(&mut snapshot, skew);
        }
        Ok(snapshot)
    }

    #[tracing::instrument(skip(self), fields(provider = "vidiking"))]
    async fn list(&self, query: &ListQuery) -> Result<ListPage, Error> {
        if query.cursor.is_some() {
            return Err(invalid(
                "cursor",
                "Vidiking's list has no cursor (only the newest 100 jobs)",
            ));
        }
        let (jobs, skew) = self.list_jobs(query.limit, query.status.as_deref()).await?;
        let items = jobs
            .into_iter()
            .map(|(job, raw)| {
                let mut snapshot = job.snapshot_with(raw, None);
                if let Some(skew) = skew {
                    mediajobs_transport::shift_snapshot(&mut snapshot, skew);
                }
                snapshot
            })
            .collect();
        Ok(ListPage {
            items,
            next_cursor: None,
        })
    }

    /// Vidiking's way: re-read the job (a re-read returns the same URL \[assumed]; the file lives
    /// 7 days, 24 h in sandbox).
    #[tracing::instrument(skip(self, _output), fields(provider = "vidiking", task_id = %id))]
    async fn refresh_output(&self, id: &str, _output: &Output) -> Result<Output, Error> {
        let (job, _, _, skew) = self.fetch(id).await?;
        let mut output = job.output();
        if let (Some(o), Some(skew)) = (output.as_mut(), skew) {
            mediajobs_transport::shift_time(&mut o.expires_at, skew);
        }
        output.ok_or_else(|| Error::Decode {
            provider: Provider::Vidiking,
            operation: Operation::Status,
            http_status: 200,
            message: format!("job {id} is {} and has no output URL", job.status),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("job_stitch_456"), "job_stitch_456");
        assert_eq!(encode_segment("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn work_is_the_timeline_length() {
        let body = serde_json::json!({"timeline": {"tracks": [
            {"clips": [{"asset": {"type": "title", "text": "a"}, "start": 0, "length": 4},
                       {"asset": {"type": "title", "text": "b"}, "start": 4, "length": 6.5}]},
            {"clips": [{"asset": {"type": "audio", "src": "https://x/a.mp3"}, "start": 1, "length": 3}]}
        ]}});
        assert_eq!(timeline_seconds(&body), Some(10.5));
        // Nothing measurable: no hint rather than a wrong one.
        assert_eq!(
            timeline_seconds(&serde_json::json!({"timeline": {"tracks": []}})),
            None
        );
        assert_eq!(
            timeline_seconds(
                &serde_json::json!({"timeline": {"tracks": [{"clips": [{"start": "0"}]}]}})
            ),
            None
        );
    }
}
