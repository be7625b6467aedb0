//! Co-reference normalization of named entities inside one document.
//!
//! English ([`resolve_english`]):
//! 1. **Mentions** ([`mentions`]): runs of capitalized words (with `of`, `the`, `and`, `for`,
//!    `de`, `van`, `von`, `&` inside a run), acronyms, minus sentence-initial function words,
//!    month and weekday names, and a possessive `'s`. A leading title (`President`, `Dr.`,
//!    `Ms.` ...) stays in the mention but not in its *name*. A rule-based detector: no
//!    pretrained English NER can be fetched here (no model hub; no pinned package carries one),
//!    and capitalization carries most of the signal in edited news text.
//! 2. **Clusters** ([`cluster`]): a mention joins an earlier entity when its name is
//!    the same (case-insensitive), is the entity's surname or first word and no other entity
//!    shares it, is the acronym of the entity's name (or stands in parentheses right after
//!    it), or drops a company suffix (`Corp.`, `Inc.` ...); a full name arriving after its
//!    surname absorbs the surname's entity.
//! 3. **Canonical form**: the entity's most complete name (most words; the first on ties).
//! 4. **Rewrite**: every mention's name is replaced by the canonical form in a
//!    [`NormalizedText`] whose offset map leads back to the original characters.
//!
//! Chinese ([`chinese::resolve_with_forest`]): the DAHSF forests' synonym classes name the
//! entity (`右肝叶` and `肝右叶` are both `肝右叶`).

pub mod chinese;
pub mod mentions;
pub mod stage;
pub mod stopwords;
pub mod text;

pub use mentions::{cluster, cluster_exact, detect, Mention};
use quarry_core::document::Span;
use quarry_core::offsets::{NormalizedText, NormalizedTextBuilder};
use serde::Serialize;

/// One entity of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// The canonical form every mention is rewritten to.
    pub canonical: String,
    /// Mentions in text order.
    pub mentions: Vec<Mention>,
}

/// The entities of a document and its normalized text.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Entities in order of first mention (singletons included).
    pub clusters: Vec<Cluster>,
    /// The text with every mention's name rewritten to its entity's canonical form.
    pub normalized: NormalizedText,
}

/// Resolves the named-entity mentions of an English text.
pub fn resolve_english(text: &str) -> Resolution {
    let analyzed = text::analyze(text);
    let mentions = detect(text, &analyzed);
    let clusters = cluster(mentions);
    let normalized = rewrite(text, &clusters);
    Resolution {
        clusters,
        normalized,
    }
}

