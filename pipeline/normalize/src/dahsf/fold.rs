//! One-to-one character folding used for matching, so that character offsets never move.

/// Width fold: full-width ASCII forms (`Ａ`, `３`, `，`, `（`) become ASCII, the ideographic
/// space and other space characters become `' '`. Every character maps to exactly one
/// character.
#[inline]
pub fn width_fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => ' ',
        _ => c,
    }
}

/// Match fold: [`width_fold`] then ASCII lower case. Lexicon surfaces and pattern literals
/// are compared in this form.
#[inline]
pub fn match_fold(c: char) -> char {
    width_fold(c).to_ascii_lowercase()
}

/// [`match_fold`] over a string.
pub fn match_fold_str(s: &str) -> String {
    s.chars().map(match_fold).collect()
}

/// True for characters that separate words (`char::is_whitespace` after width folding).
#[inline]
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// True for punctuation: ASCII punctuation and the common CJK and general punctuation
/// blocks. Each punctuation character becomes its own `PUNCT` word.
#[inline]
pub fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{00A1}'..='\u{00BF}'
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{205E}'
                | '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{3014}'..='\u{301F}'
                | '\u{FE10}'..='\u{FE6F}'
                | '\u{FF01}'..='\u{FF0F}'
                | '\u{FF1A}'..='\u{FF20}'
                | '\u{FF3B}'..='\u{FF40}'
                | '\u{FF5B}'..='\u{FF65}'
        )
}

/// True for ASCII letters and digits (the characters whose runs form words in Latin script).
#[inline]
pub fn is_ascii_word(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Joins two canonical forms the way normalized text is assembled: with one space when both
/// touching characters are ASCII letters or digits, directly otherwise.
pub fn join_words(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len() + 1);
    s.push_str(a);
    if needs_space(a.chars().next_back(), b.chars().next()) {
        s.push(' ');
    }
    s.push_str(b);
    s
}

/// True when two words whose touching characters are `a` and `b` need a space between them.
#[inline]
pub fn needs_space(a: Option<char>, b: Option<char>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if is_ascii_word(x) && is_ascii_word(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_and_case() {
        assert_eq!(match_fold_str("ＣＴ　３.２ＣＭ，"), "ct 3.2cm,");
        assert_eq!(width_fold('肝'), '肝');
        assert!(is_punct('，') && is_punct('。') && is_punct('、') && !is_punct('肝'));
        assert_eq!(
            join_words("Senior", "Software Engineer"),
            "Senior Software Engineer"
        );
        assert_eq!(join_words("右", "肾"), "右肾");
    }
}
