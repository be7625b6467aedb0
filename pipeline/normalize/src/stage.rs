//! The `normalize` pipeline stage: runs the normalizer chain (and the canonical size form)
//! over every field, stores the normalized copy with its offset map on the document, and,
//! for configured DAHSF domains, adds word and frame annotations whose spans point into the
//! original field text.
//!
//! Settings (`[pipeline.settings.normalize]` in `quarry.toml`, all optional):
//!
//! ```toml
//! chain = ["width", "nfkc", "punct", "t2s", "case"]   # normalizers, in order
//! measurements = true                                # 3.2 x 2.8 CM -> 3.2cm×2.8cm
//! domains = ["radiology"]                            # DAHSF forests to digest with
//! forests = "data/forests"                           # where the domain directories are
//! ```

use crate::chain::NormalizerChain;
use crate::dahsf::{bundled_forest_root, ForestSet};
use crate::tn::canonical_measurements;
use quarry_core::stage::{settings, Stage, StageError, StageRegistry};
use quarry_core::{Document, NormalizedText};
use std::path::PathBuf;

/// The stage's name in pipelines.
pub const NAME: &str = "normalize";

/// Text normalization for indexing and later stages.
pub struct Normalizer {
    chain: NormalizerChain,
    measurements: bool,
    forests: Option<ForestSet>,
    domains: Vec<String>,
}

impl Normalizer {
    /// The default chain with canonical sizes and no DAHSF domain.
    pub fn new() -> Self {
        Normalizer {
            chain: NormalizerChain::default_chain(),
            measurements: true,
            forests: None,
            domains: Vec::new(),
        }
    }

    /// Builds the stage from its settings table.
    pub fn from_settings(t: &toml::Table) -> Result<Self, StageError> {
        let err = |message: String| StageError::Config {
            stage: NAME.into(),
            message,
        };
        settings::check_keys(t, &["chain", "measurements", "domains", "forests"], NAME)?;
        let strings = |key: &str| settings::string_list(t, key, NAME);
        let chain = match strings("chain")? {
            Some(names) => NormalizerChain::from_names(&names).map_err(|e| err(e.to_string()))?,
            None => NormalizerChain::default_chain(),
        };
        let measurements = match t.get("measurements") {
            None => true,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| err("'measurements' must be true or false".into()))?,
        };
        let domains = strings("domains")?.unwrap_or_default();
        let forests = if domains.is_empty() {
            None
        } else {
            let root = match t.get("forests") {
                Some(v) => PathBuf::from(
                    v.as_str()
                        .ok_or_else(|| err("'forests' must be a path".into()))?,
                ),
                None => bundled_forest_root(),
            };
            let names: Vec<&str> = domains.iter().map(String::as_str).collect();
            let set = ForestSet::open_domains(&root, &names).map_err(|e| StageError::Missing {
                stage: NAME.into(),
                message: format!("cannot load DAHSF forests from {}: {e}", root.display()),
            })?;
            Some(set)
        };
        Ok(Normalizer {
            chain,
            measurements,
            forests,
            domains,
        })
    }

    /// The text normalization of a settings table without its DAHSF domains: what queries
    /// and `quarry normalize` use.
    pub fn text_only_from_settings(t: &toml::Table) -> Result<Self, StageError> {
        let mut t = t.clone();
        t.remove("domains");
        t.remove("forests");
        Self::from_settings(&t)
    }

    /// Normalizes one text; the result maps back to `text`.
    pub fn normalize(&self, text: &str) -> NormalizedText {
        let n = self.chain.normalize(text);
        if !self.measurements {
            return n;
        }
        let m = canonical_measurements(&n.text);
        if m.text == n.text {
            return n;
        }
        NormalizedText {
            map: n.map.then(&m.map),
            text: m.text,
        }
    }

    /// The normalized text only (for queries).
    pub fn normalize_str(&self, text: &str) -> String {
        self.normalize(text).text
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Stage for Normalizer {
    fn name(&self) -> &str {
        NAME
    }

    fn process(&self, docs: &mut [Document]) -> Result<(), StageError> {
        for d in docs.iter_mut() {
            let mut annotations = Vec::new();
            for f in &d.fields {
                let n = self.normalize(&f.text);
                if let Some(set) = &self.forests {
                    for domain in &self.domains {
                        if let Some(engine) = set.get(domain) {
                            let digest = engine.digest_mapped(&f.text, &n);
                            annotations
                                .extend(digest.to_annotations(&f.name, &format!("dahsf:{domain}")));
                        }
                    }
                }
                if n.text != f.text {
                    d.normalized.insert(f.name.clone(), n);
                }
            }
            d.annotations.extend(annotations);
        }
        Ok(())
    }
}

/// Registers the `normalize` stage.
pub fn register(registry: &mut StageRegistry) {
    registry.register(NAME, |t| Ok(Box::new(Normalizer::from_settings(t)?)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_core::Span;

    #[test]
    fn stage_normalizes_fields_and_maps_back() {
        let s = Normalizer::new();
        let mut docs = vec![
            Document::new("r1").with_field("body", "右腎見低密度影，大小約３.２ x ２.８ CM。")
        ];
        s.process(&mut docs).unwrap();
        let n = &docs[0].normalized["body"];
        assert!(n.text.contains("右肾"), "{}", n.text);
        assert!(n.text.contains("3.2cm×2.8cm"), "{}", n.text);
        // The canonical size maps back to the original surface.
        let start = n.text.chars().position(|c| c == '3').unwrap();
        let len = "3.2cm×2.8cm".chars().count();
        let orig = n.to_original(Span::new(start, start + len));
        assert_eq!(
            orig.slice(&docs[0].fields[0].text),
            Some("３.２ x ２.８ CM")
        );
    }

    #[test]
    fn settings_are_validated() {
        let t: toml::Table = toml::from_str("chain = [\"width\", \"nope\"]").unwrap();
        assert!(Normalizer::from_settings(&t)
            .err()
            .unwrap()
            .to_string()
            .contains("nope"));
        let t: toml::Table = toml::from_str("measurment = true").unwrap();
        assert!(Normalizer::from_settings(&t).is_err());
        let t: toml::Table =
            toml::from_str("domains = [\"radiology\"]\nforests = \"/nonexistent\"").unwrap();
        let e = Normalizer::from_settings(&t).err().unwrap().to_string();
        assert!(e.contains("/nonexistent"), "{e}");
    }
}
