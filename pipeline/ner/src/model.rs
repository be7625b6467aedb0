//! Loading an NER artifact and running it: name resolution, ONNX sessions, batched
//! inference with dynamic padding, CRF decoding, long-text splitting and stitching.

use crate::crf::Crf;
use crate::error::NerError;
use crate::features::{BatchTensors, CharVocab, FeatureExtractor, SentenceFeatures};
use crate::lexicon::Lexicon;
use crate::split;
use ndarray::{Array3, Array4};
use ort::value::TensorRef;
use quarry_models::pool::SessionPool;
use quarry_models::registry::Registry;
use quarry_models::token_encoder::TokenEncoder;
use quarry_models::{runtime, Manifest, ModelHome};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "ner-clinical-zh";

/// Environment variable naming a directory of artifacts (`$QUARRY_ARTIFACTS/<name>/`).
pub use quarry_models::artifacts::{search_paths, ARTIFACTS_ENV};

/// The artifact files every model directory must hold (besides the ONNX graph).
pub const ARTIFACT_FILES: [&str; 4] = ["config.json", "vocab.json", "lexicon.tsv", "crf.json"];

/// Which ONNX graph of an artifact to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// `model.int8.onnx` (committed; the default).
    #[default]
    Int8,
    /// `model.onnx` (fp32, rebuilt by the recipe).
    Fp32,
}

impl Variant {
    /// The graph's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Variant::Int8 => "model.int8.onnx",
            Variant::Fp32 => "model.onnx",
        }
    }
}

/// A model name resolved to a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedNer {
    /// Display name (`ner-clinical-zh`, `ner-clinical-zh:fp32`, or the directory).
    pub name: String,
    /// The artifact directory.
    pub dir: PathBuf,
    /// The graph to run.
    pub variant: Variant,
}

/// Resolves `spec`: an artifact directory, or a model name looked up in [`search_paths`];
/// either may end in `:int8` (default) or `:fp32` to pick the graph.
pub fn resolve(spec: &str) -> Result<ResolvedNer, NerError> {
    let spec = spec.trim();
    let (base, variant) = match spec.rsplit_once(':') {
        Some((b, "int8")) => (b, Variant::Int8),
        Some((b, "fp32")) => (b, Variant::Fp32),
        _ => (spec, Variant::Int8),
    };
    let not_found = |searched| NerError::NotFound {
        name: spec.to_string(),
        searched,
    };
    if base.is_empty() {
        return Err(not_found(Vec::new()));
    }
    let as_path = Path::new(base);
    if as_path.is_dir() {
        return Ok(ResolvedNer {
            name: spec.to_string(),
            dir: as_path.to_path_buf(),
            variant,
        });
    }
    let looks_like_path = base.contains('/')
        || base.contains(std::path::MAIN_SEPARATOR)
        || base.starts_with('.')
        || base.starts_with('~');
    if looks_like_path {
        return Err(not_found(vec![as_path.to_path_buf()]));
    }
    let searched = search_paths(base);
    match searched.iter().find(|p| p.is_dir()) {
        Some(dir) => Ok(ResolvedNer {
            name: spec.to_string(),
            dir: dir.clone(),
            variant,
        }),
        None => Err(not_found(searched)),
    }
}

/// `config.json`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct NerConfig {
    /// Model name.
    #[serde(default)]
    pub name: String,
    /// Model version.
    #[serde(default)]
    pub version: String,
    /// Entity types.
    #[serde(default)]
    pub types: Vec<String>,
    /// Words kept per SoftLexicon set (`L`).
    pub max_words: usize,
    /// Longest text run in one piece; longer texts are split.
    #[serde(default = "default_max_chars")]
    pub max_chars: usize,
    /// The character fold (only `width-lower` exists).
    #[serde(default = "default_fold")]
    pub fold: String,
    /// Metrics measured by the recipe.
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// Contextual character features from a token encoder (FORMAT.md, "e5 features"), when
    /// the network takes them.
    #[serde(default)]
    pub e5: Option<E5Spec>,
}

/// The token encoder a NER network reads its `e5` input from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct E5Spec {
    /// Manifest model id (`multilingual-e5-small`).
    pub model: String,
    /// Its variant (`layers`).
    pub variant: String,
    /// The encoder layers the network was trained on, in order.
    pub layers: Vec<usize>,
}

impl NerConfig {
    /// The configured name, or `fallback` when config.json has none.
    pub fn name_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.name.is_empty() {
            fallback
        } else {
            &self.name
        }
    }
}

fn default_max_chars() -> usize {
    512
}

fn default_fold() -> String {
    "width-lower".into()
}

