//! Splitting long texts into chunks the model accepts.
//!
//! A text of more than `max_chars` characters is cut into consecutive chunks of at most
//! `max_chars` characters. Each chunk is as long as possible and ends, in order of
//! preference, right after a sentence end (`。！？；!?;` or a line break), right after a
//! comma (`，,`), or at the hard limit. Chunks cover the text exactly, so entities found in
//! a chunk map back by adding the chunk's start.

/// Characters that end a sentence.
pub fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n' | '\r')
}

/// Characters that end a clause.
pub fn is_clause_end(c: char) -> bool {
    matches!(c, '，' | ',')
}

/// Half-open character ranges covering `chars`, each at most `max_chars` (>= 1) long.
/// An empty text gives no chunk.
pub fn chunks(chars: &[char], max_chars: usize) -> Vec<(usize, usize)> {
    let max = max_chars.max(1);
    let n = chars.len();
    let mut out = Vec::with_capacity(n / max + 1);
    let mut s = 0usize;
    while s < n {
        if n - s <= max {
            out.push((s, n));
            break;
        }
        let window = &chars[s..s + max];
        let cut = window
            .iter()
            .rposition(|&c| is_sentence_end(c))
            .or_else(|| window.iter().rposition(|&c| is_clause_end(c)))
            .map_or(max, |p| p + 1);
        out.push((s, s + cut));
        s += cut;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cut(s: &str, max: usize) -> Vec<String> {
        let cs: Vec<char> = s.chars().collect();
        chunks(&cs, max)
            .into_iter()
            .map(|(a, b)| cs[a..b].iter().collect())
            .collect()
    }

    #[test]
    fn prefers_sentence_ends_then_commas_then_hard_cuts() {
        assert_eq!(cut("肝大。脾大。肾小", 5), vec!["肝大。", "脾大。肾小"]);
        assert_eq!(
            cut("肝大，脾大，肾小。", 5),
            vec!["肝大，", "脾大，", "肾小。"]
        );
        assert_eq!(cut("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(cut("a\nbcdef", 4), vec!["a\n", "bcde", "f"]);
        assert_eq!(cut("短", 512), vec!["短"]);
        assert!(cut("", 5).is_empty());
        assert_eq!(cut("ab", 0), vec!["a", "b"]);
    }

    proptest! {
        #[test]
        fn chunks_cover_the_text_within_the_limit(s in "[a。，\n😀肝]{0,60}", max in 1usize..12) {
            let cs: Vec<char> = s.chars().collect();
            let c = chunks(&cs, max);
            let mut pos = 0;
            for &(a, b) in &c {
                prop_assert_eq!(a, pos);
                prop_assert!(b > a && b - a <= max);
                pos = b;
            }
            prop_assert_eq!(pos, cs.len());
        }
    }
}
