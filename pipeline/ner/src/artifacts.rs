//! The NER artifacts this repository ships, and their integrity check against the
//! `SHA256SUMS` file `models/recipes/ner/build.sh` writes next to them.

/// The committed artifacts (`models/artifacts/<name>/`).
pub const BUNDLED: [&str; 2] = ["ner-clinical-zh", "ner-radiology-zh"];

pub use quarry_models::artifacts::{verify, FileStatus};