/// Inference settings.
#[derive(Debug, Clone)]
pub struct NerOptions {
    /// Chunks per ONNX run.
    pub batch_size: usize,
    /// ONNX Runtime intra-op threads per session.
    pub threads: usize,
    /// Sessions in the pool (callers that can run at the same time).
    pub sessions: usize,
    /// Longest chunk; `None` takes `max_chars` from config.json.
    pub max_chars: Option<usize>,
    /// Quarry home holding the ONNX Runtime library; `None` = `$QUARRY_HOME` or the user
    /// cache (as everywhere in Quarry).
    pub home: Option<PathBuf>,
}

impl Default for NerOptions {
    fn default() -> Self {
        NerOptions {
            batch_size: 32,
            threads: 1,
            sessions: 1,
            max_chars: None,
            home: None,
        }
    }
}

/// A named entity found in a text.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entity {
    /// First character (character offset into the text given).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Entity type.
    pub label: String,
    /// The covered text.
    pub text: String,
    /// Minimum over the entity's characters of the CRF marginal probability of the decoded
    /// tag (see [`crate::crf`]), in `(0, 1]`.
    pub confidence: f32,
}

/// A loaded NER model: features, a pool of ONNX sessions and the CRF.
pub struct NerModel {
    name: String,
    dir: PathBuf,
    variant: Variant,
    config: NerConfig,
    extractor: FeatureExtractor,
    crf: Crf,
    pool: SessionPool,
    e5: Option<TokenEncoder>,
    opts: NerOptions,
    load_seconds: f64,
}

impl std::fmt::Debug for NerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NerModel")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

/// The artifact files of a directory, checked to exist.
fn artifact_path(dir: &Path, file: &str) -> Result<PathBuf, NerError> {
    let p = dir.join(file);
    if p.is_file() {
        Ok(p)
    } else {
        Err(NerError::MissingFile {
            dir: dir.to_path_buf(),
            file: file.to_string(),
            path: p,
        })
    }
}

/// Reads and checks `config.json`.
pub fn read_config(path: &Path) -> Result<NerConfig, NerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NerError::bad(path, format!("cannot read: {e}")))?;
    let c: NerConfig =
        serde_json::from_str(&text).map_err(|e| NerError::bad(path, e.to_string()))?;
    if c.max_words == 0 {
        return Err(NerError::bad(path, "max_words must be >= 1"));
    }
    if c.fold != "width-lower" {
        return Err(NerError::bad(
            path,
            format!("unknown fold {:?} (this build knows width-lower)", c.fold),
        ));
    }
    Ok(c)
}

impl NerModel {
    /// Resolves `spec` (see [`resolve`]) and loads it.
    pub fn load(spec: &str, opts: &NerOptions) -> Result<Self, NerError> {
        let r = resolve(spec)?;
        Self::load_resolved(&r, opts)
    }

    /// Loads an artifact directory's `variant`.
    pub fn load_dir(dir: &Path, variant: Variant, opts: &NerOptions) -> Result<Self, NerError> {
        Self::load_resolved(
            &ResolvedNer {
                name: dir.display().to_string(),
                dir: dir.to_path_buf(),
                variant,
            },
            opts,
        )
    }

