//! The VideoGen adapter: media tools over the mediajobs ProviderApi.
#![deny(missing_docs)]
