//! An independent simulator of the VibePeak, VideoGen and Vidiking APIs, in sim time, with faults.
//!
//! One axum server on one port serves each provider under its own prefix (`/vibepeak`, `/videogen`,
//! `/vidiking`, each standing in for the provider's host root) plus an admin API under `/_sim`.
//! Everything the sim states is in *sim time*: a clock that starts at the wall-clock time of the
//! start and runs [`SimConfig::speed`] times as fast as real time (or, at speed `0.0`, only moves
//! when [`RunningSim::advance`] is called).
//!
//! ```no_run
//! # async fn demo() -> Result<(), mediajobs_sim::SimError> {
//! use mediajobs_sim::{Sim, SimConfig};
//! let sim = Sim::start("127.0.0.1:0".parse().map_err(|_| mediajobs_sim::SimError::InvalidConfig("addr".into()))?,
//!                      SimConfig { speed: 0.0, ..SimConfig::default() }).await?;
//! println!("{}", sim.readiness());
//! sim.advance(std::time::Duration::from_secs(600));
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
// Validation helpers return the finished HTTP answer as their error: it is built once per
// rejected request, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod admin;
mod clock;
mod config;
mod faults;
mod files;
mod server;
mod state;
mod util;
mod vibepeak;
mod videogen;
mod vidiking;
mod webhooks;

pub use config::{SimConfig, VibePeakPlan, VideoGenLimits, VidikingLimits};
pub use faults::{Faults, FaultsError};
pub use server::{RunningSim, Sim, SimKeys};
pub use webhooks::standard_webhooks_signature;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A configuration value is out of range (e.g. a negative speed).
    #[error("invalid simulator configuration: {0}")]
    InvalidConfig(String),
    /// The HTTP client used to deliver webhooks could not be built.
    #[error("cannot build the webhook HTTP client: {0}")]
    HttpClient(String),
}
