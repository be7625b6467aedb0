//! Traditional -> simplified Chinese, with OpenCC's dictionaries.
//!
//! The text is cut into maximal runs of CJK ideographs (every OpenCC dictionary key and
//! value is made of them, so no match can cross a run boundary); each run is converted by
//! the engine in [`super::opencc`] (phrases first, longest match, then single characters),
//! to a fixpoint. With OpenCC 1.4.2's dictionaries every conversion keeps the character
//! count, so the result is [`Normalized::Aligned`]; a phrase whose output has another length
//! maps all its output characters to the whole source phrase.
//!
//! By default ([`T2s::new`]) text that contains no traditional character is left alone (see
//! [`super::opencc`] for the few OpenCC entries that would rewrite it); [`T2s::opencc`]
//! keeps every OpenCC entry.

use super::opencc::{is_run_char, Conv, Converter, Variants};
use super::{Normalized, Normalizer};
use quarry_core::offsets::NormalizedTextBuilder;
use quarry_core::Span;

/// Which regional form of traditional Chinese the text is expected in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum T2sRegion {
    /// OpenCC standard traditional (OpenCC `t2s`). Also handles most Taiwan and Hong Kong
    /// text: they differ in a few variant characters.
    #[default]
    Standard,
    /// Taiwan standard (OpenCC `tw2s`): Taiwan variant characters are mapped first.
    Taiwan,
    /// Hong Kong (OpenCC `hk2s`): Hong Kong variant characters are mapped first.
    HongKong,
}

/// Traditional -> simplified Chinese conversion.
#[derive(Clone, Copy)]
pub struct T2s {
    region: T2sRegion,
    keep_simplified: bool,
    converter: &'static Converter,
}

impl std::fmt::Debug for T2s {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the dictionaries: they are large.
        f.debug_struct("T2s")
            .field("region", &self.region)
            .field("keep_simplified", &self.keep_simplified)
            .finish_non_exhaustive()
    }
}

impl Default for T2s {
    fn default() -> Self {
        T2s::new(T2sRegion::Standard)
    }
}

impl T2s {
    /// The converter for `region` that leaves already simplified text alone (drops the
    /// OpenCC entries that rewrite text without traditional characters, such as
    /// `打坏 -> 打坯`). The dictionaries are built once per process, on first use.
    pub fn new(region: T2sRegion) -> Self {
        Self::with_options(region, true)
    }

    /// The converter for `region` with every OpenCC entry, as the OpenCC tool converts
    /// (still closed under repetition, so idempotent).
    pub fn opencc(region: T2sRegion) -> Self {
        Self::with_options(region, false)
    }

    fn with_options(region: T2sRegion, keep_simplified: bool) -> Self {
        let variants = match region {
            T2sRegion::Standard => Variants::Standard,
            T2sRegion::Taiwan => Variants::Taiwan,
            T2sRegion::HongKong => Variants::HongKong,
        };
        T2s {
            region,
            keep_simplified,
            converter: Converter::get(variants, keep_simplified),
        }
    }

    /// The region this converter expects.
    pub fn region(&self) -> T2sRegion {
        self.region
    }

    /// True for the default converters ([`T2s::new`]), which leave simplified text alone.
    pub fn keeps_simplified(&self) -> bool {
        self.keep_simplified
    }

    /// Converts `text` to simplified Chinese, without offsets.
    pub fn convert(&self, text: &str) -> String {
        self.apply(text).text(text).to_string()
    }
}

