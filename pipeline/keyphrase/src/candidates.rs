//! Candidate phrases: word n-grams inside a sentence, grouped by their normalized form.
//!
//! A candidate is 1..=`max_words` consecutive words of one sentence with only whitespace
//! between them, that neither starts nor ends with a stop word, and is not made of numbers
//! only. Its key is [`PhraseNormalizer::normalize`] of the text it covers (lowercase, Porter2
//! stems), the same form the evaluation matches gold phrases by, so "Phestivals" and
//! "phestival" are one candidate. Every occurrence is kept; the surface shown to users is the
//! most frequent spelling (the first on ties).

use crate::text::Analyzed;
use quarry_core::phrase::PhraseNormalizer;
use rustc_hash::FxHashMap;

/// One occurrence of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// Index of the first word in [`Analyzed::words`].
    pub first_word: usize,
    /// Number of words.
    pub words: usize,
    /// Character span in the analyzed text.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Sentence index.
    pub sentence: usize,
}

/// A candidate phrase of one document.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Normalized form (the grouping and matching key).
    pub key: String,
    /// The most frequent spelling.
    pub surface: String,
    /// Words in the phrase.
    pub words: usize,
    /// Normalized form of each word that is not a stop word (their unigram keys).
    pub word_keys: Vec<String>,
    /// Occurrences in text order.
    pub occurrences: Vec<Occurrence>,
}

/// Collects the candidates of `a` (its text is `text`), in order of first occurrence.
pub fn candidates(
    text_chars: &[char],
    a: &Analyzed,
    max_words: usize,
    normalizer: &PhraseNormalizer,
    keep_sentence: &dyn Fn(usize) -> bool,
) -> Vec<Candidate> {
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut out: Vec<Candidate> = Vec::new();
    let mut spellings: Vec<FxHashMap<String, (usize, usize)>> = Vec::new();
    let words = &a.words;
    for i in 0..words.len() {
        if words[i].stop || !keep_sentence(words[i].sentence) {
            continue;
        }
        let mut all_numeric = true;
        for n in 1..=max_words {
            let j = i + n - 1;
            if j >= words.len() || words[j].sentence != words[i].sentence {
                break;
            }
            if n > 1 && !words[j].joined_to_prev {
                break;
            }
            all_numeric &= words[j].numeric();
            if words[j].stop || all_numeric {
                continue;
            }
            let (start, end) = (words[i].start, words[j].end);
            let surface: String = text_chars[start..end].iter().collect();
            let key = normalizer.normalize(&surface);
            if key.is_empty() {
                continue;
            }
            let occ = Occurrence {
                first_word: i,
                words: n,
                start,
                end,
                sentence: words[i].sentence,
            };
            let next = out.len();
            let slot = *index.entry(key.clone()).or_insert(next);
            if slot == next {
                let word_keys = words[i..=j]
                    .iter()
                    .filter(|w| !w.stop)
                    .map(|w| normalizer.normalize(&w.text))
                    .filter(|k| !k.is_empty())
                    .collect();
                out.push(Candidate {
                    key,
                    surface: String::new(),
                    words: n,
                    word_keys,
                    occurrences: Vec::new(),
                });
                spellings.push(FxHashMap::default());
            }
            out[slot].occurrences.push(occ);
            let order = spellings[slot].len();
            spellings[slot].entry(surface).or_insert((0, order)).0 += 1;
        }
    }
    for (c, sp) in out.iter_mut().zip(spellings) {
        c.surface = sp
            .into_iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
            .map(|(s, _)| s)
            .unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::analyze;

    fn run(t: &str, max: usize) -> Vec<Candidate> {
        let chars: Vec<char> = t.chars().collect();
        candidates(&chars, &analyze(t), max, &PhraseNormalizer::new(), &|_| {
            true
        })
    }

    #[test]
    fn ngrams_grouped_by_stem() {
        let c = run(
            "The new festivals open. A festival of the lakes, in 2011.",
            3,
        );
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        // no candidate starts or ends with a stop word or is a bare number; punctuation breaks
        assert_eq!(
            keys,
            [
                "new",
                "new festiv",
                "new festiv open",
                "festiv",
                "festiv open",
                "open",
                "lake"
            ]
        );
        let fest = c.iter().find(|c| c.key == "festiv").unwrap();
        assert_eq!(fest.occurrences.len(), 2);
        assert!(!keys.contains(&"2011"));
        assert!(!keys
            .iter()
            .any(|k| k.starts_with("the ") || k.ends_with(" of")));
    }

    #[test]
    fn surface_is_most_frequent_spelling() {
        let c = run("Obama spoke. OBAMA left. Obama returned.", 1);
        assert_eq!(
            c.iter().find(|c| c.key == "obama").unwrap().surface,
            "Obama"
        );
    }

    #[test]
    fn sentence_filter_drops_occurrences() {
        let t = "Alpha beta. Gamma alpha.";
        let chars: Vec<char> = t.chars().collect();
        let c = candidates(&chars, &analyze(t), 2, &PhraseNormalizer::new(), &|s| {
            s == 0
        });
        assert!(c
            .iter()
            .all(|c| c.occurrences.iter().all(|o| o.sentence == 0)));
        assert!(c.iter().any(|c| c.key == "alpha beta"));
        assert!(!c.iter().any(|c| c.key == "gamma"));
    }
}
