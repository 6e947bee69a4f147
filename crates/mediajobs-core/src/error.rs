//! What can go wrong talking to a provider, and what to do about it.

use std::fmt;
use std::time::Duration;

use crate::Provider;

/// The operation that failed, for messages and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Creating a task.
    Submit,
    /// Reading one task.
    Status,
    /// Cancelling a task.
    Cancel,
    /// Listing tasks.
    List,
    /// Reading or refreshing a result file's URL (VideoGen files, `hydrate`).
    Files,
    /// Managing webhook endpoints.
    Endpoints,
    /// Downloading a result.
    Download,
    /// Receiving a webhook.
    Webhook,
    /// A health check.
    Health,
}

impl Operation {
    /// The lowercase name, as in the simulator's fault syntax.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Submit => "submit",
            Operation::Status => "status",
            Operation::Cancel => "cancel",
            Operation::List => "list",
            Operation::Files => "files",
            Operation::Endpoints => "endpoints",
            Operation::Download => "download",
            Operation::Webhook => "webhook",
            Operation::Health => "health",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of an error answer from a provider. Adapters map each documented error code onto
/// one of these through their generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is wrong (a field, a value): fix it, retrying cannot help.
    InvalidRequest,
    /// The key is missing, wrong, revoked or expired.
    Unauthorized,
    /// The key may not do this (plan, credits, access to an avatar or voice).
    Forbidden,
    /// No such task or file (or it belongs to someone else).
    NotFound,
    /// Too many requests: wait for the retry hint.
    RateLimited,
    /// Too many tasks in flight (VibePeak): wait for a slot, then submit.
    ConcurrencyLimited,
    /// The provider is failing (5xx): retry later.
    Unavailable,
    /// Anything else the provider said.
    Other,
}

impl ErrorKind {
    /// Whether retrying the same request later can succeed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::ConcurrencyLimited | ErrorKind::Unavailable
        )
    }

    /// The snake_case name used in summaries and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ConcurrencyLimited => "concurrency_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Other => "other",
        }
    }

    /// Parses [`ErrorKind::as_str`]'s names back (used by codegen tables).
    pub fn parse(s: &str) -> Option<ErrorKind> {
        Some(match s {
            "invalid_request" => ErrorKind::InvalidRequest,
            "unauthorized" => ErrorKind::Unauthorized,
            "forbidden" => ErrorKind::Forbidden,
            "not_found" => ErrorKind::NotFound,
            "rate_limited" => ErrorKind::RateLimited,
            "concurrency_limited" => ErrorKind::ConcurrencyLimited,
            "unavailable" => ErrorKind::Unavailable,
            "other" => ErrorKind::Other,
            _ => return None,
        })
    }

    /// The kind an HTTP status implies when the body names no known code.
    pub fn from_http_status(status: u16) -> ErrorKind {
        match status {
            400 | 405 | 409 | 413 | 415 | 422 => ErrorKind::InvalidRequest,
            401 => ErrorKind::Unauthorized,
            402 | 403 => ErrorKind::Forbidden,
            404 | 410 => ErrorKind::NotFound,
            408 | 425 | 500..=599 => ErrorKind::Unavailable,
            429 => ErrorKind::RateLimited,
            _ => ErrorKind::Other,
        }
    }
}

/// An error answer from a provider: its HTTP status, code and message, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Who answered.
    pub provider: Provider,
    /// What we asked.
    pub operation: Operation,
    /// The class of the error.
    pub kind: ErrorKind,
    /// Whether retrying later can help (usually `kind.is_transient()`, but a table may say
    /// otherwise for a code).
    pub transient: bool,
    /// The HTTP status.
    pub http_status: u16,
    /// The provider's own error code, where the body had one.
    pub code: Option<String>,
    /// The provider's message (or the HTTP reason when the body had none).
    pub message: String,
    /// The request field the provider (or our validation) blames, where known.
    pub field: Option<String>,
    /// How long to wait before retrying, from `Retry-After` or rate-limit headers.
    pub retry_after: Option<Duration>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
    /// What to do about it, from the adapter's table.
    pub advice: Option<&'static str>,
}

