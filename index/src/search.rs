//! Search: BM25 bag-of-words across the language fields, learned sparse, or both fused
//! ([`SearchMode`]).
//!
//! A query is analyzed with each language field's own analyzer; every resulting term
//! becomes a should-clause (repeated terms are boosted by their count), as in Lucene /
//! Pyserini bag-of-words BM25. No query syntax can fail: any text is a valid query.

use crate::bm25::Bm25Params;
use crate::{IndexError, QuarryIndex};
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, TantivyDocument, Term};

/// Which retrieval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25 over the analyzed language fields.
    Bm25,
    /// Inference-free learned sparse retrieval.
    Sparse,
    /// BM25 and sparse fused ([`crate::hybrid`]).
    Hybrid,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bm25" => Ok(SearchMode::Bm25),
            "sparse" => Ok(SearchMode::Sparse),
            "hybrid" => Ok(SearchMode::Hybrid),
            o => Err(format!(
                "unknown search mode '{o}' (bm25 | sparse | hybrid)"
            )),
        }
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    /// 1-based rank.
    pub rank: usize,
    /// Document id.
    pub id: String,
    /// Score of the search mode (BM25, sparse dot product or fused score).
    pub score: f32,
    /// Document language.
    pub lang: String,
    /// Title, when the document has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A fragment of the text around the matched terms, matches wrapped in `[` `]`.
    pub snippet: String,
    /// The matched words of the snippet, with character offsets into `snippet` with its
    /// brackets removed (for a client that draws its own highlighting).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<Highlight>,
}

/// One highlighted word of a snippet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Highlight {
    /// The word as it appears in the text.
    pub text: String,
    /// First character (offset in characters into the plain snippet).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// Settings of one search ([`QuarryIndex::search_with`]).
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions<'a> {
    /// Which retrieval runs.
    pub mode: SearchMode,
    /// Generate snippets and highlights.
    pub snippets: bool,
    /// Only documents linked to every one of these concepts (`<terminology>:<id>`).
    pub concepts: &'a [String],
    /// Only documents having every one of these key phrases.
    pub keyphrases: &'a [String],
    /// Only documents of this language code.
    pub lang: Option<&'a str>,
    /// Only documents whose field `name` is exactly `value` (trimmed; fields of at most
    /// [`crate::FIELD_VALUE_MAX_BYTES`] bytes are filterable).
    pub fields: &'a [(String, String)],
    /// Re-ranking depth: `None` = the attached reranker's own setting, `Some(0)` = off,
    /// `Some(n)` = re-score the first `n` (an error when no reranker is attached).
    pub rerank: Option<usize>,
}

impl Default for SearchOptions<'_> {
    fn default() -> Self {
        SearchOptions {
            mode: SearchMode::Bm25,
            snippets: true,
            concepts: &[],
            keyphrases: &[],
            lang: None,
            fields: &[],
            rerank: None,
        }
    }
}

impl QuarryIndex {
    /// The analyzed terms of `text` for `field` (after query normalization).
    pub fn query_terms(&self, field: Field, text: &str) -> Result<Vec<String>, IndexError> {
        self.analyze(field, &self.normalize_query(text))
    }

    /// Runs `field`'s analyzer over text that is already normalized.
    pub(crate) fn analyze(&self, field: Field, text: &str) -> Result<Vec<String>, IndexError> {
        let mut analyzer = self.index().tokenizer_for_field(field)?;
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        Ok(out)
    }

    /// The bag-of-words BM25 query for `text` over both language fields.
    pub fn bm25_query(&self, text: &str) -> Result<BooleanQuery, IndexError> {
        Ok(Self::query_from_terms(&self.weighted_terms(text)?))
    }

