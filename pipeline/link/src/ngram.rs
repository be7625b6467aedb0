//! Character n-gram TF-IDF candidate generation (xMEN's cheap generator).
//!
//! Every name of every concept (preferred name and synonyms) is an *entry*. Texts are
//! folded (width, NFKC, punctuation, traditional -> simplified, case), split on white space,
//! each word padded with one space on both sides, and cut into character n-grams of
//! `min_n..=max_n` characters. Single characters count only when they are not ASCII: one
//! Han character carries meaning, one Latin letter does not (and would make every posting
//! list as long as the terminology).
//!
//! Weights: sublinear tf (`1 + ln count`) times smoothed idf (`ln((1 + N) / (1 + df)) + 1`,
//! N entries), L2-normalized, so an entry's score is the cosine with the query. A concept
//! scores as its best entry. Search walks the inverted lists of the query's n-grams into a
//! dense accumulator; [`NgramIndex::vectorize`] exposes the vectors so that tests can check
//! the inverted index against brute force.

use crate::terminology::Terminology;
use quarry_normalize::chain::NormalizerChain;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// N-gram settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NgramConfig {
    /// Shortest n-gram (characters).
    pub min_n: usize,
    /// Longest n-gram (characters).
    pub max_n: usize,
}

impl Default for NgramConfig {
    fn default() -> Self {
        NgramConfig { min_n: 1, max_n: 3 }
    }
}

/// One generated candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Index of the concept in [`Terminology::concepts`].
    pub concept: u32,
    /// Which of the concept's names matched best: 0 the preferred name, `i` synonym `i - 1`.
    pub name: u32,
    /// Cosine similarity of the TF-IDF vectors, in [0, 1].
    pub score: f32,
}

/// A sparse vector: (feature id, weight), sorted by feature id.
pub type SparseVec = Vec<(u32, f32)>;

/// The inverted index over a terminology's names.
#[derive(Debug)]
pub struct NgramIndex {
    config: NgramConfig,
    fold: NormalizerChain,
    features: FxHashMap<Box<str>, u32>,
    idf: Vec<f32>,
    postings: Vec<Vec<(u32, f32)>>,
    /// Entry -> (concept, name index).
    entries: Vec<(u32, u32)>,
    concepts: usize,
}

impl NgramIndex {
    /// Indexes every name of `terminology`. Names that fold to the same text within one
    /// concept are indexed once; names without any n-gram are skipped.
    pub fn build(terminology: &Terminology, config: NgramConfig) -> Self {
        let config = NgramConfig {
            min_n: config.min_n.max(1),
            max_n: config.max_n.max(config.min_n.max(1)),
        };
        let fold = NormalizerChain::default_chain();
        let mut features: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut df: Vec<u32> = Vec::new();
        let mut entries = Vec::new();
        let mut counts: Vec<Vec<(u32, u32)>> = Vec::new();
        for (ci, c) in terminology.concepts().iter().enumerate() {
            let mut seen: Vec<String> = Vec::new();
            for (ni, name) in c.names().enumerate() {
                let folded = fold.normalize(name).text;
                if seen.contains(&folded) {
                    continue;
                }
                let grams = gram_counts(&folded, config);
                seen.push(folded);
                if grams.is_empty() {
                    continue;
                }
                let mut row: Vec<(u32, u32)> = grams
                    .into_iter()
                    .map(|(g, n)| {
                        let next = features.len() as u32;
                        let id = *features.entry(g.into()).or_insert(next);
                        if id as usize == df.len() {
                            df.push(0);
                        }
                        df[id as usize] += 1;
                        (id, n)
                    })
                    .collect();
                row.sort_unstable_by_key(|&(id, _)| id);
                counts.push(row);
                entries.push((ci as u32, ni as u32));
            }
        }
        let n = entries.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let mut postings: Vec<Vec<(u32, f32)>> =
            df.iter().map(|&d| Vec::with_capacity(d as usize)).collect();
        for (e, row) in counts.iter().enumerate() {
            for (id, w) in weigh(row, &idf) {
                postings[id as usize].push((e as u32, w));
            }
        }
        tracing::debug!(
            terminology = terminology.name(),
            entries = entries.len(),
            features = features.len(),
            "n-gram index built"
        );
        NgramIndex {
            config,
            fold,
            features,
            idf,
            postings,
            entries,
            concepts: terminology.len(),
        }
    }

    /// The settings.
    pub fn config(&self) -> NgramConfig {
        self.config
    }

    /// Number of indexed names.
    pub fn entries(&self) -> usize {
        self.entries.len()
    }

    /// Number of distinct n-grams.
    pub fn features(&self) -> usize {
        self.features.len()
    }

    /// The entry `e`'s (concept, name index).
    pub fn entry(&self, e: usize) -> (u32, u32) {
        self.entries[e]
    }

    /// The L2-normalized TF-IDF vector of `text` (n-grams unknown to the index dropped).
    pub fn vectorize(&self, text: &str) -> SparseVec {
        let folded = self.fold.normalize(text).text;
        let mut row: Vec<(u32, u32)> = gram_counts(&folded, self.config)
            .into_iter()
            .filter_map(|(g, n)| self.features.get(g.as_str()).map(|&id| (id, n)))
            .collect();
        row.sort_unstable_by_key(|&(id, _)| id);
        weigh(&row, &self.idf)
    }

    /// The `k` best concepts for `text`, best first; ties go to the lower concept index.
    /// Concepts sharing no n-gram with the text are not returned.
    pub fn search(&self, text: &str, k: usize) -> Vec<Candidate> {
        if k == 0 {
            return Vec::new();
        }
        top_k(
            self.scores(text).into_iter().map(|(c, (s, n))| Candidate {
                concept: c,
                name: n,
                score: s,
            }),
            k,
        )
    }

