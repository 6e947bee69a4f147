//! Batch lines: any text parses without panicking, every non-blank line is accounted for, and a
//! well-formed line round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mediajobs::batch::parse_batch;
use proptest::prelude::*;

proptest! {
    #[test]
    fn never_panics_and_never_drops_a_line(text in "(.{0,60}\n){0,12}") {
        let p = parse_batch(&text);
        let counted = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
            .count();
        prop_assert_eq!(p.lines.len() + p.errors.len(), counted);
    }

    #[test]
    fn well_formed_lines_round_trip(
        provider in prop_oneof!["vibepeak", "vidiking"],
        key in "[a-z0-9-]{1,12}",
        field in "[a-z]{1,8}",
        value in ".{0,20}",
    ) {
        let line = serde_json::json!({"provider": provider, "key": key, "request": {field.clone(): value}});
        let p = parse_batch(&line.to_string());
        prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
        prop_assert_eq!(&p.lines[0].key, &key);
        prop_assert_eq!(p.lines[0].provider.as_str(), provider);
        prop_assert_eq!(&p.lines[0].request[&field], &serde_json::Value::from(value));
    }
}
