//! Inverse text normalization (spoken -> written), modelled on WeTextProcessing's Chinese
//! ITN grammar (`itn/chinese/rules/*.py`) with the same token classes and weights, plus
//! clinical additions (units, sizes, a conservative rule for bare single digits and a list
//! of words whose numerals are not numbers).

use super::lattice::{best_cut, Cand, Tag, Token};
use super::lex::{ch, Lexicon, MAX_RUN};
use super::spoken::{dig0, digit, number, plain_digit, starts_number, zero, NumParse};
use super::tables::*;
use super::{DataKind, DateStyle, ItnOptions};
use quarry_core::offsets::NormalizedTextBuilder;
use quarry_core::{NormalizedText, Span};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

// Token class costs (wetext weights x 1000).
const W_LICENSE: i64 = 1000;
const W_WHITELIST: i64 = 1010;
const W_DATE: i64 = 1020;
const W_MONEY: i64 = 1040;
const W_SIZE: i64 = 1040;
const W_MEASURE: i64 = 1050;
const W_TIME: i64 = 1050;
const W_FRACTION: i64 = 1050;
const W_CARDINAL: i64 = 1060;
const W_MATH: i64 = 1100;

/// A unit after a number: written form and cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    /// Written form.
    pub(crate) out: &'static str,
    /// True for units written as symbols (`厘米` -> `cm`), false for Chinese measure words.
    pub(crate) en: bool,
}

/// Units after a spoken or written number (with or without the clinical additions).
pub(crate) fn units(clinical: bool) -> &'static Lexicon<Unit> {
    static PLAIN: OnceLock<Lexicon<Unit>> = OnceLock::new();
    static CLINICAL: OnceLock<Lexicon<Unit>> = OnceLock::new();
    let build = |clinical: bool| {
        let extra: &[(&str, &str)] = if clinical { ITN_CLINICAL_UNITS } else { &[] };
        let en = extra
            .iter()
            .chain(ITN_UNITS_EN.iter())
            .map(|(k, v)| (*k, Unit { out: v, en: true }));
        let extra_zh: &[&str] = if clinical { ITN_CLINICAL_UNITS_ZH } else { &[] };
        let zh = ITN_UNITS_ZH
            .iter()
            .chain(extra_zh.iter())
            .map(|k| (*k, Unit { out: k, en: false }));
        Lexicon::new(en.chain(zh), false)
    };
    if clinical {
        CLINICAL.get_or_init(|| build(true))
    } else {
        PLAIN.get_or_init(|| build(false))
    }
}

fn currencies() -> &'static Lexicon<(&'static str, i64)> {
    static L: OnceLock<Lexicon<(&'static str, i64)>> = OnceLock::new();
    L.get_or_init(|| {
        let sym = ITN_CURRENCY_SYMBOL.iter().map(|(k, v)| (*k, (*v, 0)));
        let code = ITN_CURRENCY_CODE.iter().map(|(k, v)| (*k, (*v, 1000)));
        Lexicon::new(sym.chain(code), false)
    })
}

fn whitelist(clinical: bool) -> &'static Lexicon<()> {
    static PLAIN: OnceLock<Lexicon<()>> = OnceLock::new();
    static CLINICAL: OnceLock<Lexicon<()>> = OnceLock::new();
    if clinical {
        CLINICAL.get_or_init(|| {
            Lexicon::new(
                ITN_WHITELIST
                    .iter()
                    .chain(ITN_CLINICAL_KEEP.iter())
                    .map(|k| (*k, ())),
                false,
            )
        })
    } else {
        PLAIN.get_or_init(|| Lexicon::new(ITN_WHITELIST.iter().map(|k| (*k, ())), false))
    }
}

/// True for CJK ideographs (the characters that make words with a numeral).
pub(crate) use quarry_core::lang::is_cjk as is_han;

/// Memoized number parses at one position (`None`: not computed yet).
type Parses = Option<Rc<Vec<NumParse>>>;

/// Scanner state for one text.
pub(crate) struct Itn<'a> {
    pub(crate) cs: &'a [char],
    opts: &'a ItnOptions,
    /// Canonical mode (sizes get a unit on every dimension).
    pub(crate) canonical: bool,
    cache: RefCell<Vec<[Parses; 2]>>,
}

impl<'a> Itn<'a> {
    pub(crate) fn new(cs: &'a [char], opts: &'a ItnOptions) -> Self {
        Itn {
            cs,
            opts,
            canonical: false,
            cache: RefCell::new(vec![[None, None]; cs.len() + 1]),
        }
    }

    fn c(&self, i: usize) -> char {
        ch(self.cs, i)
    }

