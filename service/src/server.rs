//! `quarry serve`: the HTTP query and ingestion API (tokio + axum).
//!
//! Routes (JSON; errors are `{"error": {"code", "message"}}` with a 4xx/5xx status):
//! * `GET /healthz`: the process answers.
//! * `GET /readyz`: the index is open and readable (document count).
//! * `GET /metrics`: Prometheus text: requests and latency per route and status, search
//!   hits, index size.
//! * `GET /openapi.json`: the OpenAPI 3.1 description, generated from the handlers (utoipa).
//! * `POST /v1/search`: query, mode (bm25 | sparse | hybrid), k, re-ranking depth, filters
//!   by linked concept, key phrase, language and field value; results with scores, snippets
//!   and highlights.
//! * `POST /v1/analyze`: runs the configured pipeline on a text without indexing it and
//!   returns every annotation and normalized field.
//! * `GET /v1/documents/{id}`: the stored document with its annotations.
//! * `POST /v1/documents` (API key): a batch of documents goes through the pipeline into the
//!   index as an asynchronous job (`202` + job id; `?wait=true` answers once committed);
//!   idempotent by id (re-sending replaces; an id twice in one batch: the later wins). A
//!   full job queue answers `429` with `Retry-After`; `Location` names the job.
//! * `GET /v1/jobs/{job_id}`: a job's state (`queued`, `running`, `committed`, `failed`),
//!   progress and per-document errors.
//! * `DELETE /v1/documents/{id}` (API key): removes a document (committed before the
//!   answer; it goes through the job queue, so it is ordered after earlier batches).
//!
//! Write routes need `Authorization: Bearer KEY` (or `X-API-Key: KEY`); keys come from
//! `QUARRY_API_KEYS` (comma-separated), `--api-key-file` or
//! `[serve] api_key_hashes` (SHA-256 hex) and only their SHA-256 is kept. With no key
//! configured, writes are refused (`403`).
//!
//! Durability: with the write-ahead log on (`[serve] wal`, the default), a batch is written
//! to `<index>/wal/` and synced before the `202`, so an accepted batch survives `kill -9`: a
//! restart replays the log before serving ([`crate::wal`]). Without it, a document counts as
//! acknowledged only when its job is `committed` (tantivy's commit is atomic). One ingestion
//! worker runs the jobs in order; searches read the last commit (readers reload on commit).
//!
//! Limits: request bodies (`--max-body`, default 2 MiB), JSON nesting (32), batch size
//! (1,000 documents), fields per document (64), query length (1,000 characters), `k`
//! (1..=1,000), analyze text (100,000 characters), ids (1..=256 characters of
//! `[A-Za-z0-9._:-]`); unknown JSON fields are refused; every request has a timeout. CPU work
//! (search, the pipeline) runs on tokio's blocking pool, at most `[serve] max_inflight` (256)
//! requests at once (`429` beyond); model sessions come from pools sized to the cores. CORS is off unless `[serve] cors_origins` lists origins. Nothing
//! listens beyond 127.0.0.1 unless `--addr` or `[serve] addr` says so.

use crate::cli::Ctx;
use anyhow::{Context, Result};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use quarry_core::{Document, Lang, Pipeline};
use quarry_index::{QuarryIndex, SearchMode};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::{OpenApi, ToSchema};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Largest `k` and re-ranking depth.
pub const MAX_K: usize = 1_000;
/// Longest text `/v1/analyze` takes, in characters.
pub const MAX_ANALYZE_CHARS: usize = 100_000;
/// Most fields of one document.
pub const MAX_FIELDS: usize = 64;
/// Finished jobs whose status is kept for `GET /v1/jobs/{job_id}` (oldest forgotten first).
pub const JOBS_KEPT: usize = 10_000;

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// SHA-256 (hex) of the API keys that may write.
    pub key_hashes: Vec<String>,
    /// Origins CORS allows (empty: no CORS headers).
    pub cors_origins: Vec<String>,
    /// Jobs waiting for the writer before `429`.
    pub queue_capacity: usize,
    /// Most documents in one batch.
    pub max_batch_docs: usize,
    /// Deepest JSON nesting of a request body.
    pub max_json_depth: usize,
    /// Searches and analyses at once before `429`.
    pub max_inflight: usize,
    /// The write-ahead log directory (`None`: no log; `202` is not durable).
    pub wal_dir: Option<std::path::PathBuf>,
    /// Index writer memory per commit, in bytes.
    pub writer_memory: usize,
    /// Print [`example_requests`] for the bound address once listening (the demo).
    pub print_examples: bool,
}

impl ServeOptions {
    /// The settings of `[serve]` (and `[index] writer_memory_mb`), with the keys of
    /// `QUARRY_API_KEYS`; the write-ahead log goes in `<index>/wal` when `index` is given.
    pub fn from_config(
        cfg: &quarry_core::config::QuarryConfig,
        index: Option<&std::path::Path>,
    ) -> Result<Self> {
        let c = &cfg.serve;
        let addr: SocketAddr = c
            .addr
            .parse()
            .with_context(|| format!("[serve] addr {:?} is not an address", c.addr))?;
        let mut key_hashes = env_key_hashes();
        for h in &c.api_key_hashes {
            key_hashes.push(check_key_hash(h).context("[serve] api_key_hashes")?);
        }
        Ok(ServeOptions {
            addr,
            max_body: c.max_body.max(1024),
            timeout: Duration::from_secs_f64(c.timeout_s.clamp(0.001, 86_400.0)),
            key_hashes,
            cors_origins: c.cors_origins.clone(),
            queue_capacity: c.queue_capacity.max(1),
            max_batch_docs: c.max_batch_docs.max(1),
            max_json_depth: c.max_json_depth.max(2),
            max_inflight: c.max_inflight.max(1),
            wal_dir: index.filter(|_| c.wal).map(|p| p.join("wal")),
            writer_memory: cfg.index.writer_memory_mb.max(15) << 20,
            print_examples: false,
        })
    }
}

/// A configured key hash: 64 hex digits (lowercased).
pub fn check_key_hash(h: &str) -> Result<String> {
    let h = h.trim();
    anyhow::ensure!(
        h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()),
        "a key hash is the SHA-256 of the key as 64 hex digits (printf %s KEY | sha256sum), got {h:?}"
    );
    Ok(h.to_ascii_lowercase())
}

