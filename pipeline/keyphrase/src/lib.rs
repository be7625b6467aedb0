//! Supervised key-phrase extraction for English news (Marujo et al., LREC 2012).
//!
//! A document goes through, in order:
//! 1. optional **co-reference normalization** (`quarry-coref`): every mention of a named
//!    entity is rewritten to its canonical form ("Obama" -> "Barack Obama") so counts pool
//!    onto one form; offsets map back to the original text;
//! 2. [`text::analyze`]: sentences and words;
//! 3. optional **light filtering** ([`filter`]): sentences judged peripheral give no
//!    candidates;
//! 4. [`candidates::candidates`]: stop-word-bounded word n-grams grouped by normalized form;
//! 5. [`features::features`] and the [`model::Ranker`] (logistic regression) score each
//!    candidate; the best are returned with their occurrences in the original text.
//!
//! [`train`] fits a ranker on labelled documents; `quarry eval keyphrase` cross-validates it.

pub mod candidates;
pub mod features;
pub mod filter;
pub mod model;
pub mod stage;
pub use quarry_coref::{stopwords, text};

use candidates::{candidates, Candidate};
use features::{features, CollectionStats, DocContext};
use model::{Ranker, TrainOptions};
use quarry_core::document::Span;
use quarry_core::offsets::NormalizedText;
use quarry_core::phrase::PhraseNormalizer;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// Errors of training, loading and extraction.
#[derive(Debug, thiserror::Error)]
pub enum KeyphraseError {
    /// Training could not run.
    #[error("key-phrase training: {0}")]
    Training(String),
    /// A model file could not be read or written.
    #[error("key-phrase model {0}: {1}")]
    Model(String, String),
}

/// How candidates are produced (fixed at training time and stored with the model).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExtractOptions {
    /// Longest candidate, in words.
    pub max_words: usize,
    /// Co-reference normalization before counting.
    pub coref: CorefMode,
    /// Light filtering of peripheral sentences.
    pub filter: bool,
    /// Share of the non-lead sentences the filter drops (the least central ones).
    pub filter_drop: f64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_words: 3,
            coref: CorefMode::Off,
            filter: false,
            filter_drop: 0.2,
        }
    }
}

/// How co-reference normalization feeds the counts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CorefMode {
    /// No co-reference normalization.
    Off,
    /// Every written form of an entity counts all the entity's mentions ("Obama" and "Barack
    /// Obama" both get the pooled count); the text is not rewritten.
    Pool,
    /// Mentions are rewritten to the canonical form before candidates are read (counts pool
    /// on the canonical form and its words).
    Rewrite,
}

impl std::str::FromStr for CorefMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(CorefMode::Off),
            "on" | "pool" => Ok(CorefMode::Pool),
            "rewrite" => Ok(CorefMode::Rewrite),
            other => Err(format!(
                "unknown co-reference mode {other:?} (off, pool, rewrite)"
            )),
        }
    }
}

/// One extracted key phrase.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Keyphrase {
    /// The phrase as written (its most frequent spelling; after co-reference normalization,
    /// the entity's canonical form).
    pub phrase: String,
    /// Normalized form (lowercase, stemmed).
    pub key: String,
    /// Ranker score (higher is better).
    pub score: f64,
    /// Occurrences, as character spans of the original text.
    pub spans: Vec<Span>,
}

/// A labelled training document.
#[derive(Debug, Clone)]
pub struct TrainDoc<'a> {
    /// Text (first line: the title).
    pub text: &'a str,
    /// Gold key phrases.
    pub gold: &'a [String],
    /// Category (news section), when known: feeds the per-category keyphraseness.
    pub category: Option<&'a str>,
}

/// The category a data set encodes in a document id's prefix (`sports-20934812` ->
/// `sports`, SemEval's `C-41` -> `C`): the part before the first `-` when it is letters and
/// `_` only; `None` otherwise (Inspec's numeric ids).
pub fn category_of(id: &str) -> Option<&str> {
    let (prefix, _) = id.split_once('-')?;
    (!prefix.is_empty() && prefix.chars().all(|c| c.is_alphabetic() || c == '_')).then_some(prefix)
}