    /// Number parses at `i`, the cheapest per (end, decimals, bare digit); `full` includes
    /// bare digits 0-9 whatever the options say.
    fn nums(&self, i: usize, full: bool) -> Rc<Vec<NumParse>> {
        let full = full || self.opts.single_digits;
        let slot = usize::from(!full);
        if i >= self.cs.len() || !starts_number(self.c(i)) {
            return Rc::new(Vec::new());
        }
        if let Some(v) = self.cache.borrow().get(i).and_then(|s| s[slot].clone()) {
            return v;
        }
        let mut raw = Vec::new();
        number(self.cs, i, full, &mut raw);
        raw.sort_by_key(|p| (p.end, p.dec, p.single, p.w));
        raw.dedup_by(|b, a| a.end == b.end && a.dec == b.dec && a.single == b.single);
        let v = Rc::new(raw);
        if let Some(s) = self.cache.borrow_mut().get_mut(i) {
            s[slot] = Some(v.clone());
        }
        v
    }

    /// Units starting at `j`: (end, written, cost), with an optional `亿`/`兆`/`万` first.
    fn units_at(&self, j: usize, out: &mut Vec<(usize, String, i64)>) {
        let lex = units(self.opts.clinical);
        let push_units = |k: usize, zh_prefix: &str, en_prefix: &str, w: i64, out: &mut Vec<_>| {
            for (len, u) in lex.matches(self.cs, k) {
                let u: &Unit = u;
                if u.en {
                    out.push((k + len, format!("{en_prefix}{}", u.out), w - 1000));
                } else {
                    out.push((k + len, format!("{zh_prefix}{}", u.out), w));
                }
            }
        };
        push_units(j, "", "", 0, out);
        let (zh, en) = match self.c(j) {
            '亿' => ("亿", "00M"),
            '兆' => ("兆", "T"),
            '万' => ("万", "W"),
            _ => return,
        };
        push_units(j + 1, zh, en, -500, out);
    }

    /// `number (到 number)? unit`: (end, written, inner cost, is range).
    fn measures(&self, i: usize, out: &mut Vec<(usize, String, i64, bool)>) {
        let mut us = Vec::new();
        for n in self.nums(i, false).iter() {
            us.clear();
            self.units_at(n.end, &mut us);
            for (e, u, w) in us.drain(..) {
                out.push((e, format!("{}{u}", n.s), n.w + w, false));
            }
            for t in self.to_at(n.end) {
                for m in self.nums(t, false).iter() {
                    self.units_at(m.end, &mut us);
                    for (e, u, w) in us.drain(..) {
                        out.push((e, format!("{}~{}{u}", n.s, m.s), n.w + m.w + w, true));
                    }
                }
            }
        }
    }

    /// Positions after a range word at `j` (`到`, `到百分之`).
    fn to_at(&self, j: usize) -> Vec<usize> {
        let mut v = Vec::new();
        if self.c(j) == '到' {
            v.push(j + 1);
            if self.c(j + 1) == '百' && self.c(j + 2) == '分' && self.c(j + 3) == '之' {
                v.push(j + 4);
            }
        }
        v
    }

    /// Conservative rule for a bare single digit at `i`: it is a number only before the end,
    /// a non-Han character, `的`, or a unit.
    fn single_ok(&self, i: usize) -> bool {
        if !plain_digit(self.c(i)) {
            return false;
        }
        let mut r = i;
        while r - i < MAX_RUN && dig0(self.c(r)).is_some() {
            r += 1;
        }
        let c = self.c(r);
        if c == '\0' || !is_han(c) || c == '的' {
            return true;
        }
        let mut us = Vec::new();
        self.units_at(r, &mut us);
        !us.is_empty()
    }

