//! Per-provider budgets: token buckets, the in-flight request cap and 429 pauses.
//!
//! All of it reads time as milliseconds from the injected clock, so a manual clock moves it
//! exactly. (The `governor` crate keeps its own notion of time; a bucket is a few lines.)

use std::sync::{Arc, Mutex};

use mediajobs_core::Operation;
use tokio::sync::Notify;

use crate::{ProviderBudget, RateLimit};

/// A token bucket on millisecond timestamps.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    capacity: f64,
    /// Tokens per millisecond.
    rate: f64,
    tokens: f64,
    last_ms: i64,
}

impl TokenBucket {
    pub(crate) fn new(limit: &RateLimit, now_ms: i64) -> Self {
        let per_ms = (limit.per.as_millis() as f64).max(1.0);
        let (burst, rate) = if limit.limit >= 2 {
            // Refill at (limit - burst) per window so that a full burst plus a window of
            // refill never exceeds the limit; the burst leaves room for at least one refill.
            let burst = limit.burst.clamp(1, limit.limit - 1);
            (f64::from(burst), f64::from(limit.limit - burst) / per_ms)
        } else {
            // One request per window: no burst to trade against.
            (1.0, 1.0 / per_ms)
        };
        TokenBucket {
            capacity: burst,
            rate,
            tokens: burst,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: i64) {
        // A clock set back in a test must not drain the bucket.
        let elapsed = (now_ms - self.last_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// `None` when a token is there now; else the first millisecond one will be.
    fn ready_at(&mut self, now_ms: i64) -> Option<i64> {
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            None
        } else {
            let wait = ((1.0 - self.tokens) / self.rate).ceil().max(1.0);
            Some(now_ms.saturating_add(wait as i64))
        }
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
    }

    fn give_back(&mut self, now_ms: i64) {
        self.refill(now_ms);
        self.tokens = (self.tokens + 1.0).min(self.capacity);
    }
}

/// Why a request cannot go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// Not before this millisecond (a bucket is empty or the provider paused us).
    Until(i64),
    /// Too many requests in flight: wait for one to end.
    Busy,
}

/// The budget state of one provider.
#[derive(Debug)]
pub(crate) struct Gate {
    overall: Option<TokenBucket>,
    submit: Option<TokenBucket>,
    status: Option<TokenBucket>,
    list: Option<TokenBucket>,
    cancel: Option<TokenBucket>,
    in_flight: usize,
    max_in_flight: usize,
    /// A 429 paused every request until then.
    paused_until: i64,
    /// A concurrency-limit 429 paused submits until then.
    submits_paused_until: i64,
}

impl Gate {
    pub(crate) fn new(budget: &ProviderBudget, now_ms: i64) -> Self {
        let bucket = |l: &Option<RateLimit>| l.as_ref().map(|l| TokenBucket::new(l, now_ms));
        Gate {
            overall: bucket(&budget.overall),
            submit: bucket(&budget.submit),
            status: bucket(&budget.status),
            list: bucket(&budget.list),
            cancel: bucket(&budget.cancel),
            in_flight: 0,
            max_in_flight: budget.max_in_flight_requests.max(1),
            paused_until: i64::MIN,
            submits_paused_until: i64::MIN,
        }
    }

    fn op_bucket(&mut self, op: Operation) -> Option<&mut TokenBucket> {
        match op {
            Operation::Submit => self.submit.as_mut(),
            Operation::Status => self.status.as_mut(),
            Operation::List => self.list.as_mut(),
            Operation::Cancel => self.cancel.as_mut(),
            _ => None,
        }
    }

