//! Text normalization (written -> spoken), modelled on WeTextProcessing's Chinese TN grammar
//! (`tn/chinese/rules/*.py`): the same token classes and weights, as hand-written scanners.

use super::lattice::{best_cut, Cand, Tag, Token};
use super::lex::{ch, Lexicon, PairLexicon, MAX_RUN};
use super::tables::*;
use super::{DataKind, TnOptions};
use quarry_core::offsets::NormalizedTextBuilder;
use quarry_core::{NormalizedText, Span};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

const W_DATE: i64 = 1020;
const W_WHITELIST: i64 = 1030;
const W_FRACTION: i64 = 1050;
const W_MEASURE: i64 = 1050;
const W_MONEY: i64 = 1050;
const W_TIME: i64 = 1050;
const W_CARDINAL: i64 = 1060;
const W_MATH: i64 = 90_000;

const ZH: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// Value of a written digit (ASCII or full-width).
#[inline]
pub(crate) fn dval(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        _ => None,
    }
}

/// Reads digits one by one (`2008` -> `二零零八`); `phone` reads 1 as `幺`.
pub(crate) fn read_digits(ds: &[u8], phone: bool) -> String {
    let mut s = String::with_capacity(ds.len() * 3);
    for &d in ds {
        s.push_str(if phone && d == 1 {
            "幺"
        } else {
            ZH[usize::from(d % 10)]
        });
    }
    s
}

/// `tens` inside a larger number: 2 digits, the first non-zero (`11` -> `一十一`).
fn tens(ds: &[u8]) -> Option<String> {
    match ds {
        [a @ 1..=9, b] => Some(format!(
            "{}十{}",
            ZH[*a as usize],
            if *b == 0 { "" } else { ZH[*b as usize % 10] }
        )),
        _ => None,
    }
}

/// A leading two-digit number (`10` -> `十`, `11` -> `十一`, `21` -> `二十一`).
fn ten(ds: &[u8]) -> Option<String> {
    match ds {
        [1, b] => Some(format!(
            "十{}",
            if *b == 0 { "" } else { ZH[*b as usize % 10] }
        )),
        _ => tens(ds),
    }
}

fn hundred(ds: &[u8]) -> Option<String> {
    let [a @ 1..=9, rest @ ..] = ds else {
        return None;
    };
    let tail = match rest {
        [0, 0] => String::new(),
        [0, b] => format!("零{}", ZH[*b as usize % 10]),
        _ => tens(rest)?,
    };
    Some(format!("{}百{tail}", ZH[*a as usize]))
}

fn thousand(ds: &[u8]) -> Option<String> {
    let [a @ 1..=9, rest @ ..] = ds else {
        return None;
    };
    if rest.len() != 3 {
        return None;
    }
    let tail = match rest {
        [0, 0, 0] => String::new(),
        [0, 0, b] => format!("零{}", ZH[*b as usize % 10]),
        [0, r @ ..] => format!("零{}", tens(r)?),
        _ => hundred(rest)?,
    };
    Some(format!("{}千{tail}", ZH[*a as usize]))
}

/// Exactly four digits, not all zero, leading zeros read as one `零`.
fn four_nonzero(ds: &[u8]) -> Option<String> {
    match ds {
        [0, 0, 0, b @ 1..=9] => Some(format!("零{}", ZH[*b as usize])),
        [0, 0, r @ ..] => Some(format!("零{}", tens(r)?)),
        [0, r @ ..] => Some(format!("零{}", hundred(r)?)),
        _ => thousand(ds),
    }
}

fn four_any(ds: &[u8]) -> Option<String> {
    if ds == [0, 0, 0, 0] {
        Some(String::new())
    } else {
        four_nonzero(ds)
    }
}

/// A leading group of 1-4 digits (no leading zero).
fn lead(ds: &[u8]) -> Option<String> {
    match ds.len() {
        1 if ds[0] != 0 => Some(ZH[ds[0] as usize % 10].to_string()),
        2 => ten(ds),
        3 => hundred(ds),
        4 => thousand(ds),
        _ => None,
    }
}

