//! Loading, validating and compiling a forest.

use super::data::DataType;
use super::error::{ClassRef, ForestError};
use super::fold::{is_punct, match_fold_str};
use super::pattern::{self, valid_label, Elem};
use aho_corasick::{AhoCorasick, MatchKind};
use rustc_hash::FxHashMap as FxMap;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Most word sequences one pattern may expand to.
pub(crate) const MAX_PATHS: usize = 4096;
/// Most words one expanded pattern may have (matching recurses once per word).
pub(crate) const MAX_PATH_WORDS: usize = 64;
/// Priority of a lexicon label not given one in a `[labels]` table.
pub(crate) const DEFAULT_LEXICAL_PRIORITY: i32 = 10;
/// Priority of the data-word labels.
pub(crate) const DATA_PRIORITY: i32 = 5;
/// Label of unmatched text runs.
pub const TEXT_LABEL: &str = "TEXT";
/// Label of punctuation characters.
pub const PUNCT_LABEL: &str = "PUNCT";

pub(crate) type LabelId = u16;
pub(crate) type CanonId = u32;
pub(crate) type ClassId = u32;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    forest: Option<RawMeta>,
    #[serde(default)]
    homographs: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, i32>,
    #[serde(default, rename = "class")]
    classes: Vec<RawClass>,
    #[serde(default, rename = "phrase")]
    phrases: Vec<RawPhrase>,
    #[serde(default, rename = "context")]
    contexts: Vec<RawContext>,
    #[serde(default, rename = "framework")]
    frameworks: Vec<RawFramework>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    label: String,
    canonical: String,
    #[serde(default)]
    synonyms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhrase {
    label: String,
    canonical: String,
    patterns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    name: String,
    word: Vec<String>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    before: Vec<String>,
    #[serde(default)]
    canonical: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    join: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFramework {
    name: String,
    pattern: String,
    #[serde(default)]
    frame: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    set: BTreeMap<String, String>,
}

/// A label and how it ranks when two readings of the same characters compete.
#[derive(Debug, Clone)]
pub(crate) struct LabelInfo {
    pub name: String,
    pub priority: i32,
}

/// A layer-1 synonym class: a two-level tree whose root is the canonical form.
#[derive(Debug, Clone)]
pub(crate) struct Class {
    pub label: LabelId,
    pub canonical: String,
    pub canon: CanonId,
    pub synonyms: Vec<String>,
}

/// One element of a compiled path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum CElem {
    Label(LabelId),
    Lit(CanonId),
}

/// A compiled path: one element per word, and the slot name of each label element.
#[derive(Debug, Clone)]
pub(crate) struct CPath {
    pub elems: Vec<CElem>,
    pub slots: Vec<Option<String>>,
}

/// A layer-2 class: word sequences (given as patterns) with one canonical form.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub label: LabelId,
    pub canonical: String,
    pub canon: CanonId,
    pub paths: Vec<CPath>,
    pub patterns: usize,
}

/// How a context rule joins a word with its neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Join {
    None,
    After,
    Before,
}

/// A contextual synonym rule (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct ContextRule {
    pub name: String,
    pub word: Vec<CElem>,
    pub after: Vec<CElem>,
    pub before: Vec<CElem>,
    pub canonical: Option<(String, CanonId)>,
    pub label: Option<LabelId>,
    pub join: Join,
}

/// A sentence framework.
#[derive(Debug, Clone)]
pub(crate) struct Framework {
    pub name: String,
    pub frame: String,
    pub pattern: String,
    pub priority: i32,
    pub set: BTreeMap<String, String>,
    pub paths: Vec<CPath>,
}

/// A trie over element sequences; `ends` lists (item, path) pairs ending at a node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trie {
    pub nodes: Vec<TrieNode>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TrieNode {
    /// Sorted by element.
    pub edges: Vec<(CElem, u32)>,
    pub ends: Vec<(u32, u32)>,
}

impl Trie {
    fn new() -> Self {
        Trie {
            nodes: vec![TrieNode::default()],
        }
    }

