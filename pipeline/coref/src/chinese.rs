//! Chinese co-reference normalization.
//!
//! * [`resolve_with_forest`]: every lexicon word a DAHSF forest finds (`右肝叶`, `肝右叶`,
//!   `右肝`) is a mention of the entity named by its synonym class's canonical form
//!   (`肝右叶`); mentions of one (label, canonical) pair form a cluster.
//! * [`resolve_tagged`]: mentions come from a tagger (the NER stage's entities) plus the
//!   forest's words outside them. A mention's key is the forest's reading of it (each
//!   lexicon word replaced by its canonical form: `右肝叶囊肿` and `肝右叶囊肿` read alike);
//!   mentions of one type class and key form a cluster, and a short mention whose characters
//!   appear in order in exactly one longer mention of its type, starting with the same
//!   character, joins it (the usual way Chinese abbreviates: `慢阻肺` in `慢性阻塞性肺疾病`,
//!   `冠心病` in `冠状动脉粥样硬化性心脏病`, `左肾` in `左侧肾脏`).

use crate::{rewrite, Cluster, Mention, Resolution};
use quarry_core::Span;
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

/// A typed span found by a tagger: character offsets into the text and the entity type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedSpan {
    /// Character span.
    pub span: Span,
    /// Entity type (`ANATOMY`, `DISEASE`, `OPERATION`, ...).
    pub label: String,
}

/// Types that name the same kind of entity in the NER models and the forests.
fn type_class(label: &str) -> &str {
    match label {
        "FINDING" | "DISEASE" => "DISEASE",
        "OPERATION" | "PROCEDURE" => "PROCEDURE",
        "TESTIMAGE" | "TESTLAB" | "TEST" => "TEST",
        other => other,
    }
}

/// `short`'s characters appear in order in `long`, which starts with the same character.
fn abbreviates(short: &[char], long: &[char]) -> bool {
    if short.len() < 2 || short.len() >= long.len() || short[0] != long[0] {
        return false;
    }
    let mut it = long.iter();
    short.iter().all(|c| it.any(|l| l == c))
}

