//! Importers on the real shared data sets and on malformed inputs, and the SQLite store.
//!
//! The shared data is read from `$QUARRY_SHARED_DATA`, or else from `../shared/data` next to
//! the repository; when it is absent these tests fail and say where it is expected.

use quarry_eval::import::beir::{load_beir, read_corpus, read_qrels_tsv, BeirDataset};
use quarry_eval::import::bio::{parse_bio, read_bio};
use quarry_eval::import::cblue::{parse_chip_cdn, parse_cmeee, read_chip_cdn, read_cmeee};
use quarry_eval::import::keyphrase::{load_keyphrase, load_keyphrase_dir, read_key_file};
use quarry_eval::import::tn::{load_tn, read_tn_file, TnDirection};
use quarry_eval::import::trec::{parse_qrels, parse_run, read_qrels, read_run, write_run};
use quarry_eval::store::{git_revision, machine_info, RunRecord, Store, StoreError, MIGRATIONS};
use quarry_eval::types::{
    CorpusDoc, EntitySpan, ImportError, KeyphraseDoc, LinkExample, NerSentence, QueryRec, Run,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The shared data directory; panics (fails the test) with the expected location when absent.
fn shared_data() -> PathBuf {
    let dir = quarry_core::shared_data::dir();
    assert!(
        dir.is_dir(),
        "shared data not found: expected it at {} (the `shared/data` folder next to the \
         repository, see its SOURCES.md); set QUARRY_SHARED_DATA to its location",
        dir.display()
    );
    dir
}

fn data(rel: &str) -> PathBuf {
    let path = shared_data().join(rel);
    assert!(
        path.exists(),
        "{} is missing from the shared data",
        path.display()
    );
    path
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, content).unwrap();
    path
}

/// Asserts `err` points at `file` (by suffix) and `line`, and its Display is `file:line: ...`.
fn assert_at(err: &ImportError, file_suffix: &str, line: u64) {
    assert!(
        err.file.ends_with(file_suffix) && err.line == line,
        "expected an error at {file_suffix}:{line}, got {err}"
    );
    assert!(err
        .to_string()
        .starts_with(&format!("{}:{line}: ", err.file)));
}

fn entity_count(sentences: &[NerSentence]) -> usize {
    sentences.iter().map(|s| s.entities.len()).sum()
}

// ---------------------------------------------------------------------------------------
// Real data

#[test]
fn scifact_beir_and_store_import_speed() {
    let dir = data("retrieval/scifact");
    let t = Instant::now();
    let ds = load_beir(&dir, "train").unwrap();
    let parse_s = t.elapsed().as_secs_f64();
    assert_eq!(ds.corpus.len(), 5183);
    assert_eq!(ds.queries_with_qrels().len(), 809);
    let tsv = std::fs::read_to_string(dir.join("qrels/train.tsv")).unwrap();
    let lines = tsv.lines().filter(|l| !l.trim().is_empty()).count() - 1; // header
    assert_eq!(lines, 919);
    assert_eq!(ds.qrels_len(), 919);
    println!(
        "scifact: {} docs, {} queries ({} with train qrels), {} qrels, {} judged docs absent \
         from the corpus; parsed in {parse_s:.3}s",
        ds.corpus.len(),
        ds.queries.len(),
        ds.queries_with_qrels().len(),
        ds.qrels_len(),
        ds.qrels_unknown_docs().len()
    );
    let mut streamed = 0;
    assert_eq!(
        read_corpus(&dir.join("corpus.jsonl"), |_| streamed += 1).unwrap(),
        5183
    );
    assert_eq!(streamed, 5183);

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("quarry.db");
    let mut store = Store::open(&db).unwrap();
    let t = Instant::now();
    let id = store
        .import_beir("scifact", &ds, &dir.display().to_string())
        .unwrap();
    let import_s = t.elapsed().as_secs_f64();
    println!("scifact: imported into a file database in {import_s:.3}s");
    assert!(import_s < 10.0, "SciFact import took {import_s:.1}s");
    let info = store.dataset("scifact").unwrap().unwrap();
    assert_eq!((info.id, info.kind.as_str()), (id, "beir"));
    assert_eq!(info.counts["documents"], 5183);
    assert_eq!(info.counts["queries"], 809);
    assert_eq!(info.counts["qrels"], 919);
    assert_eq!(store.qrels("scifact").unwrap(), ds.qrels);

    // Replacing keeps the id and the runs attached to it.
    let run = store
        .save_run(&RunRecord {
            dataset: "scifact".into(),
            task: "retrieval".into(),
            system: "bm25".into(),
            ..Default::default()
        })
        .unwrap();
    let t = Instant::now();
    assert_eq!(store.import_beir("scifact", &ds, "again").unwrap(), id);
    println!(
        "scifact: re-imported (replace) in {:.3}s",
        t.elapsed().as_secs_f64()
    );
    let info = store.dataset("scifact").unwrap().unwrap();
    assert_eq!((info.counts["documents"], info.counts["runs"]), (5183, 1));
    assert_eq!(info.source, "again");
    assert_eq!(store.run(run).unwrap().unwrap().dataset, "scifact");
    drop(store);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.list_datasets().unwrap().len(), 1);
}

