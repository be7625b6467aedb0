//! `quarry serve`: the HTTP query API (tokio + axum), first part of issue 10.
//!
//! Routes (JSON; errors are `{"error": {"code", "message"}}` with a 4xx/5xx status):
//! * `GET /healthz`: the process answers.
//! * `GET /readyz`: the index is open and readable (document count).
//! * `GET /metrics`: Prometheus text: requests and latency per route and status, search
//!   hits, index size.
//! * `GET /openapi.json`: the OpenAPI 3.1 description, generated from the handlers (utoipa).
//! * `POST /v1/search`: query, mode (bm25 | sparse | hybrid), k, filters by linked concept
//!   and key phrase; results with scores and snippets.
//! * `POST /v1/analyze`: runs the configured pipeline on a text without indexing it and
//!   returns every annotation and normalized field.
//! * `GET /v1/documents/{id}`: the stored document with its annotations.
//! * `POST /v1/documents` (API key): a batch of documents goes through the pipeline into the
//!   index as an asynchronous job (`202` + job id; `?wait=true` answers once committed);
//!   idempotent by id (re-sending replaces). A full job queue answers `429` with
//!   `Retry-After`.
//! * `GET /v1/jobs/{id}`: a job's state (`queued`, `running`, `committed`, `failed`),
//!   progress and per-document errors.
//! * `DELETE /v1/documents/{id}` (API key): removes a document (committed before the answer).
//!
//! Write routes need `Authorization: Bearer KEY` (or `X-API-Key: KEY`); keys come from
//! `QUARRY_API_KEYS` (comma-separated) or `--api-key-file`, and only their SHA-256 is kept.
//! With no key configured, writes are refused (`403`). A document counts as acknowledged
//! only when its job is `committed` (tantivy's commit is atomic), so a crash loses no
//! acknowledged document; jobs not yet committed are lost with the process and must be
//! re-sent (ids make that safe).
//!
//! Limits: request bodies (`--max-body`, default 1 MiB), query length (1,000 characters),
//! `k` (1..=1,000), analyze text (100,000 characters), ids (1..=256 characters of
//! `[A-Za-z0-9._:-]`); unknown JSON fields are refused; every request has a timeout. CPU work
//! (search, the pipeline) runs on tokio's blocking pool. Nothing listens beyond 127.0.0.1
//! unless `--addr` says so.

use crate::cli::Ctx;
use anyhow::{Context, Result};
use axum::extract::rejection::JsonRejection;
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
/// Largest `k`.
pub const MAX_K: usize = 1_000;
/// Longest text `/v1/analyze` takes, in characters.
pub const MAX_ANALYZE_CHARS: usize = 100_000;
/// Most documents in one `POST /v1/documents` batch.
pub const MAX_BATCH_DOCS: usize = 1_000;
/// Most fields of one document.
pub const MAX_FIELDS: usize = 64;
/// Jobs waiting for the writer before `429`.
pub const QUEUE_CAPACITY: usize = 32;

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

struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    docs: Gauge,
    ingested: Counter,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("quarry");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let docs = Gauge::default();
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
        let ingested = Counter::default();
        registry.register(
            "ingested_documents",
            "Documents committed by ingestion jobs",
            ingested.clone(),
        );
        Metrics {
            ingested,
            registry,
            requests,
            latency,
            docs,
        }
    }
}

struct AppState {
    index: QuarryIndex,
    pipeline: Pipeline,
    metrics: Metrics,
    default_mode: SearchMode,
    key_hashes: Vec<String>,
    jobs: std::sync::Mutex<JobTable>,
    /// The job queue's sender; taken (closing the queue) at shutdown.
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::Sender<u64>>>,
}

