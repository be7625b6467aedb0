//! Text analysis: the English and Chinese analyzers registered on every index.
//!
//! * `quarry_en`: words split on non-alphanumerics, width-folded (ＣＴ -> ct), lower-cased,
//!   Lucene's English stop words removed, Snowball English stemming.
//! * `quarry_zh`: the text is width-folded, segmented by jieba in search mode (long words and
//!   the shorter words inside them) with the built-in medical user dictionary plus any
//!   configured ones, lower-cased; every CJK character is also emitted on its own, so a
//!   one-character query such as 肾 matches 肾囊肿.

use jieba_rs::Jieba;
use quarry_core::config::AnalysisConfig;
use quarry_core::lang::is_cjk;
use std::io::BufReader;
use std::sync::Arc;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenFilter, TokenStream, Tokenizer,
};

/// Name of the English analyzer.
pub const EN: &str = "quarry_en";
/// Name of the Chinese analyzer.
pub const ZH: &str = "quarry_zh";

/// The medical user dictionary compiled into the binary.
pub const BUILTIN_ZH_DICT: &str = include_str!("../../data/dict/zh_medical.dict");

/// Errors building analyzers.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A user dictionary could not be read or parsed.
    #[error("jieba user dictionary {path}: {message}")]
    Dict {
        /// Dictionary path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Folds a full-width ASCII variant (U+FF01..U+FF5E) or the ideographic space to ASCII.
pub fn fold_width(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// Builds the jieba segmenter with the configured dictionaries.
pub fn build_jieba(cfg: &AnalysisConfig) -> Result<Jieba, AnalysisError> {
    let mut jieba = Jieba::new();
    if cfg.zh_builtin_dict {
        jieba
            .load_dict(&mut BufReader::new(BUILTIN_ZH_DICT.as_bytes()))
            .map_err(|e| AnalysisError::Dict {
                path: "<built-in zh_medical.dict>".into(),
                message: e.to_string(),
            })?;
    }
    for p in &cfg.zh_user_dicts {
        let f = std::fs::File::open(p).map_err(|e| AnalysisError::Dict {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        jieba
            .load_dict(&mut BufReader::new(f))
            .map_err(|e| AnalysisError::Dict {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
    }
    Ok(jieba)
}

/// The Chinese tokenizer (see the module docs).
#[derive(Clone)]
pub struct ChineseTokenizer {
    jieba: Arc<Jieba>,
    unigrams: bool,
    tokens: Vec<Token>,
}

impl ChineseTokenizer {
    /// A tokenizer over a built segmenter.
    pub fn new(jieba: Arc<Jieba>, unigrams: bool) -> Self {
        ChineseTokenizer {
            jieba,
            unigrams,
            tokens: Vec::new(),
        }
    }

    /// Tokenizes into `(text, byte_from, byte_to)` triples of the original text.
    pub fn analyze(&self, text: &str) -> Vec<(String, usize, usize)> {
        // Width-fold, remembering where each folded byte came from.
        let mut folded = String::with_capacity(text.len());
        let mut origin: Vec<usize> = Vec::with_capacity(text.len() + 1);
        for (i, c) in text.char_indices() {
            let f = fold_width(c);
            for _ in 0..f.len_utf8() {
                origin.push(i);
            }
            folded.push(f);
        }
        origin.push(text.len());
        let to_orig = |b: usize| origin[b.min(origin.len() - 1)];
        let mut out: Vec<(String, usize, usize)> = Vec::new();
        for tok in self.jieba.cut_for_search(&folded, true) {
            let word = tok.word;
            let (from, to) = (tok.byte_start, tok.byte_end);
            if !word.chars().any(char::is_alphanumeric) {
                continue;
            }
            out.push((word.to_lowercase(), to_orig(from), to_orig(to)));
            if self.unigrams && word.chars().count() > 1 {
                for (ci, c) in word.char_indices() {
                    if is_cjk(c) {
                        let s = from + ci;
                        out.push((c.to_string(), to_orig(s), to_orig(s + c.len_utf8())));
                    }
                }
            }
        }
        // Offsets must not go backwards (tantivy's snippet code relies on it): order by
        // start, longer tokens first.
        out.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)));
        out
    }
}

impl Tokenizer for ChineseTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        let analyzed = self.analyze(text);
        self.tokens.clear();
        for (position, (t, from, to)) in analyzed.into_iter().enumerate() {
            self.tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text: t,
                position_length: 1,
            });
        }
        VecTokenStream {
            tokens: &mut self.tokens,
            index: None,
        }
    }
}

