//! Ingest -> search round trips on the project's sample corpus, and bad-input handling.

use quarry_core::config::AnalysisConfig;
use quarry_core::jsonl::JsonlReader;
use quarry_core::stage::StageRegistry;
use quarry_core::Pipeline;
use quarry_index::{ingest_file, IngestOptions, QuarryIndex};
use std::io::BufRead;
use std::path::PathBuf;

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/samples")
}

fn pipeline() -> Pipeline {
    StageRegistry::default()
        .pipeline(&["lang-detect".to_string()], &Default::default())
        .unwrap()
}

fn build(dir: &std::path::Path) -> QuarryIndex {
    let idx = QuarryIndex::open_or_create(dir, &AnalysisConfig::default()).unwrap();
    let r = ingest_file(
        &idx,
        &samples().join("corpus.jsonl"),
        &pipeline(),
        &IngestOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    idx
}

#[derive(serde::Deserialize)]
struct Q {
    id: String,
    text: String,
    relevant: Vec<String>,
}

#[test]
fn sample_queries_find_their_relevant_documents() {
    let dir = tempfile::tempdir().unwrap();
    let idx = build(dir.path());
    let n_docs = JsonlReader::new(std::io::BufReader::new(
        std::fs::File::open(samples().join("corpus.jsonl")).unwrap(),
    ))
    .count();
    assert_eq!(idx.num_docs() as usize, n_docs);
    let f = std::fs::File::open(samples().join("queries.jsonl")).unwrap();
    let mut checked = 0;
    let mut recall_sum = 0.0;
    for line in std::io::BufReader::new(f).lines() {
        let q: Q = serde_json::from_str(&line.unwrap()).unwrap();
        let hits = idx.search(&q.text, 10).unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        // The top hit is always relevant.
        assert!(
            q.relevant
                .iter()
                .any(|r| r == ids.first().copied().unwrap_or("")),
            "{} {:?}: top hits {ids:?}, relevant {:?}",
            q.id,
            q.text,
            q.relevant
        );
        let found = q
            .relevant
            .iter()
            .filter(|r| ids.contains(&r.as_str()))
            .count();
        recall_sum += found as f64 / q.relevant.len() as f64;
        checked += 1;
    }
    assert!(checked >= 10);
    let recall = recall_sum / checked as f64;
    assert!(recall >= 0.85, "mean recall@10 {recall}");
}

#[test]
fn english_stemming_and_chinese_single_characters_match() {
    let dir = tempfile::tempdir().unwrap();
    let idx = build(dir.path());
    // A one-character query matches documents where the character occurs only inside words.
    let hits = idx.search("肾", 50).unwrap();
    assert!(!hits.is_empty());
    for h in &hits {
        let d = idx.get(&h.id).unwrap().unwrap();
        assert!(
            d.full_text().contains('肾') || d.full_text().contains('腎'),
            "{} has no 肾",
            h.id
        );
        assert!(h.snippet.contains("[肾"), "snippet {:?}", h.snippet);
    }
    let hits = idx.search("injuries", 5).unwrap();
    assert!(!hits.is_empty());
    let d = idx.get(&hits[0].id).unwrap().unwrap();
    assert!(d.full_text().to_lowercase().contains("injur"));
    // Nothing matches nonsense; empty and punctuation-only queries return nothing, no error.
    assert!(idx.search("qwzxv", 5).unwrap().is_empty());
    assert!(idx.search("", 5).unwrap().is_empty());
    assert!(idx.search("，。!?", 5).unwrap().is_empty());
}

#[test]
fn bad_lines_are_reported_with_line_numbers_and_the_rest_is_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"id\":\"a\",\"title\":\"liver ultrasound\"}\n");
    bytes.extend_from_slice(b"{\"id\":\"b\",\"title\": oops}\n");
    bytes.extend_from_slice(b"{\"title\":\"no id here\"}\n");
    bytes.extend_from_slice(b"{\"id\":\"c\",\"body\":\"bad \xff utf8\"}\n");
    bytes.extend_from_slice(b"{\"id\":\"a\",\"title\":\"duplicate of a\"}\n");
    bytes.extend_from_slice(b"{\"id\":\"d\",\"body\":\"kidney stone\"}\n");
    std::fs::write(&input, &bytes).unwrap();
    let idx =
        QuarryIndex::open_or_create(&dir.path().join("idx"), &AnalysisConfig::default()).unwrap();
    let r = ingest_file(
        &idx,
        &input,
        &pipeline(),
        &IngestOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    let lines: Vec<u64> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    assert!(
        r.errors[3].message.contains("duplicate id 'a'") && r.errors[3].message.contains("line 1")
    );
    assert_eq!(r.indexed, 2);
    assert_eq!(idx.num_docs(), 2);
    assert_eq!(
        idx.get("a").unwrap().unwrap().title(),
        Some("liver ultrasound")
    );

    // Strict mode stops at the first bad line and commits nothing of this run.
    let idx2 =
        QuarryIndex::open_or_create(&dir.path().join("idx2"), &AnalysisConfig::default()).unwrap();
    let opts = IngestOptions {
        strict: true,
        ..Default::default()
    };
    let err = ingest_file(&idx2, &input, &pipeline(), &opts, &|_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("in.jsonl:2: malformed JSON"), "{err}");
    idx2.reload().unwrap();
    assert_eq!(idx2.num_docs(), 0);
}

