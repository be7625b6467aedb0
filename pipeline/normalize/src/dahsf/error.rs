//! Errors raised while loading and validating a forest.

use std::path::PathBuf;

/// A class named in an error: its file, canonical form and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassRef {
    /// File the class is in.
    pub file: String,
    /// Its canonical form.
    pub canonical: String,
    /// Its label.
    pub label: String,
}

/// Why a forest could not be loaded. Every variant names the file (and, where it applies,
/// the class, phrase, context rule or framework) so that the data can be fixed by hand.
#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A forest directory holds no `*.toml` file.
    #[error("{dir}: no forest files (*.toml) found")]
    NoFiles {
        /// The directory.
        dir: PathBuf,
    },
    /// A file is not valid TOML or does not follow the forest schema.
    #[error("{file}: invalid forest file: {message}")]
    Toml {
        /// File name.
        file: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A class with an empty canonical form or an empty synonym.
    #[error("{file}: empty class: label {label}, canonical '{canonical}': {what}")]
    EmptyClass {
        /// File name.
        file: String,
        /// The class label.
        label: String,
        /// The class canonical form (may be empty).
        canonical: String,
        /// What is empty.
        what: String,
    },
    /// The same surface form (after width and case folding) appears in two classes, or
    /// twice in one class, without being declared a homograph.
    #[error(
        "surface form '{surface}' is in two classes: '{}' ({}, {}) and '{}' ({}, {}); remove \
         one, or list it under `homographs` if it really has two readings",
        .first.canonical, .first.label, .first.file, .second.canonical, .second.label, .second.file
    )]
    DuplicateSurface {
        /// The folded surface form.
        surface: String,
        /// The class that had it first.
        first: Box<ClassRef>,
        /// The class that repeats it.
        second: Box<ClassRef>,
    },
    /// A pattern, phrase or context rule names a label no class, phrase, rule or data-word
    /// type defines.
    #[error("{file}: {item} '{name}': unknown label '{label}' (known: {known})")]
    UnknownLabel {
        /// File name.
        file: String,
        /// `framework`, `phrase` or `context`.
        item: &'static str,
        /// Name of the item.
        name: String,
        /// The unknown label.
        label: String,
        /// The known labels, comma-separated.
        known: String,
    },
    /// A pattern does not parse.
    #[error(
        "{file}: {item} '{name}': bad pattern at character {position}: {message}\n    {pattern}"
    )]
    BadPattern {
        /// File name.
        file: String,
        /// `framework`, `phrase` or `context`.
        item: &'static str,
        /// Name of the item.
        name: String,
        /// The pattern text.
        pattern: String,
        /// Character offset of the error in the pattern.
        position: usize,
        /// What is wrong.
        message: String,
    },
    /// A pattern literal is not the canonical form of any class or phrase.
    #[error("{file}: {item} '{name}': literal '{literal}' is not a canonical word{hint}")]
    UnknownLiteral {
        /// File name.
        file: String,
        /// `framework`, `phrase` or `context`.
        item: &'static str,
        /// Name of the item.
        name: String,
        /// The literal.
        literal: String,
        /// A hint (`; it is a synonym of 'X', use the canonical form`), or empty.
        hint: String,
    },
    /// Anything else that makes an item invalid (a bad label name, a duplicate slot, a join
    /// without a neighbour condition, a duplicate framework name, ...).
    #[error("{file}: {item} '{name}': {message}")]
    Invalid {
        /// File name.
        file: String,
        /// What kind of item.
        item: &'static str,
        /// Name of the item.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A domain asked of a [`super::ForestSet`] that it does not hold.
    #[error("unknown forest domain '{0}'")]
    UnknownDomain(String),
}
