//! Second-stage re-ranking: the first stage's top `candidates` are scored by a pair scorer
//! (a cross-encoder, [`quarry_models::rerank::CrossEncoder`]) and re-ordered; the rest of
//! the first-stage list follows unchanged, below every re-ranked document.
//!
//! Fusion with the first stage ([`RerankFusion`]):
//! * **none**: order by the reranker's score alone;
//! * **linear**: both scores min-max normalized over the candidates, then
//!   `weight * reranker + (1 - weight) * first_stage`.
//!
//! The returned scores always decrease down the list (the tail is placed below the lowest
//! re-ranked score), so tools that sort a run by score (trec_eval) see the same order.

use quarry_core::Document;
use serde::{Deserialize, Serialize};

/// Scores (query, passage) pairs: higher is more relevant.
pub trait PairScorer: Send + Sync {
    /// The model's name (for logs and run configs).
    fn name(&self) -> &str;
    /// One score per passage, in input order.
    fn score(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>, String>;
    /// One score per (title, text) passage, in input order; by default the score of
    /// `title text` ([`quarry_models::rerank::titled_passage`], as [`passage_of`] joins). A scorer that reads long passages in
    /// windows can repeat the title in each.
    fn score_titled(&self, query: &str, passages: &[(&str, &str)]) -> Result<Vec<f32>, String> {
        let joined: Vec<String> = passages
            .iter()
            .map(|(t, x)| quarry_models::rerank::titled_passage(t, x))
            .collect();
        let refs: Vec<&str> = joined.iter().map(String::as_str).collect();
        self.score(query, &refs)
    }
}

impl PairScorer for quarry_models::rerank::CrossEncoder {
    fn name(&self) -> &str {
        quarry_models::rerank::CrossEncoder::name(self)
    }
    fn score(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>, String> {
        quarry_models::rerank::CrossEncoder::score(self, query, passages).map_err(|e| e.to_string())
    }
    fn score_titled(&self, query: &str, passages: &[(&str, &str)]) -> Result<Vec<f32>, String> {
        quarry_models::rerank::CrossEncoder::score_titled(self, query, passages)
            .map_err(|e| e.to_string())
    }
}

/// How reranker and first-stage scores combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RerankFusion {
    /// The reranker's score alone.
    None,
    /// Min-max normalized weighted sum.
    Linear,
}

impl std::str::FromStr for RerankFusion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(RerankFusion::None),
            "linear" => Ok(RerankFusion::Linear),
            o => Err(format!("unknown rerank fusion '{o}' (none | linear)")),
        }
    }
}

/// Re-ranking parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RerankParams {
    /// First-stage results re-scored (0 = no re-ranking).
    pub candidates: usize,
    /// Score fusion.
    pub fusion: RerankFusion,
    /// Weight of the reranker in linear fusion (the first stage gets `1 - weight`).
    pub weight: f32,
}

impl Default for RerankParams {
    fn default() -> Self {
        RerankParams {
            candidates: 100,
            fusion: RerankFusion::Linear,
            weight: 0.5,
        }
    }
}

/// The text a reranker reads for a document: the `title` field first, then the other
/// fields' original text in document order, trimmed and joined by one space (for BEIR
/// documents `title text`, what the training recipe's `passage_text` builds).
pub fn passage_of(doc: &Document) -> String {
    let (title, text) = passage_parts(doc);
    quarry_models::rerank::titled_passage(&title, &text)
}

