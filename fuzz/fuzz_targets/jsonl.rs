//! Fuzzes the JSONL document reader: any bytes, no panic, line numbers strictly increase.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_core::jsonl::JsonlReader;

fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    for item in JsonlReader::new(data).with_max_line_bytes(4096) {
        let line = match &item {
            Ok(d) => d.line,
            Err(e) => e.line,
        };
        assert!(line > last);
        last = line;
    }
});
