//! Cross-encoder re-ranking: BERT-family `(query, passage)` pair classifiers
//! (`input_ids`, `attention_mask`, `token_type_ids` -> `logits`), one relevance score per
//! pair.
//!
//! * **Pairs** follow [`PairRule`]: `[CLS] query [SEP] passage [SEP]`, the query cut to
//!   `max_query` tokens, the passage to what is left of `max_length`, so truncation takes
//!   from the passage first. The query is tokenized once per call, not once per passage.
//! * **Batches** are length-sorted and padded only to their own longest pair (see
//!   [`crate::batch`]), so almost no compute goes to padding; `sort_by_length = false`
//!   keeps input order (the benchmark's baseline).
//! * **Concurrency**: the model holds a [`crate::pool::SessionPool`]; concurrent queries
//!   each borrow a session.
//!
//! Quarry's own cross-encoders are trained by `models/recipes/cross_encoder/` and committed
//! as int8 artifacts (`models/artifacts/ce-minilm-l6-scifact/`); any BERT-family
//! cross-encoder exported to ONNX with a `tokenizer.json` beside it loads the same way.

use crate::error::ModelError;
use crate::registry::{Family, ModelSpec, OnnxModel, Registry};
use crate::tokenizer::Encoded;
use crate::EncoderOptions;

/// The cross-encoder Quarry uses when none is named.
pub const DEFAULT_RERANKER: &str = "ce-minilm-l6-scifact";

/// The cross-encoder artifacts committed with the repository.
pub const BUNDLED_RERANKERS: [&str; 1] = [DEFAULT_RERANKER];

/// How a (query, passage) pair becomes one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairRule {
    /// Longest pair, special tokens included.
    pub max_length: usize,
    /// Longest query (tokens); the passage gets the rest.
    pub max_query: usize,
}

impl Default for PairRule {
    fn default() -> Self {
        PairRule {
            max_length: 256,
            max_query: 64,
        }
    }
}

impl PairRule {
    /// `[CLS] q [SEP] p [SEP]` with segment ids 0 for the query part and 1 for the
    /// passage part; the query keeps at most `max_query` tokens and the passage what is
    /// left of `max_length` after the three special tokens.
    pub fn build(&self, cls: i64, sep: i64, query: &[i64], passage: &[i64]) -> Encoded {
        let q = &query[..query.len().min(self.max_query)];
        let room = self.max_length.saturating_sub(q.len() + 3);
        let p = &passage[..passage.len().min(room)];
        let mut ids = Vec::with_capacity(q.len() + p.len() + 3);
        ids.push(cls);
        ids.extend_from_slice(q);
        ids.push(sep);
        ids.extend_from_slice(p);
        ids.push(sep);
        let mut type_ids = vec![0i64; q.len() + 2];
        type_ids.resize(ids.len(), 1);
        Encoded { ids, type_ids }
    }
}

/// A loaded cross-encoder.
pub struct CrossEncoder {
    model: OnnxModel,
    rule: PairRule,
    cls: i64,
    sep: i64,
    windows: usize,
}

/// The windows of a passage for a query of `query_len` tokens under `rule`: the first
/// `room` tokens (what a single pair reads), then each next `room` tokens starting `overlap`
/// tokens before the previous window's end, at most `max` windows (MaxP, Dai & Callan 2019).
pub fn passage_windows(
    rule: &PairRule,
    query_len: usize,
    passage: &[i64],
    max: usize,
    overlap: usize,
) -> Vec<std::ops::Range<usize>> {
    let room = rule
        .max_length
        .saturating_sub(query_len.min(rule.max_query) + 3)
        .max(1);
    let step = room.saturating_sub(overlap.min(room / 2)).max(1);
    let mut out = Vec::with_capacity(max.max(1));
    out.push(0..passage.len().min(room));
    let mut start = step;
    while out.len() < max.max(1) && start < passage.len() && out[out.len() - 1].end < passage.len()
    {
        out.push(start..passage.len().min(start + room));
        start += step;
    }
    out
}

