//! Rust + ort sentence-encoding throughput (counterpart of `models/recipes/bench_encode.py`).
//!
//! ```text
//! cargo run --release -p quarry-models --example bench_encode -- \
//!     --corpus ../shared/data/retrieval/scifact/corpus.jsonl \
//!     [--n 1000] [--batch 32] [--max-len 256] [--threads 2] \
//!     [--model all-minilm-l6-v2:fp32] [--unsorted] [--json] [--warmup 1]
//! ```
//!
//! Reads the first `--n` documents of a BEIR-style corpus.jsonl (text = title + " " + text,
//! as the Python script does), loads the model through the registry (`$QUARRY_HOME`, not
//! timed), runs `--warmup` untimed batches (the first `--warmup * --batch` documents), then
//! times one `SentenceEmbedder::embed` call over all documents: tokenization + batching +
//! inference + mean pooling + L2 normalisation. Batching is length-sorted unless
//! `--unsorted`. `RAYON_NUM_THREADS` is set to `--threads` (unless already set) so the
//! tokenizer uses the same thread budget as the model, as in the Python baseline.
//!
//! `--json` prints one line shaped like the Python script's (`"impl": "rust-ort"`), plus
//! `cpu_seconds`: the process CPU time (all threads) spent in the timed region, a figure
//! that is far less sensitive than wall time to other load on the machine.

use anyhow::{bail, Context, Result};
use quarry_models::embed::SentenceEmbedder;
use quarry_models::registry::Registry;
use quarry_models::sparse::SparseEncoder;
use quarry_models::tokenizer::TextTokenizer;
use quarry_models::{EncoderOptions, Family, Manifest, ModelHome, ModelSpec};
use std::io::{BufRead, BufReader};
use std::time::Instant;

const USAGE: &str = "usage: bench_encode --corpus PATH [--n 1000] [--batch 32] [--max-len 256] \
[--threads 2] [--model all-minilm-l6-v2:fp32] [--sparse] [--unsorted] [--json] [--warmup 1]";

struct Args {
    corpus: String,
    n: usize,
    batch: usize,
    max_len: usize,
    threads: usize,
    model: String,
    sorted: bool,
    sparse: bool,
    json: bool,
    warmup: usize,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        corpus: String::new(),
        n: 1000,
        batch: 32,
        max_len: 256,
        threads: 2,
        model: "all-minilm-l6-v2:fp32".into(),
        sorted: true,
        sparse: false,
        json: false,
        warmup: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> Result<String> {
            it.next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        let num = |name: &str, v: String| -> Result<usize> {
            v.parse::<usize>()
                .with_context(|| format!("{name}: '{v}' is not a non-negative integer"))
        };
        match flag.as_str() {
            "--corpus" => a.corpus = value("--corpus")?,
            "--n" => a.n = num("--n", value("--n")?)?,
            "--batch" => a.batch = num("--batch", value("--batch")?)?,
            "--max-len" => a.max_len = num("--max-len", value("--max-len")?)?,
            "--threads" => a.threads = num("--threads", value("--threads")?)?,
            "--warmup" => a.warmup = num("--warmup", value("--warmup")?)?,
            "--model" => a.model = value("--model")?,
            "--unsorted" => a.sorted = false,
            "--sparse" => a.sparse = true,
            "--sorted" => a.sorted = true,
            "--json" => a.json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    if a.corpus.is_empty() {
        bail!("--corpus is required\n{USAGE}");
    }
    if a.n == 0 || a.batch == 0 || a.threads == 0 || a.max_len <= 2 {
        bail!("--n, --batch, --threads must be > 0, --max-len > 2");
    }
    Ok(a)
}

/// The first `n` non-empty documents as `title + " " + text` (just `text` without a title).
fn read_docs(path: &str, n: usize) -> Result<Vec<String>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening corpus {path}"))?;
    let mut docs = Vec::with_capacity(n);
    for (lineno, line) in BufReader::new(f).lines().enumerate() {
        if docs.len() >= n {
            break;
        }
        let line = line.with_context(|| format!("reading {path}"))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let d: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{path}:{}: invalid JSON", lineno + 1))?;
        let field = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let (title, text) = (field("title"), field("text"));
        docs.push(if title.is_empty() {
            text
        } else {
            format!("{title} {text}")
        });
    }
    Ok(docs)
}

#[path = "common/cpu.rs"]
mod cpu;
use cpu::process_cpu_seconds;

/// The model family under test: dense (mean-pooled) or sparse (SPLADE).
enum Encoder {
    Dense(SentenceEmbedder),
    Sparse(SparseEncoder),
}

impl Encoder {
    fn load(
        reg: &Registry,
        spec: &ModelSpec,
        opts: &EncoderOptions,
        family: Family,
    ) -> Result<Self> {
        Ok(match family {
            Family::SentenceEmbedding => Encoder::Dense(SentenceEmbedder::load(reg, spec, opts)?),
            Family::SparseEncoder => Encoder::Sparse(SparseEncoder::load(reg, spec, opts, 0.0)?),
            Family::CrossEncoder => bail!("cross-encoders have their own benchmark: bench_rerank"),
            Family::TokenEncoder => {
                bail!("token encoders are benchmarked inside the NER model that reads them: bench_ner")
            }
        })
    }

