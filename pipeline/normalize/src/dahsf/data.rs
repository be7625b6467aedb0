//! Typed data words: numbers, sizes, measures, dates, times, percentages, ranges, fractions,
//! URLs, codes and identifiers.
//!
//! The engine asks a [`DataWordExtractor`] for them. [`DefaultDataWords`] asks the crate's
//! TN module ([`crate::tn::find_data_words`]) first and fills in, from [`BuiltinDataWords`],
//! whatever TN does not cover (URLs, codes, identifiers, and any number TN leaves). Any other
//! extractor can be plugged in with [`super::Engine::with_extractor`].

use quarry_core::Span;
use serde::{Deserialize, Serialize};

/// The type of a data word; its [`DataType::label`] is the layer-1 label frameworks name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DataType {
    /// `123`, `3.2` (label `NUMBER`).
    Number,
    /// `3.2cm×2.8cm` (label `SIZE`).
    Size,
    /// `3.2cm`, `45HU` (label `MEASURE`).
    Measure,
    /// `2024/03/05` (label `DATE`).
    Date,
    /// `14:30` (label `TIME`).
    Time,
    /// `15%` (label `PERCENTAGE`).
    Percentage,
    /// `3~5mm` (label `RANGE`).
    Range,
    /// `2/3` (label `FRACTION`).
    Fraction,
    /// `https://example.com/a`, `www.example.com` (label `URL`).
    Url,
    /// A Latin-script token with digits: `T2`, `K76.0`, `ICD-10` (label `CODE`).
    Code,
    /// A Latin-script word: `notepad`, `Chrome` (label `IDENT`).
    Ident,
}

impl DataType {
    /// Every data type, in label order.
    pub const ALL: [DataType; 11] = [
        DataType::Number,
        DataType::Size,
        DataType::Measure,
        DataType::Date,
        DataType::Time,
        DataType::Percentage,
        DataType::Range,
        DataType::Fraction,
        DataType::Url,
        DataType::Code,
        DataType::Ident,
    ];

    /// The layer-1 label of this type.
    pub fn label(self) -> &'static str {
        match self {
            DataType::Number => "NUMBER",
            DataType::Size => "SIZE",
            DataType::Measure => "MEASURE",
            DataType::Date => "DATE",
            DataType::Time => "TIME",
            DataType::Percentage => "PERCENTAGE",
            DataType::Range => "RANGE",
            DataType::Fraction => "FRACTION",
            DataType::Url => "URL",
            DataType::Code => "CODE",
            DataType::Ident => "IDENT",
        }
    }
}

/// A data word found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSpan {
    /// Its type.
    pub kind: DataType,
    /// Character offsets into the text given to the extractor.
    pub span: Span,
    /// Its written canonical form.
    pub canonical: String,
}

/// Finds typed data words. The engine passes the width-folded text (full-width digits and
/// letters already narrowed; same character count as the input) and expects spans that are
/// sorted, non-empty, non-overlapping and inside the text; spans that are not are dropped.
pub trait DataWordExtractor: Send + Sync {
    /// The data words of `text`, left to right.
    fn extract(&self, text: &str) -> Vec<DataSpan>;
}

/// Adapter over [`crate::tn::find_data_words`] (numbers, sizes, measures, dates, times,
/// percentages, ranges, fractions).
#[derive(Debug, Clone, Copy, Default)]
pub struct TnDataWords;

/// True for the characters TN is never asked to look across (no data word contains them).
fn chunk_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '。' | '；' | '！' | '？' | ';' | '!')
}

impl DataWordExtractor for TnDataWords {
    /// Calls TN once per sentence-sized chunk (split after `\n`, `。`, `；`, `！`, `？`,
    /// `;`, `!`) so that long inputs cost linear time; spans are shifted back.
    fn extract(&self, text: &str) -> Vec<DataSpan> {
        let mut out = Vec::new();
        let (mut start_byte, mut start_char, mut chars) = (0usize, 0usize, 0usize);
        for (i, c) in text.char_indices() {
            chars += 1;
            if chunk_break(c) {
                let end = i + c.len_utf8();
                self.extract_chunk(&text[start_byte..end], start_char, &mut out);
                start_byte = end;
                start_char = chars;
            }
        }
        if start_byte < text.len() {
            self.extract_chunk(&text[start_byte..], start_char, &mut out);
        }
        out
    }
}

