//! Real data, real encoder: SciFact documents expanded by splade-tiny through ort, SciFact
//! queries weighted by corpus IDF; the pruned top-k must equal brute force and the
//! exhaustive scorer on every query. Needs the models (`quarry models fetch`, run by the
//! README's test command) and ../shared/data; fails with the error that says so otherwise.

use quarry_core::config::AnalysisConfig;
use quarry_core::{Document, QuarryConfig};
use quarry_index::sparse::{self, ModelExpander, SparseSettings};
use quarry_index::{QuarryIndex, SearchMode};
use quarry_models::registry::Registry;
use quarry_models::sparse::{QueryTokens, SparseEncoder, SparsePruning};
use quarry_models::{EncoderOptions, Family, Manifest, ModelHome, ModelSpec};
use std::io::BufRead;
use std::sync::Arc;

fn lines(name: &str, n: usize) -> Vec<serde_json::Value> {
    let p = quarry_core::shared_data::dir()
        .join("retrieval/scifact")
        .join(name);
    let f = std::fs::File::open(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set QUARRY_SHARED_DATA to ../shared/data)",
            p.display()
        )
    });
    std::io::BufReader::new(f)
        .lines()
        .take(n)
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

#[test]
fn scifact_pruned_top_k_equals_brute_force() {
    let reg = Registry::new(
        Manifest::builtin(),
        ModelHome::new(QuarryConfig::default().resolved_home()),
    );
    let spec: ModelSpec = "splade-tiny".parse().unwrap();
    let opts = EncoderOptions {
        intra_threads: 2,
        ..Default::default()
    };
    let encoder = SparseEncoder::load_with(&reg, &spec, &opts, SparsePruning::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let tok_path = reg.resolve(&spec, Family::SparseEncoder).unwrap().tokenizer;
    let expander = ModelExpander {
        encoder,
        tokens: QueryTokens::load(&tok_path, 1 << 20).unwrap(),
    };
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    idx.enable_sparse(
        SparseSettings::default(),
        Arc::new(QueryTokens::load(&tok_path, 256).unwrap()),
        Some(Arc::new(expander)),
    )
    .unwrap();
    let docs: Vec<Document> = lines("corpus.jsonl", 240)
        .iter()
        .map(|d| {
            Document::new(d["_id"].as_str().unwrap())
                .with_field("title", d["title"].as_str().unwrap())
                .with_field("text", d["text"].as_str().unwrap())
        })
        .collect();
    idx.add_documents(&docs[..120], 50 << 20).unwrap();
    idx.add_documents(&docs[120..], 50 << 20).unwrap();
    idx.delete_documents(&[docs[5].id.as_str(), docs[130].id.as_str()], 50 << 20)
        .unwrap();
    let searcher = idx.searcher();
    let mut nonempty = 0;
    for q in lines("queries.jsonl", 300) {
        let text = q["text"].as_str().unwrap();
        let sq = idx.sparse_query(text).unwrap();
        for k in [10, 100] {
            let brute =
                sparse::top_k_brute_force(&searcher, idx.fields().sparse_vec, sq.terms(), k)
                    .unwrap();
            assert_eq!(
                sparse::top_k(&searcher, &sq, k).unwrap(),
                brute,
                "{text:?} k={k}"
            );
            assert_eq!(
                sparse::top_k_exhaustive(&searcher, &sq, k).unwrap(),
                brute,
                "{text:?}"
            );
            nonempty += usize::from(!brute.is_empty());
        }
    }
    assert!(
        nonempty > 500,
        "queries should match documents ({nonempty})"
    );
    // the document about diffusion MRI of newborn white matter (the corpus' first) is found
    // by a paraphrase sharing few exact words
    let hits = idx
        .search_ids_mode(
            "brain water diffusion in infants measured by MRI",
            3,
            SearchMode::Sparse,
        )
        .unwrap();
    assert_eq!(hits[0].0, docs[0].id, "{hits:?}");
}
