//! Whitespace and punctuation unification.
//!
//! **Whitespace.** A *gap* is a maximal run of whitespace (`char::is_whitespace`: ASCII
//! space, tab and line breaks, NBSP, the `U+2000` spaces, ideographic space, ...) and
//! invisible characters (zero-width space `U+200B`, word joiner `U+2060`, BOM `U+FEFF`,
//! soft hyphen `U+00AD`). A gap holding any whitespace becomes a single `'\n'` if it holds a
//! line break (`\n \r \x0B \x0C U+0085 U+2028 U+2029`) and a single `' '` otherwise, mapped
//! to the whole gap; a gap at the start or end of the text is removed (the offset map still
//! covers it, so nothing is lost). A gap of only invisible characters is deleted, except
//! where deleting it would let the next character compose or reorder with the previous one
//! (it is kept then, which keeps a chain that normalizes to NFKC idempotent). Zero-width
//! joiner and non-joiner are not touched (emoji and Indic scripts need them).
//!
//! **Punctuation.** One form per meaning:
//!
//! | to    | from |
//! |-------|------|
//! | `-`   | `‐ ‑ ‒ – — ― − ⁃ ⸺ ⸻ ﹘ ﹣ －` (hyphens, dashes, minus sign) |
//! | `~`   | `〜 ～ ⁓ ∼` (wave dash, tilde operator: ranges like `2∼3cm`) |
//! | `"`   | `“ ” „ ‟ « » 〝 〞 〟 「 」 『 』 ﹁ ﹂ ﹃ ﹄ ＂` |
//! | `'`   | `‘ ’ ‚ ‛ ‹ › ＇` |
//! | `·`   | `・ ･ ‧ ∙ ⋅ ⸱ ·` (U+0387) (middle dots, as in transliterated names) |
//! | `[` `]` | `【 〖` / `】 〗` |
//! | `(` `)` | `〔` / `〕` |
//! | `。` `、` | `｡` / `､` (half-width forms) |
//! | `...` | `…` `⋯` (as NFKC does for `…`) |
//! | `..`  | `‥` |
//! | ASCII | full-width ASCII punctuation `！＂＃ ... ～` (as [`super::Width`] does) |
//!
//! Kept as they are: `×` (meaningful in sizes, `3.2cm×2.8cm`), `。` and `、` (sentence and
//! enumeration marks with no ASCII equivalent; `.` would be ambiguous with decimal points),
//! primes `′ ″` (units), bullets `•`, and every letter, digit and symbol not listed.

use super::nfkc::is_stable_starter;
use super::{Normalized, Normalizer};

/// Whitespace runs -> one space or newline (trimmed at both ends); punctuation variants
/// unified (see the module table).
#[derive(Debug, Clone, Copy, Default)]
pub struct Punct;

/// The unified form of punctuation character `c`, if it has one.
pub(crate) fn unify(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' | '\u{2043}' | '\u{2E3A}' | '\u{2E3B}' | '\u{FE58}' | '\u{FE63}'
        | '\u{FF0D}' => "-",
        '\u{301C}' | '\u{FF5E}' | '\u{2053}' | '\u{223C}' => "~",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}'
        | '\u{301D}' | '\u{301E}' | '\u{301F}' | '\u{300C}' | '\u{300D}' | '\u{300E}'
        | '\u{300F}' | '\u{FE41}' | '\u{FE42}' | '\u{FE43}' | '\u{FE44}' | '\u{FF02}' => "\"",
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2039}' | '\u{203A}'
        | '\u{FF07}' => "'",
        '\u{30FB}' | '\u{FF65}' | '\u{2027}' | '\u{2219}' | '\u{22C5}' | '\u{2E31}'
        | '\u{0387}' => "\u{B7}",
        '\u{3010}' | '\u{3016}' => "[",
        '\u{3011}' | '\u{3017}' => "]",
        '\u{3014}' => "(",
        '\u{3015}' => ")",
        '\u{FF61}' => "\u{3002}",
        '\u{FF64}' => "\u{3001}",
        '\u{2026}' | '\u{22EF}' => "...",
        '\u{2025}' => "..",
        // Remaining full-width ASCII punctuation (not letters or digits).
        '\u{FF01}'..='\u{FF0F}'
        | '\u{FF1A}'..='\u{FF20}'
        | '\u{FF3B}'..='\u{FF40}'
        | '\u{FF5B}'..='\u{FF5D}' => return ascii_str(c as u32 - 0xFEE0),
        _ => return None,
    })
}

