//! # quarry-index
//!
//! Quarry's inverted index on tantivy: a schema with one analyzed field per language
//! (`en`, `zh`), the original document stored as JSON, BM25 bag-of-words search across both
//! language fields, and resumable batch ingestion from JSONL.
//!
//! Inference-free learned sparse retrieval ([`sparse`]: documents expanded by an ONNX
//! encoder at ingestion, stored as quantized impacts in tantivy postings, queried with IDF
//! weights and MaxScore pruning) and fusion of BM25 with it ([`hybrid`]) live here too.

pub mod analysis;
pub mod bm25;
pub mod hybrid;
pub mod ingest;
pub mod rerank;
pub mod search;
pub mod sparse;

use analysis::AnalysisError;
use quarry_core::config::AnalysisConfig;
use quarry_core::{Document, Lang};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument};

pub use ingest::{ingest_file, IngestOptions, IngestReport};
pub use search::{Highlight, Hit, SearchMode, SearchOptions};

/// Version of the index schema and analyzers; bump it when either changes, so caches keyed
/// by it (evaluation indexes) are rebuilt.
pub const SCHEMA_VERSION: u32 = 5;

/// Index errors.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No index where one was expected.
    #[error("no index at {0}; create one with `quarry ingest --index {0} FILE.jsonl`")]
    NotFound(PathBuf),
    /// tantivy failed.
    #[error("index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Analyzer setup failed.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// A file could not be read.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A bad input line in `--strict` mode.
    #[error("{path}:{line}: {message}")]
    Input {
        /// Input file.
        path: String,
        /// Line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A pipeline stage failed.
    #[error(transparent)]
    Stage(#[from] quarry_core::StageError),
    /// A query could not be parsed.
    #[error("query: {0}")]
    Query(String),
    /// The index on disk was built by an incompatible version.
    #[error("the index at {0} was built with a different schema; delete it and ingest again")]
    Schema(String),
    /// Re-ranking was asked for but no cross-encoder is attached.
    #[error(
        "no cross-encoder is attached to this index (serve with --rerank, or set rerank depth 0)"
    )]
    NoReranker,
    /// The reranker failed.
    #[error("rerank with {model}: {detail}")]
    Rerank {
        /// The reranker's name.
        model: String,
        /// What failed.
        detail: String,
    },
}

/// The index fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Document id (raw, stored).
    pub id: Field,
    /// Language code (raw, stored).
    pub lang: Field,
    /// English text (analyzed with `quarry_en`, stored for snippets).
    pub en: Field,
    /// Chinese text (analyzed with `quarry_zh`, stored for snippets).
    pub zh: Field,
    /// The whole document as JSON (stored only).
    pub source: Field,
    /// The normalized text of each field the normalize stage rewrote, as a JSON object
    /// `{field: text}` (stored only; what search analyzed).
    pub normalized: Field,
    /// Learned sparse expansion: token id terms whose frequency is the quantized weight.
    pub sparse: Field,
    /// The same expansion as stored bytes (the brute-force oracle and re-scoring read it).
    pub sparse_vec: Field,
    /// Unique tokenizer token ids of the text (document frequencies for query IDF).
    pub wp: Field,
    /// Linked concepts (`<terminology>:<concept id>`, raw terms, one per linked concept):
    /// the facet that search filters and counts by ([`CONCEPT_KIND`] annotations).
    pub concept: Field,
    /// Key phrases (lowercase phrase, raw terms, one per key phrase): the facet that search
    /// filters and counts by ([`KEYPHRASE_KIND`] annotations).
    pub keyphrase: Field,
    /// Each short text field as one exact `name=value` term (values of at most
    /// [`FIELD_VALUE_MAX_BYTES`] bytes, trimmed): what field filters match.
    pub field_value: Field,
}

/// Longest field value (bytes, trimmed) kept as an exact term for field filters.
pub const FIELD_VALUE_MAX_BYTES: usize = 256;

/// The exact term of a field filter: `name=value` (value trimmed).
pub fn field_term(name: &str, value: &str) -> String {
    format!("{name}={}", value.trim())
}

