//! The durable job journal of mediajobs (SQLite): nothing lost, nothing paid twice.
#![deny(missing_docs)]
