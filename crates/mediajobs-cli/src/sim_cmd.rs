//! `mediajobs sim`: the simulator, until Ctrl-C or SIGTERM.

use mediajobs::sim::{Faults, Sim, SimConfig};

use crate::args::SimArgs;
use crate::exit::CliError;

pub async fn run(args: SimArgs) -> Result<u8, CliError> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(CliError::usage(format!(
            "--speed {}: must be a positive number (60 = one simulated minute per real second)",
            args.speed
        )));
    }
    let faults: Faults = args
        .faults
        .parse()
        .map_err(|e| CliError::usage(format!("--faults: {e}")))?;
    let mut config = SimConfig {
        speed: args.speed,
        seed: args.seed,
        faults,
        ..SimConfig::default()
    };
    if let Some(rate) = args.failure_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(CliError::usage(format!(
                "--failure-rate {rate}: must be between 0 and 1"
            )));
        }
        config.failure_rate = rate;
    }
    let sim = Sim::start(args.addr, config).await.map_err(|e| CliError {
        code: crate::exit::UNREACHABLE,
        message: format!("could not start the simulator on {}: {e}", args.addr),
    })?;
    // The readiness line: exactly one JSON line, flushed, before anything else on stdout.
    outln!("{}", sim.readiness());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    shutdown_signal().await;
    sim.shutdown().await;
    Ok(0)
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
