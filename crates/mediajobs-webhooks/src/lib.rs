//! Receives and verifies provider webhooks and hands events to the scheduler.
#![deny(missing_docs)]
