//! The candidate ceiling of a key-phrase data set: how many gold phrases are candidates at
//! all, and the nDCG@10 / P@10 a perfect ranker of the candidates would reach.
//!
//!     cargo run --release -p quarry-keyphrase --example kp_oracle -- DATASET_DIR [MAX_WORDS]
use quarry_core::phrase::PhraseNormalizer;
use quarry_keyphrase::candidates::candidates;
use quarry_keyphrase::text::analyze;
use std::collections::HashSet;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .expect("usage: kp_oracle DATASET_DIR [MAX_WORDS]"),
    );
    let max_words: usize = args
        .next()
        .map(|s| s.parse().expect("MAX_WORDS"))
        .unwrap_or(3);
    let docs = quarry_eval::import::keyphrase::load_keyphrase_dir(&dir).expect("dataset");
    let n = PhraseNormalizer::new();
    let (mut recall, mut ndcg, mut p10, mut short) = (0.0, 0.0, 0.0, 0usize);
    let mut gold_total = 0usize;
    let mut found_total = 0usize;
    for d in &docs {
        let chars: Vec<char> = d.text.chars().collect();
        let a = analyze(&d.text);
        let cands: HashSet<String> = candidates(&chars, &a, max_words, &n, &|_| true)
            .into_iter()
            .map(|c| c.key)
            .collect();
        let gold: HashSet<String> = d
            .gold
            .iter()
            .map(|g| n.normalize(g))
            .filter(|g| !g.is_empty())
            .collect();
        let found = gold.iter().filter(|g| cands.contains(*g)).count();
        gold_total += gold.len();
        found_total += found;
        if d.text.chars().count() < 200 {
            short += 1;
        }
        recall += if gold.is_empty() {
            0.0
        } else {
            found as f64 / gold.len() as f64
        };
        let disc = |i: usize| 1.0 / ((i + 2) as f64).log2();
        let ideal: f64 = (0..10.min(gold.len())).map(disc).sum();
        let got: f64 = (0..10.min(found)).map(disc).sum();
        ndcg += if ideal > 0.0 { got / ideal } else { 0.0 };
        p10 += 10.min(found) as f64 / 10.0;
    }
    let m = docs.len() as f64;
    println!(
        "docs {} (under 200 chars: {short}), gold {gold_total}, gold among candidates {found_total} ({:.3}); macro candidate recall {:.4}; oracle nDCG@10 {:.4}, oracle P@10 {:.4}",
        docs.len(),
        found_total as f64 / gold_total as f64,
        recall / m,
        ndcg / m,
        p10 / m
    );
}
