//! BEIR directories: `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv`.
//!
//! * `corpus.jsonl`: one JSON object a line, `{"_id", "title", "text"}`; `title` may be
//!   absent or null, other fields (`metadata`) are ignored. Ids may be strings or integers.
//! * `queries.jsonl`: `{"_id", "text"}` a line.
//! * `qrels/<split>.tsv`: `query-id<TAB>corpus-id<TAB>score`, with an optional header line.
//!
//! Blank lines are skipped; duplicate ids are errors. A qrels line naming a query that
//! `queries.jsonl` lacks is an error (BEIR's own loader fails on it too); one naming an
//! unknown document is allowed (some BEIR sets have such judgments) and can be listed with
//! [`BeirDataset::qrels_unknown_docs`].

use super::{error, for_each_line, label, open};
use crate::types::{CorpusDoc, ImportError, Qrels, QueryRec};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// A BEIR dataset: corpus, queries and the qrels of one split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BeirDataset {
    /// The documents, in file order.
    pub corpus: Vec<CorpusDoc>,
    /// All queries of `queries.jsonl`, in file order.
    pub queries: Vec<QueryRec>,
    /// The judgments of the split.
    pub qrels: Qrels,
}

impl BeirDataset {
    /// The queries that have at least one judgment in the split (what BEIR evaluates), in
    /// file order.
    pub fn queries_with_qrels(&self) -> Vec<&QueryRec> {
        self.queries
            .iter()
            .filter(|q| self.qrels.contains_key(&q.id))
            .collect()
    }

    /// The number of judgment lines (query, document pairs) in the qrels.
    pub fn qrels_len(&self) -> usize {
        self.qrels.values().map(BTreeMap::len).sum()
    }

    /// The judged (query id, document id) pairs whose document is not in the corpus.
    pub fn qrels_unknown_docs(&self) -> Vec<(String, String)> {
        let ids: HashSet<&str> = self.corpus.iter().map(|d| d.id.as_str()).collect();
        self.qrels
            .iter()
            .flat_map(|(q, docs)| docs.keys().map(move |d| (q, d)))
            .filter(|(_, d)| !ids.contains(d.as_str()))
            .map(|(q, d)| (q.clone(), d.clone()))
            .collect()
    }
}

/// What a BEIR directory must contain, for error messages.
const LAYOUT: &str =
    "a BEIR directory must contain corpus.jsonl, queries.jsonl and qrels/<split>.tsv";

