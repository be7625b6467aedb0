//! The canonical written form of data words, and the typed data-word extractor.
//!
//! One shortest-path cut combines the spoken rules of ITN (in canonical mode) with a scanner
//! for written forms: numbers (`3.2`, full-width digits), sizes (`3.2 x 2.8 CM`,
//! `3.2*2.8cm`, `3.2cm×2.8cm`), measures (`5 MG`, `25Hu`, `120/80mmHg`), ranges (`3-5cm`,
//! `3~5 mm`, `3至5cm`), percentages (`15%`), dates (`2024-03-05`, `2024年3月5日`), times
//! (`14:30`, `14时30分`) and fractions (`2/3`).

use super::itn::{format_size, units, Itn};
use super::lattice::{best_cut, Cand, Tag, Token};
use super::lex::{ch, PairLexicon, MAX_RUN};
use super::tables::{CANONICAL_UNITS, CANONICAL_UNITS_EXACT};
use super::written::dval;
use super::{DataKind, DataWord, ItnOptions};
use quarry_core::offsets::NormalizedTextBuilder;
use quarry_core::{NormalizedText, Span};
use std::sync::OnceLock;

const W_DATE: i64 = 1020;
const W_SIZE: i64 = 1030;
const W_RANGE: i64 = 1045;
const W_MEASURE: i64 = 1050;
const W_TIME: i64 = 1050;
const W_FRACTION: i64 = 1050;
const W_NUMBER: i64 = 1060;

static UNITS_FOLD: PairLexicon = PairLexicon::new(CANONICAL_UNITS, true);

static UNITS_EXACT: PairLexicon = PairLexicon::new(CANONICAL_UNITS_EXACT, false);

