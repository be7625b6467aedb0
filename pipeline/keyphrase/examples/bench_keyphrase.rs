//! Speed of the co-reference + key-phrase stage: documents/s of co-reference resolution
//! alone and of extraction under each configuration, on the same documents, interleaved.
//!
//!     cargo run --release -p quarry-keyphrase --example bench_keyphrase -- DATASET_DIR [ROUNDS]
//!
//! Models are trained on the documents whose index is not a multiple of 5 and timed on the
//! others (every fifth), `ROUNDS` times each (default 3); the median round is reported.
use quarry_keyphrase::model::{Learner, TrainOptions};
use quarry_keyphrase::{train, CorefMode, ExtractOptions, Extractor, TrainDoc};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .expect("usage: bench_keyphrase DATASET_DIR [ROUNDS]"),
    );
    let rounds: usize = args.next().map(|s| s.parse().expect("ROUNDS")).unwrap_or(3);
    let docs = quarry_eval::import::keyphrase::load_keyphrase_dir(&dir).expect("dataset");
    let fit: Vec<TrainDoc<'_>> = docs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(_, d)| TrainDoc {
            text: &d.text,
            gold: &d.gold,
            category: quarry_keyphrase::category_of(&d.id),
        })
        .collect();
    let test: Vec<&str> = docs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 == 0)
        .map(|(_, d)| d.text.as_str())
        .collect();
    let chars: usize = test.iter().map(|t| t.chars().count()).sum();
    let configs = [
        (
            "gbdt, coref off, filter off (default)",
            CorefMode::Off,
            false,
            Learner::Gbdt,
        ),
        (
            "gbdt, coref pool + filter",
            CorefMode::Pool,
            true,
            Learner::Gbdt,
        ),
        (
            "gbdt, coref rewrite + filter",
            CorefMode::Rewrite,
            true,
            Learner::Gbdt,
        ),
        (
            "logistic, coref pool + filter",
            CorefMode::Pool,
            true,
            Learner::Logistic,
        ),
    ];
    let mut extractors = Vec::new();
    for (name, coref, filter, learner) in configs {
        let t = Instant::now();
        let opts = ExtractOptions {
            coref,
            filter,
            ..ExtractOptions::default()
        };
        let r = train(
            &fit,
            &opts,
            &TrainOptions {
                learner,
                ..TrainOptions::default()
            },
        )
        .expect("train");
        println!(
            "trained {name:<38} on {} docs in {:.1} s",
            fit.len(),
            t.elapsed().as_secs_f64()
        );
        extractors.push((name, Extractor::new(r)));
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); extractors.len() + 1];
    for _ in 0..rounds {
        let t = Instant::now();
        let mut n = 0usize;
        for text in &test {
            n += quarry_coref::resolve_english(text).clusters.len();
        }
        times[0].push(t.elapsed().as_secs_f64());
        std::hint::black_box(n);
        for (i, (_, ex)) in extractors.iter().enumerate() {
            let t = Instant::now();
            let mut n = 0usize;
            for text in &test {
                n += ex.extract(text, 10).len();
            }
            times[i + 1].push(t.elapsed().as_secs_f64());
            std::hint::black_box(n);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\n{} documents ({} characters), {} rounds, median round:\n",
        test.len(),
        chars,
        rounds
    );
    println!("| what | docs/s | ms/doc | vs coref off |");
    println!("|---|---:|---:|---:|");
    let base = median(&mut times[1].clone());
    let row = |name: &str, t: f64| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2}x |",
            test.len() as f64 / t,
            1e3 * t / test.len() as f64,
            base / t
        );
    };
    row("co-reference resolution alone", median(&mut times[0]));
    for (i, (name, _)) in extractors.iter().enumerate() {
        row(name, median(&mut times[i + 1]));
    }
}
