//! The `link` pipeline stage: maps the entities an earlier stage found (`entity`
//! annotations, e.g. from `ner`) to concepts of a terminology, and adds one `concept`
//! annotation per linked entity: the same field and span, the concept id as label, the
//! preferred name as `canonical`, the generator's score as score, and `link:<terminology>`
//! as source. The index stores these as the `concept` facet (`<terminology>:<id>`), so that
//! search can filter and count by concept.
//!
//! Settings (`[pipeline.settings.link]` in `quarry.toml`):
//!
//! ```toml
//! terminology = "icd10-zh"  # icd10-zh | procedures | esco | onet; or
//! # task = "chip-cdn"       # a linking task's terminology, keyed as its gold
//! # path = "..."            # the terminology file instead of the shared data's
//! types = ["疾病和诊断"]     # entity labels to link (default: every entity)
//! min_score = 0.5           # generator score below which an entity stays unlinked
//! system = "ngram"          # ngram | dense | ensemble (+forest) (+memory: with 'task',
//!                           # the task's training mentions join the terminology;
//!                           # +prior: favour the concepts they name often)
//! ngram_weight = 0.2        # the n-gram share of the ensemble score
//! dense_model = "..."       # the dense generator's sentence encoder (default: the task's,
//!                           # else the terminology's: multilingual-e5-small for the
//!                           # Chinese ones, all-minilm-l6-v2:fp32 for the English ones)
//! ```
//!
//! With `task`, an entity links to the task's answer set ([`Task::set_rule`]: several
//! concepts for CHIP-CDN), one `concept` annotation each.
//!
//! The dense generators load all-MiniLM-L6-v2 from the model home (`$QUARRY_HOME`, as
//! `quarry models fetch` provisions it) and cache the terminology's embeddings there.

use crate::linker::{Generator, Linker, System, DEFAULT_NGRAM_WEIGHT};
use crate::multi::SetRule;
use crate::task::Task;
use crate::terminology::LabelledMention;
use crate::terminology::TerminologySource;
use quarry_core::stage::{settings, Stage, StageError, StageRegistry};
use quarry_core::{Annotation, Document};
use std::path::PathBuf;

/// The stage's name in pipelines.
pub const NAME: &str = "link";

/// The annotation kind written by the stage.
pub const KIND: &str = "concept";

/// The annotation kind the stage links.
pub const ENTITY_KIND: &str = "entity";

/// Where `+memory` finds a task's labelled training mentions (`(mention, gold keys)`): the
/// binary supplies it ([`register_with_memory`]), since reading the tasks' gold formats is
/// the evaluation crate's business, not the linker's.
pub type MemorySource =
    std::sync::Arc<dyn Fn(Task) -> Result<Vec<LabelledMention>, String> + Send + Sync>;

/// The linking stage.
#[derive(Debug)]
pub struct LinkStage {
    linker: Linker,
    generator: Generator,
    types: Vec<String>,
    min_score: f32,
    source: String,
    rule: SetRule,
}

impl LinkStage {
    /// A stage linking entities of `types` (every type when empty) with `linker`'s
    /// `generator`, keeping links scored at least `min_score`.
    pub fn new(linker: Linker, generator: Generator, types: Vec<String>, min_score: f32) -> Self {
        let source = format!("{NAME}:{}", linker.terminology().name());
        LinkStage {
            linker,
            generator,
            types,
            min_score,
            source,
            rule: SetRule::SINGLE,
        }
    }

    /// Links each entity to the answer set `rule` sizes instead of the top concept alone.
    pub fn with_set_rule(mut self, rule: SetRule) -> Self {
        self.rule = rule;
        self
    }

    /// Builds the stage from its settings table (see the module docs); `+memory` is an
    /// error here (no [`MemorySource`]): see [`LinkStage::from_settings_with`].
    pub fn from_settings(t: &toml::Table) -> Result<Self, StageError> {
        Self::from_settings_with(t, None)
    }