impl ApiError {
    /// An error of `kind` with the transience the kind implies; other fields empty.
    pub fn new(
        provider: Provider,
        operation: Operation,
        kind: ErrorKind,
        http_status: u16,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            provider,
            operation,
            kind,
            transient: kind.is_transient(),
            http_status,
            code: None,
            message: message.into(),
            field: None,
            retry_after: None,
            request_id: None,
            advice: None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed: HTTP {}",
            self.provider, self.operation, self.http_status
        )?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {}s", wait.as_secs())?;
        }
        if let Some(advice) = self.advice {
            write!(f, "; {advice}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// No connection could be made: the request was not sent.
    Connect,
    /// No answer in time. The request may have been processed.
    Timeout,
    /// The connection broke before a whole answer arrived. The request may have been processed.
    Interrupted,
    /// The answer was larger than the configured cap.
    TooLarge,
    /// The request could not be built (bad URL, bad header).
    Request,
}

impl TransportFailure {
    /// Whether the provider may have received and processed the request.
    pub fn maybe_delivered(self) -> bool {
        matches!(
            self,
            TransportFailure::Timeout | TransportFailure::Interrupted
        )
    }
}

/// Everything that can go wrong in mediajobs, with enough context to act on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The provider answered with an error.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A submit's answer was lost after the request may have reached the provider: the task
    /// may exist. Do not resubmit blindly; reconcile, or ask the user.
    #[error(
        "{provider} submit: the answer was lost after the request may have reached the provider ({message}); \
         the task may exist, so it was not resubmitted"
    )]
    UncertainSubmit {
        /// Who may have the task.
        provider: Provider,
        /// What happened to the answer.
        message: String,
    },
    /// The request failed below HTTP.
    #[error("{provider} {operation}: {message}")]
    Transport {
        /// Who we were talking to.
        provider: Provider,
        /// What we asked.
        operation: Operation,
        /// How it failed.
        failure: TransportFailure,
        /// Details (never containing a secret).
        message: String,
    },
    /// The provider's answer could not be understood.
    #[error("{provider} {operation}: could not read the answer (HTTP {http_status}): {message}")]
    Decode {
        /// Who answered.
        provider: Provider,
        /// What we asked.
        operation: Operation,
        /// The answer's HTTP status.
        http_status: u16,
        /// What was wrong with it.
        message: String,
    },
    /// Our own validation refused the request before sending it.
    #[error("{provider}: invalid request: field `{field}`: {message}")]
    InvalidInput {
        /// Whose request.
        provider: Provider,
        /// The offending field, as a path (`images[3]`, `timeline.tracks`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The provider has no such operation.
    #[error("{provider} does not support {operation}")]
    Unsupported {
        /// The provider.
        provider: Provider,
        /// The operation it lacks.
        operation: Operation,
    },
    /// mediajobs is not configured to do this (a key or URL is missing or malformed).
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying the same operation later can succeed. An uncertain submit is not
    /// transient: retrying it may pay twice.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(e) => e.transient,
            Error::Transport { failure, .. } => !matches!(
                failure,
                TransportFailure::Request | TransportFailure::TooLarge
            ),
            Error::Decode { http_status, .. } => *http_status >= 500,
            Error::UncertainSubmit { .. }
            | Error::InvalidInput { .. }
            | Error::Unsupported { .. }
            | Error::Config(_) => false,
        }
    }

    /// How long the provider asked us to wait, where it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The class of a provider's error answer, where this is one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Api(e) => Some(e.kind),
            Error::InvalidInput { .. } => Some(ErrorKind::InvalidRequest),
            _ => None,
        }
    }

    /// The provider's answer, where this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the provider refused our credentials.
    pub fn is_unauthorized(&self) -> bool {
        self.kind() == Some(ErrorKind::Unauthorized)
    }

    /// Whether the job or file does not exist (for this key).
    pub fn is_not_found(&self) -> bool {
        self.kind() == Some(ErrorKind::NotFound)
    }

    /// Whether this is a rate limit (including VibePeak's in-flight limit).
    pub fn is_rate_limited(&self) -> bool {
        matches!(
            self.kind(),
            Some(ErrorKind::RateLimited | ErrorKind::ConcurrencyLimited)
        )
    }

    /// Whether the provider could not be reached at all (a connection was never made).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                failure: TransportFailure::Connect,
                ..
            }
        )
    }

    /// The error's message with what to check where the fix is the user's: for a provider
    /// that could not be reached, the variable that points at it.
    ///
    /// ```
    /// use mediajobs_core::{Error, Operation, Provider, TransportFailure};
    /// let e = Error::Transport {
    ///     provider: Provider::VideoGen,
    ///     operation: Operation::List,
    ///     failure: TransportFailure::Connect,
    ///     message: "could not connect".into(),
    /// };
    /// assert!(e.to_string_with_hint().ends_with("is VIDEOGEN_BASE_URL right and the service up?"));
    /// ```
    pub fn to_string_with_hint(&self) -> String {
        match self {
            Error::Transport {
                provider,
                failure: TransportFailure::Connect,
                ..
            } => format!(
                "{self}; is {}_BASE_URL right and the service up?",
                provider.env_prefix()
            ),
            _ => self.to_string(),
        }
    }

    /// The provider's own error code, where it gave one.
    pub fn code(&self) -> Option<&str> {
        self.api().and_then(|e| e.code.as_deref())
    }

    /// The request field blamed, where known.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.field.as_deref(),
            Error::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(kind: ErrorKind, status: u16) -> Error {
        ApiError::new(Provider::VideoGen, Operation::Status, kind, status, "x").into()
    }

    #[test]
    fn http_status_classification() {
        assert_eq!(ErrorKind::from_http_status(400), ErrorKind::InvalidRequest);
        assert_eq!(ErrorKind::from_http_status(401), ErrorKind::Unauthorized);
        assert_eq!(ErrorKind::from_http_status(402), ErrorKind::Forbidden);
        assert_eq!(ErrorKind::from_http_status(404), ErrorKind::NotFound);
        assert_eq!(ErrorKind::from_http_status(429), ErrorKind::RateLimited);
        assert_eq!(ErrorKind::from_http_status(503), ErrorKind::Unavailable);
        assert_eq!(ErrorKind::from_http_status(302), ErrorKind::Other);
        for k in [
            ErrorKind::InvalidRequest,
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::RateLimited,
            ErrorKind::ConcurrencyLimited,
            ErrorKind::Unavailable,
            ErrorKind::Other,
        ] {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn transience() {
        assert!(api(ErrorKind::Unavailable, 503).is_transient());
        assert!(api(ErrorKind::RateLimited, 429).is_transient());
        assert!(api(ErrorKind::ConcurrencyLimited, 429).is_transient());
        assert!(!api(ErrorKind::InvalidRequest, 400).is_transient());
        assert!(!api(ErrorKind::Unauthorized, 401).is_transient());
        assert!(!api(ErrorKind::NotFound, 404).is_transient());
        let uncertain = Error::UncertainSubmit {
            provider: Provider::VibePeak,
            message: "timeout".into(),
        };
        assert!(
            !uncertain.is_transient(),
            "an uncertain submit must never be retried blindly"
        );
        let refused = Error::Transport {
            provider: Provider::Vidiking,
            operation: Operation::Status,
            failure: TransportFailure::Connect,
            message: "refused".into(),
        };
        assert!(refused.is_transient() && refused.is_unreachable());
        assert!(TransportFailure::Timeout.maybe_delivered());
        assert!(!TransportFailure::Connect.maybe_delivered());
    }

    #[test]
    fn display_names_provider_operation_code_field_and_wait() {
        let mut e = ApiError::new(
            Provider::VibePeak,
            Operation::Submit,
            ErrorKind::InvalidRequest,
            400,
            "script too short",
        );
        e.code = Some("SCRIPT_TOO_SHORT".into());
        e.field = Some("script".into());
        e.retry_after = Some(Duration::from_secs(30));
        let text = Error::from(e).to_string();
        for part in [
            "vibepeak",
            "submit",
            "400",
            "SCRIPT_TOO_SHORT",
            "`script`",
            "30s",
        ] {
            assert!(text.contains(part), "{text:?} lacks {part:?}");
        }
        let err = api(ErrorKind::RateLimited, 429);
        assert!(err.is_rate_limited());
        assert_eq!(err.retry_after(), None);
    }
}