    fn cardinals(&self, i: usize, out: &mut Vec<Cand>) {
        let push = |out: &mut Vec<Cand>, end: usize, s: String, w: i64| {
            let kind = if s.contains('~') || s.get(1..).is_some_and(|t| t.contains('-')) {
                DataKind::Range
            } else {
                DataKind::Number
            };
            out.push(Cand {
                end,
                out: s,
                cost: W_CARDINAL + w,
                chain_cost: Some(w),
                tag: Tag::Cardinal(kind),
            });
        };
        // digit strings, with dots: 幺二七点零点零点幺 -> 127.0.0.1, 二点五 -> 2.5
        let mut run = i;
        let mut s = String::new();
        while run - i < MAX_RUN {
            let Some(d) = dig0(self.c(run)) else { break };
            s.push(d);
            run += 1;
        }
        let len = run - i;
        if len > 0 {
            let mut e = run;
            let mut ds = s.clone();
            let mut groups = 1;
            while groups < 6 && matches!(self.c(e), '点' | '點') && dig0(self.c(e + 1)).is_some()
            {
                groups += 1;
                ds.push('.');
                e += 1;
                let group_start = e;
                while e - group_start < MAX_RUN {
                    let Some(d) = dig0(self.c(e)) else { break };
                    ds.push(d);
                    e += 1;
                    push(out, e, ds.clone(), 0);
                }
            }
            // 110, 1234, 12306, phone numbers, ID cards
            for l in [3usize, 4, 5, 11, 18] {
                if len >= l {
                    push(out, i + l, s.chars().take(l).collect(), 0);
                }
            }
            if len == 17 && matches!(self.c(run), 'X' | 'x') {
                push(out, run + 1, format!("{s}{}", self.c(run)), 0);
            }
            // 幺三八四个八 -> 1388888
            for m in i + 1..run {
                if self.c(m + 1) == '个' {
                    let n = match digit(self.c(m)) {
                        Some(n @ '3'..='9') => n as usize - '0' as usize,
                        _ => continue,
                    };
                    if let Some(x) = dig0(self.c(m + 2)) {
                        let mut t: String = s.chars().take(m - i).collect();
                        t.extend(std::iter::repeat_n(x, n));
                        let mut e = m + 3;
                        push(out, e, t.clone(), 0);
                        while e - m < MAX_RUN {
                            let Some(d) = dig0(self.c(e)) else { break };
                            t.push(d);
                            e += 1;
                            push(out, e, t.clone(), 0);
                        }
                    }
                }
            }
        }
        // numbers with decimals are always cardinals; others when standalone numbers are on
        for p in self.nums(i, true).iter() {
            if p.dec {
                push(out, p.end, p.s.clone(), p.w);
            }
        }
        if self.opts.standalone_numbers {
            for p in self.nums(i, false).iter() {
                if p.dec {
                    continue;
                }
                if p.single && self.opts.clinical && !self.single_ok(i) {
                    continue;
                }
                push(out, p.end, p.s.clone(), p.w + 100);
            }
        }
    }

    fn measure_cands(&self, i: usize, out: &mut Vec<Cand>) {
        let mut ms = Vec::new();
        self.measures(i, &mut ms);
        for (end, s, w, range) in ms {
            let kind = if range {
                DataKind::Range
            } else {
                DataKind::Measure
            };
            out.push(data(end, s, W_MEASURE + w, kind));
        }
        // 一百一个 -> 100 1个
        if let (Some(d), Some(e)) = (digit(self.c(i)), digit(self.c(i + 2))) {
            let zeros = match self.c(i + 1) {
                '百' => "00",
                '千' => "000",
                '万' => "0000",
                _ => "",
            };
            if !zeros.is_empty() {
                for u in ["个月", "年", "月", "周", "天", "位", "次", "个", "顿"] {
                    let ul = u.chars().count();
                    if self
                        .cs
                        .get(i + 3..i + 3 + ul)
                        .is_some_and(|s| s.iter().copied().eq(u.chars()))
                    {
                        let s = if self.opts.single_digits {
                            format!("{d}{zeros} {e}{u}")
                        } else {
                            format!("{d}{zeros}{}{u}", self.c(i + 2))
                        };
                        // wins the tie with `一百一` + unit, as in wetext
                        out.push(data(i + 3 + ul, s, W_MEASURE + 499, DataKind::Measure));
                    }
                }
            }
        }
        // 十二块五(毛) -> 12块5(毛)
        for n in self.nums(i, true).iter() {
            if self.c(n.end) == '块' {
                if let Some(e) = digit(self.c(n.end + 1)) {
                    let s = format!("{}块{e}", n.s);
                    let k = n.end + 2;
                    match self.c(k) {
                        '毛' => out.push(data(
                            k + 1,
                            format!("{s}毛"),
                            W_MEASURE + n.w,
                            DataKind::Measure,
                        )),
                        '角' => {
                            out.push(data(k + 1, s.clone(), W_MEASURE + n.w, DataKind::Measure))
                        }
                        _ => {}
                    }
                    out.push(data(k, s, W_MEASURE + n.w, DataKind::Measure));
                }
            }
        }
        // percentages: (负的?)百分之三十(到四十), 百分百
        for (sign, j) in [
            ("", i),
            ("-", i + 1),
            ("-", i + 2),
            ("+", i + 1),
            ("±", i + 2),
        ] {
            let ok = match (sign, j - i) {
                ("", _) => true,
                ("-", 1) => self.c(i) == '负',
                ("-", 2) => self.c(i) == '负' && self.c(i + 1) == '的',
                ("+", _) => self.c(i) == '正' && self.c(i + 1) != '负',
                ("±", _) => self.c(i) == '正' && self.c(i + 1) == '负',
                _ => false,
            };
            if !ok || self.c(j) != '百' || self.c(j + 1) != '分' {
                continue;
            }
            let mut ks = vec![j + 2];
            if self.c(j + 2) == '之' {
                ks.push(j + 3);
            }
            for k in ks {
                for n in self.nums(k, true).iter() {
                    out.push(data(
                        n.end,
                        format!("{sign}{}%", n.s),
                        W_MEASURE + n.w,
                        DataKind::Percentage,
                    ));
                    for t in self.to_at(n.end) {
                        for m in self.nums(t, true).iter() {
                            out.push(data(
                                m.end,
                                format!("{sign}{}~{}%", n.s, m.s),
                                W_MEASURE + n.w + m.w,
                                DataKind::Range,
                            ));
                        }
                        if self.c(t) == '百' {
                            out.push(data(
                                t + 1,
                                format!("{sign}{}~100%", n.s),
                                W_MEASURE + n.w,
                                DataKind::Range,
                            ));
                        }
                    }
                }
                if self.c(k) == '百' {
                    out.push(data(
                        k + 1,
                        format!("{sign}100%"),
                        W_MEASURE,
                        DataKind::Percentage,
                    ));
                }
            }
        }
        // 每小时十千米 -> 10km/h
        if self.c(i) == '每' {
            let mut us = Vec::new();
            self.units_at(i + 1, &mut us);
            for (k, u, uw) in us {
                let mut ms = Vec::new();
                self.measures(k, &mut ms);
                for (end, s, w, range) in ms {
                    let kind = if range {
                        DataKind::Range
                    } else {
                        DataKind::Measure
                    };
                    out.push(data(end, format!("{s}/{u}"), W_MEASURE + uw + w, kind));
                }
            }
        }
        // clinical sizes: 三点二乘二点八厘米 -> 3.2×2.8cm
        if self.opts.clinical {
            self.sizes(i, out);
        }
    }

