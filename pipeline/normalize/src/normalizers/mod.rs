//! Small, single-purpose text normalizers, each lossless: every normalized character knows
//! which original characters it came from.
//!
//! | name    | what it does                                                     | gate (runs only if)          |
//! |---------|------------------------------------------------------------------|------------------------------|
//! | `width` | full-width ASCII `U+FF01..=U+FF5E` -> ASCII, `U+3000` -> space    | a full-width form is present |
//! | `nfkc`  | Unicode NFKC (compatibility decomposition + canonical composition) | text is not already NFKC     |
//! | `punct` | whitespace runs -> one space/newline (trimmed), punctuation variants unified | a variant, an invisible character, or whitespace other than single inner spaces/newlines is present |
//! | `t2s`   | traditional -> simplified Chinese (OpenCC `t2s` dictionaries)     | a CJK ideograph is present   |
//! | `tw2s`  | the same, Taiwan variants first (OpenCC `tw2s`)                   | a CJK ideograph is present   |
//! | `hk2s`  | the same, Hong Kong variants first (OpenCC `hk2s`)                | a CJK ideograph is present   |
//! | `case`  | lowercase (`char::to_lowercase`), only letters that have case     | a letter with a lowercase form is present |
//!
//! Each normalizer works on plain text and reports, through [`Normalized`], whether it left
//! the text alone, changed characters one for one ([`Normalized::Aligned`], the map stays as
//! it is) or inserted, removed, expanded or merged characters ([`Normalized::Remapped`], with
//! a map over its input). [`Normalizer::normalize`] composes that with the map its input
//! already carries, so the result always maps back to the *original* text; the
//! [`crate::chain::NormalizerChain`] does the same without cloning unchanged texts.

mod case;
mod nfkc;
mod opencc;
mod punct;
mod t2s;
mod width;

pub use case::Case;
pub use nfkc::Nfkc;
pub use punct::Punct;
pub use t2s::{T2s, T2sRegion};
pub use width::Width;

use quarry_core::NormalizedText;

/// What one normalizer did to a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalized {
    /// Nothing changed.
    Unchanged,
    /// The text changed but kept its character count, and character `i` of the new text
    /// came from character `i` of the input: the offset map carries over as it is.
    Aligned(String),
    /// Characters were inserted, deleted, expanded or merged; the [`NormalizedText`]'s map
    /// points into the normalizer's *input* text.
    Remapped(NormalizedText),
}

impl Normalized {
    /// True unless [`Normalized::Unchanged`].
    pub fn is_changed(&self) -> bool {
        !matches!(self, Normalized::Unchanged)
    }

    /// The resulting text given the input `text`.
    pub fn text<'a>(&'a self, text: &'a str) -> &'a str {
        match self {
            Normalized::Unchanged => text,
            Normalized::Aligned(t) => t,
            Normalized::Remapped(n) => &n.text,
        }
    }

    /// This result as a [`NormalizedText`] over the input `text`.
    pub fn into_normalized_text(self, text: &str) -> NormalizedText {
        match self {
            Normalized::Unchanged => NormalizedText::identity(text),
            Normalized::Aligned(t) => NormalizedText {
                map: quarry_core::OffsetMap::identity(t.chars().count()),
                text: t,
            },
            Normalized::Remapped(n) => n,
        }
    }
}

/// One normalization concern (width, NFKC, case, ...), gated by script.
pub trait Normalizer: Send + Sync + std::fmt::Debug {
    /// The name used in configuration (`"nfkc"`, `"t2s"`, ...).
    fn name(&self) -> &'static str;

    /// A cheap scan: false when this normalizer certainly leaves `text` unchanged (for
    /// example `t2s` on text without CJK ideographs). A chain skips the normalizer then.
    fn applies_to(&self, text: &str) -> bool;

    /// Normalizes `text`. Never panics; for every input the result is a fixpoint:
    /// applying the normalizer to its own output changes nothing.
    fn apply(&self, text: &str) -> Normalized;

