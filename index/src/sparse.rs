//! Inference-free learned sparse retrieval inside tantivy.
//!
//! **Documents** are expanded at ingestion by a SPLADE-style encoder (`quarry-models`'
//! [`SparseEncoder`](quarry_models::sparse::SparseEncoder)): a weight per vocabulary token.
//! Each weight is quantized to an integer *impact* `code = round(w / step)` in `1..=255` and
//! stored in the `sparse` field as the term frequency of the token (the token repeated
//! `code` times; field norms off), so tantivy's postings carry the impacts. The codes are also
//! kept in the stored `sparse_vec` field, which the brute-force oracle reads.
//!
//! **Queries** run no model: the tokenizer's unique token ids, each weighted by an IDF
//! ([`IdfTable`]: the model's `idf.json` when it has one, else document frequencies of the
//! tokenized corpus, kept in the `wp` field and recomputed from the live documents when the
//! index changes). Query weights are quantized too (`round(idf * 1024)`), so a document's
//! score `sum_t qw(t) * code(d, t)` is an exact integer: the pruned scorer, the exhaustive
//! scorer and the brute-force oracle agree bit for bit, ties included (ties go to the lower
//! document address).
//!
//! **Pruning**: [`SparseQuery`] is a tantivy `Query`; its `Weight::for_each_pruning` (used by
//! `TopDocs`) and [`top_k`] run MaxScore (Turtle & Flood): query terms sorted by their
//! upper bound `qw * max code in the segment`; the terms whose summed bounds cannot beat the
//! current k-th score are *non-essential*: they are never iterated, only probed (`seek`) for
//! documents the essential terms produce, and the probe stops as soon as the remaining bounds
//! cannot lift the document over the threshold. The essential lists are accumulated
//! term-at-a-time inside windows of 4,096 document ids (tantivy's buffered union does the
//! same), which on small segments is far cheaper than a k-way merge per document; the
//! essential set is re-derived from the threshold at every window. Per-segment maxima are
//! computed once per segment when the reader reloads and cached ([`BoundsCache`]).

use crate::IndexError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use tantivy::index::SegmentId;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, Term, TERMINATED};

/// Largest impact code (term frequency) a token gets.
pub const MAX_CODE: u32 = 255;
/// Fixed-point scale of query weights: `qw = round(idf * QUERY_SCALE)`.
pub const QUERY_SCALE: f32 = 1024.0;

/// How documents are expanded and quantized; stored with the index (`quarry_sparse.json`)
/// so that later ingestion and queries use the same settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SparseSettings {
    /// The sparse encoder (`splade-tiny:int8`, or a model directory).
    pub model: String,
    /// Quantization step of document weights (impact code = round(w / step), at most 255).
    pub quant_step: f32,
    /// Keep at most this many terms per document (heaviest first); 0 = all.
    pub max_terms: usize,
    /// Drop weights at or below this before quantizing.
    pub min_weight: f32,
    /// Where query IDF comes from: `corpus` (BM25's idf over document frequencies of the
    /// tokenized corpus), `corpus-log` (`ln(N / df)`), or a path to an OpenSearch-style
    /// `idf.json` (token -> idf). A query-time choice: it can change without re-ingesting.
    pub idf: String,
    /// Document tokens the encoder reads (indexes written before this setting existed used
    /// 256).
    #[serde(default = "legacy_max_length")]
    pub max_length: usize,
}

fn legacy_max_length() -> usize {
    256
}

impl From<&quarry_core::config::SparseConfig> for SparseSettings {
    /// The settings a new index gets from `[sparse]` (the model name as configured).
    fn from(c: &quarry_core::config::SparseConfig) -> Self {
        SparseSettings {
            model: c.model.clone(),
            quant_step: c.quant_step,
            max_terms: c.max_terms,
            min_weight: c.min_weight,
            idf: c.idf.clone(),
            max_length: c.max_length.clamp(8, 512),
        }
    }
}

impl Default for SparseSettings {
    fn default() -> Self {
        (&quarry_core::config::SparseConfig::default()).into()
    }
}

/// The file in the index directory holding [`SparseSettings`].
pub const SETTINGS_FILE: &str = "quarry_sparse.json";
/// The file in the index directory holding the last computed [`IdfTable`].
pub const IDF_FILE: &str = "quarry_idf.json";