/// [`passage_of`] in its two parts: the `title` field(s) and the other fields' text.
pub fn passage_parts(doc: &Document) -> (String, String) {
    let part = |title: bool| {
        doc.fields
            .iter()
            .filter(|f| (f.name == "title") == title)
            .map(|f| f.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (part(true), part(false))
}

fn min_max(xs: impl Iterator<Item = f32>) -> (f32, f32) {
    xs.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

fn normalized(x: f32, lo: f32, hi: f32) -> f32 {
    if hi > lo {
        (x - lo) / (hi - lo)
    } else {
        1.0
    }
}

/// Re-orders `first` (best first) given the reranker's `scores` for its first
/// `scores.len()` entries. Ties keep first-stage order; the output has `first`'s length.
pub fn apply<D: Copy>(first: &[(f32, D)], scores: &[f32], params: &RerankParams) -> Vec<(f32, D)> {
    let n = scores.len().min(first.len());
    let head = &first[..n];
    let (flo, fhi) = min_max(head.iter().map(|h| h.0));
    let (rlo, rhi) = min_max(scores[..n].iter().copied().filter(|s| s.is_finite()));
    let raw: Vec<Option<f32>> = (0..n)
        .map(|i| {
            let s = match params.fusion {
                RerankFusion::None => scores[i],
                RerankFusion::Linear => {
                    let w = params.weight.clamp(0.0, 1.0);
                    w * normalized(scores[i], rlo, rhi)
                        + (1.0 - w) * normalized(head[i].0, flo, fhi)
                }
            };
            Some(s).filter(|s| s.is_finite())
        })
        .collect();
    // A non-finite score (a broken model output) sinks below every finite one.
    let sink = raw.iter().flatten().fold(f32::INFINITY, |a, &b| a.min(b));
    let sink = if sink.is_finite() { sink - 1.0 } else { 0.0 };
    let mut fused: Vec<(f32, usize)> = raw
        .iter()
        .enumerate()
        .map(|(i, s)| (s.unwrap_or(sink), i))
        .collect();
    fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<(f32, D)> = fused.iter().map(|&(s, i)| (s, head[i].1)).collect();
    // The tail keeps its order, strictly below the head (finite, decreasing scores).
    let floor = out.last().map(|l| l.0).unwrap_or(0.0);
    for (j, &(_, d)) in first[n..].iter().enumerate() {
        out.push((floor - 1.0 - j as f32 * 1e-3, d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> Vec<(f32, u32)> {
        vec![(10.0, 1), (8.0, 2), (6.0, 3), (4.0, 4), (2.0, 5)]
    }

    #[test]
    fn reranker_alone_reorders_the_head_and_keeps_the_tail() {
        let p = RerankParams {
            candidates: 3,
            fusion: RerankFusion::None,
            weight: 1.0,
        };
        let out = apply(&first(), &[0.1, 0.9, 0.5], &p);
        let ids: Vec<u32> = out.iter().map(|x| x.1).collect();
        assert_eq!(ids, vec![2, 3, 1, 4, 5]);
        assert!(out.windows(2).all(|w| w[0].0 > w[1].0), "{out:?}");
    }

    #[test]
    fn linear_fusion_weighs_both_stages() {
        let lin = |w| RerankParams {
            candidates: 5,
            fusion: RerankFusion::Linear,
            weight: w,
        };
        let scores = [0.0, 0.0, 0.0, 0.0, 1.0];
        // weight 0 keeps the first stage; weight 1 follows the reranker.
        let keep: Vec<u32> = apply(&first(), &scores, &lin(0.0))
            .iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(keep, vec![1, 2, 3, 4, 5]);
        let flip = apply(&first(), &scores, &lin(1.0));
        assert_eq!(flip[0].1, 5);
        // 0.6 * 1 + 0.4 * 0 = 0.6 beats 0.4 * 1 (the first-stage best), loses at 0.4.
        assert_eq!(apply(&first(), &scores, &lin(0.6))[0].1, 5);
        assert_eq!(apply(&first(), &scores, &lin(0.4))[0].1, 1);
    }

    #[test]
    fn degenerate_inputs() {
        let p = RerankParams::default();
        assert!(apply::<u32>(&[], &[], &p).is_empty());
        // NaN scores sink, equal scores keep first-stage order.
        let out = apply(
            &first(),
            &[f32::NAN, 1.0, 1.0],
            &RerankParams {
                fusion: RerankFusion::None,
                ..p
            },
        );
        let ids: Vec<u32> = out.iter().map(|x| x.1).collect();
        assert_eq!(ids, vec![2, 3, 1, 4, 5]);
        assert!(out[3].0.is_finite() && out[3].0 > out[4].0);
    }
}
