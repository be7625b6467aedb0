//! The cache layout under Quarry's home directory.
//!
//! ```text
//! <home>/
//!   runtime/libonnxruntime.so.1.31.1     the ONNX Runtime library
//!   models/<id>/<wheel files>            extracted and verified source files
//!   models/<id>/model.onnx, ...          converted variants
//!   models/<id>/outputs.lock.json        sha256 of each converted file, as built
//!   venv/                                the conversion venv (pinned requirements)
//!   recipes/                             the conversion scripts, written from the binary
//!   tmp/                                 downloads and half-written files (never read as models)
//! ```

use crate::manifest::Manifest;
use std::path::{Path, PathBuf};

/// Paths under a Quarry home.
#[derive(Debug, Clone)]
pub struct ModelHome {
    root: PathBuf,
}

impl ModelHome {
    /// A home rooted at `root` (not created until needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ModelHome { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the runtime library lives.
    pub fn runtime_lib(&self, manifest: &Manifest) -> PathBuf {
        self.root.join("runtime").join(manifest.runtime.file_name())
    }

    /// A model's directory.
    pub fn model_dir(&self, id: &str) -> PathBuf {
        self.root.join("models").join(id)
    }

    /// A data entry's directory (files a pinned package carries, see
    /// [`crate::manifest::DataEntry`]).
    pub fn data_dir(&self, id: &str) -> PathBuf {
        self.root.join("data").join(id)
    }

    /// The conversion venv.
    pub fn venv(&self) -> PathBuf {
        self.root.join("venv")
    }

    /// The venv's python.
    pub fn venv_python(&self) -> PathBuf {
        if cfg!(windows) {
            self.venv().join("Scripts").join("python.exe")
        } else {
            self.venv().join("bin").join("python")
        }
    }

    /// Recipe scripts.
    pub fn recipes(&self) -> PathBuf {
        self.root.join("recipes")
    }

    /// Scratch space for downloads and temporary outputs.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
}