/// A token stream over a prepared vector.
pub struct VecTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    index: Option<usize>,
}

impl TokenStream for VecTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let next = self.index.map_or(0, |i| i + 1);
        self.index = Some(next);
        next < self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index.unwrap_or(0)]
    }
    fn token_mut(&mut self) -> &mut Token {
        let i = self.index.unwrap_or(0);
        &mut self.tokens[i]
    }
}

/// Token filter folding full-width ASCII to ASCII.
#[derive(Clone, Copy, Default)]
pub struct WidthFold;

impl TokenFilter for WidthFold {
    type Tokenizer<T: Tokenizer> = WidthFoldFilter<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> WidthFoldFilter<T> {
        WidthFoldFilter(tokenizer)
    }
}

/// [`WidthFold`] applied to a tokenizer.
#[derive(Clone)]
pub struct WidthFoldFilter<T>(T);

impl<T: Tokenizer> Tokenizer for WidthFoldFilter<T> {
    type TokenStream<'a> = WidthFoldStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WidthFoldStream(self.0.token_stream(text))
    }
}

/// Stream of [`WidthFoldFilter`].
pub struct WidthFoldStream<S>(S);

impl<S: TokenStream> TokenStream for WidthFoldStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let t = self.0.token_mut();
        if t.text.chars().any(|c| fold_width(c) != c) {
            t.text = t.text.chars().map(fold_width).collect();
        }
        true
    }
    fn token(&self) -> &Token {
        self.0.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// The English analyzer.
pub fn english() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(WidthFold)
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("tantivy has English stop words"))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The Chinese analyzer.
pub fn chinese(jieba: Arc<Jieba>, unigrams: bool) -> TextAnalyzer {
    TextAnalyzer::builder(ChineseTokenizer::new(jieba, unigrams))
        .filter(RemoveLongFilter::limit(40))
        .build()
}

/// Registers both analyzers on an index.
pub fn register(index: &tantivy::Index, jieba: Arc<Jieba>, cfg: &AnalysisConfig) {
    let m = index.tokenizers();
    m.register(EN, english());
    m.register(ZH, chinese(jieba, cfg.zh_unigrams));
}

/// Runs an analyzer over `text` and returns the token texts (for tests and `quarry analyze`).
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut s = analyzer.token_stream(text);
    let mut out = Vec::new();
    while s.advance() {
        out.push(s.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zh() -> TextAnalyzer {
        chinese(
            Arc::new(build_jieba(&AnalysisConfig::default()).unwrap()),
            true,
        )
    }

    #[test]
    fn english_stems_and_drops_stop_words() {
        let t = tokens(
            &mut english(),
            "The runners were INJURED while running ＣＴ",
        );
        assert_eq!(t, ["runner", "were", "injur", "while", "run", "ct"]);
    }

    #[test]
    fn chinese_keeps_words_and_single_characters() {
        let t = tokens(&mut zh(), "右肾囊肿，大小约1.2cm");
        assert!(t.contains(&"肾囊肿".to_string()), "{t:?}");
        assert!(t.contains(&"肾".to_string()), "{t:?}");
        assert!(t.contains(&"囊".to_string()), "{t:?}");
        assert!(!t.iter().any(|w| w == "，"), "{t:?}");
    }

    #[test]
    fn chinese_offsets_point_into_the_original_text() {
        let text = "ＣＴ示肝脏低密度影";
        let tk = ChineseTokenizer::new(
            Arc::new(build_jieba(&AnalysisConfig::default()).unwrap()),
            false,
        );
        let toks = tk.analyze(text);
        assert!(!toks.is_empty());
        for (t, from, to) in &toks {
            let orig = &text[*from..*to];
            let folded: String = orig
                .chars()
                .map(fold_width)
                .collect::<String>()
                .to_lowercase();
            assert_eq!(&folded, t);
        }
        assert!(toks.iter().any(|(t, _, _)| t == "ct"), "{toks:?}");
    }

    #[test]
    fn bad_user_dictionary_is_a_clear_error() {
        let cfg = AnalysisConfig {
            zh_user_dicts: vec!["/nonexistent/dict.txt".into()],
            ..Default::default()
        };
        let err = build_jieba(&cfg).err().unwrap().to_string();
        assert!(err.contains("/nonexistent/dict.txt"), "{err}");
    }
}
