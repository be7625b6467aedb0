//! SPLADE sparse encoders: the graph outputs `sparse` = max over tokens of
//! log(1 + relu(MLM logits)), one weight per vocabulary entry. We keep the non-zero ones.

use crate::error::ModelError;
use crate::registry::{Family, ModelSpec, OnnxModel, Registry};
use crate::EncoderOptions;

/// A sparse vector: (vocabulary id, weight), sorted by id.
pub type SparseVector = Vec<(u32, f32)>;

/// A SPLADE-style document/query expander.
pub struct SparseEncoder {
    model: OnnxModel,
    min_weight: f32,
}

impl SparseEncoder {
    /// Loads a sparse-encoder model; weights below `min_weight` are dropped.
    pub fn load(
        registry: &Registry,
        spec: &ModelSpec,
        opts: &EncoderOptions,
        min_weight: f32,
    ) -> Result<Self, ModelError> {
        Ok(SparseEncoder {
            model: registry.load(spec, Family::SparseEncoder, opts)?,
            min_weight,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// One sparse vector per text, in input order.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<SparseVector>, ModelError> {
        let name = self.model.name.clone();
        let min = self.min_weight;
        self.model.run(texts, "sparse", |b, shape, data| {
            if shape.len() != 2 || shape[0] as usize != b.batch {
                return Err(ModelError::Output {
                    model: name.clone(),
                    detail: format!("sparse has shape {shape:?}"),
                });
            }
            let vocab = shape[1] as usize;
            Ok((0..b.batch)
                .map(|row| {
                    data[row * vocab..(row + 1) * vocab]
                        .iter()
                        .enumerate()
                        .filter(|(_, &w)| w > min)
                        .map(|(i, &w)| (i as u32, w))
                        .collect()
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
}
