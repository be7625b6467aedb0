//! CBLUE data sets: CMeEE (nested medical NER) and CHIP-CDN (diagnosis normalization).
//!
//! Both are JSON arrays of records. Errors name the record index (0-based) and the line
//! the record starts on (or the line of a JSON syntax error).

use super::{error, label, parse_json_array, read_text};
use crate::types::{EntitySpan, ImportError, LinkExample, NerSentence};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Deserialize)]
struct CmeeeRecord {
    text: String,
    entities: Vec<CmeeeEntity>,
}

#[derive(Deserialize)]
struct CmeeeEntity {
    start_idx: usize,
    end_idx: usize,
    #[serde(rename = "type")]
    label: String,
    entity: Option<String>,
}

/// Reads a CMeEE file: a JSON array of `{text, entities: [{start_idx, end_idx, type,
/// entity}]}` with INCLUSIVE character offsets, converted to exclusive ends. Each span is
/// checked: `start <= end < len(text)` (in characters), a non-empty type, and the characters
/// `text[start..=end]` equal to `entity` when it is given. Nested and overlapping spans are
/// kept as they are. Sentence ids are the record indices (`"0"`, `"1"`, ...); `tags` are
/// left empty (nested spans have no BIO form).
pub fn read_cmeee(path: &Path) -> Result<Vec<NerSentence>, ImportError> {
    parse_cmeee(&read_text(path)?, &label(path))
}

/// Parses CMeEE JSON text; `file` names the source in errors. See [`read_cmeee`].
pub fn parse_cmeee(json: &str, file: &str) -> Result<Vec<NerSentence>, ImportError> {
    let records: Vec<(u64, CmeeeRecord)> = parse_json_array(json, file)?;
    let mut out = Vec::with_capacity(records.len());
    for (index, (line, record)) in records.into_iter().enumerate() {
        let chars: Vec<char> = record.text.chars().collect();
        let mut entities = Vec::with_capacity(record.entities.len());
        for (j, e) in record.entities.into_iter().enumerate() {
            let what = format!(
                "record {index}, entity {j} ({} {}..={})",
                e.label, e.start_idx, e.end_idx
            );
            if e.label.trim().is_empty() {
                return Err(error(file, line, format!("{what}: empty type")));
            }
            if e.start_idx > e.end_idx || e.end_idx >= chars.len() {
                return Err(error(
                    file,
                    line,
                    format!(
                        "{what}: span out of range for a text of {} characters",
                        chars.len()
                    ),
                ));
            }
            let covered: String = chars[e.start_idx..=e.end_idx].iter().collect();
            if let Some(entity) = &e.entity {
                if *entity != covered {
                    return Err(error(
                        file,
                        line,
                        format!(
                            "{what}: text[{}..={}] is {covered:?} but `entity` is {entity:?}",
                            e.start_idx, e.end_idx
                        ),
                    ));
                }
            }
            entities.push(EntitySpan {
                start: e.start_idx,
                end: e.end_idx + 1,
                label: e.label,
            });
        }
        out.push(NerSentence {
            id: index.to_string(),
            text: record.text,
            tags: Vec::new(),
            entities,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CdnRecord {
    #[serde(default)]
    id: Option<serde_json::Value>,
    text: String,
    normalized_result: String,
}

/// Reads a CHIP-CDN file: a JSON array of `{text, normalized_result}` where the gold
/// standard names are joined by `##`. Names are trimmed and empty pieces dropped; a record
/// without any name is an error. Example ids are the record's `id` when present, else its
/// index.
pub fn read_chip_cdn(path: &Path) -> Result<Vec<LinkExample>, ImportError> {
    parse_chip_cdn(&read_text(path)?, &label(path))
}

/// Parses CHIP-CDN JSON text; `file` names the source in errors. See [`read_chip_cdn`].
pub fn parse_chip_cdn(json: &str, file: &str) -> Result<Vec<LinkExample>, ImportError> {
    let records: Vec<(u64, CdnRecord)> = parse_json_array(json, file)?;
    let mut out = Vec::with_capacity(records.len());
    for (index, (line, record)) in records.into_iter().enumerate() {
        let gold: BTreeSet<String> = record
            .normalized_result
            .split("##")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if gold.is_empty() {
            return Err(error(
                file,
                line,
                format!("record {index}: empty normalized_result"),
            ));
        }
        let id = match record.id {
            None | Some(serde_json::Value::Null) => index.to_string(),
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(error(
                    file,
                    line,
                    format!("record {index}: id must be a string or a number, got {other}"),
                ))
            }
        };
        out.push(LinkExample {
            id,
            text: record.text,
            gold,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmeee_spans() {
        let json = r#"[
  {"text": "肺内病变", "entities": [
    {"start_idx": 0, "end_idx": 0, "type": "bod", "entity": "肺"},
    {"start_idx": 0, "end_idx": 3, "type": "sym", "entity": "肺内病变"}]},
  {"text": "头痛", "entities": []}
]"#;
        let s = parse_cmeee(json, "d.json").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].entities[1],
            EntitySpan {
                start: 0,
                end: 4,
                label: "sym".into()
            }
        );
        let bad = json.replace("\"entity\": \"肺\"", "\"entity\": \"内\"");
        let e = parse_cmeee(&bad, "d.json").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("record 0"), "{e}");
        let bad = json.replace("\"end_idx\": 3", "\"end_idx\": 4");
        assert!(parse_cmeee(&bad, "d.json").is_err());
        let bad = json.replace("{\"text\": \"头痛\"", "{\"txt\": \"头痛\"");
        let e = parse_cmeee(&bad, "d.json").unwrap_err();
        assert!(e.message.contains("record 1"), "{e}");
        assert_eq!(e.line, 5);
    }

    #[test]
    fn cdn_names() {
        let s = parse_chip_cdn(
            r#"[{"text": "a", "normalized_result": "x## y##"}]"#,
            "t.json",
        )
        .unwrap();
        assert_eq!(s[0].gold.len(), 2);
        assert_eq!(s[0].id, "0");
        assert!(parse_chip_cdn(r#"[{"text": "a", "normalized_result": ""}]"#, "t").is_err());
        assert!(parse_chip_cdn(r#"{"text": "a"}"#, "t").is_err());
    }
}
