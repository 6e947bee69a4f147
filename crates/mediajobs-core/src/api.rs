//! The trait every provider adapter implements.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Error, Operation, Output, Provider, Snapshot};

/// A request to create a task, in the provider's documented JSON.
///
/// Adapters offer typed builders that produce one of these (and validate before sending); the
/// raw form is the escape hatch for fields the types do not know yet, and the shape of a batch
/// file line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The tool (VideoGen `generate-image`, …); `None` for providers with one endpoint.
    pub tool: Option<String>,
    /// The provider's documented request body.
    pub body: serde_json::Value,
    /// The caller's stable key. Vidiking carries it in `metadata` so an uncertain submit can be
    /// found again; others keep it only in the journal.
    pub key: Option<String>,
    /// Where the provider should send this job's completion webhook (VibePeak `webhook_url`,
    /// Vidiking `callback`); ignored by providers whose webhooks are account-wide.
    pub webhook_url: Option<String>,
}

impl SubmitRequest {
    /// A request with a body and nothing else.
    pub fn new(body: serde_json::Value) -> Self {
        SubmitRequest {
            tool: None,
            body,
            key: None,
            webhook_url: None,
        }
    }

    /// Sets the tool.
    pub fn with_tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    /// Sets the caller's stable key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the per-job webhook URL.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }
}

/// Which optional operations a provider has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// A remote cancel exists.
    pub cancel: bool,
    /// A list of recent tasks exists (for batched refresh and reconciliation).
    pub list: bool,
    /// The list is cursor-paginated.
    pub list_cursor: bool,
    /// Webhooks can be asked for per job.
    pub per_job_webhook: bool,
    /// Webhook endpoints are registered account-wide through the API.
    pub webhook_endpoints: bool,
}

/// A query for [`ProviderApi::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Page size; the provider's default when `None`.
    pub limit: Option<u32>,
    /// A cursor from a previous page.
    pub cursor: Option<String>,
    /// Only tasks in this raw provider status.
    pub status: Option<String>,
    /// Only tasks this key created (VideoGen `selfOnly`).
    pub self_only: bool,
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListPage {
    /// The tasks on this page.
    pub items: Vec<Snapshot>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

/// What a provider adapter does. Every method is one HTTP request (at most), so the scheduler
/// controls how many are made and when.
#[async_trait]
pub trait ProviderApi: Send + Sync + std::fmt::Debug {
    /// Which provider this is.
    fn provider(&self) -> Provider;

    /// Which optional operations it has.
    fn capabilities(&self) -> Capabilities;

    /// Creates a task. A lost answer is [`Error::UncertainSubmit`], never retried here.
    async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error>;

    /// Reads one task.
    async fn status(&self, id: &str) -> Result<Snapshot, Error>;

    /// Checks `request` as [`submit`](Self::submit) checks it before sending anything (the
    /// documented fields, types and limits), so that a batch can be refused whole before its
    /// first job is paid for. The default accepts everything.
    fn validate(&self, request: &SubmitRequest) -> Result<(), Error> {
        let _ = request;
        Ok(())
    }

    /// Cancels a task, where the provider can ([`Capabilities::cancel`]).
    async fn cancel(&self, id: &str) -> Result<(), Error> {
        let _ = id;
        Err(Error::Unsupported {
            provider: self.provider(),
            operation: Operation::Cancel,
        })
    }

    /// How much work `request` asks for, in the provider's own unit (Vidiking: seconds of
    /// timeline), when its duration grows with it: the scheduler then learns durations per
    /// unit of work as well as per tool. `None` (the default): the size says nothing known.
    fn work_units(&self, request: &SubmitRequest) -> Option<f64> {
        let _ = request;
        None
    }

    /// Lists recent tasks, where the provider can ([`Capabilities::list`]).
    async fn list(&self, query: &ListQuery) -> Result<ListPage, Error> {
        let _ = query;
        Err(Error::Unsupported {
            provider: self.provider(),
            operation: Operation::List,
        })
    }

    /// Returns `output` with a fresh URL, the provider's way (re-read the task, or hydrate the
    /// file). The default re-reads the task and takes the output at the same position.
    async fn refresh_output(&self, id: &str, output: &Output) -> Result<Output, Error> {
        let snapshot = self.status(id).await?;
        snapshot
            .outputs
            .iter()
            .find(|o| o.file_id.is_some() && o.file_id == output.file_id)
            .or_else(|| snapshot.outputs.first())
            .cloned()
            .ok_or_else(|| Error::Decode {
                provider: self.provider(),
                operation: Operation::Status,
                http_status: 200,
                message: format!("task {id} has no output to refresh"),
            })
    }
}