#[test]
fn beir_topics_trec_qrels() {
    let qrels = read_qrels(&data(
        "retrieval/beir-topics/qrels.beir-v1.0.0-trec-covid.test.txt",
    ))
    .unwrap();
    let n: usize = qrels.values().map(|d| d.len()).sum();
    assert_eq!((qrels.len(), n), (50, 66334));
}

#[test]
fn yidu_s4k_bio() {
    let validate = read_bio(&data("ner/yidu-s4k/validate.bio")).unwrap();
    let train = read_bio(&data("ner/yidu-s4k/train.bio")).unwrap();
    println!(
        "yidu-s4k: validate {} sentences / {} entities; train {} / {}",
        validate.len(),
        entity_count(&validate),
        train.len(),
        entity_count(&train)
    );
    // SOURCES.md's 3,656 counts B- tags; two entities of validate.bio start with an I- tag
    // after O (lines 46412 and 62812), which seqeval counts as entities too.
    assert_eq!((validate.len(), entity_count(&validate)), (1273, 3658));
    let b_tags = validate
        .iter()
        .flat_map(|s| &s.tags)
        .filter(|t| t.starts_with("B-"))
        .count();
    assert_eq!(b_tags, 3656);
    assert_eq!((train.len(), entity_count(&train)), (4948, 13997));
    // The file starts with a BOM, which is not part of the first sentence.
    assert!(!validate[0].text.starts_with('\u{feff}'));
    assert_eq!(validate[0].id, "validate.bio:1");
    for s in validate.iter().chain(&train) {
        assert_eq!(s.text.chars().count(), s.tags.len());
        // Agrees with the public seqeval decoder of metrics::ner.
        assert_eq!(
            s.entities,
            quarry_eval::metrics::ner::bio_to_spans(&s.tags),
            "{}",
            s.id
        );
    }
    let mut store = Store::open_in_memory().unwrap();
    store
        .import_ner("yidu-s4k/validate", &validate, "")
        .unwrap();
    let info = store.dataset("yidu-s4k/validate").unwrap().unwrap();
    assert_eq!(
        (info.counts["sentences"], info.counts["entities"]),
        (1273, 3658)
    );
    assert_eq!(store.ner_gold("yidu-s4k/validate").unwrap(), validate);
}

#[test]
fn ccks2017_bio() {
    for (split, n) in [("train", 960), ("dev", 120), ("test", 120)] {
        let s = read_bio(&data(&format!("ner/ccks2017/{split}.bio"))).unwrap();
        println!(
            "ccks2017 {split}: {} sentences, {} entities",
            s.len(),
            entity_count(&s)
        );
        assert_eq!(s.len(), n, "{split}");
    }
}

#[test]
fn cmeee_dev() {
    let s = read_cmeee(&data("ner/cmeee/dev.json")).unwrap();
    assert_eq!((s.len(), entity_count(&s)), (5000, 20300));
    let nested = s
        .iter()
        .filter(|x| {
            x.entities.iter().any(|a| {
                x.entities
                    .iter()
                    .any(|b| a != b && a.start < b.end && b.start < a.end)
            })
        })
        .count();
    println!(
        "cmeee dev: 5000 sentences, 20300 entities, {nested} sentences with overlapping spans"
    );
    let mut store = Store::open_in_memory().unwrap();
    store.import_ner("cmeee/dev", &s, "").unwrap();
    assert_eq!(store.ner_gold("cmeee/dev").unwrap(), s);
}