/// Example requests against a server at `addr` (what, curl command line).
pub fn example_requests(addr: &str) -> Vec<(&'static str, String)> {
    vec![
        ("health", format!("curl -s http://{addr}/readyz")),
        (
            "search (bm25; mode may be sparse or hybrid when the index has expansions)",
            format!("curl -s http://{addr}/v1/search -H 'content-type: application/json' -d '{{\"query\": \"肺部磨玻璃影\", \"k\": 3}}'"),
        ),
        (
            "run the pipeline on a text without indexing it",
            format!("curl -s http://{addr}/v1/analyze -H 'content-type: application/json' -d '{{\"text\": \"Senior Java developer wanted in Oslo\"}}'"),
        ),
        ("a stored document", format!("curl -s http://{addr}/v1/documents/rad-001")),
        (
            "add documents (needs QUARRY_API_KEYS=KEY when the server starts)",
            format!("curl -s 'http://{addr}/v1/documents?wait=true' -H 'authorization: Bearer KEY' -H 'content-type: application/json' -d '{{\"documents\": [{{\"id\": \"n1\", \"body\": \"new text\"}}]}}'"),
        ),
        ("a job's state (the job_id an ingestion answered)", format!("curl -s http://{addr}/v1/jobs/1")),
        (
            "search only Chinese documents, re-ranking off",
            format!("curl -s http://{addr}/v1/search -H 'content-type: application/json' -d '{{\"query\": \"肝囊肿\", \"lang\": \"zh\", \"rerank\": 0}}'"),
        ),
        ("metrics (Prometheus)", format!("curl -s http://{addr}/metrics")),
        ("the API description", format!("curl -s http://{addr}/openapi.json")),
    ]
}

/// The SHA-256 (hex) of each key in `QUARRY_API_KEYS` (comma-separated).
pub fn env_key_hashes() -> Vec<String> {
    std::env::var("QUARRY_API_KEYS")
        .map(|keys| {
            keys.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(hash_key)
                .collect()
        })
        .unwrap_or_default()
}

/// The SHA-256 (hex) of an API key.
pub fn hash_key(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.trim().as_bytes()))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
}

struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    docs: Gauge,
    index_bytes: Gauge,
    queued: Gauge,
    ingested: Counter,
    failed_docs: Counter,
    stage_seconds: Family<StageLabels, Histogram>,
    commit_seconds: Histogram,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("quarry");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let stage_seconds = Family::<StageLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 18))
        });
        let commit_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let docs = Gauge::default();
        let index_bytes = Gauge::default();
        let queued = Gauge::default();
        let ingested = Counter::default();
        let failed_docs = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "index_documents",
            "Live documents in the index",
            docs.clone(),
        );
        registry.register(
            "index_bytes",
            "Bytes of the index directory on disk",
            index_bytes.clone(),
        );
        registry.register(
            "ingest_jobs_queued",
            "Ingestion jobs waiting for the writer",
            queued.clone(),
        );
        registry.register(
            "ingested_documents",
            "Documents committed by ingestion jobs (its rate is the ingestion rate)",
            ingested.clone(),
        );
        registry.register(
            "ingest_failed_documents",
            "Documents an ingestion job could not process",
            failed_docs.clone(),
        );
        registry.register(
            "pipeline_stage_seconds",
            "Time of one pipeline stage over one batch (model inference for ner, link, ...)",
            stage_seconds.clone(),
        );
        registry.register(
            "index_commit_seconds",
            "Time to expand (learned sparse encoder), add and commit one batch",
            commit_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            docs,
            index_bytes,
            queued,
            ingested,
            failed_docs,
            stage_seconds,
            commit_seconds,
        }
    }

    fn stage_timer(&self) -> impl FnMut(&str, Duration) + '_ {
        |stage, took| {
            self.stage_seconds
                .get_or_create(&StageLabels {
                    stage: stage.to_string(),
                })
                .observe(took.as_secs_f64())
        }
    }
}

/// Request limits the handlers check.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_batch_docs: usize,
    max_json_depth: usize,
    queue_capacity: usize,
}

struct AppState {
    index: QuarryIndex,
    pipeline: Pipeline,
    metrics: Metrics,
    default_mode: SearchMode,
    key_hashes: Vec<String>,
    limits: Limits,
    wal: Option<crate::wal::Wal>,
    writer_memory: usize,
    jobs: std::sync::Mutex<JobTable>,
    /// The job queue's sender; taken (closing the queue) at shutdown.
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::Sender<u64>>>,
    /// Held from a batch's sequence number to its place in the queue, so the write-ahead
    /// log and the queue see batches in the same order.
    admission: tokio::sync::Mutex<()>,
    /// Permits for CPU work of requests (search, analyze): bounded, shed with `429`.
    inflight: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// The state of a server over `index` and `pipeline`, and the receiving end of its job
    /// queue (for the one ingestion worker).
    fn new(
        index: QuarryIndex,
        pipeline: Pipeline,
        default_mode: SearchMode,
        wal: Option<crate::wal::Wal>,
        opts: &ServeOptions,
    ) -> (Self, tokio::sync::mpsc::Receiver<u64>) {
        let capacity = opts.queue_capacity.max(1);
        let (queue, jobs) = tokio::sync::mpsc::channel::<u64>(capacity);
        let state = AppState {
            index,
            pipeline,
            metrics: Metrics::new(),
            default_mode,
            key_hashes: opts.key_hashes.clone(),
            limits: Limits {
                max_batch_docs: opts.max_batch_docs.max(1),
                max_json_depth: opts.max_json_depth.max(1),
                queue_capacity: capacity,
            },
            wal,
            writer_memory: opts.writer_memory,
            jobs: std::sync::Mutex::new(JobTable::default()),
            queue: std::sync::Mutex::new(Some(queue)),
            admission: tokio::sync::Mutex::new(()),
            inflight: Arc::new(tokio::sync::Semaphore::new(opts.max_inflight.max(1))),
        };
        (state, jobs)
    }

    /// A permit to run a search or an analysis; `429` with `Retry-After` when
    /// `[serve] max_inflight` requests already hold one.
    fn cpu_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.inflight.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                "too many searches and analyses are running; retry later",
            )
            .retry_after(1)
        })
    }
}

/// A job's state.
#[derive(Clone, Serialize, ToSchema)]
pub struct JobStatus {
    /// Job id (`GET /v1/jobs/{job_id}`).
    job_id: u64,
    /// `upsert` (a batch of documents) or `delete`.
    kind: String,
    /// `queued`, `running`, `committed` or `failed`.
    state: String,
    /// Documents in the batch.
    total: usize,
    /// Documents committed (deleted, for a delete).
    committed: usize,
    /// Whether the batch is in the write-ahead log (survives a crash before its commit).
    durable: bool,
    /// Errors per document (document id, or `*` for the whole batch).
    errors: Vec<DocError>,
}

