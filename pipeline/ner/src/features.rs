//! Model inputs, exactly as `models/recipes/ner/features.py` computes them (FORMAT.md):
//! the character fold, character ids, SoftLexicon ids and weights, and padded batches.

use crate::error::NerError;
use crate::lexicon::{Lexicon, WordMatch, NONE_ID, PAD_ID};
use ndarray::{Array1, Array2, Array4};
use rustc_hash::FxHashMap;
use std::path::Path;

/// Char id of padding.
pub const PAD_CHAR: i64 = 0;
/// Char id of a character outside the vocabulary.
pub const UNK_CHAR: i64 = 1;

/// The one-to-one character fold of FORMAT.md: full-width ASCII (U+FF01..=U+FF5E) to ASCII,
/// the ideographic space to a space, then ASCII upper case to lower case. Nothing else, so
/// character offsets never move.
#[inline]
pub fn fold_char(c: char) -> char {
    let o = c as u32;
    let c = match o {
        0xFF01..=0xFF5E => char::from_u32(o - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// [`fold_char`] over a string (same number of characters).
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// The character vocabulary (`vocab.json`): character -> id.
#[derive(Debug, Clone)]
pub struct CharVocab {
    ids: FxHashMap<char, i64>,
    len: usize,
}

impl CharVocab {
    /// Reads `vocab.json` (`{"chars": ["<pad>", "<unk>", c2, ...]}`).
    pub fn load(path: &Path) -> Result<Self, NerError> {
        #[derive(serde::Deserialize)]
        struct V {
            chars: Vec<String>,
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| NerError::bad(path, format!("cannot read: {e}")))?;
        let v: V = serde_json::from_str(&text)
            .map_err(|e| NerError::bad(path, format!("expected {{\"chars\": [...]}}: {e}")))?;
        if v.chars.len() < 2 {
            return Err(NerError::bad(path, "fewer than two entries (<pad>, <unk>)"));
        }
        Ok(Self::from_chars(&v.chars))
    }

    /// A vocabulary from its entries in id order. Entries that are not exactly one character
    /// (`<pad>`, `<unk>`) are never matched; for a repeated character the last id wins (as
    /// the Python reference's dict does).
    pub fn from_chars<S: AsRef<str>>(chars: &[S]) -> Self {
        let mut ids = FxHashMap::default();
        ids.reserve(chars.len());
        for (i, s) in chars.iter().enumerate() {
            let mut it = s.as_ref().chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                ids.insert(c, i as i64);
            }
        }
        CharVocab {
            ids,
            len: chars.len(),
        }
    }

    /// Number of entries (ids `0..len`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The id of an (already folded) character, [`UNK_CHAR`] when absent.
    #[inline]
    pub fn id(&self, c: char) -> i64 {
        self.ids.get(&c).copied().unwrap_or(UNK_CHAR)
    }
}

/// One word of one set of one position, ordered as FORMAT.md sorts a set: (position, set,
/// -freq, -length, start, id).
type SetEntry = (
    u32,
    u8,
    std::cmp::Reverse<u64>,
    std::cmp::Reverse<u32>,
    u32,
    i64,
);

/// The inputs of one sentence, row-major: `lex_ids` and `lex_weights` are `[len, 4, L]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceFeatures {
    /// Characters.
    pub len: usize,
    /// Char id per position.
    pub char_ids: Vec<i64>,
    /// Word ids of the B, M, E, S sets of each position.
    pub lex_ids: Vec<i64>,
    /// Their weights.
    pub lex_weights: Vec<f32>,
}

/// Computes [`SentenceFeatures`] from text.
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    /// The character vocabulary.
    pub vocab: CharVocab,
    /// The lexicon.
    pub lexicon: Lexicon,
    /// `L`: words kept per set.
    pub max_words: usize,
}

impl FeatureExtractor {
    /// An extractor over a vocabulary and a lexicon keeping `max_words` (>= 1) per set.
    pub fn new(vocab: CharVocab, lexicon: Lexicon, max_words: usize) -> Self {
        FeatureExtractor {
            vocab,
            lexicon,
            max_words: max_words.max(1),
        }
    }

    /// The features of one (unfolded) text.
    pub fn sentence(&self, text: &str) -> SentenceFeatures {
        let folded = fold(text);
        let char_ids: Vec<i64> = folded.chars().map(|c| self.vocab.id(c)).collect();
        let n = char_ids.len();
        let mut matches = Vec::new();
        self.lexicon.matches(&folded, &mut matches);
        let (lex_ids, lex_weights) = self.soft_lexicon(n, &matches);
        SentenceFeatures {
            len: n,
            char_ids,
            lex_ids,
            lex_weights,
        }
    }

