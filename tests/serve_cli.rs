//! `quarry serve` against a real server on 127.0.0.1 (a free port): every route, JSON error
//! bodies for bad input, limits, metrics and the OpenAPI description.

mod common;

use common::{ingest, quarry};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `jsonl` as `dir/docs.jsonl` and ingests it into `dir/idx` (with `extra` flags,
/// `QUARRY_HOME` = `home` when given); returns the index path.
fn indexed(dir: &Path, jsonl: &str, extra: &[&str], home: Option<&Path>) -> String {
    let docs = dir.join("docs.jsonl");
    std::fs::write(&docs, jsonl).unwrap();
    let idx = dir.join("idx");
    ingest(&idx, &docs, extra, home);
    idx.display().to_string()
}

fn start(index: &str, home: &std::path::Path, extra: &[&str]) -> Server {
    start_env(index, home, extra, &[])
}

fn start_env(index: &str, home: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = quarry();
    cmd.env("QUARRY_HOME", home);
    spawn(cmd, index, extra, env)
}

/// Starts `quarry serve` from `cmd` (its environment as set) on a free loopback port.
fn spawn(
    mut cmd: std::process::Command,
    index: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Server {
    let mut child = cmd
        .args(["serve", "--index", index, "--addr", "127.0.0.1:0"])
        .args(extra)
        .env_remove("QUARRY_API_KEYS")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, addr }
}

/// One HTTP/1.1 request; returns (status, content-type, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
    content_type: &str,
) -> (u16, String, String) {
    http_with(addr, method, path, body, content_type, "")
}

/// [`http`] with extra header lines (each ending in `\r\n`).
fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
    content_type: &str,
    headers: &str,
) -> (u16, String, String) {
    let (head, body) = exchange(
        addr,
        method,
        path,
        body,
        &format!("Content-Type: {content_type}\r\n{headers}"),
    );
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, ctype, body)
}

/// Sends one HTTP/1.1 request (`headers`: extra lines, each ending in `\r\n`) and returns
/// the answer's head (status line and headers) and body.
fn exchange(addr: &str, method: &str, path: &str, body: &[u8], headers: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    match text.split_once("\r\n\r\n") {
        Some((h, b)) => (h.to_string(), b.to_string()),
        None => (text, String::new()),
    }
}

/// The status line and headers of a body-less request with extra header lines.
fn http_head(addr: &str, method: &str, path: &str, headers: &str) -> String {
    exchange(addr, method, path, b"", headers).0
}

fn json(addr: &str, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    json_auth(addr, method, path, body, "")
}

