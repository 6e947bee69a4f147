//! The Vidiking adapter: timeline renders over the mediajobs ProviderApi.
#![deny(missing_docs)]
