//! BM25 bag-of-words search across the language fields.
//!
//! A query is analyzed with each language field's own analyzer; every resulting term
//! becomes a should-clause (repeated terms are boosted by their count), as in Lucene /
//! Pyserini bag-of-words BM25. No query syntax can fail: any text is a valid query.

use crate::bm25::Bm25Params;
use crate::{IndexError, QuarryIndex};
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{TantivyDocument, Term};

/// One search result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    /// 1-based rank.
    pub rank: usize,
    /// Document id.
    pub id: String,
    /// BM25 score.
    pub score: f32,
    /// Document language.
    pub lang: String,
    /// Title, when the document has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A fragment of the text around the matched terms, matches wrapped in `[` `]`.
    pub snippet: String,
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

    /// The ranked document ids and scores for `text` (no stored fields read): what an
    /// evaluation run needs.
    pub fn search_ids(&self, text: &str, k: usize) -> Result<Vec<(String, f32)>, IndexError> {
        let searcher = self.searcher();
        let top = self.bm25_top_k(text, k, self.bm25_params())?;
        let mut columns = Vec::new();
        for seg in searcher.segment_readers() {
            columns.push(seg.fast_fields().str("id")?);
        }
        let mut out = Vec::with_capacity(top.len());
        let mut buf = String::new();
        for (score, addr) in top {
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
        // Normalize and analyze the query once; both scorers and the snippets use the terms.
        let terms = self.weighted_terms(text)?;
        let query = Self::query_from_terms(&terms);
        let searcher = self.searcher();
        if k == 0 || terms.is_empty() {
            return Ok(Vec::new());
        }
        let params = self.bm25_params();
        let top = if params == Bm25Params::TANTIVY {
            searcher.search(&query, &TopDocs::with_limit(k))?
        } else {
            self.bm25_top_k_terms(&terms, k, params)?
        };
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
            let snippet = match gen {
                Some(g) => {
                    let s = g.snippet_from_doc(&d);
                    render_snippet(s.fragment(), s.highlighted())
                }
                None => String::new(),
            };
            hits.push(Hit {
                rank: rank + 1,
                id: get(f.id),
                score,
                lang,
                title,
                snippet,
            });
        }
        Ok(hits)
    }
}

fn render_snippet(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(fragment.len() + 8);
    let mut last = 0;
    for h in highlighted {
        let r = h.clone();
        if r.start < last || r.end > fragment.len() {
            continue;
        }
        out.push_str(&fragment[last..r.start]);
        out.push('[');
        out.push_str(&fragment[r.start..r.end]);
        out.push(']');
        last = r.end;
    }
    out.push_str(&fragment[last..]);
    out.replace('\n', " ")
}
