//! Small helpers shared by the providers: deterministic randomness, ids, canonical JSON, answers.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Marker put on a response whose connection must be closed without writing it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CloseWithoutAnswer;

/// The splitmix64 finaliser: a bijection on u64, so distinct inputs give distinct ids.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG of one task: depends only on the seed, the provider and the task's sequence number,
/// so a task's fate does not depend on how concurrent requests interleave.
pub(crate) fn task_rng(seed: u64, provider_tag: u64, seq: u64) -> StdRng {
    StdRng::seed_from_u64(mix64(
        seed ^ mix64(provider_tag.wrapping_mul(0x1000_0001) ^ seq),
    ))
}

/// The opaque id number of the `seq`-th object of a kind: unique per (seed, tag) and not sequential.
pub(crate) fn id_number(seed: u64, tag: u64, seq: u64) -> u64 {
    mix64(seq ^ mix64(seed.wrapping_add(tag)))
}

/// Canonical JSON: object keys sorted recursively, no whitespace, numbers written as Python's
/// `json.dumps` writes them (the form a test script would compare with). Written by hand so
/// that a `preserve_order` feature switched on elsewhere in the workspace cannot change the
/// hash. Integers beyond 64 bits arrive here as floats (serde_json's parser), so they are
/// hashed in float form: a documented limit of the sim.
pub(crate) fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(*k) {
                    canonical_json(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => push_python_float(f, out),
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// A float as Python's `repr` writes it: the shortest digits that read back the same (Rust's
/// `{:e}` gives them), in positional form for decimal exponents -4 to 15, else `d.ddde±XX`.
fn push_python_float(f: f64, out: &mut String) {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if f.is_sign_negative() {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let point = exp as usize + 1;
            let int_part = if digits.len() >= point {
                digits[..point].to_string()
            } else {
                format!("{digits:0<point$}")
            };
            let frac = digits.get(point..).filter(|f| !f.is_empty()).unwrap_or("0");
            out.push_str(&format!("{int_part}.{frac}"));
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            out.push_str(&format!("0.{zeros}{digits}"));
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let sign = if exp < 0 { '-' } else { '+' };
        if rest.is_empty() {
            out.push_str(&format!("{first}e{sign}{:02}", exp.abs()));
        } else {
            out.push_str(&format!("{first}.{rest}e{sign}{:02}", exp.abs()));
        }
    }
}

/// `body_sha256` of the stats contract: SHA-256 of `"{METHOD} {path}\n{canonical body}"`, the
/// top-level `webhook_url` and `callback` removed.
pub(crate) fn body_sha256(method: &str, path: &str, body: &Value) -> [u8; 32] {
    let mut body = body.clone();
    if let Value::Object(map) = &mut body {
        map.remove("webhook_url");
        map.remove("callback");
    }
    let mut s = format!("{method} {path}\n");
    canonical_json(&body, &mut s);
    Sha256::digest(s.as_bytes()).into()
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn set_header(resp: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        resp.headers_mut().insert(name, v);
    }
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether `url` is acceptable as a webhook target: https anywhere, or plain http to loopback
/// (the sim only; the real services demand https).
pub(crate) fn webhook_url_ok(url: &str) -> bool {
    match parse_http_url(url) {
        Some((scheme, host, _)) => {
            scheme == "https"
                || (scheme == "http"
                    && (host == "127.0.0.1"
                        || host == "localhost"
                        || host == "[::1]"
                        || host.starts_with("127.")))
        }
        None => false,
    }
}

/// Splits an absolute http(s) URL into (scheme, host, path); `None` when it is not one.
pub(crate) fn parse_http_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let path = &rest[end..];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    if host.is_empty() || host.contains(char::is_whitespace) || url.contains(char::is_whitespace) {
        return None;
    }
    Some((scheme, host, path))
}

/// Whether an asset URL counts as missing in the sim: host `missing.invalid` (or any host under
/// it) or a path containing `/missing`. Documented in docs/simulator.md.
pub(crate) fn asset_missing(url: &str) -> bool {
    match parse_http_url(url) {
        Some((_, host, path)) => {
            host == "missing.invalid"
                || host.ends_with(".missing.invalid")
                || path.contains("/missing")
        }
        None => false,
    }
}

/// Parses a query string into pairs (percent-decoding kept minimal: `+` and `%XX`).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_recursively_without_whitespace() {
        let v = json!({"b": 1, "a": {"d": [1, {"z": 1, "y": "é"}], "c": null}});
        let mut s = String::new();
        canonical_json(&v, &mut s);
        assert_eq!(s, r#"{"a":{"c":null,"d":[1,{"y":"é","z":1}]},"b":1}"#);
    }

    #[test]
    fn canonical_numbers_are_written_as_python_writes_them() {
        // The inputs as a client sends them; the expected text is Python's
        // `json.dumps(v, separators=(",", ":"))` of the same list, but for the 30-digit
        // integer, which Python keeps exact and the sim hashes as a float (its documented limit).
        let v: Value = serde_json::from_str(
            "[1.5e-7, 1e16, 1e15, 0.0001, 0.00001, 123.456, 100.0, -0.0, 1.5, -2.5e-10, \
             123456789012345678901234567890, 0.1, 5e-324, 1.7976931348623157e308, 12345678.9, \
             -1e22, 42, -7, 18446744073709551615]",
        )
        .unwrap();
        let mut s = String::new();
        canonical_json(&v, &mut s);
        assert_eq!(
            s,
            "[1.5e-07,1e+16,1000000000000000.0,0.0001,1e-05,123.456,100.0,-0.0,1.5,-2.5e-10,\
             1.2345678901234568e+29,0.1,5e-324,1.7976931348623157e+308,12345678.9,-1e+22,42,-7,\
             18446744073709551615]"
        );
    }

    #[test]
    fn body_hash_ignores_key_order_and_callbacks() {
        let a = body_sha256(
            "POST",
            "/v1/render",
            &json!({"x": 1, "callback": "http://a", "y": 2}),
        );
        let b = body_sha256(
            "POST",
            "/v1/render",
            &json!({"y": 2, "x": 1, "callback": "http://b"}),
        );
        assert_eq!(a, b);
        let expected: [u8; 32] = Sha256::digest(b"POST /v1/render\n{\"x\":1,\"y\":2}").into();
        assert_eq!(a, expected);
    }

    #[test]
    fn urls() {
        assert!(webhook_url_ok("https://example.com/hook"));
        assert!(webhook_url_ok("http://127.0.0.1:8080/hook"));
        assert!(!webhook_url_ok("http://example.com/hook"));
        assert!(!webhook_url_ok("ftp://example.com"));
        assert!(asset_missing("https://missing.invalid/a.png"));
        assert!(asset_missing("https://cdn.example.com/missing/a.png"));
        assert!(!asset_missing("https://cdn.example.com/a.png"));
        assert_eq!(
            query_pairs(Some("a=1&b=x%20y&c")),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "".into())
            ]
        );
    }
}
