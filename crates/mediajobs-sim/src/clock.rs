//! The sim clock: starts at the wall-clock time of the start, runs `speed` times as fast as real
//! time, and can be pushed forward at once (tests, `POST /_sim/advance`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::Notify;

/// Sim time in unix milliseconds.
pub(crate) type SimMs = i64;

#[derive(Debug)]
pub(crate) struct SimClock {
    origin_ms: SimMs,
    origin: Instant,
    speed: f64,
    /// Milliseconds added by `advance`.
    offset_ms: AtomicI64,
    /// Woken whenever the clock jumps, so the delivery scheduler looks at its heap again.
    pub(crate) jumped: Notify,
}

impl SimClock {
    pub(crate) fn new(speed: f64) -> Self {
        SimClock {
            origin_ms: Utc::now().timestamp_millis(),
            origin: Instant::now(),
            speed,
            offset_ms: AtomicI64::new(0),
            jumped: Notify::new(),
        }
    }

    pub(crate) fn speed(&self) -> f64 {
        self.speed
    }

    pub(crate) fn now_ms(&self) -> SimMs {
        let run = if self.speed > 0.0 {
            (self.origin.elapsed().as_secs_f64() * self.speed * 1000.0) as i64
        } else {
            0
        };
        self.origin_ms + run + self.offset_ms.load(Ordering::SeqCst)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        to_datetime(self.now_ms())
    }

    pub(crate) fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.jumped.notify_one();
    }

    /// How long in real time until `sim_ms` sim milliseconds have passed (`None` when frozen).
    pub(crate) fn real_delay(&self, sim_ms: i64) -> Option<Duration> {
        if self.speed > 0.0 {
            let secs = (sim_ms.max(0) as f64 / 1000.0) / self.speed;
            Some(Duration::from_secs_f64(secs.min(86_400.0)))
        } else {
            None
        }
    }
}

pub(crate) fn to_datetime(ms: SimMs) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// RFC 3339 with milliseconds and `Z`, the sim's one timestamp format.
pub(crate) fn rfc3339(ms: SimMs) -> String {
    to_datetime(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `Date` header format (IMF-fixdate).
pub(crate) fn http_date(ms: SimMs) -> String {
    to_datetime(ms)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Whole unix seconds.
pub(crate) fn unix_secs(ms: SimMs) -> i64 {
    ms.div_euclid(1000)
}
