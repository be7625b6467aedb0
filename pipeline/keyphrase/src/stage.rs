//! The `keyphrase` pipeline stage: the `k` best key phrases of each English document, one
//! `keyphrase` annotation each (label: the phrase; span: its first occurrence; score: the
//! ranker's raw score). The index keeps the labels as the `keyphrase` facet.
//!
//! ```toml
//! [pipeline]
//! stages = ["lang-detect", "keyphrase"]
//! [pipeline.settings.keyphrase]
//! model = "models/keyphrase-kpcrowd.json"   # required: `quarry keyphrases train --out ...`
//! k = 10
//! ```
//!
//! The document's fields are read in order as one text, one line each (the first field is the
//! title line the features look for), and every span is mapped back to its field.

use crate::model::Ranker;
use crate::Extractor;
use quarry_core::stage::{settings, Stage, StageError, StageRegistry};
use quarry_core::{Annotation, Document, Lang, Span};
use std::path::PathBuf;

/// The stage's name.
pub const NAME: &str = "keyphrase";

/// The annotation kind (the index's facet reads it).
pub const KIND: &str = "keyphrase";

/// The `keyphrase` stage.
pub struct KeyphraseStage {
    extractor: Extractor,
    k: usize,
}

impl KeyphraseStage {
    /// Builds the stage from its settings (`model` required, `k` optional).
    pub fn from_settings(t: &toml::Table) -> Result<Self, StageError> {
        settings::check_keys(t, &["model", "k"], NAME)?;
        let config = |message: String| StageError::Config {
            stage: NAME.into(),
            message,
        };
        let model = t
            .get("model")
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| config("'model' (a path to a model from `quarry keyphrases train --out FILE`) is required".into()))?;
        let k = match t.get("k") {
            None => 10,
            Some(v) => v
                .as_integer()
                .filter(|&k| (1..=1000).contains(&k))
                .ok_or_else(|| config("'k' must be an integer in 1..=1000".into()))?
                as usize,
        };
        let ranker = Ranker::load(&model).map_err(|e| StageError::Missing {
            stage: NAME.into(),
            message: e.to_string(),
        })?;
        Ok(KeyphraseStage {
            extractor: Extractor::new(ranker),
            k,
        })
    }

    /// A stage over an already loaded ranker.
    pub fn new(ranker: Ranker, k: usize) -> Self {
        KeyphraseStage {
            extractor: Extractor::new(ranker),
            k,
        }
    }
}

impl Stage for KeyphraseStage {
    fn name(&self) -> &str {
        NAME
    }

    fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
        for d in docs.iter_mut() {
            if matches!(d.effective_lang(), Lang::Zh) {
                continue; // the ranker is trained on English news
            }
            // fields as lines of one text; (field index, first char, char length)
            let mut text = String::new();
            let mut bounds = Vec::with_capacity(d.fields.len());
            let mut at = 0usize;
            for (i, f) in d.fields.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                    at += 1;
                }
                let n = f.text.chars().count();
                bounds.push((i, at, n));
                text.push_str(&f.text);
                at += n;
            }
            let mut found = Vec::new();
            for p in self.extractor.extract(&text, self.k) {
                let Some(first) = p.spans.first() else {
                    continue;
                };
                let Some(&(fi, start, n)) = bounds
                    .iter()
                    .find(|(_, s, n)| first.start >= *s && first.end <= s + n)
                else {
                    continue;
                };
                found.push(Annotation {
                    field: d.fields[fi].name.clone(),
                    span: Span::new(first.start - start, (first.end - start).min(n)),
                    kind: KIND.into(),
                    label: p.phrase,
                    source: NAME.into(),
                    score: Some(p.score as f32),
                    canonical: Some(p.key),
                });
            }
            d.annotations.extend(found);
        }
        Ok(())
    }
}

/// Registers the `keyphrase` stage.
pub fn register(registry: &mut StageRegistry) {
    registry.register(NAME, |t| Ok(Box::new(KeyphraseStage::from_settings(t)?)));
}
