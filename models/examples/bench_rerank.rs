//! Cross-encoder re-ranking throughput in Rust + ort (counterpart of
//! `models/recipes/cross_encoder/bench_ort.py`; driven by `scripts/bench_rerank.sh`).
//!
//! ```text
//! cargo run --release -p quarry-models --example bench_rerank -- --pairs PAIRS.jsonl \
//!     [--model ce-minilm-l6-scifact:int8] [--threads 2] [--batch 32] [--max-len 256] \
//!     [--unsorted] [--warmup 1] [--json]
//! ```
//!
//! PAIRS.jsonl holds `{"query", "passage"}` lines grouped by query, as a re-ranking
//! service sees them. Each query's passages are scored in one `CrossEncoder::score` call
//! (the query tokenized once, pairs built, batched length-sorted and cut by cost
//! (`batch::plan_padded`) unless `--unsorted`, run,
//! logits returned), which is what `quarry search --rerank` does. The first `--warmup`
//! queries are run once untimed. Reports pairs/s, process CPU seconds, and the padding
//! share of the computed positions.

use anyhow::{bail, Context, Result};
use quarry_models::batch::batches;
use quarry_models::registry::Registry;
use quarry_models::rerank::CrossEncoder;
use quarry_models::{EncoderOptions, Manifest, ModelHome};
use std::io::BufRead;
use std::time::Instant;

const USAGE: &str = "usage: bench_rerank --pairs FILE [--model ce-minilm-l6-scifact] \
[--threads 2] [--batch 32] [--max-len 256] [--unsorted] [--warmup 1] [--json]";

#[path = "common/cpu.rs"]
mod cpu;
use cpu::process_cpu_seconds;

fn main() -> Result<()> {
    let mut pairs_path = None;
    let mut model = quarry_models::rerank::DEFAULT_RERANKER.to_string();
    let (mut threads, mut batch, mut max_len, mut warmup) = (2usize, 32usize, 256usize, 1usize);
    let (mut sorted, mut json) = (true, false);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--pairs" => pairs_path = Some(val("--pairs")?),
            "--model" => model = val("--model")?,
            "--threads" => threads = val("--threads")?.parse()?,
            "--batch" => batch = val("--batch")?.parse()?,
            "--max-len" => max_len = val("--max-len")?.parse()?,
            "--warmup" => warmup = val("--warmup")?.parse()?,
            "--unsorted" => sorted = false,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            o => bail!("unknown argument {o}\n{USAGE}"),
        }
    }
    let pairs_path = pairs_path.context(USAGE)?;
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    // Group the pairs by query, keeping file order.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let f = std::fs::File::open(&pairs_path).with_context(|| format!("open {pairs_path}"))?;
    for line in std::io::BufReader::new(f).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let q = v["query"]
            .as_str()
            .context("a pair needs \"query\"")?
            .to_string();
        let p = v["passage"]
            .as_str()
            .context("a pair needs \"passage\"")?
            .to_string();
        match groups.last_mut() {
            Some((lq, ps)) if *lq == q => ps.push(p),
            _ => groups.push((q, vec![p])),
        }
    }
    let n_pairs: usize = groups.iter().map(|g| g.1.len()).sum();
    let reg = Registry::new(
        Manifest::builtin(),
        ModelHome::new(quarry_core::QuarryConfig::default().resolved_home()),
    );
    let opts = EncoderOptions {
        batch_size: batch,
        max_length: max_len,
        sort_by_length: sorted,
        intra_threads: threads,
        pool_size: 1,
    };
    let ce = CrossEncoder::load(&reg, &model.parse()?, &opts, 64)?;
    // Padding share of the batches this run computes (same plan as the scorer's).
    let (mut real, mut padded) = (0usize, 0usize);
    for (q, ps) in &groups {
        let qt = ce.tokenize(&[q.as_str()])?.pop().unwrap_or_default();
        let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
        let lens: Vec<usize> = ce
            .tokenize(&refs)?
            .iter()
            .map(|p| ce.pair(&qt, p).ids.len())
            .collect();
        for ix in batches(&lens, batch, sorted) {
            let longest = ix.iter().map(|&i| lens[i]).max().unwrap_or(0);
            real += ix.iter().map(|&i| lens[i]).sum::<usize>();
            padded += longest * ix.len();
        }
    }
    for (q, ps) in groups.iter().take(warmup) {
        let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
        ce.score(q, &refs)?;
    }
    let cpu0 = process_cpu_seconds();
    let t = Instant::now();
    let mut checksum = 0f64;
    for (q, ps) in &groups {
        let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
        checksum += ce.score(q, &refs)?.iter().map(|&x| x as f64).sum::<f64>();
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = match (cpu0, process_cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let out = serde_json::json!({
        "impl": "rust-ort", "model": ce.name(), "pairs": n_pairs, "queries": groups.len(),
        "threads": threads, "batch": batch, "max_len": max_len, "sorted": sorted,
        "seconds": secs, "pairs_per_s": n_pairs as f64 / secs, "cpu_seconds": cpu,
        "padding_share": 1.0 - real as f64 / padded.max(1) as f64, "checksum": checksum,
    });
    if json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
