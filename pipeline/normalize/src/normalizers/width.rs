//! Full-width ASCII to ASCII.
//!
//! `U+FF01..=U+FF5E` (`！` .. `～`, including full-width digits, Latin letters and the
//! Chinese-keyboard punctuation `，：；（）？`) become `U+0021..=U+007E`, and the ideographic
//! space `U+3000` becomes a plain space. Every change is one character for one, so the
//! offset map carries over unchanged. Half-width katakana and the full-width signs
//! `U+FFE0..` are left to [`super::Nfkc`].

use super::{Normalized, Normalizer};

/// Full-width ASCII -> ASCII, ideographic space -> space.
#[derive(Debug, Clone, Copy, Default)]
pub struct Width;

/// The narrow form of `c`, if `c` is a full-width form this normalizer folds (the
/// definition the byte scan in [`Width::apply`] is tested against).
#[cfg(test)]
fn narrow(c: char) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        '\u{3000}' => Some(' '),
        _ => None,
    }
}

/// True if `text` holds a character that [`narrow`] changes. Full-width forms start with
/// the UTF-8 lead bytes `EF BC`/`EF BD` and the ideographic space is `E3 80 80`.
fn has_wide(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        match b[i] {
            0xEF if (b[i + 1] == 0xBC && b[i + 2] >= 0x81)
                || (b[i + 1] == 0xBD && b[i + 2] <= 0x9E) =>
            {
                return true
            }
            0xE3 if b[i + 1] == 0x80 && b[i + 2] == 0x80 => return true,
            _ => i += 1,
        }
    }
    false
}

impl Normalizer for Width {
    fn name(&self) -> &'static str {
        "width"
    }

    fn applies_to(&self, text: &str) -> bool {
        has_wide(text)
    }

    fn apply(&self, text: &str) -> Normalized {
        let mut out = String::new();
        let mut copied = 0usize; // bytes of `text` already in `out`
        let b = text.as_bytes();
        let mut i = 0;
        // Full-width forms are EF BC 81..EF BD 9E, the ideographic space E3 80 80; those lead
        // bytes never occur inside another character, so a byte scan finds them.
        while i + 2 < b.len() {
            let lead = b[i];
            if lead != 0xEF && lead != 0xE3 {
                i += 1;
                continue;
            }
            let narrowed = match (lead, b[i + 1], b[i + 2]) {
                (0xEF, 0xBC, t @ 0x81..=0xBF) => Some((t - 0x60) as char),
                (0xEF, 0xBD, t @ 0x80..=0x9E) => Some((t - 0x20) as char),
                (0xE3, 0x80, 0x80) => Some(' '),
                _ => None,
            };
            match narrowed {
                Some(n) => {
                    if out.is_empty() {
                        out.reserve(text.len());
                    }
                    out.push_str(&text[copied..i]);
                    out.push(n);
                    i += 3;
                    copied = i;
                }
                None => i += 1,
            }
        }
        if copied == 0 {
            return Normalized::Unchanged;
        }
        out.push_str(&text[copied..]);
        Normalized::Aligned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::{NormalizedText, Span};

    fn run(s: &str) -> String {
        Width.apply(s).text(s).to_string()
    }

    #[test]
    fn folds_full_width_ascii_and_ideographic_space() {
        assert_eq!(run("ＣＴ值２５ＨＵ，（ａ）"), "CT值25HU,(a)");
        assert_eq!(run("肝\u{3000}脾"), "肝 脾");
        assert_eq!(run("！～"), "!~");
    }

    #[test]
    fn leaves_everything_else_alone() {
        assert_eq!(Width.apply("肝脏。CT ｶﾀ ￥"), Normalized::Unchanged);
        assert!(!Width.applies_to("肝脏。CT ｶﾀ ￥ \u{FF00}\u{FF5F}"));
        assert!(Width.applies_to("a！"));
        assert!(Width.applies_to("a\u{3000}"));
        assert!(Width.applies_to("\u{FF5E}"));
    }

    #[test]
    fn gate_agrees_with_apply() {
        for c in [
            '\u{FF00}', '\u{FF01}', '\u{FF5E}', '\u{FF5F}', '\u{3000}', '\u{3001}',
        ] {
            let s = format!("x{c}y");
            assert_eq!(Width.applies_to(&s), Width.apply(&s).is_changed(), "{c:?}");
        }
    }

    #[test]
    fn keeps_offsets_one_for_one() {
        let n = Width.normalize(&NormalizedText::identity("右肾ＣＴ值"));
        assert_eq!(n.text, "右肾CT值");
        assert_eq!(n.to_original(Span::new(2, 4)), Span::new(2, 4));
    }

    #[test]
    fn byte_scan_agrees_with_narrow() {
        for u in 0xFE00..=0xFFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            let s = format!("a{c}b\u{3000}");
            let expected: String = s.chars().map(|c| narrow(c).unwrap_or(c)).collect();
            assert_eq!(run(&s), expected, "{c:?}");
        }
    }

    #[test]
    fn is_idempotent() {
        let once = run("ＡＢＣ\u{3000}１２３");
        assert_eq!(run(&once), once);
    }
}
