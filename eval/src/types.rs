//! Shared data shapes of gold data and system output.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Graded relevance judgments: query id -> document id -> grade (> 0 is relevant;
/// 0 or negative is judged non-relevant, as in trec_eval).
pub type Qrels = BTreeMap<String, BTreeMap<String, i32>>;

/// A retrieval run: query id -> (document id, score) pairs. Order does not matter:
/// metrics rank by score descending and break ties by document id descending, exactly as
/// trec_eval does.
pub type Run = BTreeMap<String, Vec<(String, f64)>>;

/// A metric value per query: query id -> metric name -> value.
pub type PerQuery = BTreeMap<String, BTreeMap<String, f64>>;

/// A document of a retrieval dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusDoc {
    /// Document id.
    pub id: String,
    /// Title (may be empty).
    pub title: String,
    /// Text.
    pub text: String,
}

/// A query of a retrieval dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRec {
    /// Query id.
    pub id: String,
    /// Query text.
    pub text: String,
}

/// An entity span: character offsets `start..end` (end exclusive) and a type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntitySpan {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Entity type.
    pub label: String,
}

/// A sentence with gold (or predicted) entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NerSentence {
    /// Sentence id (file:line or the dataset's id).
    pub id: String,
    /// The sentence text (for BIO input: the characters joined without separator).
    pub text: String,
    /// Per-character tags when read from BIO (kept for seqeval-compatible scoring).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Entities.
    pub entities: Vec<EntitySpan>,
}

/// A linking example: a mention text and its gold concept set (multi-concept allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkExample {
    /// Example id.
    pub id: String,
    /// Mention / source text.
    pub text: String,
    /// Gold concepts (names or codes).
    pub gold: BTreeSet<String>,
}

/// A system's ranked linking candidates for one example; each candidate is a concept set.
pub type LinkPrediction = Vec<BTreeSet<String>>;

/// A key-phrase document with its gold phrases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyphraseDoc {
    /// Document id (file stem).
    pub id: String,
    /// Text.
    pub text: String,
    /// Gold key phrases.
    pub gold: Vec<String>,
}

/// A gold entity of a co-reference document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldCluster {
    /// The cluster's key in its source file.
    pub key: String,
    /// Entity type (PERSON, ORG, ANATOMY, ...).
    pub kind: String,
    /// The canonical form.
    pub canonical: String,
    /// Mentions, character spans of the text.
    pub mentions: Vec<quarry_core::document::Span>,
}

/// A co-reference document with its gold entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorefDoc {
    /// Document id.
    pub id: String,
    /// Language code (`en`, `zh`).
    pub lang: String,
    /// Category (news section or note kind).
    pub category: String,
    /// Text.
    pub text: String,
    /// Gold entities, singletons included.
    pub clusters: Vec<GoldCluster>,
}

/// A text-normalization case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TnCase {
    /// Where it came from (file:line).
    pub id: String,
    /// Category (from the file name, e.g. `cardinal`, `date`).
    pub category: String,
    /// Input text.
    pub input: String,
    /// Expected output.
    pub expected: String,
}

/// A location-carrying import error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{file}:{line}: {message}")]
pub struct ImportError {
    /// File path.
    pub file: String,
    /// 1-based line (0 when the whole file is at fault).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}