    /// Spoken sizes: `三点二乘二点八厘米`, `三厘米乘两厘米`, with `乘` or `乘以`, 2 or 3
    /// dimensions, at least one length unit. ITN writes them as spoken (`3.2×2.8cm`); the
    /// canonical mode attaches the unit to every dimension (`3.2cm×2.8cm`).
    fn sizes(&self, i: usize, out: &mut Vec<Cand>) {
        // a partial size: end, cost, dimensions (number, unit)
        type Dims = Vec<(String, Option<String>)>;
        let mut frontier: Vec<(usize, i64, Dims)> = Vec::new();
        let mut us = Vec::new();
        let extend =
            |k: usize, w: i64, dims: &Dims, next: &mut Vec<(usize, i64, Dims)>, us: &mut Vec<_>| {
                for n in self.nums(k, true).iter() {
                    let mut d = dims.clone();
                    d.push((n.s.clone(), None));
                    next.push((n.end, w + n.w, d.clone()));
                    us.clear();
                    self.units_at(n.end, us);
                    for (e, u, uw) in us.drain(..) {
                        if is_size_unit(&u) {
                            let mut d2 = d.clone();
                            if let Some(last) = d2.last_mut() {
                                last.1 = Some(u);
                            }
                            next.push((e, w + n.w + uw, d2));
                        }
                    }
                }
            };
        extend(i, 0, &Vec::new(), &mut frontier, &mut us);
        for _ in 2..=3 {
            let mut next = Vec::new();
            for (e, w, dims) in &frontier {
                let k = match (self.c(*e), self.c(e + 1)) {
                    ('乘', '以') => e + 2,
                    ('乘', _) => e + 1,
                    _ => continue,
                };
                extend(k, *w, dims, &mut next, &mut us);
            }
            for (e, w, dims) in &next {
                if dims.iter().any(|d| d.1.is_some()) {
                    out.push(data(
                        *e,
                        format_size(dims, self.canonical),
                        W_SIZE + w,
                        DataKind::Size,
                    ));
                }
            }
            frontier = next;
        }
    }

    fn money(&self, i: usize, out: &mut Vec<Cand>) {
        let mut values: Vec<(usize, String, i64)> = self
            .nums(i, false)
            .iter()
            .map(|n| (n.end, n.s.clone(), n.w))
            .collect();
        if let (Some(a), Some(b)) = (digit(self.c(i)), digit(self.c(i + 1))) {
            values.push((i + 2, format!("{a}~{b}"), 0));
        }
        for (e, v, w) in values {
            for (len, (cur, cw)) in currencies().matches(self.cs, e) {
                let k = e + len;
                let s = format!("{cur}{v}");
                out.push(data(k, s.clone(), W_MONEY + w + cw, DataKind::Measure));
                // 元五角八分 -> .58
                if let Some(d) = digit(self.c(k)) {
                    if matches!(self.c(k + 1), '毛' | '角') {
                        out.push(data(
                            k + 2,
                            format!("{s}.{d}"),
                            W_MONEY + w + cw,
                            DataKind::Measure,
                        ));
                        if let (Some(f), '分') = (digit(self.c(k + 2)), self.c(k + 3)) {
                            out.push(data(
                                k + 4,
                                format!("{s}.{d}{f}"),
                                W_MONEY + w + cw,
                                DataKind::Measure,
                            ));
                        }
                    }
                }
            }
        }
    }

