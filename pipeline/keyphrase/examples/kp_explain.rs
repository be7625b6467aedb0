//! Trains on every document of a data set but one, and prints that document's best
//! candidates with their features and gold marks (a debugging aid).
//!
//!     cargo run --release -p quarry-keyphrase --example kp_explain -- DATASET_DIR DOC_ID [K]
use quarry_core::phrase::PhraseNormalizer;
use quarry_keyphrase::features::{features, DocContext, FEATURES};
use quarry_keyphrase::model::TrainOptions;
use quarry_keyphrase::{train, ExtractOptions, TrainDoc};
use std::collections::HashSet;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .expect("usage: kp_explain DATASET_DIR DOC_ID [K]"),
    );
    let id = args.next().expect("DOC_ID");
    let k: usize = args.next().map(|s| s.parse().expect("K")).unwrap_or(15);
    let docs = quarry_eval::import::keyphrase::load_keyphrase_dir(&dir).expect("dataset");
    let opts = ExtractOptions {
        coref: quarry_keyphrase::CorefMode::Off,
        filter: false,
        ..ExtractOptions::default()
    };
    let rest: Vec<TrainDoc<'_>> = docs
        .iter()
        .filter(|d| d.id != id)
        .map(|d| TrainDoc {
            text: &d.text,
            gold: &d.gold,
            category: quarry_keyphrase::category_of(&d.id),
        })
        .collect();
    let ranker = train(&rest, &opts, &TrainOptions::default()).expect("train");
    let doc = docs.iter().find(|d| d.id == id).expect("no such document");
    let n = PhraseNormalizer::new();
    let gold: HashSet<String> = doc.gold.iter().map(|g| n.normalize(g)).collect();
    let chars: Vec<char> = doc.text.chars().collect();
    let a = quarry_keyphrase::text::analyze(&doc.text);
    let cands = quarry_keyphrase::candidates::candidates(&chars, &a, opts.max_words, &n, &|_| true);
    let ents: rustc_hash::FxHashMap<String, usize> = Default::default();
    let rows = features(
        &cands,
        &ranker.stats,
        &DocContext {
            analyzed: &a,
            entities: &ents,
            pooled: &ents,
            category: quarry_keyphrase::category_of(&id),
            leave_out: None,
        },
    );
    let scores = ranker.score_rows(&rows);
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]));
    println!("{}", FEATURES.join(" "));
    for &i in order.iter().take(k) {
        let mark = if gold.contains(&cands[i].key) {
            "GOLD"
        } else {
            "    "
        };
        let f: Vec<String> = rows[i].iter().map(|v| format!("{v:.2}")).collect();
        println!(
            "{mark} {:+.3} {:<24} {}",
            scores[i],
            cands[i].surface,
            f.join(" ")
        );
    }
}
