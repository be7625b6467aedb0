//! Helpers shared by the end-to-end tests of the `quarry` binary (each test file is its own
//! crate and uses what it needs).
#![allow(dead_code)]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test, without environment settings that would change its behaviour.
pub fn quarry() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
    c.env_remove("QUARRY_CONFIG")
        .env_remove("QUARRY_LOG")
        .env_remove("ORT_DYLIB_PATH");
    c
}

/// Runs a command that must succeed and print JSON.
pub fn json_ok(cmd: &mut Command, what: &str) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr.
pub fn failure(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// SciFact in BEIR layout under the shared data directory.
pub fn scifact() -> PathBuf {
    let p = quarry_core::shared_data::dir().join("retrieval/scifact");
    assert!(
        p.is_dir(),
        "{} missing (set QUARRY_SHARED_DATA to ../shared/data)",
        p.display()
    );
    p
}

/// The first `n` SciFact documents as Quarry JSONL (`id`, `title`, `text`) in `dir/docs.jsonl`.
pub fn scifact_jsonl(dir: &Path, n: usize) -> PathBuf {
    let src = scifact().join("corpus.jsonl");
    let f = std::fs::File::open(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let out = dir.join("docs.jsonl");
    let mut w = std::fs::File::create(&out).unwrap();
    for line in std::io::BufReader::new(f).lines().take(n) {
        let d: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let doc = serde_json::json!({"id": d["_id"], "title": d["title"], "text": d["text"]});
        writeln!(w, "{doc}").unwrap();
    }
    out
}

/// Runs `quarry ARGS` with `input` on stdin (written from a thread, so a large input never
/// waits on a full output pipe).
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = quarry()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A child that fails early closes stdin: ignore the broken pipe here so the assertions
    // on its exit code and stderr say what went wrong.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// [`run_with_stdin`] as (exit code, stdout, stderr).
pub fn with_stdin(args: &[&str], input: &[u8]) -> (Option<i32>, String, String) {
    let o = run_with_stdin(args, input);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// Ingests the JSONL file `docs` into a new index at `index`; panics with stderr on failure.
pub fn ingest(index: &Path, docs: &Path, extra: &[&str], home: Option<&Path>) {
    let mut cmd = quarry();
    cmd.arg("ingest")
        .arg("--index")
        .arg(index)
        .args(extra)
        .arg(docs);
    if let Some(h) = home {
        cmd.env("QUARRY_HOME", h);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The ids of a search answer's `hits`, in rank order (CLI `--json` and `/v1/search` alike).
pub fn hit_ids(v: &serde_json::Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {v}"))
        .iter()
        .map(|h| h["id"].as_str().unwrap_or_default().to_string())
        .collect()
}
