//! The SQLite store of gold datasets, evaluation runs, their per-query results and metrics.
//!
//! [`Store::open`] creates the database file when needed and applies the schema
//! [`MIGRATIONS`] it has not seen yet, tracking progress in `PRAGMA user_version`; a
//! database written by a newer build (a higher version than this build knows) is refused
//! with [`StoreError::NewerSchema`].
//!
//! Tables: `datasets` (one row per named dataset), the gold tables `documents`, `queries`,
//! `qrels`, `ner_gold`, `link_gold` and `keyphrase_gold`, and per run `runs`, `results`
//! (ranked retrieval output), `predictions` (JSON payloads of other tasks) and `metrics`
//! (`qid` NULL for the aggregate values). JSON columns hold serialized text.
//!
//! Every import and every [`Store::save_run`] runs in one transaction: it is written
//! completely or not at all.

use crate::import::beir::BeirDataset;
use crate::import::trec::ranked;
use crate::types::{EntitySpan, KeyphraseDoc, LinkExample, NerSentence, PerQuery, Qrels, Run};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The row id of a dataset.
pub type DatasetId = i64;

/// The result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An SQLite failure.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An SQLite failure while doing something specific.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A JSON column could not be written or read.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The database was written by a newer build.
    #[error(
        "{path}: database schema version {found} is newer than this build supports \
         ({known}); open it with a newer quarry"
    )]
    NewerSchema {
        /// The database.
        path: String,
        /// Its `user_version`.
        found: i64,
        /// The newest version this build knows (`MIGRATIONS.len()`).
        known: i64,
    },
    /// No dataset of that name.
    #[error("no dataset named {0:?}")]
    UnknownDataset(String),
    /// Invalid input (e.g. a NaN metric value, an empty system name).
    #[error("{0}")]
    Invalid(String),
}

fn ctx(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Context { context, source }
}

/// The schema migrations: entry `i` brings the schema from version `i` to `i + 1`.
/// Append new entries; never edit applied ones.
pub const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
CREATE TABLE datasets (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL,
    source  TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    meta    TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE documents (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    doc_id     TEXT NOT NULL,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    PRIMARY KEY (dataset_id, doc_id)
);
CREATE TABLE queries (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    qid        TEXT NOT NULL,
    text       TEXT NOT NULL,
    PRIMARY KEY (dataset_id, qid)
);
CREATE TABLE qrels (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    qid        TEXT NOT NULL,
    doc_id     TEXT NOT NULL,
    grade      INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, qid, doc_id)
);
CREATE TABLE ner_gold (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    sent_id    TEXT NOT NULL,
    text       TEXT NOT NULL,
    tags       TEXT NOT NULL DEFAULT '[]',
    entities   TEXT NOT NULL,
    PRIMARY KEY (dataset_id, sent_id)
);
CREATE TABLE link_gold (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    ex_id      TEXT NOT NULL,
    text       TEXT NOT NULL,
    gold       TEXT NOT NULL,
    PRIMARY KEY (dataset_id, ex_id)
);
CREATE TABLE keyphrase_gold (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    doc_id     TEXT NOT NULL,
    text       TEXT NOT NULL,
    gold       TEXT NOT NULL,
    PRIMARY KEY (dataset_id, doc_id)
);
CREATE TABLE runs (
    id         INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    task       TEXT NOT NULL,
    system     TEXT NOT NULL,
    config     TEXT NOT NULL DEFAULT 'null',
    git_rev    TEXT,
    created    TEXT NOT NULL,
    timings    TEXT NOT NULL DEFAULT 'null',
    machine    TEXT NOT NULL DEFAULT 'null'
);
CREATE INDEX runs_dataset ON runs(dataset_id);
CREATE TABLE results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    qid    TEXT NOT NULL,
    rank   INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    score  REAL NOT NULL,
    PRIMARY KEY (run_id, qid, doc_id)
);
CREATE INDEX results_rank ON results(run_id, qid, rank);
CREATE TABLE predictions (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (run_id, item_id)
);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    qid    TEXT,
    name   TEXT NOT NULL,
    value  REAL NOT NULL
);
CREATE UNIQUE INDEX metrics_aggregate ON metrics(run_id, name) WHERE qid IS NULL;
CREATE UNIQUE INDEX metrics_per_query ON metrics(run_id, qid, name) WHERE qid IS NOT NULL;
"#,
];