    fn insert(&mut self, elems: &[CElem], item: u32, path: u32) {
        let mut n = 0usize;
        for e in elems {
            n = match self.nodes[n].edges.binary_search_by_key(e, |x| x.0) {
                Ok(k) => self.nodes[n].edges[k].1 as usize,
                Err(k) => {
                    let c = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[n].edges.insert(k, (*e, c as u32));
                    c
                }
            };
        }
        self.nodes[n].ends.push((item, path));
    }

    /// The child of `node` along `e`.
    #[inline]
    pub fn child(&self, node: u32, e: CElem) -> Option<u32> {
        let edges = &self.nodes.get(node as usize)?.edges;
        if edges.len() <= 8 {
            edges.iter().find(|x| x.0 == e).map(|x| x.1)
        } else {
            edges
                .binary_search_by_key(&e, |x| x.0)
                .ok()
                .map(|k| edges[k].1)
        }
    }
}

/// A source file of a forest and its size.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub name: String,
    pub bytes: usize,
}

/// A validated, compiled forest: layer-1 lexicons of synonym classes (in an Aho-Corasick
/// automaton, matched leftmost-longest), layer-2 phrase classes and contextual rules, and
/// sentence frameworks (in a trie over label/canonical sequences). Build one with
/// [`Forest::load_dir`], [`Forest::from_files`] or `str::parse`.
#[derive(Debug, Clone)]
pub struct Forest {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) files: Vec<SourceFile>,
    pub(crate) labels: Vec<LabelInfo>,
    pub(crate) label_ids: HashMap<String, LabelId>,
    pub(crate) canon_ids: FxMap<String, CanonId>,
    /// Longest key of `canon_ids`, in bytes.
    pub(crate) max_canon_bytes: usize,
    pub(crate) classes: Vec<Class>,
    /// Automaton pattern id -> the classes it reads as, best first.
    pub(crate) surfaces: Vec<Vec<ClassId>>,
    pub(crate) ac: Option<AhoCorasick>,
    pub(crate) ac_all: Option<AhoCorasick>,
    pub(crate) max_surface_bytes: usize,
    pub(crate) phrases: Vec<Phrase>,
    pub(crate) phrase_trie: Trie,
    pub(crate) contexts: Vec<ContextRule>,
    pub(crate) frameworks: Vec<Framework>,
    pub(crate) frame_trie: Trie,
    pub(crate) text_label: LabelId,
    pub(crate) punct_label: LabelId,
    pub(crate) data_labels: [LabelId; 11],
}

struct Builder {
    labels: Vec<LabelInfo>,
    label_ids: HashMap<String, LabelId>,
    declared: HashMap<String, (i32, String)>,
    canon_ids: FxMap<String, CanonId>,
    /// folded surface -> classes, in load order
    surface_map: HashMap<String, Vec<ClassId>>,
    surface_order: Vec<String>,
    class_files: Vec<String>,
}

impl Builder {
    fn label(&mut self, name: &str, default_priority: i32) -> LabelId {
        if let Some(&id) = self.label_ids.get(name) {
            return id;
        }
        let id = self.labels.len() as LabelId;
        let priority = self.declared.get(name).map_or(default_priority, |d| d.0);
        self.labels.push(LabelInfo {
            name: name.to_string(),
            priority,
        });
        self.label_ids.insert(name.to_string(), id);
        id
    }

    fn canon(&mut self, canonical: &str) -> CanonId {
        let key = match_fold_str(canonical);
        let n = self.canon_ids.len() as CanonId;
        *self.canon_ids.entry(key).or_insert(n)
    }

    fn known_labels(&self) -> String {
        let mut v: Vec<&str> = self.labels.iter().map(|l| l.name.as_str()).collect();
        v.sort_unstable();
        v.join(", ")
    }
}

/// What an item is called in error messages.
struct Item<'a> {
    file: &'a str,
    kind: &'static str,
    name: &'a str,
}

impl Item<'_> {
    fn invalid(&self, message: impl Into<String>) -> ForestError {
        ForestError::Invalid {
            file: self.file.to_string(),
            item: self.kind,
            name: self.name.to_string(),
            message: message.into(),
        }
    }
}

