//! A lossless, line-numbered JSONL document reader.
//!
//! Each line holds one JSON object:
//!
//! ```json
//! {"id": "rad-001", "lang": "zh", "title": "腹部CT", "body": "肝脏大小形态正常……", "category": "radiology"}
//! ```
//!
//! * `id` (or BEIR's `_id`): a non-empty string or an integer. Required.
//! * `lang`: optional language code (`en`, `zh`); detected from the text when absent.
//! * every other key is a named text field, in input order; numbers and booleans are kept as
//!   their JSON text, `null` means "no such field". Arrays and objects (BEIR's `metadata`,
//!   say) are kept in [`Document::meta`]: stored with the document, not indexed. Nothing is
//!   dropped.
//! * `fields`: optionally, the named fields as a nested object instead.
//!
//! Problems (invalid UTF-8, malformed JSON, a missing id, an over-long line) are returned as
//! [`InputError`]s carrying the line number; the reader goes on with the next line, so a
//! caller decides whether one bad line aborts the job. Blank lines are skipped. A UTF-8 BOM
//! at the start of the stream is ignored.

use crate::document::{Document, Field};
use crate::lang::Lang;
use std::io::{BufRead, Read};

/// Default limit on one line (one document): 32 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 32 << 20;

/// What is wrong with one input line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("line {line}: {message}")]
pub struct InputError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// A document read from a line, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadDocument {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset just past this line: a resume point.
    pub end_offset: u64,
    /// The document.
    pub doc: Document,
}

/// Iterator over documents of a JSONL stream. See the module docs.
pub struct JsonlReader<R> {
    reader: R,
    line: u64,
    offset: u64,
    max_line_bytes: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> JsonlReader<R> {
    /// Reads from the start of `reader`.
    pub fn new(reader: R) -> Self {
        Self::resume(reader, 0, 0)
    }

    /// Reads from a stream already positioned at byte `offset`, just after line `line`.
    pub fn resume(reader: R, line: u64, offset: u64) -> Self {
        JsonlReader {
            reader,
            line,
            offset,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Sets the longest accepted line in bytes.
    pub fn with_max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n;
        self
    }

    /// Current 1-based line number (of the last line read).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Byte offset after the last line read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads one raw line into `self.buf`; returns false at end of input. Over-long lines
    /// are consumed and reported as an error without being held in memory.
    fn next_line(&mut self) -> Result<bool, InputError> {
        self.buf.clear();
        let limit = self.max_line_bytes as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| InputError {
                line: self.line + 1,
                message: format!("read error: {e}"),
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        self.offset += n as u64;
        if self.buf.len() > self.max_line_bytes && self.buf.last() != Some(&b'\n') {
            // Skip the rest of the line.
            loop {
                let chunk = self.reader.fill_buf().map_err(|e| InputError {
                    line: self.line,
                    message: format!("read error: {e}"),
                })?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(p) => {
                        self.reader.consume(p + 1);
                        self.offset += p as u64 + 1;
                        break;
                    }
                    None => {
                        let l = chunk.len();
                        self.reader.consume(l);
                        self.offset += l as u64;
                    }
                }
            }
            self.buf.clear();
            return Err(InputError {
                line: self.line,
                message: format!(
                    "document is larger than the {} byte limit; split it or raise the limit",
                    self.max_line_bytes
                ),
            });
        }
        Ok(true)
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<ReadDocument, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.next_line() {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => return Some(Err(e)),
                Ok(true) => {}
            }
            let mut bytes: &[u8] = &self.buf;
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    return Some(Err(InputError {
                        line: self.line,
                        message: format!(
                            "invalid UTF-8 at byte {} of the line; the file must be UTF-8",
                            e.valid_up_to()
                        ),
                    }))
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let line = self.line;
            let end_offset = self.offset;
            return Some(
                parse_document(text)
                    .map(|doc| ReadDocument {
                        line,
                        end_offset,
                        doc,
                    })
                    .map_err(|message| InputError { line, message }),
            );
        }
    }
}

fn value_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn push_field(doc: &mut Document, name: &str, v: &serde_json::Value) -> Result<(), String> {
    let text = match v {
        serde_json::Value::Null => return Ok(()),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => {
            if doc.meta.contains_key(name) {
                return Err(format!("field '{name}' is given twice"));
            }
            doc.meta.insert(name.to_string(), other.clone());
            return Ok(());
        }
    };
    if doc.fields.iter().any(|f| f.name == name) {
        return Err(format!("field '{name}' is given twice"));
    }
    doc.fields.push(Field {
        name: name.to_string(),
        text,
    });
    Ok(())
}

/// Parses one JSON object into a [`Document`]; the error is a human-readable message.
pub fn parse_document(text: &str) -> Result<Document, String> {
    // Keep key order: serde_json's Map preserves it only with `preserve_order`, so walk
    // the object with a streaming visitor via `serde_json::Value` over an ordered map.
    let value: OrderedObject =
        serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
    let mut id: Option<String> = None;
    let mut doc = Document::new("");
    for (key, v) in value.0 {
        match key.as_str() {
            "id" | "_id" => {
                if id.is_some() {
                    return Err("both 'id' and '_id' are given".to_string());
                }
                id = Some(match &v {
                    serde_json::Value::String(s) => s.trim().to_string(),
                    serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                    other => {
                        return Err(format!(
                            "'{key}' must be a string or an integer, not a {}",
                            value_kind(other)
                        ))
                    }
                });
            }
            "lang" | "language" => match &v {
                serde_json::Value::String(s) => {
                    doc.lang = s.parse::<Lang>().map_err(|e| e.to_string())?;
                }
                serde_json::Value::Null => {}
                other => {
                    return Err(format!(
                        "'lang' must be a string, not a {}",
                        value_kind(other)
                    ))
                }
            },
            "fields" => match &v {
                serde_json::Value::Object(m) => {
                    for (k, fv) in m {
                        push_field(&mut doc, k, fv)?;
                    }
                }
                other => {
                    return Err(format!(
                        "'fields' must be an object of name -> text, not a {}",
                        value_kind(other)
                    ))
                }
            },
            "annotations" => {
                doc.annotations = serde_json::from_value(v)
                    .map_err(|e| format!("'annotations' is malformed: {e}"))?;
            }
            _ => push_field(&mut doc, &key, &v)?,
        }
    }
    match id {
        None => Err("missing 'id' (every document needs a unique id)".to_string()),
        Some(s) if s.is_empty() => Err("empty 'id'".to_string()),
        Some(s) => {
            doc.id = s;
            Ok(doc)
        }
    }
}

/// A JSON object whose keys keep their input order.
pub struct OrderedObject(pub Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<Result<ReadDocument, InputError>> {
        JsonlReader::new(input).collect()
    }

    #[test]
    fn reads_fields_in_order_with_lines_and_offsets() {
        let input = "\u{feff}{\"id\":\"a\",\"title\":\"T\",\"body\":\"B\",\"n\":3}\n\n{\"_id\":7,\"text\":\"肝\",\"lang\":\"zh\"}\n";
        let out = read_all(input.as_bytes());
        assert_eq!(out.len(), 2);
        let a = out[0].as_ref().unwrap();
        assert_eq!(a.line, 1);
        assert_eq!(a.doc.id, "a");
        let names: Vec<_> = a.doc.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["title", "body", "n"]);
        assert_eq!(a.doc.field("n"), Some("3"));
        let b = out[1].as_ref().unwrap();
        assert_eq!(b.line, 3);
        assert_eq!(b.doc.id, "7");
        assert_eq!(b.doc.lang, Lang::Zh);
        assert_eq!(b.end_offset as usize, input.len());
    }

