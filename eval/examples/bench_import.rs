//! Times reading a BEIR directory and importing it into a fresh SQLite store (one
//! transaction, prepared statements).
//!
//! ```text
//! cargo run --release -p quarry-eval --example bench_import -- ../shared/data/retrieval/scifact train
//! ```

use quarry_eval::import::beir::load_beir;
use quarry_eval::store::Store;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared/data/retrieval/scifact".into()),
    );
    let split = std::env::args().nth(2).unwrap_or_else(|| "train".into());
    let reps = 3;
    let (mut best_load, mut best_import) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        let tmp = tempfile::tempdir().expect("temp dir");
        let t = Instant::now();
        let ds = match load_beir(&dir, &split) {
            Ok(ds) => ds,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        };
        best_load = best_load.min(t.elapsed().as_secs_f64());
        let mut store = Store::open(tmp.path().join("eval.sqlite")).expect("store");
        let t = Instant::now();
        store.import_beir("bench", &ds, "bench").expect("import");
        best_import = best_import.min(t.elapsed().as_secs_f64());
        if best_import == t.elapsed().as_secs_f64() {
            println!("{} docs, {} queries", ds.corpus.len(), ds.queries.len());
        }
    }
    println!(
        "{{\"impl\": \"quarry\", \"load_s\": {best_load:.4}, \"import_s\": {best_import:.4}, \"total_s\": {:.4}}}",
        best_load + best_import
    );
}
