//! The dense generator with the real all-MiniLM-L6-v2 encoder on real ESCO occupations:
//! the index's top-k equals brute force over vectors embedded one name at a time (so
//! batching, length sorting and padding change nothing), the ensemble's fused scores are
//! what its two generators say, and the cache gives back the same matrix.

use quarry_core::config::QuarryConfig;
use quarry_link::{terminology, DenseIndex, Generator, Linker, NgramConfig, Terminology};
use quarry_models::embed::{cosine, SentenceEmbedder};
use quarry_models::registry::Registry;
use quarry_models::{EncoderOptions, Manifest, ModelHome, ModelSpec};
use std::sync::Arc;

/// The models of the quarry home (`quarry models fetch`).
fn registry() -> Registry {
    Registry::new(
        Manifest::builtin(),
        ModelHome::new(QuarryConfig::default().resolved_home()),
    )
}

fn embedder() -> SentenceEmbedder {
    let reg = registry();
    // fp32: int8's dynamic quantization scales activations per batch, so a text's vector
    // would depend on the other texts of its batch (by up to 0.03 in cosine)
    let spec: ModelSpec = "all-minilm-l6-v2:fp32".parse().unwrap();
    let opts = EncoderOptions {
        batch_size: 64,
        max_length: 64,
        ..Default::default()
    };
    SentenceEmbedder::load(&reg, &spec, &opts)
        .unwrap_or_else(|e| panic!("{e} (run `quarry models fetch`)"))
}

/// The first `n` ESCO occupations with their labels.
fn esco(n: usize) -> Terminology {
    let p = quarry_core::shared_data::dir().join("jobs/esco/occupations_en.csv");
    let mut concepts = terminology::read_esco(&p)
        .unwrap_or_else(|e| panic!("{e} (set QUARRY_SHARED_DATA to ../shared/data)"));
    concepts.truncate(n);
    Terminology::new("esco-sample", concepts).unwrap()
}

#[test]
fn dense_top_k_is_brute_force_and_the_ensemble_fuses_exact_scores() {
    let emb = embedder();
    let t = esco(150);
    let idx = DenseIndex::build(&t, &emb, 64, |_, _| {}).unwrap();
    assert_eq!(idx.rows(), t.name_count());
    assert_eq!(idx.dim(), 384);

    // brute force: every name embedded alone
    let names: Vec<(u32, &str)> = t
        .concepts()
        .iter()
        .enumerate()
        .flat_map(|(c, x)| x.names().map(move |n| (c as u32, n)))
        .collect();
    let alone: Vec<Vec<f32>> = names
        .iter()
        .map(|(_, n)| emb.embed(&[n]).unwrap().pop().unwrap())
        .collect();
    let queries = [
        "Snr Java Dev",
        "warehouse operative",
        "chef de partie",
        "nurse",
        "x",
    ];
    for q in queries {
        let qv = emb.embed(&[q]).unwrap().pop().unwrap();
        let mut best = vec![f32::NEG_INFINITY; t.len()];
        for ((c, _), v) in names.iter().zip(&alone) {
            best[*c as usize] = best[*c as usize].max(cosine(&qv, v));
        }
        let mut want: Vec<(usize, f32)> = best.into_iter().enumerate().collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let got = idx.search(&qv, 10);
        assert_eq!(got.len(), 10);
        // exact: the index's top-k is the sort of every concept's best-name score
        let mut exact: Vec<(u32, f32)> = (0..t.len() as u32)
            .map(|c| (c, idx.concept_score(&qv, c).unwrap().0))
            .collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (g, e) in got.iter().zip(&exact) {
            assert_eq!((g.concept, g.score), *e, "{q}");
        }
        // and the matrix is the names' embeddings, whatever the batch and its padding
        for (g, w) in got.iter().zip(&want) {
            assert!((g.score - w.1).abs() < 1e-4, "{q}: {g:?} vs {w:?}");
            let s = best_of(&want, g.concept);
            assert!((s - g.score).abs() < 1e-4, "{q}: {g:?} vs alone {s}");
        }
    }

    // the cache round-trips
    let dir = tempfile::tempdir().unwrap();
    let cached = DenseIndex::cached(&t, &emb, dir.path(), 64, |_, _| {}).unwrap();
    let again = DenseIndex::cached(&t, &emb, dir.path(), 64, |_, _| {}).unwrap();
    let qv = emb.embed(&["software developer"]).unwrap().pop().unwrap();
    assert_eq!(cached.search(&qv, 5), again.search(&qv, 5));

    // the ensemble's score is w * ngram + (1 - w) * dense for every returned concept, each
    // part computed exactly even when that generator did not list the concept
    let w = 0.3;
    let emb = Arc::new(emb);
    let linker = Linker::new(t.clone(), NgramConfig { min_n: 1, max_n: 4 }, false)
        .with_dense(idx.clone(), emb.clone(), w)
        .unwrap();
    let mut outside_dense_top = 0;
    for q in queries {
        let fused = &linker
            .candidates_batch(&[q], 10, Generator::Ensemble)
            .unwrap()[0];
        let dense = &linker.candidates_batch(&[q], 10, Generator::Dense).unwrap()[0];
        assert!(!fused.is_empty() && !dense.is_empty(), "{q}");
        let scores = linker.ngram().scores(q);
        let qv = emb.embed(&[q]).unwrap().pop().unwrap();
        for c in fused {
            let ci = t.concepts().iter().position(|x| x.id == c.id).unwrap() as u32;
            let sn = scores.get(&ci).map_or(0.0, |s| s.0);
            let sd = idx.concept_score(&qv, ci).unwrap().0;
            outside_dense_top += !dense.iter().any(|d| d.id == c.id) as usize;
            assert!(
                (c.score - (w * sn + (1.0 - w) * sd)).abs() < 1e-4,
                "{q}: {c:?}"
            );
        }
        for pair in fused.windows(2) {
            assert!(pair[0].score >= pair[1].score, "{q}: sorted");
        }
    }
    assert!(
        outside_dense_top > 0,
        "the n-gram side brought concepts of its own"
    );
    // blank mentions give nothing, without calling the model
    let none = linker
        .candidates_batch(&["", "   "], 5, Generator::Ensemble)
        .unwrap();
    assert!(none.iter().all(Vec::is_empty));
}