#[test]
fn chip_cdn_train() {
    let ex = read_chip_cdn(&data("linking/chip-cdn/train.json")).unwrap();
    assert_eq!(ex.len(), 6000);
    let multi = ex.iter().filter(|e| e.gold.len() > 1).count();
    println!("chip-cdn train: 6000 examples, {multi} with several gold concepts");
    let mut store = Store::open_in_memory().unwrap();
    store.import_link("chip-cdn/train", &ex, "").unwrap();
    assert_eq!(store.link_gold("chip-cdn/train").unwrap(), ex);
    assert_eq!(
        store.dataset("chip-cdn/train").unwrap().unwrap().counts["examples"],
        6000
    );
}

#[test]
fn keyphrase_sets() {
    let kp = load_keyphrase_dir(&data("keyphrase/500N-KPCrowd-v1.1")).unwrap();
    assert_eq!(kp.len(), 500);
    let phrases: usize = kp.iter().map(|d| d.gold.len()).sum();
    println!("500N-KPCrowd: 500 docs, {phrases} distinct gold phrases");
    // 24,608 phrase lines (SOURCES.md), one repeated within its file.
    assert_eq!(phrases, 24607);
    assert!(kp.iter().all(|d| !d.text.contains('\r')));
    for (name, n) in [("Inspec", 2000), ("SemEval2010", 243)] {
        let docs = load_keyphrase_dir(&data(&format!("keyphrase/{name}"))).unwrap();
        let phrases: usize = docs.iter().map(|d| d.gold.len()).sum();
        println!(
            "{name}: {} docs, {phrases} distinct gold phrases",
            docs.len()
        );
        assert_eq!(docs.len(), n);
        // Inspec wraps long phrases with " \t": no phrase keeps a tab.
        assert!(docs.iter().flat_map(|d| &d.gold).all(|p| !p.contains('\t')));
    }
    let mut store = Store::open_in_memory().unwrap();
    store.import_keyphrase("kpcrowd", &kp, "").unwrap();
    assert_eq!(store.keyphrase_gold("kpcrowd").unwrap(), kp);
}

#[test]
fn wetext_cases() {
    let dir = data("tn/wetext");
    let groups = load_tn(&dir).unwrap();
    let count = |d| {
        groups
            .iter()
            .find(|g| g.direction == Some(d))
            .map_or(0, |g| g.cases.len())
    };
    let (tn, itn) = (count(TnDirection::Tn), count(TnDirection::Itn));
    println!("wetext: {tn} TN + {itn} ITN = {} cases", tn + itn);
    assert_eq!(groups.len(), 2, "only TN and ITN groups expected");
    // SOURCES.md says 432: normalizer_tag_oov.txt lacks a final newline, so counting lines
    // of the concatenated files merges two cases; per file there are 433.
    assert_eq!((tn, itn), (141, 292));
    let itn_cases = &groups[1].cases;
    assert!(itn_cases
        .iter()
        .any(|c| c.category == "cardinal" && c.id.starts_with("itn/chinese/test/data/")));
    // `嗯 =>` has an empty expected output.
    let whitelist = read_tn_file(&dir.join("tn/chinese/test/data/whitelist.txt")).unwrap();
    assert!(whitelist.iter().any(|c| c.expected.is_empty()));
    // Pointing at the ITN subtree alone still infers ITN.
    let only = load_tn(&dir.join("itn")).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].direction, Some(TnDirection::Itn));
}

// ---------------------------------------------------------------------------------------
// Malformed input