impl TnDataWords {
    fn extract_chunk(&self, chunk: &str, offset: usize, out: &mut Vec<DataSpan>) {
        use crate::tn::DataKind;
        if !chunk
            .chars()
            .any(|c| c.is_numeric() || "零〇一二两三四五六七八九十百千万亿点".contains(c))
        {
            return;
        }
        out.extend(crate::tn::find_data_words(chunk).into_iter().map(|w| {
            #[allow(unreachable_patterns)]
            let kind = match w.kind {
                DataKind::Number => DataType::Number,
                DataKind::Size => DataType::Size,
                DataKind::Measure => DataType::Measure,
                DataKind::Date => DataType::Date,
                DataKind::Time => DataType::Time,
                DataKind::Percentage => DataType::Percentage,
                DataKind::Range => DataType::Range,
                DataKind::Fraction => DataType::Fraction,
                _ => DataType::Number,
            };
            DataSpan {
                kind,
                span: Span::new(w.span.start + offset, w.span.end + offset),
                canonical: w.canonical,
            }
        }));
    }
}

/// TN's data words first, then [`BuiltinDataWords`] for whatever they do not overlap.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultDataWords;

impl DataWordExtractor for DefaultDataWords {
    fn extract(&self, text: &str) -> Vec<DataSpan> {
        let primary = sanitize(TnDataWords.extract(text), usize::MAX);
        let fallback = BuiltinDataWords.extract(text);
        if primary.is_empty() {
            return fallback;
        }
        // A TN word that starts inside a builtin Latin token (code, identifier, URL), or
        // that such a token strictly contains, gives way to it: the digits of `S8` or
        // `T2WI` are not numbers (or `8段` measures) of their own.
        // (both lists are sorted and disjoint: one sweep)
        let latin: Vec<Span> = fallback
            .iter()
            .filter(|f| matches!(f.kind, DataType::Code | DataType::Ident | DataType::Url))
            .map(|f| f.span)
            .collect();
        let mut li = 0;
        let primary: Vec<DataSpan> = primary
            .into_iter()
            .filter(|p| {
                while li < latin.len() && latin[li].end <= p.span.start {
                    li += 1;
                }
                let Some(l) = latin.get(li) else { return true };
                let starts_inside = l.start < p.span.start && p.span.start < l.end;
                let contained =
                    l.start <= p.span.start && p.span.end <= l.end && l.len() > p.span.len();
                !(starts_inside || contained)
            })
            .collect();
        let mut out = Vec::with_capacity(primary.len() + fallback.len());
        let mut pi = 0;
        for f in fallback {
            while pi < primary.len() && primary[pi].span.end <= f.span.start {
                out.push(primary[pi].clone());
                pi += 1;
            }
            let overlaps = primary[pi..]
                .iter()
                .take_while(|p| p.span.start < f.span.end)
                .any(|p| p.span.end > f.span.start);
            if !overlaps {
                out.push(f);
            }
        }
        out.extend(primary[pi..].iter().cloned());
        out.sort_by_key(|d| d.span.start);
        out
    }
}

/// Keeps the spans that are non-empty, inside `len` characters, sorted and non-overlapping.
pub(crate) fn sanitize(mut v: Vec<DataSpan>, len: usize) -> Vec<DataSpan> {
    v.sort_by_key(|d| (d.span.start, std::cmp::Reverse(d.span.end)));
    let mut out: Vec<DataSpan> = Vec::with_capacity(v.len());
    let mut end = 0;
    for d in v {
        if d.span.start >= d.span.end || d.span.end > len || d.span.start < end {
            continue;
        }
        end = d.span.end;
        out.push(d);
    }
    out
}

