//! Unicode NFKC, with offsets.
//!
//! The text is cut into *segments* that normalize independently: a new segment starts at a
//! character that is a starter (canonical combining class 0) after its compatibility
//! decomposition and cannot compose with what precedes it. Each segment is normalized on its
//! own; a segment that changes maps every output character to the span of the whole
//! segment. So an expansion (`㎝` -> `cm`, `½` -> `1⁄2`, `①` -> `1`) maps each output
//! character to its one source character, and a composition (`e` + `U+0301` -> `é`, Hangul
//! jamo -> syllable) maps the composed character to all the characters it was made of. The
//! concatenation of the segments' NFKC forms equals the NFKC form of the whole text (tested
//! against `unicode-normalization` itself), and NFKC is idempotent.

use super::{Normalized, Normalizer};
use unicode_normalization::char::{canonical_combining_class, compose, decompose_compatible};
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Unicode NFKC normalization.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nfkc;

/// The first character of the compatibility decomposition of `c`.
fn first_decomposed(c: char) -> char {
    let mut first = None;
    decompose_compatible(c, |d| {
        if first.is_none() {
            first = Some(d);
        }
    });
    first.unwrap_or(c)
}

/// True for characters known without a table lookup to be NFKC-stable starters that
/// nothing composes with: ASCII, CJK unified ideographs (and extension A), the common CJK
/// punctuation `、。〈〉《》「」『』【】`, kana and precomposed Hangul syllables.
#[inline]
fn is_known_stable(c: char) -> bool {
    matches!(c as u32,
        0..=0x7F
        | 0x3001..=0x3002
        | 0x3008..=0x3011
        | 0x3041..=0x3096
        | 0x30A1..=0x30FA
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7A3)
}

/// True when `c` is NFKC-stable by itself and no composition can reach back across it.
#[inline]
pub(crate) fn is_stable_starter(c: char) -> bool {
    is_known_stable(c)
        || (canonical_combining_class(c) == 0
            && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes)
}

/// NFKC quick check that skips the characters [`is_known_stable`] covers.
fn quick_check(text: &str) -> IsNormalized {
    if text.is_ascii() {
        return IsNormalized::Yes;
    }
    let mut rest = text;
    let mut result = IsNormalized::Yes;
    while let Some(i) = rest
        .char_indices()
        .find(|&(_, c)| !is_known_stable(c))
        .map(|p| p.0)
    {
        rest = &rest[i..];
        // Check the run of characters up to the next known-stable one (a starter, so the
        // quick check's combining-class ordering restarts there).
        let end = rest
            .char_indices()
            .find(|&(_, c)| is_known_stable(c))
            .map(|p| p.0)
            .unwrap_or(rest.len());
        match is_nfkc_quick(rest[..end].chars()) {
            IsNormalized::Yes => {}
            IsNormalized::No => return IsNormalized::No,
            IsNormalized::Maybe => result = IsNormalized::Maybe,
        }
        rest = &rest[end..];
    }
    result
}

/// Cuts the *island* of text that may change, starting at byte `from` (a segment start),
/// into independently normalizable segments, calling `f(start, end)` for each. Returns where
/// the island ends: the first segment boundary at a stable starter, or the end of the text.
fn island(text: &str, from: usize, mut f: impl FnMut(usize, usize)) -> usize {
    let mut seg_start = from;
    let mut buf = String::new();
    for (i, c) in text[from..].char_indices() {
        let i = i + from;
        if i == seg_start {
            continue;
        }
        let stable = is_stable_starter(c);
        let boundary = if stable {
            true
        } else {
            let d = first_decomposed(c);
            if canonical_combining_class(d) != 0 {
                false
            } else {
                // A starter after decomposition: a boundary unless it composes with the
                // last character the current segment normalizes to (Hangul L+V, LV+T, and
                // the few starter+starter compositions).
                buf.clear();
                buf.extend(text[seg_start..i].nfkc());
                match buf.chars().next_back() {
                    Some(last) => compose(last, d).is_none(),
                    None => true,
                }
            }
        };
        if boundary {
            f(seg_start, i);
            seg_start = i;
            if stable {
                return i;
            }
        }
    }
    if seg_start < text.len() {
        f(seg_start, text.len());
    }
    text.len()
}

