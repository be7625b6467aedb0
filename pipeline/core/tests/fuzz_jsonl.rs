//! Property tests: the JSONL reader and document parser never panic, and account for every
//! line of arbitrary input.

use proptest::prelude::*;
use quarry_core::jsonl::{parse_document, JsonlReader};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn reader_never_panics_and_reports_in_line_order(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut last = 0u64;
        for item in JsonlReader::new(&bytes[..]).with_max_line_bytes(64) {
            let line = match &item { Ok(d) => d.line, Err(e) => e.line };
            prop_assert!(line > last);
            last = line;
        }
        let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        prop_assert!(last <= newlines + 1);
    }

    #[test]
    fn parse_document_never_panics(s in "\\PC{0,200}") {
        let _ = parse_document(&s);
    }

    #[test]
    fn json_shaped_input_round_trips(id in "[a-z0-9]{1,8}", title in "\\PC{0,40}", body in "\\PC{0,80}") {
        let line = serde_json::json!({"id": id, "title": title, "body": body}).to_string();
        let d = parse_document(&line).unwrap();
        prop_assert_eq!(&d.id, &id.trim().to_string());
        prop_assert_eq!(d.field("title"), Some(title.as_str()));
        prop_assert_eq!(d.field("body"), Some(body.as_str()));
        let again = parse_document(&d.to_flat_json().to_string()).unwrap();
        prop_assert_eq!(again.fields, d.fields);
    }
}
