//! When to look next: the likely completion window of a job, and the learned durations that
//! shape it.
//!
//! A job is checked sparsely while it cannot plausibly be done, densely (every
//! `dense_interval`) inside the window where it most likely finishes, and with growing gaps
//! once it is overdue. The window comes from the best information there is, in this order: the
//! provider's `estimated_completion` (± `eta_error` of the expected duration), an estimate from
//! progress percent, the durations learned for the job's provider and tool, the configured
//! prior. A queue position pushes the window later.

use std::time::Duration;

use mediajobs_core::Status;

/// Buckets per doubling of the duration histogram: about 19 % wide each.
const PER_DOUBLING: f64 = 4.0;
/// The smallest bucket starts at half a second.
const FIRST: f64 = 0.5;
/// 64 buckets reach 0.5 s × 2^16 ≈ 9 hours.
const BUCKETS: usize = 64;
/// Older samples fade so the model follows a provider that speeds up or slows down.
const DECAY: f32 = 0.995;

/// A streaming log-scale histogram of job durations.
#[derive(Debug, Clone)]
pub(crate) struct DurationModel {
    weights: [f32; BUCKETS],
    total: f32,
    samples: u32,
}

impl DurationModel {
    pub(crate) fn new() -> Self {
        DurationModel {
            weights: [0.0; BUCKETS],
            total: 0.0,
            samples: 0,
        }
    }

    /// How many durations were recorded.
    pub(crate) fn samples(&self) -> u32 {
        self.samples
    }

    fn bucket(d: Duration) -> usize {
        let secs = d.as_secs_f64().max(FIRST);
        let i = ((secs / FIRST).log2() * PER_DOUBLING).floor();
        (i.max(0.0) as usize).min(BUCKETS - 1)
    }

    fn lower_edge(i: usize) -> f64 {
        FIRST * (i as f64 / PER_DOUBLING).exp2()
    }

    pub(crate) fn record(&mut self, d: Duration) {
        for w in &mut self.weights {
            *w *= DECAY;
        }
        self.total *= DECAY;
        self.weights[Self::bucket(d)] += 1.0;
        self.total += 1.0;
        self.samples = self.samples.saturating_add(1);
    }

    /// The `q`-quantile (0–1), interpolated geometrically inside its bucket.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        if self.samples == 0 || self.total <= 0.0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * f64::from(self.total);
        let mut seen = 0.0f64;
        for (i, &w) in self.weights.iter().enumerate() {
            let w = f64::from(w);
            if w > 0.0 && seen + w >= target {
                let frac = ((target - seen) / w).clamp(0.0, 1.0);
                let lo = Self::lower_edge(i);
                let hi = Self::lower_edge(i + 1);
                return Some(Duration::from_secs_f64(lo * (hi / lo).powf(frac)));
            }
            seen += w;
        }
        Some(Duration::from_secs_f64(Self::lower_edge(BUCKETS)))
    }
}

/// What the planner knows of one job, times in ms since the epoch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobTiming {
    /// When the job started (provider's `created_at`, else when we submitted or began watching).
    pub start: i64,
    pub status: Status,
    pub queue_position: Option<u32>,
    pub eta: Option<i64>,
    /// The latest progress percent and when it was seen.
    pub progress: Option<(f32, i64)>,
    /// The progress seen before it, for a rate.
    pub prev_progress: Option<(f32, i64)>,
}

/// The planner's settings, in ms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanParams {
    pub dense_ms: i64,
    pub queue_step_ms: i64,
    pub eta_error: f64,
    pub overdue_factor: f64,
}

/// Where the job most likely finishes: `[lo, hi]` in ms since the epoch.
pub(crate) fn likely_window(
    t: &JobTiming,
    now: i64,
    p: &PlanParams,
    usual: (Duration, Duration),
) -> (i64, i64) {
    let around = |eta: i64| {
        let span = (eta - t.start).max(0) as f64;
        let err = ((span * p.eta_error) as i64).max(p.dense_ms);
        (eta - err, eta + err)
    };
    if let Some(eta) = t.eta {
        return around(eta);
    }
    if t.status == Status::Running {
        if let Some(eta) = progress_eta(t) {
            return around(eta.max(now));
        }
    }
    usual_window(t, now, p, usual)
}

/// The window from the usual durations alone (learned, else priors), moved by the queue.
pub(crate) fn usual_window(
    t: &JobTiming,
    now: i64,
    p: &PlanParams,
    usual: (Duration, Duration),
) -> (i64, i64) {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
    let (mut lo, mut hi) = (
        t.start.saturating_add(ms(usual.0)),
        t.start.saturating_add(ms(usual.1)),
    );
    if t.status == Status::Queued {
        if let Some(q) = t.queue_position {
            // Each job ahead of ours must start (and some finish) first; from now, since the
            // position is current.
            let shift = i64::from(q).saturating_mul(p.queue_step_ms);
            lo = lo.max(now.saturating_add(shift).saturating_add(ms(usual.0)));
            hi = hi.max(lo.saturating_add(ms(usual.1.saturating_sub(usual.0))));
        }
    }
    (lo, hi)
}

