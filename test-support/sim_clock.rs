//! A client clock that reads the in-process simulator's, as `MEDIAJOBS_SIM_CLOCK` gives the CLI
//! one: the adapters read provider times against their clock (skew correction), so a client on
//! another clock than the sim's would see every provider time shifted. Shared by the adapters'
//! simulator tests through `#[path]`.

use std::sync::Arc;
use std::time::Duration;

use mediajobs_core::{Clock, Timestamp};

/// Sim time, read on every `now()`.
pub struct SimClock(Box<dyn Fn() -> Timestamp + Send + Sync>);

impl SimClock {
    /// The clock of `sim`.
    pub fn of(sim: &mediajobs_sim::RunningSim) -> Arc<SimClock> {
        Arc::new(SimClock(Box::new(sim.clock_reader())))
    }
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimClock")
    }
}

#[async_trait::async_trait]
impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        (self.0)()
    }

    /// The adapters never sleep on their clock; this only completes the trait. A sim at speed 0
    /// moves when its test advances it, so there is nothing to subscribe to but the time itself.
    async fn sleep_until(&self, deadline: Timestamp) {
        while self.now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