#[test]
fn beir_malformed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Missing files name the file and the expected layout.
    let e = load_beir(d, "test").unwrap_err();
    assert!(
        e.file.ends_with("corpus.jsonl") && e.message.contains("queries.jsonl"),
        "{e}"
    );
    write(
        d,
        "corpus.jsonl",
        "\u{feff}{\"_id\": \"d1\", \"title\": \"t\", \"text\": \"x\"}\r\n{\"_id\": 2, \"text\": \"y\", \"metadata\": {}}\r\n\r\n"
            .as_bytes(),
    );
    write(
        d,
        "queries.jsonl",
        b"{\"_id\": \"q1\", \"text\": \"a\"}\n{\"_id\": \"q2\", \"text\": \"b\"}\n",
    );
    let e = load_beir(d, "test").unwrap_err();
    assert!(e.message.contains("no qrels"), "{e}");
    write(
        d,
        "qrels/train.tsv",
        b"query-id\tcorpus-id\tscore\nq1\td1\t1\n",
    );
    let e = load_beir(d, "test").unwrap_err();
    assert!(e.message.contains("splits present: train"), "{e}");
    let ds = load_beir(d, "train").unwrap();
    assert_eq!(
        ds,
        BeirDataset {
            corpus: vec![
                CorpusDoc {
                    id: "d1".into(),
                    title: "t".into(),
                    text: "x".into()
                },
                CorpusDoc {
                    id: "2".into(),
                    title: String::new(),
                    text: "y".into()
                },
            ],
            queries: vec![
                QueryRec {
                    id: "q1".into(),
                    text: "a".into()
                },
                QueryRec {
                    id: "q2".into(),
                    text: "b".into()
                },
            ],
            qrels: [("q1".to_string(), [("d1".to_string(), 1)].into())].into(),
        }
    );
    assert_eq!(ds.queries_with_qrels().len(), 1);

    // Bad lines.
    write(
        d,
        "qrels/bad.tsv",
        b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\n",
    );
    assert_at(&load_beir(d, "bad").unwrap_err(), "bad.tsv", 3);
    write(d, "qrels/bad.tsv", b"q1\td1\t1\nq1\td2\tx\n");
    assert_at(&load_beir(d, "bad").unwrap_err(), "bad.tsv", 2);
    write(d, "qrels/bad.tsv", b"q1\td1\t1\n\nq9\td2\t1\n");
    let e = load_beir(d, "bad").unwrap_err();
    assert_at(&e, "bad.tsv", 3);
    assert!(e.message.contains("q9"), "{e}");
    write(d, "qrels/bad.tsv", b"q1\td1\t1\nq1\td1\t2\n");
    assert_at(
        &read_qrels_tsv(&d.join("qrels/bad.tsv")).unwrap_err(),
        "bad.tsv",
        2,
    );
    write(
        d,
        "corpus.jsonl",
        b"{\"_id\": \"d1\", \"text\": \"x\"}\n{\"_id\": \"d2\", \"text\": \"y\"\n",
    );
    assert_at(&load_beir(d, "train").unwrap_err(), "corpus.jsonl", 2);
    write(
        d,
        "corpus.jsonl",
        b"{\"_id\": \"d1\", \"text\": \"x\"}\n{\"_id\": \"d1\", \"text\": \"y\"}\n",
    );
    assert_at(&load_beir(d, "train").unwrap_err(), "corpus.jsonl", 2);
    write(d, "corpus.jsonl", b"{\"_id\": \"d1\", \"title\": \"x\"}\n");
    assert_at(&load_beir(d, "train").unwrap_err(), "corpus.jsonl", 1);
    write(
        d,
        "corpus.jsonl",
        b"{\"_id\": \"d1\", \"text\": \"x\"}\n{\"_id\": \"d2\", \"text\": \"\xff\"}\n",
    );
    assert_at(&load_beir(d, "train").unwrap_err(), "corpus.jsonl", 2);
    write(d, "corpus.jsonl", b"{\"_id\": \"d1\", \"text\": \"x\"}\n");
    write(
        d,
        "queries.jsonl",
        b"{\"_id\": \"q1\", \"text\": \"a\"}\n[1, 2]\n",
    );
    assert_at(&load_beir(d, "train").unwrap_err(), "queries.jsonl", 2);
}