fn best_of(want: &[(usize, f32)], concept: u32) -> f32 {
    want.iter().find(|x| x.0 == concept as usize).unwrap().1
}

#[test]
fn dense_needs_its_index() {
    let t = esco(20);
    let linker = Linker::new(t, NgramConfig::default(), false);
    let e = linker
        .candidates_batch(&["nurse"], 5, Generator::Dense)
        .unwrap_err()
        .to_string();
    assert!(e.contains("quarry models fetch"), "{e}");
}

#[test]
fn the_jobbert_encoder_is_batch_independent_and_reads_vacancy_titles() {
    let name = quarry_link::Task::JobBert.dense_model();
    assert_eq!(name, "be-jobbert");
    for f in quarry_models::artifacts::verify_named(name) {
        assert_eq!(f.status, "ok", "{name}: {}", f.path.display());
    }
    let reg = registry();
    let opts = EncoderOptions {
        batch_size: 16,
        max_length: 64,
        ..Default::default()
    };
    let tuned = SentenceEmbedder::load(&reg, &name.parse().unwrap(), &opts)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(tuned.name(), "be-jobbert:int8");
    // weight-only int8: activations stay fp32, so a batch changes no vector
    let t = esco(40);
    let names: Vec<&str> = t
        .concepts()
        .iter()
        .flat_map(|c| c.names())
        .take(40)
        .collect();
    let batched = tuned.embed(&names).unwrap();
    for (text, v) in names.iter().zip(&batched) {
        let alone = tuned.embed(&[text]).unwrap().remove(0);
        let diff = v
            .iter()
            .zip(&alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "{text}: {diff}");
    }
    // vacancy titles land nearer their occupation than the published encoder puts them
    let base = embedder();
    let cases = [
        (
            "Snr Java Dev (m/f/d)",
            "software developer",
            "dental technician",
        ),
        (
            "Registered Nurse - Nights",
            "specialist nurse",
            "ship engineer",
        ),
        ("Warehouse Operative", "warehouse worker", "web developer"),
        ("Sales Exec", "sales representative", "archivist"),
    ];
    let mut margin = (0.0, 0.0);
    for (title, right, wrong) in cases {
        for (m, e) in [(&mut margin.0, &tuned), (&mut margin.1, &base)] {
            let v = e.embed(&[title, right, wrong]).unwrap();
            let (r, w) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
            assert!(r > w, "{}: {title}: {r} vs {w}", e.name());
            *m += r - w;
        }
    }
    assert!(
        margin.0 > margin.1,
        "tuned {} vs published {}",
        margin.0,
        margin.1
    );
}

