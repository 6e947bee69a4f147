//! The adapters compiled in (cargo features), configured from the environment.
//!
//! `{PROVIDER}_API_KEY` enables a provider, `{PROVIDER}_BASE_URL` points it elsewhere (the
//! simulator), `{PROVIDER}_WEBHOOK_SECRET` verifies its webhooks.

use std::sync::Arc;

use mediajobs_core::{Clock, Error, Provider, ProviderApi, WebhookVerifier};
use mediajobs_transport::Transport;

/// Reads one environment variable (a function, so tests need not touch the process
/// environment).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn not_compiled(provider: Provider) -> Error {
    Error::Config(format!(
        "{provider} support is not compiled in: enable the `{provider}` cargo feature of mediajobs"
    ))
}

/// The adapter of `provider`, configured from `lookup`; its key is required (the error names
/// the variable to set).
#[allow(unused_variables)]
pub fn provider_from(
    provider: Provider,
    lookup: Lookup<'_>,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
) -> Result<Arc<dyn ProviderApi>, Error> {
    match provider {
        #[cfg(feature = "vibepeak")]
        Provider::VibePeak => Ok(Arc::new(
            mediajobs_vibepeak::VibePeakClient::builder()
                .from_lookup(lookup)
                .clock(clock)
                .transport(transport)
                .build()?,
        )),
        #[cfg(feature = "videogen")]
        Provider::VideoGen => Ok(Arc::new(
            mediajobs_videogen::VideoGenClient::builder()
                .from_lookup(lookup)
                .clock(clock)
                .transport(transport)
                .build()?,
        )),
        #[cfg(feature = "vidiking")]
        Provider::Vidiking => Ok(Arc::new(
            mediajobs_vidiking::VidikingClient::builder()
                .from_lookup(lookup)
                .clock(clock)
                .transport(transport)
                .build()?,
        )),
        #[allow(unreachable_patterns)]
        other => Err(not_compiled(other)),
    }
}

/// Every provider compiled in whose `{PROVIDER}_API_KEY` is set.
pub fn providers_from(
    lookup: Lookup<'_>,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
) -> Result<Vec<Arc<dyn ProviderApi>>, Error> {
    let mut out = Vec::new();
    for provider in Provider::ALL {
        if lookup(&format!("{}_API_KEY", provider.env_prefix())).is_none() {
            continue;
        }
        match provider_from(provider, lookup, clock.clone(), transport.clone()) {
            Ok(api) => out.push(api),
            Err(Error::Config(m)) if m.contains("not compiled in") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The webhook verifier of `provider` from `{PROVIDER}_WEBHOOK_SECRET`, or `None` when the
/// variable is unset (or the provider is not compiled in).
#[allow(unused_variables)]
pub fn verifier_from(
    provider: Provider,
    lookup: Lookup<'_>,
) -> Result<Option<Arc<dyn WebhookVerifier>>, Error> {
    if lookup(&format!("{}_WEBHOOK_SECRET", provider.env_prefix())).is_none() {
        return Ok(None);
    }
    match provider {
        #[cfg(feature = "vibepeak")]
        Provider::VibePeak => Ok(Some(Arc::new(
            mediajobs_vibepeak::VibePeakWebhookVerifier::from_lookup(lookup)?,
        ))),
        #[cfg(feature = "videogen")]
        Provider::VideoGen => Ok(Some(Arc::new(
            mediajobs_videogen::VideoGenWebhookVerifier::from_lookup(lookup)?,
        ))),
        #[cfg(feature = "vidiking")]
        Provider::Vidiking => Ok(Some(Arc::new(
            mediajobs_vidiking::VidikingWebhookVerifier::from_lookup(lookup)?,
        ))),
        #[allow(unreachable_patterns)]
        _ => Ok(None),
    }
}

/// Used by [`crate::ClientBuilder::from_env`].
pub(crate) fn from_env(clock: Option<Arc<dyn Clock>>) -> Result<Vec<Arc<dyn ProviderApi>>, Error> {
    let clock = clock.unwrap_or_else(|| Arc::new(mediajobs_core::SystemClock));
    let transport = mediajobs_transport::ReqwestTransport::with_defaults()
        .map_err(|e| Error::Config(format!("could not set up HTTP: {}", e.message)))?;
    providers_from(&env_lookup, clock, Arc::new(transport))
}
