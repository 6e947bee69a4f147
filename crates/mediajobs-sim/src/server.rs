//! The server: binding, the connection loop (so that a fault can close a connection without an
//! answer), the per-provider front door (counters, faults) and the public handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{any, get, post};
use http::{HeaderValue, Method, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::clock::http_date;
use crate::config::SimConfig;
use crate::faults::{Kind, Op, Provider};
use crate::state::{Shared, bump, lock};
use crate::util::{CloseWithoutAnswer, mix64};
use crate::{SimError, admin, files, vibepeak, videogen, vidiking};

/// The credentials the sim accepts. The readiness line publishes the test-mode ones; the others
/// exist for isolation tests (another mode, a team-mate, another team or account).
#[derive(Debug, Clone)]
pub struct SimKeys {
    /// VibePeak test-mode key (`vpk_test_…`).
    pub vibepeak_test: String,
    /// VibePeak live-mode key (`vpk_live_…`), same account.
    pub vibepeak_live: String,
    /// Webhook secret of the VibePeak test key.
    pub vibepeak_test_secret: String,
    /// Webhook secret of the VibePeak live key.
    pub vibepeak_live_secret: String,
    /// VideoGen key of the sim's team.
    pub videogen: String,
    /// A second VideoGen key of the same team (for `selfOnly`).
    pub videogen_teammate: String,
    /// A VideoGen key of another team (its executions are 404 to the first team).
    pub videogen_other_team: String,
    /// Vidiking key.
    pub vidiking: String,
    /// A Vidiking key of another account.
    pub vidiking_other_account: String,
    /// The Vidiking account webhook secret (as if set in the dashboard).
    pub vidiking_secret: String,
    /// The other Vidiking account's webhook secret.
    pub vidiking_other_secret: String,
}

impl SimKeys {
    fn from_seed(seed: u64) -> Self {
        let h = |tag: u64| {
            format!(
                "{:016x}{:016x}",
                mix64(seed ^ tag),
                mix64(seed.rotate_left(17) ^ tag)
            )
        };
        SimKeys {
            vibepeak_test: format!("vpk_test_{}", h(1)),
            vibepeak_live: format!("vpk_live_{}", h(2)),
            vibepeak_test_secret: format!("whsec_{}", h(3)),
            vibepeak_live_secret: format!("whsec_{}", h(4)),
            videogen: format!("vg_key_{}", h(5)),
            videogen_teammate: format!("vg_key_{}", h(6)),
            videogen_other_team: format!("vg_key_{}", h(7)),
            vidiking: format!("vk_{}", h(8)),
            vidiking_other_account: format!("vk_{}", h(9)),
            vidiking_secret: format!("whsec_{}", h(10)),
            vidiking_other_secret: format!("whsec_{}", h(11)),
        }
    }
}

/// The simulator's entry point.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Binds `addr` (port 0 for an ephemeral one), starts serving all three providers and the
    /// admin API, and returns once the socket accepts connections.
    pub async fn start(addr: SocketAddr, config: SimConfig) -> Result<RunningSim, SimError> {
        if !config.speed.is_finite() || config.speed < 0.0 {
            return Err(SimError::InvalidConfig(format!(
                "speed must be a finite number ≥ 0, not {}",
                config.speed
            )));
        }
        if !(0.0..=1.0).contains(&config.failure_rate)
            || !(0.0..=1.0).contains(&config.videogen_retry_rate)
        {
            return Err(SimError::InvalidConfig(
                "failure_rate and videogen_retry_rate must be between 0 and 1".into(),
            ));
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if local.is_ipv6() {
            format!("[{}]", local.ip())
        } else {
            local.ip().to_string()
        };
        let origin = format!("http://{host}:{}", local.port());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SimError::HttpClient(e.to_string()))?;
        let keys = SimKeys::from_seed(config.seed);
        let shared = Arc::new(Shared::new(config, origin, keys, http));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let router = router(shared.clone());
        let server = tokio::spawn(accept_loop(
            listener,
            router,
            shared.clone(),
            shutdown_rx.clone(),
        ));
        let scheduler = tokio::spawn(crate::webhooks::run_scheduler(shared.clone(), shutdown_rx));
        tracing::info!(addr = %local, "simulator listening");
        Ok(RunningSim {
            shared,
            addr: local,
            shutdown_tx,
            server: Some(server),
            scheduler: Some(scheduler),
        })
    }
}

