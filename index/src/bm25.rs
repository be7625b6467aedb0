//! BM25 with configurable `k1` and `b`, scored term-at-a-time over tantivy's postings.
//!
//! tantivy's own BM25 fixes k1 = 1.2, b = 0.75. Retrieval baselines on BEIR use other
//! values (Pyserini: k1 = 0.9, b = 0.4), so this scorer reads the postings and field norms
//! directly and applies the same formula as tantivy (Lucene's idf, quantized field norms,
//! average field length = tokens in the field / documents in the index) with the caller's
//! parameters. With k1 = 1.2, b = 0.75 it reproduces tantivy's scores (tested).

use crate::{IndexError, QuarryIndex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, Term, TERMINATED};

/// BM25 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bm25Params {
    /// Term-frequency saturation.
    pub k1: f32,
    /// Length normalization.
    pub b: f32,
}

impl Bm25Params {
    /// tantivy's (and Lucene's classic) defaults: k1 = 1.2, b = 0.75.
    pub const TANTIVY: Bm25Params = Bm25Params { k1: 1.2, b: 0.75 };
    /// Pyserini's BEIR baseline: k1 = 0.9, b = 0.4.
    pub const PYSERINI: Bm25Params = Bm25Params { k1: 0.9, b: 0.4 };
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params::PYSERINI
    }
}

/// Lucene's BM25 idf, as tantivy computes it.
pub fn idf(doc_freq: u64, doc_count: u64) -> f32 {
    let df = doc_freq.min(doc_count);
    let x = ((doc_count - df) as f32 + 0.5) / (df as f32 + 0.5);
    (1.0 + x).ln()
}

impl QuarryIndex {
    /// The weighted query terms per language field: (field, term text, count). The query
    /// is normalized once and analyzed per field.
    pub fn weighted_terms(&self, text: &str) -> Result<Vec<(Field, String, f32)>, IndexError> {
        let f = self.fields();
        let text = self.normalize_query(text);
        let mut out = Vec::new();
        for field in [f.en, f.zh] {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for t in self.analyze(field, &text)? {
                *counts.entry(t).or_default() += 1;
            }
            out.extend(counts.into_iter().map(|(t, n)| (field, t, n as f32)));
        }
        Ok(out)
    }

    /// The top `k` documents for `text` under BM25 with `params`, best first (ties by
    /// document address).
    pub fn bm25_top_k(
        &self,
        text: &str,
        k: usize,
        params: Bm25Params,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        self.bm25_top_k_terms(&self.weighted_terms(text)?, k, params)
    }

    /// [`QuarryIndex::bm25_top_k`] for terms already analyzed by [`QuarryIndex::weighted_terms`].
    pub fn bm25_top_k_terms(
        &self,
        terms: &[(Field, String, f32)],
        k: usize,
        params: Bm25Params,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        let searcher = self.searcher();
        if terms.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let total_docs: u64 = searcher
            .segment_readers()
            .iter()
            .map(|s| u64::from(s.max_doc()))
            .sum();
        if total_docs == 0 {
            return Ok(Vec::new());
        }
        // Per-field average length and per-term idf over the whole index.
        let mut avg: BTreeMap<u32, f32> = BTreeMap::new();
        let mut weights = Vec::with_capacity(terms.len());
        for (field, t, boost) in terms {
            if let std::collections::btree_map::Entry::Vacant(e) = avg.entry(field.field_id()) {
                let mut tokens = 0u64;
                for seg in searcher.segment_readers() {
                    tokens += seg.inverted_index(*field)?.total_num_tokens();
                }
                e.insert(tokens as f32 / total_docs as f32);
            }
            let term = Term::from_field_text(*field, t);
            let df = searcher.doc_freq(&term)?;
            weights.push((
                term,
                *field,
                idf(df, total_docs) * (1.0 + params.k1) * boost,
            ));
        }
        let mut hits: Vec<(f32, DocAddress)> = Vec::new();
        for (seg_ord, seg) in searcher.segment_readers().iter().enumerate() {
            let mut acc = vec![0f32; seg.max_doc() as usize];
            for (term, field, w) in &weights {
                if *w == 0.0 {
                    continue;
                }
                let inv = seg.inverted_index(*field)?;
                let Some(mut postings) = inv
                    .read_postings(term, IndexRecordOption::WithFreqs)
                    .map_err(|e| IndexError::Tantivy(e.into()))?
                else {
                    continue;
                };
                let norms: FieldNormReader = seg.get_fieldnorms_reader(*field)?;
                let avgdl = avg[&field.field_id()].max(f32::MIN_POSITIVE);
                // tf component denominators per quantized field norm, as tantivy caches them.
                let mut cache = [0f32; 256];
                for (id, c) in cache.iter_mut().enumerate() {
                    let dl = FieldNormReader::id_to_fieldnorm(id as u8) as f32;
                    *c = params.k1 * (1.0 - params.b + params.b * dl / avgdl);
                }
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    let tf = postings.term_freq() as f32;
                    let norm_id = norms.fieldnorm_id(doc);
                    acc[doc as usize] += w * tf / (tf + cache[norm_id as usize]);
                    doc = postings.advance();
                }
            }
            let alive = seg.alive_bitset();
            for (doc, &s) in acc.iter().enumerate() {
                if s > 0.0 && alive.is_none_or(|a| a.is_alive(doc as u32)) {
                    hits.push((s, DocAddress::new(seg_ord as u32, doc as u32)));
                }
            }
        }
        let by_score =
            |a: &(f32, DocAddress), b: &(f32, DocAddress)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if hits.len() > k {
            hits.select_nth_unstable_by(k - 1, by_score);
            hits.truncate(k);
        }
        hits.sort_by(by_score);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::config::AnalysisConfig;
    use quarry_core::Document;
    use tantivy::collector::TopDocs;

