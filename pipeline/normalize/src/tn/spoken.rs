//! Spoken Chinese numerals: the number grammar of WeTextProcessing's ITN cardinal rule,
//! as hand-written scanners that return every parse starting at a position (with its end,
//! its written digits and an inner cost in thousandths of wetext's weights).

use super::lex::{ch, MAX_RUN};
use super::lex::{Lexicon, PairLexicon};
use super::tables::{ITN_SPECIAL_DASH, ITN_SPECIAL_TILDE};

/// One parse of a spoken number.
#[derive(Debug, Clone)]
pub(crate) struct NumParse {
    /// One past the last character.
    pub end: usize,
    /// Written form.
    pub s: String,
    /// Inner cost.
    pub w: i64,
    /// A single numeral character (`一`, `两`, `零`), no sign, no decimals.
    pub single: bool,
    /// Has a decimal part.
    pub dec: bool,
    /// A `兆`/`亿` compound whose last group is a bare digit (`一亿五`).
    pub last_bare: bool,
}

impl NumParse {
    fn new(end: usize, s: String, w: i64) -> Self {
        NumParse {
            end,
            s,
            w,
            single: false,
            dec: false,
            last_bare: false,
        }
    }
}

/// Digit 1-9 of a spoken numeral character.
#[inline]
pub(crate) fn digit(c: char) -> Option<char> {
    Some(match c {
        '一' | '幺' | '壹' => '1',
        '二' | '两' | '贰' => '2',
        '三' | '叁' => '3',
        '四' | '肆' => '4',
        '五' | '伍' => '5',
        '六' | '陆' => '6',
        '七' | '柒' | '拐' => '7',
        '八' | '捌' => '8',
        '九' | '玖' => '9',
        _ => return None,
    })
}

/// True for a spoken zero (`零`, `洞`, `〇`).
#[inline]
pub(crate) fn zero(c: char) -> bool {
    matches!(c, '零' | '洞' | '〇')
}

/// Digit 0-9 of a spoken numeral character.
#[inline]
pub(crate) fn dig0(c: char) -> Option<char> {
    if zero(c) {
        Some('0')
    } else {
        digit(c)
    }
}

/// Digits that may stand alone as a number (the phone-style `幺`, `拐`, `洞` may not).
#[inline]
pub(crate) fn plain_digit(c: char) -> bool {
    dig0(c).is_some() && !matches!(c, '幺' | '拐' | '洞')
}

/// True for characters that can start a spoken number.
#[inline]
pub(crate) fn starts_number(c: char) -> bool {
    dig0(c).is_some() || matches!(c, '十' | '正' | '负')
}

