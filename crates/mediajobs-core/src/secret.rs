//! Secrets that never print.

use std::fmt;

/// An API key or webhook secret. `Debug` and `Display` print `***`; only [`Secret::expose`]
/// gives the value, at the one place it goes on the wire or into an HMAC.
///
/// ```
/// use mediajobs_core::Secret;
/// let key = Secret::new("vpk_test_abc");
/// assert_eq!(format!("{key:?} {key}"), "Secret(***) ***");
/// assert_eq!(key.expose(), "vpk_test_abc");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the wire or a MAC. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("whsec_supersecret");
        let shown = format!("{s} {s:?} {:?}", Some(&s));
        assert!(!shown.contains("supersecret"), "{shown}");
        assert_eq!(s.expose(), "whsec_supersecret");
    }
}
