//! Evaluation metrics.
//!
//! * [`ir`]: ranking metrics with trec_eval semantics (as computed by pytrec-eval-terrier):
//!   nDCG@k (`ndcg_cut`), MAP, MRR@k, reciprocal rank, Recall@k and P@k.
//! * [`ner`]: entity-level strict P/R/F1 (micro, macro and per type) with seqeval's default
//!   (conlleval-compatible) BIO decoding.
//! * [`linking`]: entity-linking accuracy@k, Recall@k and per-concept micro P/R/F1.
//! * [`keyphrase`]: ranked key-phrase P@k, R@k, F1@k and binary nDCG@k after normalization and
//!   stemming.
//!
//! Every metric name is lowercase; cutoff metrics carry the cutoff as `@k` (`"ndcg@10"`,
//! `"acc@1"`, `"f1@5"`). The values agree with pytrec_eval (to 1e-4) and seqeval (to 1e-6) on
//! the shared fixtures in `eval/tests/fixtures/`; see `eval/tests/metrics_crosscheck.rs` and
//! `eval/scripts/crosscheck.py`.

pub mod coref;
pub mod ir;
pub mod keyphrase;
pub mod linking;
pub mod ner;

use std::collections::BTreeMap;

/// Precision, recall and F1 of a set-matching task, with the usual zero conventions.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Prf {
    /// `correct / predicted` (0 when nothing was predicted).
    pub precision: f64,
    /// `correct / gold` (0 when there is no gold item).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

impl Prf {
    /// Computes P/R/F1 from counts: `correct` matched items, `predicted` system items and
    /// `gold` reference items. Zero denominators give 0 (seqeval's and scikit-learn's
    /// `zero_division` default).
    pub fn from_counts(correct: usize, predicted: usize, gold: usize) -> Self {
        let precision = ratio(correct as f64, predicted as f64);
        let recall = ratio(correct as f64, gold as f64);
        Prf {
            precision,
            recall,
            f1: f1(precision, recall),
        }
    }
}

/// Harmonic mean of `precision` and `recall`; 0 when their sum is 0.
pub fn f1(precision: f64, recall: f64) -> f64 {
    let denom = precision + recall;
    if denom > 0.0 {
        2.0 * precision * recall / denom
    } else {
        0.0
    }
}

/// `num / den`, or 0 when `den` is 0 (or not finite-positive).
pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Formats a cutoff metric name: `cut_name("ndcg", 10) == "ndcg@10"`.
pub fn cut_name(base: &str, k: usize) -> String {
    format!("{base}@{k}")
}

/// Sorts and deduplicates cutoffs.
pub(crate) fn normalize_ks(ks: &[usize]) -> Vec<usize> {
    let mut ks = ks.to_vec();
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// Arithmetic mean of each metric over the given per-item maps. A metric missing from some
/// items is averaged over the items that have it.
pub fn mean_of<'a, I>(items: I) -> BTreeMap<String, f64>
where
    I: IntoIterator<Item = &'a BTreeMap<String, f64>>,
{
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for item in items {
        for (name, value) in item {
            if let Some(entry) = sums.get_mut(name.as_str()) {
                entry.0 += value;
                entry.1 += 1;
            } else {
                sums.insert(name.clone(), (*value, 1));
            }
        }
    }
    sums.into_iter()
        .map(|(name, (sum, n))| (name, ratio(sum, n as f64)))
        .collect()
}

/// The Fx build-hasher (rustc's fast non-cryptographic hash, from `rustc-hash`) for the
/// per-query maps of document ids. Inputs are trusted evaluation data, so HashDoS is no concern.
pub(crate) type FxBuild = rustc_hash::FxBuildHasher;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_zero_conventions() {
        assert_eq!(Prf::from_counts(0, 0, 0), Prf::default());
        let p = Prf::from_counts(1, 2, 4);
        assert!((p.precision - 0.5).abs() < 1e-12);
        assert!((p.recall - 0.25).abs() < 1e-12);
        assert!((p.f1 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(Prf::from_counts(0, 3, 0).f1, 0.0);
    }

    #[test]
    fn mean_of_handles_missing_metrics() {
        let a: BTreeMap<String, f64> = [("x".to_string(), 1.0), ("y".to_string(), 2.0)].into();
        let b: BTreeMap<String, f64> = [("x".to_string(), 0.0)].into();
        let m = mean_of([&a, &b]);
        assert_eq!(m["x"], 0.5);
        assert_eq!(m["y"], 2.0);
        assert!(mean_of(std::iter::empty()).is_empty());
    }

    #[test]
    fn names_and_cutoffs() {
        assert_eq!(cut_name("ndcg", 10), "ndcg@10");
        assert_eq!(normalize_ks(&[10, 5, 10, 1]), vec![1, 5, 10]);
    }
}
