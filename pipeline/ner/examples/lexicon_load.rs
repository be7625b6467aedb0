//! Load time of a large SoftLexicon word list.
//!
//! ```text
//! cargo run --release -p quarry-ner --example lexicon_load -- [--words 100000] [--file lexicon.tsv]
//! ```
//!
//! Without `--file`, writes a synthetic `lexicon.tsv` of `--words` distinct CJK words (2..=6
//! characters, deterministic) to a temporary directory. Prints one JSON object: words,
//! bytes, load_ms (best of 5: read, parse, duplicate check, automaton build),
//! automaton_bytes, and match_ms_per_10k_chars (all overlapping matches + SoftLexicon sets
//! over 10,000 characters of text drawn from the same alphabet).

use quarry_ner::features::{CharVocab, FeatureExtractor};
use quarry_ner::lexicon::Lexicon;
use std::path::PathBuf;
use std::time::Instant;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A character from a 3,500-character slice of CJK Unified Ideographs, skewed towards
/// the start (so words share prefixes as real vocabularies do).
fn cjk(r: &mut Rng) -> char {
    let k = r.below(3500).min(r.below(3500));
    char::from_u32(0x4E00 + k as u32).unwrap()
}

fn main() {
    let mut words = 100_000usize;
    let mut file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--words" => words = args.next().and_then(|v| v.parse().ok()).expect("--words N"),
            "--file" => file = args.next().map(PathBuf::from),
            other => panic!("unknown argument {other}"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = match file {
        Some(p) => p,
        None => {
            let mut r = Rng(42);
            let mut seen = std::collections::HashSet::new();
            let mut out = String::new();
            while seen.len() < words {
                let len = 2 + r.below(5) as usize;
                let w: String = (0..len).map(|_| cjk(&mut r)).collect();
                if seen.insert(w.clone()) {
                    out.push_str(&format!("{w}\t{}\n", 1 + r.below(100_000)));
                }
            }
            let p = tmp.path().join("lexicon.tsv");
            std::fs::write(&p, out).unwrap();
            p
        }
    };
    let bytes = std::fs::metadata(&path).unwrap().len();
    let mut best = f64::INFINITY;
    let mut lex = None;
    for _ in 0..5 {
        let t = Instant::now();
        let l = Lexicon::load(&path).unwrap_or_else(|e| panic!("{e}"));
        best = best.min(t.elapsed().as_secs_f64());
        lex = Some(l);
    }
    let lex = lex.unwrap();
    let automaton = lex.automaton_bytes();
    let n_words = lex.len();
    let mut r = Rng(7);
    let text: String = (0..10_000).map(|_| cjk(&mut r)).collect();
    let fx = FeatureExtractor::new(CharVocab::from_chars(&["<pad>", "<unk>"]), lex, 4);
    let t = Instant::now();
    let f = fx.sentence(&text);
    let match_ms = t.elapsed().as_secs_f64() * 1e3;
    let v = serde_json::json!({
        "file": path, "words": n_words, "bytes": bytes, "load_ms": best * 1e3,
        "automaton_bytes": automaton, "match_ms_per_10k_chars": match_ms,
        "features": f.lex_ids.len(),
    });
    println!("{v}");
}
