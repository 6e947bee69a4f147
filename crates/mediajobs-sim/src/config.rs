//! The simulator's configuration: speed, seed, faults, failure rate and the providers' limits.

use crate::faults::Faults;

/// Everything that shapes a simulator run. `Default` is the documented behaviour of the real
/// services (speed 1, seed 0, no faults, 5 % failures, VibePeak plan Pro, documented rate limits).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How many sim seconds pass per real second. `0.0` freezes the clock: only
    /// [`crate::RunningSim::advance`] (or `POST /_sim/advance`) moves it (the manual clock of tests).
    pub speed: f64,
    /// Seed of every random draw (ids, durations, estimate errors, failures, faults).
    pub seed: u64,
    /// Injected faults, parsed from the `--faults` syntax.
    pub faults: Faults,
    /// Probability (0–1) that a task fails on its own (VideoGen, Vidiking, VibePeak live keys).
    pub failure_rate: f64,
    /// Probability (0–1) that a VideoGen execution makes an internal retry (a new attempt).
    pub videogen_retry_rate: f64,
    /// The VibePeak account's plan; decides API access and the in-flight limit.
    pub vibepeak_plan: VibePeakPlan,
    /// Overrides the plan's in-flight limit (e.g. `Some(u32::MAX)` for benchmarks).
    pub vibepeak_in_flight_limit: Option<u32>,
    /// VideoGen's per-key, per-endpoint hourly budgets.
    pub videogen_limits: VideoGenLimits,
    /// Vidiking's per-key requests-per-minute budgets.
    pub vidiking_limits: VidikingLimits,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            speed: 1.0,
            seed: 0,
            faults: Faults::default(),
            failure_rate: 0.05,
            videogen_retry_rate: 0.05,
            vibepeak_plan: VibePeakPlan::Pro,
            vibepeak_in_flight_limit: None,
            videogen_limits: VideoGenLimits::default(),
            vidiking_limits: VidikingLimits::default(),
        }
    }
}

impl SimConfig {
    /// The same configuration with every limit raised out of reach: for benchmarks that measure the
    /// sim itself (or a client's throughput) rather than a client's manners.
    pub fn unlimited(mut self) -> Self {
        self.vibepeak_in_flight_limit = Some(u32::MAX);
        self.videogen_limits = VideoGenLimits::scaled(1_000_000.0);
        self.vidiking_limits = VidikingLimits {
            production_per_minute: u32::MAX,
            sandbox_per_minute: u32::MAX,
        };
        self
    }

    /// The VibePeak in-flight limit in force (`None`: the plan has no API access).
    pub fn vibepeak_limit(&self) -> Option<u32> {
        self.vibepeak_plan
            .in_flight_limit()
            .map(|plan_limit| self.vibepeak_in_flight_limit.unwrap_or(plan_limit))
    }
}

/// VibePeak's plans. Free and Starter have no API access (`403 PLAN_REQUIRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VibePeakPlan {
    /// No API access.
    Free,
    /// No API access.
    Starter,
    /// 1 task in flight.
    Plus,
    /// 3 tasks in flight (the sim's default plan).
    Pro,
    /// 10 tasks in flight.
    Max,
}

impl VibePeakPlan {
    /// The documented in-flight limit, `None` for plans without API access.
    pub fn in_flight_limit(self) -> Option<u32> {
        match self {
            VibePeakPlan::Free | VibePeakPlan::Starter => None,
            VibePeakPlan::Plus => Some(1),
            VibePeakPlan::Pro => Some(3),
            VibePeakPlan::Max => Some(10),
        }
    }

    /// The plan's name as VibePeak spells it in `details.plan`.
    pub fn as_str(self) -> &'static str {
        match self {
            VibePeakPlan::Free => "free",
            VibePeakPlan::Starter => "starter",
            VibePeakPlan::Plus => "plus",
            VibePeakPlan::Pro => "pro",
            VibePeakPlan::Max => "max",
        }
    }
}

/// VideoGen's documented hourly budgets, per API key and per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoGenLimits {
    /// `POST /v1/tools/*` (500/h).
    pub submit: u32,
    /// `GET /v1/tools/executions/{id}` (5,000/h).
    pub status: u32,
    /// `GET /v1/tools/executions` (assumed 5,000/h).
    pub list: u32,
    /// `POST /v1/tools/executions/{id}/cancel` (250/h).
    pub cancel: u32,
    /// `GET /v1/files/{id}` (assumed 5,000/h).
    pub files: u32,
    /// `POST /v1/files/{id}/hydrate` (2,500/h).
    pub hydrate: u32,
    /// `GET /v1/webhooks/endpoints` (500/h).
    pub endpoints_list: u32,
    /// `POST /v1/webhooks/endpoints` (10/h).
    pub endpoints_create: u32,
    /// `DELETE /v1/webhooks/endpoints/{id}` (10/h).
    pub endpoints_delete: u32,
}

impl Default for VideoGenLimits {
    fn default() -> Self {
        VideoGenLimits {
            submit: 500,
            status: 5_000,
            list: 5_000,
            cancel: 250,
            files: 5_000,
            hydrate: 2_500,
            endpoints_list: 500,
            endpoints_create: 10,
            endpoints_delete: 10,
        }
    }
}

impl VideoGenLimits {
    /// The documented limits multiplied by `factor` (saturating), e.g. for a load test.
    pub fn scaled(factor: f64) -> Self {
        let d = VideoGenLimits::default();
        let s = |v: u32| -> u32 { (f64::from(v) * factor).clamp(1.0, f64::from(u32::MAX)) as u32 };
        VideoGenLimits {
            submit: s(d.submit),
            status: s(d.status),
            list: s(d.list),
            cancel: s(d.cancel),
            files: s(d.files),
            hydrate: s(d.hydrate),
            endpoints_list: s(d.endpoints_list),
            endpoints_create: s(d.endpoints_create),
            endpoints_delete: s(d.endpoints_delete),
        }
    }
}

/// Vidiking's documented request budgets per key, per sim minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VidikingLimits {
    /// Production requests per minute (100).
    pub production_per_minute: u32,
    /// Sandbox (`x-sandbox: true`) requests per minute (10).
    pub sandbox_per_minute: u32,
}

impl Default for VidikingLimits {
    fn default() -> Self {
        VidikingLimits {
            production_per_minute: 100,
            sandbox_per_minute: 10,
        }
    }
}
