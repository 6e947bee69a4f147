//! The unified task model of mediajobs.
//!
//! Every provider works the same way: submit a request, get an id, poll (or receive a webhook)
//! until the task reaches a terminal [`Status`], then download its [`Output`]s before they
//! expire. This crate names those things once for all providers, so that the scheduler, the
//! journal and the webhook receiver never see a provider's wire format:
//!
//! - [`Provider`], [`JobId`], [`Status`] / [`ProviderStatus`], [`Snapshot`], [`Output`];
//! - [`Error`]: what failed, whether retrying can help ([`Error::is_transient`]) and when
//!   ([`Error::retry_after`]);
//! - [`ProviderApi`]: what an adapter implements; [`WebhookVerifier`]: how a provider's
//!   webhook signature is checked;
//! - [`Clock`]: the one injected source of time ([`SystemClock`], [`ScaledClock`],
//!   [`ManualClock`]);
//! - [`Secret`]: API keys and webhook secrets that never print.
//!
//! ```
//! use mediajobs_core::{Provider, ProviderStatus, Status};
//!
//! let s = ProviderStatus::known(Status::Succeeded, "COMPLETE");
//! assert!(s.is_terminal());
//! let odd = ProviderStatus::unrecognized("awaiting_approval");
//! assert!(!odd.is_terminal() && !odd.recognized);
//! assert_eq!("vidiking".parse::<Provider>().unwrap(), Provider::Vidiking);
//! ```
#![deny(missing_docs)]

mod api;
mod clock;
mod error;
mod model;
mod secret;
mod webhook;

pub use api::{Capabilities, ListPage, ListQuery, ProviderApi, SubmitRequest};
pub use clock::{Clock, ManualClock, ScaledClock, SystemClock};
pub use error::{ApiError, Error, ErrorKind, Operation, TransportFailure};
pub use model::{JobError, JobId, Output, Provider, ProviderStatus, Snapshot, Status, Timestamp};
pub use secret::Secret;
pub use webhook::{WebhookError, WebhookEvent, WebhookVerifier};
