//! SPLADE sparse encoders: the graph outputs `sparse` = max over tokens of
//! log(1 + relu(MLM logits)), one weight per vocabulary entry (or per entry of the
//! restricted head listed in the model's `sparse_ids` metadata, see
//! `models/recipes/splade_vocab.py`). We keep the non-zero ones, zero the special tokens and
//! optionally keep only the heaviest `max_terms`.
//!
//! [`QueryTokens`] is the inference-free query side: the same tokenizer, unique token ids,
//! no model.

use crate::error::ModelError;
use crate::registry::{Family, ModelSpec, OnnxModel, Registry};
use crate::tokenizer::TextTokenizer;
use crate::EncoderOptions;
use std::collections::HashSet;

/// A sparse vector: (vocabulary id, weight), sorted by id.
pub type SparseVector = Vec<(u32, f32)>;

/// Pruning applied to every document vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparsePruning {
    /// Weights at or below this are dropped.
    pub min_weight: f32,
    /// Keep at most this many terms (the heaviest; ties by lower id); 0 = no limit.
    pub max_terms: usize,
}

impl Default for SparsePruning {
    fn default() -> Self {
        SparsePruning {
            min_weight: 0.0,
            max_terms: 0,
        }
    }
}

/// Vocabulary ids of the tokens that never carry weight: `[CLS]`, `[SEP]`, `[PAD]`,
/// `[MASK]`, `[UNK]` (and their `<s>`-style equivalents) and `[unusedN]`.
pub fn special_token_ids(tok: &TextTokenizer) -> HashSet<u32> {
    let mut out = HashSet::new();
    for t in [
        "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "<s>", "</s>", "<pad>", "<mask>", "<unk>",
    ] {
        if let Some(i) = tok.token_to_id(t) {
            out.insert(i);
        }
    }
    for i in 0..tok.vocab_size() as u32 {
        if let Some(t) = tok.id_to_token(i) {
            if t.starts_with("[unused") && t.ends_with(']') {
                out.insert(i);
            }
        }
    }
    out
}

/// Keeps the `max_terms` heaviest entries (ties: lower id first) and re-sorts by id.
pub fn prune_top(v: &mut SparseVector, max_terms: usize) {
    if max_terms == 0 || v.len() <= max_terms {
        return;
    }
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(max_terms);
    v.sort_by_key(|e| e.0);
}

/// A SPLADE-style document expander.
pub struct SparseEncoder {
    model: OnnxModel,
    pruning: SparsePruning,
    /// Output column -> vocabulary id (identity without a restricted head).
    columns: Option<Vec<u32>>,
    special: HashSet<u32>,
}

impl SparseEncoder {
    /// Loads a sparse-encoder model; weights below `min_weight` are dropped.
    pub fn load(
        registry: &Registry,
        spec: &ModelSpec,
        opts: &EncoderOptions,
        min_weight: f32,
    ) -> Result<Self, ModelError> {
        Self::load_with(
            registry,
            spec,
            opts,
            SparsePruning {
                min_weight,
                max_terms: 0,
            },
        )
    }