    /// Loads a resolved model: checks every file first, then reads them and opens the
    /// sessions (the ONNX Runtime library is loaded on first use; a missing one is an error
    /// saying how to install it).
    pub fn load_resolved(r: &ResolvedNer, opts: &NerOptions) -> Result<Self, NerError> {
        let started = Instant::now();
        let dir = &r.dir;
        let mut paths = Vec::new();
        for f in ARTIFACT_FILES
            .iter()
            .copied()
            .chain([r.variant.file_name()])
        {
            paths.push(artifact_path(dir, f)?);
        }
        let config = read_config(&paths[0])?;
        let vocab = CharVocab::load(&paths[1])?;
        let t = Instant::now();
        let lexicon = Lexicon::load(&paths[2])?;
        tracing::debug!(
            words = lexicon.len(),
            automaton_bytes = lexicon.automaton_bytes(),
            "lexicon loaded in {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let crf = Crf::load(&paths[3])?;
        for t in &config.types {
            if !crf.types().contains(t) {
                tracing::warn!("config.json lists type {t} but crf.json has no tag for it");
            }
        }
        let home = ModelHome::new(match &opts.home {
            Some(h) => h.clone(),
            None => quarry_core::QuarryConfig::default().resolved_home(),
        });
        let env = runtime::environment(&home, &Manifest::builtin())?;
        let sessions = (0..opts.sessions.max(1))
            .map(|_| runtime::session(env, &paths[4], opts.threads.max(1)))
            .collect::<Result<Vec<_>, _>>()?;
        let graph = |message: String| NerError::Graph {
            model: r.name.clone(),
            message,
        };
        let inputs: Vec<String> = sessions[0]
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        for need in ["char_ids", "lex_ids", "lex_weights", "lengths"] {
            if !inputs.iter().any(|i| i == need) {
                return Err(graph(format!(
                    "the graph has no input '{need}' (inputs: {inputs:?})"
                )));
            }
        }
        if let Some(shape) = sessions[0]
            .inputs()
            .iter()
            .find(|i| i.name() == "lex_ids")
            .and_then(|i| i.dtype().tensor_shape())
        {
            if shape.len() != 4 {
                return Err(graph(format!("lex_ids has rank {}, not 4", shape.len())));
            }
            if shape[3] > 0 && shape[3] as usize != config.max_words {
                return Err(graph(format!(
                    "lex_ids takes {} words per set but config.json says max_words = {}",
                    shape[3], config.max_words
                )));
            }
        }
        if !sessions[0]
            .outputs()
            .iter()
            .any(|o| o.name() == "emissions")
        {
            return Err(graph("the graph has no output 'emissions'".into()));
        }
        let wants_e5 = inputs.iter().any(|i| i == "e5");
        let e5 = match (&config.e5, wants_e5) {
            (None, false) => None,
            (Some(spec), true) => {
                let reg = Registry::new(Manifest::builtin(), home.clone());
                let name = format!("{}:{}", spec.model, spec.variant);
                let enc = TokenEncoder::from_registry(
                    &reg,
                    &name.parse()?,
                    opts.sessions.max(1),
                    opts.threads.max(1),
                )?;
                if enc.layers() != spec.layers.as_slice() {
                    return Err(graph(format!(
                        "{name} outputs layers {:?}, the network was trained on {:?}",
                        enc.layers(),
                        spec.layers
                    )));
                }
                Some(enc)
            }
            (Some(_), false) => {
                return Err(graph(
                    "config.json names e5 features but the graph has no input 'e5'".into(),
                ))
            }
            (None, true) => {
                return Err(graph(
                    "the graph takes an 'e5' input but config.json names no token encoder".into(),
                ))
            }
        };
        let extractor = FeatureExtractor::new(vocab, lexicon, config.max_words);
        Ok(NerModel {
            name: r.name.clone(),
            dir: dir.clone(),
            variant: r.variant,
            config,
            extractor,
            crf,
            pool: SessionPool::new(sessions),
            e5,
            opts: opts.clone(),
            load_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The token encoder whose character states the network reads, if it reads any.
    pub fn token_encoder(&self) -> Option<&TokenEncoder> {
        self.e5.as_ref()
    }

    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The artifact directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The graph being run.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// `config.json`.
    pub fn config(&self) -> &NerConfig {
        &self.config
    }

    /// Entity types the model can output.
    pub fn types(&self) -> &[String] {
        self.crf.types()
    }

    /// The feature extractor (vocabulary, lexicon, `L`).
    pub fn extractor(&self) -> &FeatureExtractor {
        &self.extractor
    }

    /// The CRF.
    pub fn crf(&self) -> &Crf {
        &self.crf
    }

    /// The options in effect.
    pub fn options(&self) -> &NerOptions {
        &self.opts
    }

    /// Seconds [`NerModel::load`] took (files, automaton, sessions).
    pub fn load_seconds(&self) -> f64 {
        self.load_seconds
    }

    /// The chunk limit in effect.
    pub fn max_chars(&self) -> usize {
        self.opts.max_chars.unwrap_or(self.config.max_chars).max(1)
    }

    /// Entities of one text.
    pub fn predict_one(&self, text: &str) -> Result<Vec<Entity>, NerError> {
        Ok(self.predict(&[text])?.pop().unwrap_or_default())
    }

    /// Entities of each text, in input order, each list sorted by position. Texts longer
    /// than [`NerModel::max_chars`] are split (see [`crate::split`]) and stitched back;
    /// chunks of all texts are batched together, sorted by length, each batch padded to its
    /// longest chunk. Errors come only from the runtime, never from the text.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Vec<Entity>>, NerError> {
        struct Unit {
            text: usize,
            start: usize,
            end: usize,
        }
        let chars: Vec<Vec<char>> = texts.iter().map(|t| t.chars().collect()).collect();
        let max = self.max_chars();
        let mut units = Vec::new();
        for (ti, cs) in chars.iter().enumerate() {
            for (start, end) in split::chunks(cs, max) {
                units.push(Unit {
                    text: ti,
                    start,
                    end,
                });
            }
        }
        let lengths: Vec<usize> = units.iter().map(|u| u.end - u.start).collect();
        let mut out: Vec<Vec<Entity>> = vec![Vec::new(); texts.len()];
        // Length-sorted, cut where the padding saved outweighs a call (`plan_padded`): against
        // fixed chunks of the sorted order, 1.52x / 1.37x the sentences/s at batch 32 on one / two
        // threads (BENCHMARKS.md).
        for mut batch in quarry_models::batch::batches(&lengths, self.opts.batch_size.max(1), true)
        {
            // Shortest row first inside a batch: ONNX Runtime's LSTM with `sequence_lens` ran
            // a batch of 32 ~1.6x slower when its rows were ordered longest first.
            batch.reverse();
            let strs: Vec<String> = batch
                .iter()
                .map(|&u| {
                    let u = &units[u];
                    chars[u.text][u.start..u.end].iter().collect()
                })
                .collect();
            let feats: Vec<SentenceFeatures> =
                strs.iter().map(|s| self.extractor.sentence(s)).collect();
            let rows: Vec<&SentenceFeatures> = feats.iter().collect();
            let states = match &self.e5 {
                Some(enc) => {
                    let refs: Vec<&str> = strs.iter().map(String::as_str).collect();
                    Some(enc.char_states(&refs)?)
                }
                None => None,
            };
            let spans = self.run_batch(&rows, states.as_deref())?;
            for (&ui, found) in batch.iter().zip(spans) {
                let u = &units[ui];
                let cs = &chars[u.text];
                for s in found {
                    let (a, b) = (u.start + s.start, u.start + s.end);
                    out[u.text].push(Entity {
                        start: a,
                        end: b,
                        label: self.crf.types()[s.label].clone(),
                        text: cs[a..b].iter().collect(),
                        confidence: s.confidence,
                    });
                }
            }
        }
        for v in &mut out {
            v.sort_by_key(|e| (e.start, e.end));
        }
        Ok(out)
    }

    /// Runs one padded batch and decodes each row. `e5`: each row's character states from
    /// the model's token encoder ([`NerModel::token_encoder`]), required when it has one.
    pub fn run_batch(
        &self,
        rows: &[&SentenceFeatures],
        e5: Option<&[Array3<f32>]>,
    ) -> Result<Vec<Vec<crate::crf::TagSpan>>, NerError> {
        let emissions = self.emissions(rows, e5)?;
        Ok(rows
            .iter()
            .zip(&emissions)
            .map(|(r, e)| self.crf.decode(e, r.len))
            .collect())
    }

    /// The emissions of each row, `[len, n_tags]` row-major, from one padded ONNX run.
    pub fn emissions(
        &self,
        rows: &[&SentenceFeatures],
        e5: Option<&[Array3<f32>]>,
    ) -> Result<Vec<Vec<f32>>, NerError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let bt = BatchTensors::build(rows, self.extractor.max_words);
        let (b, t) = bt.dims();
        let n = self.crf.num_tags();
        let mut inputs = ort::inputs![
            "char_ids" => TensorRef::from_array_view(bt.char_ids.view())?,
            "lex_ids" => TensorRef::from_array_view(bt.lex_ids.view())?,
            "lex_weights" => TensorRef::from_array_view(bt.lex_weights.view())?,
            "lengths" => TensorRef::from_array_view(bt.lengths.view())?,
        ];
        let e5_batch;
        if let Some(enc) = &self.e5 {
            let states = e5.ok_or_else(|| NerError::Graph {
                model: self.name.clone(),
                message: "this model needs the token encoder's character states".into(),
            })?;
            let (l, h) = (enc.layers().len(), enc.hidden());
            let mut x = Array4::<f32>::zeros((b, t, l, h));
            for (r, (f, st)) in rows.iter().zip(states).enumerate() {
                if st.shape() != [f.len, l, h] {
                    return Err(NerError::Graph {
                        model: self.name.clone(),
                        message: format!(
                            "row {r}: e5 states of shape {:?} for {} characters",
                            st.shape(),
                            f.len
                        ),
                    });
                }
                x.slice_mut(ndarray::s![r, ..f.len, .., ..]).assign(st);
            }
            e5_batch = x;
            inputs.push((
                "e5".into(),
                TensorRef::from_array_view(e5_batch.view())?.into(),
            ));
        }
        let mut session = self.pool.get();
        let outputs = session.run(inputs)?;
        let value = outputs.get("emissions").ok_or_else(|| NerError::Graph {
            model: self.name.clone(),
            message: "no output named 'emissions'".into(),
        })?;
        let (shape, data) = value.try_extract_tensor::<f32>()?;
        if shape.len() != 3
            || shape[0] as usize != b
            || shape[1] as usize != t
            || shape[2] as usize != n
        {
            return Err(NerError::Graph {
                model: self.name.clone(),
                message: format!(
                    "emissions have shape {:?}, expected [{b}, {t}, {n}] ({n} tags in crf.json)",
                    &shape[..]
                ),
            });
        }
        Ok(rows
            .iter()
            .enumerate()
            .map(|(r, f)| data[r * t * n..(r * t + f.len) * n].to_vec())
            .collect())
    }
}