    /// Every concept sharing an n-gram with `text`: concept -> (best name's cosine, that
    /// name's index). The exact scores behind [`NgramIndex::search`], for generators that
    /// fuse this one with another over the union of both top lists.
    pub fn scores(&self, text: &str) -> FxHashMap<u32, (f32, u32)> {
        let q = self.vectorize(text);
        if q.is_empty() {
            return FxHashMap::default();
        }
        let mut acc = vec![0f32; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for &(f, qw) in &q {
            for &(e, w) in &self.postings[f as usize] {
                let a = &mut acc[e as usize];
                if *a == 0.0 {
                    touched.push(e);
                }
                *a += qw * w;
            }
        }
        let mut best: FxHashMap<u32, (f32, u32)> = FxHashMap::default();
        for e in touched {
            let s = acc[e as usize];
            let (c, n) = self.entries[e as usize];
            let slot = best.entry(c).or_insert((f32::NEG_INFINITY, n));
            if s > slot.0 || (s == slot.0 && n < slot.1) {
                *slot = (s, n);
            }
        }
        for v in best.values_mut() {
            v.0 = v.0.min(1.0);
        }
        best
    }

    /// Approximate heap size in bytes.
    pub fn heap_bytes(&self) -> usize {
        let feats: usize = self
            .features
            .keys()
            .map(|k| k.len() + std::mem::size_of::<Box<str>>() + 4)
            .sum();
        let posts: usize = self
            .postings
            .iter()
            .map(|p| p.capacity() * 8 + std::mem::size_of::<Vec<(u32, f32)>>())
            .sum();
        feats + posts + self.idf.capacity() * 4 + self.entries.capacity() * 8
    }

    /// Number of concepts of the indexed terminology.
    pub fn concepts(&self) -> usize {
        self.concepts
    }
}

/// The dot product of two sparse vectors sorted by feature id (a merge join), summed in
/// feature order: the order in which [`NgramIndex::search`] accumulates, so the two agree
/// to the bit.
pub fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Sorts candidates by score (descending), then concept index, and keeps `k`.
pub fn top_k(cands: impl Iterator<Item = Candidate>, k: usize) -> Vec<Candidate> {
    let mut v: Vec<Candidate> = cands.collect();
    let order = |a: &Candidate, b: &Candidate| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.concept.cmp(&b.concept))
    };
    if v.len() > k {
        v.select_nth_unstable_by(k, order);
        v.truncate(k);
    }
    v.sort_unstable_by(order);
    v
}

/// Sublinear tf times idf, L2-normalized.
fn weigh(row: &[(u32, u32)], idf: &[f32]) -> SparseVec {
    let mut v: SparseVec = row
        .iter()
        .map(|&(id, n)| (id, (1.0 + (n as f32).ln()) * idf[id as usize]))
        .collect();
    let norm = v.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            x.1 /= norm;
        }
    }
    v
}

/// The n-grams of a folded text with their counts (see the module docs): per word, padded
/// with one space on each side, so that n-grams never cross words but do mark word edges.
pub fn gram_counts(folded: &str, config: NgramConfig) -> FxHashMap<String, u32> {
    let mut out: FxHashMap<String, u32> = FxHashMap::default();
    let mut padded: Vec<char> = Vec::new();
    for word in folded.split_whitespace() {
        padded.clear();
        padded.push(' ');
        padded.extend(word.chars());
        padded.push(' ');
        for n in config.min_n..=config.max_n.min(padded.len()) {
            for g in padded.windows(n) {
                if g.iter().all(|c| *c == ' ') || (n == 1 && g[0].is_ascii()) {
                    continue;
                }
                *out.entry(g.iter().collect()).or_insert(0) += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminology::Concept;

    fn term(names: &[&[&str]]) -> Terminology {
        let concepts = names
            .iter()
            .enumerate()
            .map(|(i, ns)| Concept {
                id: format!("c{i}"),
                name: ns[0].to_string(),
                synonyms: ns[1..].iter().map(|s| s.to_string()).collect(),
                parent: None,
            })
            .collect();
        Terminology::new("t", concepts).unwrap()
    }

    #[test]
    fn grams_skip_single_ascii_characters() {
        let g = gram_counts("ab 肝癌", NgramConfig::default());
        assert!(g.contains_key("ab") && g.contains_key("肝") && g.contains_key("肝癌"));
        assert!(g.contains_key(" ab") && g.contains_key("b ") && g.contains_key("癌 "));
        assert!(!g.contains_key("a") && !g.contains_key(" ") && !g.contains_key("b 肝"));
    }

    #[test]
    fn exact_name_scores_one_and_ranks_first() {
        let t = term(&[
            &["膝骨关节病", "膝关节骨性关节炎"],
            &["膝关节游离体"],
            &["高血压"],
        ]);
        let ix = NgramIndex::build(&t, NgramConfig::default());
        let r = ix.search("膝关节游离体", 3);
        assert_eq!(r[0].concept, 1);
        assert!((r[0].score - 1.0).abs() < 1e-5, "{r:?}");
        let r = ix.search("膝關節骨性關節炎", 1);
        assert_eq!(
            (r[0].concept, r[0].name),
            (0, 1),
            "traditional folds to simplified"
        );
        assert!(ix.search("", 5).is_empty());
        assert!(ix.search("xyz", 5).is_empty());
        assert!(ix.search("高血压", 0).is_empty());
    }
}
