//! The pruned sparse scorer against brute force (qdrant's indexed-vs-plain tests are the
//! model): MaxScore top-k, the exhaustive tantivy scorer and tantivy's `TopDocs` over
//! `SparseQuery` must all equal a plain dot product over the stored vectors, on random
//! corpora and queries, with ties, several segments and deleted documents.

use proptest::prelude::*;
use quarry_core::config::AnalysisConfig;
use quarry_core::Document;
use quarry_index::sparse::{self, Expander, QueryTokenizer, SparseSettings};
use quarry_index::QuarryIndex;
use std::sync::Arc;
use tantivy::collector::TopDocs;

/// Words -> stable ids; a toy stand-in for a wordpiece tokenizer.
struct WordTokens;

fn word_id(w: &str) -> u32 {
    // FNV-1a, folded into a small vocabulary so that queries share tokens with documents
    let mut h: u32 = 0x811c9dc5;
    for b in w.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    h % 4000
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

impl QueryTokenizer for WordTokens {
    fn unique_ids(&self, text: &str) -> Result<Vec<u32>, String> {
        let mut v: Vec<u32> = words(text).map(|w| word_id(&w)).collect();
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }
    fn token_id(&self, token: &str) -> Option<u32> {
        Some(word_id(token))
    }
}

/// A deterministic "expansion": every word weighted by a hash-derived value times its count,
/// plus a neighbouring id (an expansion term the text does not contain).
struct ToyExpander;

impl Expander for ToyExpander {
    fn expand(&self, texts: &[&str]) -> Result<Vec<sparse::Expansion>, String> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut m = std::collections::BTreeMap::<u32, f32>::new();
                for w in words(t) {
                    let id = word_id(&w);
                    let base = 0.05 + (id % 97) as f32 / 30.0;
                    *m.entry(id).or_default() += base;
                    let e = m.entry((id + 1) % 4000).or_default();
                    *e = e.max(0.3);
                }
                let ids = WordTokens.unique_ids(t).unwrap();
                (m.into_iter().collect(), ids)
            })
            .collect())
    }
    fn name(&self) -> String {
        "toy".into()
    }
}

/// Attaches the toy tokenizer and expander.
fn attach_toy(idx: &QuarryIndex) {
    idx.enable_sparse(
        SparseSettings {
            model: "toy".into(),
            ..Default::default()
        },
        Arc::new(WordTokens),
        Some(Arc::new(ToyExpander)),
    )
    .unwrap();
}

fn index_with(docs: &[Document], segments: usize) -> QuarryIndex {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    attach_toy(&idx);
    let per = docs.len().div_ceil(segments.max(1)).max(1);
    for chunk in docs.chunks(per) {
        idx.add_documents(chunk, 20 << 20).unwrap();
    }
    idx
}

const VOCAB: [&str; 24] = [
    "liver",
    "kidney",
    "lesion",
    "cyst",
    "normal",
    "mass",
    "enhancement",
    "ct",
    "mri",
    "cell",
    "protein",
    "gene",
    "cancer",
    "risk",
    "trial",
    "dose",
    "the",
    "of",
    "and",
    "patients",
    "increase",
    "reduce",
    "effect",
    "study",
];

fn doc_from(i: usize, picks: &[usize]) -> Document {
    let text: Vec<&str> = picks.iter().map(|&p| VOCAB[p % VOCAB.len()]).collect();
    Document::new(format!("d{i}")).with_field("text", text.join(" "))
}

