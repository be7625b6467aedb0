//! The trained artifacts against Python: Rust inference must give exactly the spans Python
//! onnxruntime gives on the whole Yidu-S4K validate set (`ner-clinical-zh`,
//! `reference/validate_spans.tsv`) and on the project's radiology test set
//! (`ner-radiology-zh`, `reference/test_spans.tsv`), both written by the recipe. Fails, with
//! the expected location, when an artifact or the shared data is missing.
//!
//! The int8 artifacts quantize only the embedding tables (weight-only), so a sentence's
//! emissions do not depend on its batch: Rust runs batch 32 and batch 1, unsplit, against
//! Python's batches of 32.

use quarry_ner::{NerModel, NerOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn artifact() -> PathBuf {
    named_artifact("ner-clinical-zh")
}

fn named_artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/artifacts")
        .join(name);
    assert!(
        dir.join("model.int8.onnx").is_file(),
        "the trained NER artifact is missing: expected {} (build it with models/recipes/ner/build.sh)",
        dir.display()
    );
    dir
}

fn shared_data() -> PathBuf {
    let dir = quarry_core::shared_data::dir();
    assert!(
        dir.is_dir(),
        "shared data not found: expected it at {} (the `shared/data` folder next to the \
         repository); set QUARRY_SHARED_DATA to its location",
        dir.display()
    );
    dir
}

type Spans = BTreeSet<(usize, usize, String)>;

/// `validate_spans.tsv`: the sha256 of the validate file it was computed on, and spans per
/// sentence index.
fn reference(path: &Path) -> (String, Vec<(usize, Spans)>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the recipe writes it with Python onnxruntime)",
            path.display()
        )
    });
    let mut sha = String::new();
    let mut rows: Vec<(usize, Spans)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(h) = line.strip_prefix("# sha256 ") {
            sha = h.trim().to_string();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{}:{}: {line:?}", path.display(), i + 1);
        let k: usize = f[0].parse().unwrap();
        if rows.last().is_none_or(|r| r.0 != k) {
            rows.push((k, Spans::new()));
        }
        rows.last_mut().unwrap().1.insert((
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].to_string(),
        ));
    }
    (sha, rows)
}

#[test]
fn validate_matches_python() {
    matches_python(
        &artifact(),
        &shared_data().join("ner/yidu-s4k/validate.bio"),
        "validate",
    );
}

#[test]
fn radiology_test_matches_python() {
    let gold = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/ner/radiology/test.bio");
    matches_python(&named_artifact("ner-radiology-zh"), &gold, "test");
}

fn matches_python(dir: &Path, validate: &Path, tag: &str) {
    let (sha, rows) = reference(&dir.join(format!("reference/{tag}_spans.tsv")));
    let actual = quarry_models::hash::sha256_file(validate).unwrap();
    assert_eq!(
        sha,
        actual,
        "{tag}_spans.tsv was computed on another {}",
        validate.display()
    );
    let gold = quarry_eval::import::bio::read_bio(validate).unwrap();
    let mut want: Vec<Spans> = vec![Spans::new(); gold.len()];
    for (k, s) in rows {
        assert!(k < gold.len(), "sentence index {k} out of range");
        want[k].extend(s);
    }
    // Python wrote the reference with batches of 32 sentences; Rust runs batch 32 (different
    // neighbours: its batches are length-sorted) and batch 1. The int8 artifact quantizes only
    // the embedding tables, so a sentence's emissions must not depend on its batch.
    let texts: Vec<&str> = gold.iter().map(|g| g.text.as_str()).collect();
    for batch_size in [32, 1] {
        let model = NerModel::load_dir(
            dir,
            quarry_ner::Variant::Int8,
            &NerOptions {
                max_chars: Some(1_000_000),
                batch_size,
                threads: 2,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got = model.predict(&texts).unwrap();
        compare(&got, &want, batch_size);
    }
}

fn compare(got: &[Vec<quarry_ner::Entity>], want: &[Spans], batch_size: usize) {
    let mut mismatches = 0usize;
    let mut examples = Vec::new();
    let mut total = 0usize;
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let g: Spans = g
            .iter()
            .map(|e| (e.start, e.end, e.label.clone()))
            .collect();
        total += w.len();
        let diff: Vec<_> = g.symmetric_difference(w).collect();
        if !diff.is_empty() {
            mismatches += diff.len();
            if examples.len() < 5 {
                examples.push(format!("sentence {k}: rust {g:?} python {w:?}"));
            }
        }
    }
    assert!(total > 500, "the reference has only {total} spans");
    assert_eq!(
        mismatches,
        0,
        "batch {batch_size}: {mismatches} spans differ between Rust and Python (of {total}); first: {}",
        examples.join("; ")
    );
}

/// Every bundled artifact matches its SHA256SUMS and loads (the registry test).
#[test]
fn every_bundled_artifact_verifies_and_loads() {
    for name in quarry_ner::artifacts::BUNDLED {
        let dir = named_artifact(name);
        let files = quarry_ner::artifacts::verify(&dir);
        assert!(files.len() >= 5, "{name}: {files:?}");
        for f in &files {
            assert_eq!(f.status, "ok", "{name}: {f:?}");
        }
        let m =
            NerModel::load(name, &NerOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = m.predict_one("右肾见一囊肿，大小约2.1cm。").unwrap();
        assert!(!out.is_empty(), "{name} found nothing");
    }
}
