//! `quarry eval keyphrase` (cross-validated extractor), `quarry keyphrases [train]`,
//! `quarry eval coref`, and the coref + keyphrase stages feeding the index's facet.

mod common;

use common::{failure, json_ok, quarry, with_stdin};
use std::io::Write;
use std::path::{Path, PathBuf};

fn kpcrowd() -> PathBuf {
    let d = quarry_core::shared_data::dir().join("keyphrase/500N-KPCrowd-v1.1");
    assert!(
        d.join("docsutf8").is_dir(),
        "{} missing (set QUARRY_SHARED_DATA to ../shared/data)",
        d.display()
    );
    d
}

/// The first `n` stories of each of the ten categories, copied into `dir` (docsutf8 + keys).
fn subset(dir: &Path, n: usize) -> PathBuf {
    let src = kpcrowd();
    let out = dir.join("kp");
    std::fs::create_dir_all(out.join("docsutf8")).unwrap();
    std::fs::create_dir_all(out.join("keys")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(src.join("docsutf8"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut per_cat = std::collections::HashMap::<String, usize>::new();
    for name in names {
        let cat = name.split('-').next().unwrap().to_string();
        let c = per_cat.entry(cat).or_default();
        if *c >= n {
            continue;
        }
        *c += 1;
        let stem = name.trim_end_matches(".txt");
        std::fs::copy(
            src.join("docsutf8").join(&name),
            out.join("docsutf8").join(&name),
        )
        .unwrap();
        std::fs::copy(
            src.join("keys").join(format!("{stem}.key")),
            out.join("keys").join(format!("{stem}.key")),
        )
        .unwrap();
    }
    out
}

fn store(dir: &Path) -> String {
    dir.join("eval.sqlite").display().to_string()
}

#[test]
fn cross_validated_extractor_beats_frequency_and_stores_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let kp = subset(tmp.path(), 12);
    let docs = kp.join("docsutf8").display().to_string();
    let keys = kp.join("keys").display().to_string();
    let run = |extra: &[&str]| {
        json_ok(
            quarry()
                .args([
                    "--json",
                    "eval",
                    "keyphrase",
                    "--docs",
                    &docs,
                    "--keys",
                    &keys,
                    "--folds",
                    "3",
                    "--trees",
                    "60",
                    "--db",
                    &store(tmp.path()),
                ])
                .args(extra),
            "eval keyphrase",
        )
    };
    let ours = run(&[
        "--save-pred",
        &tmp.path().join("pred").display().to_string(),
    ]);
    assert_eq!(ours["docs"], 120);
    assert_eq!(ours["system"], "keyphrase-gbdt");
    let ndcg = ours["ndcg@10"].as_f64().unwrap();
    // the baseline: candidates by frequency alone, written as predictions and scored the same way
    let pred_dir = tmp.path().join("freq");
    std::fs::create_dir_all(&pred_dir).unwrap();
    for e in std::fs::read_dir(kp.join("docsutf8")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for w in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 3)
        {
            *counts.entry(w.to_lowercase()).or_default() += 1;
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let body: Vec<String> = v.into_iter().take(50).map(|(w, _)| w).collect();
        std::fs::write(
            pred_dir.join(p.file_stem().unwrap()).with_extension("key"),
            body.join("\n"),
        )
        .unwrap();
    }
    let freq = run(&["--pred", &pred_dir.display().to_string()]);
    let base = freq["ndcg@10"].as_f64().unwrap();
    assert!(
        ndcg > base + 0.05,
        "extractor nDCG@10 {ndcg} vs frequency {base}"
    );
    // the saved predictions score the same when read back
    let again = run(&["--pred", &tmp.path().join("pred").display().to_string()]);
    assert!((again["ndcg@10"].as_f64().unwrap() - ndcg).abs() < 1e-12);
    let off = run(&["--coref", "pool", "--filter", "on", "--learner", "logistic"]);
    assert_eq!(off["system"], "keyphrase-lr+coref+filter");
    assert!(off["ndcg@10"].as_f64().unwrap() > base);
    let e = failure(quarry().args([
        "eval",
        "keyphrase",
        "--docs",
        &docs,
        "--keys",
        &keys,
        "--folds",
        "1",
        "--db",
        &store(tmp.path()),
    ]));
    assert!(e.contains("--folds must be at least 2"), "{e}");
}

fn keyphrases(args: &[&str], input: &[u8]) -> (Option<i32>, String, String) {
    let mut all = vec!["keyphrases"];
    all.extend_from_slice(args);
    with_stdin(&all, input)
}

#[test]
fn train_extract_ingest_and_filter_by_keyphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let kp = subset(tmp.path(), 6);
    let model = tmp.path().join("kp.json");
    json_ok(
        quarry().args([
            "--json",
            "keyphrases",
            "train",
            "--docs",
            &kp.join("docsutf8").display().to_string(),
            "--keys",
            &kp.join("keys").display().to_string(),
            "--out",
            &model.display().to_string(),
        ]),
        "keyphrases train",
    );
    let m = model.display().to_string();
    let story = "Storm floods Riverton\nA storm flooded Riverton on Sunday. Mayor Ann Cole said the \
                 flood closed schools. Cole asked residents of Riverton to stay home until the flood passed.";
    let (code, out, err) = keyphrases(&["--model", &m, "--k", "5", "--json"], story.as_bytes());
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let phrases = v["keyphrases"].as_array().unwrap();
    assert!(!phrases.is_empty() && phrases.len() <= 5);
    let chars: Vec<char> = story.chars().collect();
    for p in phrases {
        for s in p["spans"].as_array().unwrap() {
            let (a, b) = (
                s["start"].as_u64().unwrap() as usize,
                s["end"].as_u64().unwrap() as usize,
            );
            let got: String = chars[a..b].iter().collect();
            assert_eq!(
                quarry_core::phrase::normalize_phrase(&got),
                p["key"].as_str().unwrap()
            );
        }
    }
    let (code, _, err) = keyphrases(&["--model", &m], b"caf\xe9 au lait\n");
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("not UTF-8"), "{err}");
    let (code, out, _) = keyphrases(&["--model", &m], b"");
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let (_, _, err) = keyphrases(&[], b"text");
    assert!(err.contains("quarry keyphrases train"), "{err}");
    let (_, _, err) = keyphrases(&["--model", "/nonexistent.json"], b"text");
    assert!(err.contains("/nonexistent.json"), "{err}");

    // the stages feed the index's key-phrase facet; search filters by it
    let jsonl = tmp.path().join("docs.jsonl");
    let mut f = std::fs::File::create(&jsonl).unwrap();
    for e in std::fs::read_dir(kp.join("docsutf8")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
        writeln!(f, "{}", serde_json::json!({"id": p.file_stem().unwrap().to_string_lossy(), "lang": "en", "title": title, "body": body.trim()})).unwrap();
    }
    let cfg = tmp.path().join("quarry.toml");
    std::fs::write(&cfg, format!("[pipeline]\nstages = [\"lang-detect\", \"coref\", \"keyphrase\"]\n[pipeline.settings.keyphrase]\nmodel = {:?}\nk = 8\n", m)).unwrap();
    let idx = tmp.path().join("idx").display().to_string();
    let c = cfg.display().to_string();
    let out = quarry()
        .args([
            "--config",
            &c,
            "ingest",
            "--index",
            &idx,
            &jsonl.display().to_string(),
        ])
        .env("QUARRY_HOME", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_ok(
        quarry()
            .args([
                "--config", &c, "--json", "search", "--index", &idx, "--facets", "5", "the", "-k",
                "60",
            ])
            .env("QUARRY_HOME", tmp.path()),
        "search",
    );
    let facets = v["keyphrase_facets"].as_array().unwrap();
    assert!(!facets.is_empty(), "{v}");
    let (term, n) = (
        facets[0]["keyphrase"].as_str().unwrap(),
        facets[0]["docs"].as_u64().unwrap(),
    );
    let v = json_ok(
        quarry()
            .args([
                "--config",
                &c,
                "--json",
                "search",
                "--index",
                &idx,
                "--keyphrase",
                term,
                term,
                "-k",
                "60",
            ])
            .env("QUARRY_HOME", tmp.path()),
        "filtered search",
    );
    let hits = v["hits"].as_array().unwrap();
    // the query is the phrase itself, so every document having it as a key phrase matches
    assert_eq!(
        hits.len() as u64,
        n,
        "the filter keeps exactly the documents the facet counts: {v}"
    );
    // a missing model is a clear configuration error
    std::fs::write(&cfg, "[pipeline]\nstages = [\"keyphrase\"]\n[pipeline.settings.keyphrase]\nmodel = \"/nonexistent.json\"\n").unwrap();
    let e = failure(
        quarry()
            .args([
                "--config",
                &c,
                "ingest",
                "--index",
                &tmp.path().join("idx2").display().to_string(),
                &jsonl.display().to_string(),
            ])
            .env("QUARRY_HOME", tmp.path()),
    );
    assert!(
        e.contains("nonexistent.json") && e.contains("quarry keyphrases train"),
        "{e}"
    );
}

#[test]
fn coref_rules_beat_exact_names_on_the_dev_set() {
    let tmp = tempfile::tempdir().unwrap();
    let gold = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/coref/dev.jsonl")
        .display()
        .to_string();
    let run = |system: &str| {
        json_ok(
            quarry().args([
                "--json",
                "eval",
                "coref",
                "--gold",
                &gold,
                "--system",
                system,
                "--db",
                &store(tmp.path()),
            ]),
            "eval coref",
        )
    };
    let rules = run("rules");
    let exact = run("exact");
    assert_eq!(rules["docs"], 40);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    assert!(
        f(&rules, "b3_f1/en") > f(&exact, "b3_f1/en") + 0.05,
        "{rules} vs {exact}"
    );
    assert!(f(&rules, "b3_f1/en") > 0.85, "{rules}");
    assert!(f(&rules, "b3_p") > 0.9);
    // Chinese: NER entities + forest readings + the abbreviation rule join more than exact text
    assert!(
        f(&rules, "b3_f1/zh") >= f(&exact, "b3_f1/zh"),
        "{rules} vs {exact}"
    );
    assert!(
        f(&rules, "mention_f1/zh") > 0.4,
        "the NER model finds the Chinese mentions: {rules}"
    );
    // malformed gold: a clear error with the line
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"id\": \"x\"}\n").unwrap();
    let e = failure(quarry().args([
        "eval",
        "coref",
        "--gold",
        &bad.display().to_string(),
        "--db",
        &store(tmp.path()),
    ]));
    assert!(e.contains("line 1"), "{e}");
}