impl Normalizer for T2s {
    fn name(&self) -> &'static str {
        match self.region {
            T2sRegion::Standard => "t2s",
            T2sRegion::Taiwan => "tw2s",
            T2sRegion::HongKong => "hk2s",
        }
    }

    fn applies_to(&self, text: &str) -> bool {
        // Every CJK ideograph is encoded in UTF-8 with a lead byte of at least 0xE3.
        text.bytes().any(|b| b >= 0xE3) && text.chars().any(is_run_char)
    }

    fn apply(&self, text: &str) -> Normalized {
        // (char start, char len, conversion) of every run that changed.
        let mut edits: Vec<(usize, usize, Conv)> = Vec::new();
        let mut out = String::new();
        let mut copied = 0usize; // bytes of `text` accounted for in `out`
        let mut run: Option<(usize, usize)> = None; // (byte start, char start)
        let mut aligned = true;
        let mut char_pos = 0usize;
        let mut flush = |start: usize, cstart: usize, end: usize, cend: usize, out: &mut String| {
            if let Some(conv) = self.converter.convert_run(&text[start..end]) {
                if out.is_empty() {
                    out.reserve(text.len());
                }
                out.push_str(&text[copied..start]);
                out.push_str(&conv.text);
                copied = end;
                aligned &= conv.map.is_none();
                edits.push((cstart, cend - cstart, conv));
            }
        };
        // Whether the current run may change: it holds a character converted on its own,
        // or the first two characters of some phrase key.
        let (mut hot, mut prev_first) = (false, false);
        let conv = self.converter;
        for (i, c) in text.char_indices() {
            if is_run_char(c) {
                if run.is_none() {
                    run = Some((i, char_pos));
                    (hot, prev_first) = (false, false);
                }
                if !hot {
                    hot = conv.is_trigger(c) || (prev_first && conv.is_phrase_second(c));
                    prev_first = conv.is_phrase_first(c);
                }
            } else if let Some((s, cs)) = run.take() {
                if hot {
                    flush(s, cs, i, char_pos, &mut out);
                }
            }
            char_pos += 1;
        }
        if let Some((s, cs)) = run.take() {
            if hot {
                flush(s, cs, text.len(), char_pos, &mut out);
            }
        }
        if edits.is_empty() {
            return Normalized::Unchanged;
        }
        out.push_str(&text[copied..]);
        if aligned {
            return Normalized::Aligned(out);
        }
        // A conversion changed the length: build the full map.
        let mut b = NormalizedTextBuilder::new(char_pos);
        let mut edits = edits.into_iter().peekable();
        let mut skip_until = 0;
        let mut buf = [0u8; 4];
        for (i, c) in text.chars().enumerate() {
            if let Some((start, len, _)) = edits.peek() {
                if *start == i {
                    let (start, len, conv) = (*start, *len, edits.next().map(|e| e.2));
                    if let Some(conv) = conv {
                        match &conv.map {
                            None => {
                                for (j, ch) in conv.text.chars().enumerate() {
                                    b.push_char(ch, start + j);
                                }
                            }
                            Some(m) => {
                                for (ch, &(s, e)) in conv.text.chars().zip(m) {
                                    let span = Span::new(start + s as usize, start + e as usize);
                                    b.push(ch.encode_utf8(&mut buf), span);
                                }
                            }
                        }
                    }
                    skip_until = start + len;
                }
            }
            if i >= skip_until {
                b.push_char(c, i);
            }
        }
        Normalized::Remapped(b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::super::opencc::{parse as parse_dictionary, raw_dictionaries};
    use super::*;
    use quarry_core::NormalizedText;

    fn t2s(s: &str) -> String {
        T2s::new(T2sRegion::Standard).convert(s)
    }

    #[test]
    fn converts_characters_and_phrases() {
        assert_eq!(
            t2s("右腎見一低密度影，邊界清楚"),
            "右肾见一低密度影，边界清楚"
        );
        assert_eq!(t2s("頭髮很乾燥，乾隆年間"), "头发很干燥，乾隆年间");
        assert_eq!(t2s("後面的皇后"), "后面的皇后");
        assert_eq!(t2s("瞭解"), "了解");
    }

    #[test]
    fn leaves_simplified_and_non_cjk_text_alone() {
        let t = T2s::default();
        for s in [
            "右肾见一低密度影",
            "打坏了 坏死 沈阳 沈默",
            "CT 25HU 3.2cm×2.8cm",
            "",
        ] {
            assert_eq!(t.apply(s), Normalized::Unchanged, "{s}");
        }
        assert!(!t.applies_to("CT value 25 HU"));
        assert!(t.applies_to("CT值"));
        // The OpenCC-exact converter applies OpenCC's phrase table even to simplified text.
        assert_eq!(T2s::opencc(T2sRegion::Standard).convert("打坏"), "打坯");
    }

    #[test]
    fn regional_variants() {
        let tw = T2s::new(T2sRegion::Taiwan);
        assert_eq!(tw.name(), "tw2s");
        assert_eq!(tw.convert("偽"), "伪");
        // tw2s keeps simplified 么 (OpenCC exact would make "幺").
        assert_eq!(tw.convert("什么"), "什么");
        let hk = T2s::new(T2sRegion::HongKong);
        assert_eq!(hk.name(), "hk2s");
        assert_eq!(hk.convert("潮濕灶台"), "潮湿灶台");
    }

    #[test]
    fn debug_output_is_short() {
        let d = format!("{:?}", crate::chain::NormalizerChain::default_chain());
        assert!(d.len() < 300, "{d}");
        assert!(
            d.contains("T2s { region: Standard, keep_simplified: true, .. }"),
            "{d}"
        );
    }

    #[test]
    fn compat_ideographs_are_unified_then_converted() {
        // U+F9B5 is a compatibility form of 例; U+F901 of 更.
        assert_eq!(t2s("\u{F9B5}\u{F901}"), "例更");
    }

    #[test]
    fn conversion_is_aligned_and_maps_one_for_one() {
        let n = T2s::default().normalize(&NormalizedText::identity("CT：腎臟"));
        assert_eq!(n.text, "CT：肾脏");
        assert_eq!(n.to_original(Span::new(3, 5)), Span::new(3, 5));
        assert!(matches!(T2s::default().apply("腎"), Normalized::Aligned(_)));
    }

    #[test]
    fn every_dictionary_string_is_a_fixpoint_after_one_conversion() {
        for exact in [false, true] {
            for region in [T2sRegion::Standard, T2sRegion::Taiwan, T2sRegion::HongKong] {
                let t = T2s::with_options(region, !exact);
                let mut strings = t.converter.sample_strings();
                for text in raw_dictionaries() {
                    for (k, v) in parse_dictionary(text) {
                        strings.push(k.to_string());
                        strings.push(v.to_string());
                        strings.push(format!("{k}{v}{k}"));
                    }
                }
                for s in strings {
                    let once = t.convert(&s);
                    let twice = t.convert(&once);
                    assert_eq!(once, twice, "{region:?} exact={exact}: {s}");
                }
            }
        }
    }

    /// Every key and value of every dictionary.
    fn fragments() -> &'static [String] {
        static F: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        F.get_or_init(|| {
            raw_dictionaries()
                .into_iter()
                .flat_map(parse_dictionary)
                .flat_map(|(k, v)| [k.to_string(), v.to_string()])
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Concatenated dictionary fragments: phrase matches across fragment boundaries.
        #[test]
        fn concatenated_dictionary_fragments_convert_to_a_fixpoint(
            picks in proptest::collection::vec(0usize..100_000, 1..8)
        ) {
            let f = fragments();
            let s: String = picks.iter().map(|&i| f[i % f.len()].as_str()).collect();
            for exact in [false, true] {
                for region in [T2sRegion::Standard, T2sRegion::Taiwan, T2sRegion::HongKong] {
                    let t = T2s::with_options(region, !exact);
                    let once = t.convert(&s);
                    proptest::prop_assert_eq!(t.convert(&once), once.clone(), "{:?} {} {}", region, exact, s);
                }
            }
        }
    }
}