/// Checks every path against brute force for one query.
fn check(idx: &QuarryIndex, query: &str, k: usize) {
    let q = idx.sparse_query(query).unwrap();
    let searcher = idx.searcher();
    let brute =
        sparse::top_k_brute_force(&searcher, idx.fields().sparse_vec, q.terms(), k).unwrap();
    let pruned = sparse::top_k(&searcher, &q, k).unwrap();
    let exhaustive = sparse::top_k_exhaustive(&searcher, &q, k).unwrap();
    assert_eq!(
        pruned, brute,
        "MaxScore vs brute force for {query:?}, k={k}"
    );
    assert_eq!(
        exhaustive, brute,
        "exhaustive vs brute force for {query:?}, k={k}"
    );
    if k > 0 && !q.terms().is_empty() {
        // tantivy's own top-k collector drives Weight::for_each_pruning
        let td = searcher.search(&q, &TopDocs::with_limit(k)).unwrap();
        let got: Vec<(u64, tantivy::DocAddress)> = td
            .iter()
            .map(|(s, a)| (((*s / q.unit()).round()) as u64, *a))
            .collect();
        let want: Vec<(u64, tantivy::DocAddress)> =
            brute.iter().map(|h| (h.units, h.addr)).collect();
        let mut g = got.clone();
        let mut w = want.clone();
        g.sort();
        w.sort();
        // same scores in the same order; tied documents at the cut may differ by address
        assert_eq!(
            got.iter().map(|x| x.0).collect::<Vec<_>>(),
            want.iter().map(|x| x.0).collect::<Vec<_>>(),
            "TopDocs scores for {query:?}"
        );
        let last = want.last().map(|x| x.0).unwrap_or(0);
        let strict = |v: &[(u64, tantivy::DocAddress)]| -> Vec<(u64, tantivy::DocAddress)> {
            v.iter().filter(|x| x.0 > last).copied().collect()
        };
        assert_eq!(
            strict(&g),
            strict(&w),
            "TopDocs above the cut for {query:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn pruned_equals_brute_force(
        docs in prop::collection::vec(prop::collection::vec(0usize..24, 0..30), 1..120),
        queries in prop::collection::vec(prop::collection::vec(0usize..24, 0..8), 1..12),
        segments in 1usize..4,
        k in prop::sample::select(vec![1usize, 3, 10, 50, 1000]),
        delete_every in 0usize..6,
    ) {
        let docs: Vec<Document> = docs.iter().enumerate().map(|(i, p)| doc_from(i, p)).collect();
        let idx = index_with(&docs, segments);
        if delete_every > 1 {
            let ids: Vec<String> = (0..docs.len()).step_by(delete_every).map(|i| format!("d{i}")).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            idx.delete_documents(&refs, 20 << 20).unwrap();
        }
        for q in &queries {
            let text: Vec<&str> = q.iter().map(|&p| VOCAB[p]).collect();
            check(&idx, &text.join(" "), k);
        }
    }
}

#[test]
fn ties_go_to_the_lower_address() {
    // 30 identical documents: every query ties; the first k by address must win
    let docs: Vec<Document> = (0..30)
        .map(|i| Document::new(format!("t{i}")).with_field("text", "liver cyst normal"))
        .collect();
    check(&index_with(&docs, 3), "liver cyst", 7);
    // one segment: address order is insertion order
    let idx = index_with(&docs, 1);
    for k in [1, 5, 10, 29, 30, 40] {
        check(&idx, "liver cyst", k);
        let ids: Vec<String> = idx
            .search_ids_mode("liver cyst", k, quarry_index::SearchMode::Sparse)
            .unwrap()
            .into_iter()
            .map(|x| x.0)
            .collect();
        let want: Vec<String> = (0..k.min(30)).map(|i| format!("t{i}")).collect();
        assert_eq!(ids, want);
    }
}

#[test]
fn idf_follows_additions_and_deletions() {
    let docs: Vec<Document> = (0..10)
        .map(|i| {
            let t = if i < 4 { "rare liver" } else { "common liver" };
            Document::new(format!("x{i}")).with_field("text", t)
        })
        .collect();
    let idx = index_with(&docs, 2);
    let st = idx.sparse_state().unwrap();
    let rare = word_id("rare");
    let liver = word_id("liver");
    assert_eq!(st.idf().num_docs, 10);
    assert_eq!(st.idf().df.get(&rare), Some(&4));
    assert_eq!(st.idf().df.get(&liver), Some(&10));
    idx.delete_documents(&["x0", "x1", "x9"], 20 << 20).unwrap();
    let t = st.idf();
    assert_eq!(
        (t.num_docs, t.df.get(&rare), t.df.get(&liver)),
        (7, Some(&2), Some(&7))
    );
    assert!(t.idf(rare) > t.idf(liver));
    // deleted documents never come back from any path
    let hits = idx
        .search_ids_mode("rare", 10, quarry_index::SearchMode::Sparse)
        .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(ids, vec!["x2", "x3"]);
    check(&idx, "rare liver common", 5);
}

#[test]
fn index_directory_keeps_settings_and_idf() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AnalysisConfig::default();
    {
        let idx = QuarryIndex::open_or_create(dir.path(), &cfg).unwrap();
        attach_toy(&idx);
        idx.add_documents(&[doc_from(0, &[0, 1, 2]), doc_from(1, &[3, 4])], 20 << 20)
            .unwrap();
    }
    let idx = QuarryIndex::open(dir.path(), &cfg).unwrap();
    let s = idx.stored_sparse_settings().unwrap().unwrap();
    assert_eq!(s.model, "toy");
    let saved = sparse::IdfTable::load(&dir.path().join(sparse::IDF_FILE)).unwrap();
    assert_eq!(saved.num_docs, 2);
    // without the expander attached, adding documents is refused, not silently unexpanded
    let err = idx
        .add_documents(&[doc_from(2, &[5])], 20 << 20)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--sparse"), "{err}");
    // other settings are refused too
    let err = idx
        .enable_sparse(
            SparseSettings {
                model: "other".into(),
                ..Default::default()
            },
            Arc::new(WordTokens),
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("new index"), "{err}");
    // a search-only attach with the same settings works and reproduces the saved idf
    idx.enable_sparse(s, Arc::new(WordTokens), None).unwrap();
    assert_eq!(*idx.sparse_state().unwrap().idf(), saved);
    check(&idx, "liver kidney cyst", 10);
}