    /// [`LinkStage::from_settings`], reading `+memory`'s mentions from `memory`.
    pub fn from_settings_with(
        t: &toml::Table,
        memory: Option<&MemorySource>,
    ) -> Result<Self, StageError> {
        let err = |message: String| StageError::Config {
            stage: NAME.into(),
            message,
        };
        settings::check_keys(
            t,
            &[
                "terminology",
                "task",
                "path",
                "types",
                "min_score",
                "system",
                "ngram_weight",
                "dense_model",
            ],
            NAME,
        )?;
        let string = |key: &str| -> Result<Option<&str>, StageError> {
            match t.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(Some)
                    .ok_or_else(|| err(format!("'{key}' must be a string"))),
            }
        };
        let number = |key: &str, default: f32| -> Result<f32, StageError> {
            match t.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .map(|x| x as f32)
                    .ok_or_else(|| err(format!("'{key}' must be a number"))),
            }
        };
        let system: System = string("system")?
            .unwrap_or("ngram")
            .parse()
            .map_err(|e: crate::LinkError| err(e.to_string()))?;
        let types = settings::string_list(t, "types", NAME)?.unwrap_or_default();
        let missing = |e: crate::LinkError| StageError::Missing {
            stage: NAME.into(),
            message: e.to_string(),
        };
        let shared = quarry_core::shared_data::dir();
        let (linker, rule, dense_model) = match (string("terminology")?, string("task")?) {
            (Some(name), None) => {
                if system.memory {
                    return Err(err(
                        "+memory adds a task's training mentions: set 'task', not 'terminology'"
                            .into(),
                    ));
                }
                let source = TerminologySource::parse(name).map_err(|e| err(e.to_string()))?;
                let path = string("path")?.map(PathBuf::from);
                let linker =
                    Linker::open(source, path.as_deref(), &shared, false).map_err(missing)?;
                (linker, SetRule::SINGLE, source.dense_model())
            }
            (None, Some(task)) => {
                let task = Task::parse(task).map_err(|e| err(e.to_string()))?;
                let pairs = match (system.memory, memory) {
                    (false, _) => Vec::new(),
                    (true, Some(source)) => source(task).map_err(|message| {
                        StageError::Missing {
                            stage: NAME.into(),
                            message,
                        }
                    })?,
                    (true, None) => {
                        return Err(err(
                            "+memory needs a source of training mentions, which this program does not provide".into(),
                        ))
                    }
                };
                let (linker, _) =
                    Linker::for_task_system(task, &shared, &system, task.prior_weight(), &pairs)
                        .map_err(missing)?;
                (linker, task.set_rule(), task.dense_model())
            }
            _ => {
                return Err(err(
                    "set exactly one of 'terminology' (icd10-zh, procedures, esco, onet, csco) and 'task' (chip-cdn, procedures, jobbert, csco)".into(),
                ))
            }
        };
        let linker = if system.generator.needs_dense() {
            let home = quarry_core::config::QuarryConfig::default().resolved_home();
            let registry = quarry_models::registry::Registry::new(
                quarry_models::Manifest::builtin(),
                quarry_models::ModelHome::new(&home),
            );
            let opts = quarry_models::EncoderOptions {
                batch_size: 64,
                max_length: 64,
                ..Default::default()
            };
            let weight = number("ngram_weight", DEFAULT_NGRAM_WEIGHT)?;
            let model = string("dense_model")?.unwrap_or(dense_model);
            linker
                .load_dense(
                    &registry,
                    model,
                    &opts,
                    &home.join("link-cache"),
                    weight,
                    |_, _| {},
                )
                .map_err(missing)?
        } else {
            linker
        };
        Ok(
            Self::new(linker, system.generator, types, number("min_score", 0.0)?)
                .with_set_rule(rule),
        )
    }

    /// The linker.
    pub fn linker(&self) -> &Linker {
        &self.linker
    }

    fn wants(&self, a: &Annotation) -> bool {
        a.kind == ENTITY_KIND && (self.types.is_empty() || self.types.contains(&a.label))
    }
}

impl Stage for LinkStage {
    fn name(&self) -> &str {
        NAME
    }

    fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
        // every wanted entity of the batch: (doc, annotation index, mention)
        let mut keys: Vec<(usize, usize)> = Vec::new();
        let mut mentions: Vec<String> = Vec::new();
        for (di, d) in docs.iter().enumerate() {
            for (ai, a) in d.annotations.iter().enumerate() {
                if !self.wants(a) {
                    continue;
                }
                let text = d
                    .fields
                    .iter()
                    .find(|f| f.name == a.field)
                    .and_then(|f| a.span.slice(&f.text));
                if let Some(m) = text.filter(|m| !m.trim().is_empty()) {
                    keys.push((di, ai));
                    mentions.push(m.to_string());
                }
            }
        }
        if mentions.is_empty() {
            return Ok(());
        }
        let refs: Vec<&str> = mentions.iter().map(String::as_str).collect();
        let found = self
            .linker
            .candidates_batch(&refs, self.rule.max.max(1), self.generator)
            .map_err(|e| StageError::Document {
                stage: NAME.into(),
                doc: docs[keys[0].0].id.clone(),
                message: e.to_string(),
            })?;
        for ((di, ai), mut cands) in keys.into_iter().zip(found) {
            if cands.first().is_none_or(|best| best.score < self.min_score) {
                continue;
            }
            cands.truncate(self.rule.size(&cands));
            let d = &mut docs[di];
            let (field, span) = (d.annotations[ai].field.clone(), d.annotations[ai].span);
            for c in cands {
                d.annotations.push(Annotation {
                    field: field.clone(),
                    span,
                    kind: KIND.into(),
                    label: c.id,
                    source: self.source.clone(),
                    score: Some(c.score),
                    canonical: Some(c.name),
                });
            }
        }
        Ok(())
    }
}

/// Registers the `link` stage (without a [`MemorySource`]: `+memory` is a config error).
pub fn register(registry: &mut StageRegistry) {
    registry.register(NAME, |t| Ok(Box::new(LinkStage::from_settings(t)?)));
}

