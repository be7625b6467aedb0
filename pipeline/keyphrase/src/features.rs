//! Candidate features (Marujo et al. 2012 and KEA): frequency, rarity, position, spread,
//! shape, capitalization, entity-ness, signal words and the phrase's keyphraseness in the
//! training collection.

use crate::candidates::Candidate;
use crate::text::Analyzed;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// Feature names, in vector order.
pub const FEATURES: &[&str] = &[
    "log_tf",
    "idf",
    "tfidf",
    "first_pos",
    "last_pos",
    "spread",
    "words",
    "log_chars",
    "capitalized",
    "all_caps",
    "in_title",
    "in_lead",
    "sentence_share",
    "has_digit",
    "keyphraseness",
    "seen_in_training",
    "entity",
    "signal",
    "first_pos_sqrt",
    "log_tf_x_capitalized",
    "word_kp_mean",
    "word_kp_min",
    "lowercase",
    "suffix_ly_ing_ed",
    "tf_rank",
    "log_doc_chars",
    "df_share",
    "category_keyphraseness",
];

/// Words that mark a sentence as carrying the story (reporting and emphasis verbs, lead
/// markers); `signal` is the share of a candidate's occurrences in such sentences.
const SIGNAL_WORDS: &[&str] = &[
    "according",
    "announced",
    "confirmed",
    "critical",
    "crucial",
    "first",
    "important",
    "key",
    "main",
    "major",
    "new",
    "officials",
    "reported",
    "revealed",
    "significant",
    "told",
    "warned",
];

/// Collection statistics learned from training documents: document frequency of every
/// candidate key and how many documents had it as a gold key phrase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CollectionStats {
    /// Documents counted.
    pub docs: u32,
    /// Candidate key -> documents containing it.
    pub df: FxHashMap<String, u32>,
    /// Candidate key -> documents where it is a gold phrase.
    pub gold: FxHashMap<String, u32>,
    /// `category \u{1f} key` -> documents of that category containing it.
    #[serde(default)]
    pub category_df: FxHashMap<String, u32>,
    /// `category \u{1f} key` -> documents of that category where it is gold.
    #[serde(default)]
    pub category_gold: FxHashMap<String, u32>,
}

/// The key of a (category, candidate key) pair in the per-category tables.
pub fn category_key(category: &str, key: &str) -> String {
    format!("{category}\u{1f}{key}")
}

impl CollectionStats {
    /// Adds one document: its candidate keys and which of them are gold.
    pub fn add(
        &mut self,
        keys: &FxHashSet<String>,
        gold_keys: &FxHashSet<String>,
        category: Option<&str>,
    ) {
        self.docs += 1;
        for k in keys {
            *self.df.entry(k.clone()).or_default() += 1;
            let gold = gold_keys.contains(k);
            if gold {
                *self.gold.entry(k.clone()).or_default() += 1;
            }
            if let Some(c) = category {
                let ck = category_key(c, k);
                if gold {
                    *self.category_gold.entry(ck.clone()).or_default() += 1;
                }
                *self.category_df.entry(ck).or_default() += 1;
            }
        }
    }

    /// Drops keys seen in fewer than `min_df` documents (they carry little and dominate the
    /// table's size); unseen keys read as df 0.
    pub fn prune(&mut self, min_df: u32) {
        self.df.retain(|_, v| *v >= min_df);
        let df = &self.df;
        self.gold.retain(|k, _| df.contains_key(k));
        self.category_df.retain(|_, v| *v >= min_df);
        let cdf = &self.category_df;
        self.category_gold.retain(|k, _| cdf.contains_key(k));
    }
}

/// Per-document context for [`features`].
pub struct DocContext<'a> {
    /// The analyzed text.
    pub analyzed: &'a Analyzed,
    /// Keys of words/phrases that are entity mentions (co-reference clusters), with the
    /// number of mentions of their entity.
    pub entities: &'a FxHashMap<String, usize>,
    /// Pooled mention counts of entity forms (co-reference normalization): a candidate's
    /// frequency is at least its entity's number of mentions.
    pub pooled: &'a FxHashMap<String, usize>,
    /// The document's category (news section), when known.
    pub category: Option<&'a str>,
    /// When the document is itself one of the documents counted in the statistics (training),
    /// its own contribution: (its keys, its gold keys), subtracted so that training features
    /// look like those of an unseen document.
    pub leave_out: Option<(&'a FxHashSet<String>, &'a FxHashSet<String>)>,
}

