//! The server's write-ahead log: an accepted ingestion batch is written here (and synced to
//! disk) before `POST /v1/documents` answers `202`, and removed once its documents are
//! committed to the index. A restart replays what is left, in order, before serving.
//!
//! One file per batch, `<seq>.jsonl` (zero-padded, so names sort by sequence), one
//! [`Document`] per line as received (before the pipeline). A file is written under a
//! temporary name, synced, renamed and the directory synced, so after a crash a file is
//! either whole or absent; temporary leftovers were never acknowledged and are removed.
//! Replaying a batch that was committed just before the crash (file not yet removed) is
//! harmless: ingestion replaces documents by id, so every document ends up present once.

use quarry_core::Document;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The write-ahead log directory.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
}

/// A batch found in the log at startup.
#[derive(Debug)]
pub struct PendingBatch {
    /// Sequence number (from the file name).
    pub seq: u64,
    /// The file.
    pub path: PathBuf,
    /// The documents, as received.
    pub docs: Vec<Document>,
}

/// A log file that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Reading or writing failed.
    #[error("write-ahead log {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A line is not a document (the file was not written by this log).
    #[error("write-ahead log {path}, line {line}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Wal {
    /// Opens (creating) the log directory.
    pub fn open(dir: &Path) -> Result<Self, WalError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.jsonl"))
    }

    /// Writes a batch durably; when this returns `Ok`, a crash no longer loses it.
    pub fn append(&self, seq: u64, docs: &[Document]) -> Result<PathBuf, WalError> {
        let path = self.file(seq);
        let tmp = self.dir.join(format!("{seq:020}.tmp"));
        let mut buf = Vec::with_capacity(docs.len() * 256);
        for d in docs {
            serde_json::to_writer(&mut buf, d).map_err(|e| WalError::Io {
                path: tmp.clone(),
                source: e.into(),
            })?;
            buf.push(b'\n');
        }
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(&buf).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        self.sync_dir()?;
        Ok(path)
    }

    /// Removes a batch once it is committed.
    pub fn remove(&self, path: &Path) -> Result<(), WalError> {
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(path)(e)),
        }
    }

    fn sync_dir(&self) -> Result<(), WalError> {
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(())
    }

    /// The batches not yet committed, oldest first; removes temporary files left by a crash
    /// (never acknowledged).
    pub fn pending(&self) -> Result<Vec<PendingBatch>, WalError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let path = entry.map_err(io(&self.dir))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".tmp") {
                fs::remove_file(&path).map_err(io(&path))?;
                continue;
            }
            let Some(seq) = name
                .strip_suffix(".jsonl")
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let f = File::open(&path).map_err(io(&path))?;
            let mut docs = Vec::new();
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(io(&path))?;
                if line.trim().is_empty() {
                    continue;
                }
                docs.push(serde_json::from_str::<Document>(&line).map_err(|e| {
                    WalError::Corrupt {
                        path: path.clone(),
                        line: i + 1,
                        message: e.to_string(),
                    }
                })?);
            }
            out.push(PendingBatch { seq, path, docs });
        }
        out.sort_by_key(|b| b.seq);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::Lang;

    fn doc(id: &str, text: &str) -> Document {
        Document::new(id)
            .with_field("title", "T")
            .with_field("body", text)
            .with_lang(Lang::En)
    }

    #[test]
    fn batches_come_back_in_order_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(&dir.path().join("wal")).unwrap();
        let b2 = vec![doc("b", "two"), doc("c", "三")];
        let b10 = vec![doc("a", "ten")];
        let p10 = wal.append(10, &b10).unwrap();
        wal.append(2, &b2).unwrap();
        // a crash while writing leaves a temporary file: never acknowledged, dropped
        std::fs::write(wal.dir().join("00000000000000000011.tmp"), "{\"partial").unwrap();
        let pending = wal.pending().unwrap();
        assert_eq!(
            pending.iter().map(|b| b.seq).collect::<Vec<_>>(),
            vec![2, 10]
        );
        assert_eq!(pending[0].docs, b2);
        assert_eq!(pending[1].docs, b10);
        assert!(!wal.dir().join("00000000000000000011.tmp").exists());
        wal.remove(&p10).unwrap();
        wal.remove(&p10).unwrap(); // removing twice is fine
        assert_eq!(wal.pending().unwrap().len(), 1);
    }

    proptest::proptest! {
        /// Whatever a log file holds (a crash, a disk error, someone's editor), reading the
        /// log gives batches or a clear error, never a panic.
        #[test]
        fn any_file_content_reads_or_errors(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let dir = tempfile::tempdir().unwrap();
            let wal = Wal::open(dir.path()).unwrap();
            std::fs::write(dir.path().join("00000000000000000001.jsonl"), &bytes).unwrap();
            match wal.pending() {
                Ok(b) => proptest::prop_assert!(b.len() == 1),
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("00000000000000000001.jsonl"), "not json\n").unwrap();
        let e = wal.pending().unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
