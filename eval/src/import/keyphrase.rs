//! Key-phrase data sets in the `docsutf8/<id>.txt` + `keys/<id>.key` layout (500N-KPCrowd,
//! Inspec, SemEval2010 as distributed by LIAAD/KeywordExtractor-Datasets).
//!
//! Document text keeps its content with CRLF turned into LF and a byte-order mark dropped.
//! Key files hold one phrase a line; each phrase has its whitespace runs collapsed to one
//! space (Inspec wraps long phrases with `" \t"`), blank lines are skipped and repeated
//! phrases are kept once (Inspec lists a phrase again when it is both an uncontrolled and a
//! controlled term).

use super::{error, for_each_line, label, open, read_text};
use crate::types::{ImportError, KeyphraseDoc};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Loads a key-phrase data set from `docs_dir` (`<id>.txt`) and `keys_dir` (`<id>.key`),
/// sorted by id. Other files are ignored. A document without a key file, or a key file
/// without a document, is an error listing them.
pub fn load_keyphrase(docs_dir: &Path, keys_dir: &Path) -> Result<Vec<KeyphraseDoc>, ImportError> {
    let docs = list_by_ext(docs_dir, "txt")?;
    let keys = list_by_ext(keys_dir, "key")?;
    let missing_keys: Vec<&str> = docs
        .keys()
        .filter(|id| !keys.contains_key(*id))
        .map(String::as_str)
        .collect();
    if !missing_keys.is_empty() {
        return Err(error(
            &label(keys_dir),
            0,
            format!(
                "{} document(s) of {} have no key file: {}",
                missing_keys.len(),
                label(docs_dir),
                abbreviate(&missing_keys)
            ),
        ));
    }
    let orphans: Vec<&str> = keys
        .keys()
        .filter(|id| !docs.contains_key(*id))
        .map(String::as_str)
        .collect();
    if !orphans.is_empty() {
        return Err(error(
            &label(docs_dir),
            0,
            format!(
                "{} key file(s) of {} have no document: {}",
                orphans.len(),
                label(keys_dir),
                abbreviate(&orphans)
            ),
        ));
    }
    let mut out = Vec::with_capacity(docs.len());
    for (id, doc_path) in docs {
        let text = read_text(&doc_path)?.replace("\r\n", "\n");
        let gold = match keys.get(&id) {
            Some(key_path) => read_key_file(key_path)?,
            None => Vec::new(),
        };
        out.push(KeyphraseDoc { id, text, gold });
    }
    Ok(out)
}

/// Loads `<dir>/docsutf8` + `<dir>/keys` (see [`load_keyphrase`]).
pub fn load_keyphrase_dir(dir: &Path) -> Result<Vec<KeyphraseDoc>, ImportError> {
    load_keyphrase(&dir.join("docsutf8"), &dir.join("keys"))
}

/// Reads a key file: one phrase a line, whitespace collapsed, blanks skipped, repeats kept
/// once (first occurrence order).
pub fn read_key_file(path: &Path) -> Result<Vec<String>, ImportError> {
    let mut seen = HashSet::new();
    let mut phrases = Vec::new();
    for_each_line(open(path)?, &label(path), |_, line| {
        let phrase = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !phrase.is_empty() && seen.insert(phrase.clone()) {
            phrases.push(phrase);
        }
        Ok(())
    })?;
    Ok(phrases)
}

/// Files of `dir` (not recursive) with extension `ext`, by file stem.
fn list_by_ext(dir: &Path, ext: &str) -> Result<BTreeMap<String, std::path::PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| error(&label(dir), 0, format!("cannot list directory: {e}")))?;
    let mut out = BTreeMap::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| error(&label(dir), 0, format!("cannot list directory: {e}")))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some(ext) || !path.is_file() {
            continue;
        }
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            out.insert(stem.to_string(), path.clone());
        }
    }
    Ok(out)
}

fn abbreviate(ids: &[&str]) -> String {
    const SHOWN: usize = 20;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(", ... ({} more)", ids.len() - SHOWN));
    }
    s
}