/// Rewrites every mention name of a multi-mention cluster to the canonical form; other text is
/// copied character by character.
pub fn rewrite(text: &str, clusters: &[Cluster]) -> NormalizedText {
    let chars: Vec<char> = text.chars().collect();
    let mut edits: Vec<(usize, usize, &str)> = clusters
        .iter()
        .filter(|c| c.mentions.len() > 1)
        .flat_map(|c| {
            c.mentions
                .iter()
                .filter(|m| m.name != c.canonical)
                .map(|m| (m.name_start, m.end, c.canonical.as_str()))
        })
        .collect();
    edits.sort();
    let mut b = NormalizedTextBuilder::with_capacity(chars.len(), chars.len());
    let mut i = 0usize;
    for (s, e, canon) in edits {
        if s < i || e > chars.len() {
            continue; // overlapping mentions cannot happen; stay safe anyway
        }
        for (k, &c) in chars.iter().enumerate().take(s).skip(i) {
            b.push_char(c, k);
        }
        b.push(canon, Span::new(s, e));
        i = e;
    }
    for (k, &c) in chars.iter().enumerate().skip(i) {
        b.push_char(c, k);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster_texts(r: &Resolution) -> Vec<Vec<String>> {
        r.clusters
            .iter()
            .map(|c| c.mentions.iter().map(|m| m.text.clone()).collect())
            .collect()
    }

    #[test]
    fn surname_title_and_acronym() {
        let t = "Barack Obama met officials of the European Central Bank (ECB) in Frankfurt. \
                 President Obama said the ECB would act. Obama's aides agreed.";
        let r = resolve_english(t);
        let cs = cluster_texts(&r);
        assert!(
            cs.contains(&vec![
                "Barack Obama".to_string(),
                "President Obama".into(),
                "Obama".into()
            ]),
            "{cs:?}"
        );
        assert!(
            cs.contains(&vec![
                "European Central Bank".to_string(),
                "ECB".into(),
                "ECB".into()
            ]),
            "{cs:?}"
        );
        assert!(
            r.normalized
                .text
                .contains("President Barack Obama said the European Central Bank would act"),
            "{}",
            r.normalized.text
        );
        assert!(r.normalized.text.contains("Barack Obama's aides"));
        // offsets lead back: the rewritten "Obama" of "Obama's" maps to the original "Obama"
        let n: Vec<char> = r.normalized.text.chars().collect();
        let at = r.normalized.text.find("Barack Obama's").unwrap();
        let ci = r.normalized.text[..at].chars().count();
        let orig = r
            .normalized
            .to_original(Span::new(ci, ci + "Barack Obama".chars().count()));
        let o: String = t
            .chars()
            .skip(orig.start)
            .take(orig.end - orig.start)
            .collect();
        assert_eq!(o, "Obama");
        assert!(n.len() > t.chars().count());
    }

    #[test]
    fn shared_surname_stays_apart() {
        let t = "Anna Berg and her brother Lars Berg founded Nordvik Energy Corp. in Oslo. Berg declined to comment. Nordvik grew fast.";
        let r = resolve_english(t);
        let cs = cluster_texts(&r);
        assert!(
            cs.iter().any(|c| c == &vec!["Anna Berg".to_string()]),
            "{cs:?}"
        );
        assert!(
            cs.iter().any(|c| c == &vec!["Lars Berg".to_string()]),
            "{cs:?}"
        );
        assert!(
            cs.iter().any(|c| c == &vec!["Berg".to_string()]),
            "ambiguous surname is left alone: {cs:?}"
        );
        assert!(
            cs.iter()
                .any(|c| c == &vec!["Nordvik Energy Corp".to_string(), "Nordvik".into()]),
            "{cs:?}"
        );
    }

    #[test]
    fn surname_before_full_name() {
        let r = resolve_english("Smith won. Later, Jane Smith thanked fans.");
        assert_eq!(
            cluster_texts(&r),
            vec![vec!["Smith".to_string(), "Jane Smith".into()]]
        );
        assert_eq!(r.clusters[0].canonical, "Jane Smith");
        assert!(r.normalized.text.starts_with("Jane Smith won."));
    }

    #[test]
    fn empty_and_unicode() {
        let r = resolve_english("");
        assert!(r.clusters.is_empty() && r.normalized.text.is_empty());
        let r = resolve_english("Zoë Ångström 😀 visited Zürich. Ångström left.");
        assert_eq!(r.clusters[0].mentions.len(), 2);
        assert_eq!(
            r.normalized.map.original_len(),
            "Zoë Ångström 😀 visited Zürich. Ångström left."
                .chars()
                .count()
        );
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any text: mentions point at what they say, the offset map covers the original,
        /// and every normalized character maps inside it.
        #[test]
        fn spans_and_offsets_hold(text in "(?s)[A-Za-z .,'’\\-()\n\u{4e00}-\u{4e20}😀]{0,200}") {
            let chars: Vec<char> = text.chars().collect();
            let r = resolve_english(&text);
            prop_assert_eq!(r.normalized.map.original_len(), chars.len());
            for c in &r.clusters {
                prop_assert!(!c.mentions.is_empty());
                for m in &c.mentions {
                    prop_assert!(m.start <= m.name_start && m.name_start < m.end && m.end <= chars.len());
                    prop_assert_eq!(chars[m.start..m.end].iter().collect::<String>(), m.text.clone());
                }
            }
            let n = r.normalized.text.chars().count();
            for i in 0..n {
                let o = r.normalized.to_original(Span::new(i, i + 1));
                prop_assert!(o.end <= chars.len());
            }
        }
    }
}
