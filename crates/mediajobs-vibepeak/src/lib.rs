//! The VibePeak adapter: narrated slideshows over the mediajobs ProviderApi.
#![deny(missing_docs)]
