//! Chinese text normalization for clinical text, both directions, with lossless offsets.
//!
//! * [`itn`] (inverse text normalization) turns spoken forms into written ones:
//!   `三点二厘米` -> `3.2cm`, `百分之十五` -> `15%`, `三分之二` -> `2/3`,
//!   `两点零二分` -> `2:02`, `二零二四年三月五日` -> `2024/03/05`.
//! * [`tn`] (text normalization) turns written forms into spoken ones:
//!   `3.2cm` -> `三点二厘米`, `15%` -> `百分之十五`, `2:02` -> `两点零二分`.
//! * [`canonical_measurements`] rewrites sizes and measurements, written or spoken, to the
//!   one canonical written form used for indexing and NER: `3.2 x 2.8 CM`, `3.2*2.8cm`,
//!   `3.2cm x 2.8cm` and `三点二乘二点八厘米` all become `3.2cm×2.8cm`.
//! * [`find_data_words`] lists the typed data words of a text (numbers, sizes, measures,
//!   dates, times, percentages, ranges, fractions) with their canonical written forms, for
//!   the DAHSF engine's layer 1.
//!
//! Every function returns (or points into) the original text: a [`NormalizedText`] maps each
//! output character to the input span it came from; a [`DataWord`]'s span slices the input
//! to its surface form.
//!
//! ## Conventions
//!
//! The conventions follow WeTextProcessing (wetext, the reference the test cases come from)
//! wherever its cases decide, and clinical writing habits elsewhere:
//!
//! * Dates: wetext writes `2008/08/08`, `2008/08`, `08/08` and `2008年` (year only); with
//!   [`DateStyle::Chinese`] ITN writes `2008年8月8日` instead.
//! * Times: `2:02`, `13:10:36`, with `a.m.`/`p.m.` after when a period of the day was
//!   spoken (`上午八点半` -> `8:30a.m.`).
//! * Ranges: `3~5cm` (unit once), `30~41%`; approximate ranges `十五六` -> `15-6`.
//! * Units: wetext's symbols (`kg`, `cm`, `ml`, `°C`, `km/h`), plus clinical ones
//!   (`亨氏单位` -> `HU`, `毫米汞柱` -> `mmHg`, `毫摩尔每升` -> `mmol/L`, ...).
//! * Sizes (canonical form): every number carries its unit and the dimensions are joined
//!   by `×` (U+00D7): `3.2cm×2.8cm×1.5cm`. Units are lowercased (`cm`, `mm`, `ml`, `mg`)
//!   except the ones whose case means something (`HU`, `mmHg`, `mmol/L`, `L`, `IU`).
//!   ITN itself writes a spoken size as spoken (`三乘二厘米` -> `3×2cm`);
//!   [`canonical_measurements`] then attaches the unit to each dimension.
//!
//! ## Conservativeness
//!
//! Numerals inside words are not numbers: `一些`, `一般`, `统一`, `万一`, `一致`,
//! `十二指肠`, `二尖瓣`, `两肺`, `一过性` stay as they are (wetext's whitelist plus a clinical
//! list), and with [`ItnOptions::clinical`] a bare single digit (`一`, `两`, `零`, no
//! `十`/`百`, no unit) becomes a digit only before a unit, `的`, punctuation, a non-Chinese
//! character or the end of the text. The phone-style digits `幺`, `拐`, `洞` are digits
//! only inside digit strings.
//!
//! ## How it works
//!
//! Like wetext, each direction cuts the text into tokens by a shortest path: every rule
//! (cardinal, date, time, measure, money, fraction, math, whitelist, ...) proposes
//! candidates with wetext's weights, any other character is copied through at a high cost,
//! and the cheapest cut wins. The rules are hand-written scanners over characters (no
//! regular expressions, no backtracking), so the cost is linear in the text with a small
//! constant per numeral.
//!
//! ## Out of scope
//!
//! wetext features that are not about numbers and measurements are not implemented:
//! traditional -> simplified conversion (a separate normalizer in the chain does it), OOV
//! tagging (`<oov>…</oov>`, needs the 8105-character national standard table) and sports
//! scores (`中国1-2` -> `中国一比二`, needs wetext's 1,700-entry country/club lists).

