//! `quarry.toml`: what a deployment chooses without recompiling.
//!
//! Every section and key has a built-in default, so an empty file (or no file) is a valid
//! configuration. Unknown keys are errors, so a typo never silently falls back to a default.
//!
//! ```toml
//! home = "/var/lib/quarry"          # model cache and default index location
//!
//! [index]
//! path = "/var/lib/quarry/index"
//! commit_every = 5000
//!
//! [analysis]
//! zh_user_dicts = ["data/dict/extra.dict"]
//!
//! [pipeline]
//! stages = ["lang-detect", "normalize"]
//! [pipeline.settings.normalize]
//! domains = ["radiology"]
//!
//! [models]
//! intra_threads = 2
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors reading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        /// File path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// File path.
        path: PathBuf,
        /// Parser message (with line and column).
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuarryConfig {
    /// Quarry's home: model cache, Python venv, default index. Defaults to `$QUARRY_HOME`,
    /// else the user cache directory's `quarry/`.
    pub home: Option<PathBuf>,
    /// Index settings.
    pub index: IndexConfig,
    /// Text analysis settings.
    pub analysis: AnalysisConfig,
    /// Ingestion pipeline.
    pub pipeline: PipelineConfig,
    /// Model runtime settings.
    pub models: ModelsConfig,
    /// Search defaults.
    pub search: SearchConfig,
    /// Learned sparse expansion at ingestion.
    pub sparse: SparseConfig,
    /// Cross-encoder re-ranking of the first stage's top results.
    pub rerank: RerankConfig,
    /// The HTTP server (`quarry serve`).
    pub serve: ServeConfig,
}

/// `quarry serve` settings; its command-line flags override them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on; loopback unless configured otherwise.
    pub addr: String,
    /// Largest request body, in bytes (default 2 MiB: any `/v1/analyze` text within its
    /// 100,000-character limit fits even with every character JSON-escaped, 12 bytes each).
    pub max_body: usize,
    /// Per-request timeout, in seconds.
    pub timeout_s: f64,
    /// SHA-256 (hex) of the API keys that may write (`quarry serve --hash-key KEY` prints
    /// one); keys never appear in the config in clear.
    pub api_key_hashes: Vec<String>,
    /// Origins allowed by CORS; empty (the default) sends no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// Ingestion jobs waiting for the writer before `POST /v1/documents` answers `429`.
    pub queue_capacity: usize,
    /// Most documents in one `POST /v1/documents` batch.
    pub max_batch_docs: usize,
    /// Deepest JSON nesting a request body may have.
    pub max_json_depth: usize,
    /// Searches and analyses running or waiting for a CPU at once; more answer `429`.
    pub max_inflight: usize,
    /// Keep a write-ahead log of accepted batches (`<index>/wal/`) so that a `202` is
    /// durable and a restart replays what was not yet committed.
    pub wal: bool,
    /// Load the configured cross-encoder ([rerank]) so that `/v1/search` can re-rank.
    pub rerank: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: "127.0.0.1:8080".into(),
            max_body: 2 << 20,
            timeout_s: 30.0,
            api_key_hashes: Vec::new(),
            cors_origins: Vec::new(),
            queue_capacity: 32,
            max_batch_docs: 1000,
            max_json_depth: 32,
            max_inflight: 256,
            wal: true,
            rerank: false,
        }
    }
}

