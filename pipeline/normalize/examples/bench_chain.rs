//! Single-thread throughput of the default normalizer chain on mixed Chinese/English text.
//!
//! ```text
//! cargo run --release -p quarry-normalize --example bench_chain [-- CORPUS.jsonl [MB] [--chain-only]]
//! ```
//!
//! The text is the titles and bodies of `data/samples/corpus.jsonl` (English news and job
//! ads, Chinese radiology reports with full-width and some traditional characters),
//! repeated up to `MB` megabytes (default 10). It is normalized twice: as one big string,
//! and document by document (the way the pipeline calls it). Each normalizer alone on the
//! raw documents is timed too.

use quarry_normalize::chain::NormalizerChain;
use quarry_normalize::normalizers;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/samples/corpus.jsonl"
        )
        .to_string()
    });
    let mb: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let raw = match std::fs::read_to_string(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut seed: Vec<String> = Vec::new();
    for line in raw.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            for field in ["title", "body"] {
                if let Some(t) = v[field].as_str() {
                    seed.push(t.to_string());
                }
            }
        }
    }
    if seed.is_empty() {
        eprintln!("no title/body text in {path}");
        std::process::exit(2);
    }
    let target = (mb * 1_000_000.0) as usize;
    let mut docs: Vec<&str> = Vec::new();
    let mut total = 0;
    while total < target {
        for s in &seed {
            docs.push(s);
            total += s.len();
        }
    }
    let big = docs.join("\n");
    let zh_bytes: usize = big
        .chars()
        .filter(|&c| quarry_core::lang::is_cjk(c))
        .count()
        * 3;
    println!(
        "{} docs, {:.1} MB ({:.0}% of bytes CJK ideographs), seed {path}",
        docs.len(),
        big.len() as f64 / 1e6,
        100.0 * zh_bytes as f64 / big.len() as f64
    );

    let chain = NormalizerChain::default_chain();
    // Warm up: builds the OpenCC automata.
    black_box(chain.normalize(&big[..big.len().min(100_000)].chars().collect::<String>()));

    let rate = |bytes: usize, secs: f64| bytes as f64 / 1e6 / secs;
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // (bytes, best CPU seconds, best wall seconds) over `reps` runs.
    let best_of = |f: &mut dyn FnMut() -> usize| {
        let (mut cpu, mut wall) = (f64::MAX, f64::MAX);
        let mut bytes = 0;
        for _ in 0..reps {
            let (t, c) = (Instant::now(), cpu_time());
            bytes = f();
            let w = t.elapsed().as_secs_f64();
            wall = wall.min(w);
            cpu = cpu.min(match (c, cpu_time()) {
                (Some(a), Some(b)) => b - a,
                _ => w,
            });
        }
        (bytes, cpu, wall)
    };
    println!(
        "timing: best of {reps} (BENCH_REPS); MB/s on thread CPU time{} and on wall-clock time",
        if cpu_time().is_some() {
            ""
        } else {
            " (unavailable: wall clock)"
        }
    );

    let (b, s, w) = best_of(&mut || {
        let n = chain.normalize(black_box(&big));
        black_box(n.text.len());
        big.len()
    });
    println!(
        "default chain, one {:.0} MB string: {:>7.1} MB/s CPU {:>7.1} MB/s wall",
        b as f64 / 1e6,
        rate(b, s),
        rate(b, w)
    );

    let (b, s, w) = best_of(&mut || {
        let mut n = 0;
        for d in &docs {
            let r = chain.normalize(black_box(d));
            n += r.text.len();
        }
        black_box(n);
        total
    });
    println!(
        "default chain, per document:     {:>7.1} MB/s CPU {:>7.1} MB/s wall ({:.2} µs/doc CPU)",
        rate(b, s),
        rate(b, w),
        s * 1e6 / docs.len() as f64
    );

    if args.iter().any(|a| a == "--chain-only") {
        return;
    }
    for name in normalizers::NAMES {
        let Some(n) = normalizers::by_name(name) else {
            continue;
        };
        let (b, s, w) = best_of(&mut || {
            let mut k = 0;
            for d in &docs {
                if n.applies_to(d) {
                    k += n.apply(black_box(d)).is_changed() as usize;
                }
            }
            black_box(k);
            total
        });
        println!(
            "  {name:<6} alone, per document: {:>7.1} MB/s CPU {:>7.1} MB/s wall",
            rate(b, s),
            rate(b, w)
        );
    }
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`).
fn cpu_time() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}