    fn name(&self) -> &str {
        match self {
            Encoder::Dense(e) => e.name(),
            Encoder::Sparse(e) => e.name(),
        }
    }

    /// Encodes; returns the dimension (dense) or the mean number of non-zero terms (sparse).
    fn run(&self, texts: &[&str]) -> Result<usize> {
        Ok(match self {
            Encoder::Dense(e) => e.embed(texts)?.first().map(Vec::len).unwrap_or(0),
            Encoder::Sparse(e) => {
                let v = e.encode(texts)?;
                v.iter().map(Vec::len).sum::<usize>() / v.len().max(1)
            }
        })
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_encode: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let args = parse_args()?;
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Before any rayon use (the tokenizer's encode_batch), single-threaded here.
        std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    }

    let docs = read_docs(&args.corpus, args.n)?;
    if docs.is_empty() {
        bail!("no documents in {}", args.corpus);
    }
    if docs.len() < args.n {
        eprintln!("bench_encode: warning: corpus has only {} docs", docs.len());
    }
    let texts: Vec<&str> = docs.iter().map(String::as_str).collect();

    let home = ModelHome::new(quarry_core::QuarryConfig::default().resolved_home());
    let reg = Registry::new(Manifest::builtin(), home);
    let opts = EncoderOptions {
        batch_size: args.batch,
        max_length: args.max_len,
        sort_by_length: args.sorted,
        intra_threads: args.threads,
        pool_size: 1,
    };
    let spec: ModelSpec = args.model.parse()?;
    let family = match &spec {
        ModelSpec::Named { id, .. } => reg.manifest.model(id)?.family.parse()?,
        ModelSpec::Dir(_) if args.sparse => Family::SparseEncoder,
        ModelSpec::Dir(_) => Family::SentenceEmbedding,
    };
    let resolved = reg.resolve(&spec, family)?;
    let emb = Encoder::load(&reg, &spec, &opts, family)?;

    // Untimed: token count (for the report) with a separate tokenizer instance.
    let n_tokens: usize = TextTokenizer::load(&resolved.tokenizer, args.max_len)?
        .encode(&texts)?
        .iter()
        .map(|e| e.ids.len())
        .sum();

    if args.warmup > 0 {
        let w = (args.batch * args.warmup).min(texts.len());
        emb.run(&texts[..w])?;
    }

    let cpu0 = process_cpu_seconds();
    let t0 = Instant::now();
    let dim = emb.run(&texts)?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu_secs = match (cpu0, process_cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let dps = docs.len() as f64 / secs;

    if args.json {
        let line = serde_json::json!({
            "impl": "rust-ort",
            "docs": docs.len(),
            "seconds": (secs * 1e4).round() / 1e4,
            "docs_per_s": (dps * 100.0).round() / 100.0,
            "sorted": args.sorted,
            "onnx": resolved.onnx.display().to_string(),
            "batch": args.batch,
            "max_len": args.max_len,
            "threads": args.threads,
            "tokens": n_tokens,
            "dim": dim,
            "model": emb.name(),
            "cpu_seconds": cpu_secs.map(|c| (c * 1e3).round() / 1e3),
        });
        println!("{line}");
    } else {
        println!(
            "rust-ort: {} docs in {secs:.3}s = {dps:.1} docs/s ({n_tokens} tokens, batch={}, max_len={}, \
             threads={}, sorted={}, onnx={})",
            docs.len(),
            args.batch,
            args.max_len,
            args.threads,
            args.sorted,
            resolved.onnx.display()
        );
    }
    Ok(())
}