    /// Hour `一点`..`九点` (`两点`, not `二点`), `零点`, `十点`..`二十四点`: (end, written).
    fn hour(&self, j: usize) -> Option<(usize, String)> {
        let (n, k) = self.small(j)?;
        if self.c(k) != '点' {
            return None;
        }
        let ok = match n {
            0..=9 => k == j + 1 && self.c(j) != '二',
            10..=24 => true,
            _ => false,
        };
        if !ok {
            return None;
        }
        let s = if n == 0 {
            "00".to_string()
        } else {
            n.to_string()
        };
        Some((k + 1, s))
    }

    /// A small spoken number 0..99 in the simple forms used by times and dates
    /// (`零`, `五`, `十`, `十五`, `二十`, `二十五`): (value, end).
    fn small(&self, j: usize) -> Option<(u32, usize)> {
        let d = |c: char| match c {
            '一' => Some(1),
            '二' | '两' => Some(2),
            '三' => Some(3),
            '四' => Some(4),
            '五' => Some(5),
            '六' => Some(6),
            '七' => Some(7),
            '八' => Some(8),
            '九' => Some(9),
            _ => None,
        };
        let c0 = self.c(j);
        if zero(c0) && c0 != '洞' {
            return Some((0, j + 1));
        }
        if c0 == '十' {
            return Some(match d(self.c(j + 1)) {
                Some(e) if self.c(j + 1) != '两' => (10 + e, j + 2),
                _ => (10, j + 1),
            });
        }
        let a = d(c0)?;
        if self.c(j + 1) == '十' {
            if c0 == '两' {
                return None;
            }
            return Some(match d(self.c(j + 2)) {
                Some(e) if self.c(j + 2) != '两' => (a * 10 + e, j + 3),
                _ => (a * 10, j + 2),
            });
        }
        Some((a, j + 1))
    }

    /// Minutes `十`..`五十九`, `半` (then `分`?): (end, mm, zero-form needing 分).
    fn minutes(&self, j: usize, out: &mut Vec<(usize, String)>, noon: bool) {
        if self.c(j) == '半' {
            out.push((j + 1, "30".into()));
            return;
        }
        if zero(self.c(j)) && self.c(j) != '洞' {
            if let Some(d) = match self.c(j + 1) {
                c @ ('一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九') => {
                    digit(c)
                }
                _ => None,
            } {
                if self.c(j + 2) == '分' {
                    out.push((j + 3, format!("0{d}")));
                } else if noon {
                    out.push((j + 2, format!("0{d}")));
                }
            }
            return;
        }
        if let Some((m, k)) = self.small(j) {
            if (10..=59).contains(&m) && self.c(j) != '两' {
                out.push((k, format!("{m:02}")));
                if self.c(k) == '分' {
                    out.push((k + 1, format!("{m:02}")));
                }
            }
        }
    }

    fn time(&self, i: usize, out: &mut Vec<Cand>) {
        let noon = match (self.c(i), self.c(i + 1)) {
            ('上', '午') | ('早', '上') | ('早', '晨') => Some("a.m."),
            ('下', '午') | ('晚', '上') | ('傍', '晚') => Some("p.m."),
            _ => None,
        };
        let mut starts = vec![(i, None)];
        if noon.is_some() {
            starts.push((i + 2, noon));
        }
        let mut ms = Vec::new();
        for (j, noon) in starts {
            let Some((k, h)) = self.hour(j) else { continue };
            ms.clear();
            self.minutes(k, &mut ms, noon.is_some());
            for (e, m) in ms.iter() {
                let base = format!("{h}:{m}");
                let suffix = noon.unwrap_or("");
                out.push(data(*e, format!("{base}{suffix}"), W_TIME, DataKind::Time));
                if let Some((sv, se)) = self.small(*e) {
                    if (1..=59).contains(&sv)
                        && self.c(se) == '秒'
                        && !zero(self.c(*e))
                        && self.c(*e) != '两'
                    {
                        out.push(data(
                            se + 1,
                            format!("{base}:{sv:02}{suffix}"),
                            W_TIME,
                            DataKind::Time,
                        ));
                    }
                }
            }
        }
    }