/// The annotation kind whose concepts the index keeps as the `concept` facet (written by
/// the `link` stage, source `link:<terminology>`).
pub const CONCEPT_KIND: &str = "concept";

/// The annotation kind whose labels the index keeps as the `keyphrase` facet (written by the
/// `keyphrase` stage).
pub const KEYPHRASE_KIND: &str = "keyphrase";

/// The facet term of a concept annotation: `<terminology>:<id>`.
pub fn concept_term(a: &quarry_core::Annotation) -> String {
    format!(
        "{}:{}",
        a.source.strip_prefix("link:").unwrap_or(&a.source),
        a.label
    )
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str| {
        TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let id = b.add_text_field("id", STRING | STORED | FAST);
    let lang = b.add_text_field("lang", STRING | STORED);
    let en = b.add_text_field("en", text(analysis::EN));
    let zh = b.add_text_field("zh", text(analysis::ZH));
    let source = b.add_text_field("source", STORED);
    let normalized = b.add_text_field("normalized", STORED);
    let impacts = |opt: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_fieldnorms(false)
                .set_index_option(opt),
        )
    };
    let sparse = b.add_text_field("sparse", impacts(IndexRecordOption::WithFreqs));
    let sparse_vec = b.add_bytes_field("sparse_vec", STORED);
    let wp = b.add_text_field("wp", impacts(IndexRecordOption::Basic));
    let concept = b.add_text_field("concept", STRING);
    let keyphrase = b.add_text_field("keyphrase", STRING);
    let field_value = b.add_text_field("field_value", STRING);
    (
        b.build(),
        Fields {
            id,
            lang,
            en,
            zh,
            source,
            normalized,
            sparse,
            sparse_vec,
            wp,
            concept,
            keyphrase,
            field_value,
        },
    )
}

/// An open Quarry index.
pub struct QuarryIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    path: Option<PathBuf>,
    jieba: Arc<jieba_rs::Jieba>,
    bm25: std::sync::RwLock<bm25::Bm25Params>,
    query_normalizer: std::sync::RwLock<Option<QueryNormalizer>>,
    sparse: std::sync::RwLock<Option<Arc<SparseState>>>,
    hybrid: std::sync::RwLock<hybrid::HybridParams>,
    reranker: std::sync::RwLock<Option<Reranker>>,
}

/// A second stage attached to an index: the pair scorer and how it is applied.
#[derive(Clone)]
pub struct Reranker {
    /// The scorer (a cross-encoder).
    pub scorer: Arc<dyn rerank::PairScorer>,
    /// Candidates and fusion.
    pub params: rerank::RerankParams,
}

/// Learned sparse retrieval attached to an index: its settings, the query tokenizer, the
/// document expander (needed only to ingest), the current IDF table and MaxScore bounds.
pub struct SparseState {
    /// Settings (persisted in the index directory).
    pub settings: sparse::SparseSettings,
    /// Query side (no model).
    pub tokenizer: Arc<dyn sparse::QueryTokenizer>,
    /// Document side; None for a search-only process.
    pub expander: Option<Arc<dyn sparse::Expander>>,
    idf: std::sync::RwLock<Arc<sparse::IdfTable>>,
    bounds: Arc<sparse::BoundsCache>,
}

