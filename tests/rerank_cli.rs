//! Cross-encoder re-ranking through the `quarry` binary: `search --rerank`, `eval retrieval
//! --system X+rerank` on SciFact's dev fifth (the committed model must beat its first stage
//! there), and clear errors for bad systems and missing models. Needs the models
//! (`quarry models fetch`), the committed artifact and ../shared/data (SciFact).

mod common;

use common::{failure, json_ok, quarry, scifact, scifact_jsonl};

#[test]
fn search_with_rerank_reorders_the_first_stage_and_reports_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let docs = scifact_jsonl(dir.path(), 80);
    json_ok(
        quarry()
            .args(["--json", "ingest", "--index"])
            .arg(&index)
            .arg(&docs),
        "ingest",
    );
    let q = "cells with DNA damage and the risk of cancer";
    let search = |extra: &[&str]| {
        json_ok(
            quarry()
                .args(["--json", "search", "-k", "10", "--index"])
                .arg(&index)
                .args(extra)
                .arg(q),
            "search",
        )
    };
    let plain = search(&[]);
    let rr = search(&["--rerank", "20"]);
    assert_eq!(rr["rerank"]["model"], "ce-minilm-l6-scifact:int8");
    assert_eq!(rr["rerank"]["params"]["candidates"], 20);
    assert_eq!(common::hit_ids(&rr).len(), 10);
    assert_ne!(
        common::hit_ids(&plain),
        common::hit_ids(&rr),
        "re-ranking changed nothing"
    );
    let scores: Vec<f64> = rr["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // `--rerank 0` takes [rerank] candidates (100).
    assert_eq!(
        search(&["--rerank", "0"])["rerank"]["params"]["candidates"],
        100
    );
    // A missing model is a clear error.
    let err = failure(quarry().args(["search", "--index"]).arg(&index).args([
        "--rerank",
        "5",
        "--rerank-model",
        "./no/such/dir",
        q,
    ]));
    assert!(err.contains("model.onnx"), "{err}");
}

#[test]
fn eval_rerank_on_the_scifact_dev_fifth_beats_its_first_stage() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eval.sqlite");
    let eval = |system: &str| {
        json_ok(
            quarry()
                .args([
                    "--json",
                    "eval",
                    "retrieval",
                    "--split",
                    "train",
                    "--part",
                    "dev",
                ])
                .args(["--depth", "100", "--system", system, "--beir"])
                .arg(scifact())
                .arg("--db")
                .arg(&db),
            system,
        )
    };
    let first = eval("bm25");
    let rr = eval("bm25+rerank:n=20");
    // The dev fifth is the sha256 rule's: the same queries in both runs.
    let qrels =
        quarry_eval::import::beir::read_qrels_tsv(&scifact().join("qrels/train.tsv")).unwrap();
    let dev = qrels
        .keys()
        .filter(|q| quarry_eval::split::is_dev(q))
        .count();
    assert_eq!(first["queries"], dev);
    assert_eq!(rr["queries"], dev);
    assert_eq!(rr["config"]["rerank"]["model"], "ce-minilm-l6-scifact:int8");
    assert_eq!(rr["config"]["part"], "dev");
    let (a, b) = (
        first["ndcg@10"].as_f64().unwrap(),
        rr["ndcg@10"].as_f64().unwrap(),
    );
    assert!(b > a + 0.02, "bm25 {a:.4} vs bm25+rerank {b:.4}");
    let lat = &rr["timings"]["latency_ms"];
    assert!(lat["p50"].as_f64().unwrap() <= lat["p99"].as_f64().unwrap());

    // Bad systems are clear errors.
    for (system, want) in [
        ("bm25+rerank:x=1", "unknown rerank option"),
        ("bm25+rerank:fusion=max", "unknown rerank fusion"),
        ("bm25+dense", "unknown second stage"),
    ] {
        let err = failure(
            quarry()
                .args([
                    "eval",
                    "retrieval",
                    "--split",
                    "train",
                    "--system",
                    system,
                    "--beir",
                ])
                .arg(scifact())
                .arg("--db")
                .arg(&db),
        );
        assert!(err.contains(want), "{system}: {err}");
    }
}
