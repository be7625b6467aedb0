//! The dense candidate generator: every name and synonym of a terminology embedded by a
//! sentence encoder (all-MiniLM-L6-v2 or JobBERT's own for English, multilingual-e5-small
//! for Chinese; any [`Embedder`]), searched exactly by inner product (the vectors are
//! unit length, so this is cosine). A concept scores as its best name, as in [`crate::ngram`].
//!
//! Exact search is a matrix-vector product over all names: 32,964 ESCO names x 384
//! dimensions is 12.7 M multiply-adds, a few milliseconds, so no approximate index is needed
//! at this size (and its recall loss would land straight on the candidate ceiling).
//!
//! Embedding a terminology takes a minute on two cores; the matrix is cached on disk, keyed
//! by a hash of the model name and every name, so a changed terminology or model is never
//! served stale vectors.

use crate::ngram::{top_k, Candidate};
use crate::terminology::Terminology;
use crate::LinkError;
use quarry_models::embed::Embedder;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Magic bytes of a cached embedding matrix.
const MAGIC: &[u8; 8] = b"QLDENSE1";

/// Unit-length embeddings of every name of a terminology.
#[derive(Debug, Clone)]
pub struct DenseIndex {
    dim: usize,
    /// Row-major, one row per name, `names.len() * dim`.
    vectors: Vec<f32>,
    /// (concept, name index within the concept) of each row.
    names: Vec<(u32, u32)>,
    concepts: usize,
    model: String,
}

/// The rows of `terminology`: (concept, name index, text) for every name, in order.
fn rows(terminology: &Terminology) -> Vec<(u32, u32, &str)> {
    terminology
        .concepts()
        .iter()
        .enumerate()
        .flat_map(|(c, concept)| {
            concept
                .names()
                .enumerate()
                .map(move |(n, text)| (c as u32, n as u32, text))
        })
        .collect()
}

/// The cache key: model name and every name of the terminology.
fn fingerprint(model: &str, terminology: &Terminology) -> String {
    let mut h = Sha256::new();
    h.update(model.as_bytes());
    h.update([0]);
    h.update(terminology.name().as_bytes());
    for (c, n, text) in rows(terminology) {
        h.update(c.to_le_bytes());
        h.update(n.to_le_bytes());
        h.update(text.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..12])
}