/// Loads the BEIR dataset in `dir` with the qrels of `split` (`"train"`, `"dev"`, `"test"`).
pub fn load_beir(dir: &Path, split: &str) -> Result<BeirDataset, ImportError> {
    let corpus_path = dir.join("corpus.jsonl");
    let queries_path = dir.join("queries.jsonl");
    let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
    if !dir.is_dir() {
        return Err(error(&label(dir), 0, format!("not a directory; {LAYOUT}")));
    }
    for path in [&corpus_path, &queries_path] {
        if !path.is_file() {
            return Err(error(&label(path), 0, format!("missing file; {LAYOUT}")));
        }
    }
    if !qrels_path.is_file() {
        let mut splits: Vec<String> = std::fs::read_dir(dir.join("qrels"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.strip_suffix(".tsv").map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        splits.sort();
        let have = if splits.is_empty() {
            "no qrels/*.tsv at all".to_string()
        } else {
            format!("splits present: {}", splits.join(", "))
        };
        return Err(error(
            &label(&qrels_path),
            0,
            format!("missing qrels for split {split:?} ({have}); {LAYOUT}"),
        ));
    }

    let mut corpus = Vec::new();
    read_corpus(&corpus_path, |doc| corpus.push(doc))?;
    let queries = read_queries(&queries_path)?;

    let qrels_file = label(&qrels_path);
    let known: HashSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
    let mut qrels = Qrels::new();
    parse_qrels_tsv(open(&qrels_path)?, &qrels_file, |line, qid, doc, grade| {
        if !known.contains(qid) {
            return Err(error(
                &qrels_file,
                line,
                format!("query {qid:?} is not in queries.jsonl"),
            ));
        }
        insert_judgment(&mut qrels, &qrels_file, line, qid, doc, grade)
    })?;
    let dataset = BeirDataset {
        corpus,
        queries,
        qrels,
    };
    let unknown_docs = dataset.qrels_unknown_docs().len();
    if unknown_docs > 0 {
        tracing::warn!(file = %qrels_file, unknown_docs, "qrels judge documents absent from the corpus");
    }
    Ok(dataset)
}

/// A JSON id: BEIR uses strings, but some exports write integers.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonId {
    Str(String),
    Int(i64),
}

impl JsonId {
    fn into_string(self) -> String {
        match self {
            JsonId::Str(s) => s,
            JsonId::Int(i) => i.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct RawDoc {
    #[serde(rename = "_id")]
    id: JsonId,
    #[serde(default)]
    title: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct RawQuery {
    #[serde(rename = "_id")]
    id: JsonId,
    text: Option<String>,
}

/// Streams the documents of a BEIR `corpus.jsonl` to `f`, in file order, and returns how
/// many there were. A line that is not a JSON object with `_id` and `text`, an empty id or
/// a repeated id is an error.
pub fn read_corpus<F>(path: &Path, mut f: F) -> Result<usize, ImportError>
where
    F: FnMut(CorpusDoc),
{
    let file = label(path);
    let mut seen = HashSet::new();
    for_each_line(open(path)?, &file, |line, text| {
        if text.trim().is_empty() {
            return Ok(());
        }
        let raw: RawDoc = serde_json::from_str(text)
            .map_err(|e| error(&file, line, format!("bad corpus record: {e}")))?;
        let id = raw.id.into_string();
        let Some(body) = raw.text else {
            return Err(error(
                &file,
                line,
                format!("document {id:?} has no \"text\""),
            ));
        };
        check_id(&file, line, &id, &mut seen, "document")?;
        f(CorpusDoc {
            id,
            title: raw.title.unwrap_or_default(),
            text: body,
        });
        Ok(())
    })?;
    Ok(seen.len())
}

/// Reads a BEIR `queries.jsonl`.
pub fn read_queries(path: &Path) -> Result<Vec<QueryRec>, ImportError> {
    let file = label(path);
    let mut seen = HashSet::new();
    let mut queries = Vec::new();
    for_each_line(open(path)?, &file, |line, text| {
        if text.trim().is_empty() {
            return Ok(());
        }
        let raw: RawQuery = serde_json::from_str(text)
            .map_err(|e| error(&file, line, format!("bad query record: {e}")))?;
        let id = raw.id.into_string();
        let Some(body) = raw.text else {
            return Err(error(&file, line, format!("query {id:?} has no \"text\"")));
        };
        check_id(&file, line, &id, &mut seen, "query")?;
        queries.push(QueryRec { id, text: body });
        Ok(())
    })?;
    Ok(queries)
}

fn check_id(
    file: &str,
    line: u64,
    id: &str,
    seen: &mut HashSet<String>,
    what: &str,
) -> Result<(), ImportError> {
    if id.is_empty() {
        return Err(error(file, line, format!("empty {what} id")));
    }
    if !seen.insert(id.to_string()) {
        return Err(error(file, line, format!("duplicate {what} id {id:?}")));
    }
    Ok(())
}

/// Reads a BEIR qrels file (`query-id<TAB>corpus-id<TAB>score`, optional header). The
/// score must be an integer (`1.0`-style integral floats are accepted). A pair judged twice
/// with different grades is an error.
pub fn read_qrels_tsv(path: &Path) -> Result<Qrels, ImportError> {
    let file = label(path);
    let mut qrels = Qrels::new();
    parse_qrels_tsv(open(path)?, &file, |line, qid, doc, grade| {
        insert_judgment(&mut qrels, &file, line, qid, doc, grade)
    })?;
    Ok(qrels)
}

/// Adds one judgment, refusing a conflicting repeat.
pub(crate) fn insert_judgment(
    qrels: &mut Qrels,
    file: &str,
    line: u64,
    qid: &str,
    doc: &str,
    grade: i32,
) -> Result<(), ImportError> {
    let docs = qrels.entry(qid.to_string()).or_default();
    match docs.get(doc) {
        Some(&old) if old != grade => Err(error(
            file,
            line,
            format!("query {qid:?}, document {doc:?} judged again with grade {grade} (was {old})"),
        )),
        Some(_) => Ok(()),
        None => {
            docs.insert(doc.to_string(), grade);
            Ok(())
        }
    }
}

/// Parses an integer grade; integral floats such as `1.0` are accepted.
pub(crate) fn parse_grade(s: &str) -> Option<i32> {
    if let Ok(g) = s.parse::<i32>() {
        return Some(g);
    }
    let f: f64 = s.parse().ok()?;
    (f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX)).then_some(f as i32)
}

fn parse_qrels_tsv<R, F>(reader: R, file: &str, mut f: F) -> Result<(), ImportError>
where
    R: std::io::BufRead,
    F: FnMut(u64, &str, &str, i32) -> Result<(), ImportError>,
{
    let mut first = true;
    for_each_line(reader, file, |line, text| {
        if text.trim().is_empty() {
            return Ok(());
        }
        let parts: Vec<&str> = if text.contains('\t') {
            text.split('\t').map(str::trim).collect()
        } else {
            text.split_whitespace().collect()
        };
        let is_first = std::mem::replace(&mut first, false);
        if parts.len() != 3 {
            return Err(error(
                file,
                line,
                format!(
                    "expected 3 tab-separated fields (query-id, corpus-id, score), found {}",
                    parts.len()
                ),
            ));
        }
        let Some(grade) = parse_grade(parts[2]) else {
            if is_first && parts[2].parse::<f64>().is_err() {
                // A header such as `query-id corpus-id score`.
                return Ok(());
            }
            return Err(error(
                file,
                line,
                format!("score {:?} is not an integer", parts[2]),
            ));
        };
        if parts[0].is_empty() || parts[1].is_empty() {
            return Err(error(file, line, "empty query or corpus id"));
        }
        f(line, parts[0], parts[1], grade)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades() {
        assert_eq!(parse_grade("2"), Some(2));
        assert_eq!(parse_grade("-1"), Some(-1));
        assert_eq!(parse_grade("1.0"), Some(1));
        assert_eq!(parse_grade("1.5"), None);
        assert_eq!(parse_grade("score"), None);
        assert_eq!(parse_grade("1e300"), None);
    }
}
