//! Exit codes and logging setup.

use quarry_index::IndexError;
use quarry_models::ModelError;

/// Success.
pub const OK: i32 = 0;
/// Any other failure.
pub const FAILURE: i32 = 1;
/// A model, the runtime or provisioning is not available.
pub const MODELS: i32 = 3;
/// Bad input data: a strict job stopped, or lines were rejected.
pub const INPUT: i32 = 4;
/// The index is missing or unusable.
pub const INDEX: i32 = 5;

/// The exit code for an error.
pub fn code_for(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if cause.downcast_ref::<ModelError>().is_some()
            || cause.downcast_ref::<quarry_ner::NerError>().is_some()
        {
            return MODELS;
        }
        if let Some(ie) = cause.downcast_ref::<IndexError>() {
            return match ie {
                IndexError::Input { .. } => INPUT,
                _ => INDEX,
            };
        }
        if cause
            .downcast_ref::<quarry_core::config::ConfigError>()
            .is_some()
        {
            return 2;
        }
    }
    FAILURE
}

/// Logs go to stderr; `QUARRY_LOG` (an env-filter directive) overrides the verbosity flags.
pub fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("QUARRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},ort=warn,tantivy=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