    /// One should-clause per weighted term (a repeated term is boosted by its count).
    pub fn query_from_terms(terms: &[(Field, String, f32)]) -> BooleanQuery {
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|(field, t, n)| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(*field, t),
                    IndexRecordOption::WithFreqs,
                ));
                let q: Box<dyn Query> = if *n > 1.0 {
                    Box::new(BoostQuery::new(q, *n))
                } else {
                    q
                };
                (Occur::Should, q)
            })
            .collect();
        BooleanQuery::new(clauses)
    }

    /// The BM25 top `k` as (score, address): tantivy's own scorer (Block-WAND) with
    /// tantivy's parameters, else Quarry's exact scorer for other k1/b.
    pub fn bm25_ranked(&self, text: &str, k: usize) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        self.bm25_ranked_terms(&self.weighted_terms(text)?, k)
    }

    /// [`QuarryIndex::bm25_ranked`] for terms already analyzed.
    fn bm25_ranked_terms(
        &self,
        terms: &[(Field, String, f32)],
        k: usize,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        if k == 0 || terms.is_empty() {
            return Ok(Vec::new());
        }
        let params = self.bm25_params();
        if params == Bm25Params::TANTIVY {
            Ok(self
                .searcher()
                .search(&Self::query_from_terms(terms), &TopDocs::with_limit(k))?)
        } else {
            self.bm25_top_k_terms(terms, k, params)
        }
    }

    /// The top `k` (score, address) of `mode`.
    pub fn ranked(
        &self,
        text: &str,
        k: usize,
        mode: SearchMode,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        match mode {
            SearchMode::Bm25 => self.bm25_ranked(text, k),
            SearchMode::Sparse => self.sparse_top_k(text, k),
            SearchMode::Hybrid => {
                let hp = self.hybrid_params();
                let depth = hp.depth.max(k);
                let a = self.bm25_ranked(text, depth)?;
                let b = self.sparse_top_k(text, depth)?;
                Ok(crate::hybrid::fuse(
                    &[(&a, hp.bm25_weight), (&b, hp.sparse_weight)],
                    hp.fusion,
                    hp.rrf_k,
                    k,
                ))
            }
        }
    }

    /// Document ids of ranked addresses (read from the `id` fast field, no stored fields).
    pub fn ids_of(&self, top: &[(f32, DocAddress)]) -> Result<Vec<(String, f32)>, IndexError> {
        let searcher = self.searcher();
        let mut columns = Vec::new();
        for seg in searcher.segment_readers() {
            columns.push(seg.fast_fields().str("id")?);
        }
        let mut out = Vec::with_capacity(top.len());
        let mut buf = String::new();
        for &(score, addr) in top {
            buf.clear();
            if let Some(col) = &columns[addr.segment_ord as usize] {
                if let Some(ord) = col.term_ords(addr.doc_id).next() {
                    col.ord_to_str(ord, &mut buf).map_err(|e| IndexError::Io {
                        context: "read id column".into(),
                        source: e,
                    })?;
                }
            }
            out.push((buf.clone(), score));
        }
        Ok(out)
    }

    /// The ranked document ids and scores for `text` under BM25 (no stored fields read):
    /// what an evaluation run needs.
    pub fn search_ids(&self, text: &str, k: usize) -> Result<Vec<(String, f32)>, IndexError> {
        self.search_ids_mode(text, k, SearchMode::Bm25)
    }

    /// [`QuarryIndex::search_ids`] for any mode.
    pub fn search_ids_mode(
        &self,
        text: &str,
        k: usize,
        mode: SearchMode,
    ) -> Result<Vec<(String, f32)>, IndexError> {
        let (rerank, depth) = self.rerank_plan(k, None)?;
        let first = self.first_stage(text, depth, mode)?;
        let top = self.reranked(text, first, rerank.as_ref(), k)?;
        self.ids_of(&top)
    }

    /// The attached reranker, when it re-scores anything for a request of `k` results, and
    /// how deep the first stage must go for it (`k` without one). `depth` overrides the
    /// reranker's own candidates (`Some(0)`: no re-ranking); a depth without an attached
    /// reranker is [`IndexError::NoReranker`].
    fn rerank_plan(
        &self,
        k: usize,
        depth: Option<usize>,
    ) -> Result<(Option<crate::Reranker>, usize), IndexError> {
        let reranker = match (self.reranker(), depth) {
            (_, Some(0)) | (None, None) => None,
            (None, Some(_)) => return Err(IndexError::NoReranker),
            (Some(mut r), Some(n)) => {
                r.params.candidates = n;
                Some(r)
            }
            (Some(r), None) => Some(r),
        };
        Ok(match reranker {
            Some(r) if r.params.candidates > 0 && k > 0 => {
                let depth = k.max(r.params.candidates);
                (Some(r), depth)
            }
            _ => (None, k),
        })
    }

    /// The first stage's top `k` (BM25 through the fast path when its parameters allow).
    fn first_stage(
        &self,
        text: &str,
        k: usize,
        mode: SearchMode,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        match mode {
            SearchMode::Bm25 => self.bm25_top_k(text, k, self.bm25_params()),
            m => self.ranked(text, k, m),
        }
    }

    /// Re-scores the top `r.params.candidates` of `first` with the reranker (passages read
    /// from the stored documents) and returns the top `k` of the re-ordered list; without a
    /// reranker, the top `k` of `first`.
    pub fn reranked(
        &self,
        text: &str,
        mut first: Vec<(f32, DocAddress)>,
        rerank: Option<&crate::Reranker>,
        k: usize,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        let n = rerank.map_or(0, |r| r.params.candidates.min(first.len()));
        let Some(r) = rerank.filter(|_| n > 0 && !text.trim().is_empty()) else {
            first.truncate(k);
            return Ok(first);
        };
        let passages = self.passage_parts(&first[..n])?;
        let refs: Vec<(&str, &str)> = passages
            .iter()
            .map(|(t, x)| (t.as_str(), x.as_str()))
            .collect();
        let scores = r
            .scorer
            .score_titled(text, &refs)
            .map_err(|e| IndexError::Rerank {
                model: r.scorer.name().to_string(),
                detail: e,
            })?;
        if scores.len() != n {
            return Err(IndexError::Rerank {
                model: r.scorer.name().to_string(),
                detail: format!("{} scores for {n} passages", scores.len()),
            });
        }
        let mut out = crate::rerank::apply(&first, &scores, &r.params);
        out.truncate(k);
        Ok(out)
    }

    /// The reranker's text of each addressed document ([`crate::rerank::passage_of`]).
    pub fn passages(&self, top: &[(f32, DocAddress)]) -> Result<Vec<String>, IndexError> {
        Ok(self
            .passage_parts(top)?
            .into_iter()
            .map(|(t, x)| quarry_models::rerank::titled_passage(&t, &x))
            .collect())
    }

    /// The (title, text) of each addressed document ([`crate::rerank::passage_parts`]).
    pub fn passage_parts(
        &self,
        top: &[(f32, DocAddress)],
    ) -> Result<Vec<(String, String)>, IndexError> {
        let searcher = self.searcher();
        let source = self.fields().source;
        top.iter()
            .map(|&(_, addr)| {
                let d: TantivyDocument = searcher.doc(addr)?;
                let src = d.get_first(source).and_then(|v| v.as_str()).unwrap_or("{}");
                Ok(quarry_core::jsonl::parse_document(src)
                    .map(|doc| crate::rerank::passage_parts(&doc))
                    .unwrap_or_default())
            })
            .collect()
    }

    /// The top `k` documents for `text` by BM25, with snippets.
    pub fn search(&self, text: &str, k: usize) -> Result<Vec<Hit>, IndexError> {
        self.search_opts(text, k, true)
    }

    /// Like [`QuarryIndex::search`]; `snippets = false` skips snippet generation (faster,
    /// for evaluation runs).
    pub fn search_opts(
        &self,
        text: &str,
        k: usize,
        snippets: bool,
    ) -> Result<Vec<Hit>, IndexError> {
        self.search_mode(text, k, SearchMode::Bm25, snippets)
    }

    /// The top `k` documents of `mode`, with snippets (highlighting the query's analyzed
    /// terms) unless `snippets` is false.
    pub fn search_mode(
        &self,
        text: &str,
        k: usize,
        mode: SearchMode,
        snippets: bool,
    ) -> Result<Vec<Hit>, IndexError> {
        self.search_filtered(text, k, mode, snippets, &[])
    }

    /// The documents linked to every one of `concepts` (`<terminology>:<id>` facet terms).
    pub fn concept_docs(&self, concepts: &[String]) -> Result<HashSet<DocAddress>, IndexError> {
        self.facet_docs(self.fields().concept, concepts.iter().map(String::as_str))
    }

    /// The documents carrying every one of `terms` in the raw facet field `field`.
    fn facet_docs<'t>(
        &self,
        field: Field,
        terms: impl Iterator<Item = &'t str>,
    ) -> Result<HashSet<DocAddress>, IndexError> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::Basic,
                ));
                (Occur::Must, q)
            })
            .collect();
        Ok(self
            .searcher()
            .search(&BooleanQuery::new(clauses), &DocSetCollector)?)
    }

    /// Every concept facet term with the number of live documents linked to it, most
    /// frequent first (ties by term), at most `limit`.
    pub fn concept_counts(&self, limit: usize) -> Result<Vec<(String, u64)>, IndexError> {
        self.facet_counts(self.fields().concept, limit)
    }

    /// Every key-phrase facet term (lowercase phrase) with the number of live documents
    /// that have it, most frequent first (ties by term), at most `limit`.
    pub fn keyphrase_counts(&self, limit: usize) -> Result<Vec<(String, u64)>, IndexError> {
        self.facet_counts(self.fields().keyphrase, limit)
    }

    /// The documents having every one of `phrases` as a key phrase (case-insensitive).
    pub fn keyphrase_docs(&self, phrases: &[String]) -> Result<HashSet<DocAddress>, IndexError> {
        let lower: Vec<String> = phrases.iter().map(|p| p.to_lowercase()).collect();
        self.facet_docs(self.fields().keyphrase, lower.iter().map(String::as_str))
    }

    fn facet_counts(&self, field: Field, limit: usize) -> Result<Vec<(String, u64)>, IndexError> {
        let searcher = self.searcher();
        let mut terms: BTreeSet<String> = BTreeSet::new();
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(field)?;
            let mut stream = inv.terms().stream().map_err(|e| IndexError::Io {
                context: "read a facet's terms".into(),
                source: e,
            })?;
            while stream.advance() {
                terms.insert(String::from_utf8_lossy(stream.key()).into_owned());
            }
        }
        let mut out = Vec::with_capacity(terms.len());
        for t in terms {
            let q = TermQuery::new(Term::from_field_text(field, &t), IndexRecordOption::Basic);
            let n = searcher.search(&q, &Count)? as u64;
            if n > 0 {
                out.push((t, n));
            }
        }
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(limit);
        Ok(out)
    }

    /// [`QuarryIndex::search_mode`] restricted to documents linked to every one of
    /// `concepts` (none: no restriction). The first stage is asked for deeper lists until
    /// enough of its hits pass the filter or it has no more, so a filter never drops a
    /// document that the unfiltered ranking would reach.
    pub fn search_filtered(
        &self,
        text: &str,
        k: usize,
        mode: SearchMode,
        snippets: bool,
        concepts: &[String],
    ) -> Result<Vec<Hit>, IndexError> {
        self.search_with(
            text,
            k,
            &SearchOptions {
                mode,
                snippets,
                concepts,
                ..SearchOptions::default()
            },
        )
    }

    /// The documents whose language code is `lang`.
    pub fn lang_docs(&self, lang: &str) -> Result<HashSet<DocAddress>, IndexError> {
        self.facet_docs(self.fields().lang, std::iter::once(lang))
    }

    /// The top `k` documents for `text` under every restriction and setting of `opts`
    /// (filters are intersected; re-ranking as `opts.rerank` says).
    pub fn search_with(
        &self,
        text: &str,
        k: usize,
        opts: &SearchOptions<'_>,
    ) -> Result<Vec<Hit>, IndexError> {
        let mode = opts.mode;
        // Normalize and analyze the query once; the BM25 scorer and the snippets use the terms.
        let terms = self.weighted_terms(text)?;
        let query = Self::query_from_terms(&terms);
        let searcher = self.searcher();
        if k == 0 {
            return Ok(Vec::new());
        }
        let (rerank, depth) = self.rerank_plan(k, opts.rerank)?;
        let rank = |d: usize| -> Result<Vec<(f32, DocAddress)>, IndexError> {
            match mode {
                SearchMode::Bm25 if terms.is_empty() => Ok(Vec::new()),
                SearchMode::Bm25 => self.bm25_ranked_terms(&terms, d),
                m => self.ranked(text, d, m),
            }
        };
        let mut filters: Vec<HashSet<DocAddress>> = Vec::new();
        if !opts.concepts.is_empty() {
            filters.push(self.concept_docs(opts.concepts)?);
        }
        if !opts.keyphrases.is_empty() {
            filters.push(self.keyphrase_docs(opts.keyphrases)?);
        }
        if let Some(l) = opts.lang {
            filters.push(self.lang_docs(l)?);
        }
        if !opts.fields.is_empty() {
            let terms: Vec<String> = opts
                .fields
                .iter()
                .map(|(n, v)| crate::field_term(n, v))
                .collect();
            filters.push(
                self.facet_docs(self.fields().field_value, terms.iter().map(String::as_str))?,
            );
        }
        let first = match filters.pop() {
            None => rank(depth)?,
            Some(mut allowed) => {
                for f in &filters {
                    allowed.retain(|a| f.contains(a));
                }
                let total = searcher.num_docs() as usize;
                let mut d = depth;
                loop {
                    let got = rank(d)?;
                    let exhausted = got.len() < d || d >= total;
                    let mut kept: Vec<_> = got
                        .into_iter()
                        .filter(|(_, a)| allowed.contains(a))
                        .collect();
                    if kept.len() >= depth || exhausted || allowed.is_empty() {
                        kept.truncate(depth);
                        break kept;
                    }
                    d = d.saturating_mul(4).min(total.max(1));
                }
            }
        };
        let snippets = opts.snippets;
        let top = self.reranked(text, first, rerank.as_ref(), k)?;
        let f = self.fields();
        let (gen_en, gen_zh) = if snippets && !top.is_empty() {
            let mut en = SnippetGenerator::create(&searcher, &query, f.en)?;
            let mut zh = SnippetGenerator::create(&searcher, &query, f.zh)?;
            en.set_max_num_chars(160);
            zh.set_max_num_chars(80);
            (Some(en), Some(zh))
        } else {
            (None, None)
        };
        let mut hits = Vec::with_capacity(top.len());
        for (rank, (score, addr)) in top.into_iter().enumerate() {
            let d: TantivyDocument = searcher.doc(addr)?;
            let get = |fl: Field| {
                d.get_first(fl)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let lang = get(f.lang);
            let source: serde_json::Value =
                serde_json::from_str(&get(f.source)).unwrap_or_default();
            let title = source
                .get("title")
                .and_then(|t| t.as_str())
                .map(str::to_string);
            let gen = if lang == "zh" {
                gen_zh.as_ref()
            } else {
                gen_en.as_ref()
            };
            let (snippet, highlights) = match gen {
                Some(g) => {
                    let s = g.snippet_from_doc(&d);
                    (
                        render_snippet(s.fragment(), s.highlighted()),
                        highlight_spans(s.fragment(), s.highlighted()),
                    )
                }
                None => (String::new(), Vec::new()),
            };
            hits.push(Hit {
                rank: rank + 1,
                id: get(f.id),
                score,
                lang,
                title,
                snippet,
                highlights,
            });
        }
        Ok(hits)
    }
}

