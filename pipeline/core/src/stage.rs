//! The stage trait, a registry of stage constructors, and pipelines built from config.

use crate::document::Document;
use crate::lang::Lang;
use std::collections::BTreeMap;

/// Why a stage failed on a batch.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The stage could not be constructed from its configuration.
    #[error("stage '{stage}': bad configuration: {message}")]
    Config {
        /// Stage name.
        stage: String,
        /// What is wrong.
        message: String,
    },
    /// A resource (model, dictionary) the stage needs is missing.
    #[error("stage '{stage}': {message}")]
    Missing {
        /// Stage name.
        stage: String,
        /// What is missing and how to get it.
        message: String,
    },
    /// Processing a document failed.
    #[error("stage '{stage}' failed on document '{doc}': {message}")]
    Document {
        /// Stage name.
        stage: String,
        /// Document id.
        doc: String,
        /// What went wrong.
        message: String,
    },
    /// A pipeline names a stage nobody registered.
    #[error("unknown stage '{0}' (known: {1})")]
    Unknown(String, String),
}

/// Settings-table helpers shared by the stages' `from_settings`: every error is a
/// [`StageError::Config`] naming the stage and the key.
pub mod settings {
    use super::StageError;

    fn config(stage: &str, message: String) -> StageError {
        StageError::Config {
            stage: stage.into(),
            message,
        }
    }

