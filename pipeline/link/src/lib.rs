//! # quarry-link
//!
//! Entity normalization: map a mention ("左膝退变伴游离体", "Snr Java Dev") to concepts of a
//! terminology. Two parts so far:
//!
//! * [`terminology`]: concepts (id, preferred name, synonyms, parent) loaded from the
//!   shared terminologies: ICD-10 Beijing clinical v601 (Chinese diagnoses, CHIP-CDN's
//!   target), ICD-9-CM3 procedure names, ESCO occupations with their alternative labels,
//!   O*NET occupations with alternate and reported titles.
//! * [`ngram`]: the cheap candidate generator: character n-gram TF-IDF over every name and
//!   synonym, cosine similarity through an inverted index, scores merged per concept (a
//!   concept scores as its best-matching name). Exact and brute-force paths agree (tests).
//!
//! * [`dense`]: the semantic generator: every name embedded by a sentence encoder
//!   (all-MiniLM-L6-v2, English), exact inner-product search; fused with the n-gram scores
//!   by [`Generator::Ensemble`].
//!
//! [`task`] ties a linking task (CHIP-CDN, procedures, JobBERT) to its terminology and says
//! whether its gold names concepts by preferred name or by id.
//!
//! Texts are folded by [`quarry_normalize`]'s default chain (width, NFKC, punctuation,
//! traditional -> simplified, case) before n-grams are taken, on both sides.

pub mod dense;
pub mod linker;
pub mod multi;
pub mod ngram;
pub mod rank;
pub mod stage;
pub mod task;
pub mod terminology;

pub use dense::DenseIndex;
pub use linker::{
    Generator, Linked, Linker, System, DEFAULT_NGRAM_WEIGHT, DENSE_MODEL, DENSE_MODEL_ZH,
};
pub use multi::SetRule;
pub use ngram::{Candidate, NgramConfig, NgramIndex};
pub use rank::Ranker;
pub use task::Task;
pub use terminology::{Concept, LabelledMention, MemoryStats, Terminology, TerminologySource};

use std::path::PathBuf;

/// Why a terminology or a linker could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A terminology file is missing or unreadable.
    #[error("cannot read {path}: {source} (the shared data lives in $QUARRY_SHARED_DATA or ../shared/data; see its SOURCES.md)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A terminology file is malformed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the whole file).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// An unknown terminology or task name.
    #[error("unknown {what} {name:?}; known: {known}")]
    Unknown {
        /// `terminology` or `task`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The names accepted.
        known: String,
    },
    /// A DAHSF forest could not be loaded.
    #[error("DAHSF forest {0}")]
    Forest(String),
    /// A terminology without any concept.
    #[error("terminology {0} has no concepts")]
    Empty(String),
    /// A model (dense encoder, cross-encoder) is missing or failed.
    #[error("{0}")]
    Model(String),
}

impl LinkError {
    /// A model error, with its message (which says how to get a missing model).
    pub fn model(e: quarry_models::ModelError) -> Self {
        LinkError::Model(e.to_string())
    }
}
