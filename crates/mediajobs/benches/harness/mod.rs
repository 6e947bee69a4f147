//! Shared by the fleet benchmark (`benches/fleet.rs`) and the webhook integration test
//! (`tests/webhooks_sim.rs`): the in-process simulator on a frozen clock, the three adapters on a
//! `ManualClock` that moves in lock-step with it, a webhook receiver wired to the scheduler, and
//! the job mix.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mediajobs::core::{
    Capabilities, Clock, Error, ListPage, ListQuery, ManualClock, Output, Provider, ProviderApi,
    Snapshot, SubmitRequest, Timestamp,
};
use mediajobs::scheduler::Scheduler;
use mediajobs::sim::{RunningSim, Sim, SimConfig};
use mediajobs::vibepeak::{VibePeakClient, VibePeakWebhookVerifier};
use mediajobs::videogen::VideoGenClient;
use mediajobs::vidiking::{VidikingClient, VidikingWebhookVerifier};
use mediajobs::webhook_wiring::{ForwardCounters, forward_to_scheduler};
use mediajobs::webhooks::{ReceiverConfig, WebhookReceiver, WebhookServer};
use serde_json::{Value, json};

/// The simulator (frozen clock), the client's manual clock standing at the same instant, and one
/// adapter per provider on that clock.
#[derive(Debug)]
pub struct World {
    pub sim: RunningSim,
    pub clock: Arc<ManualClock>,
    pub vibepeak: Arc<VibePeakClient>,
    pub videogen: Arc<VideoGenClient>,
    pub vidiking: Arc<VidikingClient>,
    /// Requests (submit, status, list, …) whose answer has not come back yet.
    pub in_flight: Arc<InFlightCount>,
    http: reqwest::Client,
}