    /// An error unless every key of `t` is one of `known`.
    pub fn check_keys(t: &toml::Table, known: &[&str], stage: &str) -> Result<(), StageError> {
        match t.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(config(
                stage,
                format!("unknown setting '{key}' ({})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// The list of strings at `key` (None when absent); anything else there is an error.
    pub fn string_list(
        t: &toml::Table,
        key: &str,
        stage: &str,
    ) -> Result<Option<Vec<String>>, StageError> {
        let bad = || config(stage, format!("'{key}' must be a list of strings"));
        match t.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad()),
        }
    }
}

/// One processing step. Stages see documents in batches so that model-backed stages can
/// batch inference; they modify documents in place (set the language, add annotations).
pub trait Stage: Send + Sync {
    /// The stage's registered name.
    fn name(&self) -> &str;
    /// Processes a batch of documents.
    fn process(&self, docs: &mut [Document]) -> Result<(), StageError>;
}

/// A constructor for a stage from its TOML settings table (a closure may carry what the
/// binary supplies, e.g. the linker's source of training mentions).
pub type StageFactory =
    std::sync::Arc<dyn Fn(&toml::Table) -> Result<Box<dyn Stage>, StageError> + Send + Sync>;

/// Maps stage names to constructors. Crates higher up register their stages here; the
/// service builds the pipeline named in `quarry.toml` from it.
#[derive(Clone)]
pub struct StageRegistry {
    factories: BTreeMap<String, StageFactory>,
}

impl Default for StageRegistry {
    fn default() -> Self {
        let mut r = StageRegistry {
            factories: BTreeMap::new(),
        };
        r.register("lang-detect", |_| Ok(Box::new(LangDetect)));
        r
    }
}

impl StageRegistry {
    /// Registers (or replaces) a stage constructor.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&toml::Table) -> Result<Box<dyn Stage>, StageError> + Send + Sync + 'static,
    ) {
        self.factories
            .insert(name.to_string(), std::sync::Arc::new(factory));
    }

    /// Registered stage names.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Builds one stage.
    pub fn build(&self, name: &str, settings: &toml::Table) -> Result<Box<dyn Stage>, StageError> {
        match self.factories.get(name) {
            Some(f) => f(settings),
            None => Err(StageError::Unknown(
                name.to_string(),
                self.names().join(", "),
            )),
        }
    }

    /// Builds a pipeline from stage names, each with its settings table (empty if absent).
    pub fn pipeline(
        &self,
        names: &[String],
        settings: &BTreeMap<String, toml::Table>,
    ) -> Result<Pipeline, StageError> {
        let empty = toml::Table::new();
        let stages = names
            .iter()
            .map(|n| self.build(n, settings.get(n).unwrap_or(&empty)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pipeline { stages })
    }
}

/// An ordered chain of stages.
#[derive(Default)]
pub struct Pipeline {
    stages: Vec<Box<dyn Stage>>,
}

impl Pipeline {
    /// A pipeline of the given stages.
    pub fn new(stages: Vec<Box<dyn Stage>>) -> Self {
        Pipeline { stages }
    }

    /// Names of the stages in order.
    pub fn stage_names(&self) -> Vec<&str> {
        self.stages.iter().map(|s| s.name()).collect()
    }

    /// Runs every stage over the batch, in order.
    pub fn run(&self, docs: &mut [Document]) -> Result<(), StageError> {
        self.run_timed(docs, |_, _| {})
    }

    /// [`Pipeline::run`], calling `timed(stage name, elapsed)` after each stage (the server's
    /// per-stage inference-time metrics).
    pub fn run_timed(
        &self,
        docs: &mut [Document],
        mut timed: impl FnMut(&str, std::time::Duration),
    ) -> Result<(), StageError> {
        for s in &self.stages {
            let _span = tracing::debug_span!("stage", name = s.name(), docs = docs.len()).entered();
            let started = std::time::Instant::now();
            s.process(docs)?;
            timed(s.name(), started.elapsed());
        }
        Ok(())
    }
}

/// Sets the language of documents that have none, from their script.
pub struct LangDetect;

impl Stage for LangDetect {
    fn name(&self) -> &str {
        "lang-detect"
    }
    fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
        for d in docs.iter_mut() {
            if d.lang == Lang::Unknown {
                d.lang = Lang::detect(&d.full_text());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod settings_tests {
    use super::settings::*;

    #[test]
    fn keys_and_string_lists_are_checked() {
        let t: toml::Table = "a = [\"x\", \"y\"]\nb = 3\nc = [1]".parse().unwrap();
        assert!(check_keys(&t, &["a", "b", "c"], "s").is_ok());
        let e = check_keys(&t, &["a", "b"], "s").unwrap_err().to_string();
        assert!(
            e.contains("unknown setting 'c' (a, b)") && e.contains("'s'"),
            "{e}"
        );
        assert_eq!(
            string_list(&t, "a", "s").unwrap(),
            Some(vec!["x".into(), "y".into()])
        );
        assert_eq!(string_list(&t, "z", "s").unwrap(), None);
        for key in ["b", "c"] {
            let e = string_list(&t, key, "s").unwrap_err().to_string();
            assert!(
                e.contains(&format!("'{key}' must be a list of strings")),
                "{e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Upper;
    impl Stage for Upper {
        fn name(&self) -> &str {
            "upper-title"
        }
        fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
            for d in docs {
                if let Some(t) = d.title().map(str::to_uppercase) {
                    d.set_field("title", t);
                }
            }
            Ok(())
        }
    }

    #[test]
    fn pipeline_runs_registered_stages_in_order() {
        let mut reg = StageRegistry::default();
        reg.register("upper-title", |_| Ok(Box::new(Upper)));
        let p = reg
            .pipeline(
                &["lang-detect".to_string(), "upper-title".to_string()],
                &BTreeMap::new(),
            )
            .unwrap();
        assert_eq!(p.stage_names(), vec!["lang-detect", "upper-title"]);
        let mut docs = vec![
            Document::new("1").with_field("title", "liver scan"),
            Document::new("2").with_field("title", "肝脏扫描"),
        ];
        p.run(&mut docs).unwrap();
        assert_eq!(docs[0].lang, Lang::En);
        assert_eq!(docs[0].title(), Some("LIVER SCAN"));
        assert_eq!(docs[1].lang, Lang::Zh);
    }

    #[test]
    fn unknown_stage_is_an_error_naming_the_known_ones() {
        let reg = StageRegistry::default();
        let err = reg
            .pipeline(&["nope".to_string()], &BTreeMap::new())
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(msg.contains("nope") && msg.contains("lang-detect"), "{msg}");
    }
}