impl SparseSettings {
    /// Reads the settings of an index directory, if it has sparse retrieval.
    pub fn load(dir: &Path) -> Result<Option<Self>, IndexError> {
        let p = dir.join(SETTINGS_FILE);
        if !p.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).map_err(|e| IndexError::Io {
            context: format!("read {}", p.display()),
            source: e,
        })?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| IndexError::Query(format!("{}: {e}", p.display())))
    }

    /// Writes the settings into an index directory (atomically).
    pub fn save(&self, dir: &Path) -> Result<(), IndexError> {
        write_atomic(
            &dir.join(SETTINGS_FILE),
            &serde_json::to_vec_pretty(self).expect("settings serialize"),
        )
    }

    /// Whether two settings expand and quantize documents the same way (everything but the
    /// query-side `idf`).
    pub fn same_encoding(&self, other: &SparseSettings) -> bool {
        self.model == other.model
            && self.quant_step == other.quant_step
            && self.max_terms == other.max_terms
            && self.min_weight == other.min_weight
            && self.max_length == other.max_length
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), IndexError> {
        if !(self.quant_step.is_finite() && self.quant_step > 0.0) {
            return Err(IndexError::Query(format!(
                "sparse quant_step must be > 0 (got {})",
                self.quant_step
            )));
        }
        Ok(())
    }

    /// The impact code of a weight (0 = dropped).
    pub fn quantize(&self, w: f32) -> u32 {
        quantize(w, self.quant_step, self.min_weight)
    }
}

/// The impact code of weight `w`: `round(w / step)` clamped to `0..=MAX_CODE`; weights at or
/// below `min_weight` (and non-finite ones) give 0.
pub fn quantize(w: f32, step: f32, min_weight: f32) -> u32 {
    if !w.is_finite() || w <= min_weight || w <= 0.0 {
        return 0;
    }
    ((w / step).round() as u32).min(MAX_CODE)
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let io = |e| IndexError::Io {
        context: format!("write {}", path.display()),
        source: e,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// A document's quantized sparse vector: (token id, impact code), sorted by token id.
pub type Impacts = Vec<(u32, u32)>;

/// Quantizes a sparse vector (drops codes of 0, sorts by id).
pub fn to_impacts(v: &[(u32, f32)], settings: &SparseSettings) -> Impacts {
    let mut out: Impacts = v
        .iter()
        .map(|&(t, w)| (t, settings.quantize(w)))
        .filter(|&(_, c)| c > 0)
        .collect();
    out.sort_unstable_by_key(|e| e.0);
    out.dedup_by_key(|e| e.0);
    out
}

/// Serializes impacts for the stored `sparse_vec` field: 5 bytes per entry (u32 LE id, u8).
pub fn encode_impacts(v: &Impacts) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 5);
    for &(t, c) in v {
        out.extend_from_slice(&t.to_le_bytes());
        out.push(c.min(MAX_CODE) as u8);
    }
    out
}

/// Inverse of [`encode_impacts`]; a trailing partial entry is ignored.
pub fn decode_impacts(b: &[u8]) -> Impacts {
    b.chunks_exact(5)
        .map(|c| (u32::from_le_bytes([c[0], c[1], c[2], c[3]]), c[4] as u32))
        .collect()
}

/// The token id of a `sparse`/`wp` term (None for anything else).
fn token_of(term: &[u8]) -> Option<u32> {
    std::str::from_utf8(term).ok()?.parse().ok()
}

/// The term text of a token id in the `sparse` and `wp` fields.
pub fn token_text(id: u32) -> String {
    id.to_string()
}

/// The `sparse` field value: each token repeated `code` times, so that the indexed term
/// frequency is the impact code.
pub fn impacts_tokens(v: &Impacts) -> PreTokenizedString {
    let mut tokens = Vec::with_capacity(v.iter().map(|e| e.1 as usize).sum());
    let mut pos = 0usize;
    for &(t, c) in v {
        let text = token_text(t);
        for _ in 0..c {
            tokens.push(Token {
                offset_from: 0,
                offset_to: 0,
                position: pos,
                text: text.clone(),
                position_length: 1,
            });
            pos += 1;
        }
    }
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}