    /// Takes a token and an in-flight slot for `op`, or says why not.
    pub(crate) fn try_take(&mut self, op: Operation, now_ms: i64) -> Result<(), Blocked> {
        let mut until = self.paused_until;
        if op == Operation::Submit {
            until = until.max(self.submits_paused_until);
        }
        if let Some(at) = self.overall.as_mut().and_then(|b| b.ready_at(now_ms)) {
            until = until.max(at);
        }
        if let Some(at) = self.op_bucket(op).and_then(|b| b.ready_at(now_ms)) {
            until = until.max(at);
        }
        if until > now_ms {
            return Err(Blocked::Until(until));
        }
        if self.in_flight >= self.max_in_flight {
            return Err(Blocked::Busy);
        }
        if let Some(b) = self.overall.as_mut() {
            b.take();
        }
        if let Some(b) = self.op_bucket(op) {
            b.take();
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Returns the tokens of a `try_take` whose request was not sent after all (its in-flight
    /// slot goes back with the [`Permit`]).
    pub(crate) fn refund(&mut self, op: Operation, now_ms: i64) {
        if let Some(b) = self.overall.as_mut() {
            b.give_back(now_ms);
        }
        if let Some(b) = self.op_bucket(op) {
            b.give_back(now_ms);
        }
    }

    /// Pauses every request until `until_ms` (a 429).
    pub(crate) fn pause(&mut self, until_ms: i64) {
        self.paused_until = self.paused_until.max(until_ms);
    }

    /// Pauses submits until `until_ms` (a concurrency-limit 429).
    pub(crate) fn pause_submits(&mut self, until_ms: i64) {
        self.submits_paused_until = self.submits_paused_until.max(until_ms);
    }

    /// When the provider-wide pause ends, if one is on.
    pub(crate) fn paused_until(&self, now_ms: i64) -> Option<i64> {
        (self.paused_until > now_ms).then_some(self.paused_until)
    }

    fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// The wake-ups a finished request owes: the driver (a slot is free for due jobs) and anyone
/// waiting in `submit` or `cancel`.
#[derive(Debug)]
pub(crate) struct Wakers {
    pub(crate) driver: Notify,
    pub(crate) budget: Notify,
}

impl Wakers {
    pub(crate) fn new() -> Self {
        Wakers {
            driver: Notify::new(),
            budget: Notify::new(),
        }
    }

    pub(crate) fn wake_all(&self) {
        self.driver.notify_one();
        self.budget.notify_waiters();
    }
}

/// One request's hold on its provider's in-flight slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Arc<Mutex<Gate>>,
    wakers: Arc<Wakers>,
}

impl Permit {
    pub(crate) fn new(gate: Arc<Mutex<Gate>>, wakers: Arc<Wakers>) -> Self {
        Permit { gate, wakers }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        lock(&self.gate).release();
        self.wakers.wake_all();
    }
}

/// Locks a mutex, taking over a poisoned one: every critical section here leaves its data
/// consistent between statements, so a panic elsewhere must not stop the scheduler.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_never_exceeds_its_limit_in_any_window() {
        let limit = RateLimit::per_minute(100);
        let mut b = TokenBucket::new(&limit, 0);
        // Take greedily, as fast as allowed, for ten minutes.
        let mut sent = Vec::new();
        let mut now = 0i64;
        while now < 600_000 {
            match b.ready_at(now) {
                None => {
                    b.take();
                    sent.push(now);
                }
                Some(at) => now = at,
            }
        }
        for (i, &t) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|&&u| u < t + 60_000).count();
            assert!(
                in_window <= 100,
                "{in_window} requests in the minute from {t} ms"
            );
        }
        // And it is not needlessly slow: close to the limit over ten minutes.
        assert!(sent.len() >= 900, "only {} sent", sent.len());
    }

    #[test]
    fn one_request_per_window_is_one_per_window() {
        let mut b = TokenBucket::new(&RateLimit::per_minute(1), 0);
        assert_eq!(b.ready_at(0), None);
        b.take();
        assert_eq!(b.ready_at(0), Some(60_000));
        // A burst as large as the limit still leaves room for refill within the window.
        let mut b = TokenBucket::new(&RateLimit::per_minute(10).with_burst(10), 0);
        for _ in 0..9 {
            assert_eq!(b.ready_at(0), None);
            b.take();
        }
        assert_eq!(b.ready_at(0), Some(60_000));
    }

    #[test]
    fn the_gate_caps_requests_in_flight_and_honours_pauses() {
        let budget = ProviderBudget {
            max_in_flight_requests: 2,
            ..ProviderBudget::unlimited()
        };
        let mut g = Gate::new(&budget, 0);
        assert_eq!(g.try_take(Operation::Status, 0), Ok(()));
        assert_eq!(g.try_take(Operation::Status, 0), Ok(()));
        assert_eq!(g.try_take(Operation::Status, 0), Err(Blocked::Busy));
        g.release();
        assert_eq!(g.try_take(Operation::List, 0), Ok(()));
        g.release();
        g.release();
        g.pause(5_000);
        assert_eq!(
            g.try_take(Operation::Status, 10),
            Err(Blocked::Until(5_000))
        );
        assert_eq!(g.try_take(Operation::Status, 5_000), Ok(()));
        g.pause_submits(9_000);
        assert_eq!(g.try_take(Operation::Status, 6_000), Ok(()));
        assert_eq!(
            g.try_take(Operation::Submit, 6_000),
            Err(Blocked::Until(9_000))
        );
    }
}
