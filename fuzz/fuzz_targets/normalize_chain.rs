//! Fuzzes the whole normalization path: the normalizer chain with canonical sizes, TN and
//! ITN, and a DAHSF digest (radiology) mapped back to the original. Checks that nothing
//! panics and every offset lands inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_core::Span;
use quarry_normalize::dahsf::{bundled_forest_root, ForestSet};
use quarry_normalize::stage::Normalizer;
use std::sync::OnceLock;

fn forests() -> &'static ForestSet {
    static F: OnceLock<ForestSet> = OnceLock::new();
    F.get_or_init(|| ForestSet::open_domains(bundled_forest_root(), &["radiology"]).expect("bundled forests"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let n = Normalizer::new().normalize(text);
    let len = text.chars().count();
    let nlen = n.text.chars().count();
    for i in 0..nlen {
        let s = n.to_original(Span::new(i, i + 1));
        assert!(s.start <= s.end && s.end <= len, "char {i} maps to {s:?} of {len}");
    }
    for t in [quarry_normalize::tn::itn(text), quarry_normalize::tn::tn(text)] {
        let s = t.to_original(Span::new(0, t.text.chars().count()));
        assert!(s.end <= len);
    }
    let engine = forests().get("radiology").expect("radiology");
    let d = engine.digest_mapped(text, &n);
    for w in &d.words {
        assert!(w.span.end <= len && w.span.start <= w.span.end);
    }
});
