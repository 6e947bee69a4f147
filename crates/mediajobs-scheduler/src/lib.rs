//! Waits for many jobs with few calls: one timer heap, budgets, backoff, batched list polls.
#![deny(missing_docs)]
