//! Text-normalization (TN) and inverse-normalization (ITN) test cases.
//!
//! A case file holds one case a line: `input => output` (WeTextProcessing) or, when a line
//! has no `=>`, `input~output`. The line is split at the first separator and both sides are
//! trimmed; the output may be empty (`嗯 =>` deletes the filler), the input may not. Blank
//! lines are skipped. The category of a case is its file's stem (`cardinal`, `date`, ...).
//!
//! A directory is read recursively (`*.txt` files, in path order; hidden entries and
//! symbolic links to directories are skipped). The direction comes from the path: a
//! component named `itn` or `inverse_text_normalization` means ITN, else one named `tn` or
//! `text_normalization` means TN. The part of a file's path below the directory given is
//! looked at first, then the directory's own path.

use super::{error, for_each_line, label, open};
use crate::types::{ImportError, TnCase};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which way a case set converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TnDirection {
    /// Written form to spoken form (`2:02` → `两点零二分`).
    Tn,
    /// Spoken form to written form (`两点零二分` → `2:02`).
    Itn,
}

/// The cases of one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TnCases {
    /// The direction inferred from the paths; `None` when they say nothing.
    pub direction: Option<TnDirection>,
    /// The cases, in path then line order.
    pub cases: Vec<TnCase>,
}

/// Infers the direction named by the components of `path` (`itn` / `inverse_text_normalization`
/// before `tn` / `text_normalization`, compared case-insensitively).
pub fn infer_direction(path: &Path) -> Option<TnDirection> {
    let names: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().to_lowercase()),
            _ => None,
        })
        .collect();
    let has = |wanted: &[&str]| names.iter().any(|n| wanted.contains(&n.as_str()));
    if has(&["itn", "inverse_text_normalization"]) {
        Some(TnDirection::Itn)
    } else if has(&["tn", "text_normalization"]) {
        Some(TnDirection::Tn)
    } else {
        None
    }
}

/// Loads the cases of a file or of a directory tree, grouped by direction (TN, then ITN,
/// then undetermined; groups without cases are left out). Case ids are
/// `<path below the directory>:<line>` (for a single file, `<file name>:<line>`).
pub fn load_tn(path: &Path) -> Result<Vec<TnCases>, ImportError> {
    let mut files = Vec::new();
    if path.is_dir() {
        collect_files(path, &mut files, 0)?;
    } else if path.is_file() {
        files.push(path.to_path_buf());
    } else {
        return Err(error(&label(path), 0, "no such file or directory"));
    }
    let root_direction = infer_direction(path);
    let mut groups: Vec<TnCases> = Vec::new();
    for file in files {
        let rel = if path.is_dir() {
            file.strip_prefix(path).unwrap_or(&file).to_path_buf()
        } else {
            PathBuf::from(file.file_name().unwrap_or(file.as_os_str()))
        };
        let direction = if path.is_dir() {
            infer_direction(&rel).or(root_direction)
        } else {
            root_direction
        };
        let id_prefix = rel.to_string_lossy().replace('\\', "/");
        let cases = read_cases(&file, &id_prefix)?;
        match groups.iter_mut().find(|g| g.direction == direction) {
            Some(g) => g.cases.extend(cases),
            None => groups.push(TnCases { direction, cases }),
        }
    }
    groups.retain(|g| !g.cases.is_empty());
    groups.sort_by_key(|g| match g.direction {
        Some(TnDirection::Tn) => 0,
        Some(TnDirection::Itn) => 1,
        None => 2,
    });
    Ok(groups)
}

/// Reads one case file; ids are `<file name>:<line>`, the category is the file stem.
pub fn read_tn_file(path: &Path) -> Result<Vec<TnCase>, ImportError> {
    let name = path
        .file_name()
        .map_or_else(|| label(path), |n| n.to_string_lossy().into_owned());
    read_cases(path, &name)
}

fn read_cases(path: &Path, id_prefix: &str) -> Result<Vec<TnCase>, ImportError> {
    let file = label(path);
    let category = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cases = Vec::new();
    for_each_line(open(path)?, &file, |line, text| {
        if text.trim().is_empty() {
            return Ok(());
        }
        let (input, expected) = text
            .split_once("=>")
            .or_else(|| text.split_once('~'))
            .ok_or_else(|| error(&file, line, "expected `input => output` or `input~output`"))?;
        let input = input.trim();
        if input.is_empty() {
            return Err(error(&file, line, "empty input"));
        }
        cases.push(TnCase {
            id: format!("{id_prefix}:{line}"),
            category: category.clone(),
            input: input.to_string(),
            expected: expected.trim().to_string(),
        });
        Ok(())
    })?;
    Ok(cases)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), ImportError> {
    const MAX_DEPTH: usize = 32;
    if depth > MAX_DEPTH {
        return Err(error(
            &label(dir),
            0,
            format!("directory tree deeper than {MAX_DEPTH} levels"),
        ));
    }
    let listing_error =
        |e: std::io::Error| error(&label(dir), 0, format!("cannot list directory: {e}"));
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(listing_error)? {
        entries.push(entry.map_err(listing_error)?);
    }
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(listing_error)?;
        if file_type.is_dir() {
            collect_files(&path, out, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "txt") && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions() {
        assert_eq!(
            infer_direction(Path::new("data/tn/wetext/itn/x.txt")),
            Some(TnDirection::Itn)
        );
        assert_eq!(
            infer_direction(Path::new("tn/chinese/x.txt")),
            Some(TnDirection::Tn)
        );
        assert_eq!(infer_direction(Path::new("cases/x.txt")), None);
        assert_eq!(infer_direction(Path::new("tnx/x.txt")), None);
    }
}