impl DenseIndex {
    /// Embeds every name of `terminology` with `embedder`, `batch` names a call;
    /// `progress(done, total)` is called after each call.
    pub fn build(
        terminology: &Terminology,
        embedder: &dyn Embedder,
        batch: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Self, LinkError> {
        let rows = rows(terminology);
        let mut vectors = Vec::new();
        let mut dim = 0;
        for (i, chunk) in rows.chunks(batch.max(1)).enumerate() {
            let texts: Vec<&str> = chunk.iter().map(|r| r.2).collect();
            for v in embedder.embed(&texts).map_err(LinkError::model)? {
                if dim == 0 {
                    dim = v.len();
                }
                if v.len() != dim || dim == 0 {
                    return Err(LinkError::Model(format!(
                        "{} gave vectors of {} and {dim} dimensions",
                        embedder.name(),
                        v.len()
                    )));
                }
                vectors.extend_from_slice(&v);
            }
            progress(((i + 1) * batch).min(rows.len()), rows.len());
        }
        Ok(DenseIndex {
            dim,
            vectors,
            names: rows.iter().map(|r| (r.0, r.1)).collect(),
            concepts: terminology.len(),
            model: embedder.name().to_string(),
        })
    }

    /// [`DenseIndex::build`] through a cache directory: the matrix is read from
    /// `cache_dir` when a file for this model and these exact names is there, else built
    /// and written (atomically, through a temporary file).
    pub fn cached(
        terminology: &Terminology,
        embedder: &dyn Embedder,
        cache_dir: &Path,
        batch: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self, LinkError> {
        let path = Self::cache_path(terminology, embedder.name(), cache_dir);
        if path.is_file() {
            match Self::read(&path, terminology, embedder.name()) {
                Ok(idx) => return Ok(idx),
                Err(e) => tracing::warn!("ignoring the dense cache {}: {e}", path.display()),
            }
        }
        let idx = Self::build(terminology, embedder, batch, progress)?;
        idx.write(&path)?;
        Ok(idx)
    }

    /// Where [`DenseIndex::cached`] keeps the matrix of `terminology` under `model`.
    pub fn cache_path(terminology: &Terminology, model: &str, cache_dir: &Path) -> PathBuf {
        let safe: String = format!("{}-{}", terminology.name(), model)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        cache_dir.join(format!("{safe}-{}.f32", fingerprint(model, terminology)))
    }

    /// Writes the matrix to `path` (header, then little-endian f32 rows).
    pub fn write(&self, path: &Path) -> Result<(), LinkError> {
        let io = |source| LinkError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        let mut buf = Vec::with_capacity(24 + self.vectors.len() * 4);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&(self.dim as u64).to_le_bytes());
        buf.extend_from_slice(&(self.names.len() as u64).to_le_bytes());
        for x in &self.vectors {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&buf).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a matrix written by [`DenseIndex::write`] for `terminology`; an error when the
    /// file is truncated or its shape does not fit the terminology.
    pub fn read(path: &Path, terminology: &Terminology, model: &str) -> Result<Self, LinkError> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|source| LinkError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let bad = |message: String| LinkError::Parse {
            path: path.to_path_buf(),
            line: 0,
            message,
        };
        if bytes.len() < 24 || &bytes[..8] != MAGIC {
            return Err(bad("not a dense embedding cache".into()));
        }
        let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let (dim, n) = (word(8) as usize, word(16) as usize);
        let rows = rows(terminology);
        if n != rows.len() || dim == 0 || bytes.len() != 24 + n.saturating_mul(dim) * 4 {
            return Err(bad(format!(
                "{n} rows of {dim} in {} bytes; the terminology has {} names",
                bytes.len(),
                rows.len()
            )));
        }
        let vectors = bytes[24..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Ok(DenseIndex {
            dim,
            vectors,
            names: rows.iter().map(|r| (r.0, r.1)).collect(),
            concepts: terminology.len(),
            model: model.to_string(),
        })
    }

    /// Embedding dimensions.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Rows (names and synonyms) in the matrix.
    pub fn rows(&self) -> usize {
        self.names.len()
    }

    /// The encoder's name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Heap size of the matrix and its row table, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.vectors.capacity() * 4 + self.names.capacity() * 8
    }

    /// Cosine of `query` (unit length) with every name of `concept`, best taken; None when
    /// the concept has no row.
    pub fn concept_score(&self, query: &[f32], concept: u32) -> Option<(f32, u32)> {
        let start = self.names.partition_point(|r| r.0 < concept);
        self.names[start..]
            .iter()
            .take_while(|r| r.0 == concept)
            .enumerate()
            .map(|(i, r)| (self.row_dot(start + i, query), r.1))
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
    }

    fn row_dot(&self, row: usize, query: &[f32]) -> f32 {
        dot8(&self.vectors[row * self.dim..(row + 1) * self.dim], query)
    }

    /// Every concept's best-name cosine with `query` (a unit-length embedding of `dim`
    /// dimensions) and that name's index, by concept index: one pass over the matrix, ties
    /// to the earlier name. Empty when `query` has another dimension.
    pub fn scores(&self, query: &[f32]) -> Vec<(f32, u32)> {
        if query.len() != self.dim {
            return Vec::new();
        }
        let mut best: Vec<(f32, u32)> = vec![(f32::NEG_INFINITY, 0); self.concepts];
        for (row, &(c, n)) in self.names.iter().enumerate() {
            let s = self.row_dot(row, query);
            let b = &mut best[c as usize];
            if s > b.0 {
                *b = (s, n);
            }
        }
        best
    }

    /// The `k` best of [`DenseIndex::scores`], best first; ties to the lower concept.
    pub fn top(scores: &[(f32, u32)], k: usize) -> Vec<Candidate> {
        top_k(
            scores
                .iter()
                .enumerate()
                .filter(|(_, (s, _))| s.is_finite())
                .map(|(c, &(score, name))| Candidate {
                    concept: c as u32,
                    name,
                    score,
                }),
            k,
        )
    }

    /// The `k` concepts nearest to `query` (a unit-length embedding of `dim` dimensions),
    /// best first, each scored by its best name; ties to the lower concept.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<Candidate> {
        if k == 0 {
            return Vec::new();
        }
        Self::top(&self.scores(query), k)
    }
}