/// Reads an integer of 1-12 digits the way wetext does (`10011` -> `一万零一十一`), with
/// `两` for a leading 2 before `百`/`千`/`万`/`亿`. `None` for leading zeros or > 12 digits.
pub(crate) fn read_int(ds: &[u8]) -> Option<String> {
    let s = match ds.len() {
        0 => return None,
        1 => ZH[ds[0] as usize % 10].to_string(),
        2..=4 => lead(ds)?,
        5..=8 => {
            let (a, b) = ds.split_at(ds.len() - 4);
            format!("{}万{}", lead(a)?, four_any(b)?)
        }
        9..=12 => {
            let (a, rest) = ds.split_at(ds.len() - 8);
            let (w, u) = rest.split_at(4);
            let tail = if w == [0, 0, 0, 0] {
                if u == [0, 0, 0, 0] {
                    String::new()
                } else if u[0] != 0 {
                    format!("零{}", thousand(u)?)
                } else {
                    four_nonzero(u)?
                }
            } else {
                format!("{}万{}", four_nonzero(w)?, four_any(u)?)
            };
            format!("{}亿{tail}", lead(a)?)
        }
        _ => return None,
    };
    Some(two_as_liang(s))
}

fn two_as_liang(s: String) -> String {
    for (from, to) in [
        ("二百", "两百"),
        ("二千", "两千"),
        ("二万", "两万"),
        ("二亿", "两亿"),
    ] {
        if let Some(rest) = s.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    s
}

/// One parse of a written number.
#[derive(Debug, Clone)]
struct Num {
    end: usize,
    s: String,
    /// Exactly the integer 2 (read `两` before a measure word).
    two: bool,
}

fn units(clinical: bool) -> &'static Lexicon<&'static str> {
    static PLAIN: OnceLock<Lexicon<&'static str>> = OnceLock::new();
    static CLINICAL: OnceLock<Lexicon<&'static str>> = OnceLock::new();
    let build = |clinical: bool| {
        let extra: &[(&str, &str)] = if clinical { TN_CLINICAL_UNITS } else { &[] };
        let en = extra
            .iter()
            .chain(TN_UNITS_EN.iter())
            .map(|(k, v)| (*k, *v));
        let zh = TN_UNITS_ZH.iter().map(|k| (*k, *k));
        Lexicon::new(en.chain(zh), false)
    };
    if clinical {
        CLINICAL.get_or_init(|| build(true))
    } else {
        PLAIN.get_or_init(|| build(false))
    }
}

static CURRENCIES: PairLexicon = PairLexicon::new(TN_CURRENCY, false);

static PHONES: PairLexicon = PairLexicon::new(TN_PHONE, false);

/// Whitelist entries: written -> spoken.
fn whitelist(clinical: bool) -> &'static Lexicon<&'static str> {
    static PLAIN: OnceLock<Lexicon<&'static str>> = OnceLock::new();
    static CLINICAL: OnceLock<Lexicon<&'static str>> = OnceLock::new();
    let build = |clinical: bool| {
        let extra: &[&str] = if clinical {
            TN_CLINICAL_ERHUA_KEEP
        } else {
            &[]
        };
        let keep = TN_ERHUA_KEEP.iter().chain(extra.iter()).map(|k| (*k, *k));
        Lexicon::new(
            TN_WHITELIST.iter().map(|(k, v)| (*k, *v)).chain(keep),
            false,
        )
    };
    if clinical {
        CLINICAL.get_or_init(|| build(true))
    } else {
        PLAIN.get_or_init(|| build(false))
    }
}

static FULL_TO_HALF_LEX: PairLexicon = PairLexicon::new(FULL_TO_HALF, false);

/// Memoized number parses at one position (`None`: not computed yet).
type Parses = Option<Rc<Vec<Num>>>;

struct Tn<'a> {
    cs: &'a [char],
    opts: &'a TnOptions,
    cache: RefCell<Vec<[Parses; 2]>>,
}