/// Cross-encoder re-ranking (`quarry search --rerank N`, `--system hybrid+rerank`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RerankConfig {
    /// Cross-encoder: a committed artifact name (`ce-minilm-l6-scifact`, `...:fp32`), or a
    /// directory with `model.onnx` and `tokenizer.json`.
    pub model: String,
    /// First-stage results re-scored when a search asks for re-ranking without a number.
    pub candidates: usize,
    /// Score fusion with the first stage: `linear` (min-max normalized weighted sum) or
    /// `none` (the cross-encoder's score alone).
    pub fusion: String,
    /// Weight of the cross-encoder in linear fusion; the first stage gets `1 - weight`
    /// (0.5: best on the SciFact dev fifth for hybrid top 100, BENCHMARKS.md).
    pub weight: f32,
    /// Longest (query, passage) pair in tokens; the passage is cut first.
    pub max_length: usize,
    /// Longest query in tokens.
    pub max_query: usize,
    /// Pairs per ONNX run (length-sorted, padded to the batch's longest).
    pub batch_size: usize,
    /// Windows read per passage: 1 reads the passage's start (what fits one pair); N > 1
    /// scores up to N overlapping windows and keeps the best (MaxP).
    pub windows: usize,
}

impl Default for RerankConfig {
    fn default() -> Self {
        RerankConfig {
            model: "ce-minilm-l6-scifact".into(),
            candidates: 100,
            fusion: "linear".into(),
            weight: 0.5,
            max_length: 256,
            max_query: 64,
            batch_size: 32,
            windows: 1,
        }
    }
}

/// Index location and writer settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IndexConfig {
    /// Index directory; defaults to `<home>/index`.
    pub path: Option<PathBuf>,
    /// Documents between commits (each commit is a resume point).
    pub commit_every: usize,
    /// Writer memory budget in MB.
    pub writer_memory_mb: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            path: None,
            commit_every: 5000,
            writer_memory_mb: 100,
        }
    }
}

/// Analyzer settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// Load the medical user dictionary built into the binary (data/dict/zh_medical.dict).
    pub zh_builtin_dict: bool,
    /// Extra jieba user dictionaries (`word [freq] [tag]` per line).
    pub zh_user_dicts: Vec<PathBuf>,
    /// Also index every CJK character on its own, so one-character queries match.
    pub zh_unigrams: bool,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            zh_builtin_dict: true,
            zh_user_dicts: Vec::new(),
            zh_unigrams: true,
        }
    }
}

/// Which stages run at ingestion, in order, and their settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Stage names in order.
    pub stages: Vec<String>,
    /// Per-stage settings tables, keyed by stage name.
    pub settings: BTreeMap<String, toml::Table>,
    /// Documents per batch handed to the stages.
    pub batch_size: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            stages: vec!["lang-detect".to_string(), "normalize".to_string()],
            settings: BTreeMap::new(),
            batch_size: 64,
        }
    }
}

/// ONNX Runtime settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Threads inside one operator (`intra_op_num_threads`).
    pub intra_threads: usize,
    /// Sessions per model for concurrent callers (the server's searches and analyses);
    /// 0 (the default) sizes the pool to the cores: cores / `intra_threads`, at least 1.
    pub pool_size: usize,
    /// Texts per inference batch.
    pub batch_size: usize,
    /// Token limit per text (longer texts are truncated).
    pub max_length: usize,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            intra_threads: 2,
            pool_size: 0,
            batch_size: 32,
            max_length: 256,
        }
    }
}

/// Search defaults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Results returned when the caller does not say.
    pub k: usize,
    /// BM25 term-frequency saturation (Pyserini's BEIR baseline: 0.9).
    pub bm25_k1: f32,
    /// BM25 length normalization (Pyserini's BEIR baseline: 0.4).
    pub bm25_b: f32,
    /// Default search mode: `bm25`, `sparse` or `hybrid`.
    pub mode: String,
    /// Hybrid fusion: `linear` (min-max normalized weighted sum) or `rrf`.
    pub fusion: String,
    /// Hybrid weight of BM25 (0.6 and 0.4 for sparse: tuned on SciFact train, nDCG@10
    /// 0.7136 vs 0.7118 at 0.5/0.5; BENCHMARKS.md).
    pub bm25_weight: f32,
    /// Hybrid weight of learned sparse.
    pub sparse_weight: f32,
    /// RRF rank offset.
    pub rrf_k: f32,
    /// Results of each list that hybrid fusion considers.
    pub hybrid_depth: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            k: 10,
            bm25_k1: 0.9,
            bm25_b: 0.4,
            mode: "bm25".into(),
            fusion: "linear".into(),
            bm25_weight: 0.6,
            sparse_weight: 0.4,
            rrf_k: 60.0,
            hybrid_depth: 100,
        }
    }
}