/// A document that could not be indexed.
#[derive(Clone, Serialize, ToSchema)]
pub struct DocError {
    /// Document id, or `*` when the whole batch failed.
    id: String,
    /// What went wrong.
    message: String,
}

/// What a job does.
enum Op {
    /// Add or replace documents; `wal` is the batch's log file.
    Upsert {
        docs: Vec<Document>,
        wal: Option<std::path::PathBuf>,
    },
    /// Delete one document by id.
    Delete(String),
}

#[derive(Default)]
struct JobTable {
    next: u64,
    status: std::collections::HashMap<u64, JobStatus>,
    /// Job ids in creation order (finished ones are forgotten past [`JOBS_KEPT`]).
    order: std::collections::VecDeque<u64>,
    pending: std::collections::HashMap<u64, Op>,
    done: std::collections::HashMap<u64, tokio::sync::oneshot::Sender<()>>,
}

impl JobTable {
    fn insert(&mut self, status: JobStatus, op: Op) -> tokio::sync::oneshot::Receiver<()> {
        let id = status.job_id;
        self.status.insert(id, status);
        self.order.push_back(id);
        self.pending.insert(id, op);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.done.insert(id, tx);
        while self.order.len() > JOBS_KEPT {
            let finished = self.order.front().is_some_and(|old| {
                self.status
                    .get(old)
                    .is_none_or(|st| st.state == "committed" || st.state == "failed")
            });
            if !finished {
                break;
            }
            if let Some(old) = self.order.pop_front() {
                self.status.remove(&old);
            }
        }
        rx
    }
}

type Shared = Arc<AppState>;

/// An API error: status, machine-readable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
    fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code (`bad_json`, `invalid_query`, `not_found`, ...).
    code: String,
    /// Human-readable explanation.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        resp
    }
}

/// Whether a `Content-Type` is JSON (`application/json`, `application/*+json`).
fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Deepest nesting of objects and arrays in a JSON text (strings skipped; the text need not
/// be valid: the parser judges that afterwards).
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A JSON body extractor whose rejections are [`ApiError`]s (JSON error bodies): `415`
/// without a JSON content type, `413` over the body limit, `400` for malformed JSON, invalid
/// UTF-8 or nesting deeper than the limit, `422` for a well-formed body of the wrong shape
/// (wrong types, unknown fields, missing fields).
struct ApiJson<T>(T);

impl<T> axum::extract::FromRequest<Shared> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &Shared) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                let status = r.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "body_too_large"
                } else {
                    "bad_body"
                };
                ApiError::new(status, code, r.body_text())
            })?;
        let max = state.limits.max_json_depth;
        let depth = json_depth(&bytes);
        if depth > max {
            return Err(ApiError::bad(
                "too_deep",
                format!("the body nests {depth} levels deep; at most {max}"),
            ));
        }
        serde_json::from_slice::<T>(&bytes)
            .map(ApiJson)
            .map_err(|e| {
                use serde_json::error::Category;
                match e.classify() {
                    Category::Data => ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_body",
                        format!("the body does not match the request schema: {e}"),
                    ),
                    _ => ApiError::bad("bad_json", format!("malformed JSON: {e}")),
                }
            })
    }
}

/// A count (`k`, a depth): a whole number, also when sent as `10.0` (JSON Schema counts
/// that as an integer too).
fn de_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(u) = n.as_u64() {
        return Ok(Some(usize::try_from(u).unwrap_or(usize::MAX)));
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1e15 => Ok(Some(f as usize)),
        _ => Err(D::Error::custom(format!(
            "expected a non-negative whole number, got {n}"
        ))),
    }
}

/// `POST /v1/search` request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The query text (1..=1000 characters).
    #[schema(min_length = 1, max_length = 1000)]
    query: String,
    /// bm25, sparse or hybrid (default: the configured mode).
    #[serde(default)]
    #[schema(pattern = "^(bm25|sparse|hybrid)$")]
    mode: Option<String>,
    /// Results wanted (1..=1000, default 10).
    #[serde(default, deserialize_with = "de_count")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    k: Option<usize>,
    /// Re-rank the first stage's top `rerank` results with the cross-encoder (0: off;
    /// absent: the server's setting). Needs a server started with `--rerank`.
    #[serde(default, deserialize_with = "de_count")]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 1000)]
    rerank: Option<usize>,
    /// Only documents of this language.
    #[serde(default)]
    #[schema(pattern = "^(en|zh)$")]
    lang: Option<String>,
    /// Only documents whose field equals the value exactly (trimmed), for every entry
    /// (`{"section": "sports"}`; only values of at most 256 bytes are indexed for this, so
    /// a longer value matches nothing).
    #[serde(default)]
    fields: std::collections::BTreeMap<String, String>,
    /// Only documents linked to every one of these concepts (`<terminology>:<id>`).
    #[serde(default)]
    #[schema(max_items = 16)]
    concepts: Vec<String>,
    /// Only documents having every one of these key phrases.
    #[serde(default)]
    #[schema(max_items = 16)]
    keyphrases: Vec<String>,
}

/// One result.
#[derive(Serialize, ToSchema)]
pub struct SearchHit {
    /// 1-based rank.
    rank: usize,
    /// Document id.
    id: String,
    /// Score of the mode.
    score: f32,
    /// Document language.
    lang: String,
    /// Title, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    /// Text around the matched terms, matches in `[` `]`.
    snippet: String,
    /// The matched words, with character offsets into the snippet without its brackets.
    highlights: Vec<HighlightOut>,
}

/// A highlighted word of a snippet.
#[derive(Serialize, ToSchema)]
pub struct HighlightOut {
    /// The word.
    text: String,
    /// First character (in the snippet without brackets).
    start: usize,
    /// One past the last character.
    end: usize,
}

/// `POST /v1/search` response.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    /// The mode used.
    mode: String,
    /// k.
    k: usize,
    /// Re-ranking depth used: the first stage's top results re-scored by the
    /// cross-encoder (0: none).
    rerank: usize,
    /// Milliseconds spent searching.
    took_ms: f64,
    /// Results, best first.
    hits: Vec<SearchHit>,
}

/// `POST /v1/analyze` request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    /// The text (at most 100,000 characters).
    #[schema(max_length = 100000)]
    text: String,
    /// Language code (`en`, `zh`); detected when absent.
    #[serde(default)]
    #[schema(pattern = "^(en|zh)$")]
    lang: Option<String>,
}