/// A job's state.
#[derive(Clone, Serialize, ToSchema)]
pub struct JobStatus {
    /// Job id.
    id: u64,
    /// `queued`, `running`, `committed` or `failed`.
    state: String,
    /// Documents in the batch.
    total: usize,
    /// Documents committed.
    committed: usize,
    /// Errors (document id or `*` for the whole batch, message).
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

#[derive(Default)]
struct JobTable {
    next: u64,
    status: std::collections::HashMap<u64, JobStatus>,
    pending: std::collections::HashMap<u64, Vec<Document>>,
    done: std::collections::HashMap<u64, tokio::sync::oneshot::Sender<()>>,
}

type Shared = Arc<AppState>;

/// An API error: status, machine-readable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: e.to_string(),
        }
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
        (self.status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_json"
        };
        ApiError {
            status,
            code,
            message: r.body_text(),
        }
    }
}

/// A JSON body extractor whose rejections are [`ApiError`]s (JSON error bodies).
struct ApiJson<T>(T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(v) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
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
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    k: Option<usize>,
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
}

/// `POST /v1/search` response.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    /// The mode used.
    mode: String,
    /// k.
    k: usize,
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
        AnalyzeRequest,
        Health,
        ErrorBody,
        ErrorDetail,
        IngestRequest,
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

async fn metrics(State(s): State<Shared>) -> Response {
    s.metrics.docs.set(s.index.num_docs() as i64);
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
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 409, description = "the index cannot serve this mode (no sparse expansion)", body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "mode_unavailable",
            message:
                "this index has no learned sparse expansion (ingest with --sparse): use mode bm25"
                    .into(),
        });
    }
    let started = Instant::now();
    let state = s.clone();
    let hits = tokio::task::spawn_blocking(move || {
        state
            .index
            .search_faceted(&req.query, k, mode, true, &req.concepts, &req.keyphrases)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let hits = hits
        .into_iter()
        .map(|h| SearchHit {
            rank: h.rank,
            id: h.id,
            score: h.score,
            lang: h.lang,
            title: h.title,
            snippet: h.snippet,
        })
        .collect();
    let mode_name = serde_json::to_value(mode)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    Ok(Json(SearchResponse {
        mode: mode_name,
        k,
        took_ms: started.elapsed().as_secs_f64() * 1e3,
        hits,
    }))
}

#[utoipa::path(post, path = "/v1/analyze", request_body = AnalyzeRequest,
    responses((status = 200, description = "the document after every stage: fields, normalized fields, annotations"), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
        let lang = match l.as_str() {
            "en" => Lang::En,
            "zh" => Lang::Zh,
            other => {
                return Err(ApiError::bad(
                    "invalid_lang",
                    format!("unknown language {other:?} (en, zh)"),
                ))
            }
        };
        doc = doc.with_lang(lang);
    }
    let state = s.clone();
    let doc = tokio::task::spawn_blocking(move || {
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
    Ok(Json(v))
}

fn valid_id(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        && id != "."
        && id != ".."
}

#[utoipa::path(get, path = "/v1/documents/{id}", params(("id" = String, Path, description = "document id", pattern = "^[A-Za-z0-9._:-]{1,256}$")),
    responses((status = 200, description = "the stored document with its annotations"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_document(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad(
            "invalid_id",
            "ids are 1..=256 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
    let state = s.clone();
    let found = tokio::task::spawn_blocking(move || state.index.get_source(&id).map(|d| (id, d)))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    match found {
        (_, Some(d)) => Ok(Json(d)),
        (id, None) => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("no document {id:?}"),
        }),
    }
}

fn authorize(s: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    if s.key_hashes.is_empty() {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "writes_disabled",
            message:
                "no API key is configured (QUARRY_API_KEYS or --api-key-file): writes are refused"
                    .into(),
        });
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    match key {
        Some(k) if s.key_hashes.contains(&hash_key(k)) => Ok(()),
        Some(_) => Err(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "bad_key",
            message: "the API key is not valid".into(),
        }),
        None => Err(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "no_key",
            message: "write routes need Authorization: Bearer KEY".into(),
        }),
    }
}

