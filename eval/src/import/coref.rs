//! The project's co-reference (alias cluster) sets: `data/coref/{dev,test}.jsonl`, one
//! document a line (`data/coref/GUIDELINES.md`). Offsets are characters; every mention's
//! `text` must equal the text it points at. Unknown fields, bad offsets and malformed JSON are
//! errors with the line number.

use super::{error, for_each_line, label, open};
use crate::types::{CorefDoc, GoldCluster, ImportError};
use quarry_core::document::Span;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMention {
    start: usize,
    end: usize,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    key: String,
    #[serde(rename = "type")]
    kind: String,
    canonical: String,
    mentions: Vec<RawMention>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDoc {
    id: String,
    lang: String,
    #[serde(default)]
    category: String,
    text: String,
    clusters: Vec<RawCluster>,
}

/// Reads a co-reference JSONL file.
pub fn load_coref(path: &Path) -> Result<Vec<CorefDoc>, ImportError> {
    let file = label(path);
    let mut out = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for_each_line(open(path)?, &file, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let raw: RawDoc = serde_json::from_str(line)
            .map_err(|e| error(&file, n, format!("not a co-reference document: {e}")))?;
        if !ids.insert(raw.id.clone()) {
            return Err(error(
                &file,
                n,
                format!("duplicate document id {:?}", raw.id),
            ));
        }
        let chars: Vec<char> = raw.text.chars().collect();
        let mut clusters = Vec::with_capacity(raw.clusters.len());
        let mut seen = std::collections::HashSet::new();
        for c in raw.clusters {
            let mut mentions = Vec::with_capacity(c.mentions.len());
            for m in c.mentions {
                if m.start >= m.end || m.end > chars.len() {
                    return Err(error(
                        &file,
                        n,
                        format!(
                            "{}: mention {}..{} outside the text ({} characters)",
                            raw.id,
                            m.start,
                            m.end,
                            chars.len()
                        ),
                    ));
                }
                let got: String = chars[m.start..m.end].iter().collect();
                if got != m.text {
                    return Err(error(
                        &file,
                        n,
                        format!(
                            "{}: mention {}..{} is {got:?} in the text, not {:?}",
                            raw.id, m.start, m.end, m.text
                        ),
                    ));
                }
                if !seen.insert((m.start, m.end)) {
                    return Err(error(
                        &file,
                        n,
                        format!(
                            "{}: mention {}..{} is in two clusters",
                            raw.id, m.start, m.end
                        ),
                    ));
                }
                mentions.push(Span::new(m.start, m.end));
            }
            clusters.push(GoldCluster {
                key: c.key,
                kind: c.kind,
                canonical: c.canonical,
                mentions,
            });
        }
        out.push(CorefDoc {
            id: raw.id,
            lang: raw.lang,
            category: raw.category,
            text: raw.text,
            clusters,
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(s: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(s.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_and_checks() {
        let ok = r#"{"id":"a","lang":"en","category":"x","text":"Ann Lee met Lee.","clusters":[{"key":"lee","type":"PERSON","canonical":"Ann Lee","mentions":[{"start":0,"end":7,"text":"Ann Lee"},{"start":12,"end":15,"text":"Lee"}]}]}"#;
        let docs = load_coref(write(ok).path()).unwrap();
        assert_eq!(
            docs[0].clusters[0].mentions,
            vec![Span::new(0, 7), Span::new(12, 15)]
        );
        let bad_text = ok.replace(r#""end":15,"text":"Lee""#, r#""end":15,"text":"Leo""#);
        let e = load_coref(write(&bad_text).path()).unwrap_err().to_string();
        assert!(e.contains("not \"Leo\""), "{e}");
        let unknown = ok.replace(r#""category":"x","#, r#""category":"x","extra":1,"#);
        assert!(load_coref(write(&unknown).path())
            .unwrap_err()
            .to_string()
            .contains("unknown field"));
        let e = load_coref(write(&format!("{ok}\n{{not json")).path()).unwrap_err();
        assert_eq!(e.line, 2);
        let outside = ok.replace(r#""start":12,"end":15"#, r#""start":12,"end":99"#);
        assert!(load_coref(write(&outside).path())
            .unwrap_err()
            .to_string()
            .contains("outside the text"));
    }
}
