//! The one injected source of time.
//!
//! Scheduling, rate limits, deadlines, replay windows and URL expiry all read a [`Clock`];
//! nothing in mediajobs' logic calls `SystemTime::now()` or `Instant::now()`. Three clocks
//! exist: [`SystemClock`] (the real world), [`ScaledClock`] (the simulator's time running
//! `speed` times faster, see `MEDIAJOBS_SIM_CLOCK`) and [`ManualClock`] (tests move it by hand).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::Timestamp;

/// A source of the current time that can also wait for a later one.
#[async_trait]
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Returns once `now() >= deadline`.
    async fn sleep_until(&self, deadline: Timestamp);

    /// Returns once `d` has passed on this clock.
    async fn sleep(&self, d: Duration) {
        let deadline = add(self.now(), d);
        self.sleep_until(deadline).await
    }
}

/// `t + d`, saturating at the far future instead of overflowing.
pub(crate) fn add(t: Timestamp, d: Duration) -> Timestamp {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

fn until(from: Timestamp, to: Timestamp) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            let left = until(self.now(), deadline);
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }
}

/// A clock that starts at a given time and runs `speed` times as fast as real time: the
/// client's view of the simulator's clock.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    origin: Timestamp,
    started: tokio::time::Instant,
    speed: f64,
}

impl ScaledClock {
    /// Starts at `origin` now, running `speed` times real time (`speed` ≤ 0 or not finite
    /// counts as 1).
    pub fn new(origin: Timestamp, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        ScaledClock {
            origin,
            started: tokio::time::Instant::now(),
            speed,
        }
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

#[async_trait]
impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let real = self.started.elapsed();
        add(self.origin, real.mul_f64(self.speed))
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            let left = until(self.now(), deadline);
            if left.is_zero() {
                return;
            }
            // Round up so one sleep normally suffices.
            let real = left.div_f64(self.speed) + Duration::from_micros(1);
            tokio::time::sleep(real).await;
        }
    }
}

/// A clock that moves only when told to. Sleepers wake when [`ManualClock::advance`] or
/// [`ManualClock::set`] moves it past their deadline.
///
/// ```
/// # tokio_test_block(async {
/// use std::time::Duration;
/// use mediajobs_core::{Clock, ManualClock};
/// let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!((clock.now() - t0).num_seconds(), 90);
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
    tick: watch::Sender<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        let (tick, _) = watch::channel(start);
        ManualClock {
            now: Mutex::new(start),
            tick,
        }
    }

    /// Moves the clock forward by `d`, waking every sleeper whose deadline has come.
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = add(*now, d);
        self.tick.send_replace(*now);
    }

    /// Sets the clock to `t` (which may be earlier: time can be made to jump back in tests).
    pub fn set(&self, t: Timestamp) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = t;
        self.tick.send_replace(t);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        let mut rx = self.tick.subscribe();
        loop {
            if *rx.borrow_and_update() >= deadline {
                return;
            }
            if rx.changed().await.is_err() {
                // The clock is gone; nothing will ever advance it again.
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn t0() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_only_past_their_deadline() {
        let clock = Arc::new(ManualClock::new(t0()));
        let c = clock.clone();
        let sleeper = tokio::spawn(async move { c.sleep(Duration::from_secs(10)).await });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(9));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        sleeper.await.unwrap();
        assert_eq!(clock.now(), t0() + chrono::Duration::seconds(10));
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_runs_at_its_speed() {
        let clock = ScaledClock::new(t0(), 60.0);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!((clock.now() - t0()).num_seconds(), 60);
        let before = tokio::time::Instant::now();
        clock.sleep(Duration::from_secs(600)).await;
        let real = before.elapsed();
        assert!(real >= Duration::from_secs(10) && real < Duration::from_millis(10_100));
        assert_eq!(ScaledClock::new(t0(), -3.0).speed(), 1.0);
    }

    #[test]
    fn adding_a_huge_duration_saturates() {
        assert_eq!(
            add(t0(), Duration::from_secs(u64::MAX)),
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        );
    }
}