#[test]
fn trec_malformed_and_round_trip() {
    assert_at(
        &parse_qrels("1 0 a 1\n1 0 b\n".as_bytes(), "q.txt").unwrap_err(),
        "q.txt",
        2,
    );
    assert_at(
        &parse_qrels("1 0 a x\n".as_bytes(), "q.txt").unwrap_err(),
        "q.txt",
        1,
    );
    let run_text = "q1 Q0 a 1 2.5 t\r\nq1 Q0 b 2 nan t\r\n";
    assert_at(
        &parse_run(run_text.as_bytes(), "r.txt").unwrap_err(),
        "r.txt",
        2,
    );
    assert_at(
        &parse_run("q1 Q0 a 1 2.5\n".as_bytes(), "r.txt").unwrap_err(),
        "r.txt",
        1,
    );
    assert_at(
        &parse_run("q1 Q0 a 1 2 t\n\nq1 Q0 a 2 1 t\n".as_bytes(), "r.txt").unwrap_err(),
        "r.txt",
        3,
    );
    assert_at(
        &parse_run("q1 Q0 a one 2 t\n".as_bytes(), "r.txt").unwrap_err(),
        "r.txt",
        1,
    );

    let mut run = Run::new();
    run.insert(
        "2".into(),
        vec![("d1".into(), 0.5), ("d3".into(), 0.5), ("d2".into(), 0.75)],
    );
    run.insert("10".into(), vec![("x".into(), -1.0)]);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.txt");
    let mut out = Vec::new();
    write_run(&mut out, &run, "quarry").unwrap();
    std::fs::write(&path, &out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "10 Q0 x 1 -1 quarry\n2 Q0 d2 1 0.75 quarry\n2 Q0 d3 2 0.5 quarry\n2 Q0 d1 3 0.5 quarry\n"
    );
    let back = read_run(&path).unwrap();
    assert_eq!(
        back["2"],
        vec![
            ("d2".to_string(), 0.75),
            ("d3".into(), 0.5),
            ("d1".into(), 0.5)
        ]
    );
    let mut nan = Run::new();
    nan.insert("q".into(), vec![("d".into(), f64::NAN)]);
    assert!(write_run(&mut Vec::new(), &nan, "t").is_err());
}

#[test]
fn bio_malformed() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = write(
        tmp.path(),
        "ok.bio",
        "\u{feff}头\tB-ANATOMY\r\n部\tI-ANATOMY\r\n \tO\r\n痛\tI-SIGNS\r\n\r\n发 O\n热 B-X\n\n\n"
            .as_bytes(),
    );
    let s = read_bio(&ok).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].text, "头部 痛");
    assert_eq!(
        s[0].entities,
        vec![
            EntitySpan {
                start: 0,
                end: 2,
                label: "ANATOMY".into()
            },
            EntitySpan {
                start: 3,
                end: 4,
                label: "SIGNS".into()
            },
        ]
    );
    assert_eq!((s[1].id.as_str(), s[1].entities.len()), ("ok.bio:6", 1));
    let missing = write(tmp.path(), "missing.bio", "头\tO\n部\n".as_bytes());
    assert_at(&read_bio(&missing).unwrap_err(), "missing.bio", 2);
    let empty_tag = write(tmp.path(), "empty.bio", "头\tO\n\n部\t\n".as_bytes());
    assert_at(&read_bio(&empty_tag).unwrap_err(), "empty.bio", 3);
    let bad_tag = write(tmp.path(), "tag.bio", "头\tO\n部\tB_X\n".as_bytes());
    assert_at(&read_bio(&bad_tag).unwrap_err(), "tag.bio", 2);
    let bad_utf8 = write(tmp.path(), "utf8.bio", b"a O\n\xe5\x00 O\n");
    assert_at(&read_bio(&bad_utf8).unwrap_err(), "utf8.bio", 2);
    assert_at(&parse_bio("ab\tO\n".as_bytes(), "x").unwrap_err(), "x", 1);
    let e = read_bio(&tmp.path().join("absent.bio")).unwrap_err();
    assert_eq!(e.line, 0);
}

