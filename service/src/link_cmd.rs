//! `quarry link`: candidate concepts for mentions read from stdin, one a line.

use crate::cli::Ctx;
use crate::exit;
use anyhow::{bail, Result};
use clap::Args;
use quarry_link::{Linker, Task, TerminologySource};
use std::io::Write;
use std::path::PathBuf;

/// Options of `quarry link`.
#[derive(Args, Debug)]
pub struct LinkCmdArgs {
    /// Terminology: icd10-zh, procedures, esco or onet (all concepts, keyed by id).
    #[arg(long, conflicts_with = "task")]
    pub terminology: Option<String>,
    /// Or a task (chip-cdn, procedures, jobbert): its terminology, answers keyed as its gold
    /// (one answer per preferred name for chip-cdn and procedures).
    #[arg(long)]
    pub task: Option<String>,
    /// The terminology file (directory for onet) instead of its place in the shared data.
    #[arg(long, requires = "terminology")]
    pub path: Option<PathBuf>,
    /// Candidates per mention.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
}

/// Runs `quarry link`.
pub fn run(ctx: &Ctx, a: LinkCmdArgs) -> Result<i32> {
    let shared = quarry_core::shared_data::dir();
    let linker = match (&a.terminology, &a.task) {
        (Some(t), None) => {
            Linker::open(TerminologySource::parse(t)?, a.path.as_deref(), &shared, false)?
        }
        (None, Some(t)) => Linker::for_task(Task::parse(t)?, &shared)?,
        _ => bail!("pass --terminology NAME (icd10-zh, procedures, esco, onet) or --task NAME (chip-cdn, procedures, jobbert)"),
    };
    tracing::info!(
        terminology = linker.terminology().name(),
        concepts = linker.terminology().len(),
        "terminology loaded"
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let bad_lines = crate::cli::for_each_stdin_line(|mention| {
        let cands = linker.candidates(&mention, a.k);
        if ctx.json {
            let v = serde_json::json!({"mention": mention, "candidates": cands});
            writeln!(out, "{v}")?;
        } else {
            for (r, c) in cands.iter().enumerate() {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{:.4}\t{}",
                    r + 1,
                    c.id,
                    c.name,
                    c.score,
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