impl CrossEncoder {
    /// Loads a cross-encoder by name (a committed artifact such as `ce-minilm-l6-scifact`,
    /// `ce-minilm-l6-scifact:fp32`) or directory (`model.onnx` + `tokenizer.json`).
    /// `opts.max_length` is the pair length.
    pub fn load(
        registry: &Registry,
        spec: &ModelSpec,
        opts: &EncoderOptions,
        max_query: usize,
    ) -> Result<Self, ModelError> {
        let model = registry.load(spec, Family::CrossEncoder, opts)?;
        Self::from_model(model, max_query)
    }

    /// Wraps a loaded model; its tokenizer must know `[CLS]` and `[SEP]` (BERT family).
    pub fn from_model(model: OnnxModel, max_query: usize) -> Result<Self, ModelError> {
        let special = |t: &str| {
            model
                .tokenizer
                .token_to_id(t)
                .map(|i| i as i64)
                .ok_or_else(|| ModelError::Output {
                    model: model.name.clone(),
                    detail: format!(
                        "the tokenizer has no {t} token: only BERT-family cross-encoders \
                         ([CLS] query [SEP] passage [SEP]) are supported"
                    ),
                })
        };
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        let max_length = model.options().max_length;
        if max_length < 8 {
            return Err(ModelError::Output {
                model: model.name.clone(),
                detail: format!("max_length {max_length} leaves no room for a pair"),
            });
        }
        let rule = PairRule {
            max_length,
            max_query: max_query.clamp(1, max_length - 4),
        };
        Ok(CrossEncoder {
            model,
            rule,
            cls,
            sep,
            windows: 1,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// The pair rule in force.
    pub fn rule(&self) -> PairRule {
        self.rule
    }

    /// The options the model was loaded with.
    pub fn options(&self) -> &EncoderOptions {
        self.model.options()
    }

    /// Token ids of texts without special tokens (cut at the pair length).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>, ModelError> {
        self.model.tokenizer.encode_plain(texts)
    }

    /// The pair sequence of already tokenized query and passage.
    pub fn pair(&self, query: &[i64], passage: &[i64]) -> Encoded {
        self.rule.build(self.cls, self.sep, query, passage)
    }

    /// Scores each passage as up to `n` windows and keeps the best (MaxP); 1, the default,
    /// reads the passage's start only (FirstP).
    pub fn with_windows(mut self, n: usize) -> Self {
        self.windows = n.max(1);
        self
    }

    /// One relevance score (the logit) per passage for `query`, in input order; with
    /// [`CrossEncoder::with_windows`] above 1, the best logit of the passage's windows.
    pub fn score(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>, ModelError> {
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        let q = self.tokenize(&[query])?.pop().unwrap_or_default();
        if self.windows <= 1 {
            let ps = self.tokenize(passages)?;
            let pairs: Vec<Encoded> = ps.iter().map(|p| self.pair(&q, p)).collect();
            return self.score_encoded(&pairs, self.options().sort_by_length);
        }
        let ps = self.model.tokenizer.encode_plain_full(passages)?;
        let mut pairs = Vec::new();
        let mut owner = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            for w in passage_windows(&self.rule, q.len(), p, self.windows, 32) {
                pairs.push(self.pair(&q, &p[w]));
                owner.push(i);
            }
        }
        let scores = self.score_encoded(&pairs, self.options().sort_by_length)?;
        let mut best = vec![f32::NEG_INFINITY; passages.len()];
        for (s, i) in scores.into_iter().zip(owner) {
            best[i] = best[i].max(s);
        }
        Ok(best)
    }

    /// Scores of arbitrary (query, passage) pairs, in input order.
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ModelError> {
        let qs: Vec<&str> = pairs.iter().map(|p| p.0).collect();
        let ps: Vec<&str> = pairs.iter().map(|p| p.1).collect();
        let (qs, ps) = (self.tokenize(&qs)?, self.tokenize(&ps)?);
        let encs: Vec<Encoded> = qs.iter().zip(&ps).map(|(q, p)| self.pair(q, p)).collect();
        self.score_encoded(&encs, self.options().sort_by_length)
    }

    /// Scores of pair sequences built by [`CrossEncoder::pair`]; `sort` batches them by
    /// length (the default) instead of in input order.
    pub fn score_encoded(&self, pairs: &[Encoded], sort: bool) -> Result<Vec<f32>, ModelError> {
        let name = self.model.name.clone();
        self.model
            .run_encoded(pairs, "logits", sort, |b, shape, data| {
                // [batch, 1] (sequence classification with one label) or [batch].
                let ok = match shape {
                    [n] => *n as usize == b.batch,
                    [n, 1] => *n as usize == b.batch,
                    _ => false,
                };
                if !ok || data.len() != b.batch {
                    return Err(ModelError::Output {
                        model: name.clone(),
                        detail: format!(
                            "logits have shape {shape:?}; a cross-encoder gives one logit per pair"
                        ),
                    });
                }
                Ok(data.to_vec())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_a_long_passage_with_overlap() {
        let r = PairRule {
            max_length: 20,
            max_query: 5,
        };
        // room = 20 - (5 + 3) = 12 tokens; step = 12 - 4 = 8
        let p: Vec<i64> = (0..30).collect();
        let w = passage_windows(&r, 5, &p, 8, 4);
        assert_eq!(w, vec![0..12, 8..20, 16..28, 24..30]);
        assert_eq!(passage_windows(&r, 5, &p, 2, 4), vec![0..12, 8..20]);
        // a passage that fits is one window; an empty one too
        assert_eq!(passage_windows(&r, 5, &p[..10], 8, 4), vec![0..10]);
        assert_eq!(passage_windows(&r, 5, &[], 8, 4), vec![0..0]);
        // every window fits the pair
        for win in passage_windows(&r, 9, &p, 8, 4) {
            let e = r.build(1, 2, &[7; 9], &p[win]);
            assert!(e.ids.len() <= r.max_length);
        }
    }

    #[test]
    fn pairs_truncate_the_passage_first() {
        let r = PairRule {
            max_length: 10,
            max_query: 4,
        };
        let e = r.build(101, 102, &[1, 2], &[5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(e.ids, vec![101, 1, 2, 102, 5, 6, 7, 8, 9, 102]);
        assert_eq!(e.type_ids, vec![0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
        // A long query keeps max_query tokens; the passage still gets the rest.
        let e = r.build(101, 102, &[1, 2, 3, 4, 5, 6], &[7, 8, 9, 10]);
        assert_eq!(e.ids, vec![101, 1, 2, 3, 4, 102, 7, 8, 9, 102]);
        // Short pairs are untouched; empty sides still give a well-formed pair.
        assert_eq!(r.build(101, 102, &[1], &[2]).ids, vec![101, 1, 102, 2, 102]);
        assert_eq!(r.build(101, 102, &[], &[]).ids, vec![101, 102, 102]);
    }

    proptest::proptest! {
        #[test]
        fn pairs_never_exceed_the_limit(
            q in proptest::collection::vec(1i64..100, 0..80),
            p in proptest::collection::vec(1i64..100, 0..600),
            max_length in 8usize..512,
            max_query in 1usize..100,
        ) {
            let r = PairRule { max_length, max_query: max_query.min(max_length - 4) };
            let e = r.build(101, 102, &q, &p);
            proptest::prop_assert!(e.ids.len() <= max_length);
            proptest::prop_assert_eq!(e.ids.len(), e.type_ids.len());
            // The query is never cut while the passage still has tokens to give.
            let kept_q = e.type_ids.iter().filter(|&&t| t == 0).count() - 2;
            proptest::prop_assert_eq!(kept_q, q.len().min(r.max_query));
        }
    }
}
