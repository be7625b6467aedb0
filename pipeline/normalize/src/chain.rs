//! A chain of [`Normalizer`]s whose result maps back to the original text.
//!
//! The default order is `width -> nfkc -> punct -> t2s -> case`:
//!
//! 1. **`width`** first: it folds the full-width forms that Chinese text is full of
//!    (`，：（）ＣＴ２５`) one for one and cheaply, after which the text usually passes NFKC's
//!    quick check and `nfkc` does no work at all. (NFKC would fold them too; the result is
//!    the same either way.)
//! 2. **`nfkc`** before everything that looks at characters: it turns compatibility forms
//!    into the plain letters, digits, spaces and ideographs the later steps know (`㎝` ->
//!    `cm`, `①` -> `1`, `U+00A0` -> space, CJK compatibility ideographs -> unified ones,
//!    `㎒` -> `MHz`, which `case` must still see).
//! 3. **`punct`** after `nfkc` (which produces spaces and ASCII punctuation) and before
//!    `t2s`: removing an invisible character can join two runs of ideographs, and `t2s`
//!    must see the joined run or a second pass would convert it differently.
//! 4. **`t2s`**, then **`case`**: they touch disjoint characters (ideographs / cased
//!    letters) and produce nothing the earlier steps would change again. `case` keeps NFKC
//!    text NFKC (lowercasing `J` + `U+030C` makes a composable `ǰ`).
//!
//! Each step is skipped when its cheap script gate ([`Normalizer::applies_to`]) says it
//! cannot change the text. A step that changes characters one for one keeps the offset map
//! as it is; one that inserts, removes, expands or merges characters has its map composed
//! with the map so far ([`quarry_core::OffsetMap::then`]). The chain is idempotent:
//! normalizing its output again changes nothing (property-tested).

use crate::normalizers::{self, Normalized, Normalizer};
use quarry_core::{NormalizedText, OffsetMap};

/// The normalizers of [`NormalizerChain::default_chain`], in order.
pub const DEFAULT_ORDER: &[&str] = &["width", "nfkc", "punct", "t2s", "case"];

/// Error for a normalizer name that [`NormalizerChain::from_names`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown normalizer '{name}' (known: {known})", known = normalizers::NAMES.join(", "))]
pub struct UnknownNormalizer {
    /// The name that was asked for.
    pub name: String,
}

/// An ordered list of normalizers applied one after another.
#[derive(Debug)]
pub struct NormalizerChain {
    normalizers: Vec<Box<dyn Normalizer>>,
}

impl Default for NormalizerChain {
    fn default() -> Self {
        Self::default_chain()
    }
}

impl NormalizerChain {
    /// The chain `width -> nfkc -> punct -> t2s -> case` (see the module docs for why).
    pub fn default_chain() -> Self {
        Self::from_names(DEFAULT_ORDER).unwrap_or_else(|_| Self::new(Vec::new()))
    }

    /// A chain of the given normalizers, applied in order.
    pub fn new(normalizers: Vec<Box<dyn Normalizer>>) -> Self {
        NormalizerChain { normalizers }
    }

    /// A chain from configuration names (see [`normalizers::NAMES`]), applied in the order
    /// given. Names are case-insensitive; an unknown name is an error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownNormalizer> {
        let normalizers = names
            .iter()
            .map(|n| {
                normalizers::by_name(n.as_ref()).ok_or_else(|| UnknownNormalizer {
                    name: n.as_ref().to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(normalizers))
    }

    /// The names of the normalizers, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.normalizers.iter().map(|n| n.name()).collect()
    }

    /// Number of normalizers.
    pub fn len(&self) -> usize {
        self.normalizers.len()
    }

    /// True for a chain without normalizers (it returns its input unchanged).
    pub fn is_empty(&self) -> bool {
        self.normalizers.is_empty()
    }

    /// Normalizes `text`; the result's map leads from every normalized character back to
    /// the characters of `text` it came from.
    pub fn normalize(&self, text: &str) -> NormalizedText {
        let mut cur = std::borrow::Cow::Borrowed(text);
        // None while the map is still the identity on `text`.
        let mut map: Option<OffsetMap> = None;
        for n in &self.normalizers {
            if !n.applies_to(&cur) {
                continue;
            }
            match n.apply(&cur) {
                Normalized::Unchanged => {}
                Normalized::Aligned(t) => cur = t.into(),
                Normalized::Remapped(step) => {
                    map = Some(match map {
                        None => step.map,
                        Some(m) => m.then(&step.map),
                    });
                    cur = step.text.into();
                }
            }
        }
        let map = map.unwrap_or_else(|| OffsetMap::identity(text.chars().count()));
        NormalizedText {
            text: cur.into_owned(),
            map,
        }
    }

    /// Normalizes an already normalized text, keeping its map to its original.
    pub fn normalize_further(&self, input: &NormalizedText) -> NormalizedText {
        let step = self.normalize(&input.text);
        NormalizedText {
            map: input.map.then(&step.map),
            text: step.text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::Span;

    #[test]
    fn default_chain_order() {
        let c = NormalizerChain::default_chain();
        assert_eq!(c.names(), DEFAULT_ORDER);
        assert_eq!(c.len(), 5);
        assert!(!c.is_empty());
    }

    #[test]
    fn from_names_reports_unknown_names() {
        let c = NormalizerChain::from_names(&["case", "T2S"]).expect("known");
        assert_eq!(c.names(), vec!["case", "t2s"]);
        let e = NormalizerChain::from_names(&["case", "stem"]).unwrap_err();
        assert_eq!(e.name, "stem");
        assert!(e.to_string().contains("known: width, nfkc"));
    }

    #[test]
    fn empty_chain_is_identity() {
        let c = NormalizerChain::new(Vec::new());
        let n = c.normalize("ＡＢ");
        assert_eq!(n.text, "ＡＢ");
        assert_eq!(n.to_original(Span::new(0, 2)), Span::new(0, 2));
    }

    #[test]
    fn normalize_further_composes() {
        let c = NormalizerChain::from_names(&["punct"]).expect("known");
        let first = NormalizerChain::from_names(&["nfkc"])
            .expect("known")
            .normalize("a ½  b");
        assert_eq!(first.text, "a 1⁄2  b");
        let second = c.normalize_further(&first);
        assert_eq!(second.text, "a 1⁄2 b");
        assert_eq!(second.to_original(Span::new(2, 5)), Span::new(2, 3));
        assert_eq!(second.to_original(Span::new(5, 6)), Span::new(3, 5));
    }
}