/// The one-character ASCII string for code point `u` (printable ASCII only).
fn ascii_str(u: u32) -> Option<&'static str> {
    const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
    let i = (u as usize).checked_sub(0x20)?;
    PRINTABLE.get(i..i + 1)
}

/// Invisible characters removed from the text.
#[inline]
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

#[inline]
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

#[inline]
fn in_gap(c: char) -> bool {
    c.is_whitespace() || is_invisible(c)
}

/// True if [`Punct`] would change `text`: a character to unify, an invisible character, a
/// whitespace character other than a lone space or newline, or whitespace at either end.
fn needs_change(text: &str) -> bool {
    let mut prev_gap = true; // a gap at the very start is trimmed
    for c in text.chars() {
        if c == ' ' || c == '\n' {
            if prev_gap {
                return true;
            }
            prev_gap = true;
        } else if plain(c) {
            prev_gap = false;
        } else if in_gap(c) || unify(c).is_some() {
            return true;
        } else {
            prev_gap = false;
        }
    }
    prev_gap && !text.is_empty()
}

/// Characters that are neither whitespace, invisible nor unified, known without lookups:
/// printable ASCII other than space, and CJK ideographs and `、。`.
#[inline]
fn plain(c: char) -> bool {
    matches!(c as u32, 0x21..=0x7E | 0x3001..=0x3002 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

impl Normalizer for Punct {
    fn name(&self) -> &'static str {
        "punct"
    }

    fn applies_to(&self, text: &str) -> bool {
        needs_change(text)
    }

    fn apply(&self, text: &str) -> Normalized {
        if !needs_change(text) {
            return Normalized::Unchanged;
        }
        let mut out = String::with_capacity(text.len());
        // (char start, char len, out byte start, out byte end) of every change.
        let mut edits: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut aligned = true;
        let mut copied = 0usize; // bytes of `text` already accounted for in `out`
        let mut ci = 0usize; // char index of the current character
        let mut it = text.char_indices().peekable();
        while let Some((b, c)) = it.next() {
            if plain(c) {
                ci += 1;
                continue;
            }
            if in_gap(c) {
                let (start, start_b) = (ci, b);
                let (mut has_space, mut has_break) = (c.is_whitespace(), is_line_break(c));
                let mut end_b = b + c.len_utf8();
                let mut len = 1;
                while let Some(&(b2, c2)) = it.peek() {
                    if !in_gap(c2) {
                        break;
                    }
                    has_space |= c2.is_whitespace();
                    has_break |= is_line_break(c2);
                    end_b = b2 + c2.len_utf8();
                    len += 1;
                    it.next();
                }
                ci += len;
                let next = it.peek().map(|&(_, c)| c);
                let rep = if has_space {
                    if start == 0 || next.is_none() {
                        ""
                    } else if has_break {
                        "\n"
                    } else {
                        " "
                    }
                } else {
                    // Invisible characters only: delete them, unless the next character
                    // could then compose or reorder with the previous one.
                    let keep = start > 0
                        && next.is_some_and(|next| {
                            let out = unify(next).and_then(|r| r.chars().next()).unwrap_or(next);
                            !is_stable_starter(out)
                        });
                    if keep {
                        continue;
                    }
                    ""
                };
                if len == 1 && rep.len() == 1 && rep.starts_with(c) {
                    continue; // a lone space or newline inside the text
                }
                out.push_str(&text[copied..start_b]);
                let ob = out.len();
                out.push_str(rep);
                if !(len == 1 && rep.len() == 1) {
                    aligned = false;
                }
                edits.push((start, len, ob, out.len()));
                copied = end_b;
                continue;
            }
            if let Some(rep) = unify(c) {
                out.push_str(&text[copied..b]);
                let ob = out.len();
                out.push_str(rep);
                if rep.chars().count() != 1 {
                    aligned = false;
                }
                edits.push((ci, 1, ob, out.len()));
                copied = b + c.len_utf8();
            }
            ci += 1;
        }
        out.push_str(&text[copied..]);
        if edits.is_empty() {
            return Normalized::Unchanged;
        }
        if aligned {
            return Normalized::Aligned(out);
        }
        let edits: Vec<(usize, usize, &str)> = edits
            .iter()
            .filter_map(|&(s, l, b, e)| out.get(b..e).map(|r| (s, l, r)))
            .collect();
        Normalized::Remapped(super::remap(text, &edits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::{NormalizedText, Span};

    fn punct(s: &str) -> NormalizedText {
        Punct.normalize(&NormalizedText::identity(s))
    }

    #[test]
    fn collapses_and_trims_whitespace() {
        assert_eq!(punct("  a \t b\u{A0}\u{2003}c  ").text, "a b c");
        assert_eq!(punct("a \r\n\n b").text, "a\nb");
        assert_eq!(punct("\n\n").text, "");
        assert_eq!(Punct.apply("a b\nc"), Normalized::Unchanged);
    }

    #[test]
    fn gaps_map_to_their_whole_run() {
        let n = punct(" 肝  脾 ");
        assert_eq!(n.text, "肝 脾");
        assert_eq!(n.to_original(Span::new(0, 1)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(1, 2)), Span::new(2, 4));
        assert_eq!(n.to_original(Span::new(2, 3)), Span::new(4, 5));
        assert_eq!(n.map.original_len(), 6);
    }

    #[test]
    fn unifies_punctuation_variants() {
        assert_eq!(
            punct("“肝”‘a’「b」—–−〜∼・‧【检查】〔注〕").text,
            "\"肝\"'a'\"b\"---~~··[检查](注)"
        );
        assert_eq!(punct("，：；！？（）").text, ",:;!?()");
        assert_eq!(punct("3.2cm×2.8cm。、").text, "3.2cm×2.8cm。、");
        assert_eq!(punct("｡､").text, "。、");
    }

    #[test]
    fn ellipsis_expands_with_offsets() {
        let n = punct("见…好");
        assert_eq!(n.text, "见...好");
        assert_eq!(n.to_original(Span::new(1, 4)), Span::new(1, 2));
        assert_eq!(n.to_original(Span::new(4, 5)), Span::new(2, 3));
    }

    #[test]
    fn invisible_characters_are_deleted_unless_they_block_composition() {
        let n = punct("肝\u{200B}脏\u{FEFF}");
        assert_eq!(n.text, "肝脏");
        assert_eq!(n.to_original(Span::new(1, 2)), Span::new(2, 3));
        assert_eq!(punct("hy\u{AD}phen").text, "hyphen");
        // e + ZWSP + combining acute: deleting would make "é" under NFKC.
        assert_eq!(punct("e\u{200B}\u{301}").text, "e\u{200B}\u{301}");
        // Invisible inside a whitespace gap is part of the gap.
        assert_eq!(punct("a \u{200B} b").text, "a b");
    }

    #[test]
    fn single_replacements_are_aligned() {
        assert_eq!(Punct.apply("a—b"), Normalized::Aligned("a-b".into()));
        assert_eq!(Punct.apply("a\tb"), Normalized::Aligned("a b".into()));
        assert!(!Punct.applies_to("肝脏CT"));
    }

    #[test]
    fn gate_agrees_with_apply() {
        for s in [
            "",
            " ",
            "a",
            "a b",
            "a  b",
            " a",
            "a ",
            "a\nb",
            "a\n b",
            "a\tb",
            "a—b",
            "\u{200B}",
            "a\u{200B}b",
            "肝，脾",
        ] {
            assert_eq!(Punct.applies_to(s), Punct.apply(s).is_changed(), "{s:?}");
        }
    }

    #[test]
    fn plain_characters_are_never_touched() {
        for u in 0..0x11000u32 {
            let Some(c) = char::from_u32(u) else { continue };
            if plain(c) {
                assert!(!in_gap(c) && unify(c).is_none(), "{c:?}");
            }
        }
    }

    #[test]
    fn is_idempotent() {
        for s in [
            "  a \u{200B} \u{2014} “b”  ",
            "e\u{200B}\u{200B}\u{301}",
            "…⋯‥",
            "\u{200B}\u{301}",
            "a\u{FEFF}，",
        ] {
            let once = punct(s).text;
            assert_eq!(punct(&once).text, once, "{s:?}");
        }
    }
}