/// The `wp` field value: the unique token ids of the document text (for document
/// frequencies).
pub fn unique_tokens(ids: &[u32]) -> PreTokenizedString {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    PreTokenizedString {
        text: String::new(),
        tokens: ids
            .iter()
            .enumerate()
            .map(|(i, &t)| Token {
                offset_from: 0,
                offset_to: 0,
                position: i,
                text: token_text(t),
                position_length: 1,
            })
            .collect(),
    }
}

/// Query-side IDF weights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdfTable {
    /// `corpus` or the path of the idf.json it came from.
    pub source: String,
    /// Live documents counted (corpus tables).
    pub num_docs: u64,
    /// Document frequency per token id (corpus tables).
    pub df: BTreeMap<u32, u64>,
    /// Explicit idf per token id (model tables); when non-empty it is used instead of `df`.
    pub explicit: BTreeMap<u32, f32>,
    /// Corpus formula: `bm25` (default) or `log`.
    #[serde(default)]
    pub formula: IdfFormula,
}

/// How a corpus table turns document frequencies into idf.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IdfFormula {
    /// `ln(1 + (N - df + 0.5) / (df + 0.5))` (Lucene's BM25 idf).
    #[default]
    Bm25,
    /// `ln(N / df)`, with `df` at least 0.5 (unseen tokens).
    Log,
}

impl IdfTable {
    /// A table of document frequencies over `num_docs` documents.
    pub fn from_df(num_docs: u64, df: BTreeMap<u32, u64>) -> Self {
        IdfTable {
            source: "corpus".into(),
            num_docs,
            df,
            explicit: BTreeMap::new(),
            formula: IdfFormula::Bm25,
        }
    }

    /// An OpenSearch-style idf.json (`{"token": idf, ...}`), tokens mapped to ids by `vocab`;
    /// tokens the vocabulary lacks are skipped.
    pub fn from_idf_json(
        path: &Path,
        vocab: impl Fn(&str) -> Option<u32>,
    ) -> Result<Self, IndexError> {
        let text = std::fs::read_to_string(path).map_err(|e| IndexError::Io {
            context: format!("read idf table {}", path.display()),
            source: e,
        })?;
        let map: HashMap<String, f32> = serde_json::from_str(&text)
            .map_err(|e| IndexError::Query(format!("{}: {e}", path.display())))?;
        let explicit = map
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .filter_map(|(k, v)| vocab(&k).map(|id| (id, v)))
            .collect();
        Ok(IdfTable {
            source: path.display().to_string(),
            num_docs: 0,
            df: BTreeMap::new(),
            explicit,
            formula: IdfFormula::Bm25,
        })
    }

    /// The idf of a token: explicit tables give their value (0 when absent); corpus tables
    /// give BM25's `ln(1 + (N - df + 0.5) / (df + 0.5))`.
    pub fn idf(&self, token: u32) -> f32 {
        if !self.explicit.is_empty() {
            return self.explicit.get(&token).copied().unwrap_or(0.0);
        }
        let n = self.num_docs as f64;
        let df = (self.df.get(&token).copied().unwrap_or(0) as f64).min(n);
        match self.formula {
            IdfFormula::Bm25 => (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32,
            IdfFormula::Log => (n.max(1.0) / df.max(0.5)).ln().max(0.0) as f32,
        }
    }

    /// Quantized query weights of unique token ids (zero weights dropped).
    pub fn query_weights(&self, tokens: &[u32]) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = tokens
            .iter()
            .map(|&t| (t, (self.idf(t).max(0.0) * QUERY_SCALE).round() as u32))
            .filter(|&(_, w)| w > 0)
            .collect();
        out.sort_unstable_by_key(|e| e.0);
        out.dedup_by_key(|e| e.0);
        out
    }

