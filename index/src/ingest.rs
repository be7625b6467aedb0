//! Resumable batch ingestion of JSONL files.
//!
//! Documents are read with [`quarry_core::jsonl::JsonlReader`], passed through the
//! configured pipeline in batches, and added to the index. An id already in the index is
//! replaced (so re-running a job is idempotent); an id seen twice in the same job is an
//! error for the second line. Bad lines are collected in the report and skipped, unless
//! `strict` is set, in which case the first one stops the job and rolls back everything
//! since the last commit.
//!
//! Every `commit_every` documents the writer commits, and the commit's payload records how
//! far into each source file the job got. `resume` continues from there.

use crate::{IndexError, QuarryIndex};
use quarry_core::jsonl::{InputError, JsonlReader};
use quarry_core::{Document, Pipeline};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;
use tantivy::{IndexWriter, TantivyDocument, Term};

/// Ingestion options.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Stop at the first bad line.
    pub strict: bool,
    /// Continue from the last checkpoint of this file.
    pub resume: bool,
    /// Documents between commits (checkpoints).
    pub commit_every: usize,
    /// Documents per pipeline batch.
    pub batch_size: usize,
    /// Writer memory budget in bytes.
    pub writer_memory: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            strict: false,
            resume: false,
            commit_every: 5000,
            batch_size: 64,
            writer_memory: 100 << 20,
        }
    }
}

/// What an ingestion did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Source file.
    pub source: String,
    /// Non-blank lines read in this run.
    pub lines: u64,
    /// Documents indexed (new or replacing an older version).
    pub indexed: u64,
    /// Documents that replaced one with the same id already in the index.
    pub replaced: u64,
    /// Bad lines (skipped).
    pub errors: Vec<InputError>,
    /// The line the run started after, when resuming.
    pub resumed_after_line: Option<u64>,
    /// True when a resumed file had already been fully ingested.
    pub already_complete: bool,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Live documents in the index afterwards.
    pub total_docs: u64,
}

/// Progress of one source, stored in commit payloads.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Byte offset after the last committed line.
    pub offset: u64,
    /// Last committed line number.
    pub line: u64,
    /// Source size when the checkpoint was taken.
    pub size: u64,
    /// Whether the whole file was ingested.
    pub done: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Payload {
    #[serde(default)]
    sources: BTreeMap<String, Checkpoint>,
}

fn source_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

impl QuarryIndex {
    /// The checkpoints recorded in the last commit.
    pub fn checkpoints(&self) -> BTreeMap<String, Checkpoint> {
        self.index()
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok())
            .map(|p| p.sources)
            .unwrap_or_default()
    }

    /// The checkpoint of one source file, if any.
    pub fn checkpoint(&self, path: &Path) -> Option<Checkpoint> {
        self.checkpoints().remove(&source_key(path))
    }

    /// tantivy documents for a batch, expanded by the sparse encoder when sparse retrieval
    /// is attached. An index whose directory records sparse settings refuses documents
    /// without expansion.
    pub fn to_tantivy_batch(&self, docs: &[Document]) -> Result<Vec<TantivyDocument>, IndexError> {
        let Some(st) = self.sparse_state() else {
            if let Some(s) = self.stored_sparse_settings()? {
                return Err(IndexError::Query(format!(
                    "this index expands documents with the sparse model '{}': ingest with --sparse \
                     (the model must be fetched: quarry models fetch)",
                    s.model
                )));
            }
            return Ok(docs.iter().map(|d| self.to_tantivy(d)).collect());
        };
        let exp = st.expander.as_ref().ok_or_else(|| {
            IndexError::Query(format!(
                "this index expands documents with '{}', but no encoder is loaded (quarry models fetch)",
                st.settings.model
            ))
        })?;
        let texts: Vec<String> = docs.iter().map(QuarryIndex::expansion_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let out = exp
            .expand(&refs)
            .map_err(|e| IndexError::Query(format!("sparse encoder {}: {e}", exp.name())))?;
        if out.len() != docs.len() {
            return Err(IndexError::Query(format!(
                "sparse encoder returned {} vectors for {} documents",
                out.len(),
                docs.len()
            )));
        }
        Ok(docs
            .iter()
            .zip(out)
            .map(|(d, (v, ids))| {
                let imp = crate::sparse::to_impacts(&v, &st.settings);
                self.to_tantivy_expanded(d, Some((&imp, &ids)))
            })
            .collect())
    }

    /// Deletes documents by id and commits; returns how many of the ids were present.
    pub fn delete_documents(&self, ids: &[&str], writer_memory: usize) -> Result<u64, IndexError> {
        let searcher = self.searcher();
        let mut w: IndexWriter = self.index().writer(writer_memory.max(15 << 20))?;
        let mut n = 0;
        for id in ids {
            let term = Term::from_field_text(self.fields().id, id);
            if searcher.doc_freq(&term).unwrap_or(0) > 0 {
                n += 1;
            }
            w.delete_term(term);
        }
        w.commit()?;
        self.reload()?;
        Ok(n)
    }

    /// Adds (or replaces) documents and commits; for callers that do not read files.
    pub fn add_documents(&self, docs: &[Document], writer_memory: usize) -> Result<(), IndexError> {
        let mut w: IndexWriter = self.index().writer(writer_memory.max(15 << 20))?;
        let tdocs = self.to_tantivy_batch(docs)?;
        for (d, t) in docs.iter().zip(tdocs) {
            w.delete_term(Term::from_field_text(self.fields().id, &d.id));
            w.add_document(t)?;
        }
        w.commit()?;
        self.reload()
    }
}

