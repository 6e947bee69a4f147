//! The state every handler shares: clock, configuration, the three providers' stores, counters
//! and the delivery heap.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::clock::{SimClock, SimMs, rfc3339};
use crate::config::SimConfig;
use crate::faults::{Kind, Op, Provider};
use crate::server::SimKeys;
use crate::util::mix64;
use crate::webhooks::Delivery;
use crate::{vibepeak, videogen, vidiking};

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the sim keeps serving).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
pub(crate) struct ProviderStats {
    pub requests: AtomicU64,
    pub by_route: Mutex<HashMap<String, u64>>,
    pub r2xx: AtomicU64,
    pub r4xx: AtomicU64,
    pub r429: AtomicU64,
    pub r5xx: AtomicU64,
    pub none: AtomicU64,
    pub sent: AtomicU64,
    pub delivered_2xx: AtomicU64,
    pub forged: AtomicU64,
    pub forged_2xx: AtomicU64,
    pub downloads: AtomicU64,
    pub download_refused: AtomicU64,
    pub faults: Mutex<BTreeMap<String, u64>>,
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

pub(crate) fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

impl ProviderStats {
    fn reset(&self) {
        for a in [
            &self.requests,
            &self.r2xx,
            &self.r4xx,
            &self.r429,
            &self.r5xx,
            &self.none,
            &self.sent,
            &self.delivered_2xx,
            &self.forged,
            &self.forged_2xx,
            &self.downloads,
            &self.download_refused,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        lock(&self.by_route).clear();
        lock(&self.faults).clear();
    }

    pub(crate) fn count_response(&self, status: u16) {
        match status {
            200..=299 => bump(&self.r2xx),
            429 => bump(&self.r429),
            400..=499 => bump(&self.r4xx),
            500..=599 => bump(&self.r5xx),
            // 1xx/3xx never come from the sim; count them nowhere rather than invent a bucket.
            _ => {}
        }
    }
}

/// What the delivery scheduler does when an entry falls due.
#[derive(Debug)]
pub(crate) enum DueKind {
    /// A VibePeak task (by index) reaches its terminal time: send its webhook if it has one.
    VibePeakTerminal(u32),
    /// A VideoGen execution (by index) becomes terminal (or was cancelled) at this time.
    VideoGenTerminal(u32),
    /// A Vidiking job (by index) starts processing (`false`) or ends (`true`).
    VidikingEvent(u32, bool),
    /// A delivery attempt (first, retry, or delayed).
    Send(Box<Delivery>),
}

#[derive(Debug)]
pub(crate) struct Due {
    pub at: SimMs,
    pub seq: u64,
    pub what: DueKind,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    // Reversed: BinaryHeap is a max-heap and the earliest entry must come out first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub clock: SimClock,
    pub config: SimConfig,
    /// `http://127.0.0.1:P`, the origin of every URL the sim hands out.
    pub origin: String,
    pub keys: SimKeys,
    /// Signs result-file URLs so that only URLs the sim issued are served.
    pub url_secret: [u8; 32],
    pub rng: Mutex<StdRng>,
    pub vibepeak: Mutex<vibepeak::State>,
    pub videogen: Mutex<videogen::State>,
    pub vidiking: Mutex<vidiking::State>,
    pub stats: [ProviderStats; 3],
    pub heap: Mutex<BinaryHeap<Due>>,
    heap_seq: AtomicU64,
    request_seq: AtomicU64,
    pub http: reqwest::Client,
}

impl Shared {
    pub(crate) fn new(
        config: SimConfig,
        origin: String,
        keys: SimKeys,
        http: reqwest::Client,
    ) -> Self {
        let seed = config.seed;
        let mut url_secret = [0u8; 32];
        for (i, chunk) in url_secret.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&mix64(seed ^ 0x5EC7_0000 ^ i as u64).to_le_bytes());
        }
        Shared {
            clock: SimClock::new(config.speed),
            origin,
            keys,
            url_secret,
            rng: Mutex::new(StdRng::seed_from_u64(mix64(seed ^ 0xFA17))),
            vibepeak: Mutex::new(vibepeak::State::default()),
            videogen: Mutex::new(videogen::State::default()),
            vidiking: Mutex::new(vidiking::State::default()),
            stats: Default::default(),
            heap: Mutex::new(BinaryHeap::new()),
            heap_seq: AtomicU64::new(0),
            request_seq: AtomicU64::new(0),
            http,
            config,
        }
    }

    pub(crate) fn now_ms(&self) -> SimMs {
        self.clock.now_ms()
    }

