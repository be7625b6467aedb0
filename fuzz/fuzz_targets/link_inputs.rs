//! Fuzz the linking inputs: the terminology parsers (code TSV, ESCO CSV, CSCO CSV) and the
//! gold parsers (CHIP-CDN JSON, procedures, JobBERT, CSCO cases) on arbitrary text, and candidate generation
//! on arbitrary mentions over a small fixed terminology, checking the ranking invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_link::terminology::{parse_code_tsv, parse_csco, parse_esco};
use quarry_link::{Concept, Linker, NgramConfig, Terminology};
use std::path::Path;
use std::sync::OnceLock;

fn linker() -> &'static Linker {
    static L: OnceLock<Linker> = OnceLock::new();
    L.get_or_init(|| {
        let names: [&[&str]; 5] = [
            &["膝骨关节病", "膝关节骨性关节炎"],
            &["膝关节游离体"],
            &["高血压", "HTN"],
            &["software developer", "java developer", "Snr Dev"],
            &["肝恶性肿瘤", "肝癌"],
        ];
        let concepts = names
            .iter()
            .enumerate()
            .map(|(i, ns)| Concept {
                id: i.to_string(),
                name: ns[0].to_string(),
                synonyms: ns[1..].iter().map(|s| s.to_string()).collect(),
                parent: None,
            })
            .collect();
        Linker::new(Terminology::new("fuzz", concepts).unwrap(), NgramConfig::default(), true)
            .with_segments(true)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let p = Path::new("fuzz");
    let _ = parse_code_tsv(text, p);
    let _ = parse_esco(text, p);
    let _ = parse_csco(text, p);
    let _ = quarry_eval::import::linking::parse_csco(text, "fuzz");
    let _ = quarry_eval::import::cblue::parse_chip_cdn(text, "fuzz");
    let _ = quarry_eval::import::linking::parse_procedures(text, "fuzz");
    let _ = quarry_eval::import::linking::parse_jobbert(text, "fuzz");
    let l = linker();
    for k in [1usize, 3, 10] {
        let c = l.candidates(text, k);
        assert!(c.len() <= k);
        for w in c.windows(2) {
            assert!(w[0].score >= w[1].score, "{c:?}");
            assert_ne!(w[0].name, w[1].name, "one answer per name");
        }
        for x in &c {
            assert!(x.score > 0.0 && x.score <= 1.0, "{x:?}");
        }
    }
});
