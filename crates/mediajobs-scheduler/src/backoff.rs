//! Exponential backoff with full jitter.
//!
//! The exponential ceilings come from the `backoff` crate's policy; the jitter is ours, drawn
//! from an RNG the caller passes in, so a test with a fixed RNG knows every wait exactly.

use std::time::Duration;

use backoff::backoff::Backoff as _;
use rand::RngCore;

use crate::BackoffConfig;

/// The ceilings are computed once; past the last one they stay at `max`.
const MAX_STEPS: usize = 64;

/// Retry waits: the `n`-th (from 0) is uniform in `[0, ceiling(n)]`.
#[derive(Debug, Clone)]
pub struct Backoff {
    ceilings: Vec<Duration>,
}

impl Backoff {
    /// The waits `config` describes.
    pub fn new(config: &BackoffConfig) -> Self {
        // The crate's policy with no randomization and no elapsed-time limit is exactly the
        // sequence of ceilings (its clock is read but, with no limit, never matters). It adds
        // at most one nanosecond of its own randomness, which the rounding below removes.
        let mut policy = backoff::ExponentialBackoff {
            current_interval: config.initial,
            initial_interval: config.initial,
            randomization_factor: 0.0,
            multiplier: config.multiplier.max(1.0),
            max_interval: config.max.max(config.initial),
            max_elapsed_time: None,
            ..backoff::ExponentialBackoff::default()
        };
        let mut ceilings = Vec::new();
        while ceilings.len() < MAX_STEPS {
            let Some(next) = policy.next_backoff() else {
                break;
            };
            let next = Duration::from_millis(next.as_millis().min(u128::from(u64::MAX)) as u64);
            let at_max = next >= policy.max_interval;
            ceilings.push(next);
            if at_max {
                break;
            }
        }
        if ceilings.is_empty() {
            ceilings.push(config.initial);
        }
        Backoff { ceilings }
    }

    /// The largest wait of retry `attempt` (0 for the first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let i = (attempt as usize).min(self.ceilings.len() - 1);
        self.ceilings[i]
    }

    /// A wait for retry `attempt`: uniform in `[0, ceiling(attempt)]` ("full jitter"), drawn
    /// from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut dyn RngCore) -> Duration {
        // 53 random bits make a uniform f64 in [0, 1), as `rand`'s `Standard` does.
        let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        self.ceiling(attempt).mul_f64(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::mock::StepRng;

    fn config() -> BackoffConfig {
        BackoffConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            multiplier: 2.0,
        }
    }

    #[test]
    fn ceilings_grow_exponentially_up_to_the_max() {
        let b = Backoff::new(&config());
        let secs: Vec<u64> = (0..8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.ceiling(10_000), Duration::from_secs(30));
    }

    #[test]
    fn full_jitter_is_exact_with_a_fixed_rng() {
        let b = Backoff::new(&config());
        // An RNG stuck at 0 always waits 0: full jitter reaches down to zero.
        let mut zero = StepRng::new(0, 0);
        for n in 0..8 {
            assert_eq!(b.delay(n, &mut zero), Duration::ZERO);
        }
        // An RNG stuck at the top waits (1 - 2^-53) of the ceiling: the ceiling, to the
        // nanosecond.
        let mut top = StepRng::new(u64::MAX, 0);
        for n in 0..8 {
            let d = b.delay(n, &mut top);
            assert!(d <= b.ceiling(n));
            assert!(b.ceiling(n) - d <= Duration::from_nanos(1));
        }
        // Half way: exactly half the ceiling.
        let mut half = StepRng::new(1 << 63, 0);
        assert_eq!(b.delay(3, &mut half), Duration::from_secs(4));
    }

    #[test]
    fn seeded_delays_stay_within_bounds_and_repeat() {
        let b = Backoff::new(&config());
        let draw = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            (0..200)
                .map(|n| b.delay(n % 10, &mut rng))
                .collect::<Vec<_>>()
        };
        let first = draw(7);
        assert_eq!(first, draw(7), "a seeded RNG makes the same waits");
        for (n, d) in first.iter().enumerate() {
            assert!(*d <= b.ceiling((n % 10) as u32));
        }
        // Full jitter spreads: some waits are under a tenth of the ceiling, some above 90 %.
        assert!(first.iter().any(|d| *d < Duration::from_secs(3)));
        assert!(first.iter().any(|d| *d > Duration::from_secs(27)));
    }

    #[test]
    fn a_degenerate_config_still_waits_something_bounded() {
        let b = Backoff::new(&BackoffConfig {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(1),
            multiplier: 0.5,
        });
        assert_eq!(b.ceiling(0), Duration::from_secs(5));
        assert_eq!(b.ceiling(9), Duration::from_secs(5));
    }
}