    fn index() -> QuarryIndex {
        let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
        let docs: Vec<Document> = [
            "the kidney stone was removed",
            "kidney kidney kidney function tests are normal",
            "a long report about the liver and the spleen and the pancreas with no kidney finding at all in this very long text",
            "chest x-ray shows clear lungs",
            "右肾囊肿，左肾未见异常",
            "肝脏大小形态正常",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| Document::new(format!("d{i}")).with_field("body", *t))
        .collect();
        idx.add_documents(&docs[..3], 20 << 20).unwrap();
        idx.add_documents(&docs[3..], 20 << 20).unwrap(); // two segments
        idx
    }

    #[test]
    fn matches_tantivy_with_its_default_parameters() {
        let idx = index();
        for q in [
            "kidney",
            "kidney stone liver",
            "肾 囊肿",
            "lungs kidney 肝脏",
            "nothing",
        ] {
            let ours = idx.bm25_top_k(q, 10, Bm25Params::TANTIVY).unwrap();
            let query = idx.bm25_query(q).unwrap();
            let theirs = idx
                .searcher()
                .search(&query, &TopDocs::with_limit(10))
                .unwrap();
            assert_eq!(ours.len(), theirs.len(), "{q}");
            for ((s1, _), (s2, _)) in ours.iter().zip(&theirs) {
                assert!(
                    (s1 - s2).abs() < 1e-4 * s2.abs().max(1.0),
                    "{q}: {s1} vs {s2}"
                );
            }
            let mut a: Vec<_> = ours.iter().map(|x| x.1).collect();
            let mut b: Vec<_> = theirs.iter().map(|x| x.1).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{q}");
        }
    }

    #[test]
    fn parameters_change_the_ranking_as_bm25_says() {
        let idx = index();
        // With b = 0 length does not matter; high k1 rewards repetition.
        let rep = idx
            .bm25_top_k("kidney", 3, Bm25Params { k1: 5.0, b: 0.0 })
            .unwrap();
        let top: tantivy::TantivyDocument = idx.searcher().doc(rep[0].1).unwrap();
        use tantivy::schema::Value;
        let id = top.get_first(idx.fields().id).and_then(|v| v.as_str());
        assert_eq!(
            id,
            Some("d1"),
            "the document repeating 'kidney' three times"
        );
        // k1 = 0: every matching document scores exactly its idf.
        let flat = idx
            .bm25_top_k("kidney", 3, Bm25Params { k1: 0.0, b: 0.75 })
            .unwrap();
        assert_eq!(flat.len(), 3);
        let expected = idf(3, 6);
        assert!(
            flat.iter().all(|(s, _)| (s - expected).abs() < 1e-6),
            "{flat:?}"
        );
        assert!(idx
            .bm25_top_k("", 3, Bm25Params::default())
            .unwrap()
            .is_empty());
    }
}