/// `GET /healthz`, `GET /readyz` response.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    status: String,
    /// Live documents (readyz only).
    #[serde(skip_serializing_if = "Option::is_none")]
    documents: Option<u64>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Quarry",
        description = "Quarry's query API: search, analyze, stored documents."
    ),
    paths(
        healthz,
        readyz,
        search,
        analyze,
        get_document,
        post_documents,
        get_job,
        delete_document
    ),
    components(schemas(
        SearchRequest,
        SearchResponse,
        SearchHit,
        HighlightOut,
        AnalyzeRequest,
        Health,
        ErrorBody,
        ErrorDetail,
        IngestRequest,
        IngestDocument,
        JobStatus,
        DocError
    ))
)]
struct ApiDoc;

/// The OpenAPI description as JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        documents: None,
    })
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(State(s): State<Shared>) -> Result<Json<Health>, ApiError> {
    let n = s.index.num_docs();
    Ok(Json(Health {
        status: "ready".into(),
        documents: Some(n),
    }))
}

/// Bytes of the files under `dir` (recursively; unreadable entries count 0).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

async fn metrics(State(s): State<Shared>) -> Response {
    s.metrics.docs.set(s.index.num_docs() as i64);
    if let Some(p) = s.index.path() {
        let p = p.to_path_buf();
        let bytes = tokio::task::spawn_blocking(move || dir_bytes(&p))
            .await
            .unwrap_or(0);
        s.metrics
            .index_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
    if let Ok(q) = s.queue.lock() {
        if let Some(tx) = q.as_ref() {
            s.metrics
                .queued
                .set((s.limits.queue_capacity - tx.capacity()) as i64);
        }
    }
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &s.metrics.registry) {
        return ApiError::internal(e).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

#[utoipa::path(post, path = "/v1/search", request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 409, description = "the index cannot serve this mode (no sparse expansion) or no cross-encoder is loaded", body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn search(
    State(s): State<Shared>,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    let n = req.query.chars().count();
    if n == 0 || n > MAX_QUERY_CHARS {
        return Err(ApiError::bad(
            "invalid_query",
            format!("query must have 1..={MAX_QUERY_CHARS} characters (got {n})"),
        ));
    }
    let k = req.k.unwrap_or(10);
    if k == 0 || k > MAX_K {
        return Err(ApiError::bad(
            "invalid_k",
            format!("k must be in 1..={MAX_K} (got {k})"),
        ));
    }
    if req.concepts.len() > 16 || req.keyphrases.len() > 16 {
        return Err(ApiError::bad(
            "too_many_filters",
            "at most 16 concepts and 16 key phrases",
        ));
    }
    let mode: SearchMode = match &req.mode {
        Some(m) => m
            .parse()
            .map_err(|e: String| ApiError::bad("invalid_mode", e))?,
        None => s.default_mode,
    };
    if mode != SearchMode::Bm25 && s.index.sparse_state().is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "mode_unavailable",
            "this index has no learned sparse expansion (ingest with --sparse): use mode bm25",
        ));
    }
    if let Some(l) = req.lang.as_deref().filter(|l| api_lang(l).is_none()) {
        return Err(invalid_lang(l));
    }
    if let Some(n) = req.rerank.filter(|&n| n > MAX_K) {
        return Err(ApiError::bad(
            "invalid_rerank",
            format!("rerank must be in 0..={MAX_K} (got {n})"),
        ));
    }
    // the depth the index applies: the request's, else the loaded cross-encoder's own
    let reranked = req
        .rerank
        .unwrap_or_else(|| s.index.reranker().map_or(0, |r| r.params.candidates));
    let permit = s.cpu_permit()?;
    let started = Instant::now();
    let state = s.clone();
    let hits = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let fields: Vec<(String, String)> = req.fields.into_iter().collect();
        state.index.search_with(
            &req.query,
            k,
            &quarry_index::SearchOptions {
                mode,
                snippets: true,
                concepts: &req.concepts,
                keyphrases: &req.keyphrases,
                lang: req.lang.as_deref(),
                fields: &fields,
                rerank: req.rerank,
            },
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        quarry_index::IndexError::NoReranker => ApiError::new(
            StatusCode::CONFLICT,
            "rerank_unavailable",
            "this server has no cross-encoder loaded (start it with --rerank): use rerank 0",
        ),
        e => ApiError::internal(e),
    })?;
    let hits: Vec<SearchHit> = hits
        .into_iter()
        .map(|h| SearchHit {
            rank: h.rank,
            id: h.id,
            score: h.score,
            lang: h.lang,
            title: h.title,
            snippet: h.snippet,
            highlights: h
                .highlights
                .into_iter()
                .map(|x| HighlightOut {
                    text: x.text,
                    start: x.start,
                    end: x.end,
                })
                .collect(),
        })
        .collect();
    let mode_name = serde_json::to_value(mode)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    Ok(Json(SearchResponse {
        mode: mode_name,
        k,
        rerank: reranked,
        took_ms: started.elapsed().as_secs_f64() * 1e3,
        hits,
    }))
}

#[utoipa::path(post, path = "/v1/analyze", request_body = AnalyzeRequest,
    responses((status = 200, description = "the document after every stage: fields, normalized fields, annotations"), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn analyze(
    State(s): State<Shared>,
    ApiJson(req): ApiJson<AnalyzeRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = req.text.chars().count();
    if n > MAX_ANALYZE_CHARS {
        return Err(ApiError::bad(
            "text_too_long",
            format!("text has {n} characters; at most {MAX_ANALYZE_CHARS}"),
        ));
    }
    let mut doc = Document::new("analyze").with_field("text", req.text);
    if let Some(l) = &req.lang {
        doc = doc.with_lang(api_lang(l).ok_or_else(|| invalid_lang(l))?);
    }
    let permit = s.cpu_permit()?;
    let state = s.clone();
    let doc = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut docs = vec![doc];
        state.pipeline.run(&mut docs).map(|_| docs.pop())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError::internal("the pipeline lost the document"))?;
    let stages: Vec<&str> = s.pipeline.stage_names();
    let mut v = serde_json::to_value(&doc).map_err(ApiError::internal)?;
    v["stages"] = serde_json::json!(stages);
    if !doc.normalized.is_empty() {
        v["normalized"] = doc.normalized_texts().into();
    }
    Ok(Json(v))
}

/// A document id: 1..=256 characters of `A-Z a-z 0-9 . _ : -`, not starting with `.` (no
/// `.`/`..` path tricks); [`ID_PATTERN`] says the same for the OpenAPI description.
fn valid_id(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        && !id.starts_with('.')
}

/// [`valid_id`] as a regular expression.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,255}$";

/// What [`valid_id`] asks, for error messages.
const ID_RULE: &str = "ids are 1..=256 characters of A-Z a-z 0-9 . _ : -, not starting with .";