/// The gold tables, each keyed by `dataset_id`.
const GOLD_TABLES: &[&str] = &[
    "documents",
    "queries",
    "qrels",
    "ner_gold",
    "link_gold",
    "keyphrase_gold",
];

/// A dataset row with live counts of its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Row id.
    pub id: DatasetId,
    /// Unique name.
    pub name: String,
    /// `beir`, `ner`, `link`, `keyphrase`, or `bare` (created by [`Store::save_run`] for a
    /// dataset never imported).
    pub kind: String,
    /// Where it was imported from (free text, usually a path).
    pub source: String,
    /// When it was (last) imported, RFC 3339 UTC.
    pub created: String,
    /// Import metadata (JSON object).
    pub meta: serde_json::Value,
    /// Row counts: `documents`, `queries`, `qrels`, `sentences`, `entities`, `examples`,
    /// `keyphrase_docs`, `runs` (all keys always present).
    pub counts: BTreeMap<String, i64>,
}

/// Everything recorded about one evaluation run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Dataset name; a bare dataset entry is created when no dataset has that name.
    pub dataset: String,
    /// Task (`retrieval`, `ner`, `linking`, `keyphrase`, `tn`, ...).
    pub task: String,
    /// System name.
    pub system: String,
    /// System configuration.
    pub config: serde_json::Value,
    /// Git revision of the code that produced the run (see [`git_revision`]).
    pub git_rev: Option<String>,
    /// Timings (free-form JSON, e.g. `{"index_s": 1.2, "search_s": 0.4}`).
    pub timings: serde_json::Value,
    /// Retrieval results; stored with trec_eval ranks (score descending, document id
    /// descending on ties).
    pub ranked: Option<Run>,
    /// Per-item outputs of non-retrieval tasks: (item id, JSON payload). Item ids must be
    /// unique.
    pub predictions: Vec<(String, serde_json::Value)>,
    /// Aggregate metric values. NaN is refused.
    pub metrics: BTreeMap<String, f64>,
    /// Per-query (per-item) metric values. NaN is refused.
    pub per_query: PerQuery,
}

