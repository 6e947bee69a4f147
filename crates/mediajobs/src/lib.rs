//! mediajobs: run jobs on asynchronous media-generation APIs and never lose one.
#![deny(missing_docs)]