/// A small hand-written scanner for data words in Chinese and English text (no Chinese
/// numerals: those are TN's job). Canonical forms: numbers as written; sizes
/// `3.2cm×2.8cm` (every dimension carries the unit, `×` between); measures `3.2cm`, `45HU`;
/// percentages `15%`; ranges `3~5mm`; fractions `2/3`; dates `2024年3月5日`; times `14:30`;
/// URLs as written; codes upper-cased; identifiers as written.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinDataWords;

impl DataWordExtractor for BuiltinDataWords {
    fn extract(&self, text: &str) -> Vec<DataSpan> {
        let raw = scan(text);
        // byte spans -> char spans, one pass (spans are sorted and disjoint)
        let mut out = Vec::with_capacity(raw.len());
        let mut byte = 0usize;
        let mut chars = 0usize;
        let b = text.as_bytes();
        let count =
            |from: usize, to: usize| b[from..to].iter().filter(|&&x| (x & 0xC0) != 0x80).count();
        for (s, e, kind, canonical) in raw {
            chars += count(byte, s);
            let start = chars;
            chars += count(s, e);
            byte = e;
            out.push(DataSpan {
                kind,
                span: Span::new(start, chars),
                canonical,
            });
        }
        out
    }
}

type Raw = (usize, usize, DataType, String);

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn scan(s: &str) -> Vec<Raw> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let prev_word = i > 0 && is_word_byte(b[i - 1]);
        if !prev_word && c.is_ascii_digit() {
            let r = numeric(s, i);
            i = r.1.max(i + 1);
            out.push(r);
            continue;
        }
        if !prev_word && c.is_ascii_alphabetic() {
            let r = word(s, i);
            i = r.1.max(i + 1);
            out.push(r);
            continue;
        }
        i += 1;
    }
    out
}

/// `\d+(\.\d+)?` at `i`: (end, text).
fn number(b: &[u8], i: usize) -> (usize, usize) {
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    (i, j)
}

fn digits_at(b: &[u8], i: usize) -> Option<(usize, u32)> {
    let mut j = i;
    let mut v: u32 = 0;
    while j < b.len() && b[j].is_ascii_digit() && j - i < 9 {
        v = v * 10 + u32::from(b[j] - b'0');
        j += 1;
    }
    (j > i).then_some((j, v))
}