/// Ingests one JSONL file. `progress` is called with the byte offset reached and the number
/// of documents indexed so far in this run.
pub fn ingest_file(
    index: &QuarryIndex,
    path: &Path,
    pipeline: &Pipeline,
    opts: &IngestOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<IngestReport, IndexError> {
    let started = Instant::now();
    let key = source_key(path);
    let io = |context: String| move |e: std::io::Error| IndexError::Io { context, source: e };
    let mut file = std::fs::File::open(path).map_err(io(format!("open {}", path.display())))?;
    let size = file
        .metadata()
        .map_err(io(format!("stat {}", path.display())))?
        .len();
    let mut report = IngestReport {
        source: path.display().to_string(),
        ..Default::default()
    };
    let mut payload = Payload {
        sources: index.checkpoints(),
    };
    let (start_line, start_offset) = match payload.sources.get(&key) {
        Some(cp) if opts.resume => {
            if cp.size != size && cp.offset > size {
                tracing::warn!(
                    "{} shrank since the checkpoint: starting over",
                    path.display()
                );
                (0, 0)
            } else if cp.done && cp.size == size {
                report.already_complete = true;
                report.total_docs = index.num_docs();
                return Ok(report);
            } else {
                report.resumed_after_line = Some(cp.line);
                (cp.line, cp.offset)
            }
        }
        _ => (0, 0),
    };
    file.seek(SeekFrom::Start(start_offset))
        .map_err(io(format!("seek {}", path.display())))?;
    let reader = JsonlReader::resume(
        BufReader::with_capacity(1 << 20, file),
        start_line,
        start_offset,
    );

    let mut writer: IndexWriter = index.index().writer(opts.writer_memory.max(15 << 20))?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<Document> = Vec::with_capacity(opts.batch_size);
    let mut last_line = start_line;
    let mut last_offset = start_offset;
    let mut since_commit = 0usize;
    let searcher = index.searcher();

    let flush = |batch: &mut Vec<Document>,
                 writer: &mut IndexWriter,
                 report: &mut IngestReport|
     -> Result<(), IndexError> {
        if batch.is_empty() {
            return Ok(());
        }
        pipeline.run(batch)?;
        let tdocs = index.to_tantivy_batch(batch)?;
        for (d, t) in batch.drain(..).zip(tdocs) {
            let term = Term::from_field_text(index.fields().id, &d.id);
            if searcher.doc_freq(&term).unwrap_or(0) > 0 {
                report.replaced += 1;
            }
            writer.delete_term(term);
            writer.add_document(t)?;
            report.indexed += 1;
        }
        Ok(())
    };

    let commit = |writer: &mut IndexWriter,
                  payload: &mut Payload,
                  cp: Checkpoint|
     -> Result<(), IndexError> {
        payload.sources.insert(key.clone(), cp);
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(payload).expect("payload serializes"));
        prepared.commit()?;
        Ok(())
    };

    // A bad line: in strict mode, roll back and stop; otherwise record it and go on.
    let reject = |e: InputError,
                  writer: &mut IndexWriter,
                  report: &mut IngestReport|
     -> Result<(), IndexError> {
        if opts.strict {
            writer.rollback()?;
            return Err(IndexError::Input {
                path: path.display().to_string(),
                line: e.line,
                message: e.message,
            });
        }
        tracing::warn!("{}:{}: {}", path.display(), e.line, e.message);
        report.errors.push(e);
        Ok(())
    };

    for item in reader {
        report.lines += 1;
        match item {
            Err(e) => reject(e, &mut writer, &mut report)?,
            Ok(rd) => {
                if let Some(first) = seen.get(&rd.doc.id) {
                    let e = InputError {
                        line: rd.line,
                        message: format!(
                            "duplicate id '{}' (first seen on line {first})",
                            rd.doc.id
                        ),
                    };
                    reject(e, &mut writer, &mut report)?;
                } else {
                    seen.insert(rd.doc.id.clone(), rd.line);
                    batch.push(rd.doc);
                    since_commit += 1;
                }
                last_line = rd.line;
                last_offset = rd.end_offset;
                if batch.len() >= opts.batch_size {
                    flush(&mut batch, &mut writer, &mut report)?;
                    progress(last_offset, report.indexed);
                }
                if since_commit >= opts.commit_every.max(1) {
                    flush(&mut batch, &mut writer, &mut report)?;
                    commit(
                        &mut writer,
                        &mut payload,
                        Checkpoint {
                            offset: last_offset,
                            line: last_line,
                            size,
                            done: false,
                        },
                    )?;
                    since_commit = 0;
                }
            }
        }
    }
    flush(&mut batch, &mut writer, &mut report)?;
    commit(
        &mut writer,
        &mut payload,
        Checkpoint {
            offset: size.max(last_offset),
            line: last_line,
            size,
            done: true,
        },
    )?;
    progress(size, report.indexed);
    index.reload()?;
    report.total_docs = index.num_docs();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
