//! The adapters compiled in, configured from the environment.

use std::sync::Arc;

use mediajobs_core::{Clock, Error, ProviderApi};

/// Every provider compiled in whose `{PROVIDER}_API_KEY` is set.
pub(crate) fn from_env(clock: Option<Arc<dyn Clock>>) -> Result<Vec<Arc<dyn ProviderApi>>, Error> {
    let _ = &clock;
    #[allow(unused_mut)]
    let mut out: Vec<Arc<dyn ProviderApi>> = Vec::new();
    Ok(out)
}