    /// Loads a sparse-encoder model with the given pruning.
    pub fn load_with(
        registry: &Registry,
        spec: &ModelSpec,
        opts: &EncoderOptions,
        pruning: SparsePruning,
    ) -> Result<Self, ModelError> {
        let model = registry.load(spec, Family::SparseEncoder, opts)?;
        let columns = match model.metadata("sparse_ids") {
            None => None,
            Some(s) => Some(
                s.split(',')
                    .map(|x| x.trim().parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ModelError::Output {
                        model: model.name.clone(),
                        detail: format!("bad sparse_ids metadata: {e}"),
                    })?,
            ),
        };
        let special = special_token_ids(&model.tokenizer);
        Ok(SparseEncoder {
            model,
            pruning,
            columns,
            special,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// The tokenizer (shared with the inference-free query side).
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.model.tokenizer
    }

    /// Number of vocabulary rows the head computes (the whole vocabulary, or the restricted
    /// head's size).
    pub fn head_size(&self) -> usize {
        self.columns
            .as_ref()
            .map(Vec::len)
            .unwrap_or_else(|| self.model.tokenizer.vocab_size())
    }

    /// One sparse vector per text, in input order.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<SparseVector>, ModelError> {
        let name = self.model.name.clone();
        let SparsePruning {
            min_weight,
            max_terms,
        } = self.pruning;
        let columns = self.columns.as_deref();
        let special = &self.special;
        self.model.run(texts, "sparse", |b, shape, data| {
            let width = match columns {
                Some(c) => c.len(),
                None => shape.get(1).copied().unwrap_or(0) as usize,
            };
            if shape.len() != 2 || shape[0] as usize != b.batch || shape[1] as usize != width {
                return Err(ModelError::Output {
                    model: name.clone(),
                    detail: format!(
                        "sparse has shape {shape:?}, expected [{}, {width}]",
                        b.batch
                    ),
                });
            }
            Ok((0..b.batch)
                .map(|row| {
                    let mut v: SparseVector = data[row * width..(row + 1) * width]
                        .iter()
                        .enumerate()
                        .filter(|(_, &w)| w > min_weight && w.is_finite())
                        .map(|(i, &w)| (columns.map_or(i as u32, |c| c[i]), w))
                        .filter(|(id, _)| !special.contains(id))
                        .collect();
                    prune_top(&mut v, max_terms);
                    v
                })
                .collect())
        })
    }

    /// The vector with ids replaced by token strings, heaviest first.
    pub fn terms(&self, v: &SparseVector) -> Vec<(String, f32)> {
        let mut out: Vec<(String, f32)> = v
            .iter()
            .map(|&(i, w)| {
                (
                    self.model
                        .tokenizer
                        .id_to_token(i)
                        .unwrap_or_else(|| format!("#{i}")),
                    w,
                )
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

/// The inference-free query side: tokenizer.json -> unique token ids (special tokens
/// dropped), no model. Weights come from an IDF table kept by the index.
pub struct QueryTokens {
    tokenizer: TextTokenizer,
    special: HashSet<u32>,
}

impl QueryTokens {
    /// Loads the tokenizer of a sparse model (only `tokenizer.json` is needed).
    pub fn load(path: &std::path::Path, max_length: usize) -> Result<Self, ModelError> {
        let tokenizer = TextTokenizer::load(path, max_length)?;
        let special = special_token_ids(&tokenizer);
        Ok(QueryTokens { tokenizer, special })
    }

    /// Unique token ids of each text, sorted.
    pub fn unique_ids(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, ModelError> {
        Ok(self
            .tokenizer
            .encode(texts)?
            .into_iter()
            .map(|e| self.unique(e.ids.iter().map(|&i| i as u32)))
            .collect())
    }

    /// Sorted, deduplicated ids without the special tokens.
    fn unique(&self, ids: impl Iterator<Item = u32>) -> Vec<u32> {
        let mut ids: Vec<u32> = ids.filter(|i| !self.special.contains(i)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Unique token ids of one text, sorted (the query path: no batch machinery).
    pub fn unique_ids_one(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        Ok(self.unique(self.tokenizer.encode_one(text)?.into_iter()))
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }
}

/// Cosine similarity of two id-sorted sparse vectors.
pub fn sparse_cosine(a: &SparseVector, b: &SparseVector) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    crate::embed::cosine_from_parts(dot, a.iter().map(|x| x.1), b.iter().map(|x| x.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_cosine_matches_dense() {
        let a = vec![(1, 1.0), (5, 2.0)];
        let b = vec![(5, 2.0), (9, 1.0)];
        assert!((sparse_cosine(&a, &b) - 4.0 / 5.0).abs() < 1e-6);
        assert_eq!(sparse_cosine(&a, &vec![]), 0.0);
    }

    #[test]
    fn prune_top_keeps_heaviest_and_id_order() {
        let mut v = vec![(1, 0.5), (2, 3.0), (3, 0.5), (7, 2.0)];
        prune_top(&mut v, 3);
        assert_eq!(v, vec![(1, 0.5), (2, 3.0), (7, 2.0)]);
        let mut w = v.clone();
        prune_top(&mut w, 0);
        assert_eq!(w, v);
    }
}
