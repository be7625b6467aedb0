//! End-to-end behaviour on the toy artifact (`tests/fixtures/toy`, written by
//! `tests/fixtures/make_toy.py`): the same spans as Python + onnxruntime, padding and
//! batching that change nothing, long texts split and stitched with the right offsets,
//! hostile input, model-name resolution, and the `ner` stage mapping to original offsets.
//!
//! These need the ONNX Runtime library (`quarry models fetch`, or ORT_DYLIB_PATH).

use quarry_core::offsets::NormalizedTextBuilder;
use quarry_core::stage::Stage;
use quarry_core::{Document, Span};
use quarry_ner::stage::NerStage;
use quarry_ner::{resolve, Entity, NerError, NerModel, NerOptions, Variant};
use std::path::{Path, PathBuf};

fn toy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy")
}

fn toy(opts: NerOptions) -> NerModel {
    NerModel::load(toy_dir().to_str().unwrap(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn unsplit() -> NerOptions {
    NerOptions {
        max_chars: Some(100_000),
        ..Default::default()
    }
}

fn key(e: &[Entity]) -> Vec<(usize, usize, String)> {
    e.iter()
        .map(|e| (e.start, e.end, e.label.clone()))
        .collect()
}

fn sentences() -> Vec<String> {
    std::fs::read_to_string(toy_dir().join("sentences.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `reference.tsv`: per sentence, the spans Python computed.
fn reference(n: usize) -> Vec<Vec<(usize, usize, String)>> {
    reference_of(&toy_dir(), n)
}

fn reference_of(dir: &Path, n: usize) -> Vec<Vec<(usize, usize, String)>> {
    let mut out = vec![Vec::new(); n];
    for line in std::fs::read_to_string(dir.join("reference.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        out[f[0].parse::<usize>().unwrap()].push((
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].to_string(),
        ));
    }
    out
}

#[test]
fn toy_matches_python_sentence_by_sentence() {
    let sents = sentences();
    let want = reference(sents.len());
    assert!(
        want.iter().map(Vec::len).sum::<usize>() > 5,
        "the toy finds entities"
    );
    let m = NerModel::load_dir(&toy_dir(), Variant::Int8, &unsplit()).unwrap();
    for (i, s) in sents.iter().enumerate() {
        let got = m.predict_one(s).unwrap();
        assert_eq!(key(&got), want[i], "sentence {i}: {s}");
        for e in &got {
            let slice: String = s.chars().skip(e.start).take(e.end - e.start).collect();
            assert_eq!(e.text, slice);
            assert!(e.confidence > 0.0 && e.confidence <= 1.0, "{e:?}");
        }
    }
}

/// A network that reads e5 features (`tests/fixtures/toy-e5`: the toy plus an `e5` input that
/// moves the emissions strongly) gets them from the fetched `multilingual-e5-small:layers`
/// token encoder and finds the spans Python found with the same states (`make_toy.py
/// --e5`), alone and in one padded batch (the toy's MatMuls are fp32).
#[test]
fn e5_toy_matches_python_alone_and_batched() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy-e5");
    let sents = sentences();
    let want = reference_of(&dir, sents.len());
    assert_ne!(
        want,
        reference(sents.len()),
        "the e5 input changes the spans"
    );
    let m = NerModel::load_dir(&dir, Variant::Int8, &unsplit()).unwrap_or_else(|e| panic!("{e}"));
    let enc = m.token_encoder().expect("toy-e5 reads e5 features");
    assert_eq!(enc.layers(), &[4, 8, 12]);
    for (i, s) in sents.iter().enumerate() {
        assert_eq!(
            key(&m.predict_one(s).unwrap()),
            want[i],
            "sentence {i}: {s}"
        );
    }
    let refs: Vec<&str> = sents.iter().map(String::as_str).collect();
    let all = m.predict(&refs).unwrap();
    for (i, got) in all.iter().enumerate() {
        assert_eq!(key(got), want[i], "batched, sentence {i}");
    }
    // a long text is split and stitched; every character still gets its states
    let long = sents[0].repeat(40);
    let split = NerModel::load_dir(&dir, Variant::Int8, &NerOptions::default()).unwrap();
    assert!(split
        .predict_one(&long)
        .unwrap()
        .iter()
        .all(|e| e.end <= long.chars().count()));
}

/// Batching (length-sorted, padded to the longest) changes nothing for an fp32 graph, and
/// results come back in input order. (An int8 graph with dynamic quantization computes one
/// activation scale per batch tensor, so its emissions, and rarely its spans, depend on
/// what else is in the batch; comparisons with Python run one sentence at a time.)
#[test]
fn batching_and_padding_change_nothing_in_fp32() {
    let sents = sentences();
    let mut texts: Vec<String> = sents.clone();
    texts.extend(sents.iter().map(|s| format!("{s}{s}")));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let one = NerModel::load_dir(&toy_dir(), Variant::Fp32, &unsplit()).unwrap();
    let alone: Vec<_> = refs
        .iter()
        .map(|t| key(&one.predict_one(t).unwrap()))
        .collect();
    assert!(alone.iter().map(Vec::len).sum::<usize>() > 10);
    for batch_size in [1, 3, 32] {
        let m = NerModel::load_dir(
            &toy_dir(),
            Variant::Fp32,
            &NerOptions {
                batch_size,
                ..unsplit()
            },
        )
        .unwrap();
        let got: Vec<_> = m.predict(&refs).unwrap().iter().map(|e| key(e)).collect();
        assert_eq!(got, alone, "batch size {batch_size}");
    }
}

#[test]
fn fp32_graph_loads_and_runs() {
    let spec = format!("{}:fp32", toy_dir().display());
    let r = resolve(&spec).unwrap();
    assert_eq!(r.variant, Variant::Fp32);
    let m = NerModel::load(&spec, &unsplit()).unwrap();
    assert_eq!(m.variant(), Variant::Fp32);
    let out = m.predict(&["肝右叶见一低密度影。", ""]).unwrap();
    assert_eq!(out.len(), 2);
    assert!(out[1].is_empty());
}

/// Parts whose lengths lie in (max/2, max] and end with "。" (their only boundary), so the
/// splitter cuts their concatenation exactly between them.
#[test]
fn long_texts_are_split_and_stitched_with_shifted_offsets() {
    let m = toy(NerOptions::default());
    let max = m.max_chars();
    assert_eq!(max, 24, "the toy config sets max_chars = 24");
    let pieces = [
        "肝右叶见一低密度影大小约2cm",
        "右肾见囊肿未见强化",
        "ＣＴ肺结节钙化双肺纹理清晰",
        "MRI未见明显异常胆囊大小正常",
        "两肺门不大纵隔居中心影不大肝脏形态",
    ];
    let mut parts: Vec<String> = Vec::new();
    for (i, p) in pieces.iter().cycle().take(40).enumerate() {
        let mut s: String = p.chars().cycle().skip(i % 5).take(13 + i % 10).collect();
        s.push('。');
        let n = s.chars().count();
        assert!(n > max / 2 && n <= max, "{n}");
        parts.push(s);
    }
    let whole: String = parts.concat();
    assert!(whole.chars().count() > 10 * max);
    let got = m.predict_one(&whole).unwrap();
    let mut want = Vec::new();
    let mut offset = 0;
    let per_part = m
        .predict(&parts.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    for (p, ents) in parts.iter().zip(per_part) {
        for e in ents {
            want.push(Entity {
                start: e.start + offset,
                end: e.end + offset,
                ..e
            });
        }
        offset += p.chars().count();
    }
    assert!(!want.is_empty());
    assert_eq!(key(&got), key(&want));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.text, w.text);
        assert_eq!(g.confidence, w.confidence);
    }
}

#[test]
fn hostile_input_gives_clean_results() {
    let m = toy(NerOptions::default());
    let long: String = "肝右叶见低密度影，大小约2.1cm😀ΩЖ\u{0}\t。"
        .chars()
        .cycle()
        .take(100_000)
        .collect();
    let texts = [
        "",
        " ",
        "\t",
        "\n\n",
        "😀😀👨‍👩‍👧",
        "CT扫描 показывает 肝 العربية हिन्दी e\u{301}",
        "龘靐齉",
        "\u{feff}\u{200b}\u{0}",
        long.as_str(),
    ];
    let out = m.predict(&texts).unwrap();
    assert_eq!(out.len(), texts.len());
    assert!(out[0].is_empty());
    for (t, ents) in texts.iter().zip(&out) {
        let cs: Vec<char> = t.chars().collect();
        let mut last = 0;
        for e in ents {
            assert!(e.start < e.end && e.end <= cs.len(), "{e:?}");
            assert!(e.start >= last, "sorted, non-overlapping: {e:?}");
            last = e.end;
            assert_eq!(e.text, cs[e.start..e.end].iter().collect::<String>());
            assert!(e.confidence.is_finite() && e.confidence > 0.0 && e.confidence <= 1.0);
        }
    }
    assert!(!out[8].is_empty());
}

#[test]
fn model_names_resolve_or_say_where_they_were_looked_for() {
    // a bare name: every place searched is named
    let e = resolve("no-such-ner-model").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, NerError::NotFound { .. }));
    assert!(
        msg.contains("models/artifacts/no-such-ner-model")
            && msg.contains("QUARRY_ARTIFACTS")
            && msg.contains("models/recipes/ner/build.sh"),
        "{msg}"
    );
    // a path that does not exist
    let msg = resolve("./nowhere/ner").unwrap_err().to_string();
    assert!(msg.contains("./nowhere/ner"), "{msg}");
    // a directory with a missing file names the file and the rebuild command
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "vocab.json", "crf.json"] {
        std::fs::copy(toy_dir().join(f), dir.path().join(f)).unwrap();
    }
    let msg = NerModel::load(dir.path().to_str().unwrap(), &NerOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("lexicon.tsv") && msg.contains("models/recipes/ner/build.sh"),
        "{msg}"
    );
    std::fs::copy(
        toy_dir().join("lexicon.tsv"),
        dir.path().join("lexicon.tsv"),
    )
    .unwrap();
    let msg = NerModel::load(dir.path().to_str().unwrap(), &NerOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("model.int8.onnx"), "{msg}");
    // a malformed file says which and what
    std::fs::copy(
        toy_dir().join("model.int8.onnx"),
        dir.path().join("model.int8.onnx"),
    )
    .unwrap();
    std::fs::write(dir.path().join("crf.json"), "{\"tags\": [\"O\"]}").unwrap();
    let msg = NerModel::load(dir.path().to_str().unwrap(), &NerOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("crf.json"), "{msg}");
    // $QUARRY_ARTIFACTS/NAME is found by name (the only test of this binary that sets it)
    let arts = tempfile::tempdir().unwrap();
    let named = arts.path().join("toy-ner");
    std::fs::create_dir(&named).unwrap();
    for f in std::fs::read_dir(toy_dir()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, named.join(f.file_name().unwrap())).unwrap();
    }
    std::env::set_var("QUARRY_ARTIFACTS", arts.path());
    let r = resolve("toy-ner:fp32");
    std::env::remove_var("QUARRY_ARTIFACTS");
    let r = r.unwrap();
    assert_eq!((r.dir, r.variant), (named, Variant::Fp32));
}

