//! Lowercasing, only for letters that have case.
//!
//! Each character is replaced by [`char::to_lowercase`] (context-free: `Σ` always becomes
//! `σ`, Turkish dotted `İ` becomes `i` + `U+0307`, both characters mapped to the `İ`).
//! Characters without case (CJK, digits, punctuation) are never touched, so the normalizer
//! is gated on the presence of a letter that has a lowercase form.
//!
//! Lowercasing can take NFKC text out of NFKC: `J` + `U+030C` has no precomposed form but
//! `j` + `U+030C` composes to `ǰ`. To stay idempotent inside a chain that normalizes to
//! NFKC first, when the input was NFKC and the lowercased text is not, the result is
//! renormalized with [`super::Nfkc`] (maps composed) and lowercased again until stable.

use super::nfkc::is_stable_starter;
use super::{Nfkc, Normalized, Normalizer};
use quarry_core::NormalizedText;

/// Lowercases letters of cased scripts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Case;

/// Blocks with no cased letters, skipped without a table lookup: CJK radicals, symbols,
/// kana, ideographs (`U+2E80..=U+9FFF`) and Hangul syllables.
#[inline]
fn is_caseless_block(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7A3)
}

/// True if lowercasing changes `c`.
#[inline]
fn changes(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    if is_caseless_block(c) {
        return false;
    }
    let mut l = c.to_lowercase();
    !(l.next() == Some(c) && l.next().is_none())
}

/// One lowercasing pass. Returns the result and whether it may have left NFKC: a changed
/// character lowercased to non-ASCII, or followed by a character that may compose with it.
fn lower_once(text: &str) -> (Normalized, bool) {
    let Some((first, _)) = text.char_indices().find(|&(_, c)| changes(c)) else {
        return (Normalized::Unchanged, false);
    };
    let mut out = String::with_capacity(text.len());
    let mut suspicious = false;
    let mut expanded = false;
    let mut prev_changed = false;
    let mut copied = 0usize; // bytes of `text` already in `out`
    for (i, c) in text[first..].char_indices() {
        if prev_changed && !is_stable_starter(c) {
            suspicious = true;
        }
        prev_changed = changes(c);
        if !prev_changed {
            continue;
        }
        let i = i + first;
        out.push_str(&text[copied..i]);
        copied = i + c.len_utf8();
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            suspicious = true;
            let lower = c.to_lowercase();
            expanded |= lower.len() != 1;
            out.extend(lower);
        }
    }
    out.push_str(&text[copied..]);
    if !expanded {
        return (Normalized::Aligned(out), suspicious);
    }
    // Some character lowercased to several: list every change, with its output bytes.
    let mut edits: Vec<(usize, usize, usize)> = Vec::new();
    let mut b = 0;
    for (i, c) in text.chars().enumerate() {
        let len: usize = if changes(c) {
            c.to_lowercase().map(char::len_utf8).sum()
        } else {
            c.len_utf8()
        };
        if changes(c) {
            edits.push((i, b, b + len));
        }
        b += len;
    }
    let edits: Vec<(usize, usize, &str)> = edits
        .iter()
        .filter_map(|&(i, s, e)| out.get(s..e).map(|r| (i, 1, r)))
        .collect();
    (Normalized::Remapped(super::remap(text, &edits)), suspicious)
}

impl Normalizer for Case {
    fn name(&self) -> &'static str {
        "case"
    }

    fn applies_to(&self, text: &str) -> bool {
        text.chars().any(changes)
    }

    fn apply(&self, text: &str) -> Normalized {
        let (first, suspicious) = lower_once(text);
        if !suspicious || !first.is_changed() {
            return first;
        }
        // Rare path: lowercasing may have taken NFKC text out of NFKC. Keep it NFKC.
        if !unicode_normalization::is_nfkc(text) || unicode_normalization::is_nfkc(first.text(text))
        {
            return first;
        }
        let mut cur: NormalizedText = first.into_normalized_text(text);
        for _ in 0..4 {
            let renormalized = Nfkc.normalize(&cur);
            let (again, _) = lower_once(&renormalized.text);
            let next = match again {
                Normalized::Unchanged => renormalized,
                Normalized::Aligned(t) => NormalizedText {
                    text: t,
                    map: renormalized.map,
                },
                Normalized::Remapped(step) => NormalizedText {
                    text: step.text,
                    map: renormalized.map.then(&step.map),
                },
            };
            let done = next.text == cur.text;
            cur = next;
            if done {
                break;
            }
        }
        Normalized::Remapped(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::Span;

    fn lower(s: &str) -> NormalizedText {
        Case.normalize(&NormalizedText::identity(s))
    }

    #[test]
    fn lowercases_cased_scripts_only() {
        assert_eq!(lower("右肾CT值25HU").text, "右肾ct值25hu");
        assert_eq!(lower("ΑΒΓ Ünïcödé").text, "αβγ ünïcödé");
        assert_eq!(lower("ΣΑΣ").text, "σασ");
        assert_eq!(Case.apply("肝脏 ct 123"), Normalized::Unchanged);
        assert!(!Case.applies_to("肝脏 ct 123"));
        assert!(Case.applies_to("肝脏 Ct"));
        assert!(Case.applies_to("ǅ"));
    }

    #[test]
    fn simple_changes_are_aligned() {
        assert_eq!(Case.apply("MRI"), Normalized::Aligned("mri".into()));
        assert_eq!(Case.apply("ẞ"), Normalized::Aligned("ß".into()));
    }

    #[test]
    fn expansions_are_mapped() {
        let n = lower("xİy");
        assert_eq!(n.text, "xi\u{307}y");
        assert_eq!(n.to_original(Span::new(1, 3)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(3, 4)), Span::new(2, 3));
    }

    #[test]
    fn keeps_nfkc_text_nfkc() {
        // J + caron has no precomposed form; j + caron composes to ǰ.
        let n = lower("AJ\u{30C}B");
        assert_eq!(n.text, "a\u{1F0}b");
        assert_eq!(n.to_original(Span::new(1, 2)), Span::new(1, 3));
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(3, 4));
        assert_eq!(lower(&n.text).text, n.text);
        // Not NFKC to begin with: left as plain lowercasing.
        assert_eq!(lower("ｊ\u{30C}J\u{30C}").text, "ｊ\u{30C}j\u{30C}");
    }

    #[test]
    fn caseless_blocks_have_no_case() {
        for u in (0x2E80..=0x9FFFu32).chain(0xAC00..=0xD7A3) {
            let Some(c) = char::from_u32(u) else { continue };
            let mut l = c.to_lowercase();
            assert!(l.next() == Some(c) && l.next().is_none(), "{c:?}");
        }
    }

    #[test]
    fn is_idempotent() {
        for s in ["Straße İstanbul ΣΑΣ", "ǄǅǆJ\u{30C}"] {
            let once = lower(s).text;
            assert_eq!(lower(&once).text, once);
        }
    }
}