impl Normalizer for Nfkc {
    fn name(&self) -> &'static str {
        "nfkc"
    }

    fn applies_to(&self, text: &str) -> bool {
        quick_check(text) != IsNormalized::Yes
    }

    fn apply(&self, text: &str) -> Normalized {
        if quick_check(text) == IsNormalized::Yes {
            return Normalized::Unchanged;
        }
        let mut out = String::with_capacity(text.len() + 16);
        // (char start, char len, byte range in `out`) of segments that changed.
        let mut edits: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut aligned = true;
        let mut char_pos = 0usize;
        let mut seg_out = String::new();
        let mut p = 0usize;
        // Copy stretches of stable starters as they are; normalize the islands between.
        while let Some(j) = text[p..]
            .char_indices()
            .find(|&(_, c)| !is_stable_starter(c))
            .map(|(i, _)| i + p)
        {
            // The island starts at the stable starter before `j`, which `j` may compose with.
            let start = text[p..j]
                .char_indices()
                .next_back()
                .map(|(i, _)| i + p)
                .unwrap_or(j);
            char_pos += text[p..start].chars().count();
            out.push_str(&text[p..start]);
            p = island(text, start, |s, e| {
                let seg = &text[s..e];
                let n_chars = seg.chars().count();
                seg_out.clear();
                seg_out.extend(seg.nfkc());
                if seg_out == seg {
                    out.push_str(seg);
                } else {
                    if !(n_chars == 1 && seg_out.chars().count() == 1) {
                        aligned = false;
                    }
                    let b = out.len();
                    out.push_str(&seg_out);
                    edits.push((char_pos, n_chars, b, out.len()));
                }
                char_pos += n_chars;
            });
        }
        out.push_str(&text[p..]);
        if edits.is_empty() {
            return Normalized::Unchanged;
        }
        if aligned {
            return Normalized::Aligned(out);
        }
        let edits: Vec<(usize, usize, &str)> = edits
            .iter()
            .map(|&(start, len, b, e)| (start, len, &out[b..e]))
            .collect();
        Normalized::Remapped(super::remap(text, &edits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::{NormalizedText, Span};

    fn nfkc(s: &str) -> NormalizedText {
        Nfkc.normalize(&NormalizedText::identity(s))
    }

    #[test]
    fn matches_the_reference_nfkc() {
        for s in [
            "大小约3.2㎝×2.8㎝",
            "½ ① ℌ ﬁ Ⅻ ㈱ ﾊﾟ",
            "e\u{301} a\u{323}\u{301} \u{1100}\u{1161}\u{11A8}",
            "\u{301}leading mark",
            "ＣＴ\u{3000}值",
            "Å Ω K",
            "\u{0B47}\u{0B3E}",
            "\u{FA10}\u{2F800}",
        ] {
            let expected: String = s.nfkc().collect();
            assert_eq!(nfkc(s).text, expected, "{s:?}");
        }
    }

    #[test]
    fn expansions_map_to_their_source_character() {
        let n = nfkc("约3㎝大");
        assert_eq!(n.text, "约3cm大");
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(2, 3));
        assert_eq!(n.to_original(Span::new(3, 4)), Span::new(2, 3));
        assert_eq!(n.to_original(Span::new(4, 5)), Span::new(3, 4));
        let n = nfkc("①½");
        assert_eq!(n.text, "11⁄2");
        assert_eq!(n.to_original(Span::new(0, 1)), Span::new(0, 1));
        assert_eq!(n.to_original(Span::new(1, 4)), Span::new(1, 2));
    }

    #[test]
    fn compositions_map_to_all_their_sources() {
        let n = nfkc("xe\u{301}y");
        assert_eq!(n.text, "xéy");
        assert_eq!(n.to_original(Span::new(1, 2)), Span::new(1, 3));
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(3, 4));
        // Hangul jamo L + V + T compose into one syllable.
        let n = nfkc("\u{1100}\u{1161}\u{11A8}!");
        assert_eq!(n.text, "\u{AC01}!");
        assert_eq!(n.to_original(Span::new(0, 1)), Span::new(0, 3));
        // A compatibility jamo decomposes to a vowel that composes with the preceding L.
        let n = nfkc("\u{1100}\u{314F}");
        assert_eq!(n.text, "\u{AC00}");
        assert_eq!(n.to_original(Span::new(0, 1)), Span::new(0, 2));
    }

    #[test]
    fn one_for_one_changes_are_aligned() {
        assert_eq!(
            Nfkc.apply("Ａ\u{FA10}"),
            Normalized::Aligned("A\u{585A}".into())
        );
        assert_eq!(Nfkc.apply("肝脏 CT"), Normalized::Unchanged);
        assert!(!Nfkc.applies_to("plain ascii"));
        assert!(!Nfkc.applies_to("已经是 NFKC"));
        assert!(Nfkc.applies_to("㎝"));
    }

    #[test]
    fn known_stable_characters_really_are() {
        for u in 0..0x11000u32 {
            let Some(c) = char::from_u32(u) else { continue };
            if is_known_stable(c) {
                assert_eq!(canonical_combining_class(c), 0, "{c:?}");
                assert_eq!(
                    is_nfkc_quick(std::iter::once(c)),
                    IsNormalized::Yes,
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn fast_quick_check_agrees_with_the_library() {
        for s in [
            "肝脏",
            "e\u{301}",
            "肝\u{301}",
            "가\u{11A8}",
            "ＣＴ",
            "a\u{323}\u{301}",
            "\u{301}\u{323}",
        ] {
            let lib = is_nfkc_quick(s.chars());
            let ours = quick_check(s);
            assert_eq!(lib == IsNormalized::Yes, ours == IsNormalized::Yes, "{s:?}");
            assert_eq!(lib == IsNormalized::No, ours == IsNormalized::No, "{s:?}");
        }
    }

    #[test]
    fn is_idempotent() {
        for s in ["㎝½①ﬁ", "e\u{301}\u{323}", "\u{1100}\u{314F}\u{11A8}"] {
            let once = nfkc(s).text;
            assert_eq!(nfkc(&once).text, once);
        }
    }
}