/// The Chinese dense generator: multilingual-e5-small read by mean pooling (the default for
/// the Chinese tasks) over a sample of the real ICD-10 v601 names. Its index equals brute
/// force over names embedded one at a time, and it finds the concept of paraphrases and
/// abbreviations that share few characters with the name (慢阻肺, 阑尾炎急性发作), which is
/// what it adds to the character n-grams.
#[test]
fn the_chinese_dense_generator_reads_icd_names() {
    use quarry_link::{Task, TerminologySource};
    assert_eq!(Task::ChipCdn.dense_model(), quarry_link::DENSE_MODEL_ZH);
    assert_eq!(
        TerminologySource::Csco.dense_model(),
        quarry_link::DENSE_MODEL_ZH
    );
    assert_eq!(
        TerminologySource::Esco.dense_model(),
        quarry_link::DENSE_MODEL
    );
    let reg = registry();
    let opts = EncoderOptions {
        batch_size: 64,
        ..Default::default()
    };
    let emb = quarry_models::embed::load_embedder(
        &reg,
        &quarry_link::DENSE_MODEL_ZH.parse().unwrap(),
        &opts,
    )
    .unwrap_or_else(|e| panic!("{e} (run `quarry models fetch --model multilingual-e5-small`)"));
    assert_eq!(emb.name(), "multilingual-e5-small:layers+query");
    let p =
        quarry_core::shared_data::dir().join("linking/icd10-zh/icd10_beijing_clinical_v601.tsv");
    let all = TerminologySource::Icd10Zh
        .load(&p)
        .unwrap_or_else(|e| panic!("{e} (set QUARRY_SHARED_DATA to ../shared/data)"));
    let targets = [
        "慢性阻塞性肺疾病",
        "2型糖尿病",
        "急性阑尾炎",
        "肝囊肿",
        "脑梗死",
    ];
    let mut seen = std::collections::HashSet::new();
    let concepts: Vec<_> = all
        .concepts()
        .iter()
        .enumerate()
        .filter(|(i, c)| i % 160 == 0 || targets.contains(&c.name.as_str()))
        .map(|(_, c)| c.clone())
        .filter(|c| seen.insert(c.name.clone()))
        .collect();
    let t = Terminology::new("icd10-zh-sample", concepts).unwrap();
    assert!(t.len() > 250);
    let idx = DenseIndex::build(&t, emb.as_ref(), 64, |_, _| {}).unwrap();
    assert_eq!((idx.rows(), idx.dim()), (t.name_count(), 384));
    let cases = [
        ("慢阻肺", "慢性阻塞性肺疾病"),
        ("糖尿病2型", "2型糖尿病"),
        ("阑尾炎急性发作", "急性阑尾炎"),
        ("肝脏囊肿", "肝囊肿"),
        ("脑梗塞", "脑梗死"),
    ];
    let mentions: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let qvs = emb.embed(&mentions).unwrap();
    for ((mention, want), qv) in cases.iter().zip(&qvs) {
        let got = idx.search(qv, 5);
        assert_eq!(
            t.concepts()[got[0].concept as usize].name,
            *want,
            "{mention}"
        );
        // brute force over names embedded alone (batch and padding change nothing)
        for g in &got {
            let name = &t.concepts()[g.concept as usize].name;
            let alone = emb.embed(&[name]).unwrap().remove(0);
            assert!(
                (cosine(qv, &alone) - g.score).abs() < 1e-4,
                "{mention}: {name}"
            );
        }
    }
    // the linker uses it through the same trait object
    let linker = Linker::new(t.clone(), TerminologySource::Icd10Zh.ngram_config(), false)
        .with_dense(idx, emb.clone(), 0.3)
        .unwrap();
    let fused = linker
        .candidates_batch(&mentions, 3, Generator::Ensemble)
        .unwrap();
    assert_eq!(fused[0][0].name, "慢性阻塞性肺疾病");
}
