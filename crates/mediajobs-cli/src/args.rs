//! The command-line grammar (DESIGN.md, "Environment and CLI").

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// Run jobs on asynchronous media-generation APIs and never lose one.
#[derive(Debug, Parser)]
#[command(name = "mediajobs", version, about, long_about = None)]
pub struct Cli {
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the simulator of all three providers on one port.
    Sim(SimArgs),
}

/// `mediajobs sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// How many times faster than real time the simulator's clock runs.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Faults to inject: `provider:operation:kind=rate`, comma-separated (docs/simulator.md).
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Seed for durations, failures and faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Share of tasks that fail with a documented failure code (0–1).
    #[arg(long)]
    pub failure_rate: Option<f64>,
}
