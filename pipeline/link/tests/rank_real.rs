//! The ranking stage with a real cross-encoder (the committed SciFact one: any BERT-family
//! cross-encoder ranks pairs the same way): the top `depth` candidates come back sorted by
//! the model's own score of each pair, the rest keep the generator's order, and a batch of
//! mentions equals the mentions one by one.

use quarry_core::config::QuarryConfig;
use quarry_link::{rank::passage, Linked, Ranker};
use quarry_models::registry::Registry;
use quarry_models::rerank::CrossEncoder;
use quarry_models::{EncoderOptions, Manifest, ModelHome, ModelSpec};

fn cross_encoder() -> CrossEncoder {
    let reg = Registry::new(
        Manifest::builtin(),
        ModelHome::new(QuarryConfig::default().resolved_home()),
    );
    let spec: ModelSpec = "ce-minilm-l6-scifact".parse().unwrap();
    CrossEncoder::load(&reg, &spec, &EncoderOptions::default(), 64)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn cand(id: &str, name: &str, matched: &str, score: f32) -> Linked {
    Linked {
        id: id.into(),
        name: name.into(),
        matched: matched.into(),
        score,
        from_memory: false,
        rank_score: None,
    }
}

#[test]
fn ranker_sorts_the_top_by_the_model_and_keeps_the_rest() {
    let ce = cross_encoder();
    let lists = vec![
        vec![
            cand("a", "dental technician", "dental technician", 0.9),
            cand("b", "software developer", "java developer", 0.8),
            cand("c", "chef", "chef", 0.7),
            cand("d", "warehouse worker", "warehouse operative", 0.6),
            cand("e", "nurse", "nurse", 0.5),
        ],
        vec![
            cand("c", "chef", "chef de partie", 0.9),
            cand("a", "dental technician", "dental technician", 0.4),
        ],
        vec![],
    ];
    let mentions = ["Senior Java Developer", "chef de partie", "nothing"];
    // the model's scores of the same pairs in one call (int8 scales activations per
    // batch, so a pair is compared with itself in the same batch)
    let passages: Vec<Vec<String>> = lists
        .iter()
        .map(|cs| cs.iter().take(3).map(passage).collect())
        .collect();
    let pairs: Vec<(&str, &str)> = mentions
        .iter()
        .zip(&passages)
        .flat_map(|(m, ps)| ps.iter().map(move |p| (*m, p.as_str())))
        .collect();
    let mut flat = ce.score_pairs(&pairs).unwrap().into_iter();
    let want: Vec<Vec<f32>> = passages
        .iter()
        .map(|ps| flat.by_ref().take(ps.len()).collect())
        .collect();
    let ranker = Ranker::new(ce, 3);
    let got = ranker.rerank(&mentions, lists.clone()).unwrap();
    for ((g, l), w) in got.iter().zip(&lists).zip(&want) {
        assert_eq!(g.len(), l.len());
        // the top 3 are the first 3 of the generator, sorted by their own pair score
        let mut top: Vec<(String, f32)> = l
            .iter()
            .take(3)
            .zip(w)
            .map(|(c, s)| (c.id.clone(), *s))
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (c, (id, s)) in g.iter().zip(&top) {
            assert_eq!(&c.id, id);
            assert!((c.rank_score.unwrap() - s).abs() < 1e-6, "{c:?} vs {s}");
        }
        // the rest keep their order, unscored
        for (c, o) in g.iter().zip(l).skip(3) {
            assert_eq!(c.id, o.id);
            assert!(c.rank_score.is_none());
        }
    }
    assert_eq!(got[0][0].id, "b", "{:?}", got[0]);
    // mismatched inputs are an error, not a panic
    assert!(ranker.rerank(&mentions[..1], lists).is_err());
}

/// Each task's committed ranker verifies against its SHA256SUMS, loads, and prefers the
/// right concept on pairs written here (not from the training data).
#[test]
fn every_task_ranker_verifies_loads_and_ranks() {
    let reg = Registry::new(
        Manifest::builtin(),
        ModelHome::new(QuarryConfig::default().resolved_home()),
    );
    let cases: [(quarry_link::Task, &str, &str, &str); 2] = [
        (
            quarry_link::Task::JobBert,
            "Senior Java Developer (m/f/d)",
            "software developer ; java developer",
            "dental technician",
        ),
        (
            quarry_link::Task::Procedures,
            "腹腔镜下阑尾切除术",
            "腹腔镜下阑尾切除术",
            "胆囊切除术",
        ),
    ];
    for (task, mention, right, wrong) in cases {
        let name = task.ranker().expect("a ranker");
        for f in quarry_models::artifacts::verify_named(name) {
            assert_eq!(f.status, "ok", "{name}: {}", f.path.display());
        }
        let ce = CrossEncoder::load(&reg, &name.parse().unwrap(), &EncoderOptions::default(), 64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ce.name(), format!("{name}:int8"));
        let s = ce.score(mention, &[right, wrong]).unwrap();
        assert!(s[0] > s[1], "{name}: {s:?}");
    }
}