impl Forest {
    /// Loads every `*.toml` file of a directory (in file-name order) as one forest named
    /// after the directory (or its `[forest] name`).
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Forest, ForestError> {
        let dir = dir.as_ref();
        let io = |source| ForestError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let p = entry.map_err(io)?.path();
            if p.is_file() && p.extension().is_some_and(|e| e == "toml") {
                paths.push(p);
            }
        }
        paths.sort();
        if paths.is_empty() {
            return Err(ForestError::NoFiles {
                dir: dir.to_path_buf(),
            });
        }
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|source| ForestError::Io {
                path: p.clone(),
                source,
            })?;
            files.push((p.display().to_string(), text));
        }
        let mut forest = Forest::from_files(files)?;
        if forest.name.is_empty() {
            forest.name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        Ok(forest)
    }

    /// Builds a forest from `(file name, TOML text)` pairs; the names only appear in errors.
    pub fn from_files<I, N, T>(files: I) -> Result<Forest, ForestError>
    where
        I: IntoIterator<Item = (N, T)>,
        N: Into<String>,
        T: AsRef<str>,
    {
        let mut parsed = Vec::new();
        let mut sources = Vec::new();
        for (name, text) in files {
            let name = name.into();
            let text = text.as_ref();
            let raw: RawFile = toml::from_str(text).map_err(|e| ForestError::Toml {
                file: name.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
            sources.push(SourceFile {
                name: name.clone(),
                bytes: text.len(),
            });
            parsed.push((name, raw));
        }
        build(parsed, sources)
    }

    /// The forest's name (its directory name unless `[forest] name` says otherwise).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `[forest] description`, or empty.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Every label the forest knows (data-word labels, `TEXT` and `PUNCT` included).
    pub fn labels(&self) -> Vec<&str> {
        self.labels.iter().map(|l| l.name.as_str()).collect()
    }

    /// Number of layer-1 classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Number of stored layer-1 surface forms (canonical forms and synonyms).
    pub fn surface_count(&self) -> usize {
        self.classes.iter().map(|c| 1 + c.synonyms.len()).sum()
    }

    /// Names of the frameworks, in file order.
    pub fn framework_names(&self) -> Vec<&str> {
        self.frameworks.iter().map(|f| f.name.as_str()).collect()
    }

    /// The frameworks as `(name, frame name, pattern)`, in file order.
    pub fn frameworks(&self) -> Vec<(&str, &str, &str)> {
        self.frameworks
            .iter()
            .map(|f| (f.name.as_str(), f.frame.as_str(), f.pattern.as_str()))
            .collect()
    }

    /// Names of the context rules, in the order they are tried.
    pub fn context_rule_names(&self) -> Vec<&str> {
        self.contexts.iter().map(|r| r.name.as_str()).collect()
    }

    /// True when the forest knows `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.label_ids.contains_key(label)
    }

    /// Total size in bytes of the source files (the serialized forest).
    pub fn source_bytes(&self) -> usize {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// The source files, as `(name, bytes)`.
    pub fn source_files(&self) -> Vec<(&str, usize)> {
        self.files
            .iter()
            .map(|f| (f.name.as_str(), f.bytes))
            .collect()
    }

    /// The layer-1 readings of a surface form, best first, as `(canonical, label)`.
    pub fn lookup(&self, surface: &str) -> Vec<(&str, &str)> {
        let key = match_fold_str(surface);
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        // leftmost-longest: a surface equal to the whole key is the match found at 0
        match ac.try_find(key.as_str()) {
            Ok(Some(m)) if m.start() == 0 && m.end() == key.len() => self.surfaces
                [m.pattern().as_usize()]
            .iter()
            .map(|&c| {
                let c = &self.classes[c as usize];
                (
                    c.canonical.as_str(),
                    self.labels[c.label as usize].name.as_str(),
                )
            })
            .collect(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn label_name(&self, id: LabelId) -> &str {
        self.labels.get(id as usize).map_or("", |l| l.name.as_str())
    }

    pub(crate) fn label_priority(&self, id: LabelId) -> i32 {
        self.labels.get(id as usize).map_or(0, |l| l.priority)
    }

    pub(crate) fn data_label(&self, t: DataType) -> LabelId {
        let i = DataType::ALL.iter().position(|&d| d == t).unwrap_or(0);
        self.data_labels[i]
    }

    /// Canonical id of a string, if some class, phrase or rule has it as canonical form.
    pub(crate) fn canon_id(&self, s: &str) -> Option<CanonId> {
        if s.len() > self.max_canon_bytes * 3 || self.canon_ids.is_empty() {
            return None;
        }
        if s.chars().any(|c| super::fold::match_fold(c) != c) {
            self.canon_ids.get(&match_fold_str(s)).copied()
        } else {
            self.canon_ids.get(s).copied()
        }
    }

    /// Approximate heap bytes of the compiled forest (automata, tries, strings).
    pub fn heap_bytes(&self) -> usize {
        let ac = self.ac.as_ref().map_or(0, |a| a.memory_usage())
            + self.ac_all.as_ref().map_or(0, |a| a.memory_usage());
        let strings: usize = self
            .classes
            .iter()
            .map(|c| c.canonical.len() + c.synonyms.iter().map(|s| s.len() + 24).sum::<usize>())
            .sum();
        let trie = |t: &Trie| {
            t.nodes
                .iter()
                .map(|n| 64 + n.edges.capacity() * 12 + n.ends.capacity() * 8)
                .sum::<usize>()
        };
        ac + strings + trie(&self.phrase_trie) + trie(&self.frame_trie) + self.canon_ids.len() * 48
    }
}

impl std::str::FromStr for Forest {
    type Err = ForestError;

    /// Parses one TOML document as a whole forest (named `<string>` in errors).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Forest::from_files([("<string>", s)])
    }
}

fn build(files: Vec<(String, RawFile)>, sources: Vec<SourceFile>) -> Result<Forest, ForestError> {
    let mut b = Builder {
        labels: Vec::new(),
        label_ids: HashMap::new(),
        declared: HashMap::new(),
        canon_ids: FxMap::default(),
        surface_map: HashMap::new(),
        surface_order: Vec::new(),
        class_files: Vec::new(),
    };
    let mut name = String::new();
    let mut description = String::new();

    // label priorities first, so that every label gets its declared priority
    for (file, raw) in &files {
        if let Some(meta) = &raw.forest {
            if let Some(n) = &meta.name {
                name = n.clone();
            }
            if let Some(d) = &meta.description {
                description = d.clone();
            }
        }
        for (label, &prio) in &raw.labels {
            let item = Item {
                file,
                kind: "labels",
                name: label,
            };
            if !valid_label(label) {
                return Err(item.invalid("labels are [A-Z][A-Z0-9_]*"));
            }
            if let Some((p, f)) = b.declared.get(label) {
                if *p != prio {
                    return Err(
                        item.invalid(format!("declared with priority {prio} here and {p} in {f}"))
                    );
                }
            }
            b.declared.insert(label.clone(), (prio, file.clone()));
        }
    }
    let text_label = b.label(TEXT_LABEL, 0);
    let punct_label = b.label(PUNCT_LABEL, 0);
    let mut data_labels = [0; 11];
    for (i, t) in DataType::ALL.iter().enumerate() {
        data_labels[i] = b.label(t.label(), DATA_PRIORITY);
    }

    // homographs
    let mut homographs: HashMap<String, String> = HashMap::new();
    for (file, raw) in &files {
        for h in &raw.homographs {
            homographs.insert(match_fold_str(h), file.clone());
        }
    }

    // layer-1 classes
    let mut classes: Vec<Class> = Vec::new();
    for (file, raw) in &files {
        for c in &raw.classes {
            let item = Item {
                file,
                kind: "class",
                name: &c.canonical,
            };
            if !valid_label(&c.label) {
                return Err(item.invalid(format!(
                    "bad label '{}' (labels are [A-Z][A-Z0-9_]*)",
                    c.label
                )));
            }
            if [TEXT_LABEL, PUNCT_LABEL].contains(&c.label.as_str()) {
                return Err(item.invalid(format!("label {} is reserved", c.label)));
            }
            let empty = |what: String| ForestError::EmptyClass {
                file: file.clone(),
                label: c.label.clone(),
                canonical: c.canonical.clone(),
                what,
            };
            if c.canonical.trim().is_empty() {
                return Err(empty("the canonical form is empty".into()));
            }
            if let Some(i) = c.synonyms.iter().position(|s| s.trim().is_empty()) {
                return Err(empty(format!("synonym #{} is empty", i + 1)));
            }
            let label = b.label(&c.label, DEFAULT_LEXICAL_PRIORITY);
            let canon = b.canon(&c.canonical);
            let id = classes.len() as ClassId;
            for s in std::iter::once(&c.canonical).chain(&c.synonyms) {
                let key = match_fold_str(s);
                match b.surface_map.get_mut(&key) {
                    None => {
                        b.surface_order.push(key.clone());
                        b.surface_map.insert(key, vec![id]);
                    }
                    Some(v) => {
                        let other = v[0] as usize;
                        if v.contains(&id) || !homographs.contains_key(&key) {
                            let o = &classes.get(other);
                            let (ca, la) = o.map_or((c.canonical.clone(), c.label.clone()), |o| {
                                (o.canonical.clone(), b.labels[o.label as usize].name.clone())
                            });
                            return Err(ForestError::DuplicateSurface {
                                surface: key,
                                first: Box::new(ClassRef {
                                    file: b
                                        .class_files
                                        .get(other)
                                        .cloned()
                                        .unwrap_or_else(|| file.clone()),
                                    canonical: ca,
                                    label: la,
                                }),
                                second: Box::new(ClassRef {
                                    file: file.clone(),
                                    canonical: c.canonical.clone(),
                                    label: c.label.clone(),
                                }),
                            });
                        }
                        v.push(id);
                    }
                }
            }
            b.class_files.push(file.clone());
            classes.push(Class {
                label,
                canonical: c.canonical.clone(),
                canon,
                synonyms: c.synonyms.clone(),
            });
        }
    }
    for (h, file) in &homographs {
        if b.surface_map.get(h).is_none_or(|v| v.len() < 2) {
            return Err(Item {
                file,
                kind: "homograph",
                name: h,
            }
            .invalid("a homograph must be a surface form of at least two classes"));
        }
    }

    // labels and canonical forms of layer 2 (so that patterns may refer to them)
    for (file, raw) in &files {
        for p in &raw.phrases {
            let item = Item {
                file,
                kind: "phrase",
                name: &p.canonical,
            };
            if !valid_label(&p.label) {
                return Err(item.invalid(format!("bad label '{}'", p.label)));
            }
            if p.canonical.trim().is_empty() {
                return Err(ForestError::EmptyClass {
                    file: file.clone(),
                    label: p.label.clone(),
                    canonical: p.canonical.clone(),
                    what: "the phrase's canonical form is empty".into(),
                });
            }
            if p.patterns.is_empty() {
                return Err(ForestError::EmptyClass {
                    file: file.clone(),
                    label: p.label.clone(),
                    canonical: p.canonical.clone(),
                    what: "the phrase has no patterns".into(),
                });
            }
            b.label(&p.label, DEFAULT_LEXICAL_PRIORITY);
            b.canon(&p.canonical);
        }
        for r in &raw.contexts {
            let item = Item {
                file,
                kind: "context",
                name: &r.name,
            };
            if let Some(l) = &r.label {
                if !valid_label(l) {
                    return Err(item.invalid(format!("bad label '{l}'")));
                }
                b.label(l, DEFAULT_LEXICAL_PRIORITY);
            }
            if let Some(c) = &r.canonical {
                if c.trim().is_empty() {
                    return Err(item.invalid("empty canonical form"));
                }
                b.canon(c);
            }
        }
    }

    // the lexicon automaton
    let mut surfaces = Vec::with_capacity(b.surface_order.len());
    for key in &b.surface_order {
        let mut v = b.surface_map.get(key).cloned().unwrap_or_default();
        v.sort_by_key(|&c| {
            let l = classes[c as usize].label as usize;
            (std::cmp::Reverse(b.labels[l].priority), c)
        });
        surfaces.push(v);
    }
    let max_surface_bytes = b.surface_order.iter().map(String::len).max().unwrap_or(0);
    let (ac, ac_all) = if b.surface_order.is_empty() {
        (None, None)
    } else {
        let build_err = |e: aho_corasick::BuildError| ForestError::Invalid {
            file: sources.first().map(|s| s.name.clone()).unwrap_or_default(),
            item: "lexicon",
            name: String::new(),
            message: format!("cannot build the automaton: {e}"),
        };
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&b.surface_order)
            .map_err(build_err)?;
        let ac_all = if b
            .surface_order
            .iter()
            .any(|s| s.bytes().any(|c| c.is_ascii_alphanumeric()))
        {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&b.surface_order)
                    .map_err(build_err)?,
            )
        } else {
            None
        };
        (Some(ac), ac_all)
    };

    // compile patterns
    let mut phrases = Vec::new();
    let mut phrase_trie = Trie::new();
    let mut contexts = Vec::new();
    let mut frameworks: Vec<Framework> = Vec::new();
    let mut frame_trie = Trie::new();
    let mut framework_names: BTreeSet<String> = BTreeSet::new();
    for (file, raw) in &files {
        for p in &raw.phrases {
            let item = Item {
                file,
                kind: "phrase",
                name: &p.canonical,
            };
            let mut paths = Vec::new();
            for pat in &p.patterns {
                paths.extend(compile_pattern(&mut b, &classes, &item, pat)?);
            }
            let idx = phrases.len() as u32;
            for (k, path) in paths.iter().enumerate() {
                phrase_trie.insert(&path.elems, idx, k as u32);
            }
            phrases.push(Phrase {
                label: b.label(&p.label, DEFAULT_LEXICAL_PRIORITY),
                canonical: p.canonical.clone(),
                canon: b.canon(&p.canonical),
                paths,
                patterns: p.patterns.len(),
            });
        }
        for r in &raw.contexts {
            let item = Item {
                file,
                kind: "context",
                name: &r.name,
            };
            let single = |b: &mut Builder, list: &[String]| -> Result<Vec<CElem>, ForestError> {
                let mut out = Vec::new();
                for s in list {
                    let paths = compile_pattern(b, &classes, &item, s)?;
                    if paths.len() != 1 || paths[0].elems.len() != 1 {
                        return Err(item.invalid(format!(
                            "'{s}' must be one word: a [LABEL] or a canonical literal"
                        )));
                    }
                    out.push(paths[0].elems[0]);
                }
                Ok(out)
            };
            let word = single(&mut b, &r.word)?;
            let after = single(&mut b, &r.after)?;
            let before = single(&mut b, &r.before)?;
            if word.is_empty() {
                return Err(item.invalid("`word` lists no word"));
            }
            let join = match r.join.as_deref() {
                None | Some("none") => Join::None,
                Some("after") => Join::After,
                Some("before") => Join::Before,
                Some(other) => {
                    return Err(item.invalid(format!(
                        "join = '{other}': expected \"after\", \"before\" or \"none\""
                    )))
                }
            };
            if join == Join::After && after.is_empty() {
                return Err(item.invalid("join = \"after\" needs an `after` condition"));
            }
            if join == Join::Before && before.is_empty() {
                return Err(item.invalid("join = \"before\" needs a `before` condition"));
            }
            if join == Join::None && r.canonical.is_none() && r.label.is_none() {
                return Err(item.invalid("the rule changes nothing (no canonical, label or join)"));
            }
            contexts.push(ContextRule {
                name: r.name.clone(),
                word,
                after,
                before,
                canonical: r.canonical.as_ref().map(|c| (c.clone(), b.canon(c))),
                label: r
                    .label
                    .as_ref()
                    .map(|l| b.label(l, DEFAULT_LEXICAL_PRIORITY)),
                join,
            });
        }
        for f in &raw.frameworks {
            let item = Item {
                file,
                kind: "framework",
                name: &f.name,
            };
            if f.name.trim().is_empty() {
                return Err(item.invalid("empty framework name"));
            }
            if !framework_names.insert(f.name.clone()) {
                return Err(item.invalid("two frameworks have this name"));
            }
            let paths = compile_pattern(&mut b, &classes, &item, &f.pattern)?;
            for path in &paths {
                let mut seen = BTreeSet::new();
                for s in path.slots.iter().flatten() {
                    if !seen.insert(s) {
                        return Err(item.invalid(format!("slot '{s}' is filled twice on one path")));
                    }
                    if f.set.contains_key(s) {
                        return Err(item.invalid(format!("slot '{s}' is both matched and set")));
                    }
                }
            }
            let idx = frameworks.len() as u32;
            for (k, path) in paths.iter().enumerate() {
                frame_trie.insert(&path.elems, idx, k as u32);
            }
            frameworks.push(Framework {
                name: f.name.clone(),
                frame: f.frame.clone().unwrap_or_else(|| f.name.clone()),
                pattern: f.pattern.clone(),
                priority: f.priority,
                set: f.set.clone(),
                paths,
            });
        }
    }

    Ok(Forest {
        name,
        description,
        files: sources,
        labels: b.labels,
        label_ids: b.label_ids,
        max_canon_bytes: b.canon_ids.keys().map(String::len).max().unwrap_or(0),
        canon_ids: b.canon_ids,
        classes,
        surfaces,
        ac,
        ac_all,
        max_surface_bytes,
        phrases,
        phrase_trie,
        contexts,
        frameworks,
        frame_trie,
        text_label,
        punct_label,
        data_labels,
    })
}

