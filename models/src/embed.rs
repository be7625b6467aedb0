//! Sentence embeddings (all-MiniLM-L6-v2 family): mean pooling over the attention mask of
//! `last_hidden_state`, then L2 normalization, as sentence-transformers does.

use crate::error::ModelError;
use crate::registry::{Family, ModelSpec, OnnxModel, Registry};
use crate::EncoderOptions;

/// A dense sentence encoder.
pub struct SentenceEmbedder {
    model: OnnxModel,
}

impl SentenceEmbedder {
    /// Loads a sentence-embedding model.
    pub fn load(
        registry: &Registry,
        spec: &ModelSpec,
        opts: &EncoderOptions,
    ) -> Result<Self, ModelError> {
        Ok(SentenceEmbedder {
            model: registry.load(spec, Family::SentenceEmbedding, opts)?,
        })
    }

    /// Wraps an already loaded model.
    pub fn from_model(model: OnnxModel) -> Self {
        SentenceEmbedder { model }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// One unit-length embedding per text, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let name = self.model.name.clone();
        self.model
            .run(texts, "last_hidden_state", |b, shape, data| {
                if shape.len() != 3 || shape[0] as usize != b.batch || shape[1] as usize != b.seq {
                    return Err(ModelError::Output {
                        model: name.clone(),
                        detail: format!("last_hidden_state has shape {shape:?}"),
                    });
                }
                let hidden = shape[2] as usize;
                Ok((0..b.batch)
                    .map(|row| {
                        mean_pool(
                            &data[row * b.seq * hidden..(row + 1) * b.seq * hidden],
                            &b.attention_mask[row * b.seq..(row + 1) * b.seq],
                            hidden,
                        )
                    })
                    .collect())
            })
    }
}

/// Anything that turns texts into unit-length vectors comparable by inner product: the
/// sentence-embedding family ([`SentenceEmbedder`]) and a token encoder read by mean pooling
/// ([`PooledTokenEncoder`]). Dense retrieval and the linker's dense generator take either.
pub trait Embedder: Send + Sync {
    /// A name that changes whenever the vectors would (model, variant, prefix): caches of
    /// embedded texts are keyed by it.
    fn name(&self) -> &str;
    /// One unit-length embedding per text, in input order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError>;
}

impl Embedder for SentenceEmbedder {
    fn name(&self) -> &str {
        SentenceEmbedder::name(self)
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        SentenceEmbedder::embed(self, texts)
    }
}

/// A token encoder (multilingual-e5-small) used as a sentence encoder: each text read after
/// a fixed prefix, the last layer mean-pooled
/// ([`crate::token_encoder::TokenEncoder::sentence_embeddings`]). e5 was trained with
/// `"query: "` before queries and `"passage: "` before documents; for symmetric matching
/// (a mention against a concept name) both sides take `"query: "`.
pub struct PooledTokenEncoder {
    encoder: crate::token_encoder::TokenEncoder,
    prefix: String,
    name: String,
}

impl PooledTokenEncoder {
    /// Wraps `encoder`, reading every text after `prefix`.
    pub fn new(encoder: crate::token_encoder::TokenEncoder, prefix: &str) -> Self {
        let name = format!(
            "{}+{}",
            encoder.name(),
            prefix.trim().trim_end_matches(':').trim()
        );
        PooledTokenEncoder {
            encoder,
            prefix: prefix.to_string(),
            name,
        }
    }

    /// The prefix put before every text.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Embedder for PooledTokenEncoder {
    fn name(&self) -> &str {
        &self.name
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.encoder.sentence_embeddings(texts, &self.prefix)
    }
}

/// Loads the embedder named by `spec`: a token-encoder manifest model (multilingual-e5-small)
/// becomes a [`PooledTokenEncoder`] with the `"query: "` prefix, anything else (manifest
/// sentence encoders, trained artifacts, model directories) a [`SentenceEmbedder`].
pub fn load_embedder(
    registry: &Registry,
    spec: &ModelSpec,
    opts: &EncoderOptions,
) -> Result<std::sync::Arc<dyn Embedder>, ModelError> {
    let token_encoder = match spec {
        ModelSpec::Named { id, .. } => registry
            .manifest
            .model(id)
            .is_ok_and(|m| m.family.parse::<Family>().ok() == Some(Family::TokenEncoder)),
        ModelSpec::Dir(_) => false,
    };
    if token_encoder {
        let enc = crate::token_encoder::TokenEncoder::from_registry(
            registry,
            spec,
            opts.pool_size,
            opts.intra_threads,
        )?;
        Ok(std::sync::Arc::new(PooledTokenEncoder::new(enc, "query: ")))
    } else {
        Ok(std::sync::Arc::new(SentenceEmbedder::load(
            registry, spec, opts,
        )?))
    }
}

/// Mean of the token vectors whose mask is 1, L2-normalized.
pub fn mean_pool(tokens: &[f32], mask: &[i64], hidden: usize) -> Vec<f32> {
    let mut out = vec![0f32; hidden];
    let mut n = 0f32;
    for (t, &m) in mask.iter().enumerate() {
        if m != 0 {
            n += 1.0;
            for (o, v) in out.iter_mut().zip(&tokens[t * hidden..(t + 1) * hidden]) {
                *o += v;
            }
        }
    }
    if n > 0.0 {
        out.iter_mut().for_each(|o| *o /= n);
    }
    normalize(&mut out);
    out
}

/// Scales a vector to unit length (no-op for the zero vector).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    cosine_from_parts(dot, a.iter().copied(), b.iter().copied())
}

/// `dot / (|a| |b|)` from a dot product and the two vectors' values; 0 for a zero vector.
pub fn cosine_from_parts(
    dot: f32,
    a: impl Iterator<Item = f32>,
    b: impl Iterator<Item = f32>,
) -> f32 {
    let na = a.map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_ignores_padding() {
        let tokens = [1.0, 0.0, 3.0, 0.0, 100.0, 100.0];
        let v = mean_pool(&tokens, &[1, 1, 0], 2);
        assert_eq!(v, vec![1.0, 0.0]);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0], &[1.0]), 0.0);
    }
}
