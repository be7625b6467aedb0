//! Ranking metrics with trec_eval semantics, as pytrec-eval-terrier computes them.
//!
//! # Ranking
//!
//! A query's results are ranked exactly as trec_eval ranks them: by score descending, ties
//! broken by document id descending (byte-wise `strcmp`). trec_eval keeps scores as 32-bit
//! floats, so scores are compared after rounding to `f32`: two scores that only differ beyond
//! `f32` precision are a tie. NaN scores rank as negative infinity. The rank column of a TREC
//! run file plays no part. A document listed twice for one query (trec_eval rejects such a
//! run) counts once, at its best position.
//!
//! # Relevance
//!
//! A document is relevant when its grade is >= 1 (trec_eval's default `relevance_level`);
//! unjudged documents and grades <= 0 are non-relevant. nDCG uses the grade itself as the gain
//! (grades <= 0 give no gain) and the ideal ranking of all the query's judged relevant
//! documents sorted by grade.
//!
//! # Measures (trec_eval name -> name here)
//!
//! * `ndcg_cut.k` -> `ndcg@k`: DCG over the top k with discount `log2(rank + 1)`, divided by
//!   the ideal DCG at k; 0 when the query has no relevant document.
//! * `map` -> `map`: average precision over the whole ranking, divided by the number of
//!   relevant documents in the qrels (retrieved or not).
//! * `recip_rank` -> `recip_rank`: 1 / rank of the first relevant document, over the whole
//!   ranking. `mrr@k` is the same cut at k (0 when the first relevant document is below k);
//!   trec_eval has no cutoff for it.
//! * `recall.k` -> `recall@k`: relevant documents in the top k / relevant documents judged.
//! * `P.k` -> `p@k`: relevant documents in the top k / k (missing ranks count as
//!   non-relevant).
//!
//! A cutoff of 0 gives 0 for every cutoff measure.
//!
//! # Which queries count
//!
//! Only queries present in the qrels are evaluated; run queries without judgments are
//! ignored. A qrels query that the run lacks altogether scores 0 on every measure. How it
//! enters the mean is chosen with [`Averaging`]:
//!
//! * [`Averaging::MissingAsZero`] (the default, `trec_eval -c` and BEIR): the mean is over all
//!   qrels queries, missing ones counted as 0, and they appear in `per_query` with zeros.
//! * [`Averaging::RunQueriesOnly`] (what pytrec_eval returns): only queries present in both
//!   qrels and run are scored and averaged.
//!
//! Either way [`IrResult::missing`] lists the qrels queries the run lacks and
//! [`IrResult::mean_over_run_queries`] gives the pytrec_eval mean. A run query present with an
//! empty result list counts as present (pytrec_eval scores it, with zeros).

use super::{cut_name, normalize_ks, ratio, FxBuild};
use crate::types::{PerQuery, Qrels, Run};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Cutoffs used when a caller has no preference.
pub const DEFAULT_KS: [usize; 5] = [1, 5, 10, 20, 100];

/// How queries of the qrels that the run lacks enter the mean. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Averaging {
    /// Average over every qrels query; queries missing from the run score 0 (`trec_eval -c`,
    /// BEIR).
    #[default]
    MissingAsZero,
    /// Average only over queries present in both the qrels and the run (pytrec_eval).
    RunQueriesOnly,
}

/// The result of [`evaluate`]: per-query values, their mean and bookkeeping.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IrResult {
    /// Metric values per evaluated query.
    pub per_query: PerQuery,
    /// Mean of each metric over the evaluated queries (empty map when none).
    pub mean: BTreeMap<String, f64>,
    /// Number of queries averaged in `mean`.
    pub queries: usize,
    /// Qrels queries absent from the run, sorted.
    pub missing: Vec<String>,
    /// The convention `mean` and `per_query` follow.
    pub averaging: Averaging,
}

impl IrResult {
    /// The mean over the queries present in both qrels and run: what averaging pytrec_eval's
    /// per-query output gives, whatever [`Averaging`] produced this result.
    pub fn mean_over_run_queries(&self) -> BTreeMap<String, f64> {
        let missing: HashSet<&str> = self.missing.iter().map(String::as_str).collect();
        super::mean_of(
            self.per_query
                .iter()
                .filter(|(q, _)| !missing.contains(q.as_str()))
                .map(|(_, m)| m),
        )
    }
}