/// `POST /v1/documents` request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// Documents as in JSONL ingestion: `id`, optional `lang`, and text fields
    /// (`{"id": "d1", "lang": "en", "title": "...", "body": "..."}`).
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 1000)]
    documents: Vec<serde_json::Value>,
}

/// `?wait=true`: answer once the job is committed.
#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default)]
    wait: bool,
}

fn job_not_found(id: u64) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: format!("no job {id}"),
    }
}

#[utoipa::path(post, path = "/v1/documents", request_body = IngestRequest,
    params(("wait" = Option<bool>, Query, description = "answer once committed")),
    responses((status = 202, body = JobStatus), (status = 200, body = JobStatus), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
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
    if req.documents.is_empty() || req.documents.len() > MAX_BATCH_DOCS {
        return Err(ApiError::bad(
            "invalid_batch",
            format!(
                "a batch has 1..={MAX_BATCH_DOCS} documents (got {})",
                req.documents.len()
            ),
        ));
    }
    let mut docs = Vec::with_capacity(req.documents.len());
    let mut seen = std::collections::HashSet::new();
    for (i, v) in req.documents.iter().enumerate() {
        let doc = quarry_core::jsonl::parse_document(&v.to_string())
            .map_err(|e| ApiError::bad("invalid_document", format!("document {i}: {e}")))?;
        if !valid_id(&doc.id) {
            return Err(ApiError::bad(
                "invalid_id",
                format!("document {i}: ids are 1..=256 characters of A-Z a-z 0-9 . _ : -"),
            ));
        }
        if doc.fields.len() > MAX_FIELDS {
            return Err(ApiError::bad(
                "too_many_fields",
                format!("document {i}: at most {MAX_FIELDS} fields"),
            ));
        }
        if !seen.insert(doc.id.clone()) {
            return Err(ApiError::bad(
                "duplicate_id",
                format!("document {i}: id {:?} appears twice in the batch", doc.id),
            ));
        }
        docs.push(doc);
    }
    let total = docs.len();
    let (id, done) = {
        let mut t = s.jobs.lock().map_err(ApiError::internal)?;
        t.next += 1;
        let id = t.next;
        t.status.insert(
            id,
            JobStatus {
                id,
                state: "queued".into(),
                total,
                committed: 0,
                errors: Vec::new(),
            },
        );
        t.pending.insert(id, docs);
        let (tx, rx) = tokio::sync::oneshot::channel();
        t.done.insert(id, tx);
        (id, rx)
    };
    // None: shutting down (the queue is closed)
    let sent = s
        .queue
        .lock()
        .map_err(ApiError::internal)?
        .as_ref()
        .map(|q| q.try_send(id).is_ok());
    if sent != Some(true) {
        let mut t = s.jobs.lock().map_err(ApiError::internal)?;
        t.status.remove(&id);
        t.pending.remove(&id);
        t.done.remove(&id);
        let body = ErrorBody {
            error: ErrorDetail {
                code: "queue_full".into(),
                message: format!("{QUEUE_CAPACITY} jobs are waiting; retry later"),
            },
        };
        if sent.is_none() {
            return Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "shutting_down",
                message: "the server is stopping; send the batch again later".into(),
            });
        }
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(body),
        )
            .into_response());
    }
    if wait {
        let _ = done.await;
    }
    let status = s
        .jobs
        .lock()
        .map_err(ApiError::internal)?
        .status
        .get(&id)
        .cloned()
        .ok_or_else(|| job_not_found(id))?;
    let code = if wait {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(status)).into_response())
}

#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = u64, Path, description = "job id")),
    responses((status = 200, body = JobStatus), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_job(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad("invalid_id", "job ids are integers"))?;
    let t = s.jobs.lock().map_err(ApiError::internal)?;
    t.status
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| job_not_found(id))
}

