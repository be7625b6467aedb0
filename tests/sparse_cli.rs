//! End-to-end learned sparse retrieval through the `quarry` binary: an ingestion job with
//! `--sparse` killed with SIGKILL mid-way and resumed ends with every document exactly once;
//! the three search modes; bad mode and system names are clear errors. Needs the models
//! (`quarry models fetch`) and ../shared/data (SciFact).

mod common;

use common::{json_ok, quarry, scifact_jsonl};
use quarry_core::config::AnalysisConfig;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The checkpoint line recorded in the index's last commit, if any.
fn committed_line(index: &Path) -> u64 {
    std::fs::read_to_string(index.join("meta.json"))
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
        .and_then(|m| m["payload"].as_str().map(str::to_string))
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
        .and_then(|p| {
            p["sources"]
                .as_object()
                .and_then(|o| o.values().next().cloned())
        })
        .and_then(|c| c["line"].as_u64())
        .unwrap_or(0)
}

#[test]
fn sparse_ingestion_survives_sigkill_and_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = 240;
    let input = scifact_jsonl(dir.path(), n);
    let index = dir.path().join("idx");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "ingest".to_string(),
            "--index".into(),
            index.display().to_string(),
            "--sparse".into(),
            "--commit-every".into(),
            "40".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a.push(input.display().to_string());
        a
    };
    let mut child = quarry()
        .args(args(&[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // kill -9 once at least one checkpoint is committed and the job is not finished
    let t = Instant::now();
    loop {
        let line = committed_line(&index);
        if line >= 40 && line < n as u64 {
            child.kill().unwrap();
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the job ended ({status}) before it could be killed mid-way");
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "no checkpoint within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait().unwrap();
    let killed_at = committed_line(&index);
    assert!(killed_at < n as u64);

    let report = json_ok(quarry().args(args(&["--resume"])).arg("--json"), "resume");
    let r = &report["reports"][0];
    assert_eq!(r["resumed_after_line"].as_u64(), Some(killed_at));
    assert_eq!(report["total_docs"].as_u64(), Some(n as u64), "{report}");

    // every id exactly once, each with its sparse expansion
    let idx = quarry_index::QuarryIndex::open(&index, &AnalysisConfig::default()).unwrap();
    assert_eq!(idx.num_docs(), n as u64);
    let searcher = idx.searcher();
    let f = idx.fields();
    for line in std::fs::read_to_string(&input).unwrap().lines() {
        let d: serde_json::Value = serde_json::from_str(line).unwrap();
        let term = tantivy::Term::from_field_text(f.id, d["id"].as_str().unwrap());
        let alive: u32 = searcher
            .segment_readers()
            .iter()
            .map(|s| {
                let inv = s.inverted_index(f.id).unwrap();
                let mut n = 0;
                if let Some(mut p) = inv
                    .read_postings(&term, tantivy::schema::IndexRecordOption::Basic)
                    .unwrap()
                {
                    use tantivy::DocSet;
                    while p.doc() != tantivy::TERMINATED {
                        if s.alive_bitset().is_none_or(|a| a.is_alive(p.doc())) {
                            n += 1;
                        }
                        p.advance();
                    }
                }
                n
            })
            .sum();
        assert_eq!(alive, 1, "document {} is there {alive} times", d["id"]);
    }
    // the index records the resolved encoder (id:variant), not just "splade-tiny"
    let model = idx.stored_sparse_settings().unwrap().unwrap().model;
    assert!(model.starts_with("splade-tiny:"), "{model}");

    // the three modes answer, with the sparse model's tokenizer only
    for mode in ["bm25", "sparse", "hybrid"] {
        let v = json_ok(
            quarry()
                .args(["search", "--index"])
                .arg(&index)
                .args(["--mode", mode, "-k", "5", "--json"])
                .arg("diffusion MRI of the newborn brain"),
            mode,
        );
        assert_eq!(v["mode"], mode);
        let hits = v["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 5, "{mode}: {v}");
        assert_eq!(hits[0]["id"], "4983", "{mode}: {v}");
    }
    let out = quarry()
        .args(["search", "--index"])
        .arg(&index)
        .args(["--mode", "dense", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bm25 | sparse | hybrid"));
}

#[test]
fn sparse_search_on_an_index_without_expansion_and_bad_systems_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = scifact_jsonl(dir.path(), 5);
    let index = dir.path().join("plain");
    let out = quarry()
        .args(["ingest", "--index"])
        .arg(&index)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = quarry()
        .args(["search", "--index"])
        .arg(&index)
        .args(["--mode", "sparse", "liver"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sparse"));
    // adding --sparse to an index that holds unexpanded documents is refused
    let out = quarry()
        .args(["ingest", "--sparse", "--index"])
        .arg(&index)
        .arg(&input)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("new index"));
    for (system, msg) in [
        ("hybrid:fusion=max", "unknown fusion"),
        ("hybrid:weight=2", "unknown hybrid option"),
        ("sparse:k=1", "takes no options"),
        ("dense", "unknown retrieval system"),
    ] {
        let out = quarry()
            .args(["eval", "retrieval", "--beir"])
            .arg(quarry_core::shared_data::dir().join("retrieval/scifact"))
            .args(["--split", "train", "--system", system])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{system}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(msg), "{system}: {e}");
    }
}
