//! Resolving model names to files, and the shared ONNX model wrapper used by every family.
//!
//! A model is named either by manifest id and variant (`all-minilm-l6-v2:int8`; the
//! variant defaults to the manifest's `default_variant`) or by a directory holding
//! `model.onnx` and `tokenizer.json`, which is how a user with their own exported model
//! plugs it in.

use crate::batch::{batches, PaddedBatch};
use crate::error::ModelError;
use crate::home::ModelHome;
use crate::manifest::Manifest;
use crate::pool::SessionPool;
use crate::tokenizer::{Encoded, TextTokenizer};
use crate::{runtime, EncoderOptions};
use ort::value::Tensor;
use std::path::PathBuf;
use std::str::FromStr;

/// What a model computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Dense sentence embeddings (`last_hidden_state`, mean-pooled).
    SentenceEmbedding,
    /// SPLADE-style sparse term weights (`sparse`, one weight per vocabulary entry).
    SparseEncoder,
    /// Cross-encoder re-ranker: a (query, passage) pair in, one relevance logit out.
    CrossEncoder,
    /// Per-piece hidden states of a few encoder layers (`hidden_layers`), tokenizer in the
    /// graph's metadata (no tokenizer.json): [`crate::token_encoder`].
    TokenEncoder,
}

impl FromStr for Family {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        match s {
            "sentence-embedding" => Ok(Family::SentenceEmbedding),
            "sparse-encoder" => Ok(Family::SparseEncoder),
            "cross-encoder" => Ok(Family::CrossEncoder),
            "token-encoder" => Ok(Family::TokenEncoder),
            other => Err(ModelError::Manifest(format!(
                "unknown model family '{other}'"
            ))),
        }
    }
}

/// How a caller names a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A manifest model, optionally with a variant.
    Named {
        /// Model id.
        id: String,
        /// Variant (`fp32`, `int8`), or the default.
        variant: Option<String>,
    },
    /// A directory with `model.onnx` and `tokenizer.json`.
    Dir(PathBuf),
}

impl FromStr for ModelSpec {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ModelError::UnknownModel {
                name: String::new(),
                known: "a manifest id such as all-minilm-l6-v2:int8, or a directory".into(),
            });
        }
        if s.contains('/') || s.starts_with('.') {
            return Ok(ModelSpec::Dir(PathBuf::from(s)));
        }
        Ok(match s.split_once(':') {
            Some((id, v)) => ModelSpec::Named {
                id: id.to_string(),
                variant: Some(v.to_string()),
            },
            None => ModelSpec::Named {
                id: s.to_string(),
                variant: None,
            },
        })
    }
}

/// Files of a resolved model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResolvedModel {
    /// Display name (`id:variant` or the directory).
    pub name: String,
    /// Family.
    pub family: Family,
    /// The ONNX file.
    pub onnx: PathBuf,
    /// tokenizer.json.
    pub tokenizer: PathBuf,
}

/// Resolves model names against a manifest and a home.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The manifest.
    pub manifest: Manifest,
    /// The cache.
    pub home: ModelHome,
}

impl Registry {
    /// A registry over the given manifest and home.
    pub fn new(manifest: Manifest, home: ModelHome) -> Self {
        Registry { manifest, home }
    }

    /// Every `id:variant` the manifest lists.
    pub fn names(&self) -> Vec<String> {
        self.manifest
            .models
            .iter()
            .flat_map(|m| {
                m.variants
                    .iter()
                    .map(move |v| format!("{}:{}", m.id, v.name))
            })
            .collect()
    }

    /// Resolves a spec; a directory spec takes its family from `family`.
    pub fn resolve(&self, spec: &ModelSpec, family: Family) -> Result<ResolvedModel, ModelError> {
        match spec {
            ModelSpec::Named { id, variant } => {
                let m = match self.manifest.model(id) {
                    Ok(m) => m,
                    // not a manifest model: a trained artifact, or unknown
                    Err(unknown) => {
                        return resolve_artifact(id, variant.as_deref(), family)
                            .map_err(|e| e.unwrap_or(unknown))
                    }
                };
                let v = m.variant(variant.as_deref().unwrap_or(&m.default_variant))?;
                let fam: Family = m.family.parse()?;
                if fam != family {
                    return Err(ModelError::Manifest(format!(
                        "{id} is a {} model, but a {family:?} model is needed here",
                        m.family
                    )));
                }
                let dir = self.home.model_dir(id);
                let onnx = dir.join(&v.output);
                // a token encoder carries its tokenizer in the graph
                let tokenizer = if fam == Family::TokenEncoder {
                    onnx.clone()
                } else {
                    dir.join("tokenizer.json")
                };
                for p in [&onnx, &tokenizer] {
                    if !p.is_file() {
                        return Err(ModelError::Missing {
                            what: format!("model {id}:{}", v.name),
                            path: p.clone(),
                            hint: format!("run `quarry models fetch --model {id}`"),
                        });
                    }
                }
                Ok(ResolvedModel {
                    name: format!("{id}:{}", v.name),
                    family: fam,
                    onnx,
                    tokenizer,
                })
            }
            ModelSpec::Dir(dir) => {
                let onnx = dir.join("model.onnx");
                let tokenizer = dir.join("tokenizer.json");
                for p in [&onnx, &tokenizer] {
                    if !p.is_file() {
                        return Err(ModelError::Missing {
                            what: format!("model directory {}", dir.display()),
                            path: p.clone(),
                            hint: "a model directory must hold model.onnx and tokenizer.json"
                                .into(),
                        });
                    }
                }
                Ok(ResolvedModel {
                    name: dir.display().to_string(),
                    family,
                    onnx,
                    tokenizer,
                })
            }
        }
    }

