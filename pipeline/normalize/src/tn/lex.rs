//! Small helpers shared by the scanners: safe character access and a first-character
//! indexed lexicon for "which entries start here" lookups.

use std::collections::HashMap;

/// Longest run of digits a scanner looks at from one position (keeps every scan linear
/// on pathological input such as thousands of digits in a row).
pub(crate) const MAX_RUN: usize = 32;

/// The character at `i`, or `'\0'` past the end (never panics).
#[inline]
pub(crate) fn ch(cs: &[char], i: usize) -> char {
    cs.get(i).copied().unwrap_or('\0')
}

/// Case folding for lexicon keys: ASCII and full-width letters to lowercase ASCII.
#[inline]
pub(crate) fn fold_char(c: char) -> char {
    match c {
        'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(c as u32 - 'Ａ' as u32 + 'A' as u32)
            .map_or(c, |a| a.to_ascii_lowercase()),
        _ => c.to_ascii_lowercase(),
    }
}

/// The entries of a lexicon that start with one character: key and payload.
type Bucket<V> = Vec<(Box<[char]>, V)>;

/// A lexicon of strings with payloads, looked up by position in a character slice.
#[derive(Debug)]
pub(crate) struct Lexicon<V> {
    map: HashMap<char, Bucket<V>>,
    /// Match ASCII letters case-insensitively (keys are stored lowercased).
    fold: bool,
}

impl<V> Lexicon<V> {
    /// Builds a lexicon; later duplicates of a key are dropped. With `fold`, keys are
    /// lowercased and matching ignores ASCII case.
    pub(crate) fn new<'a>(items: impl IntoIterator<Item = (&'a str, V)>, fold: bool) -> Self {
        let mut map: HashMap<char, Bucket<V>> = HashMap::new();
        for (k, v) in items {
            let key: Box<[char]> = if fold {
                k.chars().map(fold_char).collect()
            } else {
                k.chars().collect()
            };
            let Some(&first) = key.first() else { continue };
            let bucket = map.entry(first).or_default();
            if bucket.iter().any(|(e, _)| *e == key) {
                continue;
            }
            bucket.push((key, v));
        }
        for bucket in map.values_mut() {
            bucket.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        }
        Lexicon { map, fold }
    }

    /// All entries matching `cs` at `i`, longest first, as `(length, payload)`.
    pub(crate) fn matches<'s>(
        &'s self,
        cs: &'s [char],
        i: usize,
    ) -> impl Iterator<Item = (usize, &'s V)> + 's {
        let first = ch(cs, i);
        let first = if self.fold { fold_char(first) } else { first };
        let fold = self.fold;
        self.map
            .get(&first)
            .into_iter()
            .flat_map(|b| b.iter())
            .filter(move |(k, _)| {
                let Some(rest) = cs.get(i..i + k.len()) else {
                    return false;
                };
                if fold {
                    rest.iter().zip(k.iter()).all(|(a, b)| fold_char(*a) == *b)
                } else {
                    rest == &**k
                }
            })
            .map(|(k, v)| (k.len(), v))
    }

    /// The longest entry matching at `i`.
    pub(crate) fn longest<'s>(&'s self, cs: &'s [char], i: usize) -> Option<(usize, &'s V)> {
        self.matches(cs, i).next()
    }

    /// True when some entry starts with character `c`.
    pub(crate) fn starts_with_char(&self, c: char) -> bool {
        let c = if self.fold { fold_char(c) } else { c };
        self.map.contains_key(&c)
    }
}

/// A lexicon over a static `(key, value)` table, built on first use.
pub(crate) struct PairLexicon {
    table: &'static [(&'static str, &'static str)],
    fold: bool,
    cell: std::sync::OnceLock<Lexicon<&'static str>>,
}

impl PairLexicon {
    /// A lazily built lexicon of `table` (see [`Lexicon::new`] for `fold`).
    pub(crate) const fn new(table: &'static [(&'static str, &'static str)], fold: bool) -> Self {
        PairLexicon {
            table,
            fold,
            cell: std::sync::OnceLock::new(),
        }
    }

    /// The lexicon, built on the first call.
    pub(crate) fn get(&self) -> &Lexicon<&'static str> {
        self.cell
            .get_or_init(|| Lexicon::new(self.table.iter().map(|(k, v)| (*k, *v)), self.fold))
    }
}