    pub(crate) fn stats(&self, p: Provider) -> &ProviderStats {
        &self.stats[p.index()]
    }

    /// Puts an entry on the delivery heap and wakes the scheduler.
    pub(crate) fn schedule(&self, at: SimMs, what: DueKind) {
        let seq = self.heap_seq.fetch_add(1, Ordering::Relaxed);
        lock(&self.heap).push(Due { at, seq, what });
        self.clock.jumped.notify_one();
    }

    pub(crate) fn roll_request_fault(&self, p: Provider, op: Op) -> Option<Kind> {
        if self.config.faults.is_empty() {
            return None;
        }
        let mut rng = lock(&self.rng);
        self.config.faults.roll_request(p, op, &mut *rng)
    }

    pub(crate) fn roll_webhook_faults(&self, p: Provider) -> Vec<Kind> {
        if !self.config.faults.has_webhook_rules(p) {
            return Vec::new();
        }
        let mut rng = lock(&self.rng);
        self.config.faults.roll_webhook(p, &mut *rng)
    }

    pub(crate) fn count_fault(&self, p: Provider, op: Op, kind: Kind) {
        let key = format!("{}:{}", op.name(), kind.name());
        *lock(&self.stats(p).faults).entry(key).or_insert(0) += 1;
    }

    /// A random number in `lo..hi` from the shared (fault) RNG.
    pub(crate) fn rand_range(&self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lock(&self.rng).gen_range(lo..hi)
    }

    pub(crate) fn request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        format!("req_{:016x}", mix64(n ^ mix64(self.config.seed ^ 0x4E0)))
    }

    /// Forgets all tasks, counters and pending deliveries (`POST /_sim/reset`). Sequence numbers
    /// keep counting so that no id is ever handed out twice.
    pub(crate) fn reset(&self) {
        lock(&self.heap).clear();
        lock(&self.vibepeak).reset();
        lock(&self.videogen).reset();
        lock(&self.vidiking).reset();
        for s in &self.stats {
            s.reset();
        }
    }

    /// `GET /_sim/stats`.
    pub(crate) fn stats_json(&self) -> Value {
        let now = self.now_ms();
        let mut providers = serde_json::Map::new();
        let mut webhooks = serde_json::Map::new();
        let mut faults = serde_json::Map::new();
        let mut downloads = serde_json::Map::new();
        let mut download_refused = serde_json::Map::new();
        for p in Provider::ALL {
            let s = self.stats(p);
            let by_route: serde_json::Map<String, Value> = lock(&s.by_route)
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            providers.insert(
                p.name().into(),
                json!({
                    "requests": get(&s.requests),
                    "by_route": by_route,
                    "responses": {
                        "2xx": get(&s.r2xx), "4xx": get(&s.r4xx), "429": get(&s.r429),
                        "5xx": get(&s.r5xx), "none": get(&s.none),
                    },
                }),
            );
            webhooks.insert(
                p.name().into(),
                json!({
                    "sent": get(&s.sent), "delivered_2xx": get(&s.delivered_2xx),
                    "forged": get(&s.forged), "forged_2xx": get(&s.forged_2xx),
                }),
            );
            let f: serde_json::Map<String, Value> = lock(&s.faults)
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            faults.insert(p.name().into(), Value::Object(f));
            downloads.insert(p.name().into(), json!(get(&s.downloads)));
            download_refused.insert(p.name().into(), json!(get(&s.download_refused)));
        }
        let pending_webhooks = lock(&self.heap)
            .iter()
            .filter(|d| matches!(d.what, DueKind::Send(_)))
            .count();
        let mut tasks = Vec::new();
        lock(&self.vibepeak).stats_tasks(now, &mut tasks);
        lock(&self.videogen).stats_tasks(now, &mut tasks);
        lock(&self.vidiking).stats_tasks(now, &mut tasks);
        json!({
            "now": rfc3339(now),
            "speed": self.clock.speed(),
            "providers": providers,
            "tasks": tasks,
            "webhooks": webhooks,
            "faults": faults,
            "downloads": downloads,
            "downloads_refused": download_refused,
            "pending_webhooks": pending_webhooks,
        })
    }
}

/// One line of `tasks` in the stats.
pub(crate) fn stats_task(
    provider: Provider,
    id: &str,
    sha: &[u8; 32],
    status: &str,
    created: SimMs,
    terminal: Option<SimMs>,
) -> Value {
    json!({
        "provider": provider.name(),
        "id": id,
        "body_sha256": hex::encode(sha),
        "status": status,
        "created_at": rfc3339(created),
        "terminal_at": terminal.map(rfc3339),
    })
}
