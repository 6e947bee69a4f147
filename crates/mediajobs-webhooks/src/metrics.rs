//! Counters of what the receiver saw and did, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};

use mediajobs_core::WebhookError;
use serde::{Deserialize, Serialize};

/// Why a delivery was refused. The reason goes into metrics and logs only: answers never say
/// which part of a signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The signature does not verify with any configured secret (401).
    BadSignature,
    /// The timestamp is outside the replay window (401).
    Stale,
    /// A required header is missing (401).
    MissingHeader,
    /// The body verified but does not decode, or could not be read (400).
    Malformed,
    /// The body is over the size limit (413).
    TooLarge,
    /// No verifier or secret is configured for the provider, so nothing can be trusted (401).
    NoSecret,
}

impl RejectReason {
    /// The snake_case name used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BadSignature => "bad_signature",
            RejectReason::Stale => "stale",
            RejectReason::MissingHeader => "missing_header",
            RejectReason::Malformed => "malformed",
            RejectReason::TooLarge => "too_large",
            RejectReason::NoSecret => "no_secret",
        }
    }

    /// The HTTP status the receiver answers with.
    pub fn http_status(self) -> u16 {
        match self {
            RejectReason::Malformed => 400,
            RejectReason::TooLarge => 413,
            _ => 401,
        }
    }

    /// The reason a verifier's error stands for.
    pub fn from_error(e: &WebhookError) -> Self {
        match e {
            WebhookError::MissingHeader(_) => RejectReason::MissingHeader,
            WebhookError::BadSignature => RejectReason::BadSignature,
            WebhookError::Stale => RejectReason::Stale,
            WebhookError::NoSecret => RejectReason::NoSecret,
            WebhookError::Malformed(_) => RejectReason::Malformed,
        }
    }
}

/// Deliveries refused, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedCounts {
    /// Signatures that did not verify.
    pub bad_signature: u64,
    /// Timestamps outside the replay window.
    pub stale: u64,
    /// Required headers missing.
    pub missing_header: u64,
    /// Verified bodies that did not decode (and bodies that could not be read).
    pub malformed: u64,
    /// Bodies over the size limit.
    pub too_large: u64,
    /// Deliveries for a provider without a verifier or secret.
    pub no_secret: u64,
}

impl RejectedCounts {
    /// All refused deliveries.
    pub fn total(&self) -> u64 {
        self.bad_signature
            + self.stale
            + self.missing_header
            + self.malformed
            + self.too_large
            + self.no_secret
    }
}

/// A snapshot of the receiver's counters.
///
/// Every delivery is counted once in `received`, then exactly once either in `verified` or
/// under one reason of `rejected`; every verified one exactly once in `accepted`,
/// `duplicates`, `superseded`, `busy` or `abandoned`:
///
/// - `received == verified + rejected.total()`
/// - `verified == accepted + duplicates + superseded + busy + abandoned`
///
/// `hints` and `hints_dropped` count refused deliveries whose body still decoded (so they are
/// also counted under `rejected`). Jobs ended by webhook versus by poll are counted by the
/// scheduler, which alone knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookMetrics {
    /// Deliveries to a provider route, whatever became of them.
    pub received: u64,
    /// Deliveries whose signature and timestamp verified and whose body decoded.
    pub verified: u64,
    /// Verified events handed to the consumer (each one acted on once).
    pub accepted: u64,
    /// Verified events already seen, by event id or by (provider, job id, status): answered
    /// 2xx, not handed on again.
    pub duplicates: u64,
    /// Verified events older than what is already known of the job (a non-terminal status
    /// after a terminal one, or a second, different terminal status): answered 2xx, not handed
    /// on, so they can never move a job backwards.
    pub superseded: u64,
    /// Verified events refused with 503 because the output queue stayed full (or its consumer
    /// was gone): the provider retries them.
    pub busy: u64,
    /// Verified events whose sender hung up while they waited for room in the queue: not
    /// handed on and not remembered, so the provider's retry is acted on.
    pub abandoned: u64,
    /// Unverified events that decoded and were handed on as hints.
    pub hints: u64,
    /// Unverified events that decoded but were not handed on because the queue was too full.
    pub hints_dropped: u64,
    /// Refused deliveries, by reason.
    pub rejected: RejectedCounts,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    verified: AtomicU64,
    accepted: AtomicU64,
    duplicates: AtomicU64,
    superseded: AtomicU64,
    busy: AtomicU64,
    abandoned: AtomicU64,
    hints: AtomicU64,
    hints_dropped: AtomicU64,
    bad_signature: AtomicU64,
    stale: AtomicU64,
    missing_header: AtomicU64,
    malformed: AtomicU64,
    too_large: AtomicU64,
    no_secret: AtomicU64,
}