/// A run as listed: identity and aggregate metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: i64,
    /// Dataset name.
    pub dataset: String,
    /// Task.
    pub task: String,
    /// System name.
    pub system: String,
    /// When it was saved, RFC 3339 UTC.
    pub created: String,
    /// Git revision, if recorded.
    pub git_rev: Option<String>,
    /// Aggregate metrics.
    pub metrics: BTreeMap<String, f64>,
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// File databases use write-ahead logging and wait up to 10 s for a lock.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let conn = Connection::open(path).map_err(ctx(format!("opening {label}")))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        Self::init(conn, &label)
    }

    /// Opens a private in-memory database (for tests and one-off evaluations).
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, ":memory:")
    }

    fn init(mut conn: Connection, label: &str) -> Result<Store> {
        conn.pragma_update(None, "foreign_keys", true)?;
        migrate(&mut conn, label)?;
        Ok(Store { conn })
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The underlying connection, for ad-hoc read queries (reports).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Imports (or replaces) a BEIR dataset: its corpus, all its queries and its qrels.
    /// Replacing keeps the dataset id (runs stay attached) and swaps the gold content.
    pub fn import_beir(
        &mut self,
        name: &str,
        data: &BeirDataset,
        source: &str,
    ) -> Result<DatasetId> {
        let meta = serde_json::json!({
            "queries_with_qrels": data.queries_with_qrels().len(),
            "qrels_unknown_docs": data.qrels_unknown_docs().len(),
        });
        let tx = self.conn.transaction()?;
        let id = begin_dataset(&tx, name, "beir", source, &meta)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO documents (dataset_id, doc_id, title, text) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for d in &data.corpus {
                stmt.execute(params![id, d.id, d.title, d.text])
                    .map_err(ctx(format!("inserting document {:?}", d.id)))?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO queries (dataset_id, qid, text) VALUES (?1, ?2, ?3)",
            )?;
            for q in &data.queries {
                stmt.execute(params![id, q.id, q.text])
                    .map_err(ctx(format!("inserting query {:?}", q.id)))?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO qrels (dataset_id, qid, doc_id, grade) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (qid, docs) in &data.qrels {
                for (doc, grade) in docs {
                    stmt.execute(params![id, qid, doc, grade])
                        .map_err(ctx(format!("inserting judgment {qid:?} {doc:?}")))?;
                }
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Imports (or replaces) an NER dataset (sentence ids must be unique).
    pub fn import_ner(
        &mut self,
        name: &str,
        sentences: &[NerSentence],
        source: &str,
    ) -> Result<DatasetId> {
        let types: BTreeSet<&str> = sentences
            .iter()
            .flat_map(|s| s.entities.iter().map(|e| e.label.as_str()))
            .collect();
        let meta = serde_json::json!({ "entity_types": types });
        let tx = self.conn.transaction()?;
        let id = begin_dataset(&tx, name, "ner", source, &meta)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO ner_gold (dataset_id, sent_id, text, tags, entities) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for s in sentences {
                stmt.execute(params![
                    id,
                    s.id,
                    s.text,
                    serde_json::to_string(&s.tags)?,
                    serde_json::to_string(&s.entities)?
                ])
                .map_err(ctx(format!("inserting sentence {:?}", s.id)))?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Imports (or replaces) an entity-linking dataset (example ids must be unique).
    pub fn import_link(
        &mut self,
        name: &str,
        examples: &[LinkExample],
        source: &str,
    ) -> Result<DatasetId> {
        let tx = self.conn.transaction()?;
        let id = begin_dataset(&tx, name, "link", source, &serde_json::json!({}))?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO link_gold (dataset_id, ex_id, text, gold) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for e in examples {
                stmt.execute(params![id, e.id, e.text, serde_json::to_string(&e.gold)?])
                    .map_err(ctx(format!("inserting example {:?}", e.id)))?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Imports (or replaces) a key-phrase dataset (document ids must be unique).
    pub fn import_keyphrase(
        &mut self,
        name: &str,
        docs: &[KeyphraseDoc],
        source: &str,
    ) -> Result<DatasetId> {
        let tx = self.conn.transaction()?;
        let id = begin_dataset(&tx, name, "keyphrase", source, &serde_json::json!({}))?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO keyphrase_gold (dataset_id, doc_id, text, gold) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for d in docs {
                stmt.execute(params![id, d.id, d.text, serde_json::to_string(&d.gold)?])
                    .map_err(ctx(format!("inserting document {:?}", d.id)))?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// The dataset called `name`, if any.
    pub fn dataset(&self, name: &str) -> Result<Option<DatasetInfo>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, name, kind, source, created, meta FROM datasets WHERE name = ?1",
                [name],
                dataset_row,
            )
            .optional()?;
        row.map(|r| self.with_counts(r)).transpose()
    }

    /// All datasets, by name.
    pub fn list_datasets(&self) -> Result<Vec<DatasetInfo>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, kind, source, created, meta FROM datasets ORDER BY name")?;
        let rows = stmt
            .query_map([], dataset_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| self.with_counts(r)).collect()
    }

    fn with_counts(&self, row: DatasetRow) -> Result<DatasetInfo> {
        let (id, name, kind, source, created, meta) = row;
        let counts = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM documents WHERE dataset_id = ?1),
                    (SELECT COUNT(*) FROM queries WHERE dataset_id = ?1),
                    (SELECT COUNT(*) FROM qrels WHERE dataset_id = ?1),
                    (SELECT COUNT(*) FROM ner_gold WHERE dataset_id = ?1),
                    (SELECT COALESCE(SUM(json_array_length(entities)), 0)
                       FROM ner_gold WHERE dataset_id = ?1),
                    (SELECT COUNT(*) FROM link_gold WHERE dataset_id = ?1),
                    (SELECT COUNT(*) FROM keyphrase_gold WHERE dataset_id = ?1),
                    (SELECT COUNT(*) FROM runs WHERE dataset_id = ?1)",
            [id],
            |r| {
                let names = [
                    "documents",
                    "queries",
                    "qrels",
                    "sentences",
                    "entities",
                    "examples",
                    "keyphrase_docs",
                    "runs",
                ];
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Ok((n.to_string(), r.get::<_, i64>(i)?)))
                    .collect::<rusqlite::Result<BTreeMap<_, _>>>()
            },
        )?;
        Ok(DatasetInfo {
            id,
            name,
            kind,
            source,
            created,
            meta: serde_json::from_str(&meta)?,
            counts,
        })
    }

    fn dataset_id(&self, name: &str) -> Result<DatasetId> {
        self.conn
            .query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::UnknownDataset(name.to_string()))
    }

    /// The qrels of a dataset.
    pub fn qrels(&self, dataset: &str) -> Result<Qrels> {
        let id = self.dataset_id(dataset)?;
        let mut stmt = self
            .conn
            .prepare("SELECT qid, doc_id, grade FROM qrels WHERE dataset_id = ?1")?;
        let mut rows = stmt.query([id])?;
        let mut qrels = Qrels::new();
        while let Some(r) = rows.next()? {
            qrels
                .entry(r.get(0)?)
                .or_default()
                .insert(r.get(1)?, r.get(2)?);
        }
        Ok(qrels)
    }

    /// The queries of a dataset, by id.
    pub fn queries(&self, dataset: &str) -> Result<Vec<crate::types::QueryRec>> {
        let id = self.dataset_id(dataset)?;
        let mut stmt = self
            .conn
            .prepare("SELECT qid, text FROM queries WHERE dataset_id = ?1 ORDER BY qid")?;
        let rows = stmt.query_map([id], |r| {
            Ok(crate::types::QueryRec {
                id: r.get(0)?,
                text: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The gold sentences of an NER dataset, in import order.
    pub fn ner_gold(&self, dataset: &str) -> Result<Vec<NerSentence>> {
        let id = self.dataset_id(dataset)?;
        let mut stmt = self.conn.prepare(
            "SELECT sent_id, text, tags, entities FROM ner_gold WHERE dataset_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, text, tags, entities)| {
                Ok(NerSentence {
                    id,
                    text,
                    tags: serde_json::from_str(&tags)?,
                    entities: serde_json::from_str::<Vec<EntitySpan>>(&entities)?,
                })
            })
            .collect()
    }

    /// `(id, text, json)` rows of a three-column gold table, in import order.
    fn gold_rows(
        &self,
        dataset: &str,
        table: &str,
        key: &str,
        json: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let id = self.dataset_id(dataset)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {key}, text, {json} FROM {table} WHERE dataset_id = ?1 ORDER BY rowid"
        ))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The gold examples of a linking dataset, in import order.
    pub fn link_gold(&self, dataset: &str) -> Result<Vec<LinkExample>> {
        self.gold_rows(dataset, "link_gold", "ex_id", "gold")?
            .into_iter()
            .map(|(id, text, gold)| {
                Ok(LinkExample {
                    id,
                    text,
                    gold: serde_json::from_str(&gold)?,
                })
            })
            .collect()
    }

    /// The gold documents of a key-phrase dataset, in import order.
    pub fn keyphrase_gold(&self, dataset: &str) -> Result<Vec<KeyphraseDoc>> {
        self.gold_rows(dataset, "keyphrase_gold", "doc_id", "gold")?
            .into_iter()
            .map(|(id, text, gold)| {
                Ok(KeyphraseDoc {
                    id,
                    text,
                    gold: serde_json::from_str(&gold)?,
                })
            })
            .collect()
    }

    /// Saves a run with its results, predictions and metrics in one transaction and returns
    /// its id. The creation time and [`machine_info`] are recorded with it. On any failure
    /// (an empty task or system, a NaN metric or score, a repeated prediction id, an SQLite
    /// error) nothing is written, not even the bare dataset entry.
    pub fn save_run(&mut self, run: &RunRecord) -> Result<i64> {
        if run.task.trim().is_empty() || run.system.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a run needs a task and a system name".to_string(),
            ));
        }
        let created = now_rfc3339();
        let machine = serde_json::to_string(&machine_info())?;
        let tx = self.conn.transaction()?;
        let dataset_id: Option<DatasetId> = tx
            .query_row(
                "SELECT id FROM datasets WHERE name = ?1",
                [&run.dataset],
                |r| r.get(0),
            )
            .optional()?;
        let dataset_id = match dataset_id {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO datasets (name, kind, source, created, meta) \
                     VALUES (?1, 'bare', '', ?2, '{}')",
                    params![run.dataset, created],
                )
                .map_err(ctx(format!("creating dataset {:?}", run.dataset)))?;
                tx.last_insert_rowid()
            }
        };
        tx.execute(
            "INSERT INTO runs (dataset_id, task, system, config, git_rev, created, timings, machine) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                dataset_id,
                run.task,
                run.system,
                serde_json::to_string(&run.config)?,
                run.git_rev,
                created,
                serde_json::to_string(&run.timings)?,
                machine
            ],
        )
        .map_err(ctx("inserting the run"))?;
        let run_id = tx.last_insert_rowid();
        {
            if let Some(results) = &run.ranked {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO results (run_id, qid, rank, doc_id, score) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (qid, docs) in results {
                    for (i, (doc, score)) in ranked(docs).into_iter().enumerate() {
                        if score.is_nan() {
                            return Err(StoreError::Invalid(format!(
                                "score of {doc:?} for query {qid:?} is NaN"
                            )));
                        }
                        stmt.execute(params![run_id, qid, (i + 1) as i64, doc, score])
                            .map_err(ctx(format!("inserting result {qid:?} {doc:?}")))?;
                    }
                }
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO predictions (run_id, item_id, payload) VALUES (?1, ?2, ?3)",
            )?;
            for (item, payload) in &run.predictions {
                stmt.execute(params![run_id, item, serde_json::to_string(payload)?])
                    .map_err(ctx(format!("inserting prediction {item:?}")))?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO metrics (run_id, qid, name, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let aggregate = run.metrics.iter().map(|(n, v)| (None, n, *v));
            let per_query = run
                .per_query
                .iter()
                .flat_map(|(q, m)| m.iter().map(move |(n, v)| (Some(q), n, *v)));
            for (qid, name, value) in aggregate.chain(per_query) {
                if value.is_nan() {
                    return Err(StoreError::Invalid(match qid {
                        Some(q) => format!("metric {name:?} of {q:?} is NaN"),
                        None => format!("metric {name:?} is NaN"),
                    }));
                }
                stmt.execute(params![run_id, qid, name, value])
                    .map_err(ctx(format!("inserting metric {name:?}")))?;
            }
        }
        tx.commit()?;
        Ok(run_id)
    }

    /// All runs, oldest first, with their aggregate metrics.
    pub fn list_runs(&self) -> Result<Vec<RunSummary>> {
        self.summaries(None)
    }

    /// One run's summary, if it exists.
    pub fn run(&self, id: i64) -> Result<Option<RunSummary>> {
        Ok(self.summaries(Some(id))?.into_iter().next())
    }

    fn summaries(&self, only: Option<i64>) -> Result<Vec<RunSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, d.name, r.task, r.system, r.created, r.git_rev \
             FROM runs r JOIN datasets d ON d.id = r.dataset_id \
             WHERE ?1 IS NULL OR r.id = ?1 ORDER BY r.id",
        )?;
        let mut runs = stmt
            .query_map([only], |r| {
                Ok(RunSummary {
                    id: r.get(0)?,
                    dataset: r.get(1)?,
                    task: r.get(2)?,
                    system: r.get(3)?,
                    created: r.get(4)?,
                    git_rev: r.get(5)?,
                    metrics: BTreeMap::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT run_id, name, value FROM metrics \
             WHERE qid IS NULL AND (?1 IS NULL OR run_id = ?1)",
        )?;
        let mut rows = stmt.query([only])?;
        let mut by_run: BTreeMap<i64, BTreeMap<String, f64>> = BTreeMap::new();
        while let Some(r) = rows.next()? {
            by_run
                .entry(r.get(0)?)
                .or_default()
                .insert(r.get(1)?, r.get(2)?);
        }
        for run in &mut runs {
            run.metrics = by_run.remove(&run.id).unwrap_or_default();
        }
        Ok(runs)
    }

    /// A run's per-query metric values (empty for an unknown run).
    pub fn run_per_query(&self, id: i64) -> Result<PerQuery> {
        let mut stmt = self.conn.prepare(
            "SELECT qid, name, value FROM metrics WHERE run_id = ?1 AND qid IS NOT NULL",
        )?;
        let mut rows = stmt.query([id])?;
        let mut out = PerQuery::new();
        while let Some(r) = rows.next()? {
            out.entry(r.get(0)?)
                .or_default()
                .insert(r.get(1)?, r.get(2)?);
        }
        Ok(out)
    }

    /// A run's retrieval results, each query's documents in rank order (empty for an unknown
    /// run or one without results).
    pub fn run_results(&self, id: i64) -> Result<Run> {
        let mut stmt = self.conn.prepare(
            "SELECT qid, doc_id, score FROM results WHERE run_id = ?1 ORDER BY qid, rank",
        )?;
        let mut rows = stmt.query([id])?;
        let mut out = Run::new();
        while let Some(r) = rows.next()? {
            out.entry(r.get(0)?)
                .or_default()
                .push((r.get(1)?, r.get(2)?));
        }
        Ok(out)
    }

    /// A run's predictions, in the order they were saved.
    pub fn run_predictions(&self, id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT item_id, payload FROM predictions WHERE run_id = ?1 ORDER BY rowid")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(item, payload)| Ok((item, serde_json::from_str(&payload)?)))
            .collect()
    }

    /// The whole record of a run as saved (`ranked` is `None` when it has no results), if it
    /// exists.
    pub fn load_run(&self, id: i64) -> Result<Option<RunRecord>> {
        let Some(summary) = self.run(id)? else {
            return Ok(None);
        };
        let (config, timings): (String, String) = self.conn.query_row(
            "SELECT config, timings FROM runs WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let results = self.run_results(id)?;
        Ok(Some(RunRecord {
            dataset: summary.dataset,
            task: summary.task,
            system: summary.system,
            config: serde_json::from_str(&config)?,
            git_rev: summary.git_rev,
            timings: serde_json::from_str(&timings)?,
            ranked: (!results.is_empty()).then_some(results),
            predictions: self.run_predictions(id)?,
            metrics: summary.metrics,
            per_query: self.run_per_query(id)?,
        }))
    }

    /// The machine description saved with a run, if it exists.
    pub fn run_machine(&self, id: i64) -> Result<Option<serde_json::Value>> {
        let machine: Option<String> = self
            .conn
            .query_row("SELECT machine FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        machine
            .map(|m| serde_json::from_str(&m).map_err(StoreError::from))
            .transpose()
    }

    /// Deletes a run and everything saved with it; returns whether it existed.
    pub fn delete_run(&mut self, id: i64) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM runs WHERE id = ?1", [id])? > 0)
    }
}

type DatasetRow = (DatasetId, String, String, String, String, String);

fn dataset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DatasetRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Creates the dataset row, or resets an existing one (same id) and clears its gold rows.
fn begin_dataset(
    tx: &Transaction<'_>,
    name: &str,
    kind: &str,
    source: &str,
    meta: &serde_json::Value,
) -> Result<DatasetId> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a dataset needs a name".to_string()));
    }
    let created = now_rfc3339();
    let meta = serde_json::to_string(meta)?;
    let existing: Option<DatasetId> = tx
        .query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    match existing {
        Some(id) => {
            tx.execute(
                "UPDATE datasets SET kind = ?2, source = ?3, created = ?4, meta = ?5 WHERE id = ?1",
                params![id, kind, source, created, meta],
            )?;
            for table in GOLD_TABLES {
                tx.execute(&format!("DELETE FROM {table} WHERE dataset_id = ?1"), [id])?;
            }
            Ok(id)
        }
        None => {
            tx.execute(
                "INSERT INTO datasets (name, kind, source, created, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, kind, source, created, meta],
            )
            .map_err(ctx(format!("creating dataset {name:?}")))?;
            Ok(tx.last_insert_rowid())
        }
    }
}

fn migrate(conn: &mut Connection, label: &str) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::NewerSchema {
            path: label.to_string(),
            found,
            known,
        });
    }
    if found < 0 {
        return Err(StoreError::Invalid(format!(
            "{label}: invalid schema version {found}"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)
            .map_err(ctx(format!("{label}: applying schema migration {}", i + 1)))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

/// The current time as RFC 3339 UTC with second precision (`2025-03-01T12:00:00Z`).
pub fn now_rfc3339() -> String {
    rfc3339_utc(SystemTime::now())
}

/// Formats `t` as RFC 3339 UTC with second precision (truncating sub-seconds).
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2);
            -s - i64::from(d.subsec_nanos() > 0)
        }
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A description of this machine: `os`, `arch`, `cpus` (available parallelism),
/// `cpu_model` (from `/proc/cpuinfo`), `memory_bytes` (from `/proc/meminfo`), `hostname`,
/// and the `quarry_eval` version; unknown values are null.
pub fn machine_info() -> serde_json::Value {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).ok();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = ["model name", "Hardware", "Processor", "cpu model"]
        .iter()
        .find_map(|key| proc_field(&cpuinfo, key));
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| proc_field(&m, "MemTotal"))
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb.saturating_mul(1024));
    let hostname = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .chain(
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .filter_map(|v| std::env::var(v).ok()),
        )
        .find(|s| !s.is_empty());
    serde_json::json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpus": cpus,
        "cpu_model": cpu_model,
        "memory_bytes": memory_bytes,
        "hostname": hostname,
        "quarry_eval": env!("CARGO_PKG_VERSION"),
    })
}

/// The value of the first `key : value` line of a `/proc` file.
fn proc_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}

/// The git revision of the work tree containing `dir`: `git rev-parse HEAD`, with `-dirty`
/// appended when `git status --porcelain` lists anything (untracked files included). `None`
/// when git is missing or `dir` is not in a repository.
pub fn git_revision(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let out = git(&["rev-parse", "HEAD"])?;
    let rev = String::from_utf8(out.stdout).ok()?.trim().to_string();
    if rev.is_empty() {
        return None;
    }
    let dirty = git(&["status", "--porcelain"]).is_some_and(|o| !o.stdout.trim_ascii().is_empty());
    Some(if dirty { format!("{rev}-dirty") } else { rev })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let at = |s: u64| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH - Duration::from_millis(500)),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn proc_fields() {
        let text = "processor\t: 0\nmodel name\t: Some CPU @ 2GHz\n";
        assert_eq!(
            proc_field(text, "model name").as_deref(),
            Some("Some CPU @ 2GHz")
        );
        assert_eq!(proc_field(text, "Hardware"), None);
    }
}
