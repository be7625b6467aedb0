//! The `ner` pipeline stage: runs an NER model over the analysis text of each field (the
//! normalized copy when the `normalize` stage made one) and adds one `entity` annotation
//! per entity, with its span mapped back to the ORIGINAL field text, the entity type as
//! label and the confidence as score.
//!
//! Settings (`[pipeline.settings.ner]` in `quarry.toml`, all optional):
//!
//! ```toml
//! model = "ner-clinical-zh"   # a name (QUARRY_ARTIFACTS, models/artifacts) or a directory
//! fields = ["body"]           # fields to tag (default: every field)
//! batch_size = 32
//! threads = 1                 # ONNX Runtime intra-op threads
//! sessions = 2                # concurrent callers (default: cores / threads)
//! max_chars = 512             # default: the model's config.json
//! ```

use crate::model::{NerModel, NerOptions, DEFAULT_MODEL};
use quarry_core::stage::{settings, Stage, StageError, StageRegistry};
use quarry_core::{Annotation, Document, Span};

/// The stage's name in pipelines.
pub const NAME: &str = "ner";

/// The annotation kind written by the stage.
pub const KIND: &str = "entity";

/// The NER stage.
pub struct NerStage {
    model: NerModel,
    fields: Vec<String>,
    source: String,
}

impl NerStage {
    /// A stage running `model` over `fields` (every field when empty).
    pub fn new(model: NerModel, fields: Vec<String>) -> Self {
        let source = format!("{NAME}:{}", model.config().name_or(model.name()));
        NerStage {
            model,
            fields,
            source,
        }
    }

    /// Builds the stage from its settings table.
    pub fn from_settings(t: &toml::Table) -> Result<Self, StageError> {
        let err = |message: String| StageError::Config {
            stage: NAME.into(),
            message,
        };
        settings::check_keys(
            t,
            &[
                "model",
                "fields",
                "batch_size",
                "threads",
                "sessions",
                "max_chars",
            ],
            NAME,
        )?;
        let model = match t.get("model") {
            None => DEFAULT_MODEL.to_string(),
            Some(v) => v
                .as_str()
                .ok_or_else(|| err("'model' must be a string".into()))?
                .to_string(),
        };
        let fields = settings::string_list(t, "fields", NAME)?.unwrap_or_default();
        let count = |key: &str| -> Result<Option<usize>, StageError> {
            match t.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_integer()
                    .filter(|&n| n >= 1)
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| err(format!("'{key}' must be an integer >= 1"))),
            }
        };
        let mut opts = NerOptions::default();
        if let Some(n) = count("batch_size")? {
            opts.batch_size = n;
        }
        if let Some(n) = count("threads")? {
            opts.threads = n;
        }
        // concurrent callers (the server): as many sessions as the cores keep busy
        opts.sessions = match count("sessions")? {
            Some(n) => n,
            None => quarry_models::pool::sessions_for_cores(opts.threads),
        };
        opts.max_chars = count("max_chars")?;
        let model = NerModel::load(&model, &opts).map_err(|e| StageError::Missing {
            stage: NAME.into(),
            message: e.to_string(),
        })?;
        Ok(Self::new(model, fields))
    }

    /// The model.
    pub fn model(&self) -> &NerModel {
        &self.model
    }

    fn wants(&self, field: &str) -> bool {
        self.fields.is_empty() || self.fields.iter().any(|f| f == field)
    }
}

impl Stage for NerStage {
    fn name(&self) -> &str {
        NAME
    }

    fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
        // One predict call for the whole batch of documents: (doc, field index) per text.
        let mut keys: Vec<(usize, usize)> = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        for (di, d) in docs.iter().enumerate() {
            for (fi, f) in d.fields.iter().enumerate() {
                if self.wants(&f.name) {
                    let t = d.analysis_text(f);
                    if !t.is_empty() {
                        keys.push((di, fi));
                        texts.push(t);
                    }
                }
            }
        }
        if texts.is_empty() {
            return Ok(());
        }
        let found = self
            .model
            .predict(&texts)
            .map_err(|e| StageError::Document {
                stage: NAME.into(),
                doc: docs[keys[0].0].id.clone(),
                message: e.to_string(),
            })?;
        for ((di, fi), entities) in keys.into_iter().zip(found) {
            let d = &mut docs[di];
            let field = d.fields[fi].name.clone();
            let norm = d.normalized.get(&field);
            let new: Vec<Annotation> = entities
                .into_iter()
                .map(|e| {
                    let span = Span::new(e.start, e.end);
                    Annotation {
                        field: field.clone(),
                        span: norm.map_or(span, |n| n.to_original(span)),
                        kind: KIND.into(),
                        label: e.label,
                        source: self.source.clone(),
                        score: Some(e.confidence),
                        canonical: None,
                    }
                })
                .collect();
            d.annotations.extend(new);
        }
        Ok(())
    }
}

/// Registers the `ner` stage.
pub fn register(registry: &mut StageRegistry) {
    registry.register(NAME, |t| Ok(Box::new(NerStage::from_settings(t)?)));
}
