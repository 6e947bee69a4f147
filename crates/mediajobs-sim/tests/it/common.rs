use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use mediajobs_sim::{RunningSim, Sim, SimConfig};
use serde_json::Value;
use tokio::sync::mpsc;

pub fn manual() -> SimConfig {
    SimConfig {
        speed: 0.0,
        seed: 7,
        failure_rate: 0.0,
        videogen_retry_rate: 0.0,
        ..SimConfig::default()
    }
}

pub struct Env {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

pub async fn start(config: SimConfig) -> Env {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    Env { sim, http }
}

impl Env {
    pub fn url(&self, provider: &str, path: &str) -> String {
        format!("{}{}", self.sim.base_url(provider), path)
    }

    pub fn key(&self, provider: &str) -> String {
        self.sim.api_key(provider)
    }

    pub fn advance(&self, secs: u64) {
        self.sim.advance(Duration::from_secs(secs));
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, provider: &str, path: &str) -> Answer {
        let key = self.key(provider);
        self.send(self.http.get(self.url(provider, path)).bearer_auth(key))
            .await
    }

    pub async fn post(&self, provider: &str, path: &str, body: &Value) -> Answer {
        let key = self.key(provider);
        self.send(
            self.http
                .post(self.url(provider, path))
                .bearer_auth(key)
                .json(body),
        )
        .await
    }

    pub async fn stats(&self) -> Value {
        self.send(self.http.get(format!("{}/stats", self.sim.admin_url())))
            .await
            .body
    }
}

/// One delivery caught by the test receiver.
#[derive(Debug, Clone)]
pub struct Caught {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Caught {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on 127.0.0.1:0 that records every delivery and answers `status`.
pub struct Receiver {
    pub url: String,
    pub status: Arc<AtomicU16>,
    rx: mpsc::UnboundedReceiver<Caught>,
}

#[derive(Clone)]
struct RecvState {
    tx: mpsc::UnboundedSender<Caught>,
    status: Arc<AtomicU16>,
}

async fn catch(State(s): State<RecvState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let _ = s.tx.send(Caught { headers, body });
    StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let app = Router::new()
            .route("/hook", post(catch))
            .with_state(RecvState {
                tx,
                status: status.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            status,
            rx,
        }
    }

    /// The next delivery, waiting at most 5 real seconds.
    pub async fn next(&mut self) -> Caught {
        tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .expect("no webhook delivery within 5 s")
            .expect("receiver closed")
    }

    /// Whether another delivery arrives within `ms` real milliseconds.
    pub async fn maybe_next(&mut self, ms: u64) -> Option<Caught> {
        tokio::time::timeout(Duration::from_millis(ms), self.rx.recv())
            .await
            .ok()
            .flatten()
    }
}

pub fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Polls `f` until it returns Some, for at most 5 real seconds (for counters updated by
/// background deliveries).
pub async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..500 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not met within 5 s");
}

/// The stats line of one task.
pub fn stats_task<'a>(stats: &'a Value, id: &str) -> &'a Value {
    stats["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .expect("task in stats")
}
