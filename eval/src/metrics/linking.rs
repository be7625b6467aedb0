//! Entity-linking / concept-normalization metrics.
//!
//! Each example has a gold concept set (several concepts allowed) and the system gives a
//! ranked list of candidate concept sets ([`LinkPrediction`]).
//!
//! * `acc@k`: 1 when one of the top k candidate sets equals the gold set exactly, else 0;
//!   averaged over examples.
//! * `recall@k`: the fraction of gold concepts found in the union of the top k candidate sets;
//!   averaged over the examples with a non-empty gold set (for an empty gold set it is
//!   undefined, and such examples carry no `recall@k` value).
//! * `mrr`: the reciprocal rank of the first candidate set that equals the gold set (0 when
//!   none does), averaged over examples: for single-concept gold, the usual MRR.
//! * `concept_precision`, `concept_recall`, `concept_f1`: micro P/R/F1 of the concepts of the
//!   top-1 candidate set against the gold concepts, counted over all examples (an example
//!   without candidates predicts nothing).

use super::{cut_name, normalize_ks, Prf};
use crate::types::{LinkExample, LinkPrediction, PerQuery};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Cutoffs used when a caller has no preference.
pub const DEFAULT_KS: [usize; 3] = [1, 5, 10];

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LinkingResult {
    /// Corpus-level metrics: `acc@k`, `recall@k` per cutoff and `concept_precision`,
    /// `concept_recall`, `concept_f1`.
    pub metrics: BTreeMap<String, f64>,
    /// Per example id: `acc@k`, `recall@k` (when the gold set is not empty) and the example's
    /// own `concept_precision`, `concept_recall`, `concept_f1`.
    pub per_example: PerQuery,
    /// Number of examples.
    pub examples: usize,
    /// Top-1 concepts that are gold (summed over examples).
    pub concept_correct: usize,
    /// Top-1 concepts predicted (summed over examples).
    pub concept_predicted: usize,
    /// Gold concepts (summed over examples).
    pub concept_gold: usize,
}

/// Why gold and predictions cannot be paired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum LinkingError {
    /// Different numbers of examples and predictions.
    #[error("{gold} gold examples but {pred} predictions")]
    LengthMismatch {
        /// Gold examples.
        gold: usize,
        /// Predictions.
        pred: usize,
    },
    /// Two gold examples share an id.
    #[error("duplicate example id {0:?}")]
    DuplicateId(String),
}

