//! Integration tests: the sim over real HTTP on 127.0.0.1, driven with a plain HTTP client and
//! the manual clock (speed 0, moved by `advance`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod common;
mod faults;
mod vibepeak;
mod videogen;
mod vidiking;
