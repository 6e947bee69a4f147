//! HMAC-SHA256 and constant-time comparison, for the providers' webhook signature schemes.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How a signature's bytes are written in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureEncoding {
    /// Hex digits, either case (the default).
    #[default]
    Hex,
    /// Standard base64.
    Base64,
}

impl SignatureEncoding {
    /// Writes `mac` (lowercase hex, or standard base64).
    pub fn encode(self, mac: &[u8]) -> String {
        match self {
            SignatureEncoding::Hex => hex::encode(mac),
            SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(mac),
        }
    }

    /// Reads a header's signature: trims it, strips `prefix` (any case) where present, and
    /// decodes it; `None` when it is not valid in this encoding.
    pub fn decode(self, given: &str, prefix: Option<&str>) -> Option<Vec<u8>> {
        let given = given.trim();
        let given = match prefix {
            Some(p) if given.len() >= p.len() && given.is_char_boundary(p.len()) => {
                let (head, tail) = given.split_at(p.len());
                if head.eq_ignore_ascii_case(p) {
                    tail
                } else {
                    given
                }
            }
            _ => given,
        };
        match self {
            SignatureEncoding::Hex => hex::decode(given).ok(),
            SignatureEncoding::Base64 => {
                base64::engine::general_purpose::STANDARD.decode(given).ok()
            }
        }
    }

    /// Whether `given` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
    pub fn verify(self, key: &[u8], message: &[&[u8]], given: &str, prefix: Option<&str>) -> bool {
        self.decode(given, prefix)
            .is_some_and(|bytes| constant_time_eq(&hmac_sha256(key, message), &bytes))
    }
}

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

/// Whether `given` (case-insensitive hex, optionally behind `prefix`) is the HMAC of
/// `message` under `key`.
pub fn verify_hex(key: &[u8], message: &[&[u8]], given: &str, prefix: Option<&str>) -> bool {
    SignatureEncoding::Hex.verify(key, message, given, prefix)
}

/// Whether standard-base64 `given` is the HMAC of `message` under `key`.
pub fn verify_base64(key: &[u8], message: &[&[u8]], given: &str) -> bool {
    SignatureEncoding::Base64.verify(key, message, given, None)
}

/// Hex HMAC-SHA256, for signing (tests, local senders).
pub fn sign_hex(key: &[u8], message: &[&[u8]]) -> String {
    SignatureEncoding::Hex.encode(&hmac_sha256(key, message))
}

/// Base64 HMAC-SHA256, for signing.
pub fn sign_base64(key: &[u8], message: &[&[u8]]) -> String {
    SignatureEncoding::Base64.encode(&hmac_sha256(key, message))
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
