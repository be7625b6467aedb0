//! Ranked key-phrase extraction metrics.
//!
//! Phrases match after normalization ([`PhraseNormalizer`]): lowercase, strip the
//! non-alphanumeric characters at both ends of the phrase, collapse whitespace, and stem each
//! word with the Snowball English (Porter2) stemmer. Predicted phrases are deduplicated after
//! normalization, keeping the first (best-ranked) occurrence; gold phrases form a set of
//! distinct normalized phrases. Phrases that normalize to nothing are dropped.
//!
//! Per document, with `hits` the top-k predictions that are gold:
//!
//! * `p@k` = hits / k (missing ranks count as misses, as in IR P@k),
//! * `r@k` = hits / distinct gold phrases (0 without gold phrases),
//! * `f1@k` = harmonic mean of `p@k` and `r@k`,
//! * `ndcg@k` with binary gains: DCG with discount `log2(rank + 1)` over the ideal DCG of
//!   `min(k, gold)` hits (0 without gold phrases).
//!
//! Corpus values are macro averages over documents.

use super::{cut_name, f1, normalize_ks, ratio};
use crate::types::{KeyphraseDoc, PerQuery};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Cutoffs used when a caller has no preference.
pub const DEFAULT_KS: [usize; 3] = [5, 10, 15];

pub use quarry_core::phrase::{normalize_phrase, PhraseNormalizer};

/// Matches predictions against gold: returns, for each distinct normalized prediction in rank
/// order, whether it is a gold phrase, and the number of distinct normalized gold phrases.
pub fn match_phrases<G: AsRef<str>, P: AsRef<str>>(
    normalizer: &PhraseNormalizer,
    gold: &[G],
    predicted: &[P],
) -> (Vec<bool>, usize) {
    let gold: HashSet<String> = gold
        .iter()
        .map(|g| normalizer.normalize(g.as_ref()))
        .filter(|g| !g.is_empty())
        .collect();
    let mut seen = HashSet::new();
    let mut hits = Vec::with_capacity(predicted.len());
    for p in predicted {
        let n = normalizer.normalize(p.as_ref());
        if n.is_empty() {
            continue;
        }
        let hit = gold.contains(&n);
        if seen.insert(n) {
            hits.push(hit);
        }
    }
    (hits, gold.len())
}

fn hits_in_top(hits: &[bool], k: usize) -> usize {
    hits.iter().take(k).filter(|&&h| h).count()
}

/// P@k from a hit list.
pub fn precision_at_k(hits: &[bool], k: usize) -> f64 {
    ratio(hits_in_top(hits, k) as f64, k as f64)
}

/// R@k from a hit list and the number of distinct gold phrases.
pub fn recall_at_k(hits: &[bool], n_gold: usize, k: usize) -> f64 {
    ratio(hits_in_top(hits, k) as f64, n_gold as f64)
}

/// F1@k from a hit list and the number of distinct gold phrases.
pub fn f1_at_k(hits: &[bool], n_gold: usize, k: usize) -> f64 {
    f1(precision_at_k(hits, k), recall_at_k(hits, n_gold, k))
}

/// Binary-gain nDCG@k from a hit list and the number of distinct gold phrases.
pub fn ndcg_at_k(hits: &[bool], n_gold: usize, k: usize) -> f64 {
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let ideal: f64 = (0..k.min(n_gold)).map(discount).sum();
    let dcg: f64 = hits
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, &h)| h)
        .map(|(i, _)| discount(i))
        .sum();
    ratio(dcg, ideal)
}

/// The metrics of one document: `p@k`, `r@k`, `f1@k`, `ndcg@k` for each cutoff.
pub fn score_document<G: AsRef<str>, P: AsRef<str>>(
    normalizer: &PhraseNormalizer,
    gold: &[G],
    predicted: &[P],
    ks: &[usize],
) -> BTreeMap<String, f64> {
    let (hits, n_gold) = match_phrases(normalizer, gold, predicted);
    let mut m = BTreeMap::new();
    for k in normalize_ks(ks) {
        m.insert(cut_name("p", k), precision_at_k(&hits, k));
        m.insert(cut_name("r", k), recall_at_k(&hits, n_gold, k));
        m.insert(cut_name("f1", k), f1_at_k(&hits, n_gold, k));
        m.insert(cut_name("ndcg", k), ndcg_at_k(&hits, n_gold, k));
    }
    m
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KeyphraseResult {
    /// Metrics per document id.
    pub per_doc: PerQuery,
    /// Macro averages over documents (empty when there is none).
    pub macro_avg: BTreeMap<String, f64>,
    /// Number of documents.
    pub docs: usize,
}

/// Why documents and predictions cannot be paired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum KeyphraseError {
    /// Different numbers of documents and prediction lists.
    #[error("{docs} documents but {pred} prediction lists")]
    LengthMismatch {
        /// Documents.
        docs: usize,
        /// Prediction lists.
        pred: usize,
    },
    /// Two documents share an id.
    #[error("duplicate document id {0:?}")]
    DuplicateId(String),
}