fn skip_sp(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

fn digit_at(b: &[u8], i: usize) -> bool {
    i < b.len() && b[i].is_ascii_digit()
}

const UNITS: &[(&str, &str)] = &[
    ("mmol/l", "mmol/L"),
    ("mmhg", "mmHg"),
    ("次/分", "次/分"),
    ("bpm", "bpm"),
    ("毫米", "mm"),
    ("厘米", "cm"),
    ("公分", "cm"),
    ("毫升", "ml"),
    ("公斤", "kg"),
    ("千克", "kg"),
    ("mm", "mm"),
    ("cm", "cm"),
    ("ml", "ml"),
    ("hu", "HU"),
    ("mg", "mg"),
    ("kg", "kg"),
    ("ms", "ms"),
    ("克", "g"),
    ("岁", "岁"),
    ("℃", "℃"),
];

/// A unit at `i` (case-insensitive for ASCII units, which must end a Latin word, except
/// before a size separator `x` followed by a number).
fn unit(s: &str, i: usize) -> Option<(usize, &'static str)> {
    let b = s.as_bytes();
    for &(surface, canonical) in UNITS {
        let n = surface.len();
        let Some(cand) = b.get(i..i + n) else {
            continue;
        };
        if !cand.eq_ignore_ascii_case(surface.as_bytes()) {
            continue;
        }
        let end = i + n;
        if surface.as_bytes()[n - 1].is_ascii_alphabetic() && end < b.len() && is_word_byte(b[end])
        {
            let x_sep = matches!(b[end], b'x' | b'X') && digit_at(b, skip_sp(b, end + 1));
            if !x_sep {
                continue;
            }
        }
        return Some((end, canonical));
    }
    None
}

fn size_sep(s: &str, i: usize) -> Option<usize> {
    let rest = s.get(i..)?;
    for sep in ["×", "*", "x", "X", "✕", "✖", "乘"] {
        if rest.starts_with(sep) {
            return Some(i + sep.len());
        }
    }
    None
}

fn range_sep(s: &str, i: usize) -> Option<usize> {
    let rest = s.get(i..)?;
    for sep in ["-", "~", "—", "–", "〜", "至", "到"] {
        if rest.starts_with(sep) {
            return Some(i + sep.len());
        }
    }
    None
}

fn numeric(s: &str, i: usize) -> Raw {
    let b = s.as_bytes();
    if let Some(r) = date(s, i) {
        return r;
    }
    if let Some(r) = time(s, i) {
        return r;
    }
    let (_, j) = number(b, i);
    let n1 = &s[i..j];
    let k = skip_sp(b, j);
    if k < b.len() && b[k] == b'%' {
        return (i, k + 1, DataType::Percentage, format!("{n1}%"));
    }
    let u1 = unit(s, k);
    let after1 = u1.map_or(j, |u| u.0);
    let k2 = skip_sp(b, after1);
    // size: n [u] x n [u] (x n [u])
    if let Some(sep) = size_sep(s, k2) {
        let k3 = skip_sp(b, sep);
        if digit_at(b, k3) {
            let mut dims: Vec<(&str, Option<&'static str>)> = vec![(n1, u1.map(|u| u.1))];
            let mut cur = k3;
            let mut end;
            loop {
                let (_, ne) = number(b, cur);
                let u = unit(s, skip_sp(b, ne));
                dims.push((&s[cur..ne], u.map(|x| x.1)));
                end = u.map_or(ne, |x| x.0);
                if dims.len() >= 3 {
                    break;
                }
                let Some(nsep) = size_sep(s, skip_sp(b, end)) else {
                    break;
                };
                let nk = skip_sp(b, nsep);
                if !digit_at(b, nk) {
                    break;
                }
                cur = nk;
            }
            let fallback = dims.iter().rev().find_map(|d| d.1);
            let canonical = dims
                .iter()
                .map(|(n, u)| format!("{n}{}", u.or(fallback).unwrap_or("")))
                .collect::<Vec<_>>()
                .join("×");
            return (i, end, DataType::Size, canonical);
        }
    }
    // range: n [u] - n [u]
    if let Some(sep) = range_sep(s, k2) {
        let k3 = skip_sp(b, sep);
        if digit_at(b, k3) {
            let (_, ne) = number(b, k3);
            let n2 = &s[k3..ne];
            let u2 = unit(s, skip_sp(b, ne));
            let end = u2.map_or(ne, |u| u.0);
            let canonical = match (u1.map(|u| u.1), u2.map(|u| u.1)) {
                (Some(a), Some(c)) if a != c => format!("{n1}{a}~{n2}{c}"),
                (a, c) => format!("{n1}~{n2}{}", c.or(a).unwrap_or("")),
            };
            return (i, end, DataType::Range, canonical);
        }
    }
    if let Some((end, u)) = u1 {
        return (i, end, DataType::Measure, format!("{n1}{u}"));
    }
    if j + 1 < b.len() && b[j] == b'/' && digit_at(b, j + 1) {
        let (_, ne) = number(b, j + 1);
        return (i, ne, DataType::Fraction, s[i..ne].to_string());
    }
    if j < b.len() && b[j].is_ascii_alphabetic() {
        let end = run_end(b, j);
        return (i, end, DataType::Code, s[i..end].to_ascii_uppercase());
    }
    (i, j, DataType::Number, n1.to_string())
}

fn date(s: &str, i: usize) -> Option<Raw> {
    let b = s.as_bytes();
    let (ye, y) = digits_at(b, i)?;
    if ye - i == 4 {
        // 2024-03-05, 2024/3/5, 2024.03.05
        if let Some(&sep) = b.get(ye) {
            if matches!(sep, b'-' | b'/' | b'.') {
                if let Some((me, m)) = digits_at(b, ye + 1) {
                    if me - ye - 1 <= 2 && b.get(me) == Some(&sep) {
                        if let Some((de, d)) = digits_at(b, me + 1) {
                            if de - me - 1 <= 2 && valid_md(m, d) && !digit_at(b, de) {
                                return Some((i, de, DataType::Date, format!("{y}/{m:02}/{d:02}")));
                            }
                        }
                    }
                }
            }
        }
        // 2024年3月5日, 2024年3月, 2024年
        if s[ye..].starts_with('年') {
            let me0 = ye + '年'.len_utf8();
            if let Some((me, m)) = digits_at(b, me0) {
                if me - me0 <= 2 && s[me..].starts_with('月') && (1..=12).contains(&m) {
                    let de0 = me + '月'.len_utf8();
                    if let Some((de, d)) = digits_at(b, de0) {
                        let rest = &s[de..];
                        if de - de0 <= 2
                            && (rest.starts_with('日') || rest.starts_with('号'))
                            && valid_md(m, d)
                        {
                            let end = de + '日'.len_utf8();
                            return Some((i, end, DataType::Date, format!("{y}/{m:02}/{d:02}")));
                        }
                    }
                    return Some((i, de0, DataType::Date, format!("{y}/{m:02}")));
                }
            }
            return Some((i, me0, DataType::Date, format!("{y}年")));
        }
    }
    if ye - i <= 2 && s[ye..].starts_with('月') && (1..=12).contains(&y) {
        let de0 = ye + '月'.len_utf8();
        if let Some((de, d)) = digits_at(b, de0) {
            let rest = &s[de..];
            if de - de0 <= 2 && (rest.starts_with('日') || rest.starts_with('号')) && valid_md(y, d)
            {
                return Some((
                    i,
                    de + '日'.len_utf8(),
                    DataType::Date,
                    format!("{y:02}/{d:02}"),
                ));
            }
        }
    }
    None
}

fn valid_md(m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

fn time(s: &str, i: usize) -> Option<Raw> {
    let b = s.as_bytes();
    let (he, h) = digits_at(b, i)?;
    if he - i > 2 || h > 23 {
        return None;
    }
    if b.get(he) == Some(&b':') {
        let (me, m) = digits_at(b, he + 1)?;
        if me - he - 1 != 2 || m > 59 {
            return None;
        }
        if b.get(me) == Some(&b':') {
            if let Some((se, sec)) = digits_at(b, me + 1) {
                if se - me - 1 == 2 && sec <= 59 && !digit_at(b, se) {
                    return Some((i, se, DataType::Time, format!("{h}:{m:02}:{sec:02}")));
                }
            }
        }
        if digit_at(b, me) {
            return None;
        }
        return Some((i, me, DataType::Time, format!("{h}:{m:02}")));
    }
    let rest = &s[he..];
    if rest.starts_with('时') || rest.starts_with('点') {
        let m0 = he + '时'.len_utf8();
        let (me, m) = digits_at(b, m0)?;
        if me - m0 <= 2 && m <= 59 && s[me..].starts_with('分') {
            return Some((
                i,
                me + '分'.len_utf8(),
                DataType::Time,
                format!("{h}:{m:02}"),
            ));
        }
    }
    None
}

/// End of a Latin word run: `[A-Za-z0-9_]+` segments joined by single `.` or `-`.
fn run_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    loop {
        while j < b.len() && is_word_byte(b[j]) {
            j += 1;
        }
        if j + 1 < b.len() && (b[j] == b'.' || b[j] == b'-') && is_word_byte(b[j + 1]) {
            j += 1;
            continue;
        }
        return j;
    }
}

const TLDS: &[&str] = &["com", "cn", "org", "net", "io", "gov", "edu", "info"];

fn url_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len()
        && (b[j].is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b[j]))
    {
        j += 1;
    }
    while j > 0 && b".,;:!?)'\"".contains(&b[j - 1]) {
        j -= 1;
    }
    j
}