#[test]
fn routes_errors_limits_and_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = indexed(tmp.path(), "{\"id\": \"d1\", \"lang\": \"en\", \"title\": \"Liver cyst\", \"body\": \"A simple cyst of the right liver lobe, 2 cm.\"}\n\
         {\"id\": \"d2\", \"lang\": \"en\", \"title\": \"Kidney stone\", \"body\": \"A stone in the left kidney; no hydronephrosis.\"}\n\
         {\"id\": \"d3\", \"lang\": \"zh\", \"body\": \"肝右叶见一低密度灶，考虑囊肿。\"}\n", &[], Some(tmp.path()));
    let srv = start(&idx, tmp.path(), &["--max-body", "4096"]);
    let a = srv.addr.as_str();

    let (st, v) = json(a, "GET", "/healthz", "");
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")));
    let (st, v) = json(a, "GET", "/readyz", "");
    assert_eq!((st, v["documents"].as_u64()), (200, Some(3)));

    let (st, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver cyst", "k": 2}"#,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["hits"][0]["id"], "d1");
    assert_eq!(v["mode"], "bm25");
    assert!(v["hits"].as_array().unwrap().len() <= 2);
    let (st, v) = json(a, "POST", "/v1/search", r#"{"query": "肝右叶囊肿"}"#);
    assert_eq!((st, v["hits"][0]["id"].as_str()), (200, Some("d3")));
    // highlights: the matched words, with offsets into the snippet without its brackets
    let (_, v) = json(a, "POST", "/v1/search", r#"{"query": "liver cyst"}"#);
    let hit = &v["hits"][0];
    let plain: Vec<char> = hit["snippet"]
        .as_str()
        .unwrap()
        .chars()
        .filter(|c| *c != '[' && *c != ']')
        .collect();
    let hl = hit["highlights"].as_array().unwrap();
    assert!(hl.len() >= 2, "{hit}");
    for h in hl {
        let (b, e) = (
            h["start"].as_u64().unwrap() as usize,
            h["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            plain[b..e].iter().collect::<String>(),
            h["text"].as_str().unwrap(),
            "{hit}"
        );
    }
    // the language filter
    let (st, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver cyst 肝右叶囊肿", "lang": "en", "k": 10}"#,
    );
    assert_eq!(st, 200, "{v}");
    let langs: Vec<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["lang"].as_str().unwrap())
        .collect();
    assert!(!langs.is_empty() && langs.iter().all(|l| *l == "en"), "{v}");
    let (_, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver cyst 肝右叶囊肿", "lang": "zh"}"#,
    );
    assert_eq!(v["hits"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["hits"][0]["id"], "d3");
    // field filters: exact values of short fields
    let (st, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver cyst kidney stone", "fields": {"title": "Kidney stone"}}"#,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["hits"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["hits"][0]["id"], "d2");
    let (_, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver cyst", "fields": {"title": "Kidney"}}"#,
    );
    assert!(
        v["hits"].as_array().unwrap().is_empty(),
        "exact, not partial: {v}"
    );
    // k sent as 2.0 is the integer 2 (JSON Schema agrees); 2.5 is not
    let (st, v) = json(a, "POST", "/v1/search", r#"{"query": "liver", "k": 2.0}"#);
    assert_eq!((st, v["k"].as_u64()), (200, Some(2)), "{v}");
    assert_eq!(
        json(a, "POST", "/v1/search", r#"{"query": "liver", "k": 2.5}"#).0,
        422
    );
    // re-ranking needs a cross-encoder (this server has none); depth 0 is plain search
    let (st, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver", "rerank": 5}"#,
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("rerank_unavailable")),
        "{v}"
    );
    let (st, v) = json(
        a,
        "POST",
        "/v1/search",
        r#"{"query": "liver", "rerank": 0}"#,
    );
    assert_eq!((st, v["rerank"].as_u64()), (200, Some(0)), "{v}");
    // a wrong method gets a JSON 405; CORS is off: no allow-origin header even when asked
    let (st, ctype, text) = http(a, "GET", "/v1/search", b"", "application/json");
    assert_eq!(st, 405, "{text}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let head = http_head(
        a,
        "OPTIONS",
        "/v1/search",
        "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n",
    );
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{head}"
    );

    // bad input: JSON error bodies with 4xx
    for (body, want) in [
        ("{not json", 400),
        (r#"{"query": "x", "colour": 1}"#, 422),
        (r#"{"query": 5}"#, 422),
        (r#"{"query": ""}"#, 400),
        (r#"{"query": "x", "k": 0}"#, 400),
        (r#"{"query": "x", "k": 100000}"#, 400),
        (r#"{"query": "x", "mode": "magic"}"#, 400),
    ] {
        let (st, v) = json(a, "POST", "/v1/search", body);
        assert_eq!(st, want, "{body}: {v}");
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{body}: {v}"
        );
    }
    let long = format!(r#"{{"query": "{}"}}"#, "a".repeat(1001));
    assert_eq!(json(a, "POST", "/v1/search", &long).0, 400);
    let huge = format!(r#"{{"query": "{}"}}"#, "a".repeat(10_000));
    let (st, v) = json(a, "POST", "/v1/search", &huge);
    assert_eq!(st, 413, "{v}");
    let (st, _, text) = http(
        a,
        "POST",
        "/v1/search",
        b"{\"query\": \"\xff\xfe\"}",
        "application/json",
    );
    assert_eq!(st, 400, "{text}");
    assert!(serde_json::from_str::<serde_json::Value>(&text).unwrap()["error"].is_object());
    let (st, _, _) = http(a, "POST", "/v1/search", br#"{"query": "x"}"#, "text/plain");
    assert_eq!(st, 415);

    // analyze runs the (default) pipeline and returns the document
    let (st, v) = json(
        a,
        "POST",
        "/v1/analyze",
        r#"{"text": "Barack Obama visited Oslo.", "lang": "en"}"#,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["fields"][0]["text"], "Barack Obama visited Oslo.");
    assert!(v["stages"].is_array());
    assert_eq!(
        json(
            a,
            "POST",
            "/v1/analyze",
            r#"{"text": "x", "lang": "klingon"}"#
        )
        .0,
        400
    );

    // the normalize stage's text comes back with the document (width, punctuation folded)
    let (st, v) = json(
        a,
        "POST",
        "/v1/analyze",
        r#"{"text": "ＣＴ示：肝右叶见一低密度灶，２．５ｃｍ"}"#,
    );
    assert_eq!(st, 200, "{v}");
    let n = v["normalized"]["text"].as_str().unwrap_or_default();
    assert!(n.contains("2.5") && !n.contains('，'), "{v}");

    // stored documents, with their normalized text
    let (st, v) = json(a, "GET", "/v1/documents/d2", "");
    assert_eq!((st, v["id"].as_str()), (200, Some("d2")));
    let (_, v) = json(a, "GET", "/v1/documents/d3", "");
    let n = v["normalized"]["body"].as_str().unwrap_or_default();
    assert!(n.contains("肝右叶") && !n.contains('，'), "{v}");
    assert_eq!(json(a, "GET", "/v1/documents/nope", "").0, 404);
    assert_eq!(json(a, "GET", "/v1/documents/..", "").0, 400);
    assert_eq!(json(a, "GET", "/v1/documents/a%2F..%2Fb", "").0, 400);
    assert_eq!(json(a, "GET", "/no/such/route", "").0, 404);

    // the OpenAPI description and the metrics
    let (st, v) = json(a, "GET", "/openapi.json", "");
    assert_eq!(st, 200);
    assert!(v["paths"]["/v1/search"]["post"].is_object(), "{v}");
    let (st, _, text) = http(a, "GET", "/metrics", b"", "text/plain");
    assert_eq!(st, 200);
    assert!(
        text.contains(
            "quarry_http_requests_total{route=\"/v1/search\",method=\"POST\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains("quarry_index_documents 3"), "{text}");
}

#[test]
fn missing_index_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry()
        .args([
            "serve",
            "--index",
            &tmp.path().join("none").display().to_string(),
            "--addr",
            "127.0.0.1:0",
        ])
        .env("QUARRY_HOME", tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no index at") && err.contains("quarry ingest"),
        "{err}"
    );
}

fn json_auth(
    addr: &str,
    method: &str,
    path: &str,
    body: &str,
    key: &str,
) -> (u16, serde_json::Value) {
    let h = if key.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {key}\r\n")
    };
    let (status, ctype, text) =
        http_with(addr, method, path, body.as_bytes(), "application/json", &h);
    assert!(
        ctype.starts_with("application/json"),
        "{method} {path}: {status} {ctype} {text}"
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}")),
    )
}

#[test]
fn writes_need_a_key_and_are_committed_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = indexed(
        tmp.path(),
        "{\"id\": \"d1\", \"lang\": \"en\", \"body\": \"first document about glaciers\"}\n",
        &[],
        Some(tmp.path()),
    );
    let batch = r#"{"documents": [{"id": "n1", "lang": "en", "title": "Volcano", "body": "A volcano erupted near the village."}, {"id": "n2", "lang": "en", "body": "Glaciers retreat."}]}"#;
    {
        // no key configured: writes are refused
        let srv = start(&idx, tmp.path(), &[]);
        let (st, v) = json_auth(&srv.addr, "POST", "/v1/documents", batch, "anything");
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (403, Some("writes_disabled"))
        );
    }
    // a key file with a hashed key, and one from the environment
    let keyfile = tmp.path().join("keys.txt");
    let hashed = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(b"filekey")))
    };
    std::fs::write(&keyfile, format!("# writers\n{hashed}\n")).unwrap();
    let srv = start_env(
        &idx,
        tmp.path(),
        &["--api-key-file", &keyfile.display().to_string()],
        &[("QUARRY_API_KEYS", "s3cret, other")],
    );
    let a = srv.addr.as_str();
    assert_eq!(json_auth(a, "POST", "/v1/documents", batch, "").0, 401);
    assert_eq!(json_auth(a, "POST", "/v1/documents", batch, "wrong").0, 401);
    let (st, v) = json_auth(
        a,
        "POST",
        "/v1/documents?wait=true",
        r#"{"documents": [{"id": "k1", "body": "key file writer"}]}"#,
        "filekey",
    );
    assert_eq!(
        (st, v["state"].as_str()),
        (200, Some("committed")),
        "the hashed key of the file works: {v}"
    );
    assert_eq!(
        json_auth(a, "DELETE", "/v1/documents/k1", "", "filekey").0,
        200
    );
    let (st, v) = json_auth(a, "POST", "/v1/documents?wait=true", batch, "s3cret");
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["state"].as_str(), v["committed"].as_u64()),
        (Some("committed"), Some(2))
    );
    assert_eq!(json(a, "GET", "/readyz", "").1["documents"], 3);
    let (st, v) = json(a, "GET", "/v1/documents/n1", "");
    assert_eq!((st, v["title"].as_str()), (200, Some("Volcano")));
    let (st, v) = json(a, "POST", "/v1/search", r#"{"query": "volcano"}"#);
    assert_eq!((st, v["hits"][0]["id"].as_str()), (200, Some("n1")));
    // re-sending replaces (idempotent by id); without ?wait the answer is 202 and the job is polled
    let again = r#"{"documents": [{"id": "n1", "lang": "en", "title": "Volcano, revised", "body": "Ash fell."}]}"#;
    let (st, v) = json_auth(a, "POST", "/v1/documents", again, "other");
    assert_eq!(st, 202, "{v}");
    let job = v["job_id"].as_u64().unwrap();
    let mut state = String::new();
    for _ in 0..200 {
        let (_, v) = json(a, "GET", &format!("/v1/jobs/{job}"), "");
        state = v["state"].as_str().unwrap().to_string();
        if state == "committed" || state == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(state, "committed");
    assert_eq!(
        json(a, "GET", "/readyz", "").1["documents"],
        3,
        "replaced, not added"
    );
    assert_eq!(
        json(a, "GET", "/v1/documents/n1", "").1["title"],
        "Volcano, revised"
    );
    // bad batches
    for (body, status, code) in [
        (r#"{"documents": []}"#, 422, "invalid_batch"),
        (
            r#"{"documents": [{"id": "../x", "body": "t"}]}"#,
            400,
            "invalid_id",
        ),
        (
            r#"{"documents": [{"body": "no id"}]}"#,
            422,
            "invalid_document",
        ),
        (
            r#"{"documents": [{"id": 7, "body": "t"}]}"#,
            422,
            "invalid_document",
        ),
        (
            r#"{"documents": [{"id": "a", "body": ["t"]}]}"#,
            422,
            "invalid_document",
        ),
        (
            r#"{"documents": [{"id": "a", "lang": "fr", "body": "t"}]}"#,
            422,
            "invalid_document",
        ),
        (r#"{"documents": ["text"]}"#, 422, "invalid_document"),
        (
            r#"{"documents": [{"id": "a", "body": {"x": {"y": {"z": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}}]}"#,
            400,
            "too_deep",
        ),
    ] {
        let (st, v) = json_auth(a, "POST", "/v1/documents", body, "s3cret");
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {v}"
        );
    }
    let many = format!(
        r#"{{"documents": [{}]}}"#,
        vec![r#"{"id": "x", "body": "t"}"#; 1001].join(",")
    );
    assert_eq!(
        json_auth(a, "POST", "/v1/documents", &many, "s3cret").0,
        422
    );
    let wide = format!(
        r#"{{"documents": [{{"id": "w", {}}}]}}"#,
        (0..70)
            .map(|i| format!(r#""f{i}": "t""#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (st, v) = json_auth(a, "POST", "/v1/documents", &wide, "s3cret");
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("too_many_fields"))
    );
    assert_eq!(
        json_auth(a, "POST", "/v1/documents", r#"{"docs": []}"#, "s3cret").0,
        422
    );
    // an id twice in one batch: the later one wins
    let (st, v) = json_auth(
        a,
        "POST",
        "/v1/documents?wait=true",
        r#"{"documents": [{"id": "t2", "body": "first"}, {"id": "t3", "body": "other"}, {"id": "t2", "body": "second", "lang": null}]}"#,
        "s3cret",
    );
    assert_eq!((st, v["committed"].as_u64()), (200, Some(2)), "{v}");
    assert_eq!(json(a, "GET", "/v1/documents/t2", "").1["body"], "second");
    for id in ["t2", "t3"] {
        assert_eq!(
            json_auth(a, "DELETE", &format!("/v1/documents/{id}"), "", "s3cret").0,
            200
        );
    }
    assert_eq!(json(a, "GET", "/v1/jobs/999", "").0, 404);
    assert_eq!(json(a, "GET", "/v1/jobs/abc", "").0, 400);
    // delete
    assert_eq!(json_auth(a, "DELETE", "/v1/documents/n2", "", "").0, 401);
    let (st, v) = json_auth(a, "DELETE", "/v1/documents/n2", "", "s3cret");
    assert_eq!((st, v["deleted"].as_str()), (200, Some("n2")));
    assert_eq!(
        json_auth(a, "DELETE", "/v1/documents/n2", "", "s3cret").0,
        404
    );
    assert_eq!(json(a, "GET", "/v1/documents/n2", "").0, 404);
    let (_, _, text) = http(a, "GET", "/metrics", b"", "text/plain");
    assert!(text.contains("quarry_ingested_documents_total 6"), "{text}");
}

#[test]
fn sigterm_drains_queued_jobs_and_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = indexed(
        tmp.path(),
        "{\"id\": \"d0\", \"body\": \"seed\"}\n",
        &[],
        Some(tmp.path()),
    );
    let mut srv = start_env(&idx, tmp.path(), &[], &[("QUARRY_API_KEYS", "k")]);
    let a = srv.addr.clone();
    let mut jobs = Vec::new();
    for b in 0..5 {
        let batch: Vec<String> = (0..20)
            .map(|i| format!(r#"{{"id": "b{b}-{i}", "body": "batch {b} document {i}"}}"#))
            .collect();
        let (st, v) = json_auth(
            &a,
            "POST",
            "/v1/documents",
            &format!(r#"{{"documents": [{}]}}"#, batch.join(",")),
            "k",
        );
        assert_eq!(st, 202, "{v}");
        jobs.push(v["job_id"].as_u64().unwrap());
    }
    let started = std::time::Instant::now();
    let pid = srv.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = srv.child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "drained in {:?}",
        started.elapsed()
    );
    // every accepted job was committed before the process ended
    let srv2 = start(&idx, tmp.path(), &[]);
    assert_eq!(json(&srv2.addr, "GET", "/readyz", "").1["documents"], 101);
}

#[test]
fn writes_into_a_sparse_index_are_expanded() {
    // the server loads the index's encoder, so documents posted to it get expansions and
    // sparse search finds them (this failed with "no encoder is loaded" before)
    let tmp = tempfile::tempdir().unwrap();
    let idx = indexed(
        tmp.path(),
        "{\"id\": \"s1\", \"lang\": \"en\", \"body\": \"insulin resistance in obesity\"}\n",
        &["--sparse"],
        None,
    );
    // the models' home stays the default one (the encoder lives there)
    let srv = spawn(quarry(), &idx, &[], &[("QUARRY_API_KEYS", "k")]);
    let (st, v) = json_auth(
        &srv.addr,
        "POST",
        "/v1/documents?wait=true",
        r#"{"documents": [{"id": "s2", "lang": "en", "body": "volcanic ash over the glacier"}]}"#,
        "k",
    );
    assert_eq!((st, v["state"].as_str()), (200, Some("committed")), "{v}");
    let (st, v) = json(
        &srv.addr,
        "POST",
        "/v1/search",
        r#"{"query": "volcanic glacier", "mode": "sparse", "k": 1}"#,
    );
    assert_eq!((st, v["hits"][0]["id"].as_str()), (200, Some("s2")), "{v}");
}

#[test]
fn the_write_ahead_log_is_replayed_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = std::path::PathBuf::from(indexed(
        tmp.path(),
        "{\"id\": \"d0\", \"body\": \"seed\"}\n",
        &[],
        Some(tmp.path()),
    ));
    // what a server leaves when it is killed after accepting a batch and before committing
    // it: a whole log file (replayed), and a temporary one (never acknowledged, dropped)
    let wal = idx.join("wal");
    std::fs::create_dir_all(&wal).unwrap();
    std::fs::write(
        wal.join("00000000000000000007.jsonl"),
        "{\"id\":\"w1\",\"lang\":\"en\",\"fields\":[{\"name\":\"body\",\"text\":\"accepted before the crash\"}]}\n\
         {\"id\":\"d0\",\"lang\":\"en\",\"fields\":[{\"name\":\"body\",\"text\":\"seed, replaced\"}]}\n",
    )
    .unwrap();
    std::fs::write(wal.join("00000000000000000008.tmp"), "{\"id\":\"w2\"").unwrap();
    let idx_s = idx.display().to_string();
    let srv = start_env(&idx_s, tmp.path(), &[], &[("QUARRY_API_KEYS", "k")]);
    let a = srv.addr.as_str();
    assert_eq!(json(a, "GET", "/readyz", "").1["documents"], 2);
    let (st, v) = json(a, "GET", "/v1/documents/w1", "");
    assert_eq!(
        (st, v["body"].as_str()),
        (200, Some("accepted before the crash"))
    );
    assert_eq!(
        json(a, "GET", "/v1/documents/d0", "").1["body"],
        "seed, replaced"
    );
    assert_eq!(json(a, "GET", "/v1/documents/w2", "").0, 404);
    assert_eq!(
        std::fs::read_dir(&wal).unwrap().count(),
        0,
        "replayed and removed"
    );
    // job ids continue after the log's sequence numbers; a 202 says the batch is durable
    let (st, v) = json_auth(
        a,
        "POST",
        "/v1/documents",
        r#"{"documents": [{"id": "n1", "body": "after the restart"}]}"#,
        "k",
    );
    assert_eq!(st, 202, "{v}");
    assert!(v["job_id"].as_u64().unwrap() > 7, "{v}");
    assert_eq!(v["durable"], true);
    // kill -9 right after the 202: the batch is there after a restart (committed or replayed)
    drop(srv);
    let srv = start(&idx_s, tmp.path(), &[]);
    assert_eq!(json(&srv.addr, "GET", "/v1/documents/n1", "").0, 200);
    assert_eq!(json(&srv.addr, "GET", "/readyz", "").1["documents"], 3);
}

#[test]
fn settings_come_from_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = indexed(
        tmp.path(),
        "{\"id\": \"d0\", \"body\": \"seed document\"}\n",
        &[],
        Some(tmp.path()),
    );
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"cfgkey"))
    };
    let cfg = tmp.path().join("quarry.toml");
    std::fs::write(
        &cfg,
        format!(
            "[serve]\napi_key_hashes = [\"{hash}\"]\ncors_origins = [\"http://app.example\"]\nmax_batch_docs = 2\nwal = false\n"
        ),
    )
    .unwrap();
    let srv = start(&idx, tmp.path(), &["--config", &cfg.display().to_string()]);
    let a = srv.addr.as_str();
    let (st, v) = json_auth(
        a,
        "POST",
        "/v1/documents?wait=true",
        r#"{"documents": [{"id": "c1", "body": "configured key"}]}"#,
        "cfgkey",
    );
    assert_eq!((st, v["durable"].as_bool()), (200, Some(false)), "{v}");
    let three = r#"{"documents": [{"id": "a", "body": "t"}, {"id": "b", "body": "t"}, {"id": "c", "body": "t"}]}"#;
    assert_eq!(
        json_auth(a, "POST", "/v1/documents", three, "cfgkey").0,
        422
    );
    let head = http_head(a, "GET", "/healthz", "Origin: http://app.example\r\n");
    assert!(
        head.to_ascii_lowercase()
            .contains("access-control-allow-origin: http://app.example"),
        "{head}"
    );
    let head = http_head(a, "GET", "/healthz", "Origin: http://evil.example\r\n");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{head}"
    );
    assert!(
        !Path::new(&idx).join("wal").exists(),
        "wal = false keeps no log"
    );
    // a malformed key hash is a clear start-up error
    std::fs::write(&cfg, "[serve]\napi_key_hashes = [\"abc\"]\n").unwrap();
    let out = quarry()
        .args([
            "serve",
            "--index",
            &idx,
            "--addr",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&cfg)
        .env("QUARRY_HOME", tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("64 hex digits"), "{err}");
}

#[test]
fn searches_rerank_with_the_cross_encoder_when_served_with_rerank() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = common::scifact_jsonl(tmp.path(), 80);
    let idx = tmp.path().join("idx").display().to_string();
    // the models' home stays the default one (the cross-encoder's runtime lives there)
    ingest(Path::new(&idx), &docs, &[], None);
    let srv = spawn(quarry(), &idx, &["--rerank"], &[]);
    let a = srv.addr.as_str();
    let q = "cells with DNA damage and the risk of cancer";
    let search = |extra: &str| {
        let (st, v) = json(
            a,
            "POST",
            "/v1/search",
            &format!(r#"{{"query": "{q}", "k": 10{extra}}}"#),
        );
        assert_eq!(st, 200, "{v}");
        v
    };
    let plain = search(r#", "rerank": 0"#);
    let rr = search(r#", "rerank": 20"#);
    assert_eq!(
        (plain["rerank"].as_u64(), rr["rerank"].as_u64()),
        (Some(0), Some(20))
    );
    assert_eq!(common::hit_ids(&rr).len(), 10);
    assert_ne!(
        common::hit_ids(&plain),
        common::hit_ids(&rr),
        "re-ranking changed nothing"
    );
    // without a depth the server's [rerank] candidates (100) apply
    assert_eq!(search("")["rerank"].as_u64(), Some(100));
    let (st, _, text) = http(a, "GET", "/metrics", b"", "text/plain");
    assert_eq!(st, 200);
    assert!(text.contains("quarry_http_request_seconds"), "{text}");
}

/// One printed curl example as (method, path, headers, body).
fn parse_curl(cmd: &str) -> (String, String, String, String) {
    let rest = cmd.strip_prefix("curl -s ").expect(cmd);
    let (url, rest) = match rest.strip_prefix('\'') {
        Some(r) => r.split_once('\'').expect(cmd),
        None => rest.split_once(' ').unwrap_or((rest, "")),
    };
    let path = url
        .strip_prefix("http://")
        .and_then(|u| u.find('/').map(|i| u[i..].to_string()))
        .expect(cmd);
    let mut headers = String::new();
    let mut r = rest;
    while let Some(i) = r.find("-H '") {
        let (h, after) = r[i + 4..].split_once('\'').expect(cmd);
        if !h.to_ascii_lowercase().starts_with("content-type") {
            headers.push_str(&format!("{h}\r\n"));
        }
        r = after;
    }
    let body = rest
        .find("-d '")
        .map(|i| rest[i + 4..rest.len() - 1].to_string())
        .unwrap_or_default();
    let method = if body.is_empty() { "GET" } else { "POST" };
    (method.to_string(), path, headers, body)
}

#[test]
fn the_demo_serves_and_every_printed_example_works() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = quarry()
        .args(["demo", "--no-models", "--serve", "127.0.0.1:0"])
        .env("QUARRY_HOME", tmp.path())
        .env("QUARRY_API_KEYS", "KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut examples = Vec::new();
    let mut addr = String::new();
    for _ in 0..2000 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            addr = a.to_string();
            break;
        }
        if let Some(c) = line.trim().strip_prefix("curl ") {
            examples.push(format!("curl {c}"));
        }
    }
    let _srv = Server {
        child,
        addr: addr.clone(),
    };
    assert!(!addr.is_empty(), "the demo did not start its server");
    assert!(examples.len() >= 8, "{examples:?}");
    for cmd in &examples {
        assert!(
            cmd.contains(&addr),
            "examples name the bound address: {cmd}"
        );
        let (method, path, headers, body) = parse_curl(cmd);
        let (st, ctype, text) = http_with(
            &addr,
            &method,
            &path,
            body.as_bytes(),
            "application/json",
            &headers,
        );
        assert_eq!(st, 200, "{cmd}: {text}");
        if path != "/metrics" {
            assert!(ctype.starts_with("application/json"), "{cmd}: {ctype}");
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        }
    }
}
