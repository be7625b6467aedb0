//! # quarry-normalize
//!
//! Normalization decides what the NER, the linker and the index see. Three parts:
//!
//! * [`chain`] and [`normalizers`]: a lossless chain of small normalizers (NFKC, width,
//!   case, whitespace/punctuation, traditional -> simplified Chinese), each gated by script,
//!   each producing a [`quarry_core::NormalizedText`] whose offset map leads back to the
//!   original characters.
//! * [`tn`]: Chinese text normalization for clinical text (numbers, measurements, sizes,
//!   dates, times, percentages, ranges, fractions), written -> spoken (TN) and spoken ->
//!   written (ITN).
//! * [`dahsf`]: a DAHSF-style engine (Digestion Algorithm in Hierarchical Symbolic Forests):
//!   layered forests of synonym classes matched longest-first, typed data words, and
//!   sentence frameworks producing frames.
//! * [`stage`]: the `normalize` pipeline stage tying them together.

pub mod chain;
pub mod dahsf;
pub mod normalizers;
pub mod stage;
pub mod tn;
