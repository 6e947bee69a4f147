//! # mediajobs
//!
//! Run jobs on asynchronous media-generation APIs (VibePeak, VideoGen, Vidiking) and never lose
//! one. This facade re-exports the layered crates behind cargo features, so a user who needs one
//! provider compiles one adapter:
//!
//! | feature | brings |
//! |---|---|
//! | `vibepeak`, `videogen`, `vidiking` | that provider's adapter ([`vibepeak`], [`videogen`], [`vidiking`]) |
//! | `webhooks` | the webhook receiver ([`webhooks`]) |
//! | `journal` | the durable SQLite journal ([`journal`]) |
//! | `sim` | the built-in simulator of all three providers ([`sim`]) |
//!
//! The core model ([`core`]), the HTTP transport ([`transport`]) and the scheduler
//! ([`scheduler`]) are always there.
//!
//! ## One job
//!
//! `client.submit(..).await?.wait().await?`: the scheduler decides when to ask (Retry-After,
//! ETAs, learned durations, backoff, rate budgets), so the wait costs a few calls, not a loop.
//! With `VIDEOGEN_API_KEY` set, `Client::builder().from_env()?` configures the adapter; here
//! it is pointed at the built-in simulator instead:
//!
//! ```
//! # #[cfg(all(feature = "sim", feature = "videogen"))]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mediajobs::{Client, Provider, ScaledClock, Status, SubmitRequest};
//! use mediajobs::sim::{Sim, SimConfig};
//! use mediajobs::videogen::VideoGenClient;
//!
//! // The simulator, 600 times faster than real time, and a client clock that follows it.
//! let config = SimConfig { speed: 600.0, failure_rate: 0.0, ..SimConfig::default() };
//! let sim = Sim::start("127.0.0.1:0".parse()?, config).await?;
//! let clock = Arc::new(ScaledClock::new(sim.now(), 600.0));
//! let videogen = VideoGenClient::builder()
//!     .api_key(sim.api_key("videogen"))
//!     .base_url(&sim.base_url("videogen"))
//!     .clock(clock.clone())
//!     .build()?;
//! let client = Client::builder().provider(Arc::new(videogen)).clock(clock).build()?;
//!
//! let request = SubmitRequest::new(serde_json::json!({"prompt": "a lighthouse at dusk"}))
//!     .with_tool("generate-image");
//! let done = client.submit(Provider::VideoGen, request).await?.wait().await?;
//! assert_eq!(done.status.status, Status::Succeeded);
//! assert!(done.outputs[0].url.is_some());
//! # sim.shutdown().await;
//! # Ok(())
//! # }
//! # #[cfg(all(feature = "sim", feature = "videogen"))]
//! # fn main() {
//! #     tokio::runtime::Runtime::new().unwrap().block_on(example()).unwrap()
//! # }
//! # #[cfg(not(all(feature = "sim", feature = "videogen")))]
//! # fn main() {}
//! ```
//!
//! ## Fleets
//!
//! [`Client::scheduler`] gives the scheduler for many jobs (events, stats, cancellation); the
//! `journal` feature adds [`runner::Runner`], the durable batch runner behind `mediajobs run`,
//! and the `webhooks` feature the receiver ([`webhooks`]) and its wiring to the scheduler
//! ([`webhook_wiring`]).
#![deny(missing_docs)]

pub mod batch;
mod client;
mod clock_env;
pub mod download;
pub mod providers;
#[cfg(feature = "journal")]
pub mod runner;
#[cfg(feature = "webhooks")]
pub mod webhook_wiring;

pub use client::{Client, ClientBuilder, Job};
pub use clock_env::{SIM_CLOCK_ENV, clock_from_env};

/// The unified task model: providers, job ids, statuses, snapshots, errors, traits, clocks.
pub use mediajobs_core as core;
pub use mediajobs_core::{
    Clock, Error, JobId, ManualClock, Output, Provider, ProviderApi, ProviderStatus, ScaledClock,
    Secret, Snapshot, Status, SubmitRequest, SystemClock,
};
/// The scheduler: waits for many jobs with few calls.
pub use mediajobs_scheduler as scheduler;
/// The HTTP transport shared by the adapters.
pub use mediajobs_transport as transport;

/// The durable journal.
#[cfg(feature = "journal")]
pub use mediajobs_journal as journal;
/// The simulator of all three providers.
#[cfg(feature = "sim")]
pub use mediajobs_sim as sim;
/// The VibePeak adapter.
#[cfg(feature = "vibepeak")]
pub use mediajobs_vibepeak as vibepeak;
/// The VideoGen adapter.
#[cfg(feature = "videogen")]
pub use mediajobs_videogen as videogen;
/// The Vidiking adapter.
#[cfg(feature = "vidiking")]
pub use mediajobs_vidiking as vidiking;
/// The webhook receiver.
#[cfg(feature = "webhooks")]
pub use mediajobs_webhooks as webhooks;