impl World {
    /// Starts the sim with `config` at speed 0 (only [`World::advance`] moves time).
    pub async fn start(mut config: SimConfig) -> World {
        config.speed = 0.0;
        let sim = Sim::start("127.0.0.1:0".parse().unwrap(), config)
            .await
            .expect("the simulator starts");
        let clock = Arc::new(ManualClock::new(sim.now()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let transport = Arc::new(
            mediajobs::transport::ReqwestTransport::new(mediajobs::transport::TransportConfig {
                pool_max_idle_per_host: 128,
                ..Default::default()
            })
            .unwrap(),
        );
        let vibepeak = VibePeakClient::builder()
            .api_key(sim.api_key("vibepeak"))
            .base_url(&sim.base_url("vibepeak"))
            .clock(dyn_clock.clone())
            .transport(transport.clone())
            .build()
            .unwrap();
        let videogen = VideoGenClient::builder()
            .api_key(sim.api_key("videogen"))
            .base_url(&sim.base_url("videogen"))
            .clock(dyn_clock.clone())
            .transport(transport.clone())
            .build()
            .unwrap();
        let vidiking = VidikingClient::builder()
            .api_key(sim.api_key("vidiking"))
            .base_url(&sim.base_url("vidiking"))
            .clock(dyn_clock)
            .transport(transport)
            .build()
            .unwrap();
        World {
            sim,
            clock,
            vibepeak: Arc::new(vibepeak),
            videogen: Arc::new(videogen),
            vidiking: Arc::new(vidiking),
            in_flight: Arc::default(),
            http: reqwest::Client::new(),
        }
    }

    /// The adapter of `provider`, counting its requests in flight.
    pub fn api(&self, provider: Provider) -> Arc<dyn ProviderApi> {
        let inner: Arc<dyn ProviderApi> = match provider {
            Provider::VibePeak => self.vibepeak.clone(),
            Provider::VideoGen => self.videogen.clone(),
            Provider::Vidiking => self.vidiking.clone(),
        };
        Arc::new(Counted {
            inner,
            in_flight: self.in_flight.clone(),
        })
    }

    /// All three adapters, for the scheduler.
    pub fn apis(&self) -> Vec<Arc<dyn ProviderApi>> {
        Provider::ALL.into_iter().map(|p| self.api(p)).collect()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves both clocks by the same whole number of milliseconds.
    pub fn advance(&self, d: Duration) {
        let d = Duration::from_millis(d.as_millis().max(1) as u64);
        self.sim.advance(d);
        self.clock.advance(d);
    }

    /// Moves both clocks to `t` (at least 1 ms forward).
    pub fn advance_to(&self, t: Timestamp) {
        let d = (t - self.now()).to_std().unwrap_or(Duration::ZERO);
        self.advance(d);
    }

    /// `GET {admin}/stats`: the ground truth.
    pub async fn stats(&self) -> Value {
        let body = self
            .http
            .get(format!("{}/stats", self.sim.admin_url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }
}

/// Requests out, and a way to wait until there are none.
#[derive(Debug, Default)]
pub struct InFlightCount {
    n: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl InFlightCount {
    pub fn get(&self) -> usize {
        self.n.load(Ordering::SeqCst)
    }

    /// Returns once no request is out.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.get() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A provider adapter that counts the requests it has out, so a lock-step driver knows when
/// every answer is in.
#[derive(Debug)]
struct Counted {
    inner: Arc<dyn ProviderApi>,
    in_flight: Arc<InFlightCount>,
}

struct InFlight(Arc<InFlightCount>);

impl InFlight {
    fn new(n: &Arc<InFlightCount>) -> Self {
        n.n.fetch_add(1, Ordering::SeqCst);
        InFlight(n.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[async_trait]
impl ProviderApi for Counted {
    fn provider(&self) -> Provider {
        self.inner.provider()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn work_units(&self, request: &SubmitRequest) -> Option<f64> {
        self.inner.work_units(request)
    }

    async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error> {
        let _g = InFlight::new(&self.in_flight);
        self.inner.submit(request).await
    }

    async fn status(&self, id: &str) -> Result<Snapshot, Error> {
        let _g = InFlight::new(&self.in_flight);
        self.inner.status(id).await
    }

    async fn cancel(&self, id: &str) -> Result<(), Error> {
        let _g = InFlight::new(&self.in_flight);
        self.inner.cancel(id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<ListPage, Error> {
        let _g = InFlight::new(&self.in_flight);
        self.inner.list(query).await
    }

    async fn refresh_output(&self, id: &str, output: &Output) -> Result<Output, Error> {
        let _g = InFlight::new(&self.in_flight);
        self.inner.refresh_output(id, output).await
    }
}

/// The webhook receiver on 127.0.0.1:0 with all three verifiers, fed to a scheduler through the
/// facade's `forward_to_scheduler`; the VideoGen endpoint is registered with the sim.
#[derive(Debug)]
pub struct Webhooks {
    pub server: WebhookServer,
    pub receiver: WebhookReceiver,
    pub counters: Arc<ForwardCounters>,
    forwarder: tokio::task::JoinHandle<()>,
}

impl Webhooks {
    pub async fn start(world: &World, scheduler: &Scheduler) -> Webhooks {
        // The receiver must know the VideoGen secret before events come, and the endpoint
        // needs the receiver's URL: bind first, then register, then serve.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = format!(
            "http://{addr}{}",
            mediajobs::webhooks::route_path(Provider::VideoGen)
        );
        let endpoint = world
            .videogen
            .create_webhook_endpoint(
                &url,
                &[
                    "tool_execution.succeeded",
                    "tool_execution.failed",
                    "tool_execution.cancelled",
                ],
                Some("mediajobs bench"),
            )
            .await
            .expect("the VideoGen endpoint is registered");
        let clock: Arc<dyn Clock> = world.clock.clone();
        let (receiver, rx) = WebhookReceiver::builder(clock)
            .verifier(Arc::new(VibePeakWebhookVerifier::new(
                world.sim.webhook_secret("vibepeak").unwrap(),
            )))
            .verifier(Arc::new(endpoint.verifier().unwrap()))
            .verifier(Arc::new(VidikingWebhookVerifier::new(
                world.sim.webhook_secret("vidiking").unwrap(),
            )))
            .config(ReceiverConfig {
                dedupe_capacity: 1 << 18,
                queue_capacity: 1 << 16,
                ..ReceiverConfig::default()
            })
            .build();
        let server = receiver.serve(addr).await.expect("the receiver serves");
        let counters = Arc::new(ForwardCounters::default());
        let forwarder = forward_to_scheduler(rx, scheduler.clone(), counters.clone(), |_| {});
        Webhooks {
            server,
            receiver,
            counters,
            forwarder,
        }
    }

    /// Where `provider` should send this job's webhook (VibePeak `webhook_url`, Vidiking
    /// `callback`).
    pub fn url(&self, provider: Provider) -> String {
        self.server.route_url(provider)
    }

    /// Deliveries received so far.
    pub fn received(&self) -> u64 {
        self.receiver.metrics().received
    }

    /// Every delivery received has been answered and every event handed on has been applied
    /// to the scheduler.
    pub fn drained(&self) -> bool {
        let m = self.receiver.metrics();
        let classified = m.verified + m.rejected.total() == m.received;
        let settled = m.verified == m.accepted + m.duplicates + m.superseded + m.busy + m.abandoned;
        let f = self.counters.stats();
        let applied = f.ended_by_webhook + f.updates + f.hints + f.unknown_jobs;
        classified && settled && applied == m.accepted + m.hints
    }

    pub async fn stop(self) {
        let _ = self.server.shutdown().await;
        drop(self.receiver);
        self.forwarder.abort();
    }
}

/// Sum of `webhooks.*.sent` in a stats answer.
pub fn webhooks_sent(stats: &Value) -> u64 {
    stats["webhooks"]
        .as_object()
        .map(|m| m.values().map(|w| w["sent"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0)
}

const VIDEOGEN_TOOLS: [&str; 4] = [
    "generate-image",
    "text-to-speech",
    "generate-video-clip",
    "generate-sound-effect",
];

/// Where per-job webhooks go (VibePeak `webhook_url`, Vidiking `callback`).
#[derive(Debug, Clone)]
pub struct HookUrls {
    pub vibepeak: String,
    pub vidiking: String,
}

impl Webhooks {
    pub fn urls(&self) -> HookUrls {
        HookUrls {
            vibepeak: self.url(Provider::VibePeak),
            vidiking: self.url(Provider::Vidiking),
        }
    }
}

/// Job `i` of a fleet: providers in turn.
pub fn request(i: usize, hooks: Option<&HookUrls>) -> (Provider, SubmitRequest) {
    let provider = Provider::ALL[i % 3];
    (provider, request_for(provider, i / 3, hooks))
}

/// The `k`-th job of `provider`: VideoGen tools in turn, sizes varied by `k`.
pub fn request_for(provider: Provider, k: usize, hooks: Option<&HookUrls>) -> SubmitRequest {
    let req = match provider {
        Provider::VibePeak => {
            let n = 6 + k % 5;
            let images: Vec<String> = (0..n)
                .map(|j| format!("https://photos.example.com/listing/{k}/{j}.jpg"))
                .collect();
            let script: String = "Welcome home: a bright living room, a calm garden and a kitchen made for long dinners. "
                .chars()
                .cycle()
                .take(45 * n)
                .collect::<String>()
                .trim_end()
                .to_string();
            SubmitRequest::new(json!({
                "images": images,
                "voice": {"voice_id": "voice_rachel", "language": "en"},
                "script": script,
            }))
        }
        Provider::VideoGen => {
            let tool = VIDEOGEN_TOOLS[k % VIDEOGEN_TOOLS.len()];
            let body = match tool {
                "text-to-speech" => {
                    json!({"ttsText": format!("Listing number {k} is open today.")})
                }
                "generate-video-clip" => {
                    json!({"prompt": format!("a drone shot over house {k}"), "durationSeconds": 5})
                }
                _ => json!({"prompt": format!("a quiet house by the sea, take {k}")}),
            };
            SubmitRequest::new(body).with_tool(tool)
        }
        Provider::Vidiking => {
            let length = 5 + (k % 11) as u64;
            SubmitRequest::new(json!({
                "timeline": {"tracks": [{"clips": [{
                    "asset": {"type": "title", "text": format!("Open house {k}")},
                    "start": 0,
                    "length": length,
                }]}]},
                "output": {"format": "mp4", "resolution": "hd"},
            }))
            .with_key(format!("job-{k}"))
        }
    };
    match (hooks, provider) {
        (Some(h), Provider::VibePeak) => req.with_webhook_url(h.vibepeak.clone()),
        (Some(h), Provider::Vidiking) => req.with_webhook_url(h.vidiking.clone()),
        _ => req,
    }
}

/// Resident memory of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