/// Completion extrapolated from progress: the rate between the last two readings, or since
/// the start when there is one reading.
fn progress_eta(t: &JobTiming) -> Option<i64> {
    let (p2, t2) = t.progress?;
    if !(1.0..100.0).contains(&p2) {
        return None;
    }
    let (p1, t1) = match t.prev_progress {
        Some((p1, t1)) if p1 < p2 && t1 < t2 => (p1, t1),
        _ => (0.0, t.start),
    };
    let rate = f64::from(p2 - p1) / (t2 - t1).max(1) as f64;
    if rate <= 0.0 {
        return None;
    }
    Some(t2 + (f64::from(100.0 - p2) / rate) as i64)
}

/// The wait before the next check, from where `now` falls against the likely window.
pub(crate) fn expected_delay(window: (i64, i64), now: i64, p: &PlanParams) -> i64 {
    let (lo, hi) = window;
    if now < lo {
        lo - now
    } else if now <= hi {
        p.dense_ms
    } else {
        let overdue = (now - hi) as f64 * p.overdue_factor;
        (overdue as i64).max(p.dense_ms)
    }
}

/// The wait before the next check. Progress percent may only bring a check forward: a
/// progress curve that starts slowly (VideoGen's are uneven) extrapolates to a completion far
/// later than the real one, so the usual window bounds it.
pub(crate) fn planned_delay(
    t: &JobTiming,
    now: i64,
    p: &PlanParams,
    usual: (Duration, Duration),
) -> i64 {
    let delay = expected_delay(likely_window(t, now, p, usual), now, p);
    if t.eta.is_some() {
        return delay;
    }
    delay.min(expected_delay(usual_window(t, now, p, usual), now, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn params() -> PlanParams {
        PlanParams {
            dense_ms: 5 * S,
            queue_step_ms: 60 * S,
            eta_error: 0.1,
            overdue_factor: 0.25,
        }
    }

    fn timing(status: Status) -> JobTiming {
        JobTiming {
            start: 0,
            status,
            queue_position: None,
            eta: None,
            progress: None,
            prev_progress: None,
        }
    }

    fn usual() -> (Duration, Duration) {
        (Duration::from_secs(240), Duration::from_secs(600))
    }

    #[test]
    fn an_eta_sets_the_window_around_it() {
        let mut t = timing(Status::Queued);
        t.eta = Some(300 * S);
        let w = likely_window(&t, 0, &params(), usual());
        assert_eq!(w, (270 * S, 330 * S));
        assert_eq!(expected_delay(w, 0, &params()), 270 * S);
        assert_eq!(expected_delay(w, 280 * S, &params()), 5 * S);
        // Overdue by 100 s: the next look after a quarter of that.
        assert_eq!(expected_delay(w, 430 * S, &params()), 25 * S);
    }

    #[test]
    fn a_queue_position_pushes_the_first_look_later() {
        let mut t = timing(Status::Queued);
        let front = likely_window(&t, 0, &params(), usual());
        t.queue_position = Some(4);
        let back = likely_window(&t, 0, &params(), usual());
        assert_eq!(front.0, 240 * S);
        assert_eq!(back.0, 240 * S + 4 * 60 * S);
        assert_eq!(back.1 - back.0, front.1 - front.0);
    }

    #[test]
    fn progress_extrapolates_completion() {
        let mut t = timing(Status::Running);
        t.progress = Some((50.0, 100 * S));
        t.prev_progress = Some((25.0, 50 * S));
        let w = likely_window(&t, 100 * S, &params(), usual());
        // 25 % per 50 s: done at 200 s, ± 10 % of 200 s.
        assert_eq!(w, (180 * S, 220 * S));
    }

    #[test]
    fn slow_early_progress_never_pushes_a_check_past_the_usual_window() {
        let mut t = timing(Status::Running);
        // 2 % after 200 s: linear extrapolation says done at 10,000 s.
        t.progress = Some((2.0, 200 * S));
        let p = params();
        assert!(likely_window(&t, 200 * S, &p, usual()).0 > 600 * S);
        // The usual window (240–600 s) still decides: the next look at 240 s.
        assert_eq!(planned_delay(&t, 200 * S, &p, usual()), 40 * S);
        // Fast progress brings the check forward as before: 50 % at 100 s, done near 200 s.
        t.progress = Some((50.0, 100 * S));
        assert_eq!(planned_delay(&t, 100 * S, &p, usual()), 80 * S);
    }

    #[test]
    fn the_histogram_learns_quantiles() {
        let mut m = DurationModel::new();
        assert_eq!(m.quantile(0.5), None);
        for s in 1..=100u64 {
            m.record(Duration::from_secs(s));
        }
        assert_eq!(m.samples(), 100);
        let p50 = m.quantile(0.5).unwrap().as_secs_f64();
        let p95 = m.quantile(0.95).unwrap().as_secs_f64();
        // Bucket width is ~19 %, decay favours recent (larger) samples a little.
        assert!((40.0..70.0).contains(&p50), "p50 {p50}");
        assert!((85.0..120.0).contains(&p95), "p95 {p95}");
        assert!(m.quantile(0.05).unwrap() < m.quantile(0.5).unwrap());
    }
}
