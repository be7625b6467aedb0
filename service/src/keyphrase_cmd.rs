//! `quarry keyphrases`: key phrases of a text from stdin, and `quarry keyphrases train`.

use crate::cli::Ctx;
use crate::exit;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use quarry_keyphrase::model::{Ranker, TrainOptions};
use quarry_keyphrase::{ExtractOptions, Extractor, TrainDoc};
use std::io::Read;
use std::path::PathBuf;

/// Arguments of `quarry keyphrases`.
#[derive(Args, Debug)]
pub struct KeyphrasesArgs {
    #[command(subcommand)]
    pub command: Option<KeyphrasesCommand>,
    /// Trained model (a JSON file written by `quarry keyphrases train`).
    #[arg(long, env = "QUARRY_KEYPHRASE_MODEL")]
    pub model: Option<PathBuf>,
    /// Number of key phrases.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// The text's category as the training data named them (500N-KPCrowd: the id prefix,
    /// e.g. `sports`); feeds the per-category keyphraseness.
    #[arg(long)]
    pub category: Option<String>,
}

/// Subcommands of `quarry keyphrases`.
#[derive(Subcommand, Debug)]
pub enum KeyphrasesCommand {
    /// Train a ranker on a key-phrase data set (`<id>.txt` documents, `<id>.key` gold files).
    Train {
        /// Directory of documents.
        #[arg(long)]
        docs: PathBuf,
        /// Directory of gold key files.
        #[arg(long)]
        keys: PathBuf,
        /// Where to write the model (JSON).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        model: KeyphraseModelArgs,
    },
}

/// How a key-phrase ranker is trained (shared by `quarry keyphrases train` and
/// `quarry eval keyphrase`).
#[derive(Args, Debug, Clone)]
pub struct KeyphraseModelArgs {
    /// Co-reference normalization before counting: off, pool (every written form of an
    /// entity counts all its mentions; "on" means pool) or rewrite (mentions rewritten to the
    /// canonical form first).
    #[arg(long, default_value = "off")]
    pub coref: quarry_keyphrase::CorefMode,
    /// Light filtering of peripheral sentences.
    #[arg(long, value_parser = ["on", "off"], default_value = "off")]
    pub filter: String,
    /// Share of non-lead sentences the light filter drops.
    #[arg(long, default_value_t = 0.2)]
    pub filter_drop: f64,
    /// Longest candidate phrase, in words.
    #[arg(long, default_value_t = 3)]
    pub max_words: usize,
    /// Ranker: gbdt (gradient-boosted trees) or logistic.
    #[arg(long, default_value = "gbdt")]
    pub learner: quarry_keyphrase::model::Learner,
    /// L2 weight of the logistic regression.
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    /// Boosting rounds.
    #[arg(long, default_value_t = 200)]
    pub trees: usize,
    /// Tree depth.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
}

impl KeyphraseModelArgs {
    /// The extraction and training settings these arguments name.
    pub fn options(&self) -> (ExtractOptions, TrainOptions) {
        (
            ExtractOptions {
                max_words: self.max_words.max(1),
                coref: self.coref,
                filter: self.filter == "on",
                filter_drop: self.filter_drop,
            },
            TrainOptions {
                learner: self.learner,
                alpha: self.alpha,
                trees: self.trees,
                max_depth: self.depth,
                ..TrainOptions::default()
            },
        )
    }

    /// The system name runs are stored under (`keyphrase-gbdt+coref+filter`).
    pub fn system_name(&self) -> String {
        use quarry_keyphrase::{model::Learner, CorefMode};
        let learner = match self.learner {
            Learner::Gbdt => "gbdt",
            Learner::Logistic => "lr",
        };
        let coref = match self.coref {
            CorefMode::Off => "",
            CorefMode::Pool => "+coref",
            CorefMode::Rewrite => "+coref-rewrite",
        };
        let filter = if self.filter == "on" { "+filter" } else { "" };
        format!("keyphrase-{learner}{coref}{filter}")
    }
}

/// Runs `quarry keyphrases`.
/// Loaded key-phrase documents as training documents (the category from the id's prefix).
pub fn train_docs(data: &[quarry_eval::types::KeyphraseDoc]) -> Vec<TrainDoc<'_>> {
    data.iter()
        .map(|d| TrainDoc {
            text: &d.text,
            gold: &d.gold,
            category: quarry_keyphrase::category_of(&d.id),
        })
        .collect()
}

pub fn run(ctx: &Ctx, a: KeyphrasesArgs) -> Result<i32> {
    if let Some(KeyphrasesCommand::Train {
        docs,
        keys,
        out,
        model,
    }) = a.command
    {
        let data = quarry_eval::import::keyphrase::load_keyphrase(&docs, &keys)?;
        let train = train_docs(&data);
        let (opts, train_opts) = model.options();
        let ranker = quarry_keyphrase::train(&train, &opts, &train_opts)?;
        ranker.save(&out)?;
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({"model": out, "docs": data.len(), "weights": ranker.importance()})
            );
        } else if !ctx.quiet {
            eprintln!("trained on {} documents -> {}", data.len(), out.display());
            for (f, w) in ranker.importance() {
                println!("{f}\t{w:+.4}");
            }
        }
        return Ok(exit::OK);
    }
    let Some(model) = a.model else {
        bail!("no key-phrase model: pass --model FILE (or set QUARRY_KEYPHRASE_MODEL); train one with `quarry keyphrases train --docs DIR/docsutf8 --keys DIR/keys --out FILE`");
    };
    let ex = Extractor::new(Ranker::load(&model)?);
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading stdin")?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: stdin is not UTF-8 (first bad byte at offset {}); nothing extracted",
                e.utf8_error().valid_up_to()
            );
            return Ok(exit::INPUT);
        }
    };
    let phrases = ex.extract_in(&text, a.category.as_deref(), a.k);
    if ctx.json {
        println!("{}", serde_json::json!({"keyphrases": phrases}));
    } else {
        for (i, p) in phrases.iter().enumerate() {
            println!("{}\t{:.4}\t{}", i + 1, p.score, p.phrase);
        }
    }
    Ok(exit::OK)
}