fn word(s: &str, i: usize) -> Raw {
    let b = s.as_bytes();
    let rest = &b[i..];
    let starts =
        |p: &str| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if starts("http://") || starts("https://") || starts("www.") {
        let end = url_end(b, i).max(i + 1);
        return (i, end, DataType::Url, s[i..end].to_string());
    }
    let end = run_end(b, i);
    let w = &s[i..end];
    if let Some((_, tld)) = w.rsplit_once('.') {
        if TLDS.iter().any(|t| t.eq_ignore_ascii_case(tld)) {
            let end = if b.get(end) == Some(&b'/') {
                url_end(b, end)
            } else {
                end
            };
            return (i, end, DataType::Url, s[i..end].to_string());
        }
    }
    if w.bytes().any(|c| c.is_ascii_digit()) {
        (i, end, DataType::Code, w.to_ascii_uppercase())
    } else {
        (i, end, DataType::Ident, w.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<(String, &'static str, String)> {
        BuiltinDataWords
            .extract(t)
            .into_iter()
            .map(|d| {
                (
                    d.span.slice(t).unwrap_or("?").to_string(),
                    d.kind.label(),
                    d.canonical,
                )
            })
            .collect()
    }

    fn one(t: &str) -> (&'static str, String) {
        let w = words(t);
        assert_eq!(w.len(), 1, "{t}: {w:?}");
        (w[0].1, w[0].2.clone())
    }

    #[test]
    fn sizes_many_ways() {
        for t in [
            "3.2cm×2.8cm",
            "3.2 x 2.8 CM",
            "3.2*2.8cm",
            "3.2cmx2.8cm",
            "3.2 × 2.8cm",
            "3.2X2.8厘米",
        ] {
            assert_eq!(one(t), ("SIZE", "3.2cm×2.8cm".to_string()), "{t}");
        }
        assert_eq!(one("3.2×2.8×1.5 cm"), ("SIZE", "3.2cm×2.8cm×1.5cm".into()));
        assert_eq!(one("32mm×2.8cm"), ("SIZE", "32mm×2.8cm".into()));
        assert_eq!(one("3.2×2.8"), ("SIZE", "3.2×2.8".into()));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(one("1.5 CM"), ("MEASURE", "1.5cm".into()));
        assert_eq!(one("45hu"), ("MEASURE", "45HU".into()));
        assert_eq!(one("15 %"), ("PERCENTAGE", "15%".into()));
        assert_eq!(one("3-5mm"), ("RANGE", "3~5mm".into()));
        assert_eq!(one("30至45HU"), ("RANGE", "30~45HU".into()));
        assert_eq!(one("2/3"), ("FRACTION", "2/3".into()));
        assert_eq!(one("2024-03-05"), ("DATE", "2024/03/05".into()));
        assert_eq!(one("2024年3月5日"), ("DATE", "2024/03/05".into()));
        assert_eq!(one("3月5日"), ("DATE", "03/05".into()));
        assert_eq!(one("08:30"), ("TIME", "8:30".into()));
        assert_eq!(
            one("https://example.com/a?b=1"),
            ("URL", "https://example.com/a?b=1".into())
        );
        assert_eq!(one("www.baidu.com"), ("URL", "www.baidu.com".into()));
        assert_eq!(one("t2wi"), ("CODE", "T2WI".into()));
        assert_eq!(one("notepad"), ("IDENT", "notepad".into()));
        assert_eq!(one("42"), ("NUMBER", "42".into()));
        let w = words("肝右叶见3.2cm病灶，CT值约45HU");
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(w[1].1, "IDENT");
    }
}
