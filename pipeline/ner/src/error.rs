//! Errors of the NER crate. Each says what is wrong and what to do.

use quarry_models::ModelError;
use std::path::PathBuf;

/// How to rebuild a missing or broken artifact.
pub const REBUILD_HINT: &str = "rebuild the artifact with `models/recipes/ner/build.sh`";

/// A failure to load or run an NER model. User text never causes one.
#[derive(Debug, thiserror::Error)]
pub enum NerError {
    /// No directory matched a model name.
    #[error("NER model '{name}' not found; searched: {}. Pass a directory holding the artifact files, set QUARRY_ARTIFACTS, or {REBUILD_HINT}", .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// The name asked for.
        name: String,
        /// Every place looked at, in order.
        searched: Vec<PathBuf>,
    },
    /// An artifact file is missing.
    #[error("NER model {dir}: missing {file} ({path}); {REBUILD_HINT}")]
    MissingFile {
        /// The model directory.
        dir: PathBuf,
        /// The file name (`vocab.json`, ...).
        file: String,
        /// Its full path.
        path: PathBuf,
    },
    /// An artifact file is malformed or inconsistent with the others.
    #[error("NER model file {path}: {message}; {REBUILD_HINT}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The ONNX graph does not have the inputs or output the format requires, or produced
    /// a tensor of the wrong shape.
    #[error("NER model {model}: {message}")]
    Graph {
        /// The model's display name.
        model: String,
        /// What is wrong.
        message: String,
    },
    /// The runtime, a session or a run failed (a missing runtime says how to install it).
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<ort::Error> for NerError {
    fn from(e: ort::Error) -> Self {
        NerError::Model(ModelError::from(e))
    }
}

impl NerError {
    /// A [`NerError::BadFile`].
    pub(crate) fn bad(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        NerError::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }
}