    /// Writes the table as JSON (atomically).
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        write_atomic(path, &serde_json::to_vec(self).expect("idf serializes"))
    }

    /// Reads a table written by [`IdfTable::save`].
    pub fn load(path: &Path) -> Result<Self, IndexError> {
        let text = std::fs::read_to_string(path).map_err(|e| IndexError::Io {
            context: format!("read {}", path.display()),
            source: e,
        })?;
        serde_json::from_str(&text)
            .map_err(|e| IndexError::Query(format!("{}: {e}", path.display())))
    }

    /// Document frequencies of the `wp` field over the live documents of `searcher`.
    pub fn from_searcher(searcher: &Searcher, wp: Field) -> Result<Self, IndexError> {
        let mut df: BTreeMap<u32, u64> = BTreeMap::new();
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(wp)?;
            let mut stream = inv.terms().stream().map_err(|e| IndexError::Io {
                context: "read the wp term dictionary".into(),
                source: e,
            })?;
            let alive = seg.alive_bitset();
            while stream.advance() {
                let Some(token) = token_of(stream.key()) else {
                    continue;
                };
                let n = match alive {
                    None => stream.value().doc_freq as u64,
                    Some(a) => {
                        let mut p = inv
                            .read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)
                            .map_err(|e| IndexError::Io {
                                context: "read wp postings".into(),
                                source: e,
                            })?;
                        let mut n = 0u64;
                        while p.doc() != TERMINATED {
                            if a.is_alive(p.doc()) {
                                n += 1;
                            }
                            p.advance();
                        }
                        n
                    }
                };
                if n > 0 {
                    *df.entry(token).or_default() += n;
                }
            }
        }
        Ok(IdfTable::from_df(searcher.num_docs(), df))
    }
}

/// Per-segment maximum impact code of every token, computed once per segment (segments are
/// immutable: one pass over the segment's `sparse` postings) and shared by every query.
#[derive(Default)]
pub struct BoundsCache {
    inner: std::sync::RwLock<HashMap<SegmentId, Arc<SegmentBounds>>>,
}

/// A segment's bounds: per token, the maximum code in the segment.
#[derive(Debug, Default)]
pub struct SegmentBounds {
    /// token -> maximum code
    pub terms: HashMap<u32, u32>,
}

impl std::fmt::Debug for BoundsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundsCache")
    }
}

impl BoundsCache {
    /// The maximum code of every token of `field` in `seg`.
    pub fn segment(
        &self,
        seg: &SegmentReader,
        field: Field,
    ) -> tantivy::Result<Arc<SegmentBounds>> {
        if let Some(m) = self
            .inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&seg.segment_id())
        {
            return Ok(m.clone());
        }
        let inv = seg.inverted_index(field)?;
        let mut out = SegmentBounds::default();
        let mut stream = inv.terms().stream()?;
        while stream.advance() {
            let Some(token) = token_of(stream.key()) else {
                continue;
            };
            let mut p =
                inv.read_postings_from_terminfo(stream.value(), IndexRecordOption::WithFreqs)?;
            let mut m = 0;
            while p.doc() != TERMINATED {
                m = m.max(p.term_freq());
                p.advance();
            }
            out.terms.insert(token, m);
        }
        let out = Arc::new(out);
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(seg.segment_id(), out.clone());
        Ok(out)
    }

    /// Computes the bounds of every segment of `searcher` not yet known and drops the entries
    /// of segments that are gone (called on reload, so queries never pay for it).
    pub fn warm(&self, searcher: &Searcher, field: Field) -> tantivy::Result<()> {
        let live: std::collections::HashSet<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| live.contains(k));
        for seg in searcher.segment_readers() {
            self.segment(seg, field)?;
        }
        Ok(())
    }
}

fn postings(
    inv: &tantivy::InvertedIndexReader,
    field: Field,
    token: u32,
) -> tantivy::Result<Option<SegmentPostings>> {
    let term = Term::from_field_text(field, &token_text(token));
    Ok(inv.read_postings(&term, IndexRecordOption::WithFreqs)?)
}

/// A sparse query: `score(d) = sum_t qw(t) * code(d, t)` over its tokens, reported as
/// `score * unit` (unit = `quant_step / QUERY_SCALE`, so scores are in idf x weight units).
#[derive(Clone, Debug)]
pub struct SparseQuery {
    field: Field,
    terms: Vec<(u32, u32)>,
    unit: f32,
    bounds: Arc<BoundsCache>,
}

impl SparseQuery {
    /// A query over the `sparse` field with quantized weights `(token, qw)`.
    pub fn new(
        field: Field,
        terms: Vec<(u32, u32)>,
        quant_step: f32,
        bounds: Arc<BoundsCache>,
    ) -> Self {
        SparseQuery {
            field,
            terms: terms.into_iter().filter(|t| t.1 > 0).collect(),
            unit: quant_step / QUERY_SCALE,
            bounds,
        }
    }