/// A query's ranking reduced to what the measures need: the rank of each relevant retrieved
/// document and the ideal gains.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RankedRels {
    /// `(rank, grade)` of each retrieved document with grade >= 1, in rank order; ranks are
    /// 0-based positions in the trec_eval ranking.
    pub relevant: Vec<(usize, i32)>,
    /// The grades of all of the query's judged documents with grade >= 1, sorted descending:
    /// the gains of the ideal ranking. Its length is the number of relevant documents.
    pub ideal: Vec<i32>,
}

/// Whether `a` ranks strictly before `b` in trec_eval's order: score (as `f32`) descending,
/// then document id descending.
#[inline]
fn ranks_before(a: (f32, &str), b: (f32, &str)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

#[inline]
fn trec_score(score: f64) -> f32 {
    let s = score as f32;
    if s.is_nan() {
        f32::NEG_INFINITY
    } else {
        s
    }
}

impl RankedRels {
    /// Ranks `results` against one query's `judgments` (document id -> grade).
    ///
    /// Only the ranks of relevant documents are needed, so instead of sorting the whole
    /// list this keeps each distinct document's best score, orders the (few) relevant
    /// retrieved documents, and counts for each of them the documents ranked before it.
    pub fn new(judgments: &BTreeMap<String, i32>, results: &[(String, f64)]) -> Self {
        let mut ideal: Vec<i32> = judgments.values().copied().filter(|&g| g >= 1).collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        if ideal.is_empty() || results.is_empty() {
            return RankedRels {
                relevant: Vec::new(),
                ideal,
            };
        }
        // Best score of each distinct retrieved document (a duplicate counts once).
        let mut best: HashMap<&str, f32, FxBuild> =
            HashMap::with_capacity_and_hasher(results.len(), FxBuild::default());
        for (doc, score) in results {
            let key = trec_score(*score);
            best.entry(doc.as_str())
                .and_modify(|b| {
                    if key > *b {
                        *b = key
                    }
                })
                .or_insert(key);
        }
        // Relevant retrieved documents in rank order.
        let mut rel: Vec<(f32, &str, i32)> = judgments
            .iter()
            .filter(|(_, &g)| g >= 1)
            .filter_map(|(doc, &g)| best.get(doc.as_str()).map(|&k| (k, doc.as_str(), g)))
            .collect();
        if rel.is_empty() {
            return RankedRels {
                relevant: Vec::new(),
                ideal,
            };
        }
        rel.sort_unstable_by(|a, b| {
            if ranks_before((a.0, a.1), (b.0, b.1)) {
                Ordering::Less
            } else if ranks_before((b.0, b.1), (a.0, a.1)) {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        });
        // ahead[j]: distinct documents ranked before relevant documents j.. but not j-1.
        // Each relevant document counts itself once, hence the -1 below.
        let mut ahead = vec![0usize; rel.len() + 1];
        let keys: Vec<f32> = rel.iter().map(|r| r.0).collect();
        let worst = keys[keys.len() - 1];
        for (&doc, &key) in &best {
            if key < worst {
                continue;
            }
            // Relevant documents with a higher score, then those tied with a larger id.
            let mut j = keys.partition_point(|&k| k > key);
            while j < rel.len() && rel[j].0 == key && rel[j].1 > doc {
                j += 1;
            }
            ahead[j] += 1;
        }
        let mut before = 0usize;
        let relevant = rel
            .iter()
            .enumerate()
            .map(|(i, &(_, _, g))| {
                before += ahead[i];
                (before.saturating_sub(1), g)
            })
            .collect();
        RankedRels { relevant, ideal }
    }

    /// Number of relevant documents judged for the query.
    pub fn num_rel(&self) -> usize {
        self.ideal.len()
    }

    /// trec_eval `ndcg_cut.k`.
    pub fn ndcg_at_k(&self, k: usize) -> f64 {
        let ideal: f64 = self
            .ideal
            .iter()
            .take(k)
            .enumerate()
            .map(|(i, &g)| f64::from(g) / ((i + 2) as f64).log2())
            .sum();
        if ideal <= 0.0 {
            return 0.0;
        }
        let dcg: f64 = self
            .relevant
            .iter()
            .take_while(|(r, _)| *r < k)
            .map(|&(r, g)| f64::from(g) / ((r + 2) as f64).log2())
            .sum();
        dcg / ideal
    }

    /// trec_eval `map` (average precision of this query).
    pub fn average_precision(&self) -> f64 {
        let sum: f64 = self
            .relevant
            .iter()
            .enumerate()
            .map(|(i, &(r, _))| (i + 1) as f64 / (r + 1) as f64)
            .sum();
        ratio(sum, self.num_rel() as f64)
    }

    /// trec_eval `recip_rank`: 1 / rank of the first relevant document, 0 when none.
    pub fn recip_rank(&self) -> f64 {
        self.relevant
            .first()
            .map_or(0.0, |&(r, _)| 1.0 / (r + 1) as f64)
    }

    /// MRR@k: 1 / rank of the first relevant document when it is within the top k, else 0.
    pub fn mrr_at_k(&self, k: usize) -> f64 {
        match self.relevant.first() {
            Some(&(r, _)) if r < k => 1.0 / (r + 1) as f64,
            _ => 0.0,
        }
    }

    fn rel_in_top(&self, k: usize) -> usize {
        self.relevant.iter().take_while(|(r, _)| *r < k).count()
    }

    /// trec_eval `recall.k`.
    pub fn recall_at_k(&self, k: usize) -> f64 {
        ratio(self.rel_in_top(k) as f64, self.num_rel() as f64)
    }

    /// trec_eval `P.k`.
    pub fn precision_at_k(&self, k: usize) -> f64 {
        ratio(self.rel_in_top(k) as f64, k as f64)
    }
}

/// nDCG@k (trec_eval `ndcg_cut.k`) of one query.
pub fn ndcg_at_k(judgments: &BTreeMap<String, i32>, results: &[(String, f64)], k: usize) -> f64 {
    RankedRels::new(judgments, results).ndcg_at_k(k)
}

/// Average precision (trec_eval `map` for one query).
pub fn average_precision(judgments: &BTreeMap<String, i32>, results: &[(String, f64)]) -> f64 {
    RankedRels::new(judgments, results).average_precision()
}

/// Reciprocal rank over the whole ranking (trec_eval `recip_rank`).
pub fn recip_rank(judgments: &BTreeMap<String, i32>, results: &[(String, f64)]) -> f64 {
    RankedRels::new(judgments, results).recip_rank()
}

/// Reciprocal rank cut at k (MRR@k for one query).
pub fn mrr_at_k(judgments: &BTreeMap<String, i32>, results: &[(String, f64)], k: usize) -> f64 {
    RankedRels::new(judgments, results).mrr_at_k(k)
}

/// Recall@k (trec_eval `recall.k`).
pub fn recall_at_k(judgments: &BTreeMap<String, i32>, results: &[(String, f64)], k: usize) -> f64 {
    RankedRels::new(judgments, results).recall_at_k(k)
}

/// Precision@k (trec_eval `P.k`).
pub fn precision_at_k(
    judgments: &BTreeMap<String, i32>,
    results: &[(String, f64)],
    k: usize,
) -> f64 {
    RankedRels::new(judgments, results).precision_at_k(k)
}

/// An evaluator with fixed cutoffs and averaging convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrEvaluator {
    ks: Vec<usize>,
    averaging: Averaging,
    names: Vec<String>,
}

impl Default for IrEvaluator {
    fn default() -> Self {
        IrEvaluator::new(&DEFAULT_KS)
    }
}

impl IrEvaluator {
    /// An evaluator computing `ndcg@k`, `mrr@k`, `recall@k` and `p@k` for each cutoff in `ks`
    /// (sorted, duplicates dropped) plus `map` and `recip_rank`, averaging with
    /// [`Averaging::MissingAsZero`].
    pub fn new(ks: &[usize]) -> Self {
        let ks = normalize_ks(ks);
        let mut names = vec!["map".to_string(), "recip_rank".to_string()];
        for base in ["ndcg", "mrr", "recall", "p"] {
            names.extend(ks.iter().map(|&k| cut_name(base, k)));
        }
        IrEvaluator {
            ks,
            averaging: Averaging::MissingAsZero,
            names,
        }
    }

    /// The same evaluator with another averaging convention.
    pub fn with_averaging(mut self, averaging: Averaging) -> Self {
        self.averaging = averaging;
        self
    }

    /// The cutoffs, sorted and deduplicated.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// The averaging convention.
    pub fn averaging(&self) -> Averaging {
        self.averaging
    }

    /// The names of the metrics this evaluator produces.
    pub fn metric_names(&self) -> &[String] {
        &self.names
    }

    fn values(&self, rr: &RankedRels) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.names.len());
        v.push(rr.average_precision());
        v.push(rr.recip_rank());
        v.extend(self.ks.iter().map(|&k| rr.ndcg_at_k(k)));
        v.extend(self.ks.iter().map(|&k| rr.mrr_at_k(k)));
        v.extend(self.ks.iter().map(|&k| rr.recall_at_k(k)));
        v.extend(self.ks.iter().map(|&k| rr.precision_at_k(k)));
        v
    }

    fn named(&self, values: &[f64]) -> BTreeMap<String, f64> {
        self.names
            .iter()
            .cloned()
            .zip(values.iter().copied())
            .collect()
    }

    /// All metrics for one query.
    pub fn evaluate_query(
        &self,
        judgments: &BTreeMap<String, i32>,
        results: &[(String, f64)],
    ) -> BTreeMap<String, f64> {
        self.named(&self.values(&RankedRels::new(judgments, results)))
    }

    /// Evaluates a run against qrels. See the module docs for the conventions.
    pub fn evaluate(&self, qrels: &Qrels, run: &Run) -> IrResult {
        let work: Vec<QueryWork<'_>> = qrels
            .iter()
            .map(|(qid, judgments)| (judgments, run.get(qid)))
            .collect();
        let values = self.compute_all(&work);

        let mut per_query = PerQuery::new();
        let mut sums = vec![0.0f64; self.names.len()];
        let mut missing = Vec::new();
        let mut queries = 0usize;
        for (qid, values) in qrels.keys().zip(values) {
            let values = match values {
                Some(v) => v,
                None => {
                    missing.push(qid.clone());
                    if self.averaging == Averaging::RunQueriesOnly {
                        continue;
                    }
                    vec![0.0; self.names.len()]
                }
            };
            for (s, v) in sums.iter_mut().zip(&values) {
                *s += v;
            }
            queries += 1;
            per_query.insert(qid.clone(), self.named(&values));
        }
        let mean = if queries == 0 {
            BTreeMap::new()
        } else {
            let means: Vec<f64> = sums.iter().map(|s| s / queries as f64).collect();
            self.named(&means)
        };
        IrResult {
            per_query,
            mean,
            queries,
            missing,
            averaging: self.averaging,
        }
    }

    /// Metric values of each query (`None` where the run lacks the query), in `work` order.
    /// Large inputs are split over the available cores; the values do not depend on how.
    fn compute_all(&self, work: &[QueryWork<'_>]) -> Vec<Option<Vec<f64>>> {
        let compute = |chunk: &[QueryWork<'_>]| {
            chunk
                .iter()
                .map(|(j, r)| r.map(|r| self.values(&RankedRels::new(j, r))))
                .collect::<Vec<_>>()
        };
        let total: usize = work.iter().map(|(_, r)| r.map_or(0, |r| r.len())).sum();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)
            .min(total / PARALLEL_MIN_RESULTS)
            .min(work.len());
        if threads <= 1 {
            return compute(work);
        }
        let chunk_len = work.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .chunks(chunk_len)
                .map(|chunk| {
                    let handle = std::thread::Builder::new()
                        .name("ir-eval".to_string())
                        .spawn_scoped(scope, move || compute(chunk))
                        .ok();
                    (chunk, handle)
                })
                .collect();
            let mut out = Vec::with_capacity(work.len());
            for (chunk, handle) in handles {
                match handle.map(|h| h.join()) {
                    Some(Ok(values)) => out.extend(values),
                    // Could not spawn (or the worker died): do the chunk here.
                    _ => out.extend(compute(chunk)),
                }
            }
            out
        })
    }
}