impl Tn<'_> {
    fn c(&self, i: usize) -> char {
        ch(self.cs, i)
    }

    /// Digits from `i` (with `commas`, `,`/`，` between digits are skipped): values and the
    /// position after each digit.
    fn digits(&self, i: usize, commas: bool) -> (Vec<u8>, Vec<usize>) {
        let mut ds = Vec::new();
        let mut ends = Vec::new();
        let mut k = i;
        while ds.len() < MAX_RUN {
            if let Some(d) = dval(self.c(k)) {
                ds.push(d);
                k += 1;
                ends.push(k);
            } else if commas
                && !ds.is_empty()
                && matches!(self.c(k), ',' | '，')
                && dval(self.c(k + 1)).is_some()
            {
                k += 1;
            } else {
                break;
            }
        }
        (ds, ends)
    }

    /// A signed number with optional decimals: every parse starting at `i`.
    fn plain_numbers(&self, i: usize, commas: bool, whole_run: bool, out: &mut Vec<Num>) {
        let (sign, j) = match (self.c(i), self.c(i + 1)) {
            ('+', _) => ("正", i + 1),
            ('±', _) => ("正负", i + 1),
            ('-', _) => ("负", i + 1),
            _ => ("", i),
        };
        let (ds, ends) = self.digits(j, commas);
        // Every prefix of the digit run that reads as a number (`15/172003-01-08` is
        // 15/17 + a date); with `whole_run`, only the whole run when it reads as one.
        let full = whole_run && ds.len() <= 12 && read_int(&ds).is_some();
        let lens = if full {
            ds.len()..=ds.len()
        } else {
            1..=ds.len().min(12)
        };
        for l in lens {
            let Some(int) = read_int(&ds[..l]) else {
                continue;
            };
            let end = ends[l - 1];
            let int = if sign.is_empty() {
                int
            } else {
                // the 两 rewrite only applies at the very start of the number
                let raw = int.replacen("两", "二", usize::from(int.starts_with('两')));
                format!("{sign}{raw}")
            };
            let two = sign.is_empty() && l == 1 && ds[0] == 2;
            if self.c(end) == '.' && dval(self.c(end + 1)).is_some() {
                let mut s = format!("{int}点");
                let mut k = end + 1;
                while k - end <= MAX_RUN {
                    if commas && matches!(self.c(k), ',' | '，') && dval(self.c(k + 1)).is_some() {
                        k += 1;
                    }
                    let Some(d) = dval(self.c(k)) else { break };
                    s.push_str(ZH[usize::from(d)]);
                    k += 1;
                    out.push(Num {
                        end: k,
                        s: s.clone(),
                        two: false,
                    });
                }
            }
            out.push(Num { end, s: int, two });
        }
    }

    /// wetext's `cardinal.number`: (约)? (人均)? (number | number%), memoized.
    fn numbers(&self, i: usize, commas: bool) -> Rc<Vec<Num>> {
        let slot = usize::from(commas);
        if let Some(v) = self.cache.borrow().get(i).and_then(|s| s[slot].clone()) {
            return v;
        }
        let v = Rc::new(self.numbers_uncached(i, commas));
        if let Some(s) = self.cache.borrow_mut().get_mut(i) {
            s[slot] = Some(v.clone());
        }
        v
    }

    fn numbers_uncached(&self, i: usize, commas: bool) -> Vec<Num> {
        let mut prefix = String::new();
        let mut j = i;
        if self.c(j) == '约' {
            prefix.push('约');
            j += 1;
        }
        if self.c(j) == '人' && self.c(j + 1) == '均' {
            prefix.push_str("人均");
            j += 2;
        }
        let mut raw = Vec::new();
        // after 约/人均 only the whole digit run: `约12:02` is 约 + 12:02, not 约1 + 2:02
        self.plain_numbers(j, commas, !prefix.is_empty(), &mut raw);
        let mut out = Vec::with_capacity(raw.len() * 2);
        for n in raw {
            if matches!(self.c(n.end), '%' | '％') {
                out.push(Num {
                    end: n.end + 1,
                    s: format!("{prefix}百分之{}", n.s),
                    two: false,
                });
            }
            out.push(Num {
                end: n.end,
                s: format!("{prefix}{}", n.s),
                two: n.two && prefix.is_empty(),
            });
        }
        out
    }

    fn space(&self, k: usize) -> usize {
        if self.c(k) == ' ' {
            k + 1
        } else {
            k
        }
    }

    /// Units at `j`: (end, spoken, cost), with an optional `k`/`w` (千/万) first.
    fn units_at(&self, j: usize, out: &mut Vec<(usize, String, i64)>) {
        let lex = units(self.opts.clinical);
        for (len, u) in lex.matches(self.cs, j) {
            out.push((j + len, (*u).to_string(), 0));
        }
        let p = match self.c(j) {
            'k' => "千",
            'w' => "万",
            _ => return,
        };
        for (len, u) in lex.matches(self.cs, j + 1) {
            out.push((j + 1 + len, format!("{p}{u}"), 100));
        }
    }

    /// Range words: `-`, `~`, `到`.
    fn to(&self, k: usize) -> bool {
        matches!(self.c(k), '-' | '~' | '到')
    }

    /// `(n (unit)? to)? n unit`: (end, spoken, cost).
    fn measures(&self, i: usize, out: &mut Vec<(usize, String, i64, bool)>) {
        let mut us = Vec::new();
        let nums = self.numbers(i, true);
        let say = |n: &Num| {
            if n.two {
                "两".to_string()
            } else {
                n.s.clone()
            }
        };
        for n in nums.iter() {
            let k = self.space(n.end);
            us.clear();
            self.units_at(k, &mut us);
            for (e, u, w) in us.iter() {
                out.push((*e, fix_liang(format!("{}{u}", say(n))), *w, false));
            }
            // ranges: n to n unit, n unit to n unit
            let mut tos: Vec<(usize, String, i64)> = Vec::new();
            if self.to(n.end) {
                tos.push((n.end + 1, String::new(), 0));
            }
            for (e, u, w) in us.iter() {
                if self.to(*e) {
                    tos.push((e + 1, u.clone(), *w));
                }
            }
            for (t, u1, w1) in tos {
                for m in self.numbers(t, true).iter() {
                    let k2 = self.space(m.end);
                    let mut us2 = Vec::new();
                    self.units_at(k2, &mut us2);
                    for (e, u, w) in us2 {
                        let s = format!("{}{u1}到{}{u}", say(n), say(m));
                        out.push((e, fix_liang(s), w1 + w, true));
                    }
                }
            }
        }
        // years: 2015年, 2015-2016赛季
        let (ds, _) = self.digits(i, false);
        if ds.len() >= 4 {
            let y1 = read_digits(&ds[..4], false);
            let k = i + 4;
            for (e, unit) in self.year_units(k) {
                out.push((e, format!("{y1}{unit}"), 0, false));
            }
            let mut tos = Vec::new();
            if self.to(k) {
                tos.push((k + 1, ""));
            }
            let sk = self.space(k);
            for (e, unit) in self.year_units(sk) {
                if self.to(e) {
                    tos.push((e + 1, unit));
                }
            }
            for (t, u1) in tos {
                let (ds2, _) = self.digits(t, false);
                if ds2.len() >= 4 {
                    let y2 = read_digits(&ds2[..4], false);
                    for (e, unit) in self.year_units(t + 4) {
                        out.push((e, format!("{y1}{u1}到{y2}{unit}"), 0, true));
                    }
                }
            }
        }
    }

    fn year_units(&self, k: usize) -> Vec<(usize, &'static str)> {
        let mut v = Vec::new();
        match (self.c(k), self.c(k + 1)) {
            ('年', '度') => {
                v.push((k + 2, "年度"));
                v.push((k + 1, "年"));
            }
            ('年', _) => v.push((k + 1, "年")),
            ('赛', '季') => v.push((k + 2, "赛季")),
            _ => {}
        }
        v
    }

    fn measure_cands(&self, i: usize, out: &mut Vec<Cand>) {
        let mut ms = Vec::new();
        self.measures(i, &mut ms);
        for (end, s, w, range) in &ms {
            let kind = if *range {
                DataKind::Range
            } else {
                DataKind::Measure
            };
            out.push(data(*end, s.clone(), W_MEASURE + w, kind));
            // 10km/h -> 每小时十公里
            let k = self.space(*end);
            if self.c(k) == '/' {
                let k = self.space(k + 1);
                let mut dens = Vec::new();
                self.units_at(k, &mut dens);
                let mut ms2 = Vec::new();
                self.measures(k, &mut ms2);
                for (e, d, dw, _) in ms2 {
                    dens.push((e, d, dw));
                }
                for (e, d, dw) in dens {
                    out.push(data(
                        e,
                        format!("每{d}{s}"),
                        W_MEASURE + w + dw,
                        DataKind::Measure,
                    ));
                }
            }
        }
    }

    fn cardinal(&self, i: usize, out: &mut Vec<Cand>) {
        // percentages
        for n in self.numbers(i, false).iter() {
            if n.s.contains("百分之") {
                out.push(data(n.end, n.s.clone(), W_CARDINAL, DataKind::Percentage));
            }
        }
        let (ds, ends) = self.digits(i, false);
        if !ds.is_empty() {
            let first_end = ends[ends.len() - 1];
            // 127.0.0.1
            let mut groups = vec![ds.clone()];
            let mut k = first_end;
            while groups.len() < 4 && self.c(k) == '.' {
                let (g, e) = self.digits(k + 1, false);
                if g.is_empty() {
                    break;
                }
                k = e[e.len() - 1];
                groups.push(g);
            }
            if groups.len() == 4 {
                let s: Vec<String> = groups.iter().map(|g| read_digits(g, false)).collect();
                out.push(data(k, s.join("点"), W_CARDINAL, DataKind::Number));
            }
            // 010-64035547, 400-800-1234 (the last group may end anywhere)
            let mut groups = vec![ds.clone()];
            let mut k = first_end;
            while groups.len() < 3 && self.c(k) == '-' {
                let (g, e) = self.digits(k + 1, false);
                if g.is_empty() {
                    break;
                }
                if groups.len() == 2 {
                    let head: String = groups.iter().map(|g| read_digits(g, false)).collect();
                    for l in 1..=g.len() {
                        let s = format!("{head}{}", read_digits(&g[..l], false));
                        out.push(data(e[l - 1], s, W_CARDINAL, DataKind::Number));
                    }
                } else if groups[0].len() == 3 && g.len() >= 8 {
                    let s = format!(
                        "{}{}",
                        read_digits(&groups[0], false),
                        read_digits(&g[..8], false)
                    );
                    out.push(data(e[7], s, W_CARDINAL, DataKind::Number));
                }
                k = e[e.len() - 1];
                groups.push(g);
            }
            // phone numbers
            for (len, v) in PHONES.get().matches(self.cs, i) {
                out.push(data(
                    i + len,
                    (*v).to_string(),
                    W_CARDINAL - 1000,
                    DataKind::Number,
                ));
            }
            if ds.len() >= 11 {
                out.push(data(
                    ends[10],
                    read_digits(&ds[..11], true),
                    W_CARDINAL - 1000,
                    DataKind::Number,
                ));
            }
        }
        // 尾号(是|为)1234
        if self.c(i) == '尾' && self.c(i + 1) == '号' {
            let mut k = i + 2;
            let mut lead = String::from("尾号");
            if matches!(self.c(k), '是' | '为') {
                lead.push(self.c(k));
                k += 1;
            }
            let (ds, ends) = self.digits(k, false);
            if ds.len() >= 4 {
                lead.push_str(&read_digits(&ds[..4], true));
                out.push(data(ends[3], lead, W_CARDINAL - 1000, DataKind::Number));
            }
        }
    }

    /// Operators (written, spoken) for math.
    fn op(&self, k: usize) -> Option<(usize, &'static str)> {
        Some(match (self.c(k), self.c(k + 1)) {
            ('>', '=') => (k + 2, "大于等于"),
            ('<', '=') => (k + 2, "小于等于"),
            ('≥', _) => (k + 1, "大于等于"),
            ('≤', _) => (k + 1, "小于等于"),
            ('×', _) => (k + 1, "乘"),
            ('÷', _) => (k + 1, "除"),
            ('-', _) => (k + 1, "减"),
            ('+', _) => (k + 1, "加"),
            ('=', _) => (k + 1, "等于"),
            ('~', _) => (k + 1, "到"),
            (':', _) => (k + 1, "比"),
            ('<', _) => (k + 1, "小于"),
            ('>', _) => (k + 1, "大于"),
            _ => return None,
        })
    }

    fn math(&self, i: usize, out: &mut Vec<Cand>) {
        // a lone unambiguous operator
        if let Some((e, s)) = self.op(i) {
            if matches!(self.c(i), '×' | '÷' | '≥' | '≤')
                || (matches!(self.c(i), '<' | '>') && self.c(i + 1) == '=')
            {
                out.push(Cand {
                    end: e,
                    out: s.to_string(),
                    cost: W_MATH,
                    chain_cost: None,
                    tag: Tag::Other,
                });
            }
        }
        let mut frontier: Vec<(usize, String, bool)> = Vec::new();
        for n in self.numbers(i, false).iter() {
            frontier.push((n.end, n.s.clone(), true));
        }
        frontier.sort_by_key(|x| x.0);
        frontier.dedup_by(|b, a| a.0 == b.0);
        let mut depth = 0;
        while !frontier.is_empty() && depth < 8 {
            depth += 1;
            let mut next = Vec::new();
            for (e, s, only_to) in &frontier {
                let tag = if depth == 1 {
                    Tag::Data(DataKind::Number)
                } else if *only_to {
                    Tag::Data(DataKind::Range)
                } else {
                    Tag::Other
                };
                out.push(Cand {
                    end: *e,
                    out: s.clone(),
                    cost: W_MATH,
                    chain_cost: None,
                    tag,
                });
                let k = self.space(*e);
                let Some((k2, op)) = self.op(k) else { continue };
                let k2 = self.space(k2);
                for n in self.numbers(k2, false).iter() {
                    next.push((n.end, format!("{s}{op}{}", n.s), *only_to && op == "到"));
                }
            }
            next.sort_by_key(|x| x.0);
            next.dedup_by(|b, a| a.0 == b.0);
            frontier = next;
        }
    }

    fn money(&self, i: usize, out: &mut Vec<Cand>) {
        for (len, name) in CURRENCIES.get().matches(self.cs, i) {
            let k = self.space(i + len);
            for n in self.numbers(k, false).iter() {
                out.push(data(
                    n.end,
                    format!("{}{name}", n.s),
                    W_MONEY,
                    DataKind::Measure,
                ));
            }
        }
    }

    fn two_digits(&self, k: usize) -> Option<u8> {
        Some(dval(self.c(k))? * 10 + dval(self.c(k + 1))?)
    }

    fn time1(&self, i: usize) -> Vec<(usize, String)> {
        let mut v = Vec::new();
        // hour: 1-2 digits, 1..9 or 00..24
        let mut hours = Vec::new();
        if let Some(h) = self.two_digits(i) {
            if h <= 24 {
                hours.push((i + 2, h));
            }
        }
        if let Some(h @ 1..=9) = dval(self.c(i)) {
            hours.push((i + 1, h));
        }
        for (k, h) in hours {
            if !matches!(self.c(k), ':' | '：') {
                continue;
            }
            let Some(m) = self.two_digits(k + 1).filter(|m| *m <= 59) else {
                continue;
            };
            let hs = match h {
                0 => "零".to_string(),
                2 => "两".to_string(),
                _ => read_int(&[h / 10, h % 10])
                    .or_else(|| read_int(&[h]))
                    .unwrap_or_default(),
            };
            let hs = if h < 10 {
                if h == 2 {
                    "两".into()
                } else {
                    ZH[h as usize].to_string()
                }
            } else {
                hs
            };
            let ms = minute(m);
            let mut cands = vec![(k + 3, format!("{hs}点{ms}"))];
            if matches!(self.c(k + 3), ':' | '：') {
                if let Some(s) = self.two_digits(k + 4).filter(|s| *s <= 59) {
                    cands.push((k + 6, format!("{hs}点{ms}{}", second(s))));
                }
            }
            for (e, s) in cands {
                v.push((e, s.clone()));
                let e2 = self.space(e);
                for (pat, noon) in [
                    ("a.m.", "上午"),
                    ("p.m.", "下午"),
                    ("a m", "上午"),
                    ("p m", "下午"),
                    ("A M", "上午"),
                    ("P M", "下午"),
                    ("am", "上午"),
                    ("pm", "下午"),
                    ("AM", "上午"),
                    ("PM", "下午"),
                ] {
                    let n = pat.chars().count();
                    if self
                        .cs
                        .get(e2..e2 + n)
                        .is_some_and(|w| w.iter().copied().eq(pat.chars()))
                    {
                        v.push((e2 + n, format!("{noon}{s}")));
                    }
                }
            }
        }
        v
    }

    fn time(&self, i: usize, out: &mut Vec<Cand>) {
        for (e, s) in self.time1(i) {
            out.push(data(e, s.clone(), W_TIME, DataKind::Time));
            if matches!(self.c(e), '-' | '~') {
                for (e2, s2) in self.time1(e + 1) {
                    out.push(data(e2, format!("{s}到{s2}"), W_TIME, DataKind::Range));
                }
            }
        }
    }

    /// Dates at `i`: (end, spoken).
    fn date1(&self, i: usize) -> Vec<(usize, String)> {
        let mut v = Vec::new();
        let sep = |k: usize| matches!(self.c(k), '/' | '-' | '.');
        let year = |k: usize| -> Option<String> {
            let d0 = dval(self.c(k)).filter(|d| *d != 0)?;
            let mut ds = vec![d0];
            for j in 1..4 {
                ds.push(dval(self.c(k + j))?);
            }
            Some(format!("{}年", read_digits(&ds, false)))
        };
        // (end, value) for 1-2 digit fields; two-digit-only when `two`
        let field = |k: usize, max: u8, two: bool| -> Vec<(usize, u8)> {
            let mut f = Vec::new();
            if let Some(x) = self.two_digits(k) {
                if (1..=max).contains(&x) {
                    f.push((k + 2, x));
                }
            }
            if !two {
                if let Some(x @ 1..=9) = dval(self.c(k)) {
                    if dval(self.c(k + 1)).is_none() || self.two_digits(k).is_some_and(|x| x > max)
                    {
                        f.push((k + 1, x));
                    }
                }
            }
            f
        };
        let month_s = |m: u8| format!("{}月", read_int(&split(m)).unwrap_or_default());
        let day_s = |d: u8| format!("{}日", read_int(&split(d)).unwrap_or_default());
        // y/m/d, y/mm
        if let Some(y) = year(i) {
            if sep(i + 4) {
                for (k, m) in field(i + 5, 12, false) {
                    if sep(k) {
                        for (k2, d) in field(k + 1, 31, false) {
                            v.push((k2, format!("{y}{}{}", month_s(m), day_s(d))));
                        }
                    }
                    if k == i + 7 {
                        v.push((k, format!("{y}{}", month_s(m))));
                    }
                }
            }
        }
        // d/m/y, mm/y, mm/d
        for (k, a) in field(i, 31, false) {
            if !sep(k) {
                continue;
            }
            for (k2, m) in field(k + 1, 12, false) {
                if sep(k2) {
                    if let Some(y) = year(k2 + 1) {
                        v.push((k2 + 5, format!("{y}{}{}", month_s(m), day_s(a))));
                    }
                }
            }
            if k == i + 2 && (1..=12).contains(&a) {
                if let Some(y) = year(k + 1) {
                    v.push((k + 5, format!("{y}{}", month_s(a))));
                }
                for (k2, d) in field(k + 1, 31, false) {
                    v.push((k2, format!("{}{}", month_s(a), day_s(d))));
                }
            }
        }
        v
    }

    fn date(&self, i: usize, out: &mut Vec<Cand>) {
        for (e, s) in self.date1(i) {
            out.push(data(e, s.clone(), W_DATE, DataKind::Date));
            if matches!(self.c(e), '-' | '~') {
                for (e2, s2) in self.date1(e + 1) {
                    out.push(data(e2, format!("{s}到{s2}"), W_DATE, DataKind::Range));
                }
            }
        }
    }

    fn fraction(&self, i: usize, out: &mut Vec<Cand>) {
        for n in self.numbers(i, false).iter() {
            let k = self.space(n.end);
            if self.c(k) != '/' {
                continue;
            }
            let k = self.space(k + 1);
            for d in self.numbers(k, false).iter() {
                out.push(data(
                    d.end,
                    format!("{}分之{}", d.s, n.s),
                    W_FRACTION,
                    DataKind::Fraction,
                ));
            }
        }
    }

    fn gen(&self, i: usize, out: &mut Vec<Cand>) {
        let c0 = self.c(i);
        for (len, v) in whitelist(self.opts.clinical).matches(self.cs, i) {
            out.push(Cand {
                end: i + len,
                out: (*v).to_string(),
                cost: W_WHITELIST,
                chain_cost: None,
                tag: Tag::Other,
            });
        }
        if c0 == '儿' && self.opts.remove_erhua {
            out.push(Cand {
                end: i + 1,
                out: String::new(),
                cost: W_WHITELIST + 100,
                chain_cost: None,
                tag: Tag::Other,
            });
        }
        let numeric = dval(c0).is_some()
            || (matches!(c0, '+' | '-' | '±') && dval(self.c(i + 1)).is_some())
            || ((c0 == '约' || c0 == '人')
                && self
                    .cs
                    .get(i + 1..(i + 4).min(self.cs.len()))
                    .is_some_and(|w| w.iter().any(|c| dval(*c).is_some())));
        if numeric {
            self.date(i, out);
            self.time(i, out);
            self.measure_cands(i, out);
            self.fraction(i, out);
            self.cardinal(i, out);
        }
        if c0 == '尾' {
            self.cardinal(i, out);
        }
        self.money(i, out);
        self.math(i, out);
    }

    fn skip(&self, i: usize) -> bool {
        let c = self.c(i);
        !(dval(c).is_some()
            || matches!(
                c,
                '+' | '-' | '±' | '约' | '人' | '尾' | '儿' | '×' | '÷' | '≥' | '≤' | '<' | '>'
            )
            || CURRENCIES.get().starts_with_char(c)
            || whitelist(self.opts.clinical).starts_with_char(c))
    }
}

