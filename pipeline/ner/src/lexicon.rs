//! The SoftLexicon word list (`lexicon.tsv`) and its matcher.
//!
//! One `word TAB freq` per line (UTF-8, no header); word id = 0-based line number + 2 (0 is
//! padding, 1 is NONE). Words are matched as written against *folded* text
//! ([`crate::features::fold`]), every occurrence of every word, overlapping ones included,
//! with [`quarry_core::matcher::OverlapMatcher`] (an Aho-Corasick automaton shared with the
//! other dictionary stages).

use crate::error::NerError;
use quarry_core::matcher::OverlapMatcher;
use rustc_hash::FxHashSet;
use std::path::Path;

/// Id of padding slots.
pub const PAD_ID: i64 = 0;
/// Id of the entry of an empty set.
pub const NONE_ID: i64 = 1;

/// One occurrence of a lexicon word: characters `start..end` of the folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WordMatch {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The word's id (line number + 2).
    pub id: i64,
}

/// A word list with frequencies and its automaton.
#[derive(Debug, Clone)]
pub struct Lexicon {
    freqs: Vec<u64>,
    matcher: OverlapMatcher,
}

impl Lexicon {
    /// Reads `lexicon.tsv`.
    pub fn load(path: &Path) -> Result<Self, NerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| NerError::bad(path, format!("cannot read: {e}")))?;
        Self::parse(&text, path)
    }

    /// Parses the text of a `lexicon.tsv`; `path` names it in errors. Every line must be
    /// `word TAB freq` with a non-empty word, an integer freq >= 1 and no word twice.
    pub fn parse(text: &str, path: &Path) -> Result<Self, NerError> {
        let approx = text.len() / 12 + 1;
        let mut words: Vec<&str> = Vec::with_capacity(approx);
        let mut freqs: Vec<u64> = Vec::with_capacity(approx);
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        seen.reserve(approx);
        for (i, line) in text.lines().enumerate() {
            let bad = |m: String| NerError::bad(path, format!("line {}: {m}", i + 1));
            let (word, freq) = line
                .split_once('\t')
                .ok_or_else(|| bad("expected `word TAB freq`".into()))?;
            if word.is_empty() {
                return Err(bad("empty word".into()));
            }
            let freq: u64 = freq
                .trim()
                .parse()
                .map_err(|_| bad(format!("freq {freq:?} is not an integer")))?;
            if freq == 0 {
                return Err(bad(format!("freq of {word:?} must be >= 1")));
            }
            if !seen.insert(word) {
                return Err(bad(format!("{word:?} appears twice")));
            }
            words.push(word);
            freqs.push(freq);
        }
        Self::build(&words, freqs).map_err(|m| NerError::bad(path, m))
    }

    /// A lexicon from `(word, freq)` pairs in id order (ids 2, 3, ...).
    pub fn from_words<S: AsRef<str>>(items: &[(S, u64)]) -> Result<Self, NerError> {
        let words: Vec<&str> = items.iter().map(|(w, _)| w.as_ref()).collect();
        let freqs = items.iter().map(|(_, f)| *f).collect();
        Self::build(&words, freqs).map_err(|m| NerError::bad("<lexicon>", m))
    }

    fn build(words: &[&str], freqs: Vec<u64>) -> Result<Self, String> {
        let matcher = OverlapMatcher::new(words).map_err(|e| e.to_string())?;
        Ok(Lexicon { freqs, matcher })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.freqs.len()
    }

    /// True when the lexicon has no word.
    pub fn is_empty(&self) -> bool {
        self.freqs.is_empty()
    }

    /// The frequency of word `id` (>= 2), or 0 for an unknown id.
    pub fn freq(&self, id: i64) -> u64 {
        usize::try_from(id - 2)
            .ok()
            .and_then(|i| self.freqs.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Heap memory of the automaton, in bytes.
    pub fn automaton_bytes(&self) -> usize {
        self.matcher.memory_usage()
    }

    /// Appends every occurrence of every word in `folded` to `out`.
    pub fn matches(&self, folded: &str, out: &mut Vec<WordMatch>) {
        self.matcher.for_each(folded, |m| {
            out.push(WordMatch {
                start: m.start,
                end: m.end,
                id: m.pattern as i64 + 2,
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_bad_lines() {
        let p = Path::new("lexicon.tsv");
        let l = Lexicon::parse("肝\t3\r\n右叶\t 7\n", p).unwrap();
        assert_eq!((l.len(), l.freq(2), l.freq(3), l.freq(4)), (2, 3, 7, 0));
        let mut m = Vec::new();
        l.matches("肝右叶", &mut m);
        m.sort();
        assert_eq!(
            m,
            vec![
                WordMatch {
                    start: 0,
                    end: 1,
                    id: 2
                },
                WordMatch {
                    start: 1,
                    end: 3,
                    id: 3
                }
            ]
        );
        for (bad, want) in [
            ("肝 3\n", "line 1"),
            ("肝\t3\n\t4\n", "line 2: empty word"),
            ("肝\tx\n", "not an integer"),
            ("肝\t0\n", ">= 1"),
            ("肝\t1\n肝\t2\n", "twice"),
        ] {
            let e = Lexicon::parse(bad, p).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("lexicon.tsv"), "{e}");
        }
        assert!(Lexicon::parse("", p).unwrap().is_empty());
    }
}