fn cat(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

/// `十` + digit (`十一` -> 11), `十` -> 10.
fn teen(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    if ch(cs, i) == '十' {
        if let Some(d) = digit(ch(cs, i + 1)) {
            out.push(NumParse::new(i + 2, format!("1{d}"), 0));
        }
        out.push(NumParse::new(i + 1, "10".into(), 100));
    }
}

/// digit + `十` + digit? (`二十一` -> 21, `三十` -> 30).
fn tens(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    if let (Some(d), '十') = (digit(ch(cs, i)), ch(cs, i + 1)) {
        if let Some(e) = digit(ch(cs, i + 2)) {
            out.push(NumParse::new(i + 3, format!("{d}{e}"), 0));
        }
        out.push(NumParse::new(i + 2, format!("{d}0"), 100));
    }
}

fn tens_or_teen(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    tens(cs, i, out);
    teen(cs, i, out);
}

/// digit + `百` + ... (`一百一十一`, `一百零一`, `一百一`, `一百`).
fn hundred(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    let (Some(d), '百') = (digit(ch(cs, i)), ch(cs, i + 1)) else {
        return;
    };
    let k = i + 2;
    let mut tmp = Vec::new();
    tens_or_teen(cs, k, &mut tmp);
    for t in tmp {
        out.push(NumParse::new(t.end, format!("{d}{}", t.s), t.w));
    }
    if zero(ch(cs, k)) {
        if let Some(e) = digit(ch(cs, k + 1)) {
            out.push(NumParse::new(k + 2, format!("{d}0{e}"), 100));
        }
    }
    if let Some(e) = digit(ch(cs, k)) {
        out.push(NumParse::new(k + 1, format!("{d}{e}0"), 500));
    }
    out.push(NumParse::new(k, format!("{d}00"), 1000));
}

/// digit + `千` + ...
fn thousand(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    let (Some(d), '千') = (digit(ch(cs, i)), ch(cs, i + 1)) else {
        return;
    };
    let k = i + 2;
    let mut tmp = Vec::new();
    hundred(cs, k, &mut tmp);
    for t in tmp.drain(..) {
        out.push(NumParse::new(t.end, format!("{d}{}", t.s), t.w));
    }
    if zero(ch(cs, k)) {
        tens_or_teen(cs, k + 1, &mut tmp);
        for t in tmp.drain(..) {
            out.push(NumParse::new(t.end, format!("{d}0{}", t.s), 100 + t.w));
        }
        if let Some(e) = digit(ch(cs, k + 1)) {
            out.push(NumParse::new(k + 2, format!("{d}00{e}"), 500));
        }
    }
    if let Some(e) = digit(ch(cs, k)) {
        out.push(NumParse::new(k + 1, format!("{d}{e}00"), 800));
    }
    out.push(NumParse::new(k, format!("{d}000"), 1000));
}

/// `万` numbers (wetext with `enable_million = false`).
fn ten_thousand(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    let mut leads = Vec::new();
    teen(cs, i, &mut leads);
    tens(cs, i, &mut leads);
    if let Some(d) = digit(ch(cs, i)) {
        leads.push(NumParse::new(i + 1, d.to_string(), 0));
    }
    let mut tmp = Vec::new();
    for lead in &leads {
        if ch(cs, lead.end) != '万' {
            continue;
        }
        let k = lead.end + 1;
        let l = &lead.s;
        thousand(cs, k, &mut tmp);
        for t in tmp.drain(..) {
            out.push(NumParse::new(t.end, cat(l, &t.s), lead.w + t.w));
        }
        if zero(ch(cs, k)) {
            hundred(cs, k + 1, &mut tmp);
            for t in tmp.drain(..) {
                out.push(NumParse::new(
                    t.end,
                    format!("{l}0{}", t.s),
                    lead.w + 100 + t.w,
                ));
            }
            tens_or_teen(cs, k + 1, &mut tmp);
            for t in tmp.drain(..) {
                out.push(NumParse::new(
                    t.end,
                    format!("{l}00{}", t.s),
                    lead.w + 500 + t.w,
                ));
            }
            if let Some(e) = digit(ch(cs, k + 1)) {
                out.push(NumParse::new(k + 2, format!("{l}000{e}"), lead.w + 500));
            }
        }
        if let Some(e) = digit(ch(cs, k)) {
            out.push(NumParse::new(k + 1, format!("{l}{e}000"), lead.w + 800));
        }
        out.push(NumParse::new(k, format!("{l}0000"), lead.w + 1000));
    }
    // (thousand | hundred) 万 零? (thousand | hundred | tens | teen | digit)?
    leads.clear();
    thousand(cs, i, &mut leads);
    hundred(cs, i, &mut leads);
    for lead in &leads {
        if ch(cs, lead.end) != '万' {
            continue;
        }
        let base = format!("{}万", lead.s);
        let k = lead.end + 1;
        out.push(NumParse::new(k, base.clone(), lead.w));
        let mut starts = vec![k];
        if zero(ch(cs, k)) {
            out.push(NumParse::new(k + 1, base.clone(), lead.w));
            starts.push(k + 1);
        }
        for kk in starts {
            thousand(cs, kk, &mut tmp);
            hundred(cs, kk, &mut tmp);
            tens_or_teen(cs, kk, &mut tmp);
            if let Some(d) = dig0(ch(cs, kk)) {
                tmp.push(NumParse::new(kk + 1, d.to_string(), 0));
            }
            for t in tmp.drain(..) {
                out.push(NumParse::new(t.end, cat(&base, &t.s), lead.w + t.w));
            }
        }
    }
}

/// digits | teen | tens | hundred | thousand | ten_thousand.
fn number0(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    if let Some(d) = dig0(ch(cs, i)) {
        let mut p = NumParse::new(i + 1, d.to_string(), 0);
        p.single = true;
        out.push(p);
    }
    teen(cs, i, out);
    tens(cs, i, out);
    hundred(cs, i, out);
    thousand(cs, i, out);
    ten_thousand(cs, i, out);
}

/// Positions after a `兆`/`亿` at `k`: the next character, or the one after a deleted `零`.
fn after_big(cs: &[char], k: usize) -> impl Iterator<Item = usize> {
    let z = zero(ch(cs, k));
    std::iter::once(k).chain(z.then_some(k + 1))
}

/// (n0 兆 零?)? (n0 亿 零?)? n0
fn number1(cs: &[char], i: usize, out: &mut Vec<NumParse>) {
    let mut heads = Vec::new();
    number0(cs, i, &mut heads);
    let mut tmp = Vec::new();
    let mut tmp2 = Vec::new();
    for a in heads {
        let unit = ch(cs, a.end);
        if unit == '亿' || unit == '兆' {
            for k in after_big(cs, a.end + 1) {
                number0(cs, k, &mut tmp);
                for b in tmp.drain(..) {
                    let s = format!("{}{unit}{}", a.s, b.s);
                    if unit == '兆' && ch(cs, b.end) == '亿' {
                        for k2 in after_big(cs, b.end + 1) {
                            number0(cs, k2, &mut tmp2);
                            for c in tmp2.drain(..) {
                                let mut p =
                                    NumParse::new(c.end, format!("{s}亿{}", c.s), a.w + b.w + c.w);
                                p.last_bare = c.single;
                                out.push(p);
                            }
                        }
                    }
                    let mut p = NumParse::new(b.end, s, a.w + b.w);
                    p.last_bare = b.single;
                    out.push(p);
                }
            }
        }
        out.push(a);
    }
}

/// Signs: `正负` ±, `负的` -, `负` -, `正` +.
fn signs(cs: &[char], i: usize) -> Vec<(&'static str, usize)> {
    let mut v = vec![("", i)];
    match (ch(cs, i), ch(cs, i + 1)) {
        ('正', '负') => v.push(("±", i + 2)),
        ('负', '的') => {
            v.push(("-", i + 2));
            v.push(("-", i + 1));
        }
        ('负', _) => v.push(("-", i + 1)),
        ('正', _) => v.push(("+", i + 1)),
        _ => {}
    }
    v
}

static TILDE: PairLexicon = PairLexicon::new(ITN_SPECIAL_TILDE, false);

static DASH: PairLexicon = PairLexicon::new(ITN_SPECIAL_DASH, false);

/// Table ranges + optional kept `万`/`亿` (cost -100).
fn range_table(
    lex: &Lexicon<&'static str>,
    cs: &[char],
    i: usize,
    prefix: &str,
    w: i64,
    out: &mut Vec<NumParse>,
) {
    for (len, v) in lex.matches(cs, i) {
        let end = i + len;
        out.push(NumParse::new(end, cat(prefix, v), w));
        let c = ch(cs, end);
        if c == '万' || c == '亿' {
            out.push(NumParse::new(end + 1, format!("{prefix}{v}{c}"), w - 100));
        }
    }
}

/// Spoken number parses starting at `i`. With `single_digits` false, bare digits 0-9 are
/// not numbers (wetext's `number_exclude_0_to_9`), though they still take decimals.
pub(crate) fn number(cs: &[char], i: usize, single_digits: bool, out: &mut Vec<NumParse>) {
    let mut tmp = Vec::new();
    for (sign, j) in signs(cs, i) {
        number1(cs, j, &mut tmp);
        for mut p in tmp.drain(..) {
            let last_single = p.last_bare;
            let bare = p.single || last_single;
            if !sign.is_empty() {
                p.s.insert_str(0, sign);
                p.single = false;
            }
            // decimals
            let dot = ch(cs, p.end);
            if (dot == '点' || dot == '點') && dig0(ch(cs, p.end + 1)).is_some() && !last_single {
                let mut s = format!("{}.", p.s);
                let mut e = p.end + 1;
                while e - p.end <= MAX_RUN {
                    let Some(d) = dig0(ch(cs, e)) else { break };
                    s.push(d);
                    e += 1;
                    let mut q = NumParse::new(e, s.clone(), p.w);
                    q.dec = true;
                    out.push(q);
                }
            }
            if single_digits || !bare {
                out.push(p);
            }
        }
    }
    // 五六万 => 5~6万, 三五千 => 3000~5000
    range_table(TILDE.get(), cs, i, "", 0, out);
    // 十七八 => 17-8, 四十五六 => 45-6, 七百三四十 => 730-40, 一万六七 => 16000-7000
    let dw = if single_digits { 0 } else { -100 };
    if ch(cs, i) == '十' {
        range_table(DASH.get(), cs, i + 1, "1", dw, out);
    }
    if let Some(d) = digit(ch(cs, i)) {
        let mut buf = [0u8; 4];
        let ds: &str = d.encode_utf8(&mut buf);
        match ch(cs, i + 1) {
            '十' | '百' => range_table(DASH.get(), cs, i + 2, ds, dw, out),
            '万' => {
                if let (Some(e), Some(f)) = (digit(ch(cs, i + 2)), digit(ch(cs, i + 3))) {
                    out.push(NumParse::new(i + 4, format!("{d}{e}000-{f}000"), dw));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(text: &str) -> Vec<(String, usize)> {
        let cs: Vec<char> = text.chars().collect();
        let mut v = Vec::new();
        number(&cs, 0, true, &mut v);
        v.sort_by_key(|p| (std::cmp::Reverse(p.end), p.w));
        v.into_iter().map(|p| (p.s, p.end)).collect()
    }

    #[test]
    fn longest_parses() {
        for (t, want) in [
            ("一百二十三", "123"),
            ("两千零五", "2005"),
            ("一万零一", "10001"),
            ("十万一千一百一十一", "101111"),
            ("一百万一千一百一十一", "100万1111"),
            ("一亿零两千三百", "1亿2300"),
            ("一兆零三百二十万五千", "1兆320万5000"),
            ("三点一四", "3.14"),
            ("负五", "-5"),
            ("四十五六", "45-6"),
            ("三五百", "300~500"),
        ] {
            assert_eq!(best(t)[0].0, want, "{t}");
        }
    }
}