/// Learned sparse expansion of documents at ingestion (inference-free queries).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SparseConfig {
    /// Expand documents of new indexes (`quarry ingest --sparse` does it for one run).
    pub enabled: bool,
    /// Sparse encoder: a manifest id[:variant] or a model directory.
    pub model: String,
    /// Quantization step of document weights (impact = round(w / step), at most 255).
    pub quant_step: f32,
    /// Keep at most this many terms per document; 0 = all.
    pub max_terms: usize,
    /// Drop weights at or below this.
    pub min_weight: f32,
    /// Query IDF: `corpus`, `corpus-log` or the path of an OpenSearch idf.json.
    pub idf: String,
    /// Tokens of a document the encoder reads (the model's limit is 512; SciFact train
    /// nDCG@10 0.6725 at 512 vs 0.6590 at 256, for about twice the encoding time).
    pub max_length: usize,
}

impl Default for SparseConfig {
    fn default() -> Self {
        SparseConfig {
            enabled: false,
            model: "splade-tiny".into(),
            quant_step: 0.02,
            max_terms: 0,
            min_weight: 0.0,
            idf: "corpus".into(),
            max_length: 512,
        }
    }
}

impl QuarryConfig {
    /// Parses a TOML string; `origin` names it in errors.
    pub fn from_toml_str(s: &str, origin: &Path) -> Result<Self, ConfigError> {
        toml::from_str(s).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let s = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&s, path)
    }

    /// Reads `path` if given, else `./quarry.toml` if it exists, else the defaults.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(p) => Self::load(p),
            None => {
                let p = Path::new("quarry.toml");
                if p.is_file() {
                    Self::load(p)
                } else {
                    Ok(Self::default())
                }
            }
        }
    }

    /// The home directory: the config's `home`, else `$QUARRY_HOME`, else
    /// `<user cache dir>/quarry`, else `./.quarry`.
    pub fn resolved_home(&self) -> PathBuf {
        if let Some(h) = &self.home {
            return h.clone();
        }
        if let Some(h) = std::env::var_os("QUARRY_HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(h);
        }
        if let Some(h) = std::env::var_os("XDG_CACHE_HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(h).join("quarry");
        }
        if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(h).join(".cache").join("quarry");
        }
        PathBuf::from(".quarry")
    }

    /// The index directory: `[index] path`, else `<home>/index`.
    pub fn resolved_index_path(&self) -> PathBuf {
        self.index
            .path
            .clone()
            .unwrap_or_else(|| self.resolved_home().join("index"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_all_defaults() {
        let c = QuarryConfig::from_toml_str("", Path::new("x.toml")).unwrap();
        assert_eq!(c, QuarryConfig::default());
        assert_eq!(c.pipeline.stages, vec!["lang-detect", "normalize"]);
        assert_eq!(c.models.intra_threads, 2);
    }

    #[test]
    fn partial_config_overrides_only_what_it_names() {
        let c = QuarryConfig::from_toml_str(
            "[index]\ncommit_every = 10\n[pipeline]\nstages = []\n[pipeline.settings.lang-detect]\nx = 1\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.index.commit_every, 10);
        assert_eq!(c.index.writer_memory_mb, 100);
        assert!(c.pipeline.stages.is_empty());
        assert_eq!(
            c.pipeline.settings["lang-detect"]["x"].as_integer(),
            Some(1)
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_location() {
        let err = QuarryConfig::from_toml_str("[index]\ncomit_every = 10\n", Path::new("q.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("q.toml") && err.contains("comit_every"),
            "{err}"
        );
    }
}
