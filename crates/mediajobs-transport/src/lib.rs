//! transport
#![deny(missing_docs)]
