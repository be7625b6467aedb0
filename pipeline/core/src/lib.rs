//! # quarry-core
//!
//! The bottom of Quarry's dependency graph. It holds what every other crate shares:
//!
//! * [`Document`]: an id, a language, named text fields and annotations whose spans are
//!   character offsets into the *original* field text.
//! * [`OffsetMap`] / [`NormalizedText`]: a normalized text together with a map from every
//!   normalized character back to the original characters it came from.
//! * [`Stage`] and [`Pipeline`]: the one trait every processing stage implements, and a
//!   pipeline assembled by name from a [`config::QuarryConfig`].
//! * [`matcher`]: all overlapping occurrences of dictionary words, with character offsets
//!   (shared by lexicon-feature and dictionary stages).
//! * [`jsonl`]: a line-numbered, lossless JSONL document reader that reports bad lines
//!   instead of panicking or aborting.
//!
//! Nothing here depends on models, indexes or the network.

pub mod config;
pub mod document;
pub mod jsonl;
pub mod lang;
pub mod matcher;
pub mod offsets;
pub mod phrase;
pub mod shared_data;
pub mod stage;

pub use config::QuarryConfig;
pub use document::{Annotation, Document, Field, Span};
pub use lang::Lang;
pub use offsets::{NormalizedText, OffsetMap};
pub use stage::{Pipeline, Stage, StageError, StageRegistry};