#[test]
fn cblue_malformed() {
    let tmp = tempfile::tempdir().unwrap();
    let good = "[\n  {\"text\": \"左肺结节\", \"entities\": [\n    {\"start_idx\": 0, \"end_idx\": 1, \"type\": \"bod\", \"entity\": \"左肺\"},\n    {\"start_idx\": 1, \"end_idx\": 3, \"type\": \"sym\", \"entity\": \"肺结节\"}]},\n  {\"text\": \"无\", \"entities\": []}\n]\n";
    let path = write(tmp.path(), "dev.json", format!("\u{feff}{good}").as_bytes());
    let s = read_cmeee(&path).unwrap();
    assert_eq!(
        s[0].entities[1],
        EntitySpan {
            start: 1,
            end: 4,
            label: "sym".into()
        }
    );
    // A span whose text differs from `entity`: reported with the record index and its line.
    let bad = good.replace("\"entity\": \"肺结节\"", "\"entity\": \"结节\"");
    let e = parse_cmeee(&bad, "dev.json").unwrap_err();
    assert_at(&e, "dev.json", 2);
    assert!(
        e.message.contains("record 0") && e.message.contains("entity 1"),
        "{e}"
    );
    let bad = good.replace("\"end_idx\": 3", "\"end_idx\": 9");
    assert!(parse_cmeee(&bad, "dev.json")
        .unwrap_err()
        .message
        .contains("out of range"));
    let bad = good.replace("{\"text\": \"无\", \"entities\": []}", "{\"text\": \"无\"}");
    let e = parse_cmeee(&bad, "dev.json").unwrap_err();
    assert!(e.line == 5 && e.message.contains("record 1"), "{e}");
    let bad = good.replace("\"end_idx\": 1,", "\"end_idx\": -1,");
    let e = parse_cmeee(&bad, "dev.json").unwrap_err();
    assert!(e.line == 3 && e.message.contains("record 0"), "{e}");
    let e = parse_cmeee(&good[..good.len() - 3], "dev.json").unwrap_err();
    assert!(e.line > 0, "{e}");
    assert!(parse_cmeee("", "dev.json").is_err());
    assert!(parse_cmeee("{}", "dev.json").is_err());

    let cdn = "[\n {\"text\": \"a\", \"normalized_result\": \"x##y\"},\n {\"text\": \"b\", \"normalized_result\": \" ## \"}\n]";
    let e = parse_chip_cdn(cdn, "train.json").unwrap_err();
    assert!(e.line == 3 && e.message.contains("record 1"), "{e}");
    let ok = parse_chip_cdn(&cdn.replace(" ## ", "z"), "train.json").unwrap();
    assert_eq!(
        ok[0],
        LinkExample {
            id: "0".into(),
            text: "a".into(),
            gold: ["x".to_string(), "y".to_string()].into()
        }
    );
}

#[test]
fn keyphrase_malformed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "docsutf8/a.txt", b"\xef\xbb\xbfTitle\r\nBody\r\n");
    write(d, "docsutf8/b.txt", b"Other");
    write(d, "docsutf8/README", b"ignored");
    write(
        d,
        "keys/a.key",
        b"alpha beta\r\n\tgamma\r\nclassical \tsystems\r\nalpha beta\r\n\r\n",
    );
    let e = load_keyphrase(&d.join("docsutf8"), &d.join("keys")).unwrap_err();
    assert!(
        e.message.contains("b") && e.message.contains("no key file"),
        "{e}"
    );
    write(d, "keys/b.key", b"one");
    write(d, "keys/c.key", b"orphan");
    let e = load_keyphrase_dir(d).unwrap_err();
    assert!(
        e.message.contains("c") && e.message.contains("no document"),
        "{e}"
    );
    std::fs::remove_file(d.join("keys/c.key")).unwrap();
    let docs = load_keyphrase_dir(d).unwrap();
    assert_eq!(
        docs[0],
        KeyphraseDoc {
            id: "a".into(),
            text: "Title\nBody\n".into(),
            gold: vec![
                "alpha beta".into(),
                "gamma".into(),
                "classical systems".into()
            ],
        }
    );
    write(d, "keys/b.key", b"ok\n\xff\xfe\n");
    assert_at(
        &read_key_file(&d.join("keys/b.key")).unwrap_err(),
        "b.key",
        2,
    );
    assert_at(&load_keyphrase_dir(d).unwrap_err(), "b.key", 2);
    assert_eq!(load_keyphrase_dir(&d.join("nowhere")).unwrap_err().line, 0);
}

