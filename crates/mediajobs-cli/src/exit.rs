//! Exit codes (DESIGN.md) and how errors are shown.

use mediajobs::Error;

/// A job failed, was cancelled, or could not be settled.
pub const JOB_FAILED: u8 = 1;
/// Usage or input error.
pub const USAGE: u8 = 2;
/// A provider was unreachable or refused our credentials.
pub const UNREACHABLE: u8 = 3;

/// An error that ends the command with an exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// What went wrong and what to do.
    pub message: String,
}

impl CliError {
    /// A usage or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: USAGE,
            message: message.into(),
        }
    }

    /// Prints the error on stderr (and as JSON on stdout with `--json`).
    pub fn report(&self, json: bool) {
        errln!("error: {}", self.message);
        if json {
            outln!(
                "{}",
                serde_json::json!({"error": self.message, "exit_code": self.code})
            );
        }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let code = if e.is_unreachable() || e.is_unauthorized() {
            UNREACHABLE
        } else if matches!(e, Error::Config(_) | Error::InvalidInput { .. })
            || e.kind() == Some(mediajobs::core::ErrorKind::InvalidRequest)
            // A job id the provider does not know is an input error, not a failed job.
            || e.is_not_found()
        {
            USAGE
        } else if e.is_transient() {
            UNREACHABLE
        } else {
            JOB_FAILED
        };
        CliError {
            code,
            message: e.to_string_with_hint(),
        }
    }
}
