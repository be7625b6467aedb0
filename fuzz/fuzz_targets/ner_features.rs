//! Fuzz the NER input side: lexicon.tsv parsing on arbitrary text, and fold + SoftLexicon
//! features + sentence splitting on arbitrary text over a small fixed lexicon, checking the
//! invariants the ONNX inputs rely on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_ner::features::{CharVocab, FeatureExtractor};
use quarry_ner::lexicon::Lexicon;
use std::path::Path;
use std::sync::OnceLock;

fn extractor() -> &'static FeatureExtractor {
    static X: OnceLock<FeatureExtractor> = OnceLock::new();
    X.get_or_init(|| {
        let words = [
            ("肝右叶", 5u64),
            ("右叶", 3),
            ("低密度", 7),
            ("密度", 2),
            ("结节", 9),
            ("肝", 1),
            ("ct", 4),
        ];
        let chars: Vec<String> = [
            "<pad>", "<unk>", "肝", "右", "叶", "低", "密", "度", "结", "节", "c", "t",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        FeatureExtractor::new(
            CharVocab::from_chars(&chars),
            Lexicon::from_words(&words).unwrap(),
            3,
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Any text either parses as a lexicon or gives an error, never a panic.
    let _ = Lexicon::parse(text, Path::new("fuzz.tsv"));

    let x = extractor();
    let f = x.sentence(text);
    let n = text.chars().count();
    assert_eq!(f.len, n);
    assert_eq!(f.char_ids.len(), n);
    assert_eq!(f.lex_ids.len(), n * 4 * x.max_words);
    assert_eq!(f.lex_weights.len(), f.lex_ids.len());
    for pos in 0..n {
        let mut total = 0f32;
        for s in 0..4 {
            let row = (pos * 4 + s) * x.max_words;
            assert!(f.lex_ids[row] >= 1, "every set has a word or NONE");
            for k in 0..x.max_words {
                let w = f.lex_weights[row + k];
                assert!(w.is_finite() && w >= 0.0);
                if f.lex_ids[row + k] >= 2 {
                    total += w;
                }
            }
        }
        assert!(
            total == 0.0 || (total - 4.0).abs() < 1e-3,
            "word weights sum to 4: {total}"
        );
    }
    let chars: Vec<char> = text.chars().collect();
    let chunks = quarry_ner::split::chunks(&chars, 16);
    let mut at = 0;
    for (s, e) in chunks {
        assert!(s == at && e > s && e - s <= 16);
        at = e;
    }
    assert_eq!(at, n);
});
