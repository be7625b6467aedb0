//! The multiplication rule: surface phrasings covered versus entries stored.

use super::forest::{CElem, CPath, CanonId, Forest, Join, LabelId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Coverage of one framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkCoverage {
    /// Framework name.
    pub name: String,
    /// Frame it produces.
    pub frame: String,
    /// Word sequences its pattern expands to.
    pub sequences: usize,
    /// Phrasings of the skeleton: literals count their surface forms, slots count 1.
    pub skeleton_phrasings: u64,
    /// Phrasings with every slot filled by any surface form of its label (data and `TEXT`
    /// slots, being open, count 1).
    pub surface_phrasings: u64,
}

/// The multiplication-rule figures of a forest (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Forest name.
    pub domain: String,
    /// Layer-1 classes.
    pub classes: usize,
    /// Layer-1 surface forms stored (canonical forms and synonyms).
    pub surface_forms: usize,
    /// Layer-2 phrase patterns stored.
    pub phrase_patterns: usize,
    /// Contextual rules stored.
    pub context_rules: usize,
    /// Frameworks stored.
    pub frameworks: usize,
    /// Everything stored: surface forms + phrase patterns + context rules + frameworks.
    pub stored_entries: usize,
    /// Sum over frameworks of [`FrameworkCoverage::skeleton_phrasings`].
    pub skeleton_phrasings: u64,
    /// Sum over frameworks of [`FrameworkCoverage::surface_phrasings`].
    pub surface_phrasings: u64,
    /// Per framework.
    pub per_framework: Vec<FrameworkCoverage>,
}

impl Coverage {
    /// Surface phrasings per stored entry.
    pub fn ratio(&self) -> f64 {
        if self.stored_entries == 0 {
            0.0
        } else {
            self.surface_phrasings as f64 / self.stored_entries as f64
        }
    }
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} entries stored ({} surface forms in {} classes, {} phrase patterns, {} context rules, {} frameworks) -> {} surface phrasings ({} skeleton phrasings), x{:.1}",
            self.domain,
            self.stored_entries,
            self.surface_forms,
            self.classes,
            self.phrase_patterns,
            self.context_rules,
            self.frameworks,
            self.surface_phrasings,
            self.skeleton_phrasings,
            self.ratio()
        )?;
        for fw in &self.per_framework {
            writeln!(
                f,
                "  {:<24} {:>4} sequences {:>8} skeleton {:>14} surface",
                fw.name, fw.sequences, fw.skeleton_phrasings, fw.surface_phrasings
            )?;
        }
        Ok(())
    }
}

struct Counts {
    by_label: HashMap<LabelId, u64>,
    by_canon: HashMap<CanonId, u64>,
}

impl Counts {
    fn elem(&self, e: CElem, slots_as_one: bool) -> u64 {
        match e {
            CElem::Label(_) if slots_as_one => 1,
            CElem::Label(l) => self
                .by_label
                .get(&l)
                .copied()
                .filter(|&c| c > 0)
                .unwrap_or(1),
            CElem::Lit(c) => self
                .by_canon
                .get(&c)
                .copied()
                .filter(|&c| c > 0)
                .unwrap_or(1),
        }
    }

    fn path(&self, p: &CPath, slots_as_one: bool) -> u64 {
        p.elems.iter().fold(1u64, |acc, &e| {
            acc.saturating_mul(self.elem(e, slots_as_one))
        })
    }

    fn list(&self, elems: &[CElem]) -> u64 {
        elems
            .iter()
            .fold(0u64, |acc, &e| acc.saturating_add(self.elem(e, false)))
    }
}

pub(crate) fn compute(f: &Forest) -> Coverage {
    let mut c = Counts {
        by_label: HashMap::new(),
        by_canon: HashMap::new(),
    };
    // layer 1
    for cl in &f.classes {
        let n = 1 + cl.synonyms.len() as u64;
        *c.by_label.entry(cl.label).or_default() += n;
        *c.by_canon.entry(cl.canon).or_default() += n;
    }
    // context rules, counted over layer-1 figures
    let mut add_label: Vec<(LabelId, u64)> = Vec::new();
    for r in &f.contexts {
        let words = c.list(&r.word);
        let n = match r.join {
            Join::None => words,
            Join::After => words.saturating_mul(c.list(&r.after)),
            Join::Before => words.saturating_mul(c.list(&r.before)),
        };
        if let Some(l) = r.label {
            add_label.push((l, n));
        }
    }
    for (l, n) in add_label {
        let e = c.by_label.entry(l).or_default();
        *e = e.saturating_add(n);
    }
    // phrases, counted over layer-1 and context figures
    let mut add_phrase: Vec<(LabelId, CanonId, u64)> = Vec::new();
    for ph in &f.phrases {
        let n = ph
            .paths
            .iter()
            .fold(0u64, |acc, p| acc.saturating_add(c.path(p, false)));
        add_phrase.push((ph.label, ph.canon, n));
    }
    for (l, k, n) in add_phrase {
        let e = c.by_label.entry(l).or_default();
        *e = e.saturating_add(n);
        let e = c.by_canon.entry(k).or_default();
        *e = e.saturating_add(n);
    }
    let per_framework: Vec<FrameworkCoverage> = f
        .frameworks
        .iter()
        .map(|fw| FrameworkCoverage {
            name: fw.name.clone(),
            frame: fw.frame.clone(),
            sequences: fw.paths.len(),
            skeleton_phrasings: fw
                .paths
                .iter()
                .fold(0u64, |acc, p| acc.saturating_add(c.path(p, true))),
            surface_phrasings: fw
                .paths
                .iter()
                .fold(0u64, |acc, p| acc.saturating_add(c.path(p, false))),
        })
        .collect();
    let surface_forms = f.surface_count();
    let phrase_patterns: usize = f.phrases.iter().map(|p| p.patterns).sum();
    Coverage {
        domain: f.name().to_string(),
        classes: f.classes.len(),
        surface_forms,
        phrase_patterns,
        context_rules: f.contexts.len(),
        frameworks: f.frameworks.len(),
        stored_entries: surface_forms + phrase_patterns + f.contexts.len() + f.frameworks.len(),
        skeleton_phrasings: per_framework
            .iter()
            .fold(0u64, |a, x| a.saturating_add(x.skeleton_phrasings)),
        surface_phrasings: per_framework
            .iter()
            .fold(0u64, |a, x| a.saturating_add(x.surface_phrasings)),
        per_framework,
    }
}