#[test]
fn a_missing_runtime_is_the_models_error() {
    let home = tempfile::tempdir().unwrap();
    // Only meaningful when the runtime is not loaded yet in this process and not overridden.
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        return;
    }
    let opts = NerOptions {
        home: Some(home.path().to_path_buf()),
        ..Default::default()
    };
    match NerModel::load(toy_dir().to_str().unwrap(), &opts) {
        // another test of this binary loaded the runtime first: nothing to check
        Ok(_) => {}
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("quarry models fetch"), "{msg}");
        }
    }
}

#[test]
fn stage_annotates_original_offsets() {
    let stage = NerStage::new(toy(unsplit()), vec!["body".into()]);
    // original: "肝右叶  见一低密度影" (two spaces); normalized drops one of them
    let original = "肝右叶  见一低密度影，右肾见囊肿。";
    let mut b = NormalizedTextBuilder::new(original.chars().count());
    for (i, c) in original.chars().enumerate() {
        if i == 4 {
            b.push("", Span::new(4, 5));
        } else {
            b.push_char(c, i);
        }
    }
    let norm = b.finish();
    let direct = stage.model().predict_one(&norm.text).unwrap();
    assert!(!direct.is_empty());
    let mut doc = Document::new("d1")
        .with_field("title", "肝右叶见一低密度影")
        .with_field("body", original);
    doc.normalized.insert("body".into(), norm.clone());
    let mut docs = vec![doc, Document::new("d2").with_field("body", "")];
    stage.process(&mut docs).unwrap();
    let ann = &docs[0].annotations;
    assert_eq!(ann.len(), direct.len(), "only the body field is tagged");
    for (a, e) in ann.iter().zip(&direct) {
        assert_eq!(a.field, "body");
        assert_eq!(a.kind, "entity");
        assert_eq!(a.label, e.label);
        assert_eq!(a.score, Some(e.confidence));
        assert_eq!(a.span, norm.to_original(Span::new(e.start, e.end)));
        let orig = a.span.slice(original).unwrap();
        assert_eq!(orig.replace(' ', ""), e.text.replace(' ', ""), "{a:?}");
        if e.start >= 4 {
            assert_eq!(a.span.start, e.start + 1, "shifted past the deleted space");
        }
    }
    assert!(docs[1].annotations.is_empty());
    // the serialized annotation keeps its score
    let v = serde_json::to_value(&ann[0]).unwrap();
    assert!(v["score"].is_number());
}

