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
    /// Run a batch file (JSON Lines) with a journal: nothing lost, nothing paid twice.
    Run(RunArgs),
    /// Pick up every unfinished job of a journal after a crash or a stop.
    Resume(ResumeArgs),
    /// Receive and verify provider webhooks, printing each accepted event.
    Webhooks(WebhooksArgs),
    /// Serve the simulator of all three providers on one port.
    Sim(SimArgs),
    /// Try mediajobs with no keys and no network: the simulator in-process, a mixed batch.
    ///
    /// Starts the built-in simulator on 127.0.0.1 at high speed, runs a mixed batch over
    /// VibePeak, VideoGen and Vidiking exactly as `run` does (journal, webhooks with polling as
    /// the safety net, downloads into --out), then prints a summary: jobs by outcome, API calls
    /// against the providers' documented polling loops, files, webhooks, time, and a check of
    /// every job against the simulator's ground truth. Some jobs fail by design (a VibePeak
    /// test scenario, a Vidiking asset on a missing host, the simulator's random failures):
    /// the exit code tells whether the demo behaved as designed (0: every job at its true
    /// terminal state, results downloaded; 1: a mismatch, listed in the summary), not whether
    /// every job succeeded.
    Demo(DemoArgs),
}

/// Options shared by `run` and `resume`.
#[derive(Debug, Args)]
pub struct BatchOptions {
    /// The journal file (SQLite); created by `run` when absent.
    #[arg(long)]
    pub journal: std::path::PathBuf,
    /// Save every result into this folder (`DIR/<provider>/<key>.<ext>`).
    #[arg(long)]
    pub download: Option<std::path::PathBuf>,
    /// Receive webhooks on this address (e.g. 127.0.0.1:0); polling becomes a safety net.
    #[arg(long)]
    pub webhooks_addr: Option<std::net::SocketAddr>,
    /// The public URL providers should call (https in production); default: the bound address.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// With webhooks on, poll each job at most this often (seconds), as a safety net.
    #[arg(long, default_value_t = 300)]
    pub safety_poll: u64,
    /// Give up waiting for a job after this many seconds (client clock); `resume` goes on.
    #[arg(long, default_value_t = 21600)]
    pub deadline: u64,
}

/// `mediajobs run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The batch file: one `{"provider", "tool"?, "key"?, "request"}` per line; `-` for stdin.
    pub batch: String,
    /// Shared options.
    #[command(flatten)]
    pub options: BatchOptions,
    /// Refuse a batch with a malformed line instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// `mediajobs resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Shared options.
    #[command(flatten)]
    pub options: BatchOptions,
    /// Send uncertain submits that cannot be reconciled (VibePeak) again; they may be paid twice.
    #[arg(long)]
    pub resubmit_uncertain: bool,
}

/// `mediajobs webhooks`.
#[derive(Debug, Args)]
pub struct WebhooksArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

/// `mediajobs webhooks …`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Serve the webhook routes; secrets from VIBEPEAK_/VIDEOGEN_/VIDIKING_WEBHOOK_SECRET.
    Serve(ServeArgs),
}

/// `mediajobs webhooks serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: std::net::SocketAddr,
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

/// `mediajobs demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where results and the demo's journal go (default: ./mediajobs-demo); the previous
    /// demo's journal there is replaced.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// How many times faster than real time the simulator runs (VibePeak's 4-10 minutes take
    /// about a second or two at 300).
    #[arg(long, default_value_t = 300.0)]
    pub speed: f64,
    /// Seed for the simulator's durations and random failures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many jobs, spread evenly over the three providers.
    #[arg(long, default_value_t = 30)]
    pub jobs: usize,
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