/// Dot product in eight independent lanes (which the compiler turns into SIMD; a plain
/// `zip().sum()` of floats must keep its order and stays scalar).
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminology::Concept;

    fn term() -> Terminology {
        let c = |id: &str, name: &str, syn: &[&str]| Concept {
            id: id.into(),
            name: name.into(),
            synonyms: syn.iter().map(|s| s.to_string()).collect(),
            parent: None,
        };
        Terminology::new(
            "t",
            vec![
                c("a", "alpha", &["first"]),
                c("b", "beta", &[]),
                c("c", "gamma", &["third", "last"]),
            ],
        )
        .unwrap()
    }

    /// An index over hand-made 2-d unit vectors, one per name in row order.
    fn index(t: &Terminology, angles: &[f32]) -> DenseIndex {
        let rows = rows(t);
        assert_eq!(rows.len(), angles.len());
        DenseIndex {
            dim: 2,
            vectors: angles.iter().flat_map(|a| [a.cos(), a.sin()]).collect(),
            names: rows.iter().map(|r| (r.0, r.1)).collect(),
            concepts: t.len(),
            model: "test".into(),
        }
    }

    #[test]
    fn search_is_brute_force_best_name_per_concept() {
        let t = term();
        // alpha, first, beta, gamma, third, last
        let idx = index(&t, &[0.0, 1.5, 0.7, 3.0, 0.2, 2.0]);
        let q = [0.25f32.cos(), 0.25f32.sin()];
        let got = idx.search(&q, 3);
        let mut want: Vec<(u32, f32)> = (0..3u32)
            .map(|c| (c, idx.concept_score(&q, c).unwrap().0))
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(got.iter().map(|c| c.concept).collect::<Vec<_>>(), [2, 0, 1]);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.concept, w.0);
            assert!((g.score - w.1).abs() < 1e-6);
        }
        // gamma's best name is its synonym "third" (angle 0.2, nearest to 0.25)
        assert_eq!(got[0].name, 1);
        assert!(idx.search(&[1.0], 3).is_empty(), "wrong dimension");
        assert!(idx.search(&q, 0).is_empty());
    }

    #[test]
    fn dot8_matches_the_plain_sum() {
        for n in [0, 1, 7, 8, 9, 384, 389] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot8(&a, &b) - plain).abs() < 1e-4, "{n}");
        }
    }

    #[test]
    fn cache_round_trips_and_rejects_a_mismatch() {
        let t = term();
        let idx = index(&t, &[0.0, 1.5, 0.7, 3.0, 0.2, 2.0]);
        let dir = tempfile::tempdir().unwrap();
        let p = DenseIndex::cache_path(&t, "test", dir.path());
        idx.write(&p).unwrap();
        let back = DenseIndex::read(&p, &t, "test").unwrap();
        assert_eq!(back.vectors, idx.vectors);
        assert_eq!(back.names, idx.names);
        // another terminology has another key, and its shape does not fit this file
        let mut other = t.concepts().to_vec();
        other.pop();
        let other = Terminology::new("t", other).unwrap();
        assert_ne!(DenseIndex::cache_path(&other, "test", dir.path()), p);
        let e = DenseIndex::read(&p, &other, "test")
            .unwrap_err()
            .to_string();
        assert!(e.contains("names"), "{e}");
        std::fs::write(&p, b"QLDENSE1short").unwrap();
        assert!(DenseIndex::read(&p, &t, "test").is_err());
    }
}
