//! The concept facet: documents whose `concept` annotations (the link stage's) are indexed
//! as `<terminology>:<id>` terms; filtered search equals the unfiltered ranking filtered by
//! brute force, and facet counts equal counting by hand, deletions included.

use quarry_core::config::AnalysisConfig;
use quarry_core::{Annotation, Document, Span};
use quarry_index::{QuarryIndex, SearchMode};
use std::collections::BTreeMap;

fn concept(id: &str) -> Annotation {
    Annotation {
        field: "body".into(),
        span: Span::new(0, 1),
        kind: quarry_index::CONCEPT_KIND.into(),
        label: id.into(),
        source: "link:icd10-zh".into(),
        score: Some(1.0),
        canonical: Some(format!("name of {id}")),
    }
}

/// 60 documents about liver and kidney findings; document i is linked to concept
/// `C{i % 3}`, and every fifth also to `D`.
fn corpus() -> Vec<Document> {
    let words = [
        "liver lesion",
        "kidney cyst",
        "liver cyst",
        "lung nodule",
        "kidney stone",
    ];
    (0..60)
        .map(|i| {
            let text = format!(
                "report {i}: {} and {} seen",
                words[i % 5],
                words[(i / 5) % 5]
            );
            let mut d = Document::new(format!("d{i:02}")).with_field("body", text);
            d.annotations.push(concept(&format!("C{}", i % 3)));
            if i % 5 == 0 {
                d.annotations.push(concept("D"));
                d.annotations.push(concept("D")); // twice: one facet term
            }
            d
        })
        .collect()
}

#[test]
fn filtered_search_is_brute_force_filtering_and_counts_are_exact() {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    let docs = corpus();
    idx.add_documents(&docs, 50_000_000).unwrap();
    let linked = |d: &Document, want: &[&str]| {
        want.iter().all(|w| {
            d.annotations
                .iter()
                .any(|a| quarry_index::concept_term(a) == *w)
        })
    };
    for (query, filter) in [
        ("liver cyst", vec!["icd10-zh:C1"]),
        ("kidney", vec!["icd10-zh:D"]),
        ("lung nodule kidney", vec!["icd10-zh:C2", "icd10-zh:D"]),
        ("liver", vec!["icd10-zh:nothing"]),
    ] {
        let all = idx.search_mode(query, 60, SearchMode::Bm25, false).unwrap();
        let want: Vec<String> = all
            .iter()
            .filter(|h| {
                let d = docs.iter().find(|d| d.id == h.id).unwrap();
                linked(d, &filter)
            })
            .map(|h| h.id.clone())
            .take(5)
            .collect();
        let filter: Vec<String> = filter.iter().map(|s| s.to_string()).collect();
        let got: Vec<String> = idx
            .search_filtered(query, 5, SearchMode::Bm25, false, &filter)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(got, want, "{query} {filter:?}");
    }
    // counts by hand
    let mut by_hand: BTreeMap<String, u64> = BTreeMap::new();
    for d in &docs {
        let mut terms: Vec<String> = d
            .annotations
            .iter()
            .map(quarry_index::concept_term)
            .collect();
        terms.dedup();
        for t in terms {
            *by_hand.entry(t).or_default() += 1;
        }
    }
    let counts: BTreeMap<String, u64> = idx.concept_counts(100).unwrap().into_iter().collect();
    assert_eq!(counts, by_hand);
    assert_eq!(counts["icd10-zh:D"], 12);
    let top = idx.concept_counts(1).unwrap();
    assert_eq!(top, vec![("icd10-zh:C0".to_string(), 20)]);
    // deleted documents leave the counts and the filtered results
    idx.delete_documents(&["d00", "d05"], 50_000_000).unwrap();
    let counts: BTreeMap<String, u64> = idx.concept_counts(100).unwrap().into_iter().collect();
    assert_eq!(counts["icd10-zh:D"], 10);
    let hits = idx
        .search_filtered(
            "liver lesion",
            60,
            SearchMode::Bm25,
            false,
            &["icd10-zh:D".into()],
        )
        .unwrap();
    assert!(hits.iter().all(|h| h.id != "d00" && h.id != "d05"));
    assert_eq!(hits.len(), 10);
}