#[test]
fn tn_malformed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "itn/date.txt",
        "\u{feff}二零零八年 => 2008年\r\n\r\n三到五~3~5\r\n".as_bytes(),
    );
    write(d, "tn/money.txt", "¥1 => 一元\n嗯 =>\n".as_bytes());
    write(d, "other/char.txt", "A => A\n".as_bytes());
    write(d, "tn/README.md", b"not cases");
    let groups = load_tn(d).unwrap();
    let dirs: Vec<_> = groups
        .iter()
        .map(|g| (g.direction, g.cases.len()))
        .collect();
    assert_eq!(
        dirs,
        vec![
            (Some(TnDirection::Tn), 2),
            (Some(TnDirection::Itn), 2),
            (None, 1)
        ]
    );
    let itn = &groups[1].cases;
    assert_eq!(
        (itn[1].input.as_str(), itn[1].expected.as_str()),
        ("三到五", "3~5")
    );
    assert_eq!(
        (itn[1].id.as_str(), itn[1].category.as_str()),
        ("itn/date.txt:3", "date")
    );
    write(d, "tn/bad.txt", "1 => 一\n没有分隔符\n".as_bytes());
    assert_at(&load_tn(d).unwrap_err(), "bad.txt", 2);
    write(d, "tn/bad.txt", " => 一\n".as_bytes());
    assert_at(
        &read_tn_file(&d.join("tn/bad.txt")).unwrap_err(),
        "bad.txt",
        1,
    );
    assert_eq!(load_tn(&d.join("absent")).unwrap_err().line, 0);
}

// ---------------------------------------------------------------------------------------
// Store

fn sample_run() -> RunRecord {
    let mut ranked = Run::new();
    ranked.insert(
        "q1".into(),
        vec![("d1".into(), 1.0), ("d2".into(), 3.0), ("d3".into(), 1.0)],
    );
    ranked.insert("q2".into(), vec![("d9".into(), 0.25)]);
    let mut per_query = BTreeMap::new();
    per_query.insert("q1".to_string(), [("ndcg@10".to_string(), 0.5)].into());
    per_query.insert("q2".to_string(), [("ndcg@10".to_string(), 1.0)].into());
    RunRecord {
        dataset: "toy".into(),
        task: "retrieval".into(),
        system: "bm25".into(),
        config: serde_json::json!({"k1": 0.9, "b": 0.4}),
        git_rev: Some("abc123".into()),
        timings: serde_json::json!({"search_s": 0.01}),
        ranked: Some(ranked),
        predictions: vec![("q1".into(), serde_json::json!({"note": "x"}))],
        metrics: [("ndcg@10".to_string(), 0.75), ("map".to_string(), 0.5)].into(),
        per_query,
    }
}