    /// Normalizes an already normalized text, composing the maps so that the result still
    /// maps back to the original text that `input.map` points into.
    fn normalize(&self, input: &NormalizedText) -> NormalizedText {
        if !self.applies_to(&input.text) {
            return input.clone();
        }
        match self.apply(&input.text) {
            Normalized::Unchanged => input.clone(),
            Normalized::Aligned(text) => NormalizedText {
                text,
                map: input.map.clone(),
            },
            Normalized::Remapped(step) => NormalizedText {
                text: step.text,
                map: input.map.then(&step.map),
            },
        }
    }
}

/// Names accepted by [`by_name`], in the order of the default chain, followed by the
/// regional variants of `t2s`.
pub const NAMES: &[&str] = &["width", "nfkc", "punct", "t2s", "case", "tw2s", "hk2s"];

/// The normalizer registered under `name` (see [`NAMES`]), with its default settings.
pub fn by_name(name: &str) -> Option<Box<dyn Normalizer>> {
    let n: Box<dyn Normalizer> = match name.trim().to_ascii_lowercase().as_str() {
        "width" => Box::new(Width),
        "nfkc" => Box::new(Nfkc),
        "punct" => Box::new(Punct),
        "t2s" => Box::new(T2s::new(T2sRegion::Standard)),
        "tw2s" => Box::new(T2s::new(T2sRegion::Taiwan)),
        "hk2s" => Box::new(T2s::new(T2sRegion::HongKong)),
        "case" => Box::new(Case),
        _ => return None,
    };
    Some(n)
}

/// Builds a [`Normalized::Remapped`] from a list of edits over `text`, each edit replacing
/// the characters `start..start + len` (character offsets, ascending, non-overlapping) by
/// `replacement`, every character of which maps to the whole replaced range (an empty range
/// marks an insertion, an empty replacement a deletion). Characters outside the edits are
/// copied and map to themselves, so every change must be listed as an edit.
pub(crate) fn remap(text: &str, edits: &[(usize, usize, &str)]) -> NormalizedText {
    use quarry_core::offsets::NormalizedTextBuilder;
    use quarry_core::Span;
    let n = text.chars().count();
    let mut b = NormalizedTextBuilder::new(n);
    let mut edits = edits.iter().peekable();
    let mut skip_until = 0usize;
    for (i, c) in text.chars().enumerate() {
        while let Some(&&(start, len, rep)) = edits.peek() {
            if start > i {
                break;
            }
            edits.next();
            if start == i {
                b.push(rep, Span::new(start, (start + len).min(n)));
                skip_until = skip_until.max(start + len);
            }
        }
        if i >= skip_until {
            b.push_char(c, i);
        }
    }
    // Insertions at the very end of the text.
    for &(start, len, rep) in edits {
        if start >= n {
            b.push(rep, Span::new(n, n));
        } else {
            b.push(rep, Span::new(start, (start + len).min(n)));
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::Span;

    #[test]
    fn every_name_resolves() {
        for name in NAMES {
            let n = by_name(name).expect("registered");
            assert_eq!(n.name(), *name);
        }
        assert!(by_name("nope").is_none());
        assert_eq!(by_name(" NFKC ").map(|n| n.name()), Some("nfkc"));
    }

    #[test]
    fn remap_maps_edits_and_untouched_characters() {
        // "a½b " -> "a1⁄2b" : ½ expanded, trailing space deleted
        let n = remap("a½b ", &[(1, 1, "1⁄2"), (3, 1, "")]);
        assert_eq!(n.text, "a1⁄2b");
        assert_eq!(n.map.original_len(), 4);
        assert_eq!(n.to_original(Span::new(0, 1)), Span::new(0, 1));
        assert_eq!(n.to_original(Span::new(1, 4)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(4, 5)), Span::new(2, 3));
    }

    #[test]
    fn normalize_composes_with_the_input_map() {
        let original = "ＡＢ  ｃ";
        let step1 = Width.normalize(&NormalizedText::identity(original));
        assert_eq!(step1.text, "AB  c");
        let step2 = Punct.normalize(&step1);
        assert_eq!(step2.text, "AB c");
        let step3 = Case.normalize(&step2);
        assert_eq!(step3.text, "ab c");
        assert_eq!(step3.to_original(Span::new(3, 4)), Span::new(4, 5));
        assert_eq!(step3.map.original_len(), 5);
    }
}