    /// SoftLexicon ids and weights (`[n, 4, L]`) from the word occurrences of a text of `n`
    /// characters.
    pub fn soft_lexicon(&self, n: usize, matches: &[WordMatch]) -> (Vec<i64>, Vec<f32>) {
        let l = self.max_words;
        let mut ids = vec![PAD_ID; n * 4 * l];
        let mut weights = vec![0f32; n * 4 * l];
        // (position, set, -freq, -length, start, id): sorted, each (position, set) group is
        // in FORMAT.md's order.
        let mut entries: Vec<SetEntry> =
            Vec::with_capacity(matches.iter().map(|m| m.end - m.start).sum());
        for m in matches {
            if m.end > n || m.start >= m.end {
                continue;
            }
            let f = std::cmp::Reverse(self.lexicon.freq(m.id));
            let len = std::cmp::Reverse((m.end - m.start) as u32);
            let (i, j) = (m.start as u32, m.end as u32);
            if j - i == 1 {
                entries.push((i, 3, f, len, i, m.id));
                continue;
            }
            for k in i..j {
                let set = if k == i {
                    0
                } else if k == j - 1 {
                    2
                } else {
                    1
                };
                entries.push((k, set, f, len, i, m.id));
            }
        }
        entries.sort_unstable();
        let mut e = 0usize;
        let mut kept: [Vec<i64>; 4] = Default::default();
        for k in 0..n {
            for s in kept.iter_mut() {
                s.clear();
            }
            while e < entries.len() && entries[e].0 as usize == k {
                let (_, set, _, _, _, id) = entries[e];
                let chosen = &mut kept[set as usize];
                if chosen.len() < l && !chosen.contains(&id) {
                    chosen.push(id);
                }
                e += 1;
            }
            let z: u64 = kept.iter().flatten().map(|&id| self.lexicon.freq(id)).sum();
            for (s, chosen) in kept.iter().enumerate() {
                let base = (k * 4 + s) * l;
                if chosen.is_empty() {
                    ids[base] = NONE_ID;
                    weights[base] = 1.0;
                    continue;
                }
                for (slot, &id) in chosen.iter().enumerate() {
                    ids[base + slot] = id;
                    weights[base + slot] = (4.0f32 * self.lexicon.freq(id) as f32) / (z as f32);
                }
            }
        }
        (ids, weights)
    }
}

/// The four ONNX inputs of a padded batch. `T` is the longest sentence of the batch;
/// positions past a sentence's length hold char id 0, lex id 0 and weight 0.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchTensors {
    /// `[B, T]`.
    pub char_ids: Array2<i64>,
    /// `[B, T, 4, L]`.
    pub lex_ids: Array4<i64>,
    /// `[B, T, 4, L]`.
    pub lex_weights: Array4<f32>,
    /// `[B]`.
    pub lengths: Array1<i64>,
}

impl BatchTensors {
    /// Pads sentences (each at least one character long) into one batch.
    pub fn build(rows: &[&SentenceFeatures], max_words: usize) -> Self {
        let b = rows.len();
        let t = rows.iter().map(|r| r.len).max().unwrap_or(0).max(1);
        let l = max_words.max(1);
        let mut char_ids = Array2::<i64>::from_elem((b, t), PAD_CHAR);
        let mut lex_ids = Array4::<i64>::from_elem((b, t, 4, l), PAD_ID);
        let mut lex_weights = Array4::<f32>::zeros((b, t, 4, l));
        let mut lengths = Array1::<i64>::zeros(b);
        {
            let ci = char_ids.as_slice_mut().expect("standard layout");
            let li = lex_ids.as_slice_mut().expect("standard layout");
            let lw = lex_weights.as_slice_mut().expect("standard layout");
            for (r, f) in rows.iter().enumerate() {
                let n = f.len.min(t);
                ci[r * t..r * t + n].copy_from_slice(&f.char_ids[..n]);
                let per = 4 * l;
                li[r * t * per..(r * t + n) * per].copy_from_slice(&f.lex_ids[..n * per]);
                lw[r * t * per..(r * t + n) * per].copy_from_slice(&f.lex_weights[..n * per]);
                lengths[r] = n as i64;
            }
        }
        BatchTensors {
            char_ids,
            lex_ids,
            lex_weights,
            lengths,
        }
    }

    /// `(B, T)`.
    pub fn dims(&self) -> (usize, usize) {
        self.char_ids.dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_is_one_to_one() {
        assert_eq!(fold("ＣＴ：Ａｂ　X肝😀"), "ct:ab x肝😀");
        assert_eq!(fold_char('\u{FF5E}'), '~');
        assert_eq!(fold_char('\u{FF5F}'), '\u{FF5F}');
        assert_eq!(fold_char('É'), 'É');
    }

    #[test]
    fn batch_pads_with_zeros() {
        let lex = Lexicon::from_words(&[("肝", 2u64)]).unwrap();
        let fx = FeatureExtractor::new(CharVocab::from_chars(&["<pad>", "<unk>", "肝"]), lex, 2);
        let a = fx.sentence("肝x");
        let b = fx.sentence("肝");
        let t = BatchTensors::build(&[&a, &b], 2);
        assert_eq!(t.dims(), (2, 2));
        assert_eq!(t.char_ids.as_slice().unwrap(), &[2, 1, 2, 0]);
        assert_eq!(t.lengths.to_vec(), vec![2, 1]);
        // row 1, position 1 is padding
        assert!(t
            .lex_ids
            .slice(ndarray::s![1, 1, .., ..])
            .iter()
            .all(|&x| x == 0));
        // "肝" alone: S set = [2] with weight 4 * 2 / 2, other sets NONE
        assert_eq!(
            t.lex_ids.slice(ndarray::s![1, 0, .., 0]).to_vec(),
            vec![1, 1, 1, 2]
        );
        assert_eq!(t.lex_weights[[1, 0, 3, 0]], 4.0);
    }
}