fn row_count(store: &Store, table: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn store_migrations_and_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("q.db");
    let store = Store::open(&db).unwrap();
    assert!(db.is_file());
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    drop(store);
    // Opening again applies nothing and keeps the data.
    let mut store = Store::open(&db).unwrap();
    store.save_run(&sample_run()).unwrap();
    drop(store);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    assert_eq!(store.list_runs().unwrap().len(), 1);
    // A newer schema is refused.
    let newer = MIGRATIONS.len() as i64 + 1;
    store
        .connection()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    drop(store);
    match Store::open(&db) {
        Err(StoreError::NewerSchema { found, known, .. }) => {
            assert_eq!((found, known), (newer, MIGRATIONS.len() as i64))
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    // A file that is not a database is an error, not a panic.
    let junk = write(tmp.path(), "junk.db", &[7u8; 4096]);
    assert!(Store::open(&junk).is_err());
}

#[test]
fn store_run_round_trip() {
    let mut store = Store::open_in_memory().unwrap();
    let record = sample_run();
    let id = store.save_run(&record).unwrap();
    // The dataset did not exist: a bare entry was created.
    let ds = store.dataset("toy").unwrap().unwrap();
    assert_eq!((ds.kind.as_str(), ds.counts["runs"]), ("bare", 1));
    let summary = store.run(id).unwrap().unwrap();
    assert_eq!(summary.metrics, record.metrics);
    assert_eq!(
        (summary.system.as_str(), summary.git_rev.as_deref()),
        ("bm25", Some("abc123"))
    );
    assert!(
        summary.created.ends_with('Z') && summary.created.len() == 20,
        "{}",
        summary.created
    );
    assert_eq!(store.run_per_query(id).unwrap(), record.per_query);
    let results = store.run_results(id).unwrap();
    let q1: Vec<&str> = results["q1"].iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(q1, ["d2", "d3", "d1"]); // score desc, ties by docid desc
    let loaded = store.load_run(id).unwrap().unwrap();
    let mut expected = record.clone();
    expected.ranked = Some(results);
    assert_eq!(loaded, expected);
    let machine = store.run_machine(id).unwrap().unwrap();
    assert_eq!(machine["os"], std::env::consts::OS);
    assert!(machine_info()["cpus"].as_u64().unwrap_or(0) >= 1);
    let id2 = store
        .save_run(&RunRecord {
            system: "dense".into(),
            ..record.clone()
        })
        .unwrap();
    let runs = store.list_runs().unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [id, id2]);
    assert!(store.run(id2 + 100).unwrap().is_none());
    assert!(store.run_results(id2 + 100).unwrap().is_empty());
    assert!(store.delete_run(id2).unwrap());
    assert_eq!(row_count(&store, "results"), 4);
    assert!(matches!(
        store.qrels("nope"),
        Err(StoreError::UnknownDataset(_))
    ));
}

#[test]
fn store_save_run_is_atomic() {
    let mut store = Store::open_in_memory().unwrap();
    let tables = ["datasets", "runs", "results", "predictions", "metrics"];
    let counts = |s: &Store| tables.map(|t| row_count(s, t));
    // A NaN per-query metric fails after the run, results, predictions and aggregate metrics
    // were inserted: nothing at all must remain, not even the bare dataset entry.
    let mut bad = sample_run();
    bad.per_query
        .get_mut("q2")
        .unwrap()
        .insert("map".into(), f64::NAN);
    let e = store.save_run(&bad).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    assert_eq!(counts(&store), [0; 5]);
    // A repeated prediction id fails inside SQLite (primary key), also mid-way.
    let mut dup = sample_run();
    dup.predictions.push(("q1".into(), serde_json::json!(null)));
    let e = store.save_run(&dup).unwrap_err();
    assert!(e.to_string().contains("prediction"), "{e}");
    assert_eq!(counts(&store), [0; 5]);
    // The store is still usable.
    store.save_run(&sample_run()).unwrap();
    assert_eq!(counts(&store), [1, 1, 4, 1, 4]);
    assert!(store
        .save_run(&RunRecord {
            system: " ".into(),
            ..sample_run()
        })
        .is_err());
}

#[test]
fn store_replace_is_atomic() {
    let mut store = Store::open_in_memory().unwrap();
    let s = |id: &str| NerSentence {
        id: id.into(),
        text: "ab".into(),
        tags: vec!["B-X".into(), "I-X".into()],
        entities: vec![EntitySpan {
            start: 0,
            end: 2,
            label: "X".into(),
        }],
    };
    let id = store.import_ner("n", &[s("1"), s("2")], "v1").unwrap();
    // Duplicate ids fail mid-way; the previous content stays.
    assert!(store.import_ner("n", &[s("3"), s("3")], "v2").is_err());
    let info = store.dataset("n").unwrap().unwrap();
    assert_eq!(
        (info.id, info.source.as_str(), info.counts["sentences"]),
        (id, "v1", 2)
    );
    assert_eq!(info.meta["entity_types"], serde_json::json!(["X"]));
    assert_eq!(store.import_ner("n", &[s("3")], "v2").unwrap(), id);
    assert_eq!(store.ner_gold("n").unwrap(), vec![s("3")]);
}

#[test]
fn git_revision_helper() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(git_revision(tmp.path()), None);
    if let Some(rev) = git_revision(Path::new(env!("CARGO_MANIFEST_DIR"))) {
        let hash = rev.strip_suffix("-dirty").unwrap_or(&rev);
        assert!(
            hash.len() >= 40 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{rev}"
        );
    }
}
