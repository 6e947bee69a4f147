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