    /// The quantized query terms.
    pub fn terms(&self) -> &[(u32, u32)] {
        &self.terms
    }

    /// Score units -> reported score.
    pub fn unit(&self) -> f32 {
        self.unit
    }
}

impl Query for SparseQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

/// One query term's postings in a segment.
struct TermCursor {
    postings: SegmentPostings,
    weight: u64,
    bound: u64,
}

impl SparseQuery {
    fn cursors(&self, seg: &SegmentReader, with_bounds: bool) -> tantivy::Result<Vec<TermCursor>> {
        let mut out = Vec::with_capacity(self.terms.len());
        let bounds = if with_bounds {
            Some(self.bounds.segment(seg, self.field)?)
        } else {
            None
        };
        // one inverted-index lookup per segment, not per query term
        let inv = seg.inverted_index(self.field)?;
        for &(t, w) in &self.terms {
            if let Some(p) = postings(&inv, self.field, t)? {
                let bound = match &bounds {
                    Some(b) => w as u64 * b.terms.get(&t).copied().unwrap_or(MAX_CODE) as u64,
                    None => 0,
                };
                out.push(TermCursor {
                    postings: p,
                    weight: w as u64,
                    bound,
                });
            }
        }
        Ok(out)
    }

    /// MaxScore over one segment. `threshold` is the score a document must exceed;
    /// `accept(doc, score)` is called for every live document that exceeds it and returns
    /// the new threshold.
    pub fn maxscore_segment(
        &self,
        seg: &SegmentReader,
        mut threshold: u64,
        accept: &mut dyn FnMut(DocId, u64) -> u64,
    ) -> tantivy::Result<()> {
        let mut terms = self.cursors(seg, true)?;
        terms.sort_by_key(|t| t.bound);
        let mut prefix = Vec::with_capacity(terms.len());
        let mut acc = 0u64;
        for t in &terms {
            acc += t.bound;
            prefix.push(acc);
        }
        let alive = seg.alive_bitset();
        // Essential lists are accumulated term-at-a-time inside windows of WINDOW document
        // ids (tight loops over each list instead of a k-way merge per document, as
        // tantivy's buffered union does); candidates are then taken in document order and
        // completed with the non-essential terms.
        let mut scores = vec![0u64; WINDOW as usize];
        let mut marks = vec![0u64; WINDOW as usize / 64];
        loop {
            // Terms 0..first are non-essential: together they cannot beat the threshold.
            let first = prefix.partition_point(|&p| p <= threshold);
            if first == terms.len() {
                break;
            }
            let base = terms[first..]
                .iter()
                .map(|t| t.postings.doc())
                .min()
                .unwrap_or(TERMINATED);
            if base == TERMINATED {
                break;
            }
            let end = base.saturating_add(WINDOW);
            for t in &mut terms[first..] {
                let mut d = t.postings.doc();
                while d < end {
                    let o = (d - base) as usize;
                    scores[o] += t.weight * t.postings.term_freq() as u64;
                    marks[o / 64] |= 1 << (o % 64);
                    d = t.postings.advance();
                }
            }
            for (w, word) in marks.iter_mut().enumerate() {
                let mut bits = std::mem::take(word);
                while bits != 0 {
                    let o = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let doc = base + o as DocId;
                    let mut score = std::mem::take(&mut scores[o]);
                    if alive.is_some_and(|a| !a.is_alive(doc)) {
                        continue;
                    }
                    for i in (0..first).rev() {
                        if score + prefix[i] <= threshold {
                            break;
                        }
                        let t = &mut terms[i];
                        if t.postings.doc() < doc {
                            t.postings.seek(doc);
                        }
                        if t.postings.doc() == doc {
                            score += t.weight * t.postings.term_freq() as u64;
                        }
                    }
                    if score > threshold {
                        threshold = accept(doc, score);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Document ids per accumulation window of [`SparseQuery::maxscore_segment`].
const WINDOW: DocId = 4096;

impl Weight for SparseQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(SparseScorer::new(
            self.cursors(reader, false)?,
            self.unit * boost,
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut s = self.scorer(reader, 1.0)?;
        if s.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let inv = reader.inverted_index(self.field)?;
        let mut e = Explanation::new("sparse: sum of idf(t) x w(d,t)", s.score());
        for &(t, w) in &self.terms {
            if let Some(mut p) = postings(&inv, self.field, t)? {
                if p.seek(doc) == doc {
                    e.add_detail(Explanation::new_with_string(
                        format!("token {t}: qw {w} x code {}", p.term_freq()),
                        (w as u64 * p.term_freq() as u64) as f32 * self.unit,
                    ));
                }
            }
        }
        Ok(e)
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        // The collector's threshold is an f32 score; convert it to integer units
        // conservatively (never above the true threshold) and let the collector decide.
        let to_units = |s: Score| -> u64 {
            if s.is_finite() && s > 0.0 {
                ((s / self.unit).floor() as u64).saturating_sub(1)
            } else {
                0
            }
        };
        let unit = self.unit;
        self.maxscore_segment(reader, to_units(threshold), &mut |doc, score| {
            to_units(callback(doc, score as f32 * unit))
        })
    }
}

/// Exhaustive document-at-a-time union of the query terms' postings (what tantivy's
/// collectors other than top-k, and combinations with other queries, use).
struct SparseScorer {
    terms: Vec<TermCursor>,
    doc: DocId,
    score: u64,
    unit: f32,
}

impl SparseScorer {
    /// Positioned on the first matching document, its score computed.
    fn new(terms: Vec<TermCursor>, unit: f32) -> Self {
        let mut s = SparseScorer {
            terms,
            doc: 0,
            score: 0,
            unit,
        };
        s.doc = s.min_doc();
        s.compute();
        s
    }

    fn min_doc(&self) -> DocId {
        self.terms
            .iter()
            .map(|t| t.postings.doc())
            .min()
            .unwrap_or(TERMINATED)
    }
    fn compute(&mut self) {
        let doc = self.doc;
        self.score = self
            .terms
            .iter()
            .filter(|t| t.postings.doc() == doc)
            .map(|t| t.weight * t.postings.term_freq() as u64)
            .sum();
    }
}

impl DocSet for SparseScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        let doc = self.doc;
        for t in &mut self.terms {
            if t.postings.doc() == doc {
                t.postings.advance();
            }
        }
        self.doc = self.min_doc();
        self.compute();
        self.doc
    }
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for t in &mut self.terms {
            if t.postings.doc() < target {
                t.postings.seek(target);
            }
        }
        self.doc = self.min_doc();
        self.compute();
        self.doc
    }
    fn doc(&self) -> DocId {
        self.doc
    }
    fn size_hint(&self) -> u32 {
        self.terms
            .iter()
            .map(|t| t.postings.size_hint())
            .max()
            .unwrap_or(0)
    }
}

impl Scorer for SparseScorer {
    fn score(&mut self) -> Score {
        self.score as f32 * self.unit
    }
}

/// A ranked hit with its exact integer score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactHit {
    /// Score in integer units (`qw * code` summed).
    pub units: u64,
    /// Document.
    pub addr: DocAddress,
}

/// (score, (segment, doc)) ordered so that the heap's top is the worst hit.
type HeapEntry = std::cmp::Reverse<(u64, std::cmp::Reverse<(u32, u32)>)>;

/// Keeps the k best hits; order: higher score, then lower address.
struct TopK {
    k: usize,
    // min-heap on (units, Reverse(addr)) = the worst hit on top
    heap: std::collections::BinaryHeap<HeapEntry>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            heap: Default::default(),
        }
    }
    /// Offers a hit that exceeds the threshold; returns the new threshold.
    fn push(&mut self, units: u64, seg: u32, doc: DocId) -> u64 {
        use std::cmp::Reverse;
        if self.heap.len() < self.k {
            self.heap.push(Reverse((units, Reverse((seg, doc)))));
        } else if let Some(Reverse((worst, _))) = self.heap.peek() {
            if units > *worst {
                self.heap.pop();
                self.heap.push(Reverse((units, Reverse((seg, doc)))));
            }
        }
        self.threshold()
    }
    fn threshold(&self) -> u64 {
        if self.heap.len() < self.k {
            0
        } else {
            self.heap.peek().map(|r| r.0 .0).unwrap_or(0)
        }
    }
    fn into_sorted(self) -> Vec<ExactHit> {
        let mut v: Vec<ExactHit> = self
            .heap
            .into_iter()
            .map(
                |std::cmp::Reverse((units, std::cmp::Reverse((s, d))))| ExactHit {
                    units,
                    addr: DocAddress::new(s, d),
                },
            )
            .collect();
        sort_hits(&mut v);
        v
    }
}