    fn date(&self, i: usize, out: &mut Vec<Cand>) {
        let style = self.opts.date_style;
        // year: 4, 3 or 2 spoken digits + 年
        let mut year = None;
        let run: Vec<char> = (i..i + 4).map_while(|k| dig0(self.c(k))).collect();
        for l in [4usize, 3, 2] {
            if run.len() >= l && self.c(i + l) == '年' && (l == 2 || run[0] != '0') {
                year = Some((i + l + 1, run[..l].iter().collect::<String>()));
                break;
            }
        }
        let month_at = |j: usize| -> Option<(usize, u32)> {
            let (m, k) = self.small(j)?;
            (self.c(k) == '月' && (1..=12).contains(&m) && self.c(j) != '两' && !zero(self.c(j)))
                .then_some((k + 1, m))
        };
        let day_at = |j: usize| -> Option<(usize, u32)> {
            let (d, k) = self.small(j)?;
            (matches!(self.c(k), '日' | '号')
                && (1..=31).contains(&d)
                && self.c(j) != '两'
                && !zero(self.c(j)))
            .then_some((k + 1, d))
        };
        let fmt = |y: Option<&str>, m: Option<u32>, d: Option<u32>| -> String {
            match style {
                DateStyle::Slash => {
                    let mut s = String::new();
                    if let Some(y) = y {
                        s.push_str(y);
                    }
                    if let Some(m) = m {
                        if !s.is_empty() {
                            s.push('/');
                        }
                        s.push_str(&format!("{m:02}"));
                    }
                    if let Some(d) = d {
                        s.push_str(&format!("/{d:02}"));
                    }
                    s
                }
                DateStyle::Chinese => {
                    let mut s = String::new();
                    if let Some(y) = y {
                        s.push_str(&format!("{y}年"));
                    }
                    if let Some(m) = m {
                        s.push_str(&format!("{m}月"));
                    }
                    if let Some(d) = d {
                        s.push_str(&format!("{d}日"));
                    }
                    s
                }
            }
        };
        if let Some((k, y)) = &year {
            out.push(data(*k, format!("{y}年"), W_DATE, DataKind::Date));
            if let Some((k2, m)) = month_at(*k) {
                out.push(data(
                    k2,
                    fmt(Some(y), Some(m), None),
                    W_DATE,
                    DataKind::Date,
                ));
                if let Some((k3, d)) = day_at(k2) {
                    out.push(data(
                        k3,
                        fmt(Some(y), Some(m), Some(d)),
                        W_DATE,
                        DataKind::Date,
                    ));
                }
            }
        }
        if let Some((k2, m)) = month_at(i) {
            if let Some((k3, d)) = day_at(k2) {
                out.push(data(
                    k3,
                    fmt(None, Some(m), Some(d)),
                    W_DATE,
                    DataKind::Date,
                ));
            }
        }
    }

    fn fraction(&self, i: usize, out: &mut Vec<Cand>) {
        let mut starts = vec![("", i, 0)];
        match (self.c(i), self.c(i + 1)) {
            ('正', '负') => starts.push(("±", i + 2, -1000)),
            ('负', '的') => starts.push(("-", i + 2, -1000)),
            ('负', _) => starts.push(("-", i + 1, -1000)),
            ('正', _) => starts.push(("+", i + 1, -1000)),
            _ => {}
        }
        for (sign, j, sw) in starts {
            for den in self.nums(j, true).iter() {
                if self.c(den.end) != '分' || self.c(den.end + 1) != '之' {
                    continue;
                }
                for num in self.nums(den.end + 2, true).iter() {
                    out.push(data(
                        num.end,
                        format!("{sign}{}/{}", num.s, den.s),
                        W_FRACTION + sw + den.w + num.w,
                        DataKind::Fraction,
                    ));
                }
            }
        }
    }

    fn math(&self, i: usize, out: &mut Vec<Cand>) {
        // (end, written, cost, only 到)
        let mut frontier: Vec<(usize, String, i64, bool)> = self
            .nums(i, true)
            .iter()
            .map(|n| (n.end, n.s.clone(), n.w, true))
            .collect();
        for _ in 0..8 {
            let mut next: Vec<(usize, String, i64, bool)> = Vec::new();
            for (e, s, w, only_to) in &frontier {
                let (op, k) = match (self.c(*e), self.c(e + 1)) {
                    ('等', '于') => ("=", e + 2),
                    ('乘', _) => ("×", e + 1),
                    ('减', _) => ("-", e + 1),
                    ('到', _) => ("~", e + 1),
                    ('加', _) => ("+", e + 1),
                    ('比', _) => (":", e + 1),
                    ('除', _) => ("÷", e + 1),
                    _ => continue,
                };
                for n in self.nums(k, true).iter() {
                    next.push((
                        n.end,
                        format!("{s}{op}{}", n.s),
                        w + n.w,
                        *only_to && op == "~",
                    ));
                }
            }
            if next.is_empty() {
                break;
            }
            // keep the cheapest per end
            next.sort_by_key(|x| (x.0, x.2));
            next.dedup_by(|b, a| a.0 == b.0);
            for (e, s, w, only_to) in &next {
                let tag = if *only_to {
                    Tag::Data(DataKind::Range)
                } else {
                    Tag::Other
                };
                out.push(Cand {
                    end: *e,
                    out: s.clone(),
                    cost: W_MATH + w,
                    chain_cost: None,
                    tag,
                });
            }
            frontier = next;
        }
    }

