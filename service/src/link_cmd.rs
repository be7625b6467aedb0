//! `quarry link`: candidate concepts for mentions read from stdin, one a line.

use crate::cli::Ctx;
use crate::exit;
use anyhow::{bail, Result};
use clap::Args;
use quarry_link::{Generator, Linker, System, Task, TerminologySource, DEFAULT_NGRAM_WEIGHT};
use quarry_models::EncoderOptions;
use std::io::Write;
use std::path::PathBuf;

/// Adds the dense generator to `linker` when `generator` needs it: the terminology's
/// names embedded by sentence encoder `model` (cached under the model home's
/// `link-cache/`), with a progress bar.
pub fn attach_dense(
    ctx: &Ctx,
    linker: Linker,
    generator: Generator,
    model: &str,
    ngram_weight: f32,
) -> Result<Linker> {
    if !generator.needs_dense() {
        return Ok(linker);
    }
    let opts = EncoderOptions {
        batch_size: 64,
        max_length: 64,
        ..EncoderOptions::from(&ctx.cfg.models)
    };
    let bar = ctx.progress(linker.terminology().name_count() as u64, "embedding names");
    let cache = ctx.home().root().join("link-cache");
    let linker = linker.load_dense(
        &ctx.registry(None)?,
        model,
        &opts,
        &cache,
        ngram_weight,
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    Ok(linker)
}

/// Options of `quarry link`.
#[derive(Args, Debug)]
pub struct LinkCmdArgs {
    /// Terminology: icd10-zh, procedures, esco or onet (all concepts, keyed by id).
    #[arg(long, conflicts_with = "task")]
    pub terminology: Option<String>,
    /// Or a task (chip-cdn, procedures, jobbert, csco): its terminology, answers keyed as
    /// its gold (one answer per preferred name for chip-cdn and procedures).
    #[arg(long)]
    pub task: Option<String>,
    /// The terminology file (directory for onet) instead of its place in the shared data.
    #[arg(long, requires = "terminology")]
    pub path: Option<PathBuf>,
    /// Candidates per mention.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// The generator: `ngram` (character n-gram TF-IDF), `dense` (all-MiniLM-L6-v2
    /// embeddings of every name) or `ensemble` (both fused by concept); `+forest` adds the
    /// task's DAHSF rewrite; `+memory` (with --task) adds the task's labelled training
    /// mentions to the terminology as synonyms of their concepts, `+prior` (with +memory)
    /// favours the concepts they name often.
    #[arg(long, default_value = "ngram")]
    pub system: System,
    /// The n-gram share of the ensemble score.
    #[arg(long, default_value_t = DEFAULT_NGRAM_WEIGHT)]
    pub ngram_weight: f32,
    /// The dense generator's sentence encoder (a manifest model or a trained artifact);
    /// default: the task's (`Task::dense_model`), else all-minilm-l6-v2:fp32.
    #[arg(long)]
    pub dense_model: Option<String>,
    /// Re-rank the candidates with this cross-encoder (an artifact such as
    /// `ce-link-jobbert`, or a directory with model.onnx + tokenizer.json).
    #[arg(long)]
    pub rerank: Option<String>,
    /// Candidates the cross-encoder re-scores (the generator is asked for at least this
    /// many).
    #[arg(long, default_value_t = 64)]
    pub rerank_depth: usize,
    /// Order re-ranked candidates by `logit + W * generator score` (default: the task's
    /// weight, chosen on its dev part; 0 with --terminology).
    #[arg(long)]
    pub rank_generator_weight: Option<f32>,
}

/// Every labelled mention of `task`'s training file, the memory that `+memory` adds to the
/// task's terminology outside evaluation (which holds its evaluated part out, see
/// `quarry eval link`).
pub fn task_memory(task: Task) -> Result<Vec<quarry_link::LabelledMention>> {
    crate::eval_cmd::link_memory(task, &quarry_core::shared_data::dir(), None)
}

/// Runs `quarry link`.
pub fn run(ctx: &Ctx, a: LinkCmdArgs) -> Result<i32> {
    let shared = quarry_core::shared_data::dir();
    let task = a.task.as_deref().map(Task::parse).transpose()?;
    // the dense generator's encoder unless --dense-model: the task's, else the terminology's
    let (linker, default_dense) = match (&a.terminology, task) {
        (Some(t), None) => {
            if a.system.memory {
                bail!("+memory adds a task's training mentions: use it with --task");
            }
            let source = TerminologySource::parse(t)?;
            (
                Linker::open(source, a.path.as_deref(), &shared, false)?,
                source.dense_model(),
            )
        }
        (None, Some(task)) => {
            let memory = if a.system.memory {
                task_memory(task)?
            } else {
                Vec::new()
            };
            let (linker, stats) =
                Linker::for_task_system(task, &shared, &a.system, task.prior_weight(), &memory)?;
            if a.system.memory {
                tracing::info!(mentions = stats.mentions, added = stats.added, created = stats.created, unknown = stats.unknown, "memory: the task's training mentions joined the terminology");
            }
            (linker, task.dense_model())
        }
        _ => bail!("pass --terminology NAME (icd10-zh, procedures, esco, onet, csco) or --task NAME (chip-cdn, procedures, jobbert, csco)"),
    };
    let dense_model = a
        .dense_model
        .clone()
        .unwrap_or_else(|| default_dense.to_string());
    let linker = attach_dense(
        ctx,
        linker,
        a.system.generator,
        &dense_model,
        a.ngram_weight,
    )?;
    let ranker = match &a.rerank {
        Some(m) => {
            let reg = ctx.registry(None)?;
            let w = a
                .rank_generator_weight
                .unwrap_or_else(|| task.map_or(0.0, Task::rank_generator_weight));
            Some(
                quarry_link::Ranker::new(ctx.cross_encoder(&reg, &m.parse()?)?, a.rerank_depth)
                    .with_generator_weight(w),
            )
        }
        None => None,
    };
    // the answer: the task's rule (several concepts for chip-cdn), else the top candidate
    let rule = task.map_or(quarry_link::SetRule::SINGLE, Task::set_rule);
    let depth = if ranker.is_some() {
        a.k.max(a.rerank_depth)
    } else {
        a.k
    };
    tracing::info!(
        terminology = linker.terminology().name(),
        concepts = linker.terminology().len(),
        "terminology loaded"
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let bad_lines = crate::cli::for_each_stdin_line(|mention| {
        let mut cands = linker.candidates_batch(&[mention.as_str()], depth, a.system.generator)?;
        if let Some(r) = &ranker {
            cands = r.rerank(&[mention.as_str()], cands)?;
        }
        let mut cands = cands.pop().unwrap_or_default();
        cands.truncate(a.k);
        if ctx.json {
            let n = rule.size(&cands);
            let v =
                serde_json::json!({"mention": mention, "answer": &cands[..n], "candidates": cands});
            writeln!(out, "{v}")?;
        } else {
            for (r, c) in cands.iter().enumerate() {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{:.4}\t{}",
                    r + 1,
                    c.id,
                    c.name,
                    c.rank_score.unwrap_or(c.score),
                    c.matched
                )?;
            }
            writeln!(out)?;
        }
        Ok(())
    })?;
    out.flush()?;
    if bad_lines > 0 {
        eprintln!("{bad_lines} line(s) skipped: not UTF-8");
        return Ok(exit::INPUT);
    }
    Ok(exit::OK)
}