fn sort_hits(v: &mut [ExactHit]) {
    v.sort_by(|a, b| {
        b.units
            .cmp(&a.units)
            .then(a.addr.segment_ord.cmp(&b.addr.segment_ord))
            .then(a.addr.doc_id.cmp(&b.addr.doc_id))
    });
}

/// The exact top `k` of `query` with MaxScore pruning; the threshold carries over from one
/// segment to the next.
pub fn top_k(searcher: &Searcher, query: &SparseQuery, k: usize) -> tantivy::Result<Vec<ExactHit>> {
    if k == 0 || query.terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut top = TopK::new(k);
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let threshold = top.threshold();
        query.maxscore_segment(seg, threshold, &mut |doc, units| {
            top.push(units, ord as u32, doc)
        })?;
    }
    Ok(top.into_sorted())
}

/// The exhaustive scorer's top `k` (no pruning): every matching document is scored.
pub fn top_k_exhaustive(
    searcher: &Searcher,
    query: &SparseQuery,
    k: usize,
) -> tantivy::Result<Vec<ExactHit>> {
    if k == 0 || query.terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut top = TopK::new(k);
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let mut s = SparseScorer::new(query.cursors(seg, false)?, query.unit);
        let alive = seg.alive_bitset();
        while s.doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(s.doc)) && s.score > top.threshold() {
                top.push(s.score, ord as u32, s.doc);
            }
            s.advance();
        }
    }
    Ok(top.into_sorted())
}

