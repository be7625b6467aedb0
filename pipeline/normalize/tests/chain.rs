//! The default normalizer chain on realistic text, and its properties on arbitrary text:
//! no panics, offsets always inside the original, idempotent.

use proptest::prelude::*;
use quarry_core::{NormalizedText, Span};
use quarry_normalize::chain::NormalizerChain;
use quarry_normalize::normalizers::{
    self, Case, Nfkc, Normalized, Normalizer, Punct, T2s, T2sRegion, Width,
};
use unicode_normalization::UnicodeNormalization;

fn chain() -> NormalizerChain {
    NormalizerChain::default_chain()
}

/// The original text behind normalized characters `start..end`.
fn origin<'a>(n: &NormalizedText, original: &'a str, start: usize, end: usize) -> &'a str {
    n.to_original(Span::new(start, end))
        .slice(original)
        .expect("span inside the original")
}

#[test]
fn radiology_report_sentence() {
    let original = "右肾見一ＣＴ值约２５HU的低密度影，大小约3.2cm×2.8cm。";
    let n = chain().normalize(original);
    assert_eq!(n.text, "右肾见一ct值约25hu的低密度影,大小约3.2cm×2.8cm。");
    assert_eq!(origin(&n, original, 2, 3), "見");
    assert_eq!(origin(&n, original, 4, 6), "ＣＴ");
    assert_eq!(origin(&n, original, 8, 10), "２５");
    assert_eq!(origin(&n, original, 10, 12), "HU");
    assert_eq!(origin(&n, original, 17, 18), "，");
    assert_eq!(n.map.original_len(), original.chars().count());
}

#[test]
fn traditional_report_with_full_width_latin() {
    let original = "肝臟大小形態正常，ＭＲＩ：T2WI 呈高信號，考慮囊腫。";
    let n = chain().normalize(original);
    assert_eq!(n.text, "肝脏大小形态正常,mri:t2wi 呈高信号,考虑囊肿。");
    let i = n.text.chars().position(|c| c == '肿').expect("present");
    assert_eq!(origin(&n, original, i - 1, i + 1), "囊腫");
}

#[test]
fn compatibility_forms_expand_and_map_back() {
    let original = "大小约3㎝×2㎝，Ⅱ级，①";
    let n = chain().normalize(original);
    assert_eq!(n.text, "大小约3cm×2cm,ii级,1");
    // Both letters of "cm" come from the single "㎝".
    assert_eq!(origin(&n, original, 4, 5), "㎝");
    assert_eq!(origin(&n, original, 5, 6), "㎝");
    assert_eq!(origin(&n, original, 4, 6), "㎝");
    let ii = n
        .text
        .find("ii")
        .map(|b| n.text[..b].chars().count())
        .expect("ii");
    assert_eq!(origin(&n, original, ii, ii + 2), "Ⅱ");
}

#[test]
fn whitespace_is_collapsed_and_trimmed() {
    let original = "  右肾\u{3000}\u{3000}囊肿 \r\n\n 左肾\u{A0}正常  ";
    let n = chain().normalize(original);
    assert_eq!(n.text, "右肾 囊肿\n左肾 正常");
    assert_eq!(origin(&n, original, 2, 3), "\u{3000}\u{3000}");
    assert_eq!(origin(&n, original, 5, 6), " \r\n\n ");
    assert_eq!(
        origin(&n, original, 0, n.text.chars().count()),
        original.trim()
    );
}

#[test]
fn english_text_is_lowercased_and_punctuation_unified() {
    let original = "The LIVER is Normal — no “mass”… İ";
    let n = chain().normalize(original);
    assert_eq!(n.text, "the liver is normal - no \"mass\"... i\u{307}");
    let dots = n
        .text
        .find("...")
        .map(|b| n.text[..b].chars().count())
        .expect("...");
    assert_eq!(origin(&n, original, dots, dots + 3), "…");
}

#[test]
fn text_that_needs_nothing_is_returned_as_is() {
    let original = "肝脏大小形态正常 ct 未见异常";
    let n = chain().normalize(original);
    assert_eq!(n.text, original);
    assert_eq!(n.to_original(Span::new(3, 7)), Span::new(3, 7));
}

#[test]
fn gating_skips_normalizers_that_cannot_apply() {
    let t2s = T2s::default();
    assert!(!t2s.applies_to("ASCII only"));
    assert!(!Case.applies_to("肝脏 123"));
    assert!(!Nfkc.applies_to("肝脏 abc"));
    assert!(!Width.applies_to("肝脏,abc"));
    assert!(!Punct.applies_to("肝脏 abc"));
}

#[test]
fn chain_matches_step_by_step_normalize() {
    // The chain's shortcut (no clones, maps composed lazily) agrees with composing each
    // normalizer's `normalize`.
    let original = " ＡＢ\u{3000}頭髮 ㎝…İ\u{200B}x ";
    let c = chain();
    let mut step = NormalizedText::identity(original);
    for name in c.names() {
        step = normalizers::by_name(name).expect("known").normalize(&step);
    }
    let direct = c.normalize(original);
    assert_eq!(direct, step);
}

