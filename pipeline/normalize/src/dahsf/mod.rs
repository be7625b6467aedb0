//! DAHSF: the Digestion Algorithm in Hierarchical Symbolic Forests.
//!
//! A clean-room engine after the description in Kevin You, *DAHSF* (arXiv 2412.14054): text
//! is normalized and parsed into frames by layered, rule-based forests of synonym classes.
//!
//! # Model
//!
//! A **forest** is a set of two-level trees: the root of each tree is a canonical form (the
//! *representative element*), its leaves are synonyms. *Digesting* a word means finding its
//! tree and packing it into a tuple `(canonical, label, span)`; the tuples of one layer are
//! the words of the next, and a sentence of layer *i* becomes a word of layer *i + 1*.
//!
//! * **Layer 1** splits the text against the lexicon classes (an Aho-Corasick automaton,
//!   leftmost-longest, so `火箭` is one word and not `火` + `箭`), over a one-to-one fold of
//!   the text (full-width forms narrowed, ASCII lower-cased; character offsets never move).
//!   A lexicon match that starts or ends inside a Latin word (`ct` inside `act`) is refused
//!   and the longest shorter match that respects word boundaries is taken instead. Typed
//!   **data words** come from a [`DataWordExtractor`] (by default the crate's TN module,
//!   then the [`BuiltinDataWords`] scanner): `NUMBER`, `SIZE`, `MEASURE`, `DATE`, `TIME`,
//!   `PERCENTAGE`, `RANGE`, `FRACTION`, `URL`, `CODE`, `IDENT`. Where a lexicon word and a
//!   data word overlap, the longer wins, then the higher label priority, then the lexicon;
//!   when both cover exactly the same characters the loser stays as an alternative reading.
//!   Every punctuation character becomes a `PUNCT` word, every other unmatched run of
//!   non-space characters a `TEXT` word; white space separates words and is dropped.
//! * **Layer 2** runs, in order:
//!   1. *Disambiguation*: a word with several readings (a declared homograph, or a lexicon
//!      and a data reading of the same characters) starts with the reading whose label has
//!      the highest priority; the context rules and the frameworks may pick another.
//!   2. The **contextual synonym pass**: rules that give a word a new canonical form and/or
//!      label depending on its neighbour, and may join the two into one word (e.g. after a
//!      `DENSITY` word, `灶`/`阴影`/`病灶` read as `影` and join it: `稍低密度灶` →
//!      `稍低密度影` (`FINDING`); a `SIDE` word before an `ANATOMY` word joins it:
//!      `右侧` + `肾上腺` → `右肾上腺`). Rules are tried in file order, the first that
//!      applies wins, left to right in one pass; a join's canonical form is the two
//!      canonical forms concatenated (with a space between two Latin letters/digits).
//!   3. **Phrase classes**: word sequences (written as patterns over layer-1 canonical
//!      forms and labels) that digest into one layer-2 word, matched leftmost-longest
//!      (`未见 明显? 异常` covers `未见明显异常`, `无明显异常`, `未发现确切异常`, ... →
//!      `未见明显异常`).
//!   4. **Sentence frameworks**: patterns with typed slots, e.g.
//!      `[ANATOMY:location] 见? [FINDING:finding] (,? 大小约? [SIZE:size])?` →
//!      `lesion(location=肝右叶, finding=低密度影, size=3.2cm×2.8cm)`. All matches are found
//!      with a trie over the words' labels and canonical forms (trying every reading), and
//!      the non-overlapping set that fills the most slots is kept (ties: more words
//!      covered, fewer frames, higher framework `priority`, earlier framework). A reading
//!      chosen by a frame becomes the word's reading.
//!
//! The **normalized text** is the final words' canonical forms in order, unmatched text and
//! punctuation kept (width-folded). Between two words it puts a newline where the input had
//! one, a space where both touching characters are ASCII letters/digits or where the input
//! had white space between two ASCII characters, and nothing otherwise (so Chinese text
//! loses its inner spaces: `肝右叶 见 低密度影` → `肝右叶见低密度影`).
//!
//! # Data format
//!
//! A domain is a directory `data/forests/<domain>/` of TOML files, read in file-name order
//! and merged (so a domain can keep one file per label). Every file may hold any of:
//!
//! ```toml
//! homographs = ["增大"]         # surface forms allowed in more than one class (top level)
//!
//! [forest]                      # optional: name (default: the directory name), description
//! name = "radiology"
//!
//! [labels]                      # optional priorities (lexicon default 10, data words 5)
//! STATE = 12
//!
//! [[class]]                     # layer 1: a synonym class
//! label = "ANATOMY"
//! canonical = "肝右叶"
//! synonyms = ["右肝叶", "肝脏右叶", "右肝"]
//!
//! [[context]]                   # layer 2: a contextual synonym rule
//! name = "density-shadow"
//! word = ["[SHADOW]", "病灶"]   # the word: one [LABEL] or canonical literal per entry
//! after = ["[DENSITY]"]         # condition on the previous word (optional)
//! before = []                   # condition on the next word (optional)
//! canonical = "影"              # new canonical form (optional)
//! label = "FINDING"             # new label (optional)
//! join = "after"                # "after" | "before" | "none" (default)
//!
//! [[phrase]]                    # layer 2: a phrase class
//! label = "NORMAL"
//! canonical = "未见明显异常"
//! patterns = ["未见 明显? 异常"]
//!
//! [[framework]]                 # layer 2: a sentence framework
//! name = "lesion"               # unique
//! frame = "lesion"              # frame name (default: the framework name)
//! pattern = "[ANATOMY:location] 见? [FINDING:finding]"
//! priority = 0                  # tie-breaker (optional)
//! set = { kind = "focal" }      # constant slots (optional)
//! ```
//!
//! Patterns are one small language for phrases, context-rule words and frameworks:
//!
//! ```text
//! pattern     := alternative ('|' alternative)*
//! alternative := item+                      items are separated by white space
//! item        := atom '?'?                  '?' makes the atom optional
//! atom        := '[' LABEL (':' slot)? ']'  a typed slot: one word with that label
//!              | '(' pattern ')'            a group
//!              | literal                    one word whose canonical form is the literal
//! LABEL       := [A-Z][A-Z0-9_]*            slot defaults to the label in lower case
//! slot        := [A-Za-z_][A-Za-z0-9_]*
//! literal     := characters other than white space and [ ] ( ) | ? ('\' escapes one)
//! ```
//!
//! Every atom matches exactly one word, so a pattern expands into a finite set of word
//! sequences (at most 4096, each at most 64 words, none empty), stored in a trie. Literals
//! must be canonical forms (a synonym is rejected with a hint naming its canonical form), or
//! a single punctuation character. `TEXT` and `PUNCT` are reserved labels; data-word labels
//! (`SIZE`, `MEASURE`, `DATE`, ...) can be used as slots.
//!
//! Loading validates everything and reports the file and item: a surface form in two
//! classes (both canonical forms and files), an empty class or synonym, an unknown label, a
//! literal that is not a canonical form, a bad pattern (with the character position), a
//! duplicate framework or slot, a join without its neighbour condition.
//!
//! # The multiplication rule
//!
//! Storing synonym classes per layer covers the product of surface forms while storing only
//! their sum. [`Engine::coverage`] reports, per framework, the **surface phrasings** it
//! covers: the sum over its expanded word sequences of the product, over their elements, of
//! the element's surface count (a literal: the surface forms of the classes and phrases
//! with that canonical form; a slot: all surface forms of its label, including phrase and
//! context-rule phrasings; open data and `TEXT` slots count 1), and the **skeleton
//! phrasings** (slots counted 1). **Entries stored** = layer-1 surface forms (canonical forms
//! and synonyms) + phrase patterns + context rules + frameworks. Products are not
//! deduplicated, so the phrasing count is exact only where classes are disjoint.
//!
//! # API
//!
//! [`Forest::load_dir`] / [`Forest::from_files`] / `str::parse::<Forest>()` load and
//! validate; [`Engine::new`] (or [`Engine::with_extractor`]) wraps a forest;
//! [`Engine::digest`] returns a [`Digest`] (words, frames, normalized text, all spans in
//! characters of the input), [`Engine::digest_mapped`] does the same on the output of a
//! normalizer chain and maps spans back to the original, [`Engine::layer1`] /
//! [`Engine::layer1_with`] give layer 1 alone (the latter without allocating per word),
//! [`Engine::coverage`] the multiplication-rule figures, [`Digest::to_annotations`]
//! `quarry_core` annotations.
//!
//! # Reloading
//!
//! [`ForestSet`] holds one [`Engine`] per domain behind an `Arc`; [`ForestSet::reload`]
//! builds a new forest from disk and swaps it in, or keeps the old one and returns the
//! validation error.

mod coverage;
mod data;
mod engine;
mod error;
mod fold;
mod forest;
mod pattern;
mod set;

pub use coverage::{Coverage, FrameworkCoverage};
pub use data::{
    BuiltinDataWords, DataSpan, DataType, DataWordExtractor, DefaultDataWords, TnDataWords,
};
pub use engine::{Digest, Engine, Frame, SlotValue, Word, WordRef};
pub use error::{ClassRef, ForestError};
pub use fold::{match_fold, match_fold_str, width_fold};
pub use forest::{Forest, PUNCT_LABEL, TEXT_LABEL};
pub use set::{bundled_forest_root, ForestSet};
