//! Readers for gold data and system output.
//!
//! * [`beir`]: BEIR directories (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`).
//! * [`trec`]: TREC qrels and run files (read and write, trec_eval ordering).
//! * [`bio`]: character-per-line BIO files (CCKS / Yidu-S4K style) with seqeval decoding.
//! * [`cblue`]: CBLUE CMeEE (nested NER, JSON) and CHIP-CDN (diagnosis normalization).
//! * [`keyphrase`]: `docsutf8/*.txt` + `keys/*.key` key-phrase directories.
//! * [`tn`]: text-normalization test cases (`input => output`, WeTextProcessing layout).
//!
//! Every reader reports malformed input as an [`ImportError`] carrying the file and the
//! 1-based line (0 when the whole file is at fault). All of them accept a UTF-8 byte-order
//! mark at the start of a file, CRLF line endings and trailing blank lines.

pub mod beir;
pub mod bio;
pub mod cblue;
pub mod coref;
pub mod keyphrase;
pub mod linking;
pub mod tn;
pub mod trec;

use crate::types::ImportError;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The UTF-8 byte-order mark.
const BOM: char = '\u{feff}';

/// Builds an [`ImportError`] for `file` at `line`.
pub(crate) fn error(file: &str, line: u64, message: impl Into<String>) -> ImportError {
    ImportError {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

/// The display form of a path used in errors.
pub(crate) fn label(path: &Path) -> String {
    path.display().to_string()
}

/// Opens `path` for buffered reading, or says why it cannot be opened.
pub(crate) fn open(path: &Path) -> Result<BufReader<std::fs::File>, ImportError> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|e| error(&label(path), 0, format!("cannot open: {e}")))
}

/// Reads a whole file as UTF-8 text, dropping a leading byte-order mark. Invalid UTF-8 is
/// reported at the line where it occurs.
pub(crate) fn read_text(path: &Path) -> Result<String, ImportError> {
    let file = label(path);
    let mut bytes = Vec::new();
    open(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| error(&file, 0, format!("cannot read: {e}")))?;
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with(BOM) {
                text.drain(..BOM.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = 1 + bytes[..valid].iter().filter(|&&b| b == b'\n').count() as u64;
            let line_start = bytes[..valid]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            Err(error(
                &file,
                line,
                format!(
                    "invalid UTF-8 at byte {} of the line",
                    valid - line_start + 1
                ),
            ))
        }
    }
}

/// Calls `f(line_number, line)` for every line of `reader` (1-based numbers), with the line
/// terminator (`\n` or `\r\n`) removed and a byte-order mark dropped from the first line.
/// Invalid UTF-8 and read failures are reported against `file`. Stops at the first error
/// `f` returns.
pub(crate) fn for_each_line<R, F>(mut reader: R, file: &str, mut f: F) -> Result<(), ImportError>
where
    R: BufRead,
    F: FnMut(u64, &str) -> Result<(), ImportError>,
{
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| error(file, line_no + 1, format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let mut line = std::str::from_utf8(&buf).map_err(|e| {
            error(
                file,
                line_no,
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
            )
        })?;
        if line_no == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        f(line_no, line)?;
    }
}

/// Position (1-based line, 1-based byte column) of the start of each element of a top-level
/// JSON array in `text`, found by a light scan that tracks strings and nesting. The result is
/// only meaningful for text that parses as a JSON array; it is used to attach line numbers
/// to records and to find which record a parse error falls in.
pub(crate) fn json_array_element_starts(text: &str) -> Vec<(u64, u64)> {
    let mut starts = Vec::new();
    let (mut line, mut col) = (1u64, 0u64);
    let mut depth = 0usize;
    let (mut in_string, mut escaped, mut expect_value) = (false, false, false);
    for &b in text.as_bytes() {
        if b == b'\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        if depth == 1 && expect_value && !b.is_ascii_whitespace() && b != b']' {
            starts.push((line, col));
            expect_value = false;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    expect_value = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expect_value = true,
            _ => {}
        }
    }
    starts
}

/// Index of the record of a top-level JSON array that contains position `(line, column)`,
/// given the element starts from [`json_array_element_starts`].
pub(crate) fn record_at(starts: &[(u64, u64)], line: u64, column: u64) -> Option<usize> {
    let n = starts.partition_point(|&start| start <= (line, column));
    n.checked_sub(1)
}

/// Parses `text` (the content of `file`) as a JSON array of `T`. Returns each record with the
/// line its element starts on. A parse or shape error is reported at serde_json's line, with
/// the index of the record it falls in.
pub(crate) fn parse_json_array<T>(text: &str, file: &str) -> Result<Vec<(u64, T)>, ImportError>
where
    T: serde::de::DeserializeOwned,
{
    let starts = json_array_element_starts(text);
    match serde_json::from_str::<Vec<T>>(text) {
        Ok(records) => Ok(records
            .into_iter()
            .enumerate()
            .map(|(i, r)| (starts.get(i).map_or(0, |s| s.0), r))
            .collect()),
        Err(e) => {
            let line = e.line() as u64;
            let message = if text.trim().is_empty() {
                "empty file, expected a JSON array of records".to_string()
            } else if !text.trim_start().starts_with('[') {
                format!("expected a JSON array of records: {e}")
            } else {
                match record_at(&starts, line, e.column() as u64) {
                    Some(i) => format!("record {i}: {e}"),
                    None => e.to_string(),
                }
            };
            Err(error(file, line, message))
        }
    }
}

/// Splits a line on whitespace runs (spaces and tabs).
pub(crate) fn fields(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_starts() {
        let text = "[\n {\"a\": \"x,]\\\"{\"},\n {\"a\": [1, 2]}, 3\n]";
        assert_eq!(
            json_array_element_starts(text),
            vec![(2, 2), (3, 2), (3, 17)]
        );
        assert_eq!(record_at(&[(2, 2), (3, 2)], 3, 5), Some(1));
        assert_eq!(record_at(&[(2, 2), (3, 2)], 1, 1), None);
    }

    #[test]
    fn lines_strip_bom_and_crlf() {
        let mut seen = Vec::new();
        for_each_line("\u{feff}a\r\nb\n\n".as_bytes(), "x", |n, l| {
            seen.push((n, l.to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (1, "a".to_string()),
                (2, "b".to_string()),
                (3, String::new())
            ]
        );
        let err = for_each_line(&b"ok\n\xff\n"[..], "x", |_, _| Ok(())).unwrap_err();
        assert_eq!(err.line, 2);
    }
}
