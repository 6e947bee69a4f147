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
    /// Submit one job; prints its id.
    Submit(SubmitArgs),
    /// Read a job's status once (or, with --journal, summarise a journal).
    Status(StatusArgs),
    /// Wait for a job until it is terminal.
    Wait(WaitArgs),
    /// Cancel a job (VideoGen; the others have no cancel).
    Cancel(JobArgs),
    /// List recent jobs (VideoGen, Vidiking).
    List(ListArgs),
    /// Serve the simulator of all three providers on one port.
    Sim(SimArgs),
}

/// A provider and a job id.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// vibepeak, videogen or vidiking.
    pub provider: String,
    /// The provider's job id.
    pub id: String,
}

/// `mediajobs submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// vibepeak, videogen or vidiking.
    pub provider: String,
    /// The request body: a JSON file, or `-` for stdin. Omit it to build the body from --set.
    pub request: Option<String>,
    /// The VideoGen tool (e.g. generate-image).
    #[arg(long)]
    pub tool: Option<String>,
    /// Set a request field: `--set prompt="a cat"`, `--set numResults=2` (the value is read as
    /// JSON when it parses, else as a string; dots make nested fields). Repeatable.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Per-job webhook URL (VibePeak webhook_url, Vidiking callback).
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Wait for the job after submitting it.
    #[arg(long)]
    pub wait: bool,
}

/// `mediajobs status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// vibepeak, videogen or vidiking (not with --journal).
    pub provider: Option<String>,
    /// The provider's job id (not with --journal).
    pub id: Option<String>,
    /// Summarise this journal instead of asking a provider.
    #[arg(long)]
    pub journal: Option<std::path::PathBuf>,
}

/// `mediajobs wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// vibepeak, videogen or vidiking.
    pub provider: String,
    /// The provider's job id.
    pub id: String,
    /// Give up after this many seconds (client clock).
    #[arg(long, default_value_t = 7200)]
    pub timeout: u64,
    /// Download the results into this folder.
    #[arg(long)]
    pub download: Option<std::path::PathBuf>,
}

/// `mediajobs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// videogen or vidiking.
    pub provider: String,
    /// Only jobs in this provider status (e.g. COMPLETE, succeeded).
    #[arg(long)]
    pub status: Option<String>,
    /// How many.
    #[arg(long)]
    pub limit: Option<u32>,
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
