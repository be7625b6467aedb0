//! The inverted n-gram index against brute force: every concept scored by the best cosine
//! of its names' TF-IDF vectors with the query's, then ranked by (score desc, concept asc).

use proptest::prelude::*;
use quarry_link::ngram::{dot, top_k, Candidate, SparseVec};
use quarry_link::{Concept, NgramConfig, NgramIndex, Terminology};

fn brute(
    ix: &NgramIndex,
    t: &Terminology,
    names: &[Vec<SparseVec>],
    q: &str,
    k: usize,
) -> Vec<Candidate> {
    let qv = ix.vectorize(q);
    let mut out = Vec::new();
    for (ci, vs) in names.iter().enumerate() {
        let mut best: Option<(f32, u32)> = None;
        for (ni, v) in vs.iter().enumerate() {
            let s = dot(&qv, v);
            if s > 0.0 && best.is_none_or(|(b, _)| s > b) {
                best = Some((s, ni as u32));
            }
        }
        if let Some((s, n)) = best {
            out.push(Candidate {
                concept: ci as u32,
                name: n,
                score: s.min(1.0),
            });
        }
    }
    let _ = t;
    top_k(out.into_iter(), k)
}

fn vectors(ix: &NgramIndex, t: &Terminology) -> Vec<Vec<SparseVec>> {
    t.concepts()
        .iter()
        .map(|c| c.names().map(|n| ix.vectorize(n)).collect())
        .collect()
}

fn terminology(names: Vec<Vec<String>>) -> Terminology {
    let concepts = names
        .into_iter()
        .enumerate()
        .map(|(i, mut ns)| Concept {
            id: i.to_string(),
            name: ns.remove(0),
            synonyms: ns,
            parent: None,
        })
        .collect();
    Terminology::new("random", concepts).unwrap()
}

fn word() -> impl Strategy<Value = String> {
    // A small alphabet so that names share n-grams often: Han characters, Latin letters, a
    // space, a full-width letter and a traditional character (both folded).
    proptest::collection::vec(
        prop::sample::select(vec![
            '肝', '癌', '膝', '关', '节', '病', 'a', 'b', 'c', ' ', 'Ａ', '節',
        ]),
        0..8,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn index_equals_brute_force(
        names in proptest::collection::vec(proptest::collection::vec(word(), 1..4), 1..25),
        queries in proptest::collection::vec(word(), 1..6),
        k in 1usize..30,
    ) {
        let t = terminology(names);
        let ix = NgramIndex::build(&t, NgramConfig::default());
        let vs = vectors(&ix, &t);
        for q in &queries {
            let fast = ix.search(q, k);
            let slow = brute(&ix, &t, &vs, q, k);
            prop_assert_eq!(fast, slow, "query {:?}", q);
        }
    }
}

/// ICD-10 (Beijing clinical v601) on real CHIP-CDN mentions: the index equals brute force.
#[test]
fn real_icd10_index_equals_brute_force() {
    let shared = quarry_core::shared_data::dir();
    let path = quarry_link::TerminologySource::Icd10Zh.default_path(&shared);
    let t = quarry_link::TerminologySource::Icd10Zh
        .load(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(t.len() > 40_000, "{} concepts", t.len());
    let ix = NgramIndex::build(&t, NgramConfig::default());
    let vs = vectors(&ix, &t);
    let gold = std::fs::read_to_string(shared.join("linking/chip-cdn/train.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&gold).unwrap();
    for rec in v.as_array().unwrap().iter().step_by(60) {
        let q = rec["text"].as_str().unwrap();
        assert_eq!(ix.search(q, 64), brute(&ix, &t, &vs, q, 64), "{q}");
    }
}