fn split(x: u8) -> Vec<u8> {
    if x >= 10 {
        vec![x / 10, x % 10]
    } else {
        vec![x]
    }
}

/// Minutes after `点`: `00` -> nothing, `02` -> `零二分`, `10` -> `十分`, `35` -> `三十五分`.
fn minute(m: u8) -> String {
    match m {
        0 => String::new(),
        1..=9 => format!("零{}分", ZH[m as usize]),
        _ => format!("{}分", read_int(&split(m)).unwrap_or_default()),
    }
}

/// Seconds: `00` -> nothing, `05` -> `五秒`, `36` -> `三十六秒`.
fn second(s: u8) -> String {
    match s {
        0 => String::new(),
        _ => format!("{}秒", read_int(&split(s)).unwrap_or_default()),
    }
}

/// wetext's post-rewrites of measures: `两两` -> `二两`, `两月` -> `二月`, `两号` -> `二号` at
/// the start, and `到两X` -> `到二X` at the end.
fn fix_liang(s: String) -> String {
    let mut s = s;
    for u in ["两", "月", "号"] {
        let from = format!("两{u}");
        if s.starts_with(&from) {
            s = format!("二{u}{}", &s[from.len()..]);
        }
        let from = format!("到两{u}");
        if s.ends_with(&from) {
            let cut = s.len() - from.len();
            s = format!("{}到二{u}", &s[..cut]);
        }
    }
    s
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

/// Runs the TN tokenizer.
pub(crate) fn tokens(cs: &[char], opts: &TnOptions) -> Vec<Token> {
    let t = Tn {
        cs,
        opts,
        cache: RefCell::new(vec![[None, None]; cs.len() + 1]),
    };
    best_cut(cs.len(), false, |i, out| t.gen(i, out), |i| t.skip(i))
}

/// TN with options.
pub(crate) fn run(text: &str, opts: &TnOptions) -> NormalizedText {
    let cs: Vec<char> = text.chars().collect();
    let toks = tokens(&cs, opts);
    let mut b = NormalizedTextBuilder::new(cs.len());
    let f2h = FULL_TO_HALF_LEX.get();
    for t in toks {
        match t.out {
            Some(s) => b.push(&s, Span::new(t.start, t.end)),
            None => {
                let c = ch(&cs, t.start);
                if opts.remove_interjections && matches!(c, '呃' | '啊') {
                    b.push("", Span::new(t.start, t.end));
                } else if let (true, Some((_, h))) = (opts.full_to_half, f2h.longest(&cs, t.start))
                {
                    b.push(h, Span::new(t.start, t.end));
                } else {
                    b.push_char(c, t.start);
                }
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tn::tn;

    fn ds(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn integers() {
        for (n, want) in [
            ("0", "零"),
            ("10", "十"),
            ("11", "十一"),
            ("101", "一百零一"),
            ("110", "一百一十"),
            ("200", "两百"),
            ("1011", "一千零一十一"),
            ("10011", "一万零一十一"),
            ("101111", "十万一千一百一十一"),
            ("120000", "十二万"),
            ("100000001", "一亿零一"),
            ("100010000", "一亿零一万"),
            ("210000000000", "两千一百亿"),
        ] {
            assert_eq!(read_int(&ds(n)).as_deref(), Some(want), "{n}");
        }
        assert_eq!(read_int(&ds("012")), None);
        assert_eq!(read_int(&ds("1234567890123")), None);
        assert_eq!(read_digits(&ds("2008"), false), "二零零八");
        assert_eq!(read_digits(&ds("110"), true), "幺幺零");
    }

    #[test]
    fn rules() {
        assert_eq!(tn("3.2cm").text, "三点二厘米");
        assert_eq!(tn("2个").text, "两个");
        assert_eq!(tn("15%").text, "百分之十五");
        assert_eq!(tn("2/3").text, "三分之二");
        assert_eq!(tn("2:02").text, "两点零二分");
        assert_eq!(tn("8:00 a.m.").text, "上午八点");
        assert_eq!(tn("2024-03-05").text, "二零二四年三月五日");
        assert_eq!(tn("08/08").text, "八月八日");
        assert_eq!(tn("3-5cm").text, "三到五厘米");
        assert_eq!(tn("1,000kg").text, "一千千克");
        assert_eq!(tn("10km/h").text, "每小时十公里");
        assert_eq!(tn("￥13.5").text, "十三点五元");
        assert_eq!(tn("2 ≤ 4").text, "二小于等于四");
        assert_eq!(tn("13501234567").text, "幺三五零幺二三四五六七");
        assert_eq!(tn("这儿").text, "这");
        assert_eq!(tn("患儿").text, "患儿");
        assert_eq!(tn("好！").text, "好!");
    }

    #[test]
    fn offsets() {
        let n = tn("长3.2cm");
        assert_eq!(n.text, "长三点二厘米");
        assert_eq!(n.to_original(Span::new(1, 6)), Span::new(1, 6));
        let n = tn("这儿好");
        assert_eq!(n.text, "这好");
        assert_eq!(n.to_original(Span::new(1, 2)), Span::new(2, 3));
    }
}
