//! Cross-checks of the metrics against reference implementations.
//!
//! `tests/fixtures/expected.json` holds values computed by pytrec-eval-terrier and seqeval
//! (`eval/scripts/crosscheck.py`) on the fixture files beside it. Ranking metrics must agree
//! to 1e-4 and seqeval's P/R/F1 to 1e-6. The fixtures are read with small local parsers so
//! that this test does not depend on the importers.

use quarry_eval::metrics::ir::{self, Averaging};
use quarry_eval::metrics::ner;
use quarry_eval::types::{NerSentence, Qrels, Run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const IR_TOL: f64 = 1e-4;
const NER_TOL: f64 = 1e-6;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected() -> Value {
    serde_json::from_str(&read(&fixtures().join("expected.json"))).expect("expected.json")
}

fn read_qrels(path: &Path) -> Qrels {
    let mut qrels = Qrels::new();
    for (i, line) in read(path).lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        assert_eq!(f.len(), 4, "{}:{}", path.display(), i + 1);
        let grade: i32 = f[3].parse().expect("grade");
        qrels
            .entry(f[0].to_string())
            .or_default()
            .insert(f[2].to_string(), grade);
    }
    qrels
}

fn read_run(path: &Path) -> Run {
    let mut run = Run::new();
    for (i, line) in read(path).lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        assert_eq!(f.len(), 6, "{}:{}", path.display(), i + 1);
        let score: f64 = f[4].parse().expect("score");
        run.entry(f[0].to_string())
            .or_default()
            .push((f[2].to_string(), score));
    }
    run
}

fn read_bio(path: &Path) -> Vec<Vec<String>> {
    let mut sentences = vec![Vec::new()];
    for line in read(path).split('\n') {
        if line.is_empty() {
            if sentences
                .last()
                .is_some_and(|s: &Vec<String>| !s.is_empty())
            {
                sentences.push(Vec::new());
            }
            continue;
        }
        let (_, tag) = line.rsplit_once('\t').expect("char<TAB>tag");
        sentences
            .last_mut()
            .expect("non-empty")
            .push(tag.to_string());
    }
    if sentences.last().is_some_and(Vec::is_empty) {
        sentences.pop();
    }
    sentences
}