    /// Resolves and loads a model: runtime, tokenizer and a session pool.
    pub fn load(
        &self,
        spec: &ModelSpec,
        family: Family,
        opts: &EncoderOptions,
    ) -> Result<OnnxModel, ModelError> {
        let r = self.resolve(spec, family)?;
        let env = runtime::environment(&self.home, &self.manifest)?;
        OnnxModel::load(env, &r, opts)
    }
}

/// The ONNX file of each variant of a trained artifact (`models/artifacts/<name>/`).
pub const ARTIFACT_VARIANTS: [(&str, &str); 2] =
    [("int8", "model_int8.onnx"), ("fp32", "model.onnx")];

/// Resolves a trained artifact by name (`ce-minilm-l6-scifact`, `...:fp32`) in
/// [`crate::artifacts::search_paths`]. `Err(None)` when no artifact directory of that name
/// exists (the caller reports the name as unknown); `Err(Some(_))` when one exists but
/// lacks the variant's files.
fn resolve_artifact(
    id: &str,
    variant: Option<&str>,
    family: Family,
) -> Result<ResolvedModel, Option<ModelError>> {
    let searched = crate::artifacts::search_paths(id);
    let dir = searched.iter().find(|p| p.is_dir()).ok_or(None)?;
    let v = variant.unwrap_or("int8");
    let file = ARTIFACT_VARIANTS
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            Some(ModelError::UnknownModel {
                name: format!("{id}:{v}"),
                known: format!("{id}:int8, {id}:fp32"),
            })
        })?;
    let onnx = dir.join(file);
    let tokenizer = dir.join("tokenizer.json");
    for p in [&onnx, &tokenizer] {
        if !p.is_file() {
            return Err(Some(ModelError::Missing {
                what: format!("artifact {id}:{v}"),
                path: p.clone(),
                hint: format!(
                    "the committed artifacts hold only the int8 graph; rebuild every variant with the recipe named in {}",
                    dir.join("MODEL_CARD.md").display()
                ),
            }));
        }
    }
    Ok(ResolvedModel {
        name: format!("{id}:{v}"),
        family,
        onnx,
        tokenizer,
    })
}

/// A tokenizer plus a pool of sessions of one ONNX model; runs batched inference.
pub struct OnnxModel {
    /// Display name.
    pub name: String,
    /// The tokenizer.
    pub tokenizer: TextTokenizer,
    pool: SessionPool,
    opts: EncoderOptions,
    pad_id: i64,
    inputs: Vec<String>,
    metadata: std::collections::BTreeMap<String, String>,
}

