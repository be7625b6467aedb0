//! tokenizer.json loading with Quarry's own truncation and no baked-in padding.
//!
//! Some packaged tokenizer.json files fix padding and truncation (all-MiniLM's pads every
//! text to 128). We switch padding off (batches pad dynamically, see [`crate::batch`]) and
//! truncate at the configured length.

use crate::error::ModelError;
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

/// One tokenized text, unpadded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Token ids.
    pub ids: Vec<i64>,
    /// Segment ids.
    pub type_ids: Vec<i64>,
}

/// A loaded tokenizer.
pub struct TextTokenizer {
    inner: Tokenizer,
    path: PathBuf,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, disabling padding and truncating at `max_length` tokens.
    pub fn load(path: &Path, max_length: usize) -> Result<Self, ModelError> {
        let err = |detail: String| ModelError::Tokenizer {
            path: path.to_path_buf(),
            detail,
        };
        if !path.is_file() {
            return Err(ModelError::Missing {
                what: "tokenizer.json".into(),
                path: path.to_path_buf(),
                hint: "run `quarry models fetch`".into(),
            });
        }
        let mut inner = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| err(e.to_string()))?;
        Ok(TextTokenizer {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// Tokenizes texts (with special tokens).
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Encoded>, ModelError> {
        Ok(self
            .encode_batch(texts, true)?
            .into_iter()
            .map(|e| Encoded {
                ids: e.get_ids().iter().map(|&i| i as i64).collect(),
                type_ids: e.get_type_ids().iter().map(|&i| i as i64).collect(),
            })
            .collect())
    }

    /// Token ids of each text without special tokens (truncated at `max_length`), for
    /// callers that assemble sequences themselves, such as (query, passage) pairs.
    pub fn encode_plain(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>, ModelError> {
        Ok(self
            .encode_batch(texts, false)?
            .into_iter()
            .map(|e| e.get_ids().iter().map(|&i| i as i64).collect())
            .collect())
    }

    /// Token ids of each text without special tokens and without truncation: the
    /// truncated ids followed by every overflowing window's (for callers that cut their own
    /// windows, such as a cross-encoder scoring each part of a long passage).
    pub fn encode_plain_full(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>, ModelError> {
        Ok(self
            .encode_batch(texts, false)?
            .into_iter()
            .map(|e| {
                let mut ids: Vec<i64> = e.get_ids().iter().map(|&i| i as i64).collect();
                for o in e.get_overflowing() {
                    ids.extend(o.get_ids().iter().map(|&i| i as i64));
                }
                ids
            })
            .collect())
    }

    fn encode_batch(
        &self,
        texts: &[&str],
        special: bool,
    ) -> Result<Vec<tokenizers::Encoding>, ModelError> {
        self.inner
            .encode_batch(texts.to_vec(), special)
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: impl std::fmt::Display) -> ModelError {
        ModelError::Tokenizer {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    /// Token ids of one text (with special tokens), on the calling thread: no batch
    /// machinery, for latency-sensitive callers such as query tokenization.
    pub fn encode_one(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.inner
            .encode(text, true)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| self.error(e))
    }

    /// The text of a token id.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The id of a token.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word-level tokenizer over `a`..`h` (ids 0..8) split on white space.
    fn words(dir: &Path) -> PathBuf {
        let vocab: Vec<String> = "abcdefgh"
            .chars()
            .enumerate()
            .map(|(i, c)| format!("\"{c}\": {i}"))
            .collect();
        let json = format!(
            r#"{{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                "normalizer": null, "pre_tokenizer": {{"type": "Whitespace"}},
                "post_processor": null, "decoder": null,
                "model": {{"type": "WordLevel", "vocab": {{{}, "[UNK]": 8}}, "unk_token": "[UNK]"}}}}"#,
            vocab.join(", ")
        );
        let p = dir.join("tokenizer.json");
        std::fs::write(&p, json).unwrap();
        p
    }

    #[test]
    fn full_encoding_keeps_what_truncation_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let t = TextTokenizer::load(&words(dir.path()), 3).unwrap();
        let text = "a b c d e f g";
        assert_eq!(t.encode_plain(&[text]).unwrap(), vec![vec![0, 1, 2]]);
        assert_eq!(
            t.encode_plain_full(&[text, "h"]).unwrap(),
            vec![vec![0, 1, 2, 3, 4, 5, 6], vec![7]]
        );
    }
}
