//! Property tests: analyzers and search never panic on arbitrary text, and Chinese token
//! offsets always point at the text they came from.

use proptest::prelude::*;
use quarry_core::config::AnalysisConfig;
use quarry_core::Document;
use quarry_index::analysis::{build_jieba, fold_width, ChineseTokenizer};
use quarry_index::QuarryIndex;
use std::sync::{Arc, OnceLock};

fn tokenizer() -> &'static ChineseTokenizer {
    static T: OnceLock<ChineseTokenizer> = OnceLock::new();
    T.get_or_init(|| {
        ChineseTokenizer::new(
            Arc::new(build_jieba(&AnalysisConfig::default()).unwrap()),
            true,
        )
    })
}

fn index() -> &'static QuarryIndex {
    static I: OnceLock<QuarryIndex> = OnceLock::new();
    I.get_or_init(|| {
        let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
        let docs = vec![
            Document::new("a").with_field("body", "右肾囊肿，大小约１.２cm×0.8cm。左肾未见异常"),
            Document::new("b").with_field("body", "The kidney stone was 5 mm; no hydronephrosis."),
            Document::new("c").with_field("body", "甲状腺右叶低回声结节，TI-RADS 4a类"),
        ];
        idx.add_documents(&docs, 20 << 20).unwrap();
        idx
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn chinese_offsets_are_valid_and_ordered(s in "[\\p{Han}a-zA-Z0-9０-９Ａ-Ｚ，。、 .×%-]{0,60}") {
        let toks = tokenizer().analyze(&s);
        let mut last = 0usize;
        for (t, from, to) in &toks {
            prop_assert!(from <= to && *to <= s.len());
            prop_assert!(s.is_char_boundary(*from) && s.is_char_boundary(*to));
            prop_assert!(*from >= last);
            last = *from;
            let orig: String = s[*from..*to].chars().map(fold_width).collect::<String>().to_lowercase();
            prop_assert_eq!(&orig, t);
        }
    }

    #[test]
    fn search_never_panics(q in "\\PC{0,40}") {
        let hits = index().search(&q, 3).unwrap();
        prop_assert!(hits.len() <= 3);
    }
}
