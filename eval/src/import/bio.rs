//! Character-per-line BIO files (CCKS 2017, Yidu-S4K and the like).
//!
//! One `char<TAB>tag` or `char<space>tag` line per character, a blank (or whitespace-only)
//! line between sentences. When a line holds a tab, the tag follows the last tab (so a
//! space character is written `" \tO"`); otherwise it follows the last space. Tags are `O`
//! or `B-`/`I-`/`E-`/`S-` followed by a type. Entities are decoded with seqeval's default
//! (non-strict) semantics: an `I-` without a preceding `B-` starts an entity, and a type
//! change starts a new one.
//!
//! Sentence ids are `<file name>:<line of the first character>`.

use super::{error, for_each_line, label, open};
use crate::types::{EntitySpan, ImportError, NerSentence};
use std::io::BufRead;
use std::path::Path;

/// Reads a BIO file into sentences with their tags and decoded entities.
pub fn read_bio(path: &Path) -> Result<Vec<NerSentence>, ImportError> {
    let name = path
        .file_name()
        .map_or_else(|| label(path), |n| n.to_string_lossy().into_owned());
    parse_bio_named(open(path)?, &label(path), &name)
}

/// Parses BIO text from `reader`; `file` names the source in errors and in sentence ids.
pub fn parse_bio<R: BufRead>(reader: R, file: &str) -> Result<Vec<NerSentence>, ImportError> {
    parse_bio_named(reader, file, file)
}

fn parse_bio_named<R: BufRead>(
    reader: R,
    file: &str,
    id_prefix: &str,
) -> Result<Vec<NerSentence>, ImportError> {
    let mut sentences = Vec::new();
    let mut text = String::new();
    let mut tags: Vec<String> = Vec::new();
    let mut first_line = 0u64;
    let mut flush = |text: &mut String, tags: &mut Vec<String>, first_line: u64| {
        if !tags.is_empty() {
            let entities = decode(tags);
            sentences.push(NerSentence {
                id: format!("{id_prefix}:{first_line}"),
                text: std::mem::take(text),
                tags: std::mem::take(tags),
                entities,
            });
        }
    };
    for_each_line(reader, file, |line, raw| {
        if raw.trim().is_empty() {
            flush(&mut text, &mut tags, first_line);
            return Ok(());
        }
        let (token, tag) = split_line(raw).ok_or_else(|| {
            error(
                file,
                line,
                "missing tag: expected `char<TAB>tag` or `char<space>tag`",
            )
        })?;
        let tag = tag.trim();
        if tag.is_empty() {
            return Err(error(file, line, "missing tag after the separator"));
        }
        let mut chars = token.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if !valid_tag(tag) {
                    return Err(error(
                        file,
                        line,
                        format!(
                            "invalid tag {tag:?}: expected O or B-/I-/E-/S- followed by a type"
                        ),
                    ));
                }
                if tags.is_empty() {
                    first_line = line;
                }
                text.push(c);
                tags.push(tag.to_string());
                Ok(())
            }
            (None, _) => Err(error(file, line, "missing character before the tag")),
            (Some(_), Some(_)) => Err(error(
                file,
                line,
                format!(
                    "expected one character before the tag, found {} ({token:?})",
                    token.chars().count()
                ),
            )),
        }
    })?;
    flush(&mut text, &mut tags, first_line);
    Ok(sentences)
}

/// Splits a line into (token, tag): at the last tab if there is one, else at the last space.
fn split_line(line: &str) -> Option<(&str, &str)> {
    if line.contains('\t') {
        line.rsplit_once('\t')
    } else {
        line.rsplit_once(' ')
    }
}

fn valid_tag(tag: &str) -> bool {
    tag == "O"
        || tag
            .split_once('-')
            .is_some_and(|(p, t)| matches!(p, "B" | "I" | "E" | "S") && !t.is_empty())
}

/// Decodes tags into entity spans with seqeval's default semantics (one decoder for the
/// whole crate: [`crate::metrics::ner::bio_to_spans`]).
fn decode<S: AsRef<str>>(tags: &[S]) -> Vec<EntitySpan> {
    crate::metrics::ner::bio_to_spans(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(tags: &[&str]) -> Vec<(usize, usize, String)> {
        decode(tags)
            .into_iter()
            .map(|e| (e.start, e.end, e.label))
            .collect()
    }

    #[test]
    fn seqeval_semantics() {
        // seqeval.get_entities(['B-PER','I-PER','O','B-LOC']) == [('PER',0,1),('LOC',3,3)]
        assert_eq!(
            spans(&["B-PER", "I-PER", "O", "B-LOC"]),
            vec![(0, 2, "PER".into()), (3, 4, "LOC".into())]
        );
        // A leading I- starts an entity; a type change splits.
        assert_eq!(
            spans(&["I-A", "I-A", "I-B", "O", "I-B"]),
            vec![(0, 2, "A".into()), (2, 3, "B".into()), (4, 5, "B".into())]
        );
        // B after B starts a new entity.
        assert_eq!(
            spans(&["B-A", "B-A", "I-A"]),
            vec![(0, 1, "A".into()), (1, 3, "A".into())]
        );
        // IOBES.
        assert_eq!(
            spans(&["S-A", "B-A", "E-A", "I-A"]),
            vec![(0, 1, "A".into()), (1, 3, "A".into()), (3, 4, "A".into())]
        );
        assert!(spans(&[]).is_empty());
    }

    #[test]
    fn parse_and_errors() {
        let text = "\u{feff}患\tB-D\r\n者\tI-D\r\n \tO\r\n\r\n\r\n左 B-A\n\n\n";
        let s = parse_bio(text.as_bytes(), "t.bio").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].text, "患者 ");
        assert_eq!(s[0].id, "t.bio:1");
        assert_eq!(s[1].id, "t.bio:6");
        assert_eq!(
            s[0].entities,
            vec![EntitySpan {
                start: 0,
                end: 2,
                label: "D".into()
            }]
        );
        let e = parse_bio("a O\nb\n".as_bytes(), "t.bio").unwrap_err();
        assert_eq!((e.line, e.to_string().starts_with("t.bio:2:")), (2, true));
        let e = parse_bio("a O\nb\tX-Y\n".as_bytes(), "t.bio").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_bio("ab O\n".as_bytes(), "t.bio").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
