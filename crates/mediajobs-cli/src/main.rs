//! The `mediajobs` binary: see `mediajobs --help` and docs/cli.md.

/// `println!` that cannot panic. A reader that went away (`mediajobs … | head -1`) is no reason
/// to die half-way: a submit already sent, a batch being journaled go on, and what was not
/// printed stays with the provider and in the journal.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that cannot panic, for the same reason as [`outln!`].
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod args;
mod batch_cmd;
mod demo_cmd;
mod exit;
mod jobs_cmd;
mod sim_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, WebhooksCommand};
use crate::exit::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let _ = e.print();
            // `--json` promises a JSON error on stdout even when the rest of the line is wrong.
            if std::env::args_os().skip(1).any(|a| a == "--json") {
                // clap's message up to its first blank line: the error and what it names
                // (the missing arguments are on the lines after the first).
                let rendered = e.to_string();
                let message = rendered
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ");
                let message = message.trim_start_matches("error: ");
                outln!(
                    "{}",
                    serde_json::json!({"error": message, "exit_code": exit::USAGE})
                );
            }
            return ExitCode::from(exit::USAGE);
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: could not start the async runtime: {e}");
            return ExitCode::from(exit::UNREACHABLE);
        }
    };
    let json = cli.json;
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.report(json);
            ExitCode::from(e.code)
        }
    }
}

async fn run(cli: Cli) -> Result<u8, CliError> {
    let json = cli.json;
    let quiet = cli.quiet;
    match cli.command {
        Command::Submit(args) => jobs_cmd::submit(args, json).await,
        Command::Status(args) if args.journal.is_some() => batch_cmd::status_journal(&args, json),
        Command::Status(args) => jobs_cmd::status(args, json).await,
        Command::Wait(args) => jobs_cmd::wait(args, json).await,
        Command::Cancel(args) => jobs_cmd::cancel(args, json).await,
        Command::List(args) => jobs_cmd::list(args, json).await,
        Command::Run(args) => batch_cmd::run(args, json, quiet).await,
        Command::Resume(args) => batch_cmd::resume(args, json, quiet).await,
        Command::Webhooks(args) => match args.command {
            WebhooksCommand::Serve(args) => batch_cmd::webhooks_serve(args).await,
        },
        Command::Sim(args) => sim_cmd::run(args).await,
        Command::Demo(args) => demo_cmd::run(args, json, quiet).await,
    }
}

/// Logs go to stderr (stdout is for results and readiness lines); `RUST_LOG` overrides
/// `-v`/`-q`.
fn init_tracing(verbose: u8, quiet: bool) {
    let default = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