fn invalid_id() -> ApiError {
    ApiError::bad("invalid_id", format!("{ID_RULE} ({ID_PATTERN})"))
}

/// The language of an API language code: the API takes `en` and `zh` only.
fn api_lang(code: &str) -> Option<Lang> {
    match code {
        "en" => Some(Lang::En),
        "zh" => Some(Lang::Zh),
        _ => None,
    }
}

fn invalid_lang(code: &str) -> ApiError {
    ApiError::bad(
        "invalid_lang",
        format!("unknown language {code:?} (en, zh)"),
    )
}

#[utoipa::path(get, path = "/v1/documents/{id}", params(("id" = String, Path, description = "document id", pattern = "^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,255}$")),
    responses((status = 200, description = "the stored document with its annotations"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_document(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !valid_id(&id) {
        return Err(invalid_id());
    }
    let state = s.clone();
    let found = tokio::task::spawn_blocking(move || state.index.get_source(&id).map(|d| (id, d)))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    match found {
        (_, Some(d)) => Ok(Json(d)),
        (id, None) => Err(ApiError::not_found(format!("no document {id:?}"))),
    }
}

fn authorize(s: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    if s.key_hashes.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "writes_disabled",
            "no API key is configured (QUARRY_API_KEYS, --api-key-file or [serve] api_key_hashes): writes are refused",
        ));
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    match key {
        Some(k) if s.key_hashes.contains(&hash_key(k)) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_key",
            "the API key is not valid",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "no_key",
            "write routes need Authorization: Bearer KEY",
        )),
    }
}

/// `POST /v1/documents` request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// The documents (1..=1000; `[serve] max_batch_docs`).
    #[schema(value_type = Vec<IngestDocument>, min_items = 1, max_items = 1000)]
    documents: Vec<Box<serde_json::value::RawValue>>,
}

/// A document to index: `id`, optional `lang`, and text fields by name, in order
/// (`{"id": "d1", "lang": "en", "title": "...", "body": "..."}`). Every other member is a
/// text field and must be a string (at most 64 fields).
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of what post_documents reads member by member
pub struct IngestDocument {
    /// Document id: 1..=256 characters of `A-Z a-z 0-9 . _ : -`.
    #[schema(pattern = "^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,255}$")]
    id: String,
    /// Language (`en`, `zh`); detected from the text when absent.
    #[schema(pattern = "^(en|zh)$")]
    lang: Option<String>,
    /// Text fields by name.
    #[schema(additional_properties)]
    #[serde(flatten)]
    fields: std::collections::BTreeMap<String, String>,
}

/// Reads one document of a batch: the members must be strings (`id`, `lang`, text fields;
/// `lang` may be null); every member but `id` and `lang` is a text field, in the request's
/// order (a name given twice: the later value).
fn read_document(i: usize, raw: &serde_json::value::RawValue) -> Result<Document, ApiError> {
    let bad = |msg: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            format!("document {i}: {msg}"),
        )
    };
    let members: quarry_core::jsonl::OrderedObject =
        serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))?;
    let mut id = None;
    let mut doc = Document::new("");
    for (k, v) in members.0 {
        let serde_json::Value::String(text) = v else {
            match (k.as_str(), v) {
                ("lang", serde_json::Value::Null) => {
                    doc.lang = Lang::Unknown;
                    continue;
                }
                (k, _) => return Err(bad(format!("member {k:?} must be a string"))),
            }
        };
        match k.as_str() {
            "id" => id = Some(text),
            "lang" => {
                doc.lang = api_lang(&text)
                    .ok_or_else(|| bad("'lang' must be \"en\", \"zh\" or null".into()))?
            }
            _ => doc.set_field(k, text),
        }
    }
    match id {
        Some(id) if valid_id(&id) => doc.id = id,
        Some(_) => {
            return Err(ApiError::bad(
                "invalid_id",
                format!("document {i}: {ID_RULE}"),
            ))
        }
        None => return Err(bad("missing 'id'".into())),
    }
    if doc.fields.len() > MAX_FIELDS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_fields",
            format!("document {i}: at most {MAX_FIELDS} fields"),
        ));
    }
    Ok(doc)
}

/// `?wait=true`: answer once the job is committed.
#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default)]
    wait: bool,
}

fn job_not_found(id: u64) -> ApiError {
    ApiError::not_found(format!("no job {id}"))
}

impl AppState {
    /// Puts a job in the queue: `429` (with `Retry-After`) when the queue is full, `503` while
    /// stopping. An upsert batch is first written to the write-ahead log, so that once this
    /// returns it survives a crash. Returns the job's status and a receiver told when it ends.
    async fn enqueue(
        self: &Arc<Self>,
        kind: &str,
        total: usize,
        op: Op,
    ) -> Result<(JobStatus, tokio::sync::oneshot::Receiver<()>), ApiError> {
        let _order = self.admission.lock().await;
        let stopping = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is stopping; send the request again later",
            )
            .retry_after(5)
        };
        let tx = self
            .queue
            .lock()
            .map_err(ApiError::internal)?
            .clone()
            .ok_or_else(stopping)?;
        let permit = match tx.try_reserve() {
            Ok(p) => p,
            Err(tokio::sync::mpsc::error::TrySendError::Full(())) => {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "queue_full",
                    format!(
                        "{} jobs are waiting; retry later",
                        self.limits.queue_capacity
                    ),
                )
                .retry_after(1))
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(())) => return Err(stopping()),
        };
        let id = {
            let mut t = self.jobs.lock().map_err(ApiError::internal)?;
            t.next += 1;
            t.next
        };
        let op = match op {
            Op::Upsert { docs, .. } if self.wal.is_some() => {
                let state = self.clone();
                let (docs, path) = tokio::task::spawn_blocking(move || {
                    let wal = state.wal.as_ref().expect("checked");
                    wal.append(id, &docs).map(|p| (docs, p))
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(|e| {
                    tracing::error!(error = %e, "write-ahead log");
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "wal_unavailable",
                        format!("the batch could not be logged durably: {e}"),
                    )
                    .retry_after(5)
                })?;
                Op::Upsert {
                    docs,
                    wal: Some(path),
                }
            }
            other => other,
        };
        let status = JobStatus {
            job_id: id,
            kind: kind.into(),
            state: "queued".into(),
            total,
            committed: 0,
            durable: matches!(&op, Op::Upsert { wal: Some(_), .. }),
            errors: Vec::new(),
        };
        let done = self
            .jobs
            .lock()
            .map_err(ApiError::internal)?
            .insert(status.clone(), op);
        permit.send(id);
        self.metrics
            .queued
            .set((self.limits.queue_capacity - tx.capacity()) as i64);
        Ok((status, done))
    }

    fn job(&self, id: u64) -> Result<JobStatus, ApiError> {
        self.jobs
            .lock()
            .map_err(ApiError::internal)?
            .status
            .get(&id)
            .cloned()
            .ok_or_else(|| job_not_found(id))
    }
}

