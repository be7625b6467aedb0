//! Cross-encoder re-ranking: BERT-family `(query, passage)` pair classifiers
//! (`input_ids`, `attention_mask`, `token_type_ids` -> `logits`), one relevance score per
//! pair.
//!
//! * **Pairs** follow [`PairRule`]: `[CLS] query [SEP] passage [SEP]`, the query cut to
//!   `max_query` tokens, the passage to what is left of `max_length`, so truncation takes
//!   from the passage first. The query is tokenized once per call, not once per passage.
//! * **Batches** are length-sorted, cut where the padding saved outweighs one more call,
//!   and padded only to their own longest pair (see [`crate::batch::plan_padded`]), so
//!   almost no compute goes to padding; `sort_by_length = false`
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

/// A passage's text from its parts: `title text`, or whichever of the two is not empty
/// (what the training recipe's `passage_text` builds).
pub fn titled_passage(title: &str, text: &str) -> String {
    match (title.is_empty(), text.is_empty()) {
        (false, false) => format!("{title} {text}"),
        (false, true) => title.to_string(),
        _ => text.to_string(),
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

/// The windows of a passage of `len` tokens when a pair has room for `room` passage
/// tokens: the first `room` tokens (what a single pair reads), then each next `room` tokens
/// starting `overlap` tokens before the previous window's end, at most `max` windows (MaxP,
/// Dai & Callan 2019).
pub fn passage_windows(
    room: usize,
    len: usize,
    max: usize,
    overlap: usize,
) -> Vec<std::ops::Range<usize>> {
    let room = room.max(1);
    let step = room.saturating_sub(overlap.min(room / 2)).max(1);
    let mut out = Vec::with_capacity(max.max(1));
    out.push(0..len.min(room));
    let mut start = step;
    while out.len() < max.max(1) && start < len && out[out.len() - 1].end < len {
        out.push(start..len.min(start + room));
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
        let titled: Vec<(Vec<i64>, Vec<i64>)> = ps.into_iter().map(|p| (Vec::new(), p)).collect();
        self.score_windows(&q, &titled)
    }

    /// One score per (title, text) passage: as [`CrossEncoder::score`] of `title text`
    /// with one window; with several, every window of the text is read after the title
    /// (the model was trained on passages that start with their title).
    pub fn score_titled(
        &self,
        query: &str,
        passages: &[(&str, &str)],
    ) -> Result<Vec<f32>, ModelError> {
        if self.windows <= 1 {
            let joined: Vec<String> = passages.iter().map(|(t, x)| titled_passage(t, x)).collect();
            let refs: Vec<&str> = joined.iter().map(String::as_str).collect();
            return self.score(query, &refs);
        }
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        let q = self.tokenize(&[query])?.pop().unwrap_or_default();
        let titles: Vec<&str> = passages.iter().map(|p| p.0).collect();
        let texts: Vec<&str> = passages.iter().map(|p| p.1).collect();
        let titles = self.tokenize(&titles)?;
        let texts = self.model.tokenizer.encode_plain_full(&texts)?;
        let titled: Vec<(Vec<i64>, Vec<i64>)> = titles.into_iter().zip(texts).collect();
        self.score_windows(&q, &titled)
    }

    /// The best logit over each (title, text)'s windows: the title (at most half of the
    /// room) then a window of the text.
    fn score_windows(
        &self,
        q: &[i64],
        titled: &[(Vec<i64>, Vec<i64>)],
    ) -> Result<Vec<f32>, ModelError> {
        let room = self
            .rule
            .max_length
            .saturating_sub(q.len().min(self.rule.max_query) + 3);
        let mut pairs = Vec::new();
        let mut owner = Vec::new();
        for (i, (title, text)) in titled.iter().enumerate() {
            let title = &title[..title.len().min(room / 2)];
            for w in passage_windows(room - title.len(), text.len(), self.windows, 32) {
                let mut p = Vec::with_capacity(title.len() + w.len());
                p.extend_from_slice(title);
                p.extend_from_slice(&text[w]);
                pairs.push(self.pair(q, &p));
                owner.push(i);
            }
        }
        let scores = self.score_encoded(&pairs, self.options().sort_by_length)?;
        let mut best = vec![f32::NEG_INFINITY; titled.len()];
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
        // room 12 tokens; overlap 4, so each next window starts 8 later
        assert_eq!(
            passage_windows(12, 30, 8, 4),
            vec![0..12, 8..20, 16..28, 24..30]
        );
        assert_eq!(passage_windows(12, 30, 2, 4), vec![0..12, 8..20]);
        // a passage that fits is one window; an empty one too
        assert_eq!(passage_windows(12, 10, 8, 4), vec![0..10]);
        assert_eq!(passage_windows(12, 0, 8, 4), vec![0..0]);
        // an overlap of more than half the room is capped (the windows still advance)
        assert_eq!(passage_windows(4, 9, 8, 100), vec![0..4, 2..6, 4..8, 6..9]);
        // every window fits the pair
        let r = PairRule {
            max_length: 20,
            max_query: 5,
        };
        let p: Vec<i64> = (0..30).collect();
        for win in passage_windows(20 - (5 + 3), p.len(), 8, 4) {
            let e = r.build(1, 2, &[7; 5], &p[win]);
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
