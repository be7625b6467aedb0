//! # quarry-ner
//!
//! Chinese clinical named-entity recognition, run in Rust: a character BiLSTM with
//! SoftLexicon features exported to ONNX (int8) by `models/recipes/ner/`, and a CRF decoded
//! here. The artifact format is `models/recipes/ner/FORMAT.md`; the Python reference of the
//! features is `models/recipes/ner/features.py` (a test holds both to the same tensors).
//!
//! * [`lexicon`]: `lexicon.tsv` and all-occurrence matching on folded characters (the
//!   shared [`quarry_core::matcher::OverlapMatcher`]).
//! * [`features`]: the character fold, char ids, SoftLexicon ids/weights, padded batches
//!   as `ndarray` tensors.
//! * [`crf`]: Viterbi (f32, FORMAT.md), forward-backward marginals (confidences), chunking.
//! * [`split`]: cutting long texts at sentence, then clause boundaries.
//! * [`model`]: name resolution, [`NerModel::load`] / [`NerModel::predict`].
//! * [`stage`]: the `ner` pipeline stage.
//!
//! ```no_run
//! use quarry_ner::{NerModel, NerOptions};
//! let model = NerModel::load("ner-clinical-zh", &NerOptions::default())?;
//! for e in model.predict_one("肝右叶见一低密度影")? {
//!     println!("{}..{} {} {} {:.2}", e.start, e.end, e.label, e.text, e.confidence);
//! }
//! # Ok::<(), quarry_ner::NerError>(())
//! ```

#![warn(missing_docs)]

pub mod artifacts;
pub mod crf;
pub mod error;
pub mod features;
pub mod lexicon;
pub mod model;
pub mod split;
pub mod stage;

pub use error::NerError;
pub use model::{
    resolve, search_paths, Entity, NerConfig, NerModel, NerOptions, ResolvedNer, Variant,
    DEFAULT_MODEL,
};