#[utoipa::path(post, path = "/v1/documents", request_body = IngestRequest,
    params(("wait" = Option<bool>, Query, description = "answer once committed")),
    responses((status = 202, description = "accepted (written to the write-ahead log when the server keeps one)", body = JobStatus), (status = 200, description = "committed (wait=true)", body = JobStatus), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn post_documents(
    State(s): State<Shared>,
    headers: axum::http::HeaderMap,
    q: Result<axum::extract::Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
    ApiJson(req): ApiJson<IngestRequest>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers)?;
    let wait = q
        .map_err(|e| ApiError::bad("bad_query", e.body_text()))?
        .0
        .wait;
    let max = s.limits.max_batch_docs;
    if req.documents.is_empty() || req.documents.len() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch",
            format!(
                "a batch has 1..={max} documents (got {})",
                req.documents.len()
            ),
        ));
    }
    let mut docs = Vec::with_capacity(req.documents.len());
    for (i, raw) in req.documents.iter().enumerate() {
        docs.push(read_document(i, raw)?);
    }
    // an id sent twice in one batch: the later one wins, as if sent in two batches
    let mut last = std::collections::HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        last.insert(d.id.clone(), i);
    }
    let mut i = 0;
    docs.retain(|d| {
        i += 1;
        last[&d.id] == i - 1
    });
    let total = docs.len();
    let (status, done) = s
        .enqueue("upsert", total, Op::Upsert { docs, wal: None })
        .await?;
    let location = format!("/v1/jobs/{}", status.job_id);
    let status = if wait {
        let _ = done.await;
        s.job(status.job_id)?
    } else {
        status
    };
    let code = if wait {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, [(header::LOCATION, location)], Json(status)).into_response())
}

#[utoipa::path(get, path = "/v1/jobs/{job_id}", params(("job_id" = u64, Path, description = "job id")),
    responses((status = 200, body = JobStatus), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_job(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad("invalid_id", "job ids are integers"))?;
    s.job(id).map(Json)
}

