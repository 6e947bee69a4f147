//! Parsing of the headers that tell a client when to come back.

use std::time::Duration;

use http::HeaderMap;
use mediajobs_core::Timestamp;
use serde::Serialize;

/// The longest wait a header may impose. A provider asking for more is treated as asking for
/// this much: a job must never be parked for years by one odd header.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (relative to `now`, which should
/// be the provider's clock where known: see [`server_date`]).
///
/// Garbage and negative numbers give `None`; a date in the past gives zero; anything longer
/// than [`MAX_RETRY_AFTER`] is clamped to it.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: seconds. Too many digits for u64 is "huge", not garbage.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    let date: Timestamp = chrono::DateTime::<chrono::Utc>::from(date);
    let wait = (date - now).to_std().unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

/// `Retry-After` from a header map, if present and valid.
pub fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// The server's `Date` header, if present and valid: the provider's own clock, against which
/// its other timestamps are read so that skew cannot make a client poll early or late.
pub fn server_date(headers: &HeaderMap) -> Option<Timestamp> {
    let v = headers.get(http::header::DATE)?.to_str().ok()?;
    httpdate::parse_http_date(v)
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from)
}

/// The `X-RateLimit-*` headers (VideoGen sends them on every answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RateLimit {
    /// `X-RateLimit-Limit`: requests allowed in the window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: requests left in the window.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`: when the window resets (unix seconds).
    pub reset: Option<Timestamp>,
}

impl RateLimit {
    /// Reads the headers; absent or malformed values are `None`, never an error.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let limit = num("x-ratelimit-limit");
        let remaining = num("x-ratelimit-remaining");
        let reset = num("x-ratelimit-reset")
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
        if limit.is_none() && remaining.is_none() && reset.is_none() {
            return None;
        }
        Some(RateLimit {
            limit,
            remaining,
            reset,
        })
    }

    /// How long until the window resets, from `now` (clamped to [`MAX_RETRY_AFTER`]).
    pub fn wait_for_reset(&self, now: Timestamp) -> Option<Duration> {
        let reset = self.reset?;
        Some(
            (reset - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_RETRY_AFTER),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-04T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(
            parse_retry_after("30", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_http_date() {
        assert_eq!(
            parse_retry_after("Sun, 04 Jan 2026 12:01:30 GMT", now()),
            Some(Duration::from_secs(90))
        );
        // In the past: come back now.
        assert_eq!(
            parse_retry_after("Sun, 04 Jan 2026 11:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_garbage_negative_and_huge() {
        for bad in ["", "soon", "-5", "1.5", "30s", "Sun, 99 Foo 2026"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
        assert_eq!(
            parse_retry_after("999999999999", now()),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999999", now()),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now()),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(RateLimit::from_headers(&h), None);
        h.insert("x-ratelimit-limit", "5000".parse().unwrap());
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1767528060".parse().unwrap());
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!(rl.limit, Some(5000));
        assert_eq!(rl.remaining, Some(0));
        assert_eq!(rl.wait_for_reset(now()), Some(Duration::from_secs(60)));
        h.insert("x-ratelimit-remaining", "lots".parse().unwrap());
        assert_eq!(RateLimit::from_headers(&h).unwrap().remaining, None);
    }

    #[test]
    fn server_date_header() {
        let mut h = HeaderMap::new();
        h.insert("date", "Sun, 04 Jan 2026 12:00:00 GMT".parse().unwrap());
        assert_eq!(server_date(&h), Some(now()));
        h.insert("date", "yesterday".parse().unwrap());
        assert_eq!(server_date(&h), None);
    }
}