    fn plates_and_trains(&self, i: usize, out: &mut Vec<Cand>) {
        let c0 = self.c(i);
        // license plates: 皖C九B三四E -> 皖C9B34E
        if "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼".contains(c0)
            && self.c(i + 1).is_ascii_alphabetic()
        {
            let mut s = format!("{c0}{}", self.c(i + 1));
            let mut k = i + 2;
            while k < i + 8 {
                let c = self.c(k);
                if c.is_ascii_alphabetic() {
                    s.push(c);
                } else if let Some(d) = dig0(c) {
                    s.push(d);
                } else {
                    break;
                }
                k += 1;
                if k - i - 2 >= 5 {
                    out.push(Cand {
                        end: k,
                        out: s.clone(),
                        cost: W_LICENSE,
                        chain_cost: None,
                        tag: Tag::Other,
                    });
                }
            }
        }
        // train numbers: 高一二三 -> G123
        let prefix = match c0 {
            '高' => 'G',
            '动' => 'D',
            '特' => 'T',
            '快' => 'K',
            '直' => 'Z',
            '慢' | '临' => 'L',
            _ => return,
        };
        let mut s = prefix.to_string();
        for k in 1..=4 {
            let Some(d) = dig0(self.c(i + k)) else { break };
            s.push(d);
            if k >= 2 {
                out.push(Cand {
                    end: i + k + 1,
                    out: s.clone(),
                    cost: W_LICENSE,
                    chain_cost: None,
                    tag: Tag::Other,
                });
            }
        }
    }

    /// All candidates starting at `i`.
    pub(crate) fn gen(&self, i: usize, out: &mut Vec<Cand>) {
        let c0 = self.c(i);
        for (len, _) in whitelist(self.opts.clinical).matches(self.cs, i) {
            out.push(Cand {
                end: i + len,
                out: self.cs[i..i + len].iter().collect(),
                cost: W_WHITELIST,
                chain_cost: None,
                tag: Tag::Other,
            });
        }
        // times first: they win ties with measures (`两点零二分` is 2:02, not 2.02分)
        if starts_number(c0) || matches!(c0, '上' | '早' | '下' | '晚' | '傍') {
            self.time(i, out);
        }
        if starts_number(c0) || c0 == '百' || c0 == '每' {
            self.cardinals(i, out);
            self.measure_cands(i, out);
            self.money(i, out);
            self.fraction(i, out);
            self.math(i, out);
        }
        if dig0(c0).is_some() || c0 == '十' {
            self.date(i, out);
        }
        self.plates_and_trains(i, out);
    }

    /// True when no candidate can start at `i`.
    pub(crate) fn skip(&self, i: usize) -> bool {
        let c = self.c(i);
        !(starts_number(c)
            || matches!(
                c,
                '百' | '每'
                    | '上'
                    | '早'
                    | '下'
                    | '晚'
                    | '傍'
                    | '高'
                    | '动'
                    | '特'
                    | '快'
                    | '直'
                    | '慢'
                    | '临'
            )
            || self.c(i + 1).is_ascii_alphabetic()
            || whitelist(self.opts.clinical).starts_with_char(c))
    }
}

/// Joins size dimensions: as spoken (`3.2×2.8cm`) or, in canonical mode, with each
/// dimension's unit, a missing one taken from the next dimension that has one, else the
/// previous (`3.2cm×2.8cm`).
pub(crate) fn format_size(dims: &[(String, Option<String>)], canonical: bool) -> String {
    let mut s = String::new();
    for (k, (n, u)) in dims.iter().enumerate() {
        if k > 0 {
            s.push('×');
        }
        s.push_str(n);
        let unit = if canonical {
            u.as_ref()
                .or_else(|| dims[k..].iter().find_map(|d| d.1.as_ref()))
                .or_else(|| dims[..k].iter().rev().find_map(|d| d.1.as_ref()))
        } else {
            u.as_ref()
        };
        if let Some(u) = unit {
            s.push_str(u);
        }
    }
    s
}

