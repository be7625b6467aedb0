//! The Rust features, Viterbi and chunking against `tests/fixtures/features_ref.json`, written
//! by the Python reference (`models/recipes/ner/features.py --fixture`): ids exact, weights
//! bit-exact f32, paths and spans exact.

use quarry_ner::crf::{tags_to_spans, viterbi};
use quarry_ner::features::{CharVocab, FeatureExtractor};
use quarry_ner::lexicon::Lexicon;
use serde_json::Value;

fn fixture() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/features_ref.json"
    );
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {p}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn flat_f32(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat_f32).collect(),
        x => vec![x.as_f64().unwrap() as f32],
    }
}

fn flat_i64(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat_i64).collect(),
        x => vec![x.as_i64().unwrap()],
    }
}

#[test]
fn features_match_python_reference() {
    let fx = fixture();
    let words: Vec<(String, u64)> = fx["lexicon"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
        .collect();
    let chars: Vec<String> = fx["chars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let l = fx["max_words"].as_u64().unwrap() as usize;
    let ex = FeatureExtractor::new(
        CharVocab::from_chars(&chars),
        Lexicon::from_words(&words).unwrap(),
        l,
    );
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let f = ex.sentence(text);
        assert_eq!(f.len, text.chars().count(), "{text}");
        assert_eq!(
            f.char_ids,
            flat_i64(&case["char_ids"]),
            "char ids of {text}"
        );
        assert_eq!(f.lex_ids, flat_i64(&case["lex_ids"]), "lex ids of {text}");
        let want = flat_f32(&case["lex_weights"]);
        assert_eq!(f.lex_weights.len(), want.len());
        for (k, (a, b)) in f.lex_weights.iter().zip(&want).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "weight {k} of {text}: {a} vs {b} (position {}, set {}, slot {})",
                k / (4 * l),
                k / l % 4,
                k % l
            );
        }
    }
}

#[test]
fn viterbi_matches_python_reference() {
    let fx = fixture();
    let cases = fx["viterbi"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let e = flat_f32(&case["emissions"]);
        let len = case["emissions"].as_array().unwrap().len();
        let tr = flat_f32(&case["transitions"]);
        let st = f32s(&case["start"]);
        let en = f32s(&case["end"]);
        let n = st.len();
        let want: Vec<usize> = case["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(viterbi(&e, len, &tr, &st, &en, n), want);
    }
}

#[test]
fn spans_match_python_reference() {
    let fx = fixture();
    for case in fx["spans"].as_array().unwrap() {
        let tags: Vec<&str> = case["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let want: Vec<(usize, usize, String)> = case["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s[0].as_u64().unwrap() as usize,
                    s[1].as_u64().unwrap() as usize,
                    s[2].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(tags_to_spans(&tags), want, "{tags:?}");
    }
}