    #[test]
    fn bad_lines_are_reported_and_reading_goes_on() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"id\":\"ok1\",\"body\":\"x\"}\n");
        input.extend_from_slice(b"{\"id\":\"broken\",\n");
        input.extend_from_slice(b"{\"body\":\"no id\"}\n");
        input.extend_from_slice(b"{\"id\":\"bad\xff\xfe\"}\n");
        input.extend_from_slice(b"{\"id\":\"arr\",\"tags\":[1]}\n");
        input.extend_from_slice(b"[1,2]\n");
        input.extend_from_slice(b"{\"id\":\"  \"}\n");
        input.extend_from_slice(b"{\"id\":\"ok2\",\"body\":\"y\"}");
        let out = read_all(&input);
        let errs: Vec<_> = out.iter().filter_map(|r| r.as_ref().err()).collect();
        let oks: Vec<_> = out.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(
            oks.iter().map(|d| d.doc.id.as_str()).collect::<Vec<_>>(),
            ["ok1", "arr", "ok2"]
        );
        assert_eq!(oks[2].line, 8);
        // Structured values are kept, not indexed as text.
        assert_eq!(oks[1].doc.meta["tags"], serde_json::json!([1]));
        assert!(oks[1].doc.fields.is_empty());
        let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 6, 7]);
        assert!(errs[0].message.contains("malformed JSON"));
        assert!(errs[1].message.contains("missing 'id'"));
        assert!(errs[2].message.contains("invalid UTF-8"));
        assert!(errs[4].message.contains("empty 'id'"));
    }

    #[test]
    fn over_long_lines_are_skipped_without_losing_the_next() {
        let big = format!("{{\"id\":\"big\",\"body\":\"{}\"}}\n", "x".repeat(5000));
        let input = format!("{big}{{\"id\":\"small\"}}\n");
        let out: Vec<_> = JsonlReader::new(input.as_bytes())
            .with_max_line_bytes(1000)
            .collect();
        assert_eq!(out.len(), 2);
        assert!(out[0].as_ref().unwrap_err().message.contains("byte limit"));
        let small = out[1].as_ref().unwrap();
        assert_eq!((small.doc.id.as_str(), small.line), ("small", 2));
        assert_eq!(small.end_offset as usize, input.len());
    }

    #[test]
    fn resume_continues_numbering() {
        let input = b"{\"id\":\"c\"}\n";
        let out: Vec<_> = JsonlReader::resume(&input[..], 41, 1000).collect();
        let d = out[0].as_ref().unwrap();
        assert_eq!((d.line, d.end_offset), (42, 1000 + input.len() as u64));
    }

    #[test]
    fn parse_document_never_panics_on_garbage() {
        // A small deterministic fuzz: every prefix and byte-flip of a valid line.
        let base = r#"{"id":"x1","lang":"zh","title":"肝脏","fields":{"a":"b"},"n":null}"#;
        for i in 0..base.len() {
            if let Some(p) = base.get(..i) {
                let _ = parse_document(p);
            }
        }
        let bytes = base.as_bytes();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut b = bytes.to_vec();
                b[i] ^= flip;
                let _: Vec<_> = JsonlReader::new(&b[..]).collect();
            }
        }
    }
}