/// Resolves a Chinese text whose mentions a tagger found (see the module docs); the forest,
/// when given, reads mentions and adds its own words (labels in `labels`) where no tagged
/// mention lies.
pub fn resolve_tagged(
    text: &str,
    tagged: &[TaggedSpan],
    engine: Option<&Engine>,
    labels: &[&str],
) -> Resolution {
    let chars: Vec<char> = text.chars().collect();
    let mut spans: Vec<(Span, String)> = tagged
        .iter()
        .filter(|t| t.span.start < t.span.end && t.span.end <= chars.len())
        .map(|t| (t.span, t.label.clone()))
        .collect();
    if let Some(engine) = engine {
        let mut extra = Vec::new();
        engine.layer1_with(text, |w| {
            if w.layer == 1
                && labels.contains(&w.label)
                && !spans
                    .iter()
                    .any(|(s, _)| s.start < w.span.end && w.span.start < s.end)
            {
                extra.push((w.span, w.label.to_string()));
            }
        });
        spans.extend(extra);
    }
    spans.sort_by_key(|(s, _)| (s.start, s.end));
    spans.dedup_by(|a, b| a.0.start < b.0.end && b.0.start < a.0.end); // keep the first of overlapping spans
                                                                       // the forest's reading of each mention
    let read = |surface: &str| -> String {
        match engine {
            Some(e) => {
                let mut key = String::new();
                e.layer1_with(surface, |w| key.push_str(w.canonical));
                key
            }
            None => surface.to_string(),
        }
    };
    struct Entity {
        class: String,
        key: Vec<char>,
        canonical: String,
        mentions: Vec<Mention>,
    }
    let mut ents: Vec<Entity> = Vec::new();
    for (span, label) in spans {
        let surface: String = chars[span.start..span.end].iter().collect();
        let key: Vec<char> = read(&surface).chars().collect();
        let class = type_class(&label).to_string();
        let mention = Mention {
            start: span.start,
            name_start: span.start,
            end: span.end,
            text: surface.clone(),
            name: surface,
        };
        let same = ents.iter().position(|e| e.class == class && e.key == key);
        let target = same.or_else(|| {
            let hits: Vec<usize> = (0..ents.len())
                .filter(|&i| {
                    ents[i].class == class
                        && (abbreviates(&key, &ents[i].key) || abbreviates(&ents[i].key, &key))
                })
                .collect();
            (hits.len() == 1).then(|| hits[0])
        });
        match target {
            Some(i) => {
                let e = &mut ents[i];
                if key.len() > e.key.len() {
                    e.key = key.clone();
                    e.canonical = key.iter().collect();
                }
                e.mentions.push(mention);
            }
            None => ents.push(Entity {
                class,
                canonical: key.iter().collect(),
                key,
                mentions: vec![mention],
            }),
        }
    }
    let clusters: Vec<Cluster> = ents
        .into_iter()
        .map(|e| Cluster {
            canonical: e.canonical,
            mentions: e.mentions,
        })
        .collect();
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
    fn tagged_mentions_abbreviations_and_forest_readings() {
        let t = "患者有慢性阻塞性肺疾病史。慢阻肺急性加重。右肝叶囊肿，肝右叶囊肿较前相仿。左侧肾脏正常，左肾无积水。";
        let chars: Vec<char> = t.chars().collect();
        let tag = |s: &str, label: &str, nth: usize| {
            let start = t
                .match_indices(s)
                .nth(nth)
                .map(|(b, _)| t[..b].chars().count())
                .unwrap();
            TaggedSpan {
                span: Span::new(start, start + s.chars().count()),
                label: label.into(),
            }
        };
        let tagged = vec![
            tag("慢性阻塞性肺疾病", "DISEASE", 0),
            tag("慢阻肺", "DISEASE", 0),
            tag("右肝叶囊肿", "DISEASE", 0),
            tag("肝右叶囊肿", "DISEASE", 0),
            tag("左侧肾脏", "ANATOMY", 0),
            tag("左肾", "ANATOMY", 0),
        ];
        let r = resolve_tagged(t, &tagged, Some(&radiology()), DEFAULT_LABELS);
        let groups: Vec<Vec<&str>> = r
            .clusters
            .iter()
            .map(|c| c.mentions.iter().map(|m| m.text.as_str()).collect())
            .collect();
        assert!(
            groups.contains(&vec!["慢性阻塞性肺疾病", "慢阻肺"]),
            "{groups:?}"
        );
        assert!(
            groups.contains(&vec!["右肝叶囊肿", "肝右叶囊肿"]),
            "{groups:?}"
        );
        assert!(groups.contains(&vec!["左侧肾脏", "左肾"]), "{groups:?}");
        for c in &r.clusters {
            for m in &c.mentions {
                assert_eq!(chars[m.start..m.end].iter().collect::<String>(), m.text);
            }
        }
        // without a forest the word-order variants stay apart
        let r = resolve_tagged(t, &tagged, None, DEFAULT_LABELS);
        assert!(r
            .clusters
            .iter()
            .all(|c| !(c.mentions.iter().any(|m| m.text == "右肝叶囊肿")
                && c.mentions.iter().any(|m| m.text == "肝右叶囊肿"))));
        // out-of-range spans are ignored, not a panic
        let bad = vec![TaggedSpan {
            span: Span::new(5, 500),
            label: "DISEASE".into(),
        }];
        let _ = resolve_tagged(t, &bad, None, DEFAULT_LABELS);
    }

    #[test]
    fn abbreviation_rule() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(abbreviates(&c("冠心病"), &c("冠状动脉粥样硬化性心脏病")));
        assert!(
            !abbreviates(&c("心病"), &c("冠状动脉粥样硬化性心脏病")),
            "must start alike"
        );
        assert!(!abbreviates(&c("左肾"), &c("左肾")));
        assert!(!abbreviates(&c("右肾"), &c("左侧肾脏")));
    }

    #[test]
    fn empty_text() {
        let r = resolve_with_forest("", &radiology(), DEFAULT_LABELS);
        assert!(r.clusters.is_empty());
    }
}