/// pytrec_eval's measure name -> ours.
fn our_name(trec: &str) -> String {
    if let Some(k) = trec.strip_prefix("ndcg_cut_") {
        format!("ndcg@{k}")
    } else if let Some(k) = trec.strip_prefix("recall_") {
        format!("recall@{k}")
    } else if let Some(k) = trec.strip_prefix("P_") {
        format!("p@{k}")
    } else {
        trec.to_string()
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

struct MaxDiff(f64, String);

impl MaxDiff {
    fn check(&mut self, what: &str, ours: f64, theirs: f64, tol: f64) {
        let d = (ours - theirs).abs();
        assert!(
            d <= tol,
            "{what}: ours {ours} vs reference {theirs} (diff {d})"
        );
        if d > self.0 || self.1.is_empty() {
            self.0 = d.max(self.0);
            self.1 = what.to_string();
        }
    }
}

#[test]
fn ir_metrics_agree_with_pytrec_eval() {
    let exp = expected();
    let qrels = read_qrels(&fixtures().join("ir/qrels.txt"));
    let runs = exp["ir"]["runs"].as_object().expect("runs");
    assert!(!runs.is_empty());
    let mut diff = MaxDiff(0.0, String::new());
    let mut compared = 0usize;
    for (name, e) in runs {
        let run = read_run(&fixtures().join("ir").join(name));
        let ks = [5, 10, 20, 100];

        // pytrec_eval's convention: queries in both qrels and run.
        let only = ir::evaluate_with(&qrels, &run, &ks, Averaging::RunQueriesOnly);
        let per_query = e["per_query"].as_object().expect("per_query");
        assert_eq!(only.queries as u64, e["queries"].as_u64().expect("queries"));
        let ours_q: Vec<&String> = only.per_query.keys().collect();
        let theirs_q: Vec<&String> = per_query.keys().collect();
        assert_eq!(ours_q, theirs_q, "{name}: evaluated queries differ");
        for (qid, measures) in per_query {
            for (m, v) in measures.as_object().expect("measures") {
                let ours = only.per_query[qid][&our_name(m)];
                diff.check(&format!("{name} {qid} {m}"), ours, num(v), IR_TOL);
                compared += 1;
            }
        }
        for (m, v) in e["mean"].as_object().expect("mean") {
            diff.check(
                &format!("{name} mean {m}"),
                only.mean[&our_name(m)],
                num(v),
                IR_TOL,
            );
        }

        // trec_eval -c / BEIR convention: all qrels queries, missing ones as 0.
        let all = ir::evaluate(&qrels, &run, &ks);
        assert_eq!(all.queries as u64, e["qrels_queries"].as_u64().expect("n"));
        for (m, v) in e["mean_all_qrels"].as_object().expect("mean_all") {
            diff.check(
                &format!("{name} mean_all {m}"),
                all.mean[&our_name(m)],
                num(v),
                IR_TOL,
            );
            diff.check(
                &format!("{name} mean_over_run_queries {m}"),
                all.mean_over_run_queries()[&our_name(m)],
                num(&e["mean"][m]),
                IR_TOL,
            );
        }
        assert_eq!(all.missing.len(), all.queries - only.queries);
    }
    println!(
        "IR cross-check: {compared} per-query values, max abs diff {:.3e} ({})",
        diff.0, diff.1
    );
}

fn triples(spans: &[quarry_eval::types::EntitySpan]) -> Vec<(String, u64, u64)> {
    spans
        .iter()
        .map(|s| (s.label.clone(), s.start as u64, s.end as u64 - 1))
        .collect()
}

fn json_triples(v: &Value) -> Vec<(String, u64, u64)> {
    v.as_array()
        .expect("entities")
        .iter()
        .map(|e| {
            (
                e[0].as_str().expect("type").to_string(),
                e[1].as_u64().expect("start"),
                e[2].as_u64().expect("end"),
            )
        })
        .collect()
}

#[test]
fn ner_metrics_agree_with_seqeval() {
    let exp = &expected()["ner"];
    let gold = read_bio(&fixtures().join("ner/gold.bio"));
    let pred = read_bio(&fixtures().join("ner/pred.bio"));
    assert_eq!(gold.len() as u64, exp["sentences"].as_u64().expect("n"));
    assert_eq!(gold.len(), pred.len());

    // Entity decoding matches seqeval's get_entities sentence by sentence.
    for (side, tags) in [("gold", &gold), ("pred", &pred)] {
        let theirs = exp["entities"][side].as_array().expect("entity lists");
        assert_eq!(theirs.len(), tags.len());
        for (i, (t, e)) in tags.iter().zip(theirs).enumerate() {
            assert_eq!(
                triples(&ner::bio_to_spans(t)),
                json_triples(e),
                "{side} sentence {i}"
            );
        }
    }

    let mut diff = MaxDiff(0.0, String::new());
    let r = ner::evaluate_tags(&gold, &pred);
    let micro = &exp["micro"];
    diff.check(
        "micro precision",
        r.precision,
        num(&micro["precision"]),
        NER_TOL,
    );
    diff.check("micro recall", r.recall, num(&micro["recall"]), NER_TOL);
    diff.check("micro f1", r.f1, num(&micro["f1"]), NER_TOL);
    let report = &exp["micro_report"];
    diff.check("report micro f1", r.f1, num(&report["f1"]), NER_TOL);
    assert_eq!(
        r.gold_entities as u64,
        report["support"].as_u64().expect("s")
    );
    let mac = &exp["macro"];
    diff.check(
        "macro precision",
        r.macro_precision,
        num(&mac["precision"]),
        NER_TOL,
    );
    diff.check("macro recall", r.macro_recall, num(&mac["recall"]), NER_TOL);
    diff.check("macro f1", r.macro_f1, num(&mac["f1"]), NER_TOL);

    let per_type = exp["per_type"].as_object().expect("per_type");
    let ours: Vec<&String> = r.per_type.keys().collect();
    let theirs: Vec<&String> = per_type.keys().collect();
    assert_eq!(ours, theirs);
    for (t, v) in per_type {
        let s = &r.per_type[t];
        diff.check(
            &format!("{t} precision"),
            s.precision,
            num(&v["precision"]),
            NER_TOL,
        );
        diff.check(&format!("{t} recall"), s.recall, num(&v["recall"]), NER_TOL);
        diff.check(&format!("{t} f1"), s.f1, num(&v["f1"]), NER_TOL);
        assert_eq!(s.support as u64, v["support"].as_u64().expect("support"));
    }

    // The NerSentence path scores the same.
    let sentences = |tags: &[Vec<String>]| -> Vec<NerSentence> {
        tags.iter()
            .enumerate()
            .map(|(i, t)| NerSentence {
                id: i.to_string(),
                text: String::new(),
                tags: t.clone(),
                entities: Vec::new(),
            })
            .collect()
    };
    let r2 = ner::evaluate(&sentences(&gold), &sentences(&pred)).expect("paired");
    assert_eq!(r, r2);
    println!(
        "seqeval cross-check: {} types, max abs diff {:.3e} ({})",
        per_type.len(),
        diff.0,
        diff.1
    );
}

/// The reference values were computed on these exact fixtures (guards against editing one
/// without regenerating the other).
#[test]
fn fixtures_are_consistent() {
    let exp = expected();
    let qrels = read_qrels(&fixtures().join("ir/qrels.txt"));
    assert!(qrels.len() >= 20);
    let no_rel = qrels
        .values()
        .filter(|j| j.values().all(|&g| g <= 0))
        .count();
    assert!(no_rel >= 1, "want queries without relevant documents");
    let grades: std::collections::BTreeSet<i32> =
        qrels.values().flat_map(|j| j.values().copied()).collect();
    assert_eq!(grades.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    let mut measures: BTreeMap<String, usize> = BTreeMap::new();
    for run in exp["ir"]["runs"].as_object().expect("runs").values() {
        for m in run["per_query"].as_object().expect("pq").values() {
            for k in m.as_object().expect("m").keys() {
                *measures.entry(k.clone()).or_default() += 1;
            }
        }
    }
    assert_eq!(measures.len(), 9, "{measures:?}");
}