impl OnnxModel {
    /// Loads the files of a resolved model.
    pub fn load(
        env: &ort::environment::Environment,
        r: &ResolvedModel,
        opts: &EncoderOptions,
    ) -> Result<Self, ModelError> {
        let tokenizer = TextTokenizer::load(&r.tokenizer, opts.max_length)?;
        let sessions = (0..opts.pool_size.max(1))
            .map(|_| runtime::session(env, &r.onnx, opts.intra_threads))
            .collect::<Result<Vec<_>, _>>()?;
        let inputs: Vec<String> = sessions[0]
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        for need in ["input_ids", "attention_mask"] {
            if !inputs.iter().any(|i| i == need) {
                return Err(ModelError::Output {
                    model: r.name.clone(),
                    detail: format!("the graph has no input '{need}' (inputs: {inputs:?})"),
                });
            }
        }
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0) as i64;
        let mut metadata = std::collections::BTreeMap::new();
        if let Ok(md) = sessions[0].metadata() {
            for key in md.custom_keys().unwrap_or_default() {
                if let Some(v) = md.custom(&key) {
                    metadata.insert(key, v);
                }
            }
        }
        Ok(OnnxModel {
            name: r.name.clone(),
            tokenizer,
            pool: SessionPool::new(sessions),
            opts: opts.clone(),
            pad_id,
            inputs,
            metadata,
        })
    }

    /// A custom metadata value of the ONNX model (`metadata_props`), e.g. `sparse_ids`.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The options the model was loaded with.
    pub fn options(&self) -> &EncoderOptions {
        &self.opts
    }

    /// Tokenizes `texts`, runs them in (length-sorted) batches and hands each batch's output
    /// tensor `output` to `per_batch`, which returns one item per row. Items come back in
    /// the order of `texts`.
    pub fn run<T>(
        &self,
        texts: &[&str],
        output: &str,
        mut per_batch: impl FnMut(&PaddedBatch, &[i64], &[f32]) -> Result<Vec<T>, ModelError>,
    ) -> Result<Vec<T>, ModelError> {
        let encs = self.tokenizer.encode(texts)?;
        self.run_encoded(&encs, output, self.opts.sort_by_length, &mut per_batch)
    }

    /// [`OnnxModel::run`] on already tokenized inputs (special tokens included);
    /// `sort` chooses length-sorted batches (the default) or input order.
    pub fn run_encoded<T>(
        &self,
        encs: &[Encoded],
        output: &str,
        sort: bool,
        mut per_batch: impl FnMut(&PaddedBatch, &[i64], &[f32]) -> Result<Vec<T>, ModelError>,
    ) -> Result<Vec<T>, ModelError> {
        let lengths: Vec<usize> = encs.iter().map(|e| e.ids.len()).collect();
        let mut slots: Vec<Option<T>> = (0..encs.len()).map(|_| None).collect();
        for ix in batches(&lengths, self.opts.batch_size, sort) {
            let b = PaddedBatch::build(encs, &ix, self.pad_id);
            let shape = vec![b.batch as i64, b.seq as i64];
            let mut inputs = ort::inputs![
                "input_ids" => Tensor::from_array((shape.clone(), b.input_ids.clone()))?,
                "attention_mask" => Tensor::from_array((shape.clone(), b.attention_mask.clone()))?,
            ];
            if self.inputs.iter().any(|i| i == "token_type_ids") {
                inputs.push((
                    "token_type_ids".into(),
                    Tensor::from_array((shape.clone(), b.token_type_ids.clone()))?.into(),
                ));
            }
            let mut session = self.pool.get();
            let outputs = session.run(inputs)?;
            let value = outputs.get(output).ok_or_else(|| ModelError::Output {
                model: self.name.clone(),
                detail: format!("no output named '{output}'"),
            })?;
            let (oshape, data) = value.try_extract_tensor::<f32>()?;
            let items = per_batch(&b, oshape, data)?;
            if items.len() != ix.len() {
                return Err(ModelError::Output {
                    model: self.name.clone(),
                    detail: format!("{} rows for a batch of {}", items.len(), ix.len()),
                });
            }
            for (i, item) in ix.into_iter().zip(items) {
                slots[i] = Some(item);
            }
        }
        Ok(slots
            .into_iter()
            .map(|s| s.expect("every index is in one batch"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            "splade-tiny:fp32".parse::<ModelSpec>().unwrap(),
            ModelSpec::Named {
                id: "splade-tiny".into(),
                variant: Some("fp32".into())
            }
        );
        assert_eq!(
            "./my/model".parse::<ModelSpec>().unwrap(),
            ModelSpec::Dir(PathBuf::from("./my/model"))
        );
        assert!("".parse::<ModelSpec>().is_err());
    }

    #[test]
    fn missing_models_say_how_to_get_them() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(Manifest::builtin(), ModelHome::new(dir.path()));
        assert_eq!(reg.names().len(), 7);
        // a token encoder carries its tokenizer in the graph: only the graph is missing
        let err = reg
            .resolve(
                &"multilingual-e5-small".parse().unwrap(),
                Family::TokenEncoder,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("quarry models fetch --model multilingual-e5-small")
                && err.contains("model_layers.onnx"),
            "{err}"
        );
        let err = reg
            .resolve(
                &"all-minilm-l6-v2".parse().unwrap(),
                Family::SentenceEmbedding,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("quarry models fetch --model all-minilm-l6-v2") && err.contains("int8"),
            "{err}"
        );
        let err = reg
            .resolve(&"splade-tiny".parse().unwrap(), Family::SentenceEmbedding)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sparse-encoder"), "{err}");
        let err = reg
            .resolve(
                &ModelSpec::Dir(dir.path().to_path_buf()),
                Family::SentenceEmbedding,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("model.onnx"), "{err}");
    }
}