/// Registers the `link` stage, `+memory` reading from `memory`.
pub fn register_with_memory(registry: &mut StageRegistry, memory: MemorySource) {
    registry.register(NAME, move |t| {
        Ok(Box::new(LinkStage::from_settings_with(t, Some(&memory))?))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ngram::NgramConfig;
    use crate::terminology::{Concept, Terminology};
    use quarry_core::Span;

    fn linker() -> Linker {
        let c = |id: &str, name: &str| Concept {
            id: id.into(),
            name: name.into(),
            synonyms: vec![],
            parent: None,
        };
        let t = Terminology::new(
            "t",
            vec![
                c("I10", "高血压"),
                c("E11", "2型糖尿病"),
                c("K76", "脂肪肝"),
            ],
        )
        .unwrap();
        Linker::new(t, NgramConfig { min_n: 1, max_n: 2 }, false)
    }

    fn entity(field: &str, start: usize, end: usize, label: &str) -> Annotation {
        Annotation {
            field: field.into(),
            span: Span::new(start, end),
            kind: ENTITY_KIND.into(),
            label: label.into(),
            source: "ner".into(),
            score: None,
            canonical: None,
        }
    }

    #[test]
    fn entities_get_concepts_with_their_spans() {
        let stage = LinkStage::new(linker(), Generator::Ngram, vec!["疾病".into()], 0.3);
        let mut d =
            Document::new("d1").with_field("body", "患者有高血压病史，伴2型糖尿病。肝脏正常。");
        d.annotations = vec![
            entity("body", 3, 7, "疾病"),   // 高血压病
            entity("body", 10, 15, "疾病"), // 2型糖尿病
            entity("body", 16, 18, "部位"), // 肝脏: not a wanted type
            entity("nope", 0, 2, "疾病"),   // no such field: skipped
        ];
        let mut docs = vec![d, Document::new("empty")];
        stage.process(&mut docs).unwrap();
        let concepts: Vec<&Annotation> = docs[0]
            .annotations
            .iter()
            .filter(|a| a.kind == KIND)
            .collect();
        assert_eq!(concepts.len(), 2, "{:?}", docs[0].annotations);
        assert_eq!(concepts[0].label, "I10");
        assert_eq!(concepts[0].canonical.as_deref(), Some("高血压"));
        assert_eq!(concepts[0].span, Span::new(3, 7));
        assert_eq!(concepts[0].source, "link:t");
        assert_eq!(concepts[1].label, "E11");
        assert!((concepts[1].score.unwrap() - 1.0).abs() < 1e-5);
        // a weak match stays unlinked under min_score
        let strict = LinkStage::new(linker(), Generator::Ngram, vec![], 0.99);
        let mut d = Document::new("d2").with_field("body", "高血压病");
        d.annotations = vec![entity("body", 0, 4, "疾病")];
        let mut docs = vec![d];
        strict.process(&mut docs).unwrap();
        assert!(docs[0].annotations.iter().all(|a| a.kind != KIND));
    }

    #[test]
    fn settings_are_checked() {
        let e = |s: &str| {
            LinkStage::from_settings(&s.parse::<toml::Table>().unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(e("colour = 1").contains("unknown setting 'colour'"));
        assert!(e("").contains("exactly one of"));
        assert!(e("terminology = \"snomed\"").contains("icd10-zh"));
        assert!(e("task = \"chip-cdn\"\nsystem = \"bm25\"").contains("ngram, dense, ensemble"));
        assert!(e("task = \"chip-cdn\"\ntypes = \"x\"").contains("list of strings"));
        assert!(e("terminology = \"icd10-zh\"\npath = \"/nonexistent.tsv\"")
            .contains("/nonexistent.tsv"));
        assert!(e("terminology = \"icd10-zh\"\nsystem = \"ngram+memory\"").contains("set 'task'"));
        assert!(e("task = \"chip-cdn\"\nsystem = \"ngram+memory\"")
            .contains("source of training mentions"));
    }

    #[test]
    fn an_answer_set_links_one_entity_to_several_concepts() {
        let mut t = linker().terminology().clone();
        let gold = vec!["高血压".to_string(), "2型糖尿病".to_string()];
        t.add_mentions([("糖高", gold.as_slice())], true);
        let l = Linker::new(t, NgramConfig { min_n: 1, max_n: 2 }, true);
        let stage = LinkStage::new(l, Generator::Ngram, vec![], 0.0)
            .with_set_rule(SetRule { ratio: 1.0, max: 4 });
        let mut d = Document::new("d").with_field("body", "诊断：糖高。");
        d.annotations = vec![entity("body", 3, 5, "疾病")];
        let mut docs = vec![d];
        stage.process(&mut docs).unwrap();
        let mut labels: Vec<&str> = docs[0]
            .annotations
            .iter()
            .filter(|a| a.kind == KIND)
            .map(|a| a.label.as_str())
            .collect();
        labels.sort();
        assert_eq!(labels, ["E11", "I10"], "{:?}", docs[0].annotations);
    }
}
