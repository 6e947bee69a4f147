//! Property tests: the parsers that see provider bytes never panic, and agree with their
//! definitions where a round trip exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use http::HeaderMap;
use mediajobs_transport::ErrorBody;
use mediajobs_transport::headers::{MAX_RETRY_AFTER, RateLimit, parse_retry_after};
use proptest::prelude::*;

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-01-04T12:00:00Z".parse().unwrap()
}

proptest! {
    #[test]
    fn retry_after_never_panics_and_is_bounded(s in ".{0,64}") {
        if let Some(d) = parse_retry_after(&s, now()) {
            prop_assert!(d <= MAX_RETRY_AFTER);
        }
    }

    #[test]
    fn retry_after_seconds_round_trip(secs in 0u64..=MAX_RETRY_AFTER.as_secs()) {
        prop_assert_eq!(parse_retry_after(&secs.to_string(), now()), Some(Duration::from_secs(secs)));
    }

    #[test]
    fn retry_after_http_date_round_trip(ahead in 0u64..86_400) {
        let when = std::time::SystemTime::from(now()) + Duration::from_secs(ahead);
        let text = httpdate::fmt_http_date(when);
        prop_assert_eq!(parse_retry_after(&text, now()), Some(Duration::from_secs(ahead)));
    }

    #[test]
    fn rate_limit_headers_never_panic(limit in ".{0,24}", remaining in ".{0,24}", reset in ".{0,24}") {
        let mut h = HeaderMap::new();
        for (name, value) in [("x-ratelimit-limit", &limit), ("x-ratelimit-remaining", &remaining), ("x-ratelimit-reset", &reset)] {
            if let Ok(v) = value.parse() {
                h.insert(name, v);
            }
        }
        if let Some(rl) = RateLimit::from_headers(&h) {
            let _ = rl.wait_for_reset(now());
        }
    }

    #[test]
    fn rate_limit_numbers_round_trip(limit in any::<u32>(), remaining in any::<u32>(), reset in 0i64..4_000_000_000) {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", limit.to_string().parse().unwrap());
        h.insert("x-ratelimit-remaining", remaining.to_string().parse().unwrap());
        h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let rl = RateLimit::from_headers(&h).unwrap();
        prop_assert_eq!(rl.limit, Some(u64::from(limit)));
        prop_assert_eq!(rl.remaining, Some(u64::from(remaining)));
        prop_assert_eq!(rl.reset.map(|t| t.timestamp()), Some(reset));
    }

    #[test]
    fn error_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = ErrorBody::parse(&bytes);
    }

    #[test]
    fn error_body_code_and_message_round_trip(code in "[A-Za-z_]{1,24}", message in ".{0,80}") {
        let nested = serde_json::json!({"error": {"code": code, "message": message}});
        let b = ErrorBody::parse(nested.to_string().as_bytes());
        prop_assert_eq!(b.code.as_deref(), Some(code.as_str()));
        prop_assert_eq!(b.message.as_deref(), Some(message.as_str()));
        let flat = serde_json::json!({"code": code, "message": message});
        let b = ErrorBody::parse(flat.to_string().as_bytes());
        prop_assert_eq!(b.code.as_deref(), Some(code.as_str()));
    }
}