#[utoipa::path(delete, path = "/v1/documents/{id}", params(("id" = String, Path, description = "document id", pattern = "^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,255}$")),
    responses((status = 200, description = "deleted and committed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn delete_document(
    State(s): State<Shared>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    if !valid_id(&id) {
        return Err(invalid_id());
    }
    let (status, done) = s.enqueue("delete", 1, Op::Delete(id.clone())).await?;
    let _ = done.await;
    let st = s.job(status.job_id)?;
    if st.state == "failed" {
        let msg = st
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        return Err(ApiError::internal(msg));
    }
    if st.committed == 0 {
        return Err(ApiError::not_found(format!("no document {id:?}")));
    }
    Ok(Json(
        serde_json::json!({"deleted": id, "job_id": st.job_id}),
    ))
}

/// What a job did.
struct Outcome {
    committed: usize,
    errors: Vec<DocError>,
    /// The commit failed: nothing of the job is in the index.
    failed: Option<String>,
}

impl AppState {
    /// Runs one job (the only writer: jobs run one at a time, in order); records the outcome
    /// and wakes a waiter.
    fn run_job(&self, id: u64) {
        let op = {
            let mut t = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(st) = t.status.get_mut(&id) {
                st.state = "running".into();
            }
            t.pending.remove(&id)
        };
        let outcome = match op {
            Some(Op::Upsert { docs, wal }) => self.ingest(docs, wal.as_deref()),
            Some(Op::Delete(doc)) => match self
                .index
                .delete_documents(&[doc.as_str()], self.writer_memory)
            {
                Ok(n) => Outcome {
                    committed: n as usize,
                    errors: Vec::new(),
                    failed: None,
                },
                Err(e) => Outcome {
                    committed: 0,
                    errors: Vec::new(),
                    failed: Some(e.to_string()),
                },
            },
            None => Outcome {
                committed: 0,
                errors: Vec::new(),
                failed: Some("the job's documents were lost".into()),
            },
        };
        let mut t = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(st) = t.status.get_mut(&id) {
            st.committed = outcome.committed;
            st.errors = outcome.errors;
            match outcome.failed {
                None => st.state = "committed".into(),
                Some(message) => {
                    st.state = "failed".into();
                    st.errors.push(DocError {
                        id: "*".into(),
                        message,
                    });
                }
            }
        }
        if let Some(tx) = t.done.remove(&id) {
            let _ = tx.send(());
        }
    }

    /// The pipeline over a batch, then add + commit; a document the pipeline fails on is
    /// reported and left out, the rest is committed. The batch's log file is removed once
    /// committed (kept when the commit fails, so a restart tries again).
    fn ingest(&self, docs: Vec<Document>, wal: Option<&std::path::Path>) -> Outcome {
        let mut errors = Vec::new();
        let mut good = docs.clone();
        if let Err(e) = self
            .pipeline
            .run_timed(&mut good, self.metrics.stage_timer())
        {
            // find the documents that fail, one at a time, from the unprocessed originals
            tracing::warn!(error = %e, "a batch failed in the pipeline; isolating documents");
            good.clear();
            for d in docs {
                let mut one = vec![d];
                match self
                    .pipeline
                    .run_timed(&mut one, self.metrics.stage_timer())
                {
                    Ok(()) => good.extend(one),
                    Err(e) => errors.push(DocError {
                        id: one[0].id.clone(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        self.metrics.failed_docs.inc_by(errors.len() as u64);
        let started = Instant::now();
        let written = if good.is_empty() {
            Ok(())
        } else {
            self.index.add_documents(&good, self.writer_memory)
        };
        self.metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match written {
            Ok(()) => {
                self.metrics.ingested.inc_by(good.len() as u64);
                if let (Some(log), Some(path)) = (&self.wal, wal) {
                    if let Err(e) = log.remove(path) {
                        tracing::warn!(error = %e, "removing a committed batch from the log");
                    }
                }
                Outcome {
                    committed: good.len(),
                    errors,
                    failed: None,
                }
            }
            Err(e) => Outcome {
                committed: 0,
                errors,
                failed: Some(e.to_string()),
            },
        }
    }

    /// Replays the write-ahead log (batches accepted but not committed before a stop or a
    /// crash), oldest first; returns the documents committed. Job ids continue after the
    /// log's sequence numbers.
    fn replay(&self) -> Result<usize> {
        let Some(log) = &self.wal else {
            return Ok(0);
        };
        let pending = log.pending()?;
        let mut n = 0;
        let mut last = 0;
        for b in pending {
            last = last.max(b.seq);
            let out = self.ingest(b.docs, Some(&b.path));
            if let Some(e) = out.failed {
                anyhow::bail!(
                    "replaying {} from the write-ahead log: {e} (the file stays; fix the cause and restart)",
                    b.path.display()
                );
            }
            for e in &out.errors {
                tracing::warn!(id = %e.id, error = %e.message, "a logged document failed in the pipeline");
            }
            n += out.committed;
        }
        let mut t = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        t.next = t.next.max(last);
        Ok(n)
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn record(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let labels = RouteLabels {
        route,
        method,
        status: resp.status().as_u16(),
    };
    s.metrics.requests.get_or_create(&labels).inc();
    s.metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// A `405` with a JSON body (axum's own has none).
async fn json_405(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && resp.headers().get(header::CONTENT_TYPE).is_none()
    {
        let allow = resp.headers().get(header::ALLOW).cloned();
        let mut out = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
        .into_response();
        if let Some(a) = allow {
            out.headers_mut().insert(header::ALLOW, a);
        }
        return out;
    }
    resp
}

/// The router over an open index and pipeline.
fn router(state: Shared, opts: &ServeOptions) -> Result<Router> {
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/search", post(search))
        .route("/v1/analyze", post(analyze))
        .route("/v1/documents", post(post_documents))
        .route(
            "/v1/documents/{id}",
            get(get_document).delete(delete_document),
        )
        .route("/v1/jobs/{job_id}", get(get_job))
        .fallback(not_found)
        .layer(middleware::from_fn(json_405))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .layer(DefaultBodyLimit::max(opts.max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            opts.timeout,
        ));
    if !opts.cors_origins.is_empty() {
        let origins = opts
            .cors_origins
            .iter()
            .map(|o| {
                o.parse::<axum::http::HeaderValue>()
                    .with_context(|| format!("CORS origin {o:?}"))
            })
            .collect::<Result<Vec<_>>>()?;
        app = app.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([
                    axum::http::Method::GET,
                    axum::http::Method::POST,
                    axum::http::Method::DELETE,
                ])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    header::HeaderName::from_static("x-api-key"),
                ]),
        );
    }
    Ok(app.with_state(state))
}

/// Serves until SIGINT/SIGTERM; replays the write-ahead log first, then prints
/// `listening on http://ADDR` once bound.
pub fn serve(ctx: &Ctx, index: QuarryIndex, opts: ServeOptions) -> Result<()> {
    let pipeline = crate::cli::open_pipeline(ctx)?;
    let default_mode: SearchMode = ctx.cfg.search.mode.parse().map_err(anyhow::Error::msg)?;
    if !opts.addr.ip().is_loopback() {
        tracing::warn!(addr = %opts.addr, "listening beyond loopback, as configured");
    }
    let wal = match &opts.wal_dir {
        Some(d) => {
            let w = crate::wal::Wal::open(d)?;
            tracing::info!(dir = %w.dir().display(), "write-ahead log");
            Some(w)
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (state, mut jobs_rx) = AppState::new(index, pipeline, default_mode, wal, &opts);
    let state = Arc::new(state);
    let replayed = state.replay()?;
    if replayed > 0 {
        tracing::info!(
            documents = replayed,
            "replayed the write-ahead log (accepted before a stop, not yet committed)"
        );
    }
    let at_shutdown = state.clone();
    // the one ingestion worker: jobs run in order, each committed before the next
    let worker_state = state.clone();
    let worker = rt.spawn(async move {
        while let Some(id) = jobs_rx.recv().await {
            let st = worker_state.clone();
            let _ = tokio::task::spawn_blocking(move || st.run_job(id)).await;
        }
    });
    let app = router(state, &opts)?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .with_context(|| format!("binding {}", opts.addr))?;
        let local = listener.local_addr()?;
        if opts.print_examples {
            for (what, cmd) in example_requests(&local.to_string()) {
                println!("  # {what}\n  {cmd}");
            }
        }
        println!("listening on http://{local}");
        tracing::info!(%local, "quarry serve");
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .context("serving")?;
        Ok::<(), anyhow::Error>(())
    });
    // requests are drained: close the queue, let the jobs already in it commit
    if let Ok(mut q) = at_shutdown.queue.lock() {
        q.take();
    }
    rt.block_on(async move {
        let _ = tokio::time::timeout(Duration::from_secs(60), worker).await;
    });
    served
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_validated() {
        assert!(valid_id("doc-1") && valid_id("a:b.c_d"));
        for bad in [
            "",
            "..",
            ".",
            ".x",
            "a/b",
            "../etc",
            "a b",
            "é",
            &"x".repeat(257),
        ] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        for good in ["doc-1", "a:b.c_d", "_x", "1", "a..b"] {
            assert!(valid_id(good), "{good:?}");
        }
        // the OpenAPI description states the same pattern everywhere an id goes
        let v: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        let p = &v["paths"]["/v1/documents/{id}"];
        for method in ["get", "delete"] {
            assert_eq!(p[method]["parameters"][0]["schema"]["pattern"], ID_PATTERN);
        }
        assert_eq!(
            v["components"]["schemas"]["IngestDocument"]["properties"]["id"]["pattern"],
            ID_PATTERN
        );
    }

    /// Nesting depth of a parsed JSON value (a scalar is 0).
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            // strings full of the characters the scanner must skip
            "[\\[\\]{}\"\\\\a-z,: ]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z{}\\[\\]\"]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The byte scanner that enforces the depth limit agrees with the parsed value's depth
        /// on every valid JSON text, strings with brackets and escapes included.
        #[test]
        fn json_depth_is_the_parsed_depth(v in json_value()) {
            let text = serde_json::to_string(&v).unwrap();
            proptest::prop_assert_eq!(json_depth(text.as_bytes()), depth(&v));
        }

        /// Any bytes: the scanner never panics and never reports more depth than brackets.
        #[test]
        fn json_depth_takes_any_bytes(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let opens = b.iter().filter(|&&c| c == b'{' || c == b'[').count();
            proptest::prop_assert!(json_depth(&b) <= opens);
        }

        /// A batch document is accepted exactly when it is an object of strings with a
        /// valid id and an allowed language; nothing panics.
        #[test]
        fn batch_documents_are_checked_member_by_member(
            members in proptest::collection::vec((prop_oneof![
                "[a-z_]{1,6}",
                Just("_id".to_string()),
                Just("fields".to_string()),
                Just("annotations".to_string()),
                Just("language".to_string()),
                Just("lang".to_string()),
            ], proptest::prop_oneof![
                "[ -~]{0,8}".prop_map(serde_json::Value::from),
                proptest::prelude::any::<i32>().prop_map(serde_json::Value::from),
                proptest::prelude::Just(serde_json::Value::Null),
            ]), 0..6),
            id in proptest::option::of("[ -~]{0,6}"),
        ) {
            let mut obj = serde_json::Map::new();
            for (k, v) in members {
                obj.insert(k, v);
            }
            if let Some(id) = &id {
                obj.insert("id".into(), id.clone().into());
            }
            let text = serde_json::Value::Object(obj.clone()).to_string();
            let raw = serde_json::value::RawValue::from_string(text).unwrap();
            let ok = obj.iter().all(|(k, v)| match (k.as_str(), v) {
                ("id", serde_json::Value::String(s)) => valid_id(s),
                ("lang", serde_json::Value::String(l)) => l == "en" || l == "zh",
                ("lang", serde_json::Value::Null) => true,
                (_, v) => v.is_string(),
            }) && obj.contains_key("id");
            let got = read_document(0, &raw);
            prop_assert_eq!(got.is_ok(), ok, "{:?}", got.err());
            if let Ok(d) = got {
                prop_assert_eq!(Some(d.id), id);
                // every other string member is a text field, the rest are id and lang
                let texts = obj.iter().filter(|(k, _)| *k != "id" && *k != "lang").count();
                prop_assert_eq!(d.fields.len(), texts);
            }
        }
    }

    fn options() -> ServeOptions {
        let cfg = quarry_core::config::QuarryConfig::default();
        ServeOptions::from_config(&cfg, None).unwrap()
    }

    #[test]
    fn cpu_work_beyond_the_limit_is_shed_with_429() {
        let index = QuarryIndex::in_memory(&Default::default()).unwrap();
        let mut opts = options();
        opts.max_inflight = 2;
        let (s, _jobs) = AppState::new(index, Pipeline::default(), SearchMode::Bm25, None, &opts);
        let a = s.cpu_permit().unwrap();
        let _b = s.cpu_permit().unwrap();
        let e = s.cpu_permit().unwrap_err();
        assert_eq!(
            (e.status, e.code, e.retry_after),
            (StatusCode::TOO_MANY_REQUESTS, "busy", Some(1))
        );
        let resp = e.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        drop(a);
        assert!(
            s.cpu_permit().is_ok(),
            "a finished request frees its permit"
        );
    }

    /// A stage that marks documents and fails a batch holding a document whose body says
    /// "poison".
    struct Poison;
    impl quarry_core::stage::Stage for Poison {
        fn name(&self) -> &str {
            "poison"
        }
        fn process(&self, docs: &mut [Document]) -> Result<(), quarry_core::stage::StageError> {
            for d in docs.iter_mut() {
                if d.field("body") == Some("poison") {
                    return Err(quarry_core::stage::StageError::Document {
                        stage: "poison".into(),
                        doc: d.id.clone(),
                        message: "poisoned".into(),
                    });
                }
                d.meta
                    .insert("seen".into(), serde_json::json!(d.meta.len() + 1));
            }
            Ok(())
        }
    }

    #[test]
    fn a_document_the_pipeline_fails_on_is_reported_and_the_rest_committed() {
        let index = QuarryIndex::in_memory(&Default::default()).unwrap();
        let pipeline = Pipeline::new(vec![Box::new(Poison)]);
        let (s, _jobs) = AppState::new(index, pipeline, SearchMode::Bm25, None, &options());
        let docs: Vec<Document> = ["fine", "poison", "also fine"]
            .iter()
            .enumerate()
            .map(|(i, b)| Document::new(format!("d{i}")).with_field("body", *b))
            .collect();
        let out = s.ingest(docs, None);
        assert_eq!(out.failed, None);
        assert_eq!(out.committed, 2);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].id, "d1");
        assert!(out.errors[0].message.contains("poisoned"));
        assert_eq!(s.index.num_docs(), 2);
        // the survivors were processed once, from their originals (not twice)
        let d0 = s.index.get_source("d0").unwrap().unwrap();
        assert_eq!(d0["seen"], 1, "{d0}");
    }

    #[test]
    fn the_defaults_listen_on_loopback_with_a_log() {
        let o = options();
        assert!(o.addr.ip().is_loopback());
        assert!(o.cors_origins.is_empty());
        assert_eq!(o.wal_dir, None, "no index, no log");
        let cfg = quarry_core::config::QuarryConfig::default();
        let with_index =
            ServeOptions::from_config(&cfg, Some(std::path::Path::new("/x/idx"))).unwrap();
        assert_eq!(
            with_index.wal_dir.as_deref(),
            Some(std::path::Path::new("/x/idx/wal"))
        );
    }

    #[test]
    fn counts_accept_whole_numbers_only() {
        #[derive(Deserialize)]
        struct K {
            #[serde(default, deserialize_with = "de_count")]
            k: Option<usize>,
        }
        let k = |t: &str| serde_json::from_str::<K>(t).map(|v| v.k);
        assert_eq!(k(r#"{"k": 10}"#).unwrap(), Some(10));
        assert_eq!(k(r#"{"k": 10.0}"#).unwrap(), Some(10));
        assert_eq!(k(r#"{}"#).unwrap(), None);
        assert_eq!(k(r#"{"k": null}"#).unwrap(), None);
        for bad in [
            r#"{"k": 2.5}"#,
            r#"{"k": -1}"#,
            r#"{"k": "3"}"#,
            r#"{"k": 1e300}"#,
        ] {
            assert!(k(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn openapi_lists_the_routes() {
        let v: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        for p in [
            "/healthz",
            "/readyz",
            "/v1/search",
            "/v1/analyze",
            "/v1/documents/{id}",
        ] {
            assert!(v["paths"].get(p).is_some(), "{p} missing");
        }
        assert!(v["components"]["schemas"].get("SearchRequest").is_some());
        // a batch document: an id is required, every other member is a text field
        let d = &v["components"]["schemas"]["IngestDocument"];
        assert_eq!(d["required"], serde_json::json!(["id"]), "{d}");
        assert_eq!(d["additionalProperties"]["type"], "string", "{d}");
        // k is an integer for clients (a whole 10.0 is accepted too, as JSON Schema allows)
        let k = &v["components"]["schemas"]["SearchRequest"]["properties"]["k"];
        assert!(k["type"].to_string().contains("integer"), "{k}");
    }
}
