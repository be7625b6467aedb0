//! Query latency of one index, all modes on the same queries in one run (interleaved per
//! query, so every mode sees the same machine load):
//!
//! * `bm25-tantivy`: tantivy's own BM25 (`TopDocs`, Block-WAND; tantivy's k1/b),
//! * `sparse`: inference-free sparse, MaxScore (`quarry_index::sparse::top_k`),
//! * `sparse-exhaustive`: the same scores without pruning (every matching document),
//! * `sparse-topdocs`: `SparseQuery` through tantivy's `TopDocs` collector,
//! * `sparse-query-only`, `bm25-query-only`: building the query alone (tokenization, IDF),
//! * `hybrid`: BM25 (Quarry's k1/b) + sparse, fused,
//! * `brute-force` (with `--brute N`, first N queries): dot products over stored vectors.
//!
//! Query time includes tokenization and IDF weighting (no model runs at query time).
//!
//! ```text
//! cargo run --release -p quarry-index --example bench_sparse -- \
//!     --index DIR --queries ../shared/data/retrieval/scifact/queries.jsonl [--k 10] [--repeat 3] [--brute 50]
//! ```
//! The index must have been built with sparse expansion (`quarry ingest --sparse`, or the
//! evaluation index `quarry eval retrieval --system sparse` builds under
//! `<home>/eval-indexes/`). Prints one JSON line per mode.

use anyhow::{bail, Context, Result};
use quarry_core::config::AnalysisConfig;
use quarry_index::sparse::{self, SparseQuery};
use quarry_index::{QuarryIndex, SearchMode};
use quarry_models::registry::Registry;
use quarry_models::sparse::QueryTokens;
use quarry_models::{Family, Manifest, ModelHome, ModelSpec};
use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;
use tantivy::collector::TopDocs;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let mut index = None;
    let mut queries = None;
    let (mut k, mut repeat, mut brute) = (10usize, 3usize, 0usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--index" => index = Some(std::path::PathBuf::from(val()?)),
            "--queries" => queries = Some(val()?),
            "--k" => k = val()?.parse()?,
            "--repeat" => repeat = val()?.parse()?,
            "--brute" => brute = val()?.parse()?,
            o => bail!("unknown argument {o}"),
        }
    }
    let dir = index.context("--index DIR is required")?;
    let qpath = queries.context("--queries FILE is required")?;
    let idx = QuarryIndex::open(&dir, &AnalysisConfig::default())?;
    let settings = idx
        .stored_sparse_settings()?
        .context("this index has no sparse expansion")?;
    let reg = Registry::new(
        Manifest::builtin(),
        ModelHome::new(quarry_core::QuarryConfig::default().resolved_home()),
    );
    let spec: ModelSpec = settings.model.parse()?;
    let tok = QueryTokens::load(&reg.resolve(&spec, Family::SparseEncoder)?.tokenizer, 256)?;
    idx.enable_sparse(settings, Arc::new(tok), None)?;

    let mut texts = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(&qpath)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        texts.push(v["text"].as_str().unwrap_or("").to_string());
    }
    let searcher = idx.searcher();
    let modes = [
        "bm25-tantivy",
        "sparse",
        "sparse-exhaustive",
        "sparse-topdocs",
        "sparse-query-only",
        "bm25-query-only",
        "hybrid",
        "brute-force",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut mismatches = 0usize;
    for r in 0..repeat {
        for (qi, q) in texts.iter().enumerate() {
            for (m, name) in modes.iter().enumerate() {
                if *name == "brute-force" && (qi >= brute || r > 0) {
                    continue;
                }
                let t = Instant::now();
                match *name {
                    "bm25-tantivy" => {
                        let terms = idx.weighted_terms(q)?;
                        let bq = QuarryIndex::query_from_terms(&terms);
                        let _ = searcher.search(&bq, &TopDocs::with_limit(k))?;
                    }
                    "sparse" => {
                        let sq = idx.sparse_query(q)?;
                        let _ = sparse::top_k(&searcher, &sq, k)?;
                    }
                    "sparse-exhaustive" => {
                        let sq = idx.sparse_query(q)?;
                        let _ = sparse::top_k_exhaustive(&searcher, &sq, k)?;
                    }
                    "sparse-topdocs" => {
                        let sq: SparseQuery = idx.sparse_query(q)?;
                        let _ = searcher.search(&sq, &TopDocs::with_limit(k))?;
                    }
                    "sparse-query-only" => {
                        let _ = idx.sparse_query(q)?;
                    }
                    "bm25-query-only" => {
                        let _ = QuarryIndex::query_from_terms(&idx.weighted_terms(q)?);
                    }
                    "hybrid" => {
                        let _ = idx.ranked(q, k, SearchMode::Hybrid)?;
                    }
                    _ => {
                        let sq = idx.sparse_query(q)?;
                        let b = sparse::top_k_brute_force(
                            &searcher,
                            idx.fields().sparse_vec,
                            sq.terms(),
                            k,
                        )?;
                        if b != sparse::top_k(&searcher, &sq, k)? {
                            mismatches += 1;
                        }
                    }
                }
                times[m].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let n_docs = idx.num_docs().max(1);
    let size = dir_size(&dir);
    let mut p50s = std::collections::BTreeMap::new();
    for (m, name) in modes.iter().enumerate() {
        let v = &mut times[m];
        if v.is_empty() {
            continue;
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let p50 = percentile(v, 50.0);
        let p99 = percentile(v, 99.0);
        p50s.insert(*name, p50);
        println!(
            "{}",
            serde_json::json!({"mode": name, "queries": v.len(), "k": k, "p50_ms": (p50 * 1000.0).round() / 1000.0,
                "p99_ms": (p99 * 1000.0).round() / 1000.0, "mean_ms": (mean * 1000.0).round() / 1000.0})
        );
    }
    let base = p50s.get("bm25-tantivy").copied().unwrap_or(f64::NAN);
    println!(
        "{}",
        serde_json::json!({
            "docs": n_docs, "index_bytes": size, "bytes_per_doc": size / n_docs,
            "sparse_p50_over_bm25": p50s.get("sparse").map(|s| (s / base * 100.0).round() / 100.0),
            "exhaustive_p50_over_pruned": p50s.get("sparse-exhaustive").zip(p50s.get("sparse")).map(|(a, b)| (a / b * 100.0).round() / 100.0),
            "brute_force_mismatches": mismatches,
        })
    );
    Ok(())
}