/// 1 / rank of the first candidate set equal to `gold` (ranks from 1), or 0.0.
pub fn reciprocal_rank(gold: &BTreeSet<String>, pred: &LinkPrediction) -> f64 {
    pred.iter()
        .position(|cand| cand == gold)
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// 1.0 when one of the top `k` candidate sets equals `gold`, else 0.0.
pub fn accuracy_at_k(gold: &BTreeSet<String>, pred: &LinkPrediction, k: usize) -> f64 {
    if pred.iter().take(k).any(|cand| cand == gold) {
        1.0
    } else {
        0.0
    }
}

/// Fraction of `gold` found in the union of the top `k` candidate sets; `None` when `gold` is
/// empty.
pub fn recall_at_k(gold: &BTreeSet<String>, pred: &LinkPrediction, k: usize) -> Option<f64> {
    if gold.is_empty() {
        return None;
    }
    let top = &pred[..k.min(pred.len())];
    let found = gold
        .iter()
        .filter(|c| top.iter().any(|cand| cand.contains(*c)))
        .count();
    Some(found as f64 / gold.len() as f64)
}

/// `(correct, predicted, gold)` concept counts of the top-1 candidate set.
pub fn concept_counts(gold: &BTreeSet<String>, pred: &LinkPrediction) -> (usize, usize, usize) {
    match pred.first() {
        Some(top) => (top.intersection(gold).count(), top.len(), gold.len()),
        None => (0, 0, gold.len()),
    }
}

/// Evaluates predictions (paired with `gold` by position) at cutoffs `ks`.
pub fn evaluate(
    gold: &[LinkExample],
    pred: &[LinkPrediction],
    ks: &[usize],
) -> Result<LinkingResult, LinkingError> {
    if gold.len() != pred.len() {
        return Err(LinkingError::LengthMismatch {
            gold: gold.len(),
            pred: pred.len(),
        });
    }
    let ks = normalize_ks(ks);
    let acc_names: Vec<String> = ks.iter().map(|&k| cut_name("acc", k)).collect();
    let rec_names: Vec<String> = ks.iter().map(|&k| cut_name("recall", k)).collect();
    let mut acc_sums = vec![0.0; ks.len()];
    let mut rec_sums = vec![0.0; ks.len()];
    let mut rec_n = 0usize;
    let mut rr_sum = 0.0;
    let mut result = LinkingResult {
        examples: gold.len(),
        ..LinkingResult::default()
    };
    for (ex, p) in gold.iter().zip(pred) {
        let mut m = BTreeMap::new();
        for (i, &k) in ks.iter().enumerate() {
            let a = accuracy_at_k(&ex.gold, p, k);
            acc_sums[i] += a;
            m.insert(acc_names[i].clone(), a);
        }
        let rr = reciprocal_rank(&ex.gold, p);
        rr_sum += rr;
        m.insert("mrr".to_string(), rr);
        if !ex.gold.is_empty() {
            rec_n += 1;
            for (i, &k) in ks.iter().enumerate() {
                let r = recall_at_k(&ex.gold, p, k).unwrap_or(0.0);
                rec_sums[i] += r;
                m.insert(rec_names[i].clone(), r);
            }
        }
        let (c, np, ng) = concept_counts(&ex.gold, p);
        result.concept_correct += c;
        result.concept_predicted += np;
        result.concept_gold += ng;
        let prf = Prf::from_counts(c, np, ng);
        m.insert("concept_precision".to_string(), prf.precision);
        m.insert("concept_recall".to_string(), prf.recall);
        m.insert("concept_f1".to_string(), prf.f1);
        if result.per_example.insert(ex.id.clone(), m).is_some() {
            return Err(LinkingError::DuplicateId(ex.id.clone()));
        }
    }
    let n = gold.len();
    if n > 0 {
        for (name, sum) in acc_names.into_iter().zip(acc_sums) {
            result.metrics.insert(name, sum / n as f64);
        }
        result.metrics.insert("mrr".to_string(), rr_sum / n as f64);
    }
    if rec_n > 0 {
        for (name, sum) in rec_names.into_iter().zip(rec_sums) {
            result.metrics.insert(name, sum / rec_n as f64);
        }
    }
    let prf = Prf::from_counts(
        result.concept_correct,
        result.concept_predicted,
        result.concept_gold,
    );
    result
        .metrics
        .insert("concept_precision".to_string(), prf.precision);
    result
        .metrics
        .insert("concept_recall".to_string(), prf.recall);
    result.metrics.insert("concept_f1".to_string(), prf.f1);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn ex(id: &str, gold: &[&str]) -> LinkExample {
        LinkExample {
            id: id.to_string(),
            text: String::new(),
            gold: set(gold),
        }
    }

    #[test]
    fn single_example_functions() {
        let gold = set(&["a", "b"]);
        let pred = vec![set(&["a"]), set(&["b", "c"]), set(&["a", "b"])];
        assert_eq!(accuracy_at_k(&gold, &pred, 1), 0.0);
        assert_eq!(accuracy_at_k(&gold, &pred, 3), 1.0);
        assert_eq!(accuracy_at_k(&gold, &pred, 100), 1.0);
        assert_eq!(accuracy_at_k(&gold, &pred, 0), 0.0);
        assert_eq!(recall_at_k(&gold, &pred, 1), Some(0.5));
        assert_eq!(recall_at_k(&gold, &pred, 2), Some(1.0));
        assert_eq!(recall_at_k(&gold, &pred, 0), Some(0.0));
        assert_eq!(recall_at_k(&set(&[]), &pred, 2), None);
        assert_eq!(concept_counts(&gold, &pred), (1, 1, 2));
        assert_eq!(concept_counts(&gold, &vec![]), (0, 0, 2));
        assert_eq!(reciprocal_rank(&gold, &pred), 1.0 / 3.0);
        assert_eq!(reciprocal_rank(&gold, &pred[..2].to_vec()), 0.0);
    }

    #[test]
    fn corpus_metrics() {
        let gold = vec![ex("1", &["a"]), ex("2", &["b", "c"]), ex("3", &[])];
        let pred = vec![
            vec![set(&["a"])],
            vec![set(&["b"]), set(&["b", "c"])],
            vec![],
        ];
        let r = evaluate(&gold, &pred, &[1, 5]).unwrap_or_default();
        assert_eq!(r.examples, 3);
        assert!((r.metrics["acc@1"] - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.metrics["acc@5"] - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.metrics["recall@1"] - 0.75).abs() < 1e-12);
        assert!((r.metrics["recall@5"] - 1.0).abs() < 1e-12);
        // Reciprocal ranks 1, 1/2 and 0 (an empty gold set is never equalled by no candidate).
        assert!((r.metrics["mrr"] - 0.5).abs() < 1e-12);
        // Top-1 concepts: {a} vs {a}, {b} vs {b,c}, {} vs {} -> 2 correct, 2 predicted, 3 gold.
        assert_eq!(
            (r.concept_correct, r.concept_predicted, r.concept_gold),
            (2, 2, 3)
        );
        assert!((r.metrics["concept_precision"] - 1.0).abs() < 1e-12);
        assert!((r.metrics["concept_recall"] - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.metrics["concept_f1"] - 0.8).abs() < 1e-12);
        assert!(!r.per_example["3"].contains_key("recall@1"));
        assert_eq!(r.per_example["2"]["concept_recall"], 0.5);
    }

    #[test]
    fn errors_and_empty() {
        assert!(matches!(
            evaluate(&[ex("1", &["a"])], &[], &[1]),
            Err(LinkingError::LengthMismatch { gold: 1, pred: 0 })
        ));
        assert!(matches!(
            evaluate(&[ex("1", &["a"]), ex("1", &["b"])], &[vec![], vec![]], &[1]),
            Err(LinkingError::DuplicateId(_))
        ));
        let r = evaluate(&[], &[], &[1]).unwrap_or_default();
        assert_eq!(r.examples, 0);
        assert_eq!(r.metrics["concept_f1"], 0.0);
        assert!(!r.metrics.contains_key("acc@1"));
    }
}