#![warn(missing_docs)]

mod canonical;
mod itn;
mod lattice;
mod lex;
mod spoken;
mod tables;
mod written;

use quarry_core::{NormalizedText, Span};
use serde::{Deserialize, Serialize};

/// The kind of a typed data word found by [`find_data_words`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// A bare number: `123`, `3.2`, `一百二十三`, `-5`.
    Number,
    /// A 2-D or 3-D size: `3.2cm×2.8cm`, `3.2 x 2.8 CM`, `三点二乘二点八厘米`.
    Size,
    /// A number with a unit (or a currency): `3.2cm`, `12mg`, `25HU`, `三点二厘米`, `3天`.
    Measure,
    /// A date: `2024年3月5日`, `2024-03-05`, `二零二四年三月五日`.
    Date,
    /// A time of day: `2:02`, `两点零二分`, `14时30分`.
    Time,
    /// A percentage: `15%`, `百分之十五`.
    Percentage,
    /// A range of numbers, measures or percentages: `3~5cm`, `三到五厘米`, `3-5mm`.
    Range,
    /// A fraction: `2/3`, `三分之二`.
    Fraction,
}

impl DataKind {
    /// A short lowercase name (`number`, `size`, `measure`, ...), as in the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Number => "number",
            DataKind::Size => "size",
            DataKind::Measure => "measure",
            DataKind::Date => "date",
            DataKind::Time => "time",
            DataKind::Percentage => "percentage",
            DataKind::Range => "range",
            DataKind::Fraction => "fraction",
        }
    }
}

/// A typed data word (DAHSF layer 1): a number, size, measure, date, time, percentage, range
/// or fraction found in a text, with its written canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataWord {
    /// What was found.
    pub kind: DataKind,
    /// Character offsets into the text given to [`find_data_words`]; slicing the text with
    /// it gives the surface form.
    pub span: Span,
    /// The written canonical form: `3.2cm×2.8cm`, `15%`, `2024/03/05`, `2:02`, `3~5cm`,
    /// `2/3`, `123` (see the module documentation for the conventions).
    pub canonical: String,
}

/// How ITN writes dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStyle {
    /// wetext's form: `2008/08/08`, `2008/08`, `08/08`, `2008年`.
    #[default]
    Slash,
    /// Chinese clinical form: `2008年8月8日`, `2008年8月`, `8月8日`, `2008年`.
    Chinese,
}

/// Options of [`itn_with`]. The default is wetext's test configuration
/// (`enable_standalone_number=True, enable_0_to_9=True`) with the clinical additions on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ItnOptions {
    /// Convert numbers that stand alone, without a unit (wetext `enable_standalone_number`).
    pub standalone_numbers: bool,
    /// Convert the bare digits 0-9 (wetext `enable_0_to_9`).
    pub single_digits: bool,
    /// Delete the fillers `呃` and `啊` (wetext `remove_interjections`).
    pub remove_interjections: bool,
    /// Clinical additions: clinical units and sizes, the clinical keep-list, the context
    /// rule for bare single digits, phone-style digits only in digit strings.
    pub clinical: bool,
    /// How dates are written.
    pub date_style: DateStyle,
}

impl Default for ItnOptions {
    fn default() -> Self {
        ItnOptions {
            standalone_numbers: true,
            single_digits: true,
            remove_interjections: true,
            clinical: true,
            date_style: DateStyle::Slash,
        }
    }
}

