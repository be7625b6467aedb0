//! Phrase normalization for key-phrase matching and grouping: lowercase, strip the
//! non-alphanumeric characters at both ends, collapse whitespace, stem each word with the
//! Snowball English (Porter2) stemmer. The key-phrase extractor groups its candidates by this
//! form and the evaluation matches predictions to gold by it, so both use this one definition.

use rust_stemmers::{Algorithm, Stemmer};

/// Normalizes phrases for matching: lowercase, trim surrounding punctuation, collapse
/// whitespace, stem each word (Snowball English).
pub struct PhraseNormalizer {
    stemmer: Stemmer,
}

impl std::fmt::Debug for PhraseNormalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhraseNormalizer(english)")
    }
}

impl Default for PhraseNormalizer {
    fn default() -> Self {
        PhraseNormalizer::new()
    }
}

impl PhraseNormalizer {
    /// A normalizer with the Snowball English stemmer.
    pub fn new() -> Self {
        PhraseNormalizer {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }

    /// The normalized form of `phrase` (empty when nothing alphanumeric is left).
    pub fn normalize(&self, phrase: &str) -> String {
        let lower = phrase.to_lowercase();
        let trimmed = lower.trim_matches(|c: char| !c.is_alphanumeric());
        let mut out = String::with_capacity(trimmed.len());
        for word in trimmed.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&self.stemmer.stem(word));
        }
        out
    }
}

/// Normalizes one phrase with a fresh [`PhraseNormalizer`].
pub fn normalize_phrase(phrase: &str) -> String {
    PhraseNormalizer::new().normalize(phrase)
}

impl PhraseNormalizer {
    /// The stem of one lowercase word.
    pub fn stem<'a>(&self, lower_word: &'a str) -> std::borrow::Cow<'a, str> {
        self.stemmer.stem(lower_word)
    }
}