/// A running simulator. Dropping it stops it too (without waiting); [`RunningSim::shutdown`]
/// stops it gracefully.
#[derive(Debug)]
pub struct RunningSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    scheduler: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// The readiness object of the contract: base URLs, admin URL, speed, test keys and secrets.
    pub fn readiness(&self) -> serde_json::Value {
        serde_json::json!({
            "vibepeak": self.base_url("vibepeak"),
            "videogen": self.base_url("videogen"),
            "vidiking": self.base_url("vidiking"),
            "admin": self.admin_url(),
            "speed": self.shared.clock.speed(),
            "api_keys": {
                "vibepeak": self.api_key("vibepeak"),
                "videogen": self.api_key("videogen"),
                "vidiking": self.api_key("vidiking"),
            },
            "webhook_secrets": {
                "vibepeak": self.shared.keys.vibepeak_test_secret,
                "vidiking": self.shared.keys.vidiking_secret,
            },
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL standing in for a provider's host root, e.g. `http://127.0.0.1:P/videogen`.
    pub fn base_url(&self, provider: &str) -> String {
        format!("{}/{}", self.shared.origin, provider)
    }

    /// The admin URL, `http://127.0.0.1:P/_sim`.
    pub fn admin_url(&self) -> String {
        format!("{}/_sim", self.shared.origin)
    }

    /// The test-mode API key of a provider (empty for an unknown provider name).
    pub fn api_key(&self, provider: &str) -> String {
        let k = &self.shared.keys;
        match provider {
            "vibepeak" => k.vibepeak_test.clone(),
            "videogen" => k.videogen.clone(),
            "vidiking" => k.vidiking.clone(),
            _ => String::new(),
        }
    }

    /// VibePeak's live-mode key (tasks invisible to the test key and vice versa).
    pub fn live_api_key(&self, provider: &str) -> Option<String> {
        (provider == "vibepeak").then(|| self.shared.keys.vibepeak_live.clone())
    }

    /// The webhook secret a receiver verifies with: VibePeak's test key secret, Vidiking's
    /// account secret. VideoGen's secrets come from endpoint creation, so `None`.
    pub fn webhook_secret(&self, provider: &str) -> Option<String> {
        match provider {
            "vibepeak" => Some(self.shared.keys.vibepeak_test_secret.clone()),
            "vidiking" => Some(self.shared.keys.vidiking_secret.clone()),
            _ => None,
        }
    }

    /// Every credential the sim accepts.
    pub fn keys(&self) -> &SimKeys {
        &self.shared.keys
    }

    /// Sim time now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.clock.now()
    }

    /// A reader of sim time that outlives borrows of the sim: the clock of an in-process client
    /// that must run on sim time (what `MEDIAJOBS_SIM_CLOCK` gives the CLI).
    pub fn clock_reader(
        &self,
    ) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.clock.now()
    }

    /// Moves sim time forward at once; transitions due by then have happened for every later
    /// read, and webhooks due by then are handed to the delivery scheduler at once.
    pub fn advance(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    /// Stops accepting, lets open connections finish their current request (at most 5 s), and
    /// stops the delivery scheduler.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(scheduler) = self.scheduler.take() {
            let _ = scheduler.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/clock", get(admin::clock))
        .route("/_sim/stats", get(admin::stats))
        .route("/_sim/reset", post(admin::reset))
        .route("/_sim/advance", post(admin::advance))
        .route("/vibepeak/{*rest}", any(vibepeak_entry))
        .route("/videogen/{*rest}", any(videogen_entry))
        .route("/vidiking/{*rest}", any(vidiking_entry))
        .fallback(admin::not_found)
        .with_state(shared)
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        conns.spawn(serve_connection(stream, router.clone(), shared.clone(), shutdown.clone()));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
    }
}

