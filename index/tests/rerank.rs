//! Re-ranking inside search: the first stage's top N are re-scored by a pair scorer, the
//! rest follows. A deterministic scorer (how many of its passage words are "gold") stands in
//! for the cross-encoder, so the expected order is computed independently here.

use quarry_core::config::AnalysisConfig;
use quarry_core::Document;
use quarry_index::rerank::{PairScorer, RerankFusion, RerankParams};
use quarry_index::{QuarryIndex, Reranker, SearchMode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Scores a passage by its count of the word "gold"; records how many passages it saw.
struct GoldCounter {
    seen: AtomicUsize,
    fail: bool,
}

impl PairScorer for GoldCounter {
    fn name(&self) -> &str {
        "gold-counter"
    }
    fn score(&self, _query: &str, passages: &[&str]) -> Result<Vec<f32>, String> {
        if self.fail {
            return Err("model exploded".into());
        }
        self.seen.fetch_add(passages.len(), Ordering::SeqCst);
        Ok(passages
            .iter()
            .map(|p| p.split_whitespace().filter(|w| *w == "gold").count() as f32)
            .collect())
    }
}

/// 40 documents all matching "liver"; BM25 prefers short ones, `gold` counts grow with i.
fn index() -> QuarryIndex {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    let docs: Vec<Document> = (0..40)
        .map(|i| {
            let filler = vec!["tissue"; i];
            let gold = vec!["gold"; i % 7];
            Document::new(format!("d{i}"))
                .with_field("title", format!("liver {}", gold.join(" ")))
                .with_field("text", filler.join(" "))
        })
        .collect();
    idx.add_documents(&docs, 20 << 20).unwrap();
    idx
}

fn attach(idx: &QuarryIndex, params: RerankParams, fail: bool) -> Arc<GoldCounter> {
    let s = Arc::new(GoldCounter {
        seen: AtomicUsize::new(0),
        fail,
    });
    idx.set_reranker(Some(Reranker {
        scorer: s.clone(),
        params,
    }));
    s
}

#[test]
fn the_head_is_reordered_by_the_scorer_and_the_tail_keeps_first_stage_order() {
    let idx = index();
    let first = idx.search_ids_mode("liver", 40, SearchMode::Bm25).unwrap();
    assert_eq!(first.len(), 40);
    let n = 12;
    let s = attach(
        &idx,
        RerankParams {
            candidates: n,
            fusion: RerankFusion::None,
            weight: 1.0,
        },
        false,
    );
    let got = idx.search_ids_mode("liver", 40, SearchMode::Bm25).unwrap();
    assert_eq!(s.seen.load(Ordering::SeqCst), n);
    // Oracle: stable sort of the first-stage head by gold count, then the tail unchanged.
    let gold = |id: &str| (id[1..].parse::<usize>().unwrap() % 7) as f32;
    let mut head: Vec<&(String, f32)> = first[..n].iter().collect();
    head.sort_by(|a, b| gold(&b.0).total_cmp(&gold(&a.0)));
    let want: Vec<&str> = head
        .iter()
        .map(|x| x.0.as_str())
        .chain(first[n..].iter().map(|x| x.0.as_str()))
        .collect();
    let ids: Vec<&str> = got.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(ids, want);
    assert!(
        got.windows(2).all(|w| w[0].1 >= w[1].1),
        "scores must not increase"
    );
    assert!(
        got[n - 1].1 > got[n].1,
        "the tail lies strictly below the head"
    );

    // k below the candidates: still N re-scored, k returned.
    let top3 = idx.search_ids_mode("liver", 3, SearchMode::Bm25).unwrap();
    assert_eq!(top3.len(), 3);
    assert_eq!(
        top3.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        want[..3]
    );
    // The snippet path (search_mode) returns the same order.
    let hits = idx.search_mode("liver", 5, SearchMode::Bm25, true).unwrap();
    let hit_ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(hit_ids, want[..5]);
}

#[test]
fn linear_fusion_with_weight_zero_is_the_first_stage() {
    let idx = index();
    let first: Vec<String> = idx
        .search_ids_mode("liver", 20, SearchMode::Bm25)
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    attach(
        &idx,
        RerankParams {
            candidates: 20,
            fusion: RerankFusion::Linear,
            weight: 0.0,
        },
        false,
    );
    let got: Vec<String> = idx
        .search_ids_mode("liver", 20, SearchMode::Bm25)
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(got, first);
}

#[test]
fn scorer_errors_surface_and_empty_results_stay_empty() {
    let idx = index();
    attach(&idx, RerankParams::default(), true);
    let err = idx
        .search_ids_mode("liver", 10, SearchMode::Bm25)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gold-counter") && err.contains("exploded"),
        "{err}"
    );
    let s = attach(&idx, RerankParams::default(), false);
    assert!(idx
        .search_ids_mode("kidney", 10, SearchMode::Bm25)
        .unwrap()
        .is_empty());
    assert!(idx
        .search_ids_mode("", 10, SearchMode::Bm25)
        .unwrap()
        .is_empty());
    assert_eq!(s.seen.load(Ordering::SeqCst), 0);
    // Zero candidates: no scorer call, first-stage order.
    attach(
        &idx,
        RerankParams {
            candidates: 0,
            ..RerankParams::default()
        },
        true,
    );
    assert_eq!(
        idx.search_ids_mode("liver", 5, SearchMode::Bm25)
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn passages_put_the_title_first() {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    idx.add_documents(
        &[Document::new("a")
            .with_field("text", "lowers risk.")
            .with_field("empty", "  ")
            .with_field("title", " Aspirin ")
            .with_field("note", "(review)")],
        20 << 20,
    )
    .unwrap();
    let top = idx.bm25_ranked("aspirin", 1).unwrap();
    // title first, then the others (the stored document keeps no field order)
    let p = idx.passages(&top).unwrap();
    assert!(
        p[0].starts_with("Aspirin ") && p[0].contains("lowers risk.") && p[0].contains("(review)"),
        "{p:?}"
    );
}
