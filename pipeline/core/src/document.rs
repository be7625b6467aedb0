//! The document model shared by every stage.

use crate::lang::Lang;
use serde::{Deserialize, Serialize};

/// A half-open range of **character** (Unicode scalar value) offsets, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// First character, inclusive.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`; panics in debug builds if `end < start`.
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span end before start");
        Span { start, end }
    }

    /// Number of characters covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True when the span covers no character.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The covered text of `text`, or `None` when the span lies outside it.
    pub fn slice<'a>(&self, text: &'a str) -> Option<&'a str> {
        let mut idx = text.char_indices().map(|(i, _)| i).chain([text.len()]);
        let start = idx.nth(self.start)?;
        let end = if self.end == self.start {
            start
        } else {
            idx.nth(self.end - self.start - 1)?
        };
        text.get(start..end)
    }
}

/// A named text field of a document (`title`, `body`, ...). Its text is kept exactly as it
/// was received: stages never rewrite it, they add annotations or normalized copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Original text.
    pub text: String,
}

/// Something a stage found in a field: an entity, a normalized form, a key phrase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Name of the field the span points into.
    pub field: String,
    /// Character offsets into the field's original text.
    pub span: Span,
    /// What kind of annotation this is (`entity`, `synonym`, `keyphrase`, ...).
    pub kind: String,
    /// The label: an entity type, a canonical form, a concept code.
    pub label: String,
    /// The stage that produced it.
    pub source: String,
    /// Optional confidence in `[0, 1]` (or a model's raw score, as its stage documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// The label's readable form, when the label is a code: a linked concept's preferred
    /// name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
}

/// A document flowing through the pipeline into the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Caller-chosen unique id.
    pub id: String,
    /// Language; `Unknown` until a stage or the caller decides.
    #[serde(default)]
    pub lang: Lang,
    /// Named text fields in input order.
    pub fields: Vec<Field>,
    /// Annotations added by stages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// Structured values that are not text (arrays, objects): kept and stored, not indexed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub meta: std::collections::BTreeMap<String, serde_json::Value>,
    /// Normalized copies of fields (by field name), each with its map back to the original
    /// field text. Set by the normalize stage; what the index and later stages read.
    #[serde(skip)]
    pub normalized: std::collections::BTreeMap<String, crate::offsets::NormalizedText>,
}

impl Document {
    /// A document with no fields.
    pub fn new(id: impl Into<String>) -> Self {
        Document {
            id: id.into(),
            lang: Lang::Unknown,
            fields: Vec::new(),
            annotations: Vec::new(),
            meta: Default::default(),
            normalized: Default::default(),
        }
    }

    /// The normalized text of each field the normalize stage rewrote, as a JSON object
    /// `{field: text}` (empty when none was): what the index stores and the API returns.
    pub fn normalized_texts(&self) -> serde_json::Map<String, serde_json::Value> {
        self.normalized
            .iter()
            .map(|(k, n)| (k.clone(), serde_json::Value::String(n.text.clone())))
            .collect()
    }

    /// Builder-style: adds (or replaces) a field.
    pub fn with_field(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.set_field(name, text);
        self
    }

    /// Builder-style: sets the language.
    pub fn with_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// Adds a field, or replaces the text of an existing field with the same name.
    pub fn set_field(&mut self, name: impl Into<String>, text: impl Into<String>) {
        let name = name.into();
        let text = text.into();
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(f) => f.text = text,
            None => self.fields.push(Field { name, text }),
        }
    }

    /// The text of a field, if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.text.as_str())
    }

    /// The text later stages and the index should read for a field: its normalized copy if
    /// the normalize stage made one, else the original.
    pub fn analysis_text<'a>(&'a self, field: &'a Field) -> &'a str {
        self.normalized
            .get(&field.name)
            .map(|n| n.text.as_str())
            .unwrap_or(&field.text)
    }

    /// The title field, if any.
    pub fn title(&self) -> Option<&str> {
        self.field("title")
    }

    /// All field texts joined with newlines, title first (the order of `fields`).
    pub fn full_text(&self) -> String {
        let mut out = String::new();
        for f in &self.fields {
            if f.text.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&f.text);
        }
        out
    }

    /// Total number of characters over all fields.
    pub fn char_len(&self) -> usize {
        self.fields.iter().map(|f| f.text.chars().count()).sum()
    }

    /// The language, detecting it from the text when unknown.
    pub fn effective_lang(&self) -> Lang {
        match self.lang {
            Lang::Unknown => Lang::detect(&self.full_text()),
            l => l,
        }
    }

    /// Serializes to the flat JSON form read by [`crate::jsonl`]: `{"id", "lang", <field>: text...}`.
    pub fn to_flat_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("id".into(), self.id.clone().into());
        if self.lang != Lang::Unknown {
            map.insert("lang".into(), self.lang.code().into());
        }
        for f in &self.fields {
            map.insert(f.name.clone(), f.text.clone().into());
        }
        for (k, v) in &self.meta {
            map.insert(k.clone(), v.clone());
        }
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_slices_by_characters() {
        let t = "肝脏 CT 正常";
        assert_eq!(Span::new(0, 2).slice(t), Some("肝脏"));
        assert_eq!(Span::new(3, 5).slice(t), Some("CT"));
        assert_eq!(Span::new(6, 8).slice(t), Some("正常"));
        assert_eq!(Span::new(8, 8).slice(t), Some(""));
        assert_eq!(Span::new(6, 9).slice(t), None);
    }

    #[test]
    fn fields_keep_order_and_replace() {
        let mut d = Document::new("a")
            .with_field("title", "T")
            .with_field("body", "B");
        d.set_field("title", "T2");
        assert_eq!(d.fields[0].text, "T2");
        assert_eq!(d.full_text(), "T2\nB");
        assert_eq!(d.to_flat_json()["body"], "B");
    }
}
