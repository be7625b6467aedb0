//! Trained artifacts committed under `models/artifacts/<name>/` (NER models, cross-encoders):
//! where a name is looked for, and the integrity check against the `SHA256SUMS` file each
//! recipe writes next to its outputs.

use std::path::{Path, PathBuf};

/// Environment variable naming a directory of artifacts (`$QUARRY_ARTIFACTS/<name>/`),
/// searched before the repository's own.
pub const ARTIFACTS_ENV: &str = "QUARRY_ARTIFACTS";

/// Where a bare model name is looked for, in order: `$QUARRY_ARTIFACTS/NAME`,
/// `./models/artifacts/NAME` (a checkout as the working directory), and the repository's
/// `models/artifacts/NAME` as compiled in.
pub fn search_paths(name: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os(ARTIFACTS_ENV).filter(|d| !d.is_empty()) {
        out.push(PathBuf::from(d).join(name));
    }
    out.push(Path::new("models").join("artifacts").join(name));
    out.push(crate::repo_artifacts_dir().join(name));
    let mut seen = Vec::new();
    out.retain(|p| {
        let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    out
}

/// [`verify`] of the artifact `name` found in [`search_paths`]; when no directory of that
/// name exists, one `missing` entry for the last place searched.
pub fn verify_named(name: &str) -> Vec<FileStatus> {
    let dirs = search_paths(name);
    match dirs.iter().find(|d| d.is_dir()) {
        Some(d) => verify(d),
        None => vec![FileStatus {
            path: dirs.last().cloned().unwrap_or_else(|| PathBuf::from(name)),
            status: "missing",
            size: None,
        }],
    }
}

/// One file of an artifact as checked against `SHA256SUMS`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileStatus {
    /// The file.
    pub path: PathBuf,
    /// `ok`, `missing` or `corrupt` (hash differs).
    pub status: &'static str,
    /// Its size in bytes when present.
    pub size: Option<u64>,
}

/// Checks every file listed in `dir/SHA256SUMS` (`<hex>  <file>` lines). A missing or
/// unreadable `SHA256SUMS` is itself reported as a `missing` entry.
pub fn verify(dir: &Path) -> Vec<FileStatus> {
    let sums = dir.join("SHA256SUMS");
    let Ok(text) = std::fs::read_to_string(&sums) else {
        return vec![FileStatus {
            path: sums,
            status: "missing",
            size: None,
        }];
    };
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hex, file)| {
            let path = dir.join(file.trim());
            let size = std::fs::metadata(&path).ok().map(|m| m.len());
            let status = match crate::hash::sha256_file(&path) {
                Err(_) => "missing",
                Ok(h) if h.eq_ignore_ascii_case(hex.trim()) => "ok",
                Ok(_) => "corrupt",
            };
            FileStatus { path, status, size }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_ok_corrupt_and_missing_files() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(verify(d.path())[0].status, "missing");
        std::fs::write(d.path().join("a.txt"), b"abc").unwrap();
        std::fs::write(d.path().join("b.txt"), b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        std::fs::write(
            d.path().join("SHA256SUMS"),
            format!("{abc}  a.txt\n{abc}  b.txt\n{abc}  c.txt\n"),
        )
        .unwrap();
        std::fs::write(d.path().join("b.txt"), b"abd").unwrap();
        let st: Vec<&str> = verify(d.path()).iter().map(|s| s.status).collect();
        assert_eq!(st, ["ok", "corrupt", "missing"]);
    }
}