/// The highlighted byte ranges of a snippet fragment that can be cut out: in order, not
/// overlapping, inside the fragment and on character boundaries.
fn usable_ranges<'a>(
    fragment: &'a str,
    highlighted: &'a [std::ops::Range<usize>],
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut last = 0;
    highlighted.iter().filter_map(move |r| {
        let ok = r.start >= last
            && r.end <= fragment.len()
            && fragment.is_char_boundary(r.start)
            && fragment.is_char_boundary(r.end);
        ok.then(|| {
            last = r.end;
            r.clone()
        })
    })
}

/// The highlighted words of a snippet fragment with character offsets into the fragment as
/// [`render_snippet`] prints it without brackets (newlines become spaces, one for one).
fn highlight_spans(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> Vec<Highlight> {
    let mut out = Vec::new();
    let (mut last, mut chars) = (0, 0);
    for r in usable_ranges(fragment, highlighted) {
        chars += fragment[last..r.start].chars().count();
        let word = &fragment[r.start..r.end];
        let n = word.chars().count();
        out.push(Highlight {
            text: word.replace('\n', " "),
            start: chars,
            end: chars + n,
        });
        chars += n;
        last = r.end;
    }
    out
}

/// The fragment with each highlighted word in `[` `]`, on one line.
fn render_snippet(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(fragment.len() + 8);
    let mut last = 0;
    for r in usable_ranges(fragment, highlighted) {
        out.push_str(&fragment[last..r.start]);
        out.push('[');
        out.push_str(&fragment[r.start..r.end]);
        out.push(']');
        last = r.end;
    }
    out.push_str(&fragment[last..]);
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever ranges tantivy hands over (overlapping, out of bounds, inside a
        /// character), the bracketed snippet without its brackets is the fragment on one line,
        /// and every highlight's offsets point at its word in that plain text.
        #[test]
        fn snippet_and_highlights_agree(
            fragment in "[a-zé肝 \n]{0,24}",
            ranges in proptest::collection::vec((0usize..40, 0usize..8), 0..6),
        ) {
            let ranges: Vec<std::ops::Range<usize>> =
                ranges.into_iter().map(|(s, n)| s..s + n).collect();
            let rendered = render_snippet(&fragment, &ranges);
            let plain: String = rendered.chars().filter(|c| *c != '[' && *c != ']').collect();
            prop_assert_eq!(&plain, &fragment.replace('\n', " "));
            let chars: Vec<char> = plain.chars().collect();
            let hl = highlight_spans(&fragment, &ranges);
            prop_assert_eq!(hl.len(), rendered.matches('[').count());
            for h in hl {
                prop_assert_eq!(chars[h.start..h.end].iter().collect::<String>(), h.text);
            }
        }
    }
}
