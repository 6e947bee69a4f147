//! The [`Client`]: providers, one scheduler and one clock behind a builder.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use mediajobs_core::{
    Clock, Error, JobId, Provider, ProviderApi, Snapshot, SubmitRequest, SystemClock,
};
use mediajobs_scheduler::{Scheduler, SchedulerConfig, WaitError, WatchOptions};

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    providers: Vec<Arc<dyn ProviderApi>>,
    clock: Option<Arc<dyn Clock>>,
    config: SchedulerConfig,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("providers", &self.providers)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Adds a provider (an adapter, or anything implementing [`ProviderApi`]). A second one for
    /// the same provider replaces the first.
    pub fn provider(mut self, api: Arc<dyn ProviderApi>) -> Self {
        self.providers.retain(|p| p.provider() != api.provider());
        self.providers.push(api);
        self
    }

    /// Adds every provider compiled in (cargo features) whose `{PROVIDER}_API_KEY` is set,
    /// with `{PROVIDER}_BASE_URL` when set. Errors name the variable that is wrong.
    pub fn from_env(mut self) -> Result<Self, Error> {
        let clock = self.clock.clone();
        for api in crate::providers::from_env(clock)? {
            self = self.provider(api);
        }
        Ok(self)
    }

    /// The clock for scheduling, deadlines and expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Scheduler settings (budgets, deadlines, backoff).
    pub fn scheduler_config(mut self, config: SchedulerConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the client and starts its scheduler on the current tokio runtime.
    pub fn build(self) -> Result<Client, Error> {
        if self.providers.is_empty() {
            return Err(Error::Config(
                "no provider configured: set VIBEPEAK_API_KEY, VIDEOGEN_API_KEY or VIDIKING_API_KEY, or add one with ClientBuilder::provider".into(),
            ));
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let providers: BTreeMap<Provider, Arc<dyn ProviderApi>> = self
            .providers
            .iter()
            .map(|p| (p.provider(), p.clone()))
            .collect();
        let scheduler = Scheduler::start(self.config, clock.clone(), self.providers);
        Ok(Client {
            inner: Arc::new(Inner {
                providers,
                scheduler,
                clock,
            }),
        })
    }
}

struct Inner {
    providers: BTreeMap<Provider, Arc<dyn ProviderApi>>,
    scheduler: Scheduler,
    clock: Arc<dyn Clock>,
}

/// Submits jobs and waits for them, economically, on every configured provider.
///
/// Cheap to clone; clones share the scheduler.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "providers",
                &self.inner.providers.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The adapter of `provider`, or a configuration error naming the variable to set.
    pub fn api(&self, provider: Provider) -> Result<&Arc<dyn ProviderApi>, Error> {
        self.inner.providers.get(&provider).ok_or_else(|| {
            Error::Config(format!(
                "{provider} is not configured: set {}_API_KEY",
                provider.env_prefix()
            ))
        })
    }

    /// The providers configured.
    pub fn providers(&self) -> impl Iterator<Item = Provider> + '_ {
        self.inner.providers.keys().copied()
    }

    /// The scheduler, for fleets: events, stats, cancellation, webhook observations.
    pub fn scheduler(&self) -> &Scheduler {
        &self.inner.scheduler
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Submits a job (within the provider's budgets) and starts watching it.
    pub async fn submit(&self, provider: Provider, request: SubmitRequest) -> Result<Job, Error> {
        self.api(provider)?;
        let options = match &request.tool {
            Some(tool) => WatchOptions::default().with_tool(tool.clone()),
            None => WatchOptions::default(),
        };
        let snapshot = self
            .inner
            .scheduler
            .submit_with(provider, &request, options)
            .await?;
        Ok(Job {
            client: self.clone(),
            id: snapshot.job.clone(),
            submitted: snapshot,
        })
    }

    /// A job submitted earlier (an id kept from another run): starts watching it.
    pub fn job(&self, id: JobId, options: WatchOptions) -> Result<Job, Error> {
        self.api(id.provider)?;
        self.inner.scheduler.watch(id.clone(), None, options)?;
        let submitted = Snapshot::new(
            id.clone(),
            mediajobs_core::ProviderStatus::unrecognized("unknown"),
        );
        Ok(Job {
            client: self.clone(),
            id,
            submitted,
        })
    }
}

/// A watched job.
#[derive(Debug, Clone)]
pub struct Job {
    client: Client,
    id: JobId,
    submitted: Snapshot,
}

impl Job {
    /// The job's id.
    pub fn id(&self) -> &JobId {
        &self.id
    }

    /// What the provider answered to the submit (or a placeholder for a resumed job).
    pub fn submitted(&self) -> &Snapshot {
        &self.submitted
    }

    /// Waits until the job is terminal (or its deadline passes) and returns the last snapshot.
    pub async fn wait(&self) -> Result<Snapshot, WaitError> {
        self.client.inner.scheduler.wait(&self.id).await
    }

    /// Cancels it (remotely where the provider can).
    pub async fn cancel(&self) -> Result<mediajobs_scheduler::CancelOutcome, Error> {
        self.client.inner.scheduler.cancel(&self.id).await
    }
}
