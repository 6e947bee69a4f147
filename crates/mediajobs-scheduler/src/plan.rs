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

/// Jobs within a factor of √2 in size share a class: each class learns its own durations per
/// unit, so a fixed overhead (short jobs take longer per unit) does not shift the window of
/// long jobs, and a fleet submitted at once does not plan its long jobs from its short ones,
/// which finish first.
pub(crate) fn size_class(work: f64) -> i8 {
    (work.max(1e-9).log2() * 2.0).floor().clamp(-100.0, 100.0) as i8
}

/// Durations per unit of work, kept on the scale of the first job's size so the histogram's
/// buckets fit them (a unit may be a second of timeline or a character of text).
#[derive(Debug, Clone)]
pub(crate) struct ScaledModel {
    reference: f64,
    model: DurationModel,
}

impl ScaledModel {
    pub(crate) fn new(reference: f64) -> Self {
        ScaledModel {
            reference,
            model: DurationModel::new(),
        }
    }

    pub(crate) fn samples(&self) -> u32 {
        self.model.samples()
    }

    /// Records a job of `work` units that took `d`.
    pub(crate) fn record(&mut self, d: Duration, work: f64) {
        if work > 0.0 && self.reference > 0.0 {
            self.model.record(d.mul_f64(self.reference / work));
        }
    }

    /// The `q`-quantile of durations per unit of work (on the reference scale).
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        self.model.quantile(q)
    }

    /// A quantile scaled to a job of `work` units.
    pub(crate) fn for_work(&self, d: Duration, work: f64) -> Duration {
        d.mul_f64((work / self.reference).clamp(1e-6, 1e6))
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

/// How many list pages one sweep should read, from where the due jobs sit on the list.
///
/// `pages[i]` is the page (0 = the newest) where due job `i` is expected. Reading `P` pages
/// costs `P × page_cost` (a page's price in status reads) and spares one status read per due
/// job on them; the depth with the largest saving wins (the shallower on a tie), provided it
/// refreshes at least `min_batch` jobs and saves something. `0`: no list pays, read every due
/// job by status.
pub(crate) fn sweep_depth(pages: &[u32], max_pages: u32, page_cost: u32, min_batch: usize) -> u32 {
    let deepest = pages
        .iter()
        .copied()
        .max()
        .map_or(0, |p| p.saturating_add(1));
    let reach = deepest.min(max_pages) as usize;
    if reach == 0 {
        return 0;
    }
    let mut per_page = vec![0usize; reach];
    for &p in pages {
        if let Some(n) = per_page.get_mut(p as usize) {
            *n += 1;
        }
    }
    let cost = i64::from(page_cost.max(1));
    let (mut best, mut best_gain, mut reached) = (0u32, 0i64, 0usize);
    for (i, n) in per_page.into_iter().enumerate() {
        reached += n;
        let depth = i as i64 + 1;
        let gain = reached as i64 - depth * cost;
        if reached >= min_batch.max(1) && gain > best_gain {
            best = depth as u32;
            best_gain = gain;
        }
    }
    best
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
    #[test]
    fn a_sweep_reads_as_deep_as_it_pays() {
        // Two due jobs on the newest page: one call instead of two.
        assert_eq!(sweep_depth(&[0, 0], 10, 1, 2), 1);
        // One due job is not worth a list.
        assert_eq!(sweep_depth(&[0], 10, 1, 2), 0);
        // Many due jobs on every page: read them all.
        let spread: Vec<u32> = (0..170).map(|i| i / 10).collect();
        assert_eq!(sweep_depth(&spread, 500, 1, 2), 17);
        // ... but never past the configured reach.
        assert_eq!(sweep_depth(&spread, 5, 1, 2), 5);
        // Three jobs deep down the list: three status reads beat thirty pages.
        assert_eq!(sweep_depth(&[10, 20, 30], 500, 1, 2), 0);
        // Many on the first pages and a straggler far behind: stop before the straggler.
        let mut mixed = vec![0u32; 50];
        mixed.push(40);
        assert_eq!(sweep_depth(&mixed, 500, 1, 2), 1);
        // A larger min_batch is respected.
        assert_eq!(sweep_depth(&[0, 0], 10, 1, 3), 0);
        // Pages priced at four status reads (their transfer): 10 due per page pays, 3 not.
        assert_eq!(sweep_depth(&spread, 500, 4, 2), 17);
        let sparse: Vec<u32> = (0..51).map(|i| i / 3).collect();
        assert_eq!(sweep_depth(&sparse, 500, 4, 2), 0);
    }

    #[test]
    fn durations_per_unit_of_work_scale_to_each_job() {
        // Renders take 3-4 s per second of timeline, for timelines of 5-15 s.
        let mut per_unit = ScaledModel::new(5.0);
        let mut per_job = DurationModel::new();
        for i in 0..200u32 {
            let work = 5.0 + f64::from(i % 11);
            let d = Duration::from_secs_f64(work * (3.0 + f64::from(i % 7) / 6.0));
            per_unit.record(d, work);
            per_job.record(d);
        }
        let q = |m: &ScaledModel, q: f64, work: f64| m.for_work(m.quantile(q).unwrap(), work);
        let unit = (q(&per_unit, 0.05, 10.0), q(&per_unit, 0.95, 10.0));
        let job = (
            per_job.quantile(0.05).unwrap(),
            per_job.quantile(0.95).unwrap(),
        );
        // A 10 s timeline: 30-40 s, within the histogram's ~19 % buckets.
        assert!((24.0..=34.0).contains(&unit.0.as_secs_f64()), "{unit:?}");
        assert!((38.0..=50.0).contains(&unit.1.as_secs_f64()), "{unit:?}");
        // Per job, the same renders spread over a wider window.
        assert!(job.0 < unit.0 && job.1 > unit.1, "{job:?} vs {unit:?}");
    }
}