/// The test oracle: reads every live document's stored impacts (`sparse_vec`) and scores it
/// with a plain dot product; no postings involved.
pub fn top_k_brute_force(
    searcher: &Searcher,
    vec_field: Field,
    terms: &[(u32, u32)],
    k: usize,
) -> tantivy::Result<Vec<ExactHit>> {
    let q: HashMap<u32, u64> = terms.iter().map(|&(t, w)| (t, w as u64)).collect();
    let mut all = Vec::new();
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let store = seg.get_store_reader(4)?;
        for doc in 0..seg.max_doc() {
            if seg.alive_bitset().is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let d: tantivy::TantivyDocument = store.get(doc)?;
            let bytes = d
                .get_first(vec_field)
                .and_then(|v| v.as_bytes())
                .unwrap_or(&[]);
            let units: u64 = decode_impacts(bytes)
                .iter()
                .filter_map(|(t, c)| q.get(t).map(|w| w * *c as u64))
                .sum();
            if units > 0 {
                all.push(ExactHit {
                    units,
                    addr: DocAddress::new(ord as u32, doc),
                });
            }
        }
    }
    sort_hits(&mut all);
    all.truncate(k);
    Ok(all)
}

/// Turns query (and document) text into unique token ids: the inference-free query side.
pub trait QueryTokenizer: Send + Sync {
    /// Unique token ids of `text`, sorted (special tokens excluded).
    fn unique_ids(&self, text: &str) -> Result<Vec<u32>, String>;
    /// The id of a token string (for idf.json tables).
    fn token_id(&self, token: &str) -> Option<u32>;
}

/// One document's expansion: the weighted sparse vector and the unique token ids of its text.
pub type Expansion = (Vec<(u32, f32)>, Vec<u32>);

/// Expands documents at ingestion: a weighted sparse vector per text plus the unique token
/// ids of the text (for the document frequencies behind query IDF).
pub trait Expander: Send + Sync {
    /// One `(vector, unique token ids)` per text, in order.
    fn expand(&self, texts: &[&str]) -> Result<Vec<Expansion>, String>;
    /// The model's name (checked against the index's settings).
    fn name(&self) -> String;
}

impl QueryTokenizer for quarry_models::sparse::QueryTokens {
    fn unique_ids(&self, text: &str) -> Result<Vec<u32>, String> {
        self.unique_ids(&[text])
            .map(|mut v| v.pop().unwrap_or_default())
            .map_err(|e| e.to_string())
    }
    fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer().token_to_id(token)
    }
}