/// The feature vector of every candidate, in [`FEATURES`] order.
pub fn features(
    cands: &[Candidate],
    stats: &CollectionStats,
    ctx: &DocContext<'_>,
) -> Vec<Vec<f64>> {
    let a = ctx.analyzed;
    let chars = a.chars.max(1) as f64;
    let n_sent = a.sentences.len().max(1) as f64;
    let signal_sentence: Vec<bool> = (0..a.sentences.len())
        .map(|s| {
            a.sentence_words(s)
                .iter()
                .any(|w| SIGNAL_WORDS.binary_search(&w.lower.as_str()).is_ok())
        })
        .collect();
    // lead: the first two sentences that start after the first line
    let lead: FxHashSet<usize> = a
        .sentences
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| *s >= a.first_line_end)
        .take(2)
        .map(|(i, _)| i)
        .collect();
    let n_docs = stats.docs as f64;
    // (df, gold) of a key, without this document's own contribution when it is a training one
    let counts = |key: &str| -> (u32, u32) {
        let (mut df, mut gold) = (
            stats.df.get(key).copied().unwrap_or(0),
            stats.gold.get(key).copied().unwrap_or(0),
        );
        if let Some((keys, gold_keys)) = ctx.leave_out {
            if keys.contains(key) {
                df = df.saturating_sub(1);
            }
            if gold_keys.contains(key) {
                gold = gold.saturating_sub(1);
            }
        }
        (df, gold)
    };
    let tf_of = |c: &Candidate| {
        c.occurrences
            .len()
            .max(ctx.pooled.get(&c.key).copied().unwrap_or(0))
    };
    let mut tfs: Vec<usize> = cands.iter().map(tf_of).collect();
    tfs.sort_unstable_by(|a, b| b.cmp(a));
    let tf_rank = |tf: usize| tfs.partition_point(|&t| t > tf) as f64 / tfs.len().max(1) as f64;
    cands
        .iter()
        .map(|c| {
            let tf = c
                .occurrences
                .len()
                .max(ctx.pooled.get(&c.key).copied().unwrap_or(0)) as f64;
            let (df, gold) = counts(&c.key);
            let docs = if ctx.leave_out.is_some() {
                n_docs - 1.0
            } else {
                n_docs
            };
            let idf = ((docs + 1.0) / (df as f64 + 1.0)).ln();
            let first = c.occurrences.first().map(|o| o.start).unwrap_or(0) as f64 / chars;
            let last = c.occurrences.last().map(|o| o.start).unwrap_or(0) as f64 / chars;
            let cap = c
                .occurrences
                .iter()
                .filter(|o| {
                    let ws = &a.words[o.first_word..o.first_word + o.words];
                    ws.iter().all(|w| w.capitalized() || w.stop)
                        && !(o.words == 1 && ws[0].sentence_initial)
                })
                .count() as f64
                / c.occurrences.len() as f64;
            let all_caps = a.words[c.occurrences[0].first_word].all_caps() && c.words == 1;
            let in_title = c.occurrences.iter().any(|o| o.start < a.first_line_end);
            let in_lead = c.occurrences.iter().any(|o| lead.contains(&o.sentence));
            let sentences: FxHashSet<usize> = c.occurrences.iter().map(|o| o.sentence).collect();
            let has_digit = c.surface.chars().any(|ch| ch.is_ascii_digit());
            let kp = gold as f64 / (df as f64 + 1.0);
            let entity = ctx
                .entities
                .get(&c.key)
                .map(|&n| (1.0 + n as f64).ln())
                .unwrap_or(0.0);
            let signal = c
                .occurrences
                .iter()
                .filter(|o| signal_sentence.get(o.sentence).copied().unwrap_or(false))
                .count() as f64
                / c.occurrences.len() as f64;
            let log_tf = (1.0 + tf).ln();
            let word_kp: Vec<f64> = c
                .word_keys
                .iter()
                .map(|k| {
                    let (d, g) = counts(k);
                    g as f64 / (d as f64 + 1.0)
                })
                .collect();
            let wk_mean = if word_kp.is_empty() {
                0.0
            } else {
                word_kp.iter().sum::<f64>() / word_kp.len() as f64
            };
            let wk_min = word_kp.iter().copied().fold(f64::INFINITY, f64::min);
            let wk_min = if wk_min.is_finite() { wk_min } else { 0.0 };
            let lowercase = c.surface.chars().all(|ch| !ch.is_uppercase());
            let category_kp = match ctx.category {
                Some(cat) => {
                    let ck = category_key(cat, &c.key);
                    let (mut d, mut g) = (
                        stats.category_df.get(&ck).copied().unwrap_or(0),
                        stats.category_gold.get(&ck).copied().unwrap_or(0),
                    );
                    if let Some((keys, gold_keys)) = ctx.leave_out {
                        if keys.contains(&c.key) {
                            d = d.saturating_sub(1);
                        }
                        if gold_keys.contains(&c.key) {
                            g = g.saturating_sub(1);
                        }
                    }
                    g as f64 / (d as f64 + 1.0)
                }
                None => kp,
            };
            let last_word = c.surface.rsplit(' ').next().unwrap_or("").to_lowercase();
            let verbish = ["ly", "ing", "ed"].iter().any(|s| last_word.ends_with(s));
            vec![
                log_tf,
                idf,
                log_tf * idf,
                first,
                last,
                last - first,
                c.words as f64,
                (1.0 + c.surface.chars().count() as f64).ln(),
                cap,
                f64::from(u8::from(all_caps)),
                f64::from(u8::from(in_title)),
                f64::from(u8::from(in_lead)),
                sentences.len() as f64 / n_sent,
                f64::from(u8::from(has_digit)),
                kp,
                f64::from(u8::from(df > 0)),
                entity,
                signal,
                first.sqrt(),
                log_tf * cap,
                wk_mean,
                wk_min,
                f64::from(u8::from(lowercase)),
                f64::from(u8::from(verbish)),
                tf_rank(tf_of(c)),
                (1.0 + chars).ln(),
                df as f64 / docs.max(1.0),
                category_kp,
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::candidates;
    use crate::text::analyze;
    use quarry_core::phrase::PhraseNormalizer;

    #[test]
    fn signal_words_sorted() {
        assert!(SIGNAL_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn vector_shape_and_values() {
        let t = "Lakes Festival\nThe festival opens. Officials announced the festival dates.";
        let chars: Vec<char> = t.chars().collect();
        let a = analyze(t);
        let n = PhraseNormalizer::new();
        let c = candidates(&chars, &a, 2, &n, &|_| true);
        let mut stats = CollectionStats::default();
        let keys: FxHashSet<String> = c.iter().map(|c| c.key.clone()).collect();
        let gold: FxHashSet<String> = ["festiv".to_string()].into_iter().collect();
        stats.add(&keys, &gold, None);
        stats.add(&keys, &FxHashSet::default(), None);
        let ents = FxHashMap::default();
        let ctx = DocContext {
            analyzed: &a,
            entities: &ents,
            pooled: &ents,
            category: None,
            leave_out: None,
        };
        let f = features(&c, &stats, &ctx);
        assert!(f
            .iter()
            .all(|v| v.len() == FEATURES.len() && v.iter().all(|x| x.is_finite())));
        let i = c.iter().position(|c| c.key == "festiv").unwrap();
        let col = |name: &str| FEATURES.iter().position(|f| *f == name).unwrap();
        assert_eq!(f[i][col("in_title")], 1.0);
        assert!((f[i][col("log_tf")] - 4f64.ln()).abs() < 1e-12); // 3 occurrences
        assert!((f[i][col("keyphraseness")] - 1.0 / 3.0).abs() < 1e-12);
        // leaving the document out removes its own gold count
        let own_gold: FxHashSet<String> = gold.clone();
        let ctx = DocContext {
            analyzed: &a,
            entities: &ents,
            pooled: &ents,
            category: None,
            leave_out: Some((&keys, &own_gold)),
        };
        let f2 = features(&c, &stats, &ctx);
        assert_eq!(f2[i][col("keyphraseness")], 0.0);
        // "dates" is in a sentence with a signal word ("announced")
        let d = c.iter().position(|c| c.key == "date").unwrap();
        assert_eq!(f[d][col("signal")], 1.0);
    }
}