impl SparseState {
    /// The IDF table in use.
    pub fn idf(&self) -> Arc<sparse::IdfTable> {
        self.idf.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Rewrites query text before analysis (the same normalization documents got at ingestion).
pub type QueryNormalizer = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl QuarryIndex {
    /// Opens the index at `path`, creating it if the directory is empty or absent.
    pub fn open_or_create(path: &Path, cfg: &AnalysisConfig) -> Result<Self, IndexError> {
        std::fs::create_dir_all(path).map_err(|e| IndexError::Io {
            context: format!("create index directory {}", path.display()),
            source: e,
        })?;
        let (schema, _) = schema();
        let dir = tantivy::directory::MmapDirectory::open(path)
            .map_err(|e| IndexError::Tantivy(e.into()))?;
        let index = Index::open_or_create(dir, schema)?;
        Self::from_index(index, Some(path.to_path_buf()), cfg)
    }

    /// Opens an existing index.
    pub fn open(path: &Path, cfg: &AnalysisConfig) -> Result<Self, IndexError> {
        if !path.join("meta.json").is_file() {
            return Err(IndexError::NotFound(path.to_path_buf()));
        }
        let index = Index::open_in_dir(path)?;
        Self::from_index(index, Some(path.to_path_buf()), cfg)
    }

    /// An in-memory index (tests, benchmarks).
    pub fn in_memory(cfg: &AnalysisConfig) -> Result<Self, IndexError> {
        let (schema, _) = schema();
        Self::from_index(Index::create_in_ram(schema), None, cfg)
    }

    fn from_index(
        index: Index,
        path: Option<PathBuf>,
        cfg: &AnalysisConfig,
    ) -> Result<Self, IndexError> {
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(IndexError::Schema(
                path.as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ));
        }
        let jieba = Arc::new(analysis::build_jieba(cfg)?);
        analysis::register(&index, jieba.clone(), cfg);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(QuarryIndex {
            index,
            reader,
            fields,
            path,
            jieba,
            bm25: std::sync::RwLock::new(bm25::Bm25Params::default()),
            query_normalizer: std::sync::RwLock::new(None),
            sparse: std::sync::RwLock::new(None),
            hybrid: std::sync::RwLock::new(hybrid::HybridParams::default()),
            reranker: std::sync::RwLock::new(None),
        })
    }

    /// The tantivy index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The fields.
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// Where the index lives (None in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The BM25 parameters searches use (default k1 = 0.9, b = 0.4).
    pub fn bm25_params(&self) -> bm25::Bm25Params {
        *self.bm25.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the BM25 parameters.
    pub fn set_bm25_params(&self, p: bm25::Bm25Params) {
        *self.bm25.write().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// The hybrid fusion parameters.
    pub fn hybrid_params(&self) -> hybrid::HybridParams {
        *self.hybrid.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The attached reranker, if any.
    pub fn reranker(&self) -> Option<Reranker> {
        self.reranker
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Attaches (or with `None` detaches) a reranker: every search then re-scores the
    /// first stage's top `params.candidates` with it.
    pub fn set_reranker(&self, r: Option<Reranker>) {
        *self.reranker.write().unwrap_or_else(|e| e.into_inner()) = r;
    }

    /// Sets the hybrid fusion parameters.
    pub fn set_hybrid_params(&self, p: hybrid::HybridParams) {
        *self.hybrid.write().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// Sets the function applied to query text before analysis.
    pub fn set_query_normalizer(&self, f: Option<QueryNormalizer>) {
        *self
            .query_normalizer
            .write()
            .unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// Applies the query normalizer, if any.
    pub fn normalize_query(&self, text: &str) -> String {
        match &*self
            .query_normalizer
            .read()
            .unwrap_or_else(|e| e.into_inner())
        {
            Some(f) => f(text),
            None => text.to_string(),
        }
    }

    /// The jieba segmenter in use.
    pub fn jieba(&self) -> Arc<jieba_rs::Jieba> {
        self.jieba.clone()
    }

    /// Makes committed changes visible to searches (and refreshes the sparse IDF table).
    pub fn reload(&self) -> Result<(), IndexError> {
        self.reader.reload()?;
        self.refresh_sparse()
    }

    /// The sparse settings stored with this index (None: no sparse retrieval).
    pub fn stored_sparse_settings(&self) -> Result<Option<sparse::SparseSettings>, IndexError> {
        match &self.path {
            Some(p) => sparse::SparseSettings::load(p),
            None => Ok(self.sparse_state().map(|s| s.settings.clone())),
        }
    }

    /// Attaches learned sparse retrieval. A new index records `settings`; an index that
    /// already has sparse settings must have been built with the same model and
    /// quantization (otherwise its stored impacts would not match the queries).
    pub fn enable_sparse(
        &self,
        settings: sparse::SparseSettings,
        tokenizer: Arc<dyn sparse::QueryTokenizer>,
        expander: Option<Arc<dyn sparse::Expander>>,
    ) -> Result<(), IndexError> {
        settings.validate()?;
        if let Some(p) = &self.path {
            match sparse::SparseSettings::load(p)? {
                Some(old) if !old.same_encoding(&settings) => {
                    return Err(IndexError::Query(format!(
                        "the index at {} was expanded with {:?}; it cannot take {:?} (ingest into a new index)",
                        p.display(),
                        old,
                        settings
                    )))
                }
                Some(old) if old.idf != settings.idf => {
                    // the query-side idf is not part of the encoding: record the new choice
                    settings.save(p)?;
                }
                Some(_) => {}
                None => {
                    if self.num_docs() > 0 {
                        return Err(IndexError::Query(format!(
                            "the index at {} already holds {} documents without sparse expansion; ingest into a new index",
                            p.display(),
                            self.num_docs()
                        )));
                    }
                    settings.save(p)?;
                }
            }
        }
        let state = SparseState {
            settings,
            tokenizer,
            expander,
            idf: std::sync::RwLock::new(Arc::new(sparse::IdfTable::from_df(0, Default::default()))),
            bounds: Arc::new(sparse::BoundsCache::default()),
        };
        *self.sparse.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(state));
        self.refresh_sparse()
    }

    /// The sparse state, if sparse retrieval is attached.
    pub fn sparse_state(&self) -> Option<Arc<SparseState>> {
        self.sparse
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn refresh_sparse(&self) -> Result<(), IndexError> {
        let Some(state) = self.sparse_state() else {
            return Ok(());
        };
        let searcher = self.searcher();
        state.bounds.warm(&searcher, self.fields.sparse)?;
        let table = if let Some(formula) = match state.settings.idf.as_str() {
            "corpus" => Some(sparse::IdfFormula::Bm25),
            "corpus-log" => Some(sparse::IdfFormula::Log),
            _ => None,
        } {
            sparse::IdfTable {
                formula,
                ..sparse::IdfTable::from_searcher(&searcher, self.fields.wp)?
            }
        } else {
            let t = state.tokenizer.clone();
            sparse::IdfTable::from_idf_json(Path::new(&state.settings.idf), |s| t.token_id(s))?
        };
        if let Some(p) = &self.path {
            table.save(&p.join(sparse::IDF_FILE))?;
        }
        *state.idf.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
        Ok(())
    }

    /// The sparse query for `text` (normalized like BM25 queries), or an error when the
    /// index has no sparse retrieval attached.
    pub fn sparse_query(&self, text: &str) -> Result<sparse::SparseQuery, IndexError> {
        let state = self.sparse_state().ok_or_else(|| {
            IndexError::Query(
                "this index has no learned sparse expansion: ingest with --sparse (or [sparse] enabled = true)".into(),
            )
        })?;
        let text = self.normalize_query(text);
        let ids = state
            .tokenizer
            .unique_ids(&text)
            .map_err(IndexError::Query)?;
        let terms = state.idf().query_weights(&ids);
        Ok(sparse::SparseQuery::new(
            self.fields.sparse,
            terms,
            state.settings.quant_step,
            state.bounds.clone(),
        ))
    }

    /// The exact sparse top `k` (MaxScore), as (score, address).
    pub fn sparse_top_k(
        &self,
        text: &str,
        k: usize,
    ) -> Result<Vec<(f32, tantivy::DocAddress)>, IndexError> {
        let q = self.sparse_query(text)?;
        let hits = sparse::top_k(&self.searcher(), &q, k)?;
        Ok(hits
            .into_iter()
            .map(|h| (h.units as f32 * q.unit(), h.addr))
            .collect())
    }

    /// A searcher over the last reloaded commit.
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Number of live documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The tantivy document for a Quarry document: id, language, every field's text in the
    /// language field (title first), and the whole document as JSON.
    pub fn to_tantivy(&self, doc: &Document) -> TantivyDocument {
        self.to_tantivy_expanded(doc, None)
    }

    /// The text a sparse encoder expands: every field's analysis text, title first.
    pub fn expansion_text(doc: &Document) -> String {
        let parts: Vec<&str> = doc
            .fields
            .iter()
            .map(|f| doc.analysis_text(f))
            .filter(|t| !t.trim().is_empty())
            .collect();
        parts.join(" ")
    }

    /// Like [`QuarryIndex::to_tantivy`], with the document's quantized sparse expansion and
    /// the unique token ids of its text.
    pub fn to_tantivy_expanded(
        &self,
        doc: &Document,
        expansion: Option<(&sparse::Impacts, &[u32])>,
    ) -> TantivyDocument {
        let f = self.fields;
        let lang = doc.effective_lang();
        let mut t = TantivyDocument::default();
        t.add_text(f.id, &doc.id);
        t.add_text(f.lang, lang.code());
        let field = match lang {
            Lang::Zh => f.zh,
            _ => f.en,
        };
        for fl in &doc.fields {
            let text = doc.analysis_text(fl);
            if !text.trim().is_empty() {
                t.add_text(field, text);
            }
        }
        let mut concepts: Vec<String> = doc
            .annotations
            .iter()
            .filter(|a| a.kind == CONCEPT_KIND)
            .map(concept_term)
            .collect();
        concepts.sort();
        concepts.dedup();
        for c in &concepts {
            t.add_text(f.concept, c);
        }
        let mut phrases: Vec<String> = doc
            .annotations
            .iter()
            .filter(|a| a.kind == KEYPHRASE_KIND)
            .map(|a| a.label.to_lowercase())
            .collect();
        phrases.sort();
        phrases.dedup();
        for fl in &doc.fields {
            let v = fl.text.trim();
            if !v.is_empty() && v.len() <= FIELD_VALUE_MAX_BYTES {
                t.add_text(f.field_value, field_term(&fl.name, v));
            }
        }
        for p in &phrases {
            t.add_text(f.keyphrase, p);
        }
        let mut src = doc.to_flat_json();
        if !doc.annotations.is_empty() {
            src["annotations"] = serde_json::to_value(&doc.annotations).unwrap_or_default();
        }
        t.add_text(f.source, src.to_string());
        if !doc.normalized.is_empty() {
            t.add_text(
                f.normalized,
                serde_json::Value::Object(doc.normalized_texts()).to_string(),
            );
        }
        if let Some((impacts, ids)) = expansion {
            t.add_pre_tokenized_text(f.sparse, sparse::impacts_tokens(impacts));
            t.add_bytes(f.sparse_vec, &sparse::encode_impacts(impacts));
            t.add_pre_tokenized_text(f.wp, sparse::unique_tokens(ids));
        }
        t
    }

    /// The stored JSON of the document with this id: its fields, language, the annotations
    /// the pipeline added (what ingestion stored as `source`) and, under `normalized`, the
    /// normalized text of each field the normalize stage rewrote.
    pub fn get_source(&self, id: &str) -> Result<Option<serde_json::Value>, IndexError> {
        use tantivy::schema::Value;
        let Some(d) = self.stored_doc(id)? else {
            return Ok(None);
        };
        let text = |f: Field| d.get_first(f).and_then(|v| v.as_str()).map(str::to_string);
        let Some(mut v) = text(self.fields.source)
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        else {
            return Ok(None);
        };
        if let Some(n) = text(self.fields.normalized)
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        {
            v["normalized"] = n;
        }
        Ok(Some(v))
    }

    /// The stored document with this id.
    pub fn get(&self, id: &str) -> Result<Option<Document>, IndexError> {
        Ok(self
            .stored_source(id)?
            .and_then(|s| quarry_core::jsonl::parse_document(&s).ok()))
    }

    /// The `source` text stored for the document with this id.
    fn stored_source(&self, id: &str) -> Result<Option<String>, IndexError> {
        use tantivy::schema::Value;
        Ok(self.stored_doc(id)?.map(|d| {
            d.get_first(self.fields.source)
                .and_then(|v| v.as_str())
                .unwrap_or("{}")
                .to_string()
        }))
    }

    /// The stored fields of the document with this id.
    fn stored_doc(&self, id: &str) -> Result<Option<TantivyDocument>, IndexError> {
        use tantivy::collector::TopDocs;
        use tantivy::query::TermQuery;
        let searcher = self.searcher();
        let q = TermQuery::new(
            tantivy::Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&q, &TopDocs::with_limit(1))?;
        let Some((_, addr)) = top.first() else {
            return Ok(None);
        };
        Ok(Some(searcher.doc(*addr)?))
    }
}
