//! Fuzzes English co-reference resolution, word/sentence analysis and key-phrase candidates,
//! and the co-reference gold reader: any bytes, no panic; every span lies in the text and
//! points at what it claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_core::phrase::PhraseNormalizer;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let chars: Vec<char> = text.chars().collect();
    let r = quarry_coref::resolve_english(text);
    assert_eq!(r.normalized.map.original_len(), chars.len());
    for c in &r.clusters {
        for m in &c.mentions {
            assert!(m.start <= m.name_start && m.name_start < m.end && m.end <= chars.len());
            assert_eq!(chars[m.start..m.end].iter().collect::<String>(), m.text);
        }
    }
    let a = quarry_keyphrase::text::analyze(text);
    let n = PhraseNormalizer::new();
    for c in quarry_keyphrase::candidates::candidates(&chars, &a, 3, &n, &|_| true) {
        for o in &c.occurrences {
            assert!(o.start < o.end && o.end <= chars.len());
        }
    }
    let dir = std::env::temp_dir().join(format!("quarry-fuzz-coref-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join("gold.jsonl");
    if std::fs::write(&p, data).is_ok() {
        let _ = quarry_eval::import::coref::load_coref(&p);
    }
});
