//! Dictionary matching that reports **every** occurrence of every pattern, overlapping ones
//! included, with **character** offsets.
//!
//! [`OverlapMatcher`] wraps an Aho-Corasick automaton built with `MatchKind::Standard` (the
//! only kind that supports overlapping search) and converts the automaton's byte offsets to
//! character offsets. It is the shared machinery for lexicon features (the NER crate's
//! SoftLexicon sets need all words covering each character) and any other "which
//! dictionary words occur here, at all lengths" question; leftmost-longest tokenization
//! (the DAHSF and OpenCC scanners in quarry-normalize) uses its own automata.
//!
//! Build cost is linear in the total pattern length; the automaton is a contiguous NFA for
//! large dictionaries (compact and cache-friendly: about 100k Chinese words build in tens of
//! milliseconds), a DFA for small ones (chosen by `aho-corasick`).

use aho_corasick::{AhoCorasick, MatchKind};

/// One occurrence of a pattern: characters `start..end` of the searched text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CharMatch {
    /// First character, inclusive.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Index of the pattern in the order it was given to [`OverlapMatcher::new`].
    pub pattern: usize,
}

/// Why an [`OverlapMatcher`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the dictionary automaton: {0}")]
pub struct MatcherError(String);

/// Finds all (overlapping) occurrences of a fixed set of string patterns.
///
/// Empty patterns never match. Duplicate patterns each report their own match.
#[derive(Debug, Clone)]
pub struct OverlapMatcher {
    ac: Option<AhoCorasick>,
    /// Automaton pattern id -> caller's pattern index, when empty patterns were left out.
    ids: Option<Vec<u32>>,
    patterns: usize,
}

impl OverlapMatcher {
    /// Builds a matcher over `patterns` (matched byte for byte: fold them and the texts the
    /// same way before, if matching should ignore case or width).
    pub fn new<I, P>(patterns: I) -> Result<Self, MatcherError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let mut kept: Vec<P> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut total = 0usize;
        let mut skipped = false;
        for (i, p) in patterns.into_iter().enumerate() {
            total = i + 1;
            if p.as_ref().is_empty() {
                skipped = true;
                continue;
            }
            let id = u32::try_from(i).map_err(|_| MatcherError("too many patterns".into()))?;
            ids.push(id);
            kept.push(p);
        }
        let ac = if kept.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(kept.iter().map(|p| p.as_ref().as_bytes()))
                    .map_err(|e| MatcherError(e.to_string()))?,
            )
        };
        Ok(OverlapMatcher {
            ac,
            ids: skipped.then_some(ids),
            patterns: total,
        })
    }

    /// Number of patterns given (empty ones included).
    pub fn len(&self) -> usize {
        self.patterns
    }

    /// True when no pattern was given.
    pub fn is_empty(&self) -> bool {
        self.patterns == 0
    }

    /// Heap memory used by the automaton, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.ac.as_ref().map_or(0, AhoCorasick::memory_usage)
    }

    /// Calls `f` for every occurrence of every pattern in `text`, in order of their end
    /// offset (then by pattern, as the automaton reports them).
    pub fn for_each(&self, text: &str, mut f: impl FnMut(CharMatch)) {
        let Some(ac) = &self.ac else { return };
        if text.is_empty() {
            return;
        }
        // byte offset -> character index, defined at character boundaries (+ the end)
        let mut char_at = vec![0u32; text.len() + 1];
        let mut n = 0u32;
        for (b, _) in text.char_indices() {
            char_at[b] = n;
            n += 1;
        }
        char_at[text.len()] = n;
        for m in ac.find_overlapping_iter(text) {
            let pattern = m.pattern().as_usize();
            let pattern = match &self.ids {
                Some(ids) => ids[pattern] as usize,
                None => pattern,
            };
            f(CharMatch {
                start: char_at[m.start()] as usize,
                end: char_at[m.end()] as usize,
                pattern,
            });
        }
    }

    /// Every occurrence of every pattern in `text` (see [`OverlapMatcher::for_each`]).
    pub fn find_all(&self, text: &str) -> Vec<CharMatch> {
        let mut out = Vec::new();
        self.for_each(text, |m| out.push(m));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every occurrence by brute force over character positions.
    fn brute(patterns: &[&str], text: &str) -> Vec<CharMatch> {
        let cs: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        for (pi, p) in patterns.iter().enumerate() {
            let pc: Vec<char> = p.chars().collect();
            if pc.is_empty() || pc.len() > cs.len() {
                continue;
            }
            for i in 0..=cs.len() - pc.len() {
                if cs[i..i + pc.len()] == pc[..] {
                    out.push(CharMatch {
                        start: i,
                        end: i + pc.len(),
                        pattern: pi,
                    });
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn overlapping_matches_with_char_offsets() {
        let pats = [
            "肝右叶",
            "右叶",
            "",
            "低密度",
            "密度",
            "低密度影",
            "cm",
            "叶",
        ];
        let m = OverlapMatcher::new(pats).unwrap();
        assert_eq!(m.len(), 8);
        let text = "肝右叶见低密度影，2.1cm";
        let mut got = m.find_all(text);
        got.sort();
        assert_eq!(got, brute(&pats, text));
        assert!(got.contains(&CharMatch {
            start: 12,
            end: 14,
            pattern: 6
        }));
        assert!(m.find_all("").is_empty());
        assert!(OverlapMatcher::new(Vec::<String>::new())
            .unwrap()
            .find_all("x")
            .is_empty());
    }

    proptest! {
        #[test]
        fn equals_brute_force(
            pats in proptest::collection::vec("[ab肝😀]{0,3}", 0..8),
            text in "[ab肝😀c]{0,20}",
        ) {
            let refs: Vec<&str> = pats.iter().map(String::as_str).collect();
            let m = OverlapMatcher::new(&refs).unwrap();
            let mut got = m.find_all(&text);
            got.sort();
            prop_assert_eq!(got, brute(&refs, &text));
        }
    }
}