/// [`Expander`] over a SPLADE encoder: the encoder's vectors and, for document frequencies,
/// the unique ids of the whole text under the same tokenizer (not truncated).
pub struct ModelExpander {
    /// The document encoder.
    pub encoder: quarry_models::sparse::SparseEncoder,
    /// The tokenizer without truncation.
    pub tokens: quarry_models::sparse::QueryTokens,
}

impl Expander for ModelExpander {
    fn expand(&self, texts: &[&str]) -> Result<Vec<Expansion>, String> {
        let vecs = self.encoder.encode(texts).map_err(|e| e.to_string())?;
        let ids = self.tokens.unique_ids(texts).map_err(|e| e.to_string())?;
        Ok(vecs.into_iter().zip(ids).collect())
    }
    fn name(&self) -> String {
        self.encoder.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_rounds_and_clamps() {
        assert_eq!(quantize(0.0, 0.02, 0.0), 0);
        assert_eq!(quantize(-1.0, 0.02, 0.0), 0);
        assert_eq!(quantize(f32::NAN, 0.02, 0.0), 0);
        assert_eq!(quantize(0.009, 0.02, 0.0), 0);
        assert_eq!(quantize(0.011, 0.02, 0.0), 1);
        assert_eq!(quantize(1.0, 0.02, 0.0), 50);
        assert_eq!(quantize(100.0, 0.02, 0.0), MAX_CODE);
        assert_eq!(quantize(0.5, 0.02, 0.5), 0);
    }

    #[test]
    fn settings_written_before_max_length_mean_256() {
        let old = r#"{"model":"splade-tiny:head-int8","quant_step":0.02,"max_terms":0,"min_weight":0.0,"idf":"corpus"}"#;
        let s: SparseSettings = serde_json::from_str(old).unwrap();
        assert_eq!(s.max_length, 256);
        assert!(!s.same_encoding(&SparseSettings {
            model: s.model.clone(),
            ..Default::default()
        }));
        assert!(serde_json::from_str::<SparseSettings>(r#"{"model":"x","bogus":1}"#).is_err());
    }

    #[test]
    fn impacts_round_trip() {
        let v = vec![(3, 1), (70000, 255), (12, 40)];
        let s = SparseSettings::default();
        let imp = to_impacts(&[(5, 0.1), (2, 0.0), (9, 1.0), (5, 0.3)], &s);
        assert_eq!(imp, vec![(5, 5), (9, 50)]);
        assert_eq!(decode_impacts(&encode_impacts(&v)), v);
        let toks = impacts_tokens(&imp);
        assert_eq!(toks.tokens.len(), 55);
        assert_eq!(toks.tokens.iter().filter(|t| t.text == "9").count(), 50);
    }

    #[test]
    fn idf_table_round_trip_and_formula() {
        let dir = tempfile::tempdir().unwrap();
        let t = IdfTable::from_df(100, BTreeMap::from([(7, 10), (8, 100)]));
        let p = dir.path().join("idf.json");
        t.save(&p).unwrap();
        let back = IdfTable::load(&p).unwrap();
        assert_eq!(back, t);
        let expect = (1.0f64 + (100.0 - 10.0 + 0.5) / 10.5).ln() as f32;
        assert!((back.idf(7) - expect).abs() < 1e-6);
        assert!(back.idf(8) < back.idf(7));
        assert!(
            back.idf(9) > back.idf(7),
            "unseen tokens get the largest idf"
        );
        let w = back.query_weights(&[9, 7, 7, 8]);
        assert_eq!(w.len(), 3);
        assert_eq!(w[1].1, (back.idf(8) * QUERY_SCALE).round() as u32);
    }

    #[test]
    fn explicit_idf_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("idf.json");
        std::fs::write(&p, r#"{"liver": 3.5, "the": 0.25, "zzz": 9.0}"#).unwrap();
        let vocab = |s: &str| match s {
            "liver" => Some(10),
            "the" => Some(11),
            _ => None,
        };
        let t = IdfTable::from_idf_json(&p, vocab).unwrap();
        assert_eq!(t.idf(10), 3.5);
        assert_eq!(t.idf(11), 0.25);
        assert_eq!(t.idf(12), 0.0);
        assert!(IdfTable::from_idf_json(&dir.path().join("missing.json"), vocab).is_err());
    }
}