#[utoipa::path(delete, path = "/v1/documents/{id}", params(("id" = String, Path, description = "document id", pattern = "^[A-Za-z0-9._:-]{1,256}$")),
    responses((status = 200, description = "deleted and committed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_document(
    State(s): State<Shared>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    if !valid_id(&id) {
        return Err(ApiError::bad(
            "invalid_id",
            "ids are 1..=256 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
    let state = s.clone();
    let (n, id) = tokio::task::spawn_blocking(move || {
        // through the writer's lock, so a delete never races an ingestion commit
        let _w = writer_lock();
        state
            .index
            .delete_documents(&[id.as_str()], 64 << 20)
            .map(|n| (n, id))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    if n == 0 {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("no document {id:?}"),
        });
    }
    Ok(Json(serde_json::json!({"deleted": id})))
}

/// One writer at a time (tantivy allows one `IndexWriter`).
fn writer_lock() -> std::sync::MutexGuard<'static, ()> {
    static WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    WRITER.lock().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    /// Runs one job: the pipeline, then add + commit; records the outcome and wakes a waiter.
    fn run_job(&self, id: u64) {
        let mut docs = {
            let mut t = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(st) = t.status.get_mut(&id) {
                st.state = "running".into();
            }
            t.pending.remove(&id).unwrap_or_default()
        };
        let result = self
            .pipeline
            .run(&mut docs)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let _w = writer_lock();
                self.index
                    .add_documents(&docs, 64 << 20)
                    .map_err(|e| e.to_string())
            });
        let mut t = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(st) = t.status.get_mut(&id) {
            match result {
                Ok(()) => {
                    st.state = "committed".into();
                    st.committed = docs.len();
                    self.metrics.ingested.inc_by(docs.len() as u64);
                }
                Err(message) => {
                    st.state = "failed".into();
                    st.errors = vec![DocError {
                        id: "*".into(),
                        message,
                    }];
                }
            }
        }
        if let Some(tx) = t.done.remove(&id) {
            let _ = tx.send(());
        }
    }
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: "no such route".into(),
    }
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

/// The router over an open index and pipeline.
fn router(state: Shared, opts: &ServeOptions) -> Router {
    Router::new()
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
        .route("/v1/jobs/{id}", get(get_job))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .layer(DefaultBodyLimit::max(opts.max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            opts.timeout,
        ))
        .with_state(state)
}

/// Serves until SIGINT/SIGTERM; prints `listening on http://ADDR` once bound.
pub fn serve(ctx: &Ctx, index: QuarryIndex, opts: ServeOptions) -> Result<()> {
    let pipeline = crate::cli::open_pipeline(ctx)?;
    let default_mode: SearchMode = ctx.cfg.search.mode.parse().map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (queue, mut jobs_rx) = tokio::sync::mpsc::channel::<u64>(QUEUE_CAPACITY);
    let state = Arc::new(AppState {
        index,
        pipeline,
        metrics: Metrics::new(),
        default_mode,
        key_hashes: opts.key_hashes.clone(),
        jobs: std::sync::Mutex::new(JobTable::default()),
        queue: std::sync::Mutex::new(Some(queue)),
    });
    let at_shutdown = state.clone();
    // the one ingestion worker: jobs run in order, each committed before the next
    let worker_state = state.clone();
    let worker = rt.spawn(async move {
        while let Some(id) = jobs_rx.recv().await {
            let st = worker_state.clone();
            let _ = tokio::task::spawn_blocking(move || st.run_job(id)).await;
        }
    });
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .with_context(|| format!("binding {}", opts.addr))?;
        let local = listener.local_addr()?;
        println!("listening on http://{local}");
        tracing::info!(%local, "quarry serve");
        let app = router(state, &opts);
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

    #[test]
    fn ids_are_validated() {
        assert!(valid_id("doc-1") && valid_id("a:b.c_d"));
        for bad in ["", "..", ".", "a/b", "../etc", "a b", "é", &"x".repeat(257)] {
            assert!(!valid_id(bad), "{bad:?}");
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
    }
}
