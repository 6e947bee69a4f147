//! The client's clock: the simulator's, scaled, when `MEDIAJOBS_SIM_CLOCK` says so; else the
//! system's.

use std::sync::Arc;

use mediajobs_core::{Clock, Error, ScaledClock, SystemClock, Timestamp};
use mediajobs_transport::{HttpRequest, ReqwestTransport, Transport};

/// The environment variable naming the simulator's admin URL whose clock the client follows.
pub const SIM_CLOCK_ENV: &str = "MEDIAJOBS_SIM_CLOCK";

/// The clock every client verb runs on: with `MEDIAJOBS_SIM_CLOCK=<admin url>` set, asks
/// `{admin}/clock` once and runs a [`ScaledClock`] from there (sim now + speed × real time
/// elapsed); unset, the [`SystemClock`].
pub async fn clock_from_env() -> Result<Arc<dyn Clock>, Error> {
    match std::env::var(SIM_CLOCK_ENV) {
        Ok(admin) if !admin.trim().is_empty() => Ok(Arc::new(sim_clock(admin.trim()).await?)),
        _ => Ok(Arc::new(SystemClock)),
    }
}

/// Reads the simulator's clock at `admin` (its `/_sim` URL).
pub async fn sim_clock(admin: &str) -> Result<ScaledClock, Error> {
    let url = format!("{}/clock", admin.trim_end_matches('/'));
    let bad = |what: String| {
        Error::Config(format!(
            "{SIM_CLOCK_ENV}={admin}: {what}; it must be the simulator's admin URL (the `admin` field of `mediajobs sim`'s readiness line)"
        ))
    };
    let transport = ReqwestTransport::with_defaults().map_err(|e| bad(e.message))?;
    let resp = transport
        .send(HttpRequest::new(http::Method::GET, url.clone()))
        .await
        .map_err(|e| bad(format!("GET {url} failed: {}", e.message)))?;
    if !resp.is_success() {
        return Err(bad(format!("GET {url} answered HTTP {}", resp.status)));
    }
    #[derive(serde::Deserialize)]
    struct SimClock {
        now: Timestamp,
        speed: f64,
    }
    let c: SimClock = serde_json::from_slice(&resp.body)
        .map_err(|e| bad(format!("GET {url} did not answer {{now, speed}}: {e}")))?;
    Ok(ScaledClock::new(c.now, c.speed))
}