/// One query's judgments and, when the run has the query, its results.
type QueryWork<'a> = (&'a BTreeMap<String, i32>, Option<&'a Vec<(String, f64)>>);

/// At most this many worker threads for one evaluation.
const MAX_THREADS: usize = 8;
/// Results (summed over queries) per worker thread below which evaluation stays serial.
const PARALLEL_MIN_RESULTS: usize = 200_000;

/// Evaluates `run` against `qrels` at cutoffs `ks` with [`Averaging::MissingAsZero`] (mean
/// over all qrels queries, a query missing from the run scoring 0).
pub fn evaluate(qrels: &Qrels, run: &Run, ks: &[usize]) -> IrResult {
    IrEvaluator::new(ks).evaluate(qrels, run)
}

/// Evaluates `run` against `qrels` at cutoffs `ks` with the given averaging convention.
pub fn evaluate_with(qrels: &Qrels, run: &Run, ks: &[usize], averaging: Averaging) -> IrResult {
    IrEvaluator::new(ks)
        .with_averaging(averaging)
        .evaluate(qrels, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judg(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn res(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(d, s)| (d.to_string(), *s)).collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn hand_computed_query() {
        // Ranking: d1 (rel 2), d2 (0), d3 (unjudged), d4 (rel 1); d5 (rel 3) not retrieved.
        let j = judg(&[("d1", 2), ("d2", 0), ("d4", 1), ("d5", 3)]);
        let r = res(&[("d4", 0.1), ("d3", 0.5), ("d1", 0.9), ("d2", 0.7)]);
        let rr = RankedRels::new(&j, &r);
        assert_eq!(rr.relevant, vec![(0, 2), (3, 1)]);
        assert_eq!(rr.ideal, vec![3, 2, 1]);
        close(rr.average_precision(), (1.0 + 2.0 / 4.0) / 3.0);
        close(rr.recip_rank(), 1.0);
        close(rr.mrr_at_k(1), 1.0);
        close(rr.precision_at_k(4), 0.5);
        close(rr.precision_at_k(10), 0.2);
        close(rr.recall_at_k(3), 1.0 / 3.0);
        close(rr.recall_at_k(4), 2.0 / 3.0);
        let dcg = 2.0 + 1.0 / 5f64.log2();
        let idcg = 3.0 + 2.0 / 3f64.log2() + 1.0 / 2.0;
        close(rr.ndcg_at_k(10), dcg / idcg);
        close(rr.ndcg_at_k(1), 2.0 / 3.0);
        close(ndcg_at_k(&j, &r, 10), dcg / idcg);
    }

    #[test]
    fn ties_break_by_docid_descending_in_f32() {
        let j = judg(&[("a", 1), ("b", 0)]);
        // Equal scores: "b" > "a", so b ranks first.
        close(recip_rank(&j, &res(&[("a", 1.0), ("b", 1.0)])), 0.5);
        // Differ only beyond f32 precision: still a tie.
        close(recip_rank(&j, &res(&[("a", 1.0 + 1e-9), ("b", 1.0)])), 0.5);
        close(recip_rank(&j, &res(&[("a", 1.0 + 1e-6), ("b", 1.0)])), 1.0);
        // NaN ranks last.
        close(recip_rank(&j, &res(&[("a", f64::NAN), ("b", -5.0)])), 0.5);
    }

    #[test]
    fn empty_and_degenerate_inputs() {
        let j = judg(&[("a", 1)]);
        let none = res(&[]);
        close(ndcg_at_k(&j, &none, 10), 0.0);
        close(average_precision(&j, &none), 0.0);
        close(recip_rank(&j, &none), 0.0);
        // No relevant documents judged.
        let z = judg(&[("a", 0), ("b", -1)]);
        let r = res(&[("a", 1.0), ("b", 0.5)]);
        for v in [
            ndcg_at_k(&z, &r, 5),
            average_precision(&z, &r),
            recip_rank(&z, &r),
            mrr_at_k(&z, &r, 5),
            recall_at_k(&z, &r, 5),
            precision_at_k(&z, &r, 5),
        ] {
            close(v, 0.0);
        }
        // k = 0 and k beyond the list.
        let r = res(&[("a", 1.0)]);
        close(precision_at_k(&j, &r, 0), 0.0);
        close(ndcg_at_k(&j, &r, 0), 0.0);
        close(mrr_at_k(&j, &r, 0), 0.0);
        close(precision_at_k(&j, &r, 1000), 0.001);
        close(ndcg_at_k(&j, &r, 1000), 1.0);
        close(recall_at_k(&j, &r, 1000), 1.0);
        // Empty judgments.
        close(ndcg_at_k(&BTreeMap::new(), &r, 10), 0.0);
    }

    #[test]
    fn duplicates_count_once_at_best_position() {
        let j = judg(&[("a", 1)]);
        let r = res(&[("x", 0.5), ("x", 0.9), ("a", 0.7), ("x", 0.1)]);
        close(recip_rank(&j, &r), 0.5);
        let r = res(&[("a", 0.1), ("a", 0.9), ("x", 0.5)]);
        close(recip_rank(&j, &r), 1.0);
        close(average_precision(&j, &r), 1.0);
    }

    /// The straightforward way: sort everything, drop later duplicates, look up grades.
    fn naive(j: &BTreeMap<String, i32>, r: &[(String, f64)]) -> Vec<(usize, i32)> {
        let mut ranking: Vec<(f32, &str)> = r
            .iter()
            .map(|(d, s)| (trec_score(*s), d.as_str()))
            .collect();
        ranking.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(Ordering::Equal)
                .then_with(|| b.1.cmp(a.1))
        });
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut rank = 0;
        for (_, d) in ranking {
            if !seen.insert(d) {
                continue;
            }
            if let Some(&g) = j.get(d) {
                if g >= 1 {
                    out.push((rank, g));
                }
            }
            rank += 1;
        }
        out
    }

    #[test]
    fn matches_naive_ranking_on_random_inputs() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let n_docs = rng.random_range(1..40u32);
            let doc = |rng: &mut rand::rngs::StdRng| format!("d{}", rng.random_range(0..n_docs));
            let mut j = BTreeMap::new();
            for _ in 0..rng.random_range(0..15) {
                j.insert(doc(&mut rng), rng.random_range(-1..4));
            }
            let r: Vec<(String, f64)> = (0..rng.random_range(0..60))
                .map(|_| {
                    let s = match rng.random_range(0..4) {
                        0 => f64::from(rng.random_range(0..4u8)),
                        1 => f64::NAN,
                        2 => 1.0 + f64::from(rng.random_range(0..3u8)) * 1e-10,
                        _ => rng.random::<f64>(),
                    };
                    (doc(&mut rng), s)
                })
                .collect();
            assert_eq!(
                RankedRels::new(&j, &r).relevant,
                naive(&j, &r),
                "{j:?} {r:?}"
            );
        }
    }

    #[test]
    fn mrr_cutoff() {
        let j = judg(&[("c", 1)]);
        let r = res(&[("a", 3.0), ("b", 2.0), ("c", 1.0)]);
        close(mrr_at_k(&j, &r, 2), 0.0);
        close(mrr_at_k(&j, &r, 3), 1.0 / 3.0);
        close(recip_rank(&j, &r), 1.0 / 3.0);
    }

    #[test]
    fn averaging_conventions() {
        let mut qrels = Qrels::new();
        qrels.insert("q1".into(), judg(&[("a", 1)]));
        qrels.insert("q2".into(), judg(&[("b", 1)]));
        let mut run = Run::new();
        run.insert("q1".into(), res(&[("a", 1.0)]));
        run.insert("q9".into(), res(&[("a", 1.0)]));

        let all = evaluate(&qrels, &run, &[10]);
        assert_eq!(all.queries, 2);
        assert_eq!(all.missing, vec!["q2".to_string()]);
        assert_eq!(all.per_query.len(), 2);
        close(all.per_query["q2"]["ndcg@10"], 0.0);
        close(all.mean["ndcg@10"], 0.5);
        close(all.mean["map"], 0.5);
        close(all.mean_over_run_queries()["ndcg@10"], 1.0);
        assert!(!all.per_query.contains_key("q9"));

        let only = evaluate_with(&qrels, &run, &[10], Averaging::RunQueriesOnly);
        assert_eq!(only.queries, 1);
        assert_eq!(only.per_query.len(), 1);
        close(only.mean["ndcg@10"], 1.0);
        close(only.mean_over_run_queries()["ndcg@10"], 1.0);

        let empty = evaluate(&Qrels::new(), &run, &[10]);
        assert_eq!(empty.queries, 0);
        assert!(empty.mean.is_empty());
    }

    #[test]
    fn metric_names() {
        let ev = IrEvaluator::new(&[10, 1, 10]);
        assert_eq!(ev.ks(), &[1, 10]);
        let names: Vec<&str> = ev.metric_names().iter().map(String::as_str).collect();
        assert_eq!(
            names,
            vec![
                "map",
                "recip_rank",
                "ndcg@1",
                "ndcg@10",
                "mrr@1",
                "mrr@10",
                "recall@1",
                "recall@10",
                "p@1",
                "p@10"
            ]
        );
        let m = ev.evaluate_query(&judg(&[("a", 1)]), &res(&[("a", 1.0)]));
        assert_eq!(m.len(), names.len());
        assert_eq!(IrEvaluator::default().ks(), &DEFAULT_KS);
    }
}