/// A document prepared for features.
struct Prepared {
    normalized: NormalizedText,
    analyzed: text::Analyzed,
    candidates: Vec<Candidate>,
    entities: FxHashMap<String, usize>,
    pooled: FxHashMap<String, usize>,
}

fn prepare(text: &str, opts: &ExtractOptions, normalizer: &PhraseNormalizer) -> Prepared {
    let resolution = quarry_coref::resolve_english(text);
    // entity-ness: every mention name's key, with the size of its entity
    let mut entities: FxHashMap<String, usize> = FxHashMap::default();
    // pooled counts: every written form of a multi-mention entity counts all its mentions
    let mut pooled: FxHashMap<String, usize> = FxHashMap::default();
    for c in &resolution.clusters {
        let n = c.mentions.len();
        for name in c
            .mentions
            .iter()
            .map(|m| m.name.as_str())
            .chain([c.canonical.as_str()])
        {
            let k = normalizer.normalize(name);
            let e = entities.entry(k.clone()).or_default();
            *e = (*e).max(n);
            if n > 1 && opts.coref != CorefMode::Off {
                let p = pooled.entry(k).or_default();
                *p = (*p).max(n);
            }
        }
    }
    let normalized = if opts.coref == CorefMode::Rewrite {
        resolution.normalized
    } else {
        NormalizedText::identity(text)
    };
    let analyzed = text::analyze(&normalized.text);
    let keep = if opts.filter {
        filter::central_sentences(&analyzed, opts.filter_drop)
    } else {
        vec![true; analyzed.sentences.len()]
    };
    let chars: Vec<char> = normalized.text.chars().collect();
    let cands = candidates(&chars, &analyzed, opts.max_words, normalizer, &|s| keep[s]);
    Prepared {
        normalized,
        analyzed,
        candidates: cands,
        entities,
        pooled,
    }
}

/// A labelled document after co-reference, analysis and candidate reading: what training
/// and extraction need besides the collection statistics. Cross-validation prepares each
/// document once and reuses it in every fold ([`prepare_docs`], [`train_prepared`],
/// [`Extractor::extract_prepared`]).
pub struct PreparedDoc {
    text: String,
    options: ExtractOptions,
    category: Option<String>,
    prepared: Prepared,
    keys: FxHashSet<String>,
    gold: FxHashSet<String>,
}

