//! A fake provider for the receiver's tests: HMAC-SHA256 with a known secret over
//! `"{timestamp}.{body}"`, the timestamp in a header, a replay window.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http::HeaderMap;
use mediajobs_core::{
    Clock, JobId, ManualClock, Output, Provider, ProviderStatus, Secret, Snapshot, Status,
    Timestamp, WebhookError, WebhookEvent, WebhookVerifier,
};
use mediajobs_webhooks::{ReceivedEvent, ReceiverConfig, WebhookReceiver, WebhookServer};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub const SECRET: &str = "whsec_test_K3y-that-must-never-leak";
pub const TS_HEADER: &str = "x-test-timestamp";
pub const SIG_HEADER: &str = "x-test-signature";
pub const WINDOW_SECS: i64 = 300;

pub fn t0() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

#[derive(Debug)]
pub struct FakeVerifier {
    pub provider: Provider,
    pub secret: Secret,
    pub window: Duration,
}

impl FakeVerifier {
    pub fn new(provider: Provider) -> Self {
        FakeVerifier {
            provider,
            secret: Secret::new(SECRET),
            window: Duration::from_secs(WINDOW_SECS as u64),
        }
    }
}

pub fn sign(secret: &str, ts: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl WebhookVerifier for FakeVerifier {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: Timestamp) -> Result<(), WebhookError> {
        let ts = headers
            .get(TS_HEADER)
            .ok_or(WebhookError::MissingHeader(TS_HEADER))?;
        let sig = headers
            .get(SIG_HEADER)
            .ok_or(WebhookError::MissingHeader(SIG_HEADER))?;
        let ts = ts.to_str().map_err(|_| WebhookError::BadSignature)?;
        let sig = hex::decode(sig.as_bytes()).map_err(|_| WebhookError::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .map_err(|_| WebhookError::NoSecret)?;
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&sig)
            .map_err(|_| WebhookError::BadSignature)?;
        let ts: i64 = ts.parse().map_err(|_| WebhookError::BadSignature)?;
        if (now.timestamp() - ts).abs() > self.window.as_secs() as i64 {
            return Err(WebhookError::Stale);
        }
        Ok(())
    }

    fn parse(&self, _headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let field = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| WebhookError::Malformed(format!("no {k}")))
        };
        let job_id = field("job_id")?;
        let raw = field("status")?;
        let status = Status::parse(&raw)
            .map(|s| ProviderStatus::known(s, raw.clone()))
            .unwrap_or_else(|| ProviderStatus::unrecognized(raw.clone()));
        let snapshot = status.is_terminal().then(|| {
            let mut s = Snapshot::new(JobId::new(self.provider, job_id.clone()), status.clone());
            if let Ok(url) = field("url") {
                s.outputs.push(Output {
                    url: Some(url),
                    file_id: None,
                    mime_type: Some("video/mp4".into()),
                    size: None,
                    expires_at: None,
                });
            }
            s.raw = v.clone();
            s
        });
        Ok(WebhookEvent {
            provider: self.provider,
            event_id: field("event_id")?,
            event: format!("test.{raw}"),
            job_id,
            status: Some(status),
            occurred_at: None,
            snapshot,
        })
    }
}

pub fn body(event_id: &str, job: &str, status: &str) -> Vec<u8> {
    serde_json::json!({
        "event_id": event_id,
        "job_id": job,
        "status": status,
        "url": format!("https://cdn.example/{job}.mp4"),
    })
    .to_string()
    .into_bytes()
}

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub receiver: WebhookReceiver,
    pub rx: mpsc::Receiver<ReceivedEvent>,
    pub server: WebhookServer,
    pub client: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Harness {
    /// A receiver with a fake verifier for every provider.
    pub async fn new(config: ReceiverConfig) -> Self {
        Self::with_providers(config, &Provider::ALL).await
    }

    pub async fn with_providers(config: ReceiverConfig, providers: &[Provider]) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        let mut b = WebhookReceiver::builder(clock.clone()).config(config);
        for p in providers {
            b = b.verifier(Arc::new(FakeVerifier::new(*p)));
        }
        let (receiver, rx) = b.build();
        let server = receiver.serve("127.0.0.1:0").await.unwrap();
        Harness {
            clock,
            receiver,
            rx,
            server,
            client: reqwest::Client::new(),
        }
    }

    pub fn now_ts(&self) -> i64 {
        self.clock.now().timestamp()
    }

    pub async fn post_raw(&self, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}{}", self.server.url(), path))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = req.body(body).send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        Answer { status, body }
    }

    /// Posts `body` to `provider`'s route, signed with `secret` at timestamp `ts`.
    pub async fn post_signed_with(
        &self,
        provider: Provider,
        secret: &str,
        ts: i64,
        body: Vec<u8>,
    ) -> Answer {
        let sig = sign(secret, ts, &body);
        self.post_raw(
            mediajobs_webhooks::route_path(provider),
            &[(TS_HEADER, ts.to_string()), (SIG_HEADER, sig)],
            body,
        )
        .await
    }

    /// Posts `body`, correctly signed now.
    pub async fn post(&self, provider: Provider, body: Vec<u8>) -> Answer {
        self.post_signed_with(provider, SECRET, self.now_ts(), body)
            .await
    }

    /// Waits briefly for the next item on the queue.
    pub async fn next(&mut self) -> ReceivedEvent {
        tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .expect("an event within 5 s")
            .expect("the queue is open")
    }

    pub fn assert_queue_empty(&mut self) {
        match self.rx.try_recv() {
            Err(mpsc::error::TryRecvError::Empty) => {}
            other => panic!("expected an empty queue, got {other:?}"),
        }
    }

    /// Sends raw bytes on a fresh connection and reads the answer until the server closes it.
    pub async fn raw_http(&self, parts: Vec<Vec<u8>>) -> String {
        let mut s = tokio::net::TcpStream::connect(self.server.local_addr())
            .await
            .unwrap();
        for p in parts {
            s.write_all(&p).await.unwrap();
        }
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .expect("the server answers and closes within 10 s")
            .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }
}