#[test]
fn stage_settings_are_validated() {
    use quarry_ner::stage::NerStage as S;
    let t: toml::Table = toml::from_str("modle = \"x\"").unwrap();
    assert!(S::from_settings(&t)
        .err()
        .unwrap()
        .to_string()
        .contains("modle"));
    let t: toml::Table = toml::from_str("model = \"no-such-ner-model\"").unwrap();
    let e = S::from_settings(&t).err().unwrap().to_string();
    assert!(
        e.contains("no-such-ner-model") && e.contains("searched"),
        "{e}"
    );
    let t: toml::Table = toml::from_str("batch_size = 0").unwrap();
    assert!(S::from_settings(&t).is_err());
    let t: toml::Table = toml::from_str(&format!(
        "model = {:?}\nfields = [\"body\"]\nmax_chars = 64\nthreads = 1",
        toy_dir().display().to_string()
    ))
    .unwrap();
    let s = S::from_settings(&t).unwrap();
    assert_eq!(s.model().max_chars(), 64);
}

/// A config that names e5 features for a graph without an `e5` input, and a graph that takes
/// one without a config naming the encoder, are clear load errors.
#[test]
fn e5_config_and_graph_must_agree() {
    let e5_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy-e5");
    for (graph_from, config_from, want) in [
        (toy_dir(), e5_dir.clone(), "has no input 'e5'"),
        (e5_dir.clone(), toy_dir(), "names no token encoder"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        for f in ["vocab.json", "lexicon.tsv", "crf.json", "model.int8.onnx"] {
            std::fs::copy(graph_from.join(f), tmp.path().join(f)).unwrap();
        }
        std::fs::copy(
            config_from.join("config.json"),
            tmp.path().join("config.json"),
        )
        .unwrap();
        let err = NerModel::load_dir(tmp.path(), Variant::Int8, &unsplit())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
    }
}
