//! Lenient readers for the fields of VibePeak's answers.
//!
//! An odd optional field (a timestamp in another format, a number sent as a string) must not
//! make a whole status answer unreadable: these readers turn what they cannot understand into
//! `None` and the raw answer keeps the original.

use mediajobs_core::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A timestamp from an RFC 3339 string (the documented form), a unix-seconds number, or a
/// unix-seconds string; anything else is `None`.
pub(crate) fn timestamp_from_value(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                return Some(t.to_utc());
            }
            // A naive ISO 8601 time without an offset: read as UTC.
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
                return Some(t.and_utc());
            }
            s.parse::<i64>().ok().and_then(unix_seconds)
        }
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .and_then(unix_seconds),
        _ => None,
    }
}

fn unix_seconds(s: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(s, 0)
}

/// A non-negative integer from a number or a numeric string.
pub(crate) fn u64_from_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f.round() as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Timestamp>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(timestamp_from_value))
}

pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(u64_from_value)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(u64_from_value))
}

pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) => match s.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// A string field; a number is kept as its text, anything else is `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_reasonable_form() {
        let want: Timestamp = "2026-01-04T12:00:00Z".parse().unwrap();
        for v in [
            json!("2026-01-04T12:00:00Z"),
            json!("2026-01-04T13:00:00+01:00"),
            json!("2026-01-04T12:00:00"),
            json!(1767528000),
            json!(1767528000.0),
            json!("1767528000"),
        ] {
            assert_eq!(timestamp_from_value(&v), Some(want), "{v}");
        }
        for v in [
            json!("soon"),
            json!(null),
            json!({}),
            json!(true),
            json!(1e300),
        ] {
            assert_eq!(timestamp_from_value(&v), None, "{v}");
        }
    }

    #[test]
    fn numbers_leniently() {
        assert_eq!(u64_from_value(&json!(3)), Some(3));
        assert_eq!(u64_from_value(&json!("3")), Some(3));
        assert_eq!(u64_from_value(&json!(2.6)), Some(3));
        assert_eq!(u64_from_value(&json!(-1)), None);
        assert_eq!(u64_from_value(&json!("x")), None);
    }
}
