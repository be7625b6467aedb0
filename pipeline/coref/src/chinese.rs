//! Chinese co-reference normalization through the DAHSF forests: every lexicon word the
//! forest finds (`右肝叶`, `肝右叶`, `右肝`) is a mention of the entity named by its synonym
//! class's canonical form (`肝右叶`); mentions of one (label, canonical) pair form a cluster.

use crate::{rewrite, Cluster, Mention, Resolution};
use quarry_normalize::dahsf::Engine;

/// Forest labels whose words are entity mentions by default (anatomy and findings; the
/// radiology forest's other labels are descriptors, measurements and function words).
pub const DEFAULT_LABELS: &[&str] = &["ANATOMY", "DISEASE", "FINDING", "PROCEDURE", "DRUG", "TEST"];

/// Resolves the mentions of a Chinese text with `engine`'s forest, keeping words whose
/// label is in `labels`.
pub fn resolve_with_forest(text: &str, engine: &Engine, labels: &[&str]) -> Resolution {
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut index: std::collections::HashMap<(String, String), usize> = Default::default();
    engine.layer1_with(text, |w| {
        if w.layer != 1 || !labels.contains(&w.label) {
            return;
        }
        let key = (w.label.to_string(), w.canonical.to_string());
        let next = clusters.len();
        let slot = *index.entry(key).or_insert(next);
        if slot == next {
            clusters.push(Cluster {
                canonical: w.canonical.to_string(),
                mentions: Vec::new(),
            });
        }
        clusters[slot].mentions.push(Mention {
            start: w.span.start,
            name_start: w.span.start,
            end: w.span.end,
            text: w.surface.to_string(),
            name: w.surface.to_string(),
        });
    });
    let normalized = rewrite(text, &clusters);
    Resolution {
        clusters,
        normalized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_normalize::dahsf::Forest;

    fn radiology() -> Engine {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/forests/radiology");
        Engine::new(Forest::load_dir(dir).expect("radiology forest"))
    }

    #[test]
    fn word_order_variants_join() {
        let t = "右肝叶见一低密度灶。印象：肝右叶囊肿，左肝叶未见异常。";
        let r = resolve_with_forest(t, &radiology(), DEFAULT_LABELS);
        let liver_r = r
            .clusters
            .iter()
            .find(|c| c.canonical == "肝右叶")
            .expect("肝右叶 cluster");
        let texts: Vec<&str> = liver_r.mentions.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["右肝叶", "肝右叶"]);
        assert!(
            r.clusters.iter().any(|c| c.canonical == "肝左叶"),
            "the left lobe stays apart"
        );
        assert!(r.normalized.text.starts_with("肝右叶见"));
        // offsets into the original
        let chars: Vec<char> = t.chars().collect();
        for c in &r.clusters {
            for m in &c.mentions {
                assert_eq!(chars[m.start..m.end].iter().collect::<String>(), m.text);
            }
        }
    }

    #[test]
    fn empty_text() {
        let r = resolve_with_forest("", &radiology(), DEFAULT_LABELS);
        assert!(r.clusters.is_empty());
    }
}
