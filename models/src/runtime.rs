//! Loading the ONNX Runtime library (`ort` with `load-dynamic`) and building sessions.
//!
//! The library is looked for in `$ORT_DYLIB_PATH`, then in the cache (`<home>/runtime/`).
//! A missing or unusable library is an error that says how to fix it; `ort::init_from` is
//! used rather than `ort::init`, which would panic on first use.

use crate::error::ModelError;
use crate::home::ModelHome;
use crate::manifest::Manifest;
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

static ENV: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Where the runtime library would be loaded from.
pub fn library_path(home: &ModelHome, manifest: &Manifest) -> PathBuf {
    match std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => home.runtime_lib(manifest),
    }
}

/// The process-wide ONNX Runtime environment, loading the library on first call.
pub fn environment(
    home: &ModelHome,
    manifest: &Manifest,
) -> Result<&'static Environment, ModelError> {
    if let Some(env) = ENV.get() {
        return Ok(env);
    }
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = ENV.get() {
        return Ok(env);
    }
    let path = library_path(home, manifest);
    let env = load(&path)?;
    Ok(ENV.get_or_init(|| env))
}

fn load(path: &Path) -> Result<Environment, ModelError> {
    if !path.is_file() {
        return Err(ModelError::Missing {
            what: "the ONNX Runtime library".into(),
            path: path.to_path_buf(),
            hint: "run `quarry models fetch` (installs it from the pinned onnxruntime wheel) or set ORT_DYLIB_PATH".into(),
        });
    }
    let builder = ort::init_from(path).map_err(|e| ModelError::Runtime {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    builder
        .with_name("quarry")
        .build()
        .map_err(|e| ModelError::Runtime {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

/// Opens an ONNX model as a session with the given intra-op thread count.
pub fn session(
    env: &Environment,
    model: &Path,
    intra_threads: usize,
) -> Result<Session, ModelError> {
    if !model.is_file() {
        return Err(ModelError::Missing {
            what: "ONNX model".into(),
            path: model.to_path_buf(),
            hint: "run `quarry models fetch`, or point to a directory holding model.onnx and tokenizer.json".into(),
        });
    }
    let b = |e: ort::Error<ort::session::builder::SessionBuilder>| ModelError::Ort(e.to_string());
    let s = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(b)?
        .with_intra_threads(intra_threads.max(1))
        .map_err(b)?
        .with_inter_threads(1)
        .map_err(b)?
        .commit_from_file(model)
        .map_err(|e| ModelError::Ort(format!("{}: {e}", model.display())))?;
    Ok(s)
}