fn compile_pattern(
    b: &mut Builder,
    classes: &[Class],
    item: &Item<'_>,
    pat: &str,
) -> Result<Vec<CPath>, ForestError> {
    let node = pattern::parse(pat).map_err(|e| ForestError::BadPattern {
        file: item.file.to_string(),
        item: item.kind,
        name: item.name.to_string(),
        pattern: pat.to_string(),
        position: e.position,
        message: e.message,
    })?;
    let paths = pattern::expand(&node, MAX_PATHS)
        .map_err(|m| item.invalid(format!("pattern '{pat}': {m}")))?;
    if paths.iter().any(|p| p.len() > MAX_PATH_WORDS) {
        return Err(item.invalid(format!(
            "pattern '{pat}' has a sequence of more than {MAX_PATH_WORDS} words"
        )));
    }
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let mut elems = Vec::with_capacity(path.len());
        let mut slots = Vec::with_capacity(path.len());
        for e in path {
            match e {
                Elem::Slot { label, name } => {
                    let Some(&id) = b.label_ids.get(&label) else {
                        return Err(ForestError::UnknownLabel {
                            file: item.file.to_string(),
                            item: item.kind,
                            name: item.name.to_string(),
                            label,
                            known: b.known_labels(),
                        });
                    };
                    elems.push(CElem::Label(id));
                    slots.push(Some(name.unwrap_or_else(|| label.to_ascii_lowercase())));
                }
                Elem::Lit(lit) => {
                    let id = match b.canon_ids.get(&lit) {
                        Some(&id) => id,
                        None => {
                            let mut cs = lit.chars();
                            match (cs.next(), cs.next()) {
                                (Some(c), None) if is_punct(c) => b.canon(&lit),
                                _ => {
                                    let hint = b
                                        .surface_map
                                        .get(&lit)
                                        .and_then(|v| v.first())
                                        .map(|&c| {
                                            format!(
                                                "; it is a synonym of '{}', write the canonical form",
                                                classes[c as usize].canonical
                                            )
                                        })
                                        .unwrap_or_default();
                                    return Err(ForestError::UnknownLiteral {
                                        file: item.file.to_string(),
                                        item: item.kind,
                                        name: item.name.to_string(),
                                        literal: lit,
                                        hint,
                                    });
                                }
                            }
                        }
                    };
                    elems.push(CElem::Lit(id));
                    slots.push(None);
                }
            }
        }
        out.push(CPath { elems, slots });
    }
    Ok(out)
}
