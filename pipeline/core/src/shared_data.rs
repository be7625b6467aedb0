//! Where the evaluation and training data sets live: `$QUARRY_SHARED_DATA`, or else the
//! `shared/data` folder beside the repository (see its SOURCES.md). The data is never part
//! of the repository; tests, benchmarks and examples find it here and say what they
//! expected when it is absent.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the location.
pub const ENV: &str = "QUARRY_SHARED_DATA";

/// The shared data directory (not checked for existence).
pub fn dir() -> PathBuf {
    match std::env::var_os(ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_is_beside_the_repository() {
        if std::env::var_os(super::ENV).is_none() {
            let d = super::dir();
            let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            assert_eq!(
                std::fs::canonicalize(d.join("..")).ok(),
                std::fs::canonicalize(repo.join("../shared")).ok()
            );
        }
    }
}