/// Language and concept filters together equal the unfiltered ranking filtered by hand;
/// a re-ranking depth without a cross-encoder attached is a clear error, depth 0 is not.
#[test]
fn language_and_concept_filters_intersect() {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    let mut docs = corpus();
    for (i, d) in docs.iter_mut().enumerate() {
        d.lang = if i % 4 == 0 {
            quarry_core::Lang::Zh
        } else {
            quarry_core::Lang::En
        };
    }
    idx.add_documents(&docs, 50_000_000).unwrap();
    let concepts = vec!["icd10-zh:C1".to_string()];
    for (query, lang) in [("liver cyst", "en"), ("kidney stone", "zh"), ("lung", "en")] {
        let all = idx.search_mode(query, 60, SearchMode::Bm25, false).unwrap();
        let want: Vec<String> = all
            .iter()
            .filter(|h| {
                let d = docs.iter().find(|d| d.id == h.id).unwrap();
                d.lang.code() == lang
                    && d.annotations
                        .iter()
                        .any(|a| quarry_index::concept_term(a) == concepts[0])
            })
            .map(|h| h.id.clone())
            .take(4)
            .collect();
        let opts = quarry_index::SearchOptions {
            mode: SearchMode::Bm25,
            snippets: false,
            concepts: &concepts,
            lang: Some(lang),
            ..Default::default()
        };
        let got: Vec<String> = idx
            .search_with(query, 4, &opts)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert!(!want.is_empty(), "{query}");
        assert_eq!(got, want, "{query} / {lang}");
    }
    let asks = quarry_index::SearchOptions {
        rerank: Some(10),
        ..Default::default()
    };
    assert!(matches!(
        idx.search_with("liver", 3, &asks),
        Err(quarry_index::IndexError::NoReranker)
    ));
    let off = quarry_index::SearchOptions {
        rerank: Some(0),
        ..Default::default()
    };
    assert_eq!(idx.search_with("liver", 3, &off).unwrap().len(), 3);
}

/// Field filters: exact (trimmed) values of short fields, intersected with the other
/// filters, equal to filtering the unfiltered ranking by hand; a long field is not kept.
#[test]
fn field_filters_match_exact_short_values() {
    let idx = QuarryIndex::in_memory(&AnalysisConfig::default()).unwrap();
    let sections = ["radiology", "news", " radiology "];
    let docs: Vec<Document> = corpus()
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            d.with_field("section", sections[i % 3])
                .with_field("long", "x".repeat(300))
        })
        .collect();
    idx.add_documents(&docs, 50_000_000).unwrap();
    let all = idx
        .search_mode("liver cyst", 60, SearchMode::Bm25, false)
        .unwrap();
    let want: Vec<String> = all
        .iter()
        .filter(|h| {
            let d = docs.iter().find(|d| d.id == h.id).unwrap();
            d.field("section").map(str::trim) == Some("radiology")
        })
        .map(|h| h.id.clone())
        .take(5)
        .collect();
    let fields = vec![("section".to_string(), "radiology".to_string())];
    let got: Vec<String> = idx
        .search_with(
            "liver cyst",
            5,
            &quarry_index::SearchOptions {
                snippets: false,
                fields: &fields,
                ..Default::default()
            },
        )
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(want.len(), 5);
    assert_eq!(got, want);
    let long = vec![("long".to_string(), "x".repeat(300))];
    let none = idx
        .search_with(
            "liver",
            5,
            &quarry_index::SearchOptions {
                fields: &long,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        none.is_empty(),
        "values over the limit are not indexed for filters"
    );
}