/// Units that make a size (lengths), after ITN.
fn is_size_unit(u: &str) -> bool {
    matches!(
        u,
        "cm" | "mm" | "m" | "km" | "μm" | "nm" | "dm" | "厘米" | "毫米" | "米"
    )
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

/// Runs the ITN tokenizer over `text`.
pub(crate) fn tokens(cs: &[char], opts: &ItnOptions) -> Vec<Token> {
    let scanner = Itn::new(cs, opts);
    best_cut(
        cs.len(),
        true,
        |i, out| scanner.gen(i, out),
        |i| scanner.skip(i),
    )
}

/// ITN with options.
pub(crate) fn run(text: &str, opts: &ItnOptions) -> NormalizedText {
    let cs: Vec<char> = text.chars().collect();
    if !cs.iter().any(|&c| !super::itn_inert(c)) {
        return NormalizedText::identity(text);
    }
    let toks = tokens(&cs, opts);
    let mut b = NormalizedTextBuilder::new(cs.len());
    for t in toks {
        match t.out {
            None => {
                let c = ch(&cs, t.start);
                if opts.remove_interjections && matches!(c, '呃' | '啊') {
                    b.push("", Span::new(t.start, t.end));
                } else {
                    b.push_char(c, t.start);
                }
            }
            Some(s) => {
                if t.chained {
                    b.push(" ", Span::new(t.start, t.start));
                }
                b.push(&s, Span::new(t.start, t.end));
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tn::{itn, itn_with};

    fn t(s: &str) -> String {
        itn(s).text
    }

    #[test]
    fn numbers() {
        assert_eq!(t("一百二十三"), "123");
        assert_eq!(t("两千零五"), "2005");
        assert_eq!(t("三点二"), "3.2");
        assert_eq!(t("负五"), "-5");
        assert_eq!(t("零点五"), "0.5");
        assert_eq!(t("一万零三百人"), "10300人");
        assert_eq!(t("三五天"), "3~5天");
        assert_eq!(t("十五六岁"), "15-6岁");
    }

    #[test]
    fn percentages_fractions_ranges() {
        assert_eq!(t("百分之十五"), "15%");
        assert_eq!(t("百分之三十到四十"), "30~40%");
        assert_eq!(t("三分之二"), "2/3");
        assert_eq!(t("负十二分之七"), "-7/12");
        assert_eq!(t("三到五厘米"), "3~5cm");
        assert_eq!(t("一到两次"), "1~2次");
    }

    #[test]
    fn measures_and_sizes() {
        assert_eq!(t("三点二厘米"), "3.2cm");
        assert_eq!(t("五毫米"), "5mm");
        assert_eq!(t("十二毫克"), "12mg");
        assert_eq!(t("二十五亨氏单位"), "25HU");
        assert_eq!(t("一百二十毫米汞柱"), "120mmHg");
        assert_eq!(t("三乘二厘米"), "3×2cm");
        assert_eq!(t("三点二乘以二点八乘一点五厘米"), "3.2×2.8×1.5cm");
        assert_eq!(t("每小时十公里"), "10km/h");
        assert_eq!(t("三千三百八十元五角八分"), "¥3380.58");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(t("二零二四年三月五日"), "2024/03/05");
        assert_eq!(t("三月五号"), "03/05");
        assert_eq!(t("八五年"), "85年");
        let chinese = ItnOptions {
            date_style: DateStyle::Chinese,
            ..ItnOptions::default()
        };
        assert_eq!(
            itn_with("二零二四年三月五日", &chinese).text,
            "2024年3月5日"
        );
        assert_eq!(t("两点零二分"), "2:02");
        assert_eq!(t("零点十分"), "00:10");
        assert_eq!(t("十三点十分三十六秒"), "13:10:36");
        assert_eq!(t("上午八点半"), "8:30a.m.");
        assert_eq!(t("八点五分"), "8.5分");
    }

    #[test]
    fn digit_strings() {
        assert_eq!(t("幺三五零幺二三四五六七"), "13501234567");
        assert_eq!(t("幺二七点零点零点幺"), "127.0.0.1");
        assert_eq!(t("幺三八四个八"), "1388888");
        assert_eq!(t("一一"), "1 1");
    }

    #[test]
    fn words_keep_their_numerals() {
        for w in [
            "一些",
            "一般",
            "统一",
            "万一",
            "一致",
            "十二指肠",
            "二尖瓣",
            "两肺",
            "一过性",
            "空洞",
            "拐杖",
            "一次性",
            "三七粉",
        ] {
            assert_eq!(t(w), w);
        }
        // without the clinical additions, wetext converts them
        assert_eq!(itn_with("一过性", &ItnOptions::wetext()).text, "1过性");
    }

    #[test]
    fn fillers_and_offsets() {
        assert_eq!(t("呃三天"), "3天");
        let n = itn("约三点二厘米");
        assert_eq!(n.text, "约3.2cm");
        assert_eq!(n.to_original(Span::new(1, 6)), Span::new(1, 6));
        assert_eq!(n.to_original(Span::new(0, 1)), Span::new(0, 1));
        let n = itn("一一");
        assert_eq!(n.to_original(Span::new(1, 2)), Span::new(1, 1)); // inserted space
    }

    #[test]
    fn size_formatting() {
        let dims = vec![
            ("3.2".to_string(), None),
            ("2.8".to_string(), Some("cm".to_string())),
        ];
        assert_eq!(format_size(&dims, false), "3.2×2.8cm");
        assert_eq!(format_size(&dims, true), "3.2cm×2.8cm");
    }
}
