//! HMAC-SHA256 and constant-time comparison, for the providers' webhook signature schemes.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    for part in message {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether `given_hex` (case-insensitive hex, optionally behind `prefix`) is the HMAC of
/// `message` under `key`.
pub fn verify_hex(key: &[u8], message: &[&[u8]], given: &str, prefix: Option<&str>) -> bool {
    let given = given.trim();
    let given = match prefix {
        Some(p) => given.strip_prefix(p).unwrap_or(given),
        None => given,
    };
    match hex::decode(given.to_ascii_lowercase()) {
        Ok(bytes) => constant_time_eq(&hmac_sha256(key, message), &bytes),
        Err(_) => false,
    }
}

/// Whether standard-base64 `given` is the HMAC of `message` under `key`.
pub fn verify_base64(key: &[u8], message: &[&[u8]], given: &str) -> bool {
    match base64::engine::general_purpose::STANDARD.decode(given.trim()) {
        Ok(bytes) => constant_time_eq(&hmac_sha256(key, message), &bytes),
        Err(_) => false,
    }
}

/// Hex HMAC-SHA256, for signing (tests, the simulator's peers).
pub fn sign_hex(key: &[u8], message: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, message))
}

/// Base64 HMAC-SHA256, for signing.
pub fn sign_base64(key: &[u8], message: &[&[u8]]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_only_the_right_mac() {
        let sig = sign_hex(b"k", &[b"1.", b"body"]);
        assert!(verify_hex(b"k", &[b"1.body"], &sig, None));
        assert!(verify_hex(
            b"k",
            &[b"1.body"],
            &format!("sha256={sig}"),
            Some("sha256=")
        ));
        assert!(verify_hex(b"k", &[b"1.body"], &sig.to_uppercase(), None));
        assert!(!verify_hex(b"k", &[b"1.bodY"], &sig, None));
        assert!(!verify_hex(b"x", &[b"1.body"], &sig, None));
        assert!(!verify_hex(b"k", &[b"1.body"], "zz", None));
        let b64 = sign_base64(b"k", &[b"m"]);
        assert!(verify_base64(b"k", &[b"m"], &b64));
        assert!(!verify_base64(b"k", &[b"n"], &b64));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