#[test]
fn reingesting_replaces_and_resume_continues_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let mut text = String::new();
    for i in 0..25 {
        text.push_str(&format!(
            "{{\"id\":\"d{i}\",\"body\":\"document number {i} about lungs\"}}\n"
        ));
    }
    std::fs::write(&input, &text).unwrap();
    let path = dir.path().join("idx");
    let opts = IngestOptions {
        commit_every: 10,
        batch_size: 4,
        ..Default::default()
    };
    {
        let idx = QuarryIndex::open_or_create(&path, &AnalysisConfig::default()).unwrap();
        let r = ingest_file(&idx, &input, &pipeline(), &opts, &|_, _| {}).unwrap();
        assert_eq!((r.indexed, r.replaced, idx.num_docs()), (25, 0, 25));
        let cp = idx.checkpoint(&input).unwrap();
        assert!(cp.done && cp.line == 25 && cp.offset == text.len() as u64);
        // Running again replaces, never duplicates.
        let r = ingest_file(&idx, &input, &pipeline(), &opts, &|_, _| {}).unwrap();
        assert_eq!((r.indexed, r.replaced, idx.num_docs()), (25, 25, 25));
        // Resuming a finished file does nothing.
        let r = ingest_file(
            &idx,
            &input,
            &pipeline(),
            &IngestOptions {
                resume: true,
                ..opts.clone()
            },
            &|_, _| {},
        )
        .unwrap();
        assert!(r.already_complete && r.indexed == 0);
    }
    // Simulate a job that died after its second commit (20 docs): the file grew since.
    let path2 = dir.path().join("idx2");
    let first20: String = text.lines().take(20).map(|l| format!("{l}\n")).collect();
    std::fs::write(&input, &first20).unwrap();
    {
        let idx = QuarryIndex::open_or_create(&path2, &AnalysisConfig::default()).unwrap();
        ingest_file(&idx, &input, &pipeline(), &opts, &|_, _| {}).unwrap();
    }
    std::fs::write(&input, &text).unwrap();
    let idx = QuarryIndex::open_or_create(&path2, &AnalysisConfig::default()).unwrap();
    let r = ingest_file(
        &idx,
        &input,
        &pipeline(),
        &IngestOptions {
            resume: true,
            ..opts
        },
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(r.resumed_after_line, Some(20));
    assert_eq!((r.lines, r.indexed), (5, 5));
    assert_eq!(idx.num_docs(), 25);
}
