//! Times `metrics::ir::evaluate` on synthetic data: 10,000 queries x 1,000 results each
//! (seeded, so every run sees the same data), with 30 judged documents per query.
//!
//! ```text
//! cargo run --release -p quarry-eval --example bench_metrics
//! ```
//!
//! Optional arguments: number of queries, results per query, repetitions, and a directory
//! to write the data to as TREC files (`qrels.txt`, `run.txt`) so that another tool can be
//! timed on exactly the same input (scripts/bench_metrics.sh does that with pytrec_eval).

use quarry_eval::metrics::ir;
use quarry_eval::types::{Qrels, Run};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Instant;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let queries = arg(1, 10_000);
    let per_query = arg(2, 1_000);
    let reps = arg(3, 5).max(1);
    let mut rng = StdRng::seed_from_u64(42);

    let t = Instant::now();
    let mut qrels = Qrels::new();
    let mut run = Run::new();
    for q in 0..queries {
        let qid = format!("q{q}");
        // Distinct documents per query (trec_eval rejects a document listed twice).
        let mut seen = std::collections::HashSet::new();
        let mut results: Vec<(String, f64)> = Vec::with_capacity(per_query);
        while results.len() < per_query {
            let d = rng.random_range(0..1_000_000u32);
            if !seen.insert(d) {
                continue;
            }
            // Two decimals: plenty of ties, broken by docid.
            let score = (rng.random::<f64>() * 10_000.0).round() / 100.0;
            results.push((format!("doc{d}"), score));
        }
        let mut judged = BTreeMap::new();
        for _ in 0..30 {
            let doc = if rng.random_bool(0.5) && !results.is_empty() {
                results[rng.random_range(0..results.len())].0.clone()
            } else {
                format!("doc{}", rng.random_range(0..1_000_000u32))
            };
            judged.insert(doc, rng.random_range(0..4));
        }
        qrels.insert(qid.clone(), judged);
        if q % 50 != 49 {
            run.insert(qid, results);
        }
    }
    println!(
        "generated {} qrels queries, {} run queries x {} results in {:.2?}",
        qrels.len(),
        run.len(),
        per_query,
        t.elapsed()
    );

    if let Some(dir) = std::env::args().nth(4) {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create output dir");
        let mut q =
            std::io::BufWriter::new(std::fs::File::create(dir.join("qrels.txt")).expect("qrels"));
        quarry_eval::import::trec::write_qrels(&mut q, &qrels).expect("write qrels");
        let mut r =
            std::io::BufWriter::new(std::fs::File::create(dir.join("run.txt")).expect("run"));
        quarry_eval::import::trec::write_run(&mut r, &run, "synthetic").expect("write run");
        println!("wrote {}/qrels.txt and run.txt", dir.display());
    }

    let ks = [1, 5, 10, 20, 100, 1000];
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = ir::evaluate(&qrels, &run, &ks);
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        println!("evaluate(): {secs:.3} s");
        last = Some(r);
    }
    if let Some(r) = last {
        println!(
            "best of {reps}: {best:.3} s for {} queries ({} metrics each); ndcg@10 {:.4}, map {:.4}",
            r.queries,
            r.mean.len(),
            r.mean.get("ndcg@10").copied().unwrap_or(0.0),
            r.mean.get("map").copied().unwrap_or(0.0)
        );
    }
}
