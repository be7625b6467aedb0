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
    pub coref: bool,
    /// Light filtering of peripheral sentences.
    pub filter: bool,
    /// Share of the non-lead sentences the filter drops (the least central ones).
    pub filter_drop: f64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_words: 3,
            coref: true,
            filter: false,
            filter_drop: 0.2,
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
}

/// A document prepared for features.
struct Prepared {
    normalized: NormalizedText,
    analyzed: text::Analyzed,
    candidates: Vec<Candidate>,
    entities: FxHashMap<String, usize>,
}

fn prepare(text: &str, opts: &ExtractOptions, normalizer: &PhraseNormalizer) -> Prepared {
    let resolution = quarry_coref::resolve_english(text);
    let mut entities: FxHashMap<String, usize> = FxHashMap::default();
    for c in &resolution.clusters {
        let n = c.mentions.len();
        if opts.coref {
            let k = normalizer.normalize(&c.canonical);
            let e = entities.entry(k).or_default();
            *e = (*e).max(n);
        } else {
            for m in &c.mentions {
                let k = normalizer.normalize(&m.text);
                let e = entities.entry(k).or_default();
                *e = (*e).max(1);
            }
        }
    }
    let normalized = if opts.coref {
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
    }
}

/// Fits a ranker on `docs`.
pub fn train(
    docs: &[TrainDoc<'_>],
    opts: &ExtractOptions,
    train_opts: &TrainOptions,
) -> Result<Ranker, KeyphraseError> {
    let normalizer = PhraseNormalizer::new();
    let mut stats = CollectionStats::default();
    let mut prepared = Vec::with_capacity(docs.len());
    for d in docs {
        let p = prepare(d.text, opts, &normalizer);
        let keys: FxHashSet<String> = p.candidates.iter().map(|c| c.key.clone()).collect();
        let gold: FxHashSet<String> = d
            .gold
            .iter()
            .map(|g| normalizer.normalize(g))
            .filter(|g| !g.is_empty())
            .collect();
        stats.add(&keys, &gold);
        prepared.push((p, keys, gold));
    }
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for (p, keys, gold) in &prepared {
        let ctx = DocContext {
            analyzed: &p.analyzed,
            entities: &p.entities,
            leave_out: Some((keys, gold)),
        };
        for (c, f) in p
            .candidates
            .iter()
            .zip(features(&p.candidates, &stats, &ctx))
        {
            labels.push(gold.contains(&c.key));
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
        let p = prepare(text, &self.ranker.options, &self.normalizer);
        let ctx = DocContext {
            analyzed: &p.analyzed,
            entities: &p.entities,
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