/// Why hyper must close a connection without answering (the `drop` and `lost` faults).
#[derive(Debug, thiserror::Error)]
#[error("connection closed without an answer (injected fault)")]
struct ClosedByFault;

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        let shared = shared.clone();
        async move {
            let mut resp = match router.oneshot(req.map(Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if resp.extensions().get::<CloseWithoutAnswer>().is_some() {
                // An Err from the service makes hyper drop the connection without writing.
                return Err(ClosedByFault);
            }
            // Every answer is dated in sim time.
            if let Ok(v) = HeaderValue::from_str(&http_date(shared.now_ms())) {
                resp.headers_mut().insert(header::DATE, v);
            }
            Ok::<_, ClosedByFault>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    if *shutdown.borrow() {
        conn.as_mut().graceful_shutdown();
    }
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::trace!(error = %e, "connection ended");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn vibepeak_entry(State(s): State<Arc<Shared>>, req: Request) -> Response {
    provider_entry(s, Provider::VibePeak, req).await
}
async fn videogen_entry(State(s): State<Arc<Shared>>, req: Request) -> Response {
    provider_entry(s, Provider::VideoGen, req).await
}
async fn vidiking_entry(State(s): State<Arc<Shared>>, req: Request) -> Response {
    provider_entry(s, Provider::Vidiking, req).await
}

/// One request to a provider, as its handler sees it (path below the provider prefix).
#[derive(Debug)]
pub(crate) struct Req<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// A matched route: its template for `by_route` and the fault operation it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteMatch {
    pub template: &'static str,
    pub op: Option<Op>,
}

fn close_without_answer() -> Response {
    let mut r = Response::new(Body::empty());
    r.extensions_mut().insert(CloseWithoutAnswer);
    r
}

async fn provider_entry(shared: Arc<Shared>, provider: Provider, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let full_path = parts.uri.path();
    let path = full_path.get(provider.name().len() + 1..).unwrap_or("/");
    let stats = shared.stats(provider);

    if let Some(name) = path.strip_prefix("/_files/") {
        return download(&shared, provider, name, parts.uri.query()).await;
    }

    let route = match provider {
        Provider::VibePeak => vibepeak::classify(&parts.method, path),
        Provider::VideoGen => videogen::classify(&parts.method, path),
        Provider::Vidiking => vidiking::classify(&parts.method, path),
    };
    bump(&stats.requests);
    {
        let key = match route {
            Some(r) => format!("{} {}", parts.method, r.template),
            // Still "<METHOD> <route template>": one catch-all template, so that a client
            // probing unknown paths cannot grow the map.
            None => format!("{} {UNMATCHED_ROUTE}", parts.method),
        };
        *lock(&stats.by_route).entry(key).or_insert(0) += 1;
    }

    // A body too large to read is answered like any other invalid request, by the handler.
    let body = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();

    let r = Req {
        method: &parts.method,
        path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    let mut lost = false;
    if let Some(op) = route.and_then(|r| r.op) {
        match shared.roll_request_fault(provider, op) {
            Some(Kind::Drop) => {
                shared.count_fault(provider, op, Kind::Drop);
                bump(&stats.none);
                return close_without_answer();
            }
            Some(kind @ (Kind::Status5xx | Kind::Status429)) => {
                shared.count_fault(provider, op, kind);
                let resp = fault_response(&shared, provider, kind, &r);
                stats.count_response(resp.status().as_u16());
                return resp;
            }
            Some(Kind::Slow) => {
                // The delay comes before the answer is made, so that what it says (and its
                // `Date`) is as of when it is sent.
                shared.count_fault(provider, op, Kind::Slow);
                slow_delay(&shared).await;
            }
            Some(Kind::Lost) => lost = true,
            _ => {}
        }
    }

    let resp = match provider {
        Provider::VibePeak => vibepeak::handle(&shared, &r),
        Provider::VideoGen => videogen::handle(&shared, &r),
        Provider::Vidiking => vidiking::handle(&shared, &r),
    };
    if lost && resp.status().is_success() {
        // The task exists now; the client never hears of it.
        shared.count_fault(provider, Op::Submit, Kind::Lost);
        bump(&stats.none);
        return close_without_answer();
    }
    stats.count_response(resp.status().as_u16());
    resp
}

/// The `slow` fault: 2–5 real seconds (loopback does not run faster at the sim's speed).
async fn slow_delay(shared: &Shared) {
    let ms = shared.rand_range(2_000, 5_001);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The `by_route` template of a path that is no route of the provider.
pub(crate) const UNMATCHED_ROUTE: &str = "/{*unmatched}";

async fn download(
    shared: &Arc<Shared>,
    provider: Provider,
    name: &str,
    query: Option<&str>,
) -> Response {
    match shared.roll_request_fault(provider, Op::Download) {
        Some(Kind::Drop) => {
            shared.count_fault(provider, Op::Download, Kind::Drop);
            return close_without_answer();
        }
        Some(kind @ (Kind::Status5xx | Kind::Status429)) => {
            shared.count_fault(provider, Op::Download, kind);
            let mut r = crate::util::json_response(
                if kind == Kind::Status429 {
                    StatusCode::TOO_MANY_REQUESTS
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                },
                &serde_json::json!({"error": "injected fault"}),
            );
            crate::util::set_header(&mut r, "retry-after", 5);
            return r;
        }
        Some(Kind::Slow) => {
            shared.count_fault(provider, Op::Download, Kind::Slow);
            slow_delay(shared).await;
        }
        _ => {}
    }
    files::serve(shared, provider, name, query)
}

/// Retry-After of an injected 429, in sim seconds.
const FAULT_RETRY_AFTER_S: u64 = 5;

fn fault_response(shared: &Shared, provider: Provider, kind: Kind, req: &Req<'_>) -> Response {
    let status = if kind == Kind::Status429 {
        StatusCode::TOO_MANY_REQUESTS
    } else if shared.rand_range(0, 2) == 0 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut resp = match provider {
        Provider::VibePeak if status == StatusCode::TOO_MANY_REQUESTS => {
            return vibepeak::injected_429(shared);
        }
        Provider::VibePeak => {
            let code = match status {
                StatusCode::INTERNAL_SERVER_ERROR => "INTERNAL_ERROR",
                _ => "SERVICE_UNAVAILABLE",
            };
            vibepeak::error(shared, status, code, "Injected fault", None)
        }
        Provider::VideoGen => {
            let (msg, code) = match status {
                StatusCode::TOO_MANY_REQUESTS => ("Too many requests", Some("rate_limit_exceeded")),
                StatusCode::INTERNAL_SERVER_ERROR => ("Internal server error", None),
                _ => ("Service unavailable", None),
            };
            let mut resp = videogen::error(status, msg, code);
            videogen::add_rate_headers(shared, req, &mut resp);
            resp
        }
        Provider::Vidiking => {
            let code = match status {
                StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
                StatusCode::INTERNAL_SERVER_ERROR => "INTERNAL_ERROR",
                _ => "SERVICE_UNAVAILABLE",
            };
            vidiking::error(status, code, "Injected fault")
        }
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        crate::util::set_header(&mut resp, "retry-after", FAULT_RETRY_AFTER_S);
    }
    resp
}
