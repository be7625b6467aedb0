//! Offset maps from normalized text back to the original text.
//!
//! Every normalizer produces a [`NormalizedText`]: the new text and, for each of its
//! characters, the range of original characters it came from. A character inserted out of
//! nothing maps to the empty range at its position; a character deleted from the original
//! simply has no normalized character pointing at it. Maps compose, so a chain of
//! normalizers still maps straight back to the original.

use crate::document::Span;
use serde::{Deserialize, Serialize};

/// For each normalized character `i`, the original character span it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetMap {
    spans: Vec<(u32, u32)>,
    original_len: u32,
}

impl OffsetMap {
    /// The identity map for a text of `len` characters.
    pub fn identity(len: usize) -> Self {
        OffsetMap {
            spans: (0..len as u32).map(|i| (i, i + 1)).collect(),
            original_len: len as u32,
        }
    }

    /// Number of normalized characters.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the normalized text is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Number of characters of the original text.
    pub fn original_len(&self) -> usize {
        self.original_len as usize
    }

    /// The original span of normalized character `i`.
    pub fn char_origin(&self, i: usize) -> Option<Span> {
        self.spans
            .get(i)
            .map(|&(s, e)| Span::new(s as usize, e as usize))
    }

    /// Maps a span of the normalized text to the smallest original span covering it.
    /// Out-of-range ends are clamped to the end of the text.
    pub fn to_original(&self, span: Span) -> Span {
        let n = self.spans.len();
        let start = span.start.min(n);
        let end = span.end.min(n).max(start);
        if start == end {
            let p = if start < n {
                self.spans[start].0
            } else {
                self.original_len
            };
            return Span::new(p as usize, p as usize);
        }
        let s = self.spans[start..end]
            .iter()
            .map(|x| x.0)
            .min()
            .unwrap_or(0);
        let e = self.spans[start..end]
            .iter()
            .map(|x| x.1)
            .max()
            .unwrap_or(0);
        Span::new(s as usize, e as usize)
    }

    /// Composes two maps: `self` maps text B back to A, `next` maps text C back to B;
    /// the result maps C straight back to A.
    pub fn then(&self, next: &OffsetMap) -> OffsetMap {
        let spans = next
            .spans
            .iter()
            .map(|&(s, e)| {
                let sp = self.to_original(Span::new(s as usize, e as usize));
                (sp.start as u32, sp.end as u32)
            })
            .collect();
        OffsetMap {
            spans,
            original_len: self.original_len,
        }
    }
}

/// A normalized text and its map back to the original.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizedText {
    /// The normalized text.
    pub text: String,
    /// Map from each character of `text` to the original.
    pub map: OffsetMap,
}

impl NormalizedText {
    /// The original text itself, with the identity map.
    pub fn identity(original: &str) -> Self {
        NormalizedText {
            text: original.to_string(),
            map: OffsetMap::identity(original.chars().count()),
        }
    }

    /// The original span of a span of [`NormalizedText::text`].
    pub fn to_original(&self, span: Span) -> Span {
        self.map.to_original(span)
    }
}

/// Builds a [`NormalizedText`] piece by piece while walking the original.
#[derive(Debug, Default)]
pub struct NormalizedTextBuilder {
    out: NormalizedText,
}

impl NormalizedTextBuilder {
    /// A builder for an original text of `original_len` characters.
    pub fn new(original_len: usize) -> Self {
        let mut out = NormalizedText::default();
        out.map.original_len = original_len as u32;
        NormalizedTextBuilder { out }
    }

    /// A builder that reserves room for about `chars` normalized characters.
    pub fn with_capacity(original_len: usize, chars: usize) -> Self {
        let mut b = Self::new(original_len);
        b.out.text.reserve(chars * 3);
        b.out.map.spans.reserve(chars);
        b
    }

    /// Appends `normalized`, every character of which came from `origin` in the original.
    /// An empty `origin` marks inserted text; an empty `normalized` deletes `origin`.
    #[inline]
    pub fn push(&mut self, normalized: &str, origin: Span) {
        for c in normalized.chars() {
            self.out.text.push(c);
            self.out
                .map
                .spans
                .push((origin.start as u32, origin.end as u32));
        }
    }

    /// Appends a single character that came from original character `i`.
    #[inline]
    pub fn push_char(&mut self, c: char, i: usize) {
        self.out.text.push(c);
        self.out.map.spans.push((i as u32, i as u32 + 1));
    }

    /// Finishes the text.
    pub fn finish(self) -> NormalizedText {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips() {
        let n = NormalizedText::identity("abc肝");
        assert_eq!(n.to_original(Span::new(1, 4)), Span::new(1, 4));
        assert_eq!(n.to_original(Span::new(4, 4)), Span::new(4, 4));
    }

    #[test]
    fn expansion_and_deletion_map_back() {
        // original: "Ａ½ x" -> normalized "A1/2x" (full-width A narrowed, ½ expanded, space deleted)
        let mut b = NormalizedTextBuilder::new(4);
        b.push_char('A', 0);
        b.push("1/2", Span::new(1, 2));
        b.push("", Span::new(2, 3));
        b.push_char('x', 3);
        let n = b.finish();
        assert_eq!(n.text, "A1/2x");
        assert_eq!(n.to_original(Span::new(1, 4)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(3, 5)), Span::new(1, 4));
        assert_eq!(n.to_original(Span::new(0, 99)), Span::new(0, 4));
    }

    #[test]
    fn maps_compose() {
        // A="aXb" -> B="ab" (X deleted) -> C="aab" (a doubled)
        let mut b1 = NormalizedTextBuilder::new(3);
        b1.push_char('a', 0);
        b1.push_char('b', 2);
        let ab = b1.finish();
        let mut b2 = NormalizedTextBuilder::new(2);
        b2.push("aa", Span::new(0, 1));
        b2.push_char('b', 1);
        let aab = b2.finish();
        let composed = ab.map.then(&aab.map);
        assert_eq!(composed.to_original(Span::new(2, 3)), Span::new(2, 3));
        assert_eq!(composed.to_original(Span::new(0, 2)), Span::new(0, 1));
        assert_eq!(composed.original_len(), 3);
    }
}