/// True when `s` ends with a physical unit of the canonical table (not `%`, not a Chinese
/// measure word, not a currency).
fn has_physical_unit(s: &str) -> bool {
    static SUFFIXES: OnceLock<Vec<&'static str>> = OnceLock::new();
    let suffixes = SUFFIXES.get_or_init(|| {
        let mut v: Vec<&str> = CANONICAL_UNITS
            .iter()
            .chain(CANONICAL_UNITS_EXACT.iter())
            .map(|(_, v)| *v)
            .filter(|v| *v != "%" && *v != "次/分")
            .chain(["°C", "km/h"])
            .collect();
        v.sort_by_key(|u| std::cmp::Reverse(u.len()));
        v.dedup();
        v
    });
    suffixes.iter().any(|u| {
        s.strip_suffix(u)
            .and_then(|rest| rest.chars().last())
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// A written number: canonical text (ASCII digits) and end.
struct WNum {
    end: usize,
    s: String,
    /// Integer digits only (no sign, no decimals).
    int: bool,
}

struct Written<'a> {
    cs: &'a [char],
}

impl Written<'_> {
    fn c(&self, i: usize) -> char {
        ch(self.cs, i)
    }

    fn spaces(&self, mut k: usize) -> usize {
        while matches!(self.c(k), ' ' | '\u{3000}' | '\u{a0}') {
            k += 1;
        }
        k
    }

    fn num(&self, i: usize) -> Option<WNum> {
        let mut s = String::new();
        let mut k = i;
        if matches!(self.c(k), '-' | '+' | '－') && dval(self.c(k + 1)).is_some() {
            let prev = if i == 0 { ' ' } else { self.c(i - 1) };
            if prev.is_ascii_alphanumeric() || dval(prev).is_some() {
                return None;
            }
            s.push(if self.c(k) == '+' { '+' } else { '-' });
            k += 1;
        }
        let int_start = k;
        while k - int_start < MAX_RUN {
            let Some(d) = dval(self.c(k)) else { break };
            s.push(char::from(b'0' + d));
            k += 1;
        }
        if k == int_start {
            return None;
        }
        let mut int = s.len() == k - i;
        if matches!(self.c(k), '.' | '．') && dval(self.c(k + 1)).is_some() {
            s.push('.');
            k += 1;
            let dec_start = k;
            while k - dec_start < MAX_RUN {
                let Some(d) = dval(self.c(k)) else { break };
                s.push(char::from(b'0' + d));
                k += 1;
            }
            int = false;
        }
        Some(WNum { end: k, s, int })
    }

    /// A unit after a number (spaces allowed before it): (end, canonical).
    fn unit(&self, k0: usize) -> Option<(usize, &'static str)> {
        let k = self.spaces(k0);
        let hit = UNITS_FOLD
            .get()
            .longest(self.cs, k)
            .or_else(|| UNITS_EXACT.get().longest(self.cs, k))
            .or_else(|| {
                // Chinese measure words right after the number (`3天`, `12例`)
                units(true)
                    .matches(self.cs, k)
                    .find(|(_, u)| !u.en)
                    .filter(|_| k == k0)
                    .map(|(len, u)| (len, &u.out))
            })?;
        let end = k + hit.0;
        let last = self.c(end - 1);
        let next = self.c(end);
        if last.is_ascii_alphanumeric() && next.is_ascii_alphabetic() {
            // `3cmx2cm` is fine, `3 min` is not `3 m`
            let after = self.spaces(end + 1);
            if !(matches!(next, 'x' | 'X') && dval(self.c(after)).is_some()) {
                return None;
            }
        }
        Some((end, *hit.1))
    }

    /// A size separator (`x`, `X`, `×`, `*`, `乘`...), spaces around: position after.
    fn size_sep(&self, k: usize) -> Option<usize> {
        let k = self.spaces(k);
        let e = match (self.c(k), self.c(k + 1)) {
            ('乘', '以') => k + 2,
            ('x' | 'X' | '×' | '*' | '＊' | '✕' | '✖' | '╳' | 'ⅹ' | '乘', _) => k + 1,
            _ => return None,
        };
        let e = self.spaces(e);
        dval(self.c(e)).is_some().then_some(e)
    }

    /// A range separator (`~`, `-`, `至`, `到`...), spaces around: position after.
    fn range_sep(&self, k: usize) -> Option<(usize, bool)> {
        let k = self.spaces(k);
        let (e, dash) = match self.c(k) {
            '~' | '～' | '〜' | '至' | '到' => (k + 1, false),
            '-' | '—' | '–' | '－' => (k + 1, true),
            _ => return None,
        };
        let e = self.spaces(e);
        dval(self.c(e)).is_some().then_some((e, dash))
    }

    fn gen(&self, i: usize, out: &mut Vec<Cand>) {
        let Some(n) = self.num(i) else { return };
        self.dates(i, out);
        self.times(i, &n, out);
        let u1 = self.unit(n.end);
        // sizes
        let mut dims = vec![(n.s.clone(), u1.map(|u| u.1.to_string()))];
        let mut e = u1.map_or(n.end, |u| u.0);
        while dims.len() < 3 {
            let Some(k) = self.size_sep(e) else { break };
            let Some(m) = self.num(k) else { break };
            let u = self.unit(m.end);
            dims.push((m.s.clone(), u.map(|u| u.1.to_string())));
            e = u.map_or(m.end, |u| u.0);
            out.push(data(e, format_size(&dims, true), W_SIZE, DataKind::Size));
        }
        // ranges
        let e1 = u1.map_or(n.end, |u| u.0);
        if let Some((k, dash)) = self.range_sep(e1) {
            if let Some(m) = self.num(k) {
                let short =
                    |x: &WNum| x.s.len() <= 6 && !x.s.starts_with('0') || x.s.starts_with("0.");
                if !dash || (short(&n) && short(&m)) {
                    let u2 = self.unit(m.end);
                    let end = u2.map_or(m.end, |u| u.0);
                    let s = match (u1, u2) {
                        (Some(a), Some(b)) if a.1 != b.1 => {
                            format!("{}{}~{}{}", n.s, a.1, m.s, b.1)
                        }
                        (_, Some(b)) => format!("{}~{}{}", n.s, m.s, b.1),
                        (Some(a), None) => format!("{}{}~{}", n.s, a.1, m.s),
                        (None, None) => format!("{}~{}", n.s, m.s),
                    };
                    out.push(data(end, s, W_RANGE, DataKind::Range));
                }
            }
        }
        // measures, percentages
        if let Some((e, u)) = u1 {
            let kind = if u == "%" {
                DataKind::Percentage
            } else {
                DataKind::Measure
            };
            out.push(data(e, format!("{}{u}", n.s), W_MEASURE, kind));
        }
        // fractions, blood pressure
        if self.c(n.end) == '/' {
            if let Some(m) = self.num(n.end + 1).filter(|m| m.int) {
                match self.unit(m.end) {
                    Some((e, u)) if matches!(u, "mmHg" | "kPa") => {
                        out.push(data(
                            e,
                            format!("{}/{}{u}", n.s, m.s),
                            W_MEASURE - 10,
                            DataKind::Measure,
                        ));
                    }
                    _ => {}
                }
                if n.int {
                    out.push(data(
                        m.end,
                        format!("{}/{}", n.s, m.s),
                        W_FRACTION,
                        DataKind::Fraction,
                    ));
                }
            }
        }
        out.push(data(n.end, n.s, W_NUMBER, DataKind::Number));
    }

    fn digits(&self, k: usize, min: usize, max: usize) -> Option<(usize, u32)> {
        let mut v = 0u32;
        let mut e = k;
        while e - k < max {
            let Some(d) = dval(self.c(e)) else { break };
            v = v * 10 + u32::from(d);
            e += 1;
        }
        (e - k >= min && dval(self.c(e)).is_none()).then_some((e, v))
    }

    fn dates(&self, i: usize, out: &mut Vec<Cand>) {
        let Some((e, first)) = self.digits(i, 1, 4) else {
            return;
        };
        let len = e - i;
        let valid_m = |m: u32| (1..=12).contains(&m);
        let valid_d = |d: u32| (1..=31).contains(&d);
        let date = |end: usize, s: String, out: &mut Vec<Cand>| {
            out.push(data(end, s, W_DATE, DataKind::Date))
        };
        if len == 4 {
            let y = first;
            // 2024年3月5日, 2024年3月, 2024年
            if self.c(e) == '年' {
                date(e + 1, format!("{y}年"), out);
                if let Some((e2, m)) = self.digits(e + 1, 1, 2).filter(|x| valid_m(x.1)) {
                    if self.c(e2) == '月' {
                        date(e2 + 1, format!("{y}/{m:02}"), out);
                        if let Some((e3, d)) = self.digits(e2 + 1, 1, 2).filter(|x| valid_d(x.1)) {
                            if matches!(self.c(e3), '日' | '号') {
                                date(e3 + 1, format!("{y}/{m:02}/{d:02}"), out);
                            }
                        }
                    }
                }
            }
            // 2024-03-05, 2024/3/5, 2024.03.05, 2024-03
            let sep = self.c(e);
            if matches!(sep, '-' | '/' | '.') {
                if let Some((e2, m)) = self.digits(e + 1, 1, 2).filter(|x| valid_m(x.1)) {
                    if self.c(e2) == sep {
                        if let Some((e3, d)) = self.digits(e2 + 1, 1, 2).filter(|x| valid_d(x.1)) {
                            date(e3, format!("{y}/{m:02}/{d:02}"), out);
                        }
                    } else if e2 - e == 3 {
                        date(e2, format!("{y}/{m:02}"), out);
                    }
                }
            }
        }
        // 3月5日
        if len <= 2 && valid_m(first) && self.c(e) == '月' {
            if let Some((e2, d)) = self.digits(e + 1, 1, 2).filter(|x| valid_d(x.1)) {
                if matches!(self.c(e2), '日' | '号') {
                    date(e2 + 1, format!("{first:02}/{d:02}"), out);
                }
            }
        }
        // 08/08
        if len == 2 && valid_m(first) && self.c(e) == '/' {
            if let Some((e2, d)) = self.digits(e + 1, 2, 2).filter(|x| valid_d(x.1)) {
                date(e2, format!("{first:02}/{d:02}"), out);
            }
        }
    }

    fn times(&self, i: usize, n: &WNum, out: &mut Vec<Cand>) {
        let Some((e, h)) = self.digits(i, 1, 2).filter(|x| x.1 <= 24) else {
            return;
        };
        if !n.int {
            return;
        }
        let hs = if h == 0 {
            "00".to_string()
        } else {
            h.to_string()
        };
        match self.c(e) {
            ':' | '：' => {
                if let Some((e2, m)) = self.digits(e + 1, 2, 2).filter(|x| x.1 <= 59) {
                    let s = format!("{hs}:{m:02}");
                    out.push(data(e2, s.clone(), W_TIME, DataKind::Time));
                    if matches!(self.c(e2), ':' | '：') {
                        if let Some((e3, sec)) = self.digits(e2 + 1, 2, 2).filter(|x| x.1 <= 59) {
                            out.push(data(e3, format!("{s}:{sec:02}"), W_TIME, DataKind::Time));
                        }
                    }
                }
            }
            '时' | '点' => {
                if let Some((e2, m)) = self.digits(e + 1, 1, 2).filter(|x| x.1 <= 59) {
                    if self.c(e2) == '分' {
                        out.push(data(e2 + 1, format!("{hs}:{m:02}"), W_TIME, DataKind::Time));
                    }
                }
            }
            _ => {}
        }
    }
}

fn data(end: usize, out: String, cost: i64, kind: DataKind) -> Cand {
    Cand {
        end,
        out,
        cost,
        chain_cost: None,
        tag: Tag::Data(kind),
    }
}

/// True for characters that may start a data word (fast path).
fn may_start(c: char) -> bool {
    dval(c).is_some() || !super::itn_inert(c) || matches!(c, '-' | '+' | '－' | '每' | '正' | '负')
}

/// Cuts `cs` into tokens, spoken and written data words in canonical form.
fn tokens(cs: &[char]) -> Vec<Token> {
    static OPTS: OnceLock<ItnOptions> = OnceLock::new();
    let opts = OPTS.get_or_init(ItnOptions::default);
    let mut spoken = Itn::new(cs, opts);
    spoken.canonical = true;
    let written = Written { cs };
    let has_han_numeral = cs.iter().any(|&c| !super::itn_inert(c));
    best_cut(
        cs.len(),
        true,
        |i, out| {
            if has_han_numeral {
                spoken.gen(i, out);
            }
            written.gen(i, out);
        },
        |i| {
            let c = ch(cs, i);
            !may_start(c) && (!has_han_numeral || spoken.skip(i))
        },
    )
}

/// The data kind of a token, if it is a data word.
fn kind_of(t: &Token) -> Option<DataKind> {
    match t.tag {
        Tag::Data(k) | Tag::Cardinal(k) => Some(k),
        Tag::Other => None,
    }
}

pub(crate) fn find_data_words(text: &str) -> Vec<DataWord> {
    let cs: Vec<char> = text.chars().collect();
    if !cs.iter().any(|&c| may_start(c)) {
        return Vec::new();
    }
    tokens(&cs)
        .into_iter()
        .filter_map(|t| {
            let kind = kind_of(&t)?;
            Some(DataWord {
                kind,
                span: Span::new(t.start, t.end),
                canonical: t.out?,
            })
        })
        .collect()
}

pub(crate) fn canonical_measurements(text: &str) -> NormalizedText {
    let cs: Vec<char> = text.chars().collect();
    if !cs.iter().any(|&c| may_start(c)) {
        return NormalizedText::identity(text);
    }
    let mut b = NormalizedTextBuilder::new(cs.len());
    for t in tokens(&cs) {
        let rewrite = matches!(
            kind_of(&t),
            Some(DataKind::Size | DataKind::Measure | DataKind::Range)
        ) && t.out.as_deref().is_some_and(has_physical_unit);
        match (rewrite, t.out) {
            (true, Some(s)) => b.push(&s, Span::new(t.start, t.end)),
            _ => {
                for k in t.start..t.end {
                    b.push_char(ch(&cs, k), k);
                }
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_units() {
        assert!(has_physical_unit("3.2cm"));
        assert!(has_physical_unit("3cm×2cm"));
        assert!(has_physical_unit("25HU"));
        assert!(!has_physical_unit("3天"));
        assert!(!has_physical_unit("15%"));
        assert!(!has_physical_unit("¥3"));
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::tn::{canonical_measurements, find_data_words, DataKind};

    fn c(s: &str) -> String {
        canonical_measurements(s).text
    }

    #[test]
    fn sizes() {
        for s in [
            "3.2 x 2.8 CM",
            "3.2*2.8cm",
            "3.2X2.8cm",
            "3.2cm x 2.8cm",
            "三点二乘二点八厘米",
            "3.2 × 2.8 cm",
        ] {
            assert_eq!(c(s), "3.2cm×2.8cm", "{s}");
        }
        assert_eq!(c("3.2×2.8×1.5cm"), "3.2cm×2.8cm×1.5cm");
        assert_eq!(c("3cm×28mm"), "3cm×28mm");
    }

    #[test]
    fn measures_and_ranges() {
        assert_eq!(c("5 MG"), "5mg");
        assert_eq!(c("25 hu"), "25HU");
        assert_eq!(c("6.1mmol/l"), "6.1mmol/L");
        assert_eq!(c("3-5 cm"), "3~5cm");
        assert_eq!(c("3cm-5cm"), "3~5cm");
        assert_eq!(c("15%"), "15%");
        assert_eq!(c("3 min"), "3 min");
        assert_eq!(c("010-64035547"), "010-64035547");
    }

    #[test]
    fn kinds() {
        let k = |s: &str| {
            find_data_words(s)
                .into_iter()
                .map(|w| w.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(k("3.2"), [DataKind::Number]);
        assert_eq!(k("3.2 x 2.8"), [DataKind::Size]);
        assert_eq!(k("12:30"), [DataKind::Time]);
        assert_eq!(k("1:1"), [DataKind::Number, DataKind::Number]);
        assert_eq!(k("2024.03.05"), [DataKind::Date]);
        assert_eq!(k("-5"), [DataKind::Number]);
        assert!(k("一般").is_empty());
    }
}
