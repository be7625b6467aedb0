//! Throughput of Rust + ONNX Runtime NER on the Yidu-S4K validate sentences.
//!
//! ```text
//! cargo run --release -p quarry-ner --example bench_ner -- \
//!     [--model ner-clinical-zh[:fp32]] [--threads 1,2] [--batch 1,32] \
//!     [--data FILE.bio] [--limit N] [--repeat R] [--max-chars N]
//! ```
//!
//! For every (threads, batch) pair it loads the model with that many intra-op threads,
//! warms up on a few sentences, then times `predict` over all sentences (best of `--repeat`
//! runs) and prints one JSON object a line: model, variant, threads, batch, sentences,
//! chars, seconds, sentences_per_s, chars_per_s, load_s. The data defaults to
//! `$QUARRY_SHARED_DATA/ner/yidu-s4k/validate.bio` (else `../shared/data` beside the
//! repository); `--max-chars` defaults to no splitting, like the Python comparison.

use quarry_ner::{NerModel, NerOptions};
use std::path::PathBuf;
use std::time::Instant;

fn list(v: &str) -> Vec<usize> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .unwrap_or_else(|_| die(&format!("bad number {x:?}")))
        })
        .collect()
}

fn die(msg: &str) -> ! {
    eprintln!("bench_ner: {msg}");
    std::process::exit(2)
}

fn main() {
    let mut model = quarry_ner::DEFAULT_MODEL.to_string();
    let mut threads = vec![1, 2];
    let mut batches = vec![1, 32];
    let mut data: Option<PathBuf> = None;
    let mut limit = usize::MAX;
    let mut repeat = 3usize;
    let mut max_chars = 1_000_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--model" => model = val(),
            "--threads" => threads = list(&val()),
            "--batch" => batches = list(&val()),
            "--data" => data = Some(PathBuf::from(val())),
            "--limit" => limit = list(&val())[0],
            "--repeat" => repeat = list(&val())[0].max(1),
            "--max-chars" => max_chars = list(&val())[0],
            "-h" | "--help" => {
                println!("bench_ner [--model NAME] [--threads 1,2] [--batch 1,32] [--data FILE.bio] [--limit N] [--repeat R] [--max-chars N]");
                return;
            }
            other => die(&format!("unknown argument {other}")),
        }
    }
    let data =
        data.unwrap_or_else(|| quarry_core::shared_data::dir().join("ner/yidu-s4k/validate.bio"));
    let sentences = quarry_eval::import::bio::read_bio(&data)
        .unwrap_or_else(|e| die(&format!("cannot read {}: {e}", data.display())));
    let texts: Vec<&str> = sentences
        .iter()
        .take(limit)
        .map(|s| s.text.as_str())
        .collect();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    for &t in &threads {
        for &b in &batches {
            let opts = NerOptions {
                batch_size: b,
                threads: t,
                max_chars: Some(max_chars),
                ..Default::default()
            };
            let m = NerModel::load(&model, &opts).unwrap_or_else(|e| die(&e.to_string()));
            let warm: Vec<&str> = texts.iter().take(b.max(8)).copied().collect();
            m.predict(&warm).unwrap_or_else(|e| die(&e.to_string()));
            let mut best = f64::INFINITY;
            let mut entities = 0usize;
            for _ in 0..repeat {
                let started = Instant::now();
                let out = m.predict(&texts).unwrap_or_else(|e| die(&e.to_string()));
                best = best.min(started.elapsed().as_secs_f64());
                entities = out.iter().map(Vec::len).sum();
            }
            let v = serde_json::json!({
                "model": m.name(), "variant": m.variant(), "threads": t, "batch": b,
                "sentences": texts.len(), "chars": chars, "entities": entities,
                "seconds": best, "sentences_per_s": texts.len() as f64 / best,
                "chars_per_s": chars as f64 / best, "load_s": m.load_seconds(),
                "lexicon_words": m.extractor().lexicon.len(),
            });
            println!("{v}");
        }
    }
}