#[test]
fn sparse_search_without_expansion_is_a_clear_error() {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    let err = idx.sparse_query("liver").unwrap_err().to_string();
    assert!(err.contains("--sparse"), "{err}");
}

#[test]
fn many_windows_and_segments_equal_brute_force() {
    // more than two 4,096-document accumulation windows per segment, with deletions
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let docs: Vec<Document> = (0..9500)
        .map(|i| {
            let n = 1 + (next() % 12) as usize;
            let picks: Vec<usize> = (0..n).map(|_| (next() % 24) as usize).collect();
            doc_from(i, &picks)
        })
        .collect();
    let idx = index_with(&docs, 2);
    let ids: Vec<String> = (0..9500).step_by(7).map(|i| format!("d{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    idx.delete_documents(&refs, 50 << 20).unwrap();
    for q in 0..40 {
        let n = 1 + (next() % 7) as usize;
        let text: Vec<&str> = (0..n).map(|_| VOCAB[(next() % 24) as usize]).collect();
        for k in [1, 10, 100] {
            check(&idx, &text.join(" "), k);
        }
        let _ = q;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any query text (any Unicode, empty, huge) gives a result, never a panic; stored
    /// vectors decode from any bytes.
    #[test]
    fn hostile_queries_and_bytes_never_panic(q in "\\PC{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let docs: Vec<Document> = (0..20).map(|i| doc_from(i, &[i % 24, (i * 7) % 24])).collect();
        let idx = index_with(&docs, 1);
        for mode in [quarry_index::SearchMode::Sparse, quarry_index::SearchMode::Hybrid] {
            let hits = idx.search_ids_mode(&q, 10, mode).unwrap();
            prop_assert!(hits.len() <= 10);
        }
        let v = sparse::decode_impacts(&bytes);
        prop_assert_eq!(v.len(), bytes.len() / 5);
    }
}