/// Scores ranked predictions (paired with `docs` by position) at cutoffs `ks`.
pub fn evaluate(
    docs: &[KeyphraseDoc],
    predictions: &[Vec<String>],
    ks: &[usize],
) -> Result<KeyphraseResult, KeyphraseError> {
    if docs.len() != predictions.len() {
        return Err(KeyphraseError::LengthMismatch {
            docs: docs.len(),
            pred: predictions.len(),
        });
    }
    let normalizer = PhraseNormalizer::new();
    let mut per_doc = PerQuery::new();
    for (doc, pred) in docs.iter().zip(predictions) {
        let m = score_document(&normalizer, &doc.gold, pred, ks);
        if per_doc.insert(doc.id.clone(), m).is_some() {
            return Err(KeyphraseError::DuplicateId(doc.id.clone()));
        }
    }
    Ok(KeyphraseResult {
        macro_avg: super::mean_of(per_doc.values()),
        per_doc,
        docs: docs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn normalization() {
        let n = PhraseNormalizer::new();
        assert_eq!(n.normalize("  Neural   Networks, "), "neural network");
        assert_eq!(n.normalize("\"Running\""), "run");
        assert_eq!(n.normalize("deep-learning"), "deep-learn");
        assert_eq!(n.normalize("..."), "");
        assert_eq!(n.normalize("高血压"), "高血压");
        assert_eq!(normalize_phrase("Heart Failures"), "heart failur");
    }

    #[test]
    fn matching_dedupes_predictions() {
        let n = PhraseNormalizer::new();
        let gold = ["neural networks", "Neural network", "graphs"];
        let pred = ["neural network", "NEURAL NETWORKS.", "trees", "!!", "graph"];
        let (hits, n_gold) = match_phrases(&n, &gold, &pred);
        assert_eq!(hits, vec![true, false, true]);
        assert_eq!(n_gold, 2);
    }

    #[test]
    fn hand_computed_scores() {
        let hits = [true, false, true];
        close(precision_at_k(&hits, 2), 0.5);
        close(precision_at_k(&hits, 10), 0.2);
        close(recall_at_k(&hits, 4, 10), 0.5);
        close(f1_at_k(&hits, 4, 10), 2.0 * 0.2 * 0.5 / 0.7);
        let dcg = 1.0 + 0.5;
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        close(ndcg_at_k(&hits, 3, 10), dcg / idcg);
        close(ndcg_at_k(&hits, 3, 1), 1.0);
        // k = 0, no gold, no predictions.
        close(precision_at_k(&hits, 0), 0.0);
        close(ndcg_at_k(&hits, 3, 0), 0.0);
        close(recall_at_k(&hits, 0, 5), 0.0);
        close(ndcg_at_k(&[], 2, 5), 0.0);
        close(f1_at_k(&[], 2, 5), 0.0);
    }

    #[test]
    fn corpus_macro_average() {
        let docs = vec![
            KeyphraseDoc {
                id: "a".into(),
                text: String::new(),
                gold: vec!["x".into()],
            },
            KeyphraseDoc {
                id: "b".into(),
                text: String::new(),
                gold: vec!["y".into(), "z".into()],
            },
        ];
        let pred = vec![vec!["x".to_string()], vec!["q".to_string()]];
        let r = evaluate(&docs, &pred, &[1, 5]).unwrap_or_default();
        assert_eq!(r.docs, 2);
        close(r.per_doc["a"]["p@1"], 1.0);
        close(r.macro_avg["p@1"], 0.5);
        close(r.macro_avg["r@5"], 0.5);
        close(r.macro_avg["ndcg@5"], 0.5);
        assert!(matches!(
            evaluate(&docs, &pred[..1], &[1]),
            Err(KeyphraseError::LengthMismatch { .. })
        ));
        let dup = vec![docs[0].clone(), docs[0].clone()];
        assert!(matches!(
            evaluate(&dup, &pred, &[1]),
            Err(KeyphraseError::DuplicateId(_))
        ));
        let empty = evaluate(&[], &[], &[5]).unwrap_or_default();
        assert!(empty.macro_avg.is_empty());
    }
}
