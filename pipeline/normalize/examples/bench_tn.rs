//! Throughput of `quarry_normalize::tn` on the WeTextProcessing Chinese test cases.
//!
//! ```text
//! cargo run --release -p quarry-normalize --example bench_tn -- [CASES_DIR] [--seconds S]
//! ```
//!
//! `CASES_DIR` defaults to `$QUARRY_SHARED_DATA/tn/wetext` (else
//! `../../../shared/data/tn/wetext` from this crate). Every `*.txt` case file under a `tn`
//! directory is run through [`tn`], every one under an `itn` directory through [`itn`]
//! (default options); the whole set is repeated for at least `S` seconds (default 3) on one
//! thread, and the throughput is printed in sentences per second (a sentence is one case
//! input). `scripts/bench_wetext.py` times the Python `wetextprocessing` package the same way.

use quarry_normalize::tn::{itn, tn};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "txt") {
            out.push(p);
        }
    }
}

fn inputs(root: &Path, direction: &str) -> Vec<String> {
    let mut files = Vec::new();
    collect(&root.join(direction), &mut files);
    let mut v = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines() {
            if let Some((input, _)) = line.split_once("=>").or_else(|| line.split_once('~')) {
                if !input.trim().is_empty() {
                    v.push(input.trim().to_string());
                }
            }
        }
    }
    v
}

/// Runs `f` over `cases` repeatedly for at least `min`; returns (sentences, elapsed).
fn time(cases: &[String], min: Duration, f: impl Fn(&str) -> usize) -> (usize, Duration) {
    // warm-up (lazy tables)
    for c in cases {
        black_box(f(c));
    }
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < min {
        for c in cases {
            black_box(f(black_box(c)));
        }
        n += cases.len();
    }
    (n, start.elapsed())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut seconds = 3.0f64;
    while let Some(a) = args.next() {
        if a == "--seconds" {
            seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds);
        } else {
            dir = Some(PathBuf::from(a));
        }
    }
    let root = dir.unwrap_or_else(|| quarry_core::shared_data::dir().join("tn/wetext"));
    let tn_cases = inputs(&root, "tn");
    let itn_cases = inputs(&root, "itn");
    if tn_cases.is_empty() || itn_cases.is_empty() {
        eprintln!("no cases under {} (need tn/ and itn/)", root.display());
        std::process::exit(2);
    }
    let min = Duration::from_secs_f64(seconds);
    let (n_tn, t_tn) = time(&tn_cases, min, |s| tn(s).text.len());
    let (n_itn, t_itn) = time(&itn_cases, min, |s| itn(s).text.len());
    let rate = |n: usize, t: Duration| n as f64 / t.as_secs_f64();
    let chars: usize = tn_cases
        .iter()
        .chain(&itn_cases)
        .map(|s| s.chars().count())
        .sum();
    println!(
        "cases: {} TN + {} ITN ({} chars) from {}",
        tn_cases.len(),
        itn_cases.len(),
        chars,
        root.display()
    );
    println!(
        "TN : {:>12.0} sentences/s  ({n_tn} in {:.2?})",
        rate(n_tn, t_tn),
        t_tn
    );
    println!(
        "ITN: {:>12.0} sentences/s  ({n_itn} in {:.2?})",
        rate(n_itn, t_itn),
        t_itn
    );
    let per_pass = t_tn.as_secs_f64() / n_tn as f64 * tn_cases.len() as f64
        + t_itn.as_secs_f64() / n_itn as f64 * itn_cases.len() as f64;
    println!(
        "all: {:>12.0} sentences/s  (one pass over the {} cases: {:.3} ms)",
        (tn_cases.len() + itn_cases.len()) as f64 / per_pass,
        tn_cases.len() + itn_cases.len(),
        per_pass * 1e3
    );
}
