//! # quarry-eval
//!
//! Quarry's evaluation harness:
//!
//! * [`types`]: the shared shapes of gold data and system output (qrels, runs, entity spans,
//!   linking and key-phrase examples).
//! * [`metrics`]: IR metrics with trec_eval semantics (nDCG@k, MAP, MRR@k, Recall@k, P@k),
//!   entity-level P/R/F1 with seqeval semantics, linking accuracy@k / Recall@k and
//!   per-concept P/R/F1, key-phrase nDCG@k and P/R/F1@k. Cross-checked against
//!   pytrec-eval-terrier and seqeval in the tests.
//! * [`import`]: readers for BEIR, TREC qrels/run files, character BIO, CBLUE (CMeEE,
//!   CHIP-CDN) and key-phrase directories, with `file:line` errors.
//! * [`store`]: the SQLite store of datasets, runs, per-query results and metrics.
//! * [`report`]: run comparison tables, paired significance tests and HTML reports.

pub mod import;
pub mod metrics;
pub mod report;
pub mod split;
pub mod store;
pub mod types;
