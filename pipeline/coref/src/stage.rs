//! The `coref` pipeline stage: one `coref` annotation per entity mention, labelled with the
//! entity's canonical form (English: alias rules; Chinese: the DAHSF forest named by
//! `forest`, when set).
//!
//! ```toml
//! [pipeline]
//! stages = ["lang-detect", "coref"]
//! [pipeline.settings.coref]
//! forest = "radiology"          # optional: bundled forest domain for Chinese documents
//! labels = ["ANATOMY", "FINDING"] # optional: forest labels that are entities
//! ```

use crate::chinese::{resolve_with_forest, DEFAULT_LABELS};
use quarry_core::stage::{settings, Stage, StageError, StageRegistry};
use quarry_core::{Annotation, Document, Lang};
use quarry_normalize::dahsf::{bundled_forest_root, Engine, Forest};

/// The stage's name.
pub const NAME: &str = "coref";

/// The annotation kind.
pub const KIND: &str = "coref";

/// The `coref` stage.
pub struct CorefStage {
    engine: Option<Engine>,
    labels: Vec<String>,
}

impl CorefStage {
    /// Builds the stage from its settings.
    pub fn from_settings(t: &toml::Table) -> Result<Self, StageError> {
        settings::check_keys(t, &["forest", "labels"], NAME)?;
        let engine = match t.get("forest") {
            None => None,
            Some(v) => {
                let name = v.as_str().ok_or_else(|| StageError::Config {
                    stage: NAME.into(),
                    message: "'forest' must be a string (a bundled domain such as \"radiology\")"
                        .into(),
                })?;
                if name.contains(['/', '\\', '.']) {
                    return Err(StageError::Config {
                        stage: NAME.into(),
                        message: format!("'forest' must be a domain name, not a path: {name:?}"),
                    });
                }
                let dir = bundled_forest_root().join(name);
                let forest = Forest::load_dir(&dir).map_err(|e| StageError::Missing {
                    stage: NAME.into(),
                    message: format!("forest {name:?} ({}): {e}", dir.display()),
                })?;
                Some(Engine::new(forest))
            }
        };
        let labels = settings::string_list(t, "labels", NAME)?
            .unwrap_or_else(|| DEFAULT_LABELS.iter().map(|s| s.to_string()).collect());
        Ok(CorefStage { engine, labels })
    }
}

impl Stage for CorefStage {
    fn name(&self) -> &str {
        NAME
    }

    fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
        let labels: Vec<&str> = self.labels.iter().map(String::as_str).collect();
        for d in docs.iter_mut() {
            let lang = d.effective_lang();
            let mut found = Vec::new();
            for f in &d.fields {
                let r = match (lang, &self.engine) {
                    (Lang::Zh, Some(engine)) => resolve_with_forest(&f.text, engine, &labels),
                    (Lang::Zh, None) => continue,
                    _ => crate::resolve_english(&f.text),
                };
                for c in &r.clusters {
                    for m in &c.mentions {
                        found.push(Annotation {
                            field: f.name.clone(),
                            span: quarry_core::Span::new(m.start, m.end),
                            kind: KIND.into(),
                            label: c.canonical.clone(),
                            source: NAME.into(),
                            score: None,
                            canonical: None,
                        });
                    }
                }
            }
            d.annotations.extend(found);
        }
        Ok(())
    }
}

/// Registers the `coref` stage.
pub fn register(registry: &mut StageRegistry) {
    registry.register(NAME, |t| Ok(Box::new(CorefStage::from_settings(t)?)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotates_english_and_chinese() {
        let mut reg = StageRegistry::default();
        register(&mut reg);
        let t: toml::Table = toml::from_str("forest = \"radiology\"").unwrap();
        let stage = reg.build(NAME, &t).unwrap();
        let mut docs = vec![
            Document::new("a")
                .with_lang(Lang::En)
                .with_field("body", "Jane Smith spoke. Smith left."),
            Document::new("b")
                .with_lang(Lang::Zh)
                .with_field("body", "右肝叶见低密度灶。肝右叶囊肿。"),
        ];
        stage.process(&mut docs).unwrap();
        let labels: Vec<&str> = docs[0]
            .annotations
            .iter()
            .map(|a| a.label.as_str())
            .collect();
        assert_eq!(labels, ["Jane Smith", "Jane Smith"]);
        assert_eq!(docs[0].annotations[1].span, quarry_core::Span::new(18, 23));
        assert!(
            docs[1]
                .annotations
                .iter()
                .filter(|a| a.label == "肝右叶")
                .count()
                == 2
        );
    }

    #[test]
    fn bad_settings() {
        let t: toml::Table = toml::from_str("forest = \"../etc\"").unwrap();
        assert!(CorefStage::from_settings(&t).is_err());
        let t: toml::Table = toml::from_str("forest = \"nope\"").unwrap();
        assert!(matches!(
            CorefStage::from_settings(&t),
            Err(StageError::Missing { .. })
        ));
        let t: toml::Table = toml::from_str("colour = 1").unwrap();
        let e = CorefStage::from_settings(&t)
            .err()
            .expect("unknown key refused");
        assert!(e.to_string().contains("unknown setting"));
    }
}