#[test]
fn regional_chain_from_names() {
    let c =
        NormalizerChain::from_names(&["width", "nfkc", "punct", "tw2s", "case"]).expect("known");
    assert_eq!(c.normalize("偽造 臺灣 ＣＴ").text, "伪造 台湾 ct");
    assert_eq!(T2s::new(T2sRegion::Taiwan).name(), "tw2s");
}

/// A character from a mix of the classes the normalizers care about.
fn interesting_char() -> impl Strategy<Value = char> {
    let pools: &[&str] = &[
        "abcXYZ019 .,-'\"",
        "肝脏右肾见低密度影大小约囊肿什么乾隆坏沈默了解",
        "頭髮乾燥後麼著臟腎見於裡瞭藉覆甦壞瀋薴偽喫擡",
        "ＡＢＣａｂｃ０１２，。：；！？（）\u{3000}～＂＇",
        "\u{300}\u{301}\u{308}\u{30C}\u{323}\u{327}\u{334}\u{338}\u{345}",
        "\u{1100}\u{1161}\u{11A8}\u{314F}\u{AC00}",
        "㎝㎒½①ℌⅡﬁ㈱ﾊﾟ\u{F900}\u{FA10}\u{2F800}\u{2126}K",
        " \t\n\r\u{A0}\u{2003}\u{2028}\u{200B}\u{AD}\u{FEFF}\u{2060}\u{200D}",
        "—–−“”‘’「」・‧【】〔〕…⋯‥｡､〜∼×·",
        "İIıΣΑΒẞßǄǅǆJĴ",
        "😀👩\u{200D}💻🇨🇳\u{FE0F}",
    ];
    let pool: Vec<char> = pools.iter().flat_map(|p| p.chars()).collect();
    prop_oneof![
        4 => proptest::sample::select(pool),
        1 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(interesting_char(), 0..40).prop_map(|v| v.into_iter().collect())
}

fn check_map(n: &NormalizedText, original: &str) -> Result<(), TestCaseError> {
    let len = original.chars().count();
    prop_assert_eq!(n.map.original_len(), len);
    prop_assert_eq!(n.map.len(), n.text.chars().count());
    let mut last_start = 0;
    for i in 0..n.map.len() {
        let sp = n.map.char_origin(i).expect("in range");
        prop_assert!(sp.start <= sp.end && sp.end <= len, "{:?} of {}", sp, len);
        prop_assert!(sp.start >= last_start, "origins go backwards at {}", i);
        last_start = sp.start;
        prop_assert!(sp.slice(original).is_some());
    }
    Ok(())
}

proptest! {
    // QUARRY_PROPTEST_CASES=20000 for a longer hunt.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("QUARRY_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn chain_never_panics_and_maps_into_the_original(s in text(), a in 0usize..50, b in 0usize..50) {
        let n = chain().normalize(&s);
        check_map(&n, &s)?;
        let (a, b) = (a.min(b), a.max(b));
        let sp = n.to_original(Span::new(a, b));
        prop_assert!(sp.slice(&s).is_some(), "{:?}", sp);
    }

    #[test]
    fn chain_is_idempotent(s in text()) {
        let c = chain();
        let once = c.normalize(&s).text;
        let twice = c.normalize(&once);
        prop_assert_eq!(&twice.text, &once);
    }

    #[test]
    fn arbitrary_unicode_never_panics(s in any::<String>()) {
        let c = chain();
        let n = c.normalize(&s);
        check_map(&n, &s)?;
        prop_assert_eq!(c.normalize(&n.text).text, n.text);
    }

    #[test]
    fn each_normalizer_is_idempotent_and_maps_into_its_input(s in text()) {
        for name in normalizers::NAMES {
            let n = normalizers::by_name(name).expect("known");
            let once = n.normalize(&NormalizedText::identity(&s));
            check_map(&once, &s)?;
            let again = n.apply(&once.text);
            prop_assert!(!again.is_changed(), "{} not idempotent on {:?}: {:?} -> {:?}",
                name, s, once.text, again.text(&once.text));
            // The gate never hides a change.
            if !n.applies_to(&s) {
                prop_assert_eq!(&once.text, &s, "{} gated off but changes", name);
            }
        }
    }

    #[test]
    fn nfkc_matches_the_reference(s in text()) {
        let expected: String = s.nfkc().collect();
        let got = Nfkc.apply(&s);
        prop_assert_eq!(got.text(&s), expected.as_str());
    }

    #[test]
    fn aligned_results_keep_the_character_count(s in text()) {
        for name in normalizers::NAMES {
            let n = normalizers::by_name(name).expect("known");
            if let Normalized::Aligned(t) = n.apply(&s) {
                prop_assert_eq!(t.chars().count(), s.chars().count(), "{}", name);
            }
        }
    }

    #[test]
    fn opencc_exact_t2s_is_idempotent(s in text()) {
        let t = T2s::opencc(T2sRegion::Standard);
        let once = t.convert(&s);
        prop_assert_eq!(t.convert(&once), once);
    }
}