/// Prepares labelled documents with `opts`.
pub fn prepare_docs(docs: &[TrainDoc<'_>], opts: &ExtractOptions) -> Vec<PreparedDoc> {
    let normalizer = PhraseNormalizer::new();
    docs.iter()
        .map(|d| {
            let prepared = prepare(d.text, opts, &normalizer);
            let keys = prepared.candidates.iter().map(|c| c.key.clone()).collect();
            let gold = d
                .gold
                .iter()
                .map(|g| normalizer.normalize(g))
                .filter(|g| !g.is_empty())
                .collect();
            PreparedDoc {
                text: d.text.to_string(),
                options: opts.clone(),
                category: d.category.map(str::to_string),
                prepared,
                keys,
                gold,
            }
        })
        .collect()
}

/// Fits a ranker on `docs`.
pub fn train(
    docs: &[TrainDoc<'_>],
    opts: &ExtractOptions,
    train_opts: &TrainOptions,
) -> Result<Ranker, KeyphraseError> {
    let prepared = prepare_docs(docs, opts);
    let refs: Vec<&PreparedDoc> = prepared.iter().collect();
    train_prepared(&refs, opts, train_opts)
}

/// Fits a ranker on documents prepared with `opts` (see [`prepare_docs`]).
pub fn train_prepared(
    docs: &[&PreparedDoc],
    opts: &ExtractOptions,
    train_opts: &TrainOptions,
) -> Result<Ranker, KeyphraseError> {
    if let Some(d) = docs.iter().find(|d| &d.options != opts) {
        return Err(KeyphraseError::Training(format!(
            "a document was prepared with {:?}, not with the training options {opts:?}",
            d.options
        )));
    }
    let mut stats = CollectionStats::default();
    for d in docs {
        stats.add(&d.keys, &d.gold, d.category.as_deref());
    }
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for d in docs {
        let p = &d.prepared;
        let ctx = DocContext {
            category: d.category.as_deref(),
            analyzed: &p.analyzed,
            entities: &p.entities,
            pooled: &p.pooled,
            leave_out: Some((&d.keys, &d.gold)),
        };
        for (c, f) in p
            .candidates
            .iter()
            .zip(features(&p.candidates, &stats, &ctx))
        {
            labels.push(d.gold.contains(&c.key));
            rows.push(f);
        }
    }
    tracing::info!(
        docs = docs.len(),
        candidates = rows.len(),
        positives = labels.iter().filter(|&&l| l).count(),
        "fitting key-phrase ranker"
    );
    stats.prune(2);
    Ranker::fit(&rows, &labels, stats, opts.clone(), train_opts.clone())
}

/// Extracts key phrases with a trained ranker.
pub struct Extractor {
    ranker: Ranker,
    normalizer: PhraseNormalizer,
}

impl Extractor {
    /// An extractor for `ranker` (its stored options decide co-reference and filtering).
    pub fn new(ranker: Ranker) -> Self {
        Extractor {
            ranker,
            normalizer: PhraseNormalizer::new(),
        }
    }

    /// The ranker.
    pub fn ranker(&self) -> &Ranker {
        &self.ranker
    }

    /// The `k` best key phrases of `text` (all of them when `k` is 0), best first; ties keep
    /// the order of first occurrence.
    pub fn extract(&self, text: &str, k: usize) -> Vec<Keyphrase> {
        self.extract_in(text, None, k)
    }

    /// [`Extractor::extract`] for a document of a known category (news section), which
    /// feeds the per-category keyphraseness learned in training.
    pub fn extract_in(&self, text: &str, category: Option<&str>, k: usize) -> Vec<Keyphrase> {
        let p = prepare(text, &self.ranker.options, &self.normalizer);
        self.rank(&p, category, k)
    }

    /// [`Extractor::extract_in`] for a document [`prepare_docs`] prepared (its category
    /// included); one prepared with other options than the ranker's is prepared again.
    pub fn extract_prepared(&self, doc: &PreparedDoc, k: usize) -> Vec<Keyphrase> {
        if doc.options == self.ranker.options {
            self.rank(&doc.prepared, doc.category.as_deref(), k)
        } else {
            self.extract_in(&doc.text, doc.category.as_deref(), k)
        }
    }

    fn rank(&self, p: &Prepared, category: Option<&str>, k: usize) -> Vec<Keyphrase> {
        let ctx = DocContext {
            category,
            analyzed: &p.analyzed,
            entities: &p.entities,
            pooled: &p.pooled,
            leave_out: None,
        };
        let rows = features(&p.candidates, &self.ranker.stats, &ctx);
        let mut scored: Vec<(f64, usize)> = self
            .ranker
            .score_rows(&rows)
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        if k > 0 {
            scored.truncate(k);
        }
        scored
            .into_iter()
            .map(|(score, i)| {
                let c = &p.candidates[i];
                Keyphrase {
                    phrase: c.surface.clone(),
                    key: c.key.clone(),
                    score,
                    spans: c
                        .occurrences
                        .iter()
                        .map(|o| p.normalized.to_original(Span::new(o.start, o.end)))
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn categories_from_ids() {
        assert_eq!(super::category_of("sports-20934812"), Some("sports"));
        assert_eq!(super::category_of("politics_us-1"), Some("politics_us"));
        assert_eq!(super::category_of("C-41"), Some("C"));
        assert_eq!(super::category_of("1001"), None);
        assert_eq!(super::category_of("-1"), None);
        assert_eq!(super::category_of("a1-2"), None);
    }
}