impl ItnOptions {
    /// The options a wetext ITN case file was written for: files named
    /// `normalizer_{enable,disable}_standalone_number_{enable,disable}_0_to_9` switch
    /// standalone numbers and single digits; every other category uses the defaults.
    pub fn for_case_category(category: &str) -> Self {
        let mut o = ItnOptions::default();
        if let Some(rest) = category.strip_prefix("normalizer_") {
            o.standalone_numbers = !rest.starts_with("disable_standalone_number");
            o.single_digits = !rest.ends_with("disable_0_to_9");
        }
        o
    }

    /// wetext's behaviour only (no clinical additions).
    pub fn wetext() -> Self {
        ItnOptions {
            clinical: false,
            ..ItnOptions::default()
        }
    }
}

/// Options of [`tn_with`]. The default matches wetext's `Normalizer` defaults with the
/// clinical additions on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TnOptions {
    /// Delete the fillers `呃` and `啊`.
    pub remove_interjections: bool,
    /// Delete erhua `儿` (`这儿` -> `这`), keeping words like `婴儿`, `儿子`, `患儿`.
    pub remove_erhua: bool,
    /// Map full-width ASCII and Chinese punctuation to half-width (`，` -> `,`, `。` -> `.`).
    pub full_to_half: bool,
    /// Clinical additions: clinical units (`HU`, `mmHg`, `mmol/L`, `mL`...) and words
    /// whose `儿` is kept (`患儿`, `早产儿`).
    pub clinical: bool,
}

impl Default for TnOptions {
    fn default() -> Self {
        TnOptions {
            remove_interjections: true,
            remove_erhua: true,
            full_to_half: true,
            clinical: true,
        }
    }
}

impl TnOptions {
    /// wetext's behaviour only (no clinical additions).
    pub fn wetext() -> Self {
        TnOptions {
            clinical: false,
            ..TnOptions::default()
        }
    }
}

/// True for characters that cannot start or take part in any ITN rule (fast path).
fn itn_inert(c: char) -> bool {
    !(spoken::starts_number(c) || matches!(c, '百' | '呃' | '啊'))
}

/// Inverse text normalization with the default options: spoken -> written
/// (`三点二厘米` -> `3.2cm`, `一百二十三` -> `123`, `两点零二分` -> `2:02`).
/// Never panics; text without numerals comes back unchanged (minus fillers `呃`/`啊`).
pub fn itn(text: &str) -> NormalizedText {
    itn::run(text, &ItnOptions::default())
}

/// Inverse text normalization with explicit options.
pub fn itn_with(text: &str, options: &ItnOptions) -> NormalizedText {
    itn::run(text, options)
}

/// Text normalization with the default options: written -> spoken
/// (`3.2cm` -> `三点二厘米`, `15%` -> `百分之十五`, `2024-03-05` -> `二零二四年三月五日`).
pub fn tn(text: &str) -> NormalizedText {
    written::run(text, &TnOptions::default())
}

/// Text normalization with explicit options.
pub fn tn_with(text: &str, options: &TnOptions) -> NormalizedText {
    written::run(text, options)
}

/// Rewrites sizes, measurements and measured ranges, written or spoken, to the canonical
/// written form and leaves everything else as it is:
/// `3.2 x 2.8 CM`, `3.2*2.8cm`, `3.2X2.8cm`, `3.2cm x 2.8cm`, `三点二乘二点八厘米` ->
/// `3.2cm×2.8cm`; `5 MG` -> `5mg`; `三到五厘米` and `3-5 cm` -> `3~5cm`.
pub fn canonical_measurements(text: &str) -> NormalizedText {
    canonical::canonical_measurements(text)
}

/// Finds the typed data words of `text`, left to right, non-overlapping, written
/// (`3.2cm×2.8cm`, `2024-03-05`, `15%`) or spoken (`三点二厘米`, `百分之十五`). Spans are
/// character offsets into `text`. Numerals inside words (`一般`, `十二指肠`) are not data
/// words. Stable API, used by the DAHSF engine.
pub fn find_data_words(text: &str) -> Vec<DataWord> {
    canonical::find_data_words(text)
}