/// One counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Received,
    Verified,
    Accepted,
    Duplicate,
    Superseded,
    Busy,
    Abandoned,
    Hint,
    HintDropped,
    Rejected(RejectReason),
}

impl Counters {
    pub(crate) fn bump(&self, c: Count) {
        let counter = match c {
            Count::Received => &self.received,
            Count::Verified => &self.verified,
            Count::Accepted => &self.accepted,
            Count::Duplicate => &self.duplicates,
            Count::Superseded => &self.superseded,
            Count::Busy => &self.busy,
            Count::Abandoned => &self.abandoned,
            Count::Hint => &self.hints,
            Count::HintDropped => &self.hints_dropped,
            Count::Rejected(r) => match r {
                RejectReason::BadSignature => &self.bad_signature,
                RejectReason::Stale => &self.stale,
                RejectReason::MissingHeader => &self.missing_header,
                RejectReason::Malformed => &self.malformed,
                RejectReason::TooLarge => &self.too_large,
                RejectReason::NoSecret => &self.no_secret,
            },
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WebhookMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WebhookMetrics {
            received: get(&self.received),
            verified: get(&self.verified),
            accepted: get(&self.accepted),
            duplicates: get(&self.duplicates),
            superseded: get(&self.superseded),
            busy: get(&self.busy),
            abandoned: get(&self.abandoned),
            hints: get(&self.hints),
            hints_dropped: get(&self.hints_dropped),
            rejected: RejectedCounts {
                bad_signature: get(&self.bad_signature),
                stale: get(&self.stale),
                missing_header: get(&self.missing_header),
                malformed: get(&self.malformed),
                too_large: get(&self.too_large),
                no_secret: get(&self.no_secret),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_the_contracts_answers() {
        assert_eq!(
            RejectReason::from_error(&WebhookError::BadSignature).http_status(),
            401
        );
        assert_eq!(
            RejectReason::from_error(&WebhookError::Stale).http_status(),
            401
        );
        assert_eq!(
            RejectReason::from_error(&WebhookError::MissingHeader("x")).http_status(),
            401
        );
        assert_eq!(
            RejectReason::from_error(&WebhookError::NoSecret).http_status(),
            401
        );
        assert_eq!(
            RejectReason::from_error(&WebhookError::Malformed("x".into())).http_status(),
            400
        );
        assert_eq!(RejectReason::TooLarge.http_status(), 413);
        for e in [
            WebhookError::BadSignature,
            WebhookError::Stale,
            WebhookError::MissingHeader("x"),
            WebhookError::NoSecret,
            WebhookError::Malformed("x".into()),
        ] {
            assert_eq!(RejectReason::from_error(&e).http_status(), e.http_status());
        }
    }

    #[test]
    fn counters_snapshot_and_serialise() {
        let c = Counters::default();
        c.bump(Count::Received);
        c.bump(Count::Received);
        c.bump(Count::Verified);
        c.bump(Count::Accepted);
        c.bump(Count::Rejected(RejectReason::Stale));
        let m = c.snapshot();
        assert_eq!(m.received, m.verified + m.rejected.total());
        let v = serde_json::to_value(m).unwrap();
        assert_eq!(v["rejected"]["stale"], 1);
        assert_eq!(v["accepted"], 1);
        let back: WebhookMetrics = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }
}
