//! Run comparison: paired significance tests, plain-text / JSON comparison tables and a
//! self-contained HTML report with inline SVG charts.
//!
//! Everything here works on [`RunData`], a store-independent view of one evaluated run (its
//! aggregate metric values and its per-query metric values); the caller converts store rows
//! into it.
//!
//! * [`paired_test`] compares two runs on one metric over the queries present in both:
//!   a two-sided paired randomization (sign-flip) test with a fixed seed, and a two-sided
//!   paired t-test (Student's t distribution via the regularized incomplete beta function).
//! * [`comparison_table`] / [`comparison_json`] show every run against a baseline run, with
//!   significance markers from the randomization test ([`significance_marker`]).
//! * [`html_report`] renders a single HTML page (inline CSS and SVG, no scripts, no external
//!   assets): the comparison table with p-values, one bar chart per metric and per-query
//!   scatter plots of the baseline against the next run.
//!
//! No function in this module panics on any input: non-finite scores are ignored, missing
//! metrics are shown as `-`, and degenerate cases (no common queries, one query, all
//! differences zero) give documented values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Default number of random sign-flip trials of the randomization test.
pub const DEFAULT_TRIALS: usize = 10_000;

/// Default seed of the randomization test's random number generator.
pub const DEFAULT_SEED: u64 = 42;

/// Significance level of the `*` marker (randomization test p-value strictly below it).
pub const ALPHA_ONE_STAR: f64 = 0.05;

/// Significance level of the `**` marker (randomization test p-value strictly below it).
pub const ALPHA_TWO_STARS: f64 = 0.01;

/// Scores closer than this are counted as equal in the per-query better/worse/equal counts.
const EQUAL_EPS: f64 = 1e-12;

/// Values whose magnitude exceeds this are not plotted (they would only squash the chart).
const MAX_PLOT_MAGNITUDE: f64 = 1e12;

/// One evaluated run, as the report sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// The run's id in the store.
    pub id: i64,
    /// Human-readable label, e.g. `"#3 bm25 (scifact/train)"`.
    pub label: String,
    /// Aggregate metric values (metric name → value), as stored for the run.
    pub aggregate: BTreeMap<String, f64>,
    /// Per-query metric values: query id → (metric name → value).
    pub per_query: BTreeMap<String, BTreeMap<String, f64>>,
}

impl RunData {
    /// The run's value for `metric`: the aggregate value when present and finite, otherwise
    /// the mean of the finite per-query values, otherwise `None`.
    pub fn score(&self, metric: &str) -> Option<f64> {
        if let Some(v) = self
            .aggregate
            .get(metric)
            .copied()
            .filter(|v| v.is_finite())
        {
            return Some(v);
        }
        let values: Vec<f64> = self
            .per_query
            .values()
            .filter_map(|m| m.get(metric).copied())
            .filter(|v| v.is_finite())
            .collect();
        mean(&values)
    }
}

/// Result of comparing run A (usually the baseline) with run B on one metric, over the
/// queries that have a finite value for the metric in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    /// The metric compared.
    pub metric: String,
    /// Number of queries present in both runs (the pairs tested).
    pub n: usize,
    /// Mean of run A over the paired queries (NaN when `n == 0`).
    pub mean_a: f64,
    /// Mean of run B over the paired queries (NaN when `n == 0`).
    pub mean_b: f64,
    /// `mean_b - mean_a` (NaN when `n == 0`).
    pub delta: f64,
    /// Paired t statistic of the differences B − A with `n - 1` degrees of freedom. NaN when
    /// `n < 2`, `0` when all differences are zero, ±infinity when all differences are equal
    /// and non-zero.
    pub t: f64,
    /// Two-sided p-value of the paired t-test. `1` when `n < 2` or all differences are
    /// zero, `0` when all differences are equal and non-zero.
    pub p_t: f64,
    /// Two-sided p-value of the paired randomization (sign-flip) test; see
    /// [`randomization_test`]. `1` when there are no non-zero differences, NaN when
    /// `trials == 0` or the differences are too large to sum, and the test was not computed.
    pub p_randomization: f64,
}

/// Settings of the randomization test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOptions {
    /// Number of random sign-flip trials (default [`DEFAULT_TRIALS`]). When the number of
    /// non-zero differences `m` is small enough that `2^m <= trials`, all `2^m` sign
    /// assignments are enumerated instead and the p-value is exact.
    pub trials: usize,
    /// Seed of the random number generator (default [`DEFAULT_SEED`]); the same inputs and
    /// seed always give the same p-value.
    pub seed: u64,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            trials: DEFAULT_TRIALS,
            seed: DEFAULT_SEED,
        }
    }
}

/// Errors of [`html_report`].
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No runs were given.
    #[error("no runs to report on")]
    NoRuns,
    /// The baseline index does not point into the runs.
    #[error("baseline index {baseline} is out of range for {runs} run(s)")]
    BaselineOutOfRange {
        /// The baseline index given.
        baseline: usize,
        /// The number of runs given.
        runs: usize,
    },
    /// Drawing a chart failed.
    #[error("chart rendering failed: {0}")]
    Plot(String),
}

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// Per-query scores of `metric` for the queries that have a finite value in both runs, as
/// `(query id, score in a, score in b)`, ordered by query id.
pub fn paired_scores(a: &RunData, b: &RunData, metric: &str) -> Vec<(String, f64, f64)> {
    a.per_query
        .iter()
        .filter_map(|(qid, ma)| {
            let va = ma.get(metric).copied().filter(|v| v.is_finite())?;
            let vb = b
                .per_query
                .get(qid)?
                .get(metric)
                .copied()
                .filter(|v| v.is_finite())?;
            Some((qid.clone(), va, vb))
        })
        .collect()
}

/// Compares run `b` against run `a` on `metric` with the default [`TestOptions`].
pub fn paired_test(a: &RunData, b: &RunData, metric: &str) -> PairedTest {
    paired_test_with(a, b, metric, &TestOptions::default())
}

/// Compares run `b` against run `a` on `metric`: a paired t-test and a paired randomization
/// test over the differences `b - a` of the queries present in both runs.
pub fn paired_test_with(a: &RunData, b: &RunData, metric: &str, opts: &TestOptions) -> PairedTest {
    let pairs = paired_scores(a, b, metric);
    let xs: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let ys: Vec<f64> = pairs.iter().map(|p| p.2).collect();
    let diffs: Vec<f64> = pairs.iter().map(|p| p.2 - p.1).collect();
    let mean_a = mean(&xs).unwrap_or(f64::NAN);
    let mean_b = mean(&ys).unwrap_or(f64::NAN);
    let (t, p_t) = paired_t_test(&diffs);
    PairedTest {
        metric: metric.to_string(),
        n: pairs.len(),
        mean_a,
        mean_b,
        delta: mean_b - mean_a,
        t,
        p_t,
        p_randomization: randomization_test(&diffs, opts.trials, opts.seed),
    }
}

/// Two-sided one-sample t-test of the paired differences against zero: returns
/// `(t, p)` with `n - 1` degrees of freedom. Non-finite differences are ignored.
///
/// Edge cases: fewer than two differences give `(NaN, 1)`; all differences zero give
/// `(0, 1)`; all differences equal and non-zero (zero variance) give `(±inf, 0)`.
pub fn paired_t_test(diffs: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = diffs.iter().copied().filter(|v| v.is_finite()).collect();
    let n = d.len();
    if n < 2 {
        return (f64::NAN, 1.0);
    }
    if d.iter().all(|v| *v == 0.0) {
        return (0.0, 1.0);
    }
    let nf = n as f64;
    let m = d.iter().sum::<f64>() / nf;
    let var = d.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (nf - 1.0);
    let se = (var / nf).sqrt();
    let scale = d.iter().fold(0.0_f64, |acc, v| acc.max(v.abs()));
    // Zero variance up to rounding (all differences equal): the t statistic is infinite.
    let sd = var.sqrt();
    if sd.is_nan() {
        // Only reachable when the differences overflow.
        return (f64::NAN, f64::NAN);
    }
    if sd <= 1e-12 * scale {
        return (f64::INFINITY.copysign(m), 0.0);
    }
    let t = m / se;
    (t, student_t_two_sided_p(t, nf - 1.0))
}

/// Two-sided paired randomization (sign-flip) test of the differences against zero.
///
/// Under the null hypothesis each difference is equally likely to have either sign; the
/// p-value is the probability that a random sign assignment gives a sum at least as far
/// from zero as the observed one. Zero and non-finite differences are dropped (they do not
/// change the statistic). With `m` remaining differences:
///
/// * `m == 0` (e.g. identical runs): returns `1`.
/// * `trials == 0`, or the differences overflow when summed: returns NaN (not computed).
/// * `2^m <= trials`: all `2^m` assignments are enumerated; the p-value is exact.
/// * otherwise `trials` random assignments from a `StdRng` seeded with `seed` are drawn and
///   the p-value is `(hits + 1) / (trials + 1)` (never exactly 0).
pub fn randomization_test(diffs: &[f64], trials: usize, seed: u64) -> f64 {
    let d: Vec<f64> = diffs
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v != 0.0)
        .collect();
    if d.is_empty() {
        return 1.0;
    }
    if trials == 0 {
        return f64::NAN;
    }
    let observed = d.iter().sum::<f64>().abs();
    let scale: f64 = d.iter().map(|v| v.abs()).sum();
    if !scale.is_finite() {
        // Sums overflow: the statistic is meaningless.
        return f64::NAN;
    }
    // Sign assignments whose |sum| ties with the observed one must count as hits even
    // when floating-point summation order makes them differ in the last bits.
    let threshold = observed - scale * 1e-10;
    let m = d.len();
    if m < 20 && (1usize << m) <= trials {
        let total = 1usize << m;
        let mut hits = 0usize;
        for mask in 0..total {
            let sum: f64 = d
                .iter()
                .enumerate()
                .map(|(i, v)| if (mask >> i) & 1 == 1 { -v } else { *v })
                .sum();
            if sum.abs() >= threshold {
                hits += 1;
            }
        }
        return hits as f64 / total as f64;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let total: f64 = d.iter().sum();
    let mut hits = 0usize;
    for _ in 0..trials {
        // Flipping the sign of a subset S turns the sum into total − 2·Σ_S d; 64 random
        // bits per chunk of 64 differences pick S (branch-free inner loop).
        let mut flipped = 0.0;
        for chunk in d.chunks(64) {
            let bits: u64 = rng.random();
            for (i, v) in chunk.iter().enumerate() {
                flipped += v * ((bits >> i) & 1) as f64;
            }
        }
        if (total - 2.0 * flipped).abs() >= threshold {
            hits += 1;
        }
    }
    (hits as f64 + 1.0) / (trials as f64 + 1.0)
}

/// Natural logarithm of the gamma function for `x > 0` (Lanczos approximation, g = 7,
/// relative error around 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(π x).
        let s = (std::f64::consts::PI * x).sin();
        return (std::f64::consts::PI / s).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let mut a = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz's method, as in
/// Numerical Recipes' `betacf`).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const MAX_ITERATIONS: usize = 10_000;
    const EPS: f64 = 1e-15;
    const FPMIN: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < FPMIN { FPMIN } else { v };
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITERATIONS {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, computed with a
/// continued fraction (Numerical Recipes' `betai`). Returns `0` for `x <= 0`, `1` for
/// `x >= 1` and NaN for invalid parameters.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    let valid = a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite() && !x.is_nan();
    if !valid {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    let front = ln_front.exp();
    let value = if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    };
    value.clamp(0.0, 1.0)
}

/// Cumulative distribution function of Student's t distribution with `df > 0` degrees of
/// freedom at `t`. NaN for a NaN `t` or invalid `df`.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 || df.is_infinite() {
        return f64::NAN;
    }
    let tail = 0.5 * student_t_two_sided_p(t, df);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Two-sided p-value `P(|T| >= |t|)` of Student's t distribution with `df > 0` degrees of
/// freedom, `I_{df/(df+t²)}(df/2, 1/2)`. NaN for a NaN `t` or invalid `df`.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 || df.is_infinite() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    regularized_incomplete_beta(0.5 * df, 0.5, x)
}

/// Significance marker for a p-value: `"**"` below [`ALPHA_TWO_STARS`], `"*"` below
/// [`ALPHA_ONE_STAR`], otherwise (including NaN) `""`.
pub fn significance_marker(p: f64) -> &'static str {
    if p < ALPHA_TWO_STARS {
        "**"
    } else if p < ALPHA_ONE_STAR {
        "*"
    } else {
        ""
    }
}

/// All metric names that occur in any run (aggregate or per-query), sorted; handy as the
/// default `metrics` argument.
pub fn available_metrics(runs: &[RunData]) -> Vec<String> {
    let mut names = BTreeSet::new();
    for run in runs {
        names.extend(run.aggregate.keys().cloned());
        for m in run.per_query.values() {
            names.extend(m.keys().cloned());
        }
    }
    names.into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// Comparison (shared by the text table, JSON and HTML)
// ---------------------------------------------------------------------------------------

/// One cell of the comparison: a run's value for a metric and, for non-baseline runs, its
/// comparison with the baseline.
struct Cell {
    value: Option<f64>,
    delta: Option<f64>,
    test: Option<PairedTest>,
}

impl Cell {
    fn marker(&self) -> &'static str {
        match &self.test {
            Some(t) if t.n > 0 => significance_marker(t.p_randomization),
            _ => "",
        }
    }
}

/// Cells for every run (rows) and metric (columns). With `baseline` out of range there are
/// no deltas and no tests.
fn compute_cells(
    runs: &[RunData],
    metrics: &[String],
    baseline: usize,
    opts: &TestOptions,
) -> Vec<Vec<Cell>> {
    let base = runs.get(baseline);
    runs.iter()
        .enumerate()
        .map(|(i, run)| {
            metrics
                .iter()
                .map(|metric| {
                    let value = run.score(metric);
                    match base {
                        Some(b) if i != baseline => {
                            let delta = match (value, b.score(metric)) {
                                (Some(v), Some(bv)) => Some(v - bv),
                                _ => None,
                            };
                            Cell {
                                value,
                                delta,
                                test: Some(paired_test_with(b, run, metric, opts)),
                            }
                        }
                        _ => Cell {
                            value,
                            delta: None,
                            test: None,
                        },
                    }
                })
                .collect()
        })
        .collect()
}

/// Formats a signed delta with four decimals, never as `-0.0000`.
fn fmt_delta(delta: f64) -> String {
    let s = format!("{delta:+.4}");
    if s == "-0.0000" {
        "+0.0000".to_string()
    } else {
        s
    }
}

fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "n/a".to_string()
    } else if p < 0.0001 {
        "<0.0001".to_string()
    } else {
        format!("{p:.4}")
    }
}

/// Replaces control characters (newlines, tabs…) so a label stays on one table line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn legend_text(opts: &TestOptions) -> String {
    format!(
        "Markers: * p < {ALPHA_ONE_STAR}, ** p < {ALPHA_TWO_STARS} (two-sided paired \
         randomization test vs the baseline over the queries present in both runs, {} \
         trials, seed {}). Deltas are differences of the runs' aggregate values.",
        opts.trials, opts.seed
    )
}

/// Plain-text comparison table with the default [`TestOptions`]; see
/// [`comparison_table_with`].
pub fn comparison_table(runs: &[RunData], metrics: &[String], baseline: usize) -> String {
    comparison_table_with(runs, metrics, baseline, &TestOptions::default())
}

/// Plain-text, column-aligned comparison table: one row per run, one column per metric.
///
/// Each non-baseline cell reads `0.6812 (+0.0123) *`: the run's value ([`RunData::score`]),
/// its difference from the baseline run's value, and a significance marker
/// ([`significance_marker`]) from the paired randomization test against the baseline. The
/// baseline row shows values only and its label is suffixed with `[baseline]`. Missing
/// values show as `-`. A footer explains the markers. An out-of-range `baseline` gives a
/// table without deltas and a footer saying so; no runs give `"(no runs)\n"`.
pub fn comparison_table_with(
    runs: &[RunData],
    metrics: &[String],
    baseline: usize,
    opts: &TestOptions,
) -> String {
    if runs.is_empty() {
        return "(no runs)\n".to_string();
    }
    let cells = compute_cells(runs, metrics, baseline, opts);
    let mut header = vec!["Run".to_string()];
    header.extend(metrics.iter().map(|m| one_line(m)));
    let mut rows = vec![header];
    for (i, (run, row)) in runs.iter().zip(&cells).enumerate() {
        let mut line = Vec::with_capacity(metrics.len() + 1);
        let mut label = one_line(&run.label);
        if i == baseline {
            label.push_str(" [baseline]");
        }
        line.push(label);
        for cell in row {
            let text = match (cell.value, cell.delta) {
                (None, _) => "-".to_string(),
                (Some(v), None) => format!("{v:.4}"),
                (Some(v), Some(d)) => {
                    let marker = cell.marker();
                    if marker.is_empty() {
                        format!("{v:.4} ({})", fmt_delta(d))
                    } else {
                        format!("{v:.4} ({}) {marker}", fmt_delta(d))
                    }
                }
            };
            line.push(text);
        }
        rows.push(line);
    }
    let columns = metrics.len() + 1;
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let render = |cols: &[String]| -> String {
        let mut line = String::new();
        for (c, (text, width)) in cols.iter().zip(&widths).enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            line.push_str(text);
            if c + 1 < cols.len() {
                let pad = width.saturating_sub(text.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line.trim_end().to_string()
    };
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        out.push_str(&render(row));
        out.push('\n');
        if r == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&render(&rule));
            out.push('\n');
        }
    }
    out.push('\n');
    match runs.get(baseline) {
        Some(b) => {
            let _ = writeln!(out, "Baseline: {}.", one_line(&b.label));
            out.push_str(&legend_text(opts));
            out.push('\n');
        }
        None => {
            let _ = writeln!(
                out,
                "Baseline index {baseline} is out of range for {} run(s): no deltas or \
                 significance tests.",
                runs.len()
            );
        }
    }
    out
}

/// JSON version of [`comparison_table`] with the default [`TestOptions`]; see
/// [`comparison_json_with`].
pub fn comparison_json(runs: &[RunData], metrics: &[String], baseline: usize) -> Value {
    comparison_json_with(runs, metrics, baseline, &TestOptions::default())
}

/// The content of [`comparison_table_with`] as JSON:
///
/// ```json
/// {
///   "baseline": {"index": 0, "id": 1, "label": "..."},   // null when out of range
///   "metrics": ["ndcg@10", ...],
///   "significance": {"test": "...", "trials": 10000, "seed": 42,
///                    "markers": {"*": 0.05, "**": 0.01}},
///   "runs": [{"index": 0, "id": 1, "label": "...", "is_baseline": true,
///             "scores": {"ndcg@10": {"value": 0.68, "delta": null, "marker": "",
///                                     "test": null}}}, ...],
///   "legend": "Markers: ..."
/// }
/// ```
///
/// For non-baseline runs `delta` is the difference from the baseline's value and `test` is
/// the [`PairedTest`] against the baseline. Non-finite numbers (e.g. the t statistic of
/// zero-variance differences, means over zero queries) are `null`.
pub fn comparison_json_with(
    runs: &[RunData],
    metrics: &[String],
    baseline: usize,
    opts: &TestOptions,
) -> Value {
    let cells = compute_cells(runs, metrics, baseline, opts);
    let run_values: Vec<Value> = runs
        .iter()
        .zip(&cells)
        .enumerate()
        .map(|(i, (run, row))| {
            let scores: serde_json::Map<String, Value> = metrics
                .iter()
                .zip(row)
                .map(|(metric, cell)| {
                    let test = cell.test.as_ref().map(|t| {
                        json!({
                            "metric": t.metric,
                            "n": t.n,
                            "mean_a": t.mean_a,
                            "mean_b": t.mean_b,
                            "delta": t.delta,
                            "t": t.t,
                            "p_t": t.p_t,
                            "p_randomization": t.p_randomization,
                        })
                    });
                    (
                        metric.clone(),
                        json!({
                            "value": cell.value,
                            "delta": cell.delta,
                            "marker": cell.marker(),
                            "test": test,
                        }),
                    )
                })
                .collect();
            json!({
                "index": i,
                "id": run.id,
                "label": run.label,
                "is_baseline": i == baseline,
                "scores": scores,
            })
        })
        .collect();
    json!({
        "baseline": runs.get(baseline).map(|b| json!({
            "index": baseline,
            "id": b.id,
            "label": b.label,
        })),
        "metrics": metrics,
        "significance": {
            "test": "two-sided paired randomization (sign-flip) test vs the baseline",
            "trials": opts.trials,
            "seed": opts.seed,
            "markers": {"*": ALPHA_ONE_STAR, "**": ALPHA_TWO_STARS},
        },
        "runs": run_values,
        "legend": legend_text(opts),
    })
}

// ---------------------------------------------------------------------------------------
// HTML report
// ---------------------------------------------------------------------------------------

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Tableau 10 palette; run `i` gets colour `i % 10` in every chart and in the legend.
const PALETTE: [(u8, u8, u8); 10] = [
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
];

fn run_color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

fn css_color(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

const BETTER_COLOR: RGBColor = RGBColor(44, 160, 44);
const WORSE_COLOR: RGBColor = RGBColor(214, 39, 40);
const EQUAL_COLOR: RGBColor = RGBColor(127, 127, 127);

fn plot_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Plot(e.to_string())
}

fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_PLOT_MAGNITUDE
}

/// X axis of the bar charts: run `i` sits at `x = i` over `[-0.5, runs - 0.5]`, with
/// exactly one key point (tick and label) per run.
struct RunAxis {
    runs: usize,
}

impl Ranged for RunAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let runs = self.runs.max(1) as f64;
        let fraction = (value + 0.5) / runs;
        let pixels = f64::from(limit.1) - f64::from(limit.0);
        // `as` saturates (NaN becomes 0), so no value can overflow here.
        limit.0.saturating_add((pixels * fraction).round() as i32)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.runs).map(|i| i as f64).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        -0.5..self.runs.max(1) as f64 - 0.5
    }
}

/// Bar chart of `metric` with one bar per run (x labels are the run ids), as an SVG string;
/// `None` when no run has a plottable value for the metric.
fn bar_chart_svg(
    runs: &[RunData],
    metric: &str,
    baseline: usize,
) -> Result<Option<String>, ReportError> {
    let values: Vec<Option<f64>> = runs
        .iter()
        .map(|r| r.score(metric).filter(|v| plottable(*v)))
        .collect();
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let mut lo = present.iter().copied().fold(0.0_f64, f64::min);
    let mut hi = present.iter().copied().fold(0.0_f64, f64::max);
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let span = hi - lo;
    hi += 0.12 * span;
    if lo < 0.0 {
        lo -= 0.05 * span;
    }
    if present.is_empty() {
        return Ok(None);
    }
    let n = runs.len().max(1);
    let width = (100 + 70 * n).clamp(370, 1100) as u32;
    let height = 320u32;
    // Left/right margin of each bar inside its slot: bars at most ~90 px wide.
    let slot = width.saturating_sub(80) / n as u32;
    let bar_margin = (slot.saturating_sub(90) / 2).max(8);
    let ids: Vec<String> = runs.iter().map(|r| format!("#{}", r.id)).collect();
    // Run i sits at x = i; the axis has key points (ticks, labels) exactly at the runs.
    let x_fmt = |x: &f64| {
        let r = x.round();
        if (x - r).abs() < 1e-6 && r >= 0.0 {
            ids.get(r as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(RunAxis { runs: n }, lo..hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&x_fmt)
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.2}"))
            .y_desc(metric)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 17))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        let bars = values.iter().enumerate().filter_map(|(i, v)| {
            let v = (*v)?;
            let x = i as f64;
            let mut bar = Rectangle::new([(x - 0.5, 0.0), (x + 0.5, v)], run_color(i).filled());
            bar.set_margin(0, 0, bar_margin, bar_margin);
            Some(bar)
        });
        chart.draw_series(bars).map_err(plot_err)?;
        let value_style = ("sans-serif", 15).into_font().color(&BLACK);
        let labels = values.iter().enumerate().filter_map(|(i, v)| {
            let v = (*v)?;
            let anchor = if v >= 0.0 { VPos::Bottom } else { VPos::Top };
            let mut text = format!("{v:.4}");
            if i == baseline {
                text.push_str(" (B)");
            }
            Some(Text::new(
                text,
                (i as f64, v),
                value_style.pos(Pos::new(HPos::Center, anchor)),
            ))
        });
        chart.draw_series(labels).map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(Some(buf))
}

/// Per-query better/worse/equal counts of run B against run A.
#[derive(Default)]
struct Counts {
    better: usize,
    worse: usize,
    equal: usize,
}

fn count_pairs(pairs: &[(String, f64, f64)]) -> Counts {
    let mut c = Counts::default();
    for (_, a, b) in pairs {
        let d = b - a;
        if d > EQUAL_EPS {
            c.better += 1;
        } else if d < -EQUAL_EPS {
            c.worse += 1;
        } else {
            c.equal += 1;
        }
    }
    c
}

/// Scatter plot of per-query scores (x = run A, y = run B) with the y = x diagonal.
fn scatter_svg(
    pairs: &[(String, f64, f64)],
    metric: &str,
    a: &RunData,
    b: &RunData,
) -> Result<String, ReportError> {
    let points: Vec<(f64, f64)> = pairs
        .iter()
        .filter(|(_, x, y)| plottable(*x) && plottable(*y))
        .map(|(_, x, y)| (*x, *y))
        .collect();
    let min = points
        .iter()
        .flat_map(|(x, y)| [*x, *y])
        .fold(f64::INFINITY, f64::min);
    let max = points
        .iter()
        .flat_map(|(x, y)| [*x, *y])
        .fold(f64::NEG_INFINITY, f64::max);
    let mut lo = if min.is_finite() && min < 0.0 {
        min
    } else {
        0.0
    };
    let mut hi = if max.is_finite() && max > 1.0 {
        max
    } else {
        1.0
    };
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let pad = 0.03 * (hi - lo);
    lo -= pad;
    hi += pad;
    let size = 370u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (size, size)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.2}"))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .x_desc(format!("{metric}: #{} (baseline)", a.id))
            .y_desc(format!("{metric}: #{}", b.id))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                [(lo, lo), (hi, hi)],
                BLACK.mix(0.45).stroke_width(1),
            ))
            .map_err(plot_err)?;
        chart
            .draw_series(points.iter().map(|&(x, y)| {
                let color = if y - x > EQUAL_EPS {
                    BETTER_COLOR
                } else if x - y > EQUAL_EPS {
                    WORSE_COLOR
                } else {
                    EQUAL_COLOR
                };
                Circle::new((x, y), 3, color.mix(0.55).filled())
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(buf)
}

const CSS: &str = "\
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;\
margin:24px auto;max-width:1240px;padding:0 16px;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.25em;margin-top:32px;\
border-bottom:1px solid #ddd;padding-bottom:4px}\
table{border-collapse:collapse;margin:8px 0}\
th,td{border:1px solid #ddd;padding:6px 10px;vertical-align:top}\
th{background:#f5f5f5;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.pos{color:#2a7d2a}.neg{color:#c0392b}.mark{font-weight:bold;color:#b8860b}\
.p{display:block;font-size:.8em;color:#666}\
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;\
margin-right:6px;vertical-align:middle}\
.muted{color:#666}.small{font-size:.9em}\
tr.base td{background:#fafafa}\
.charts{display:flex;flex-wrap:wrap;gap:16px}\
figure{margin:0;border:1px solid #e3e3e3;border-radius:4px;padding:8px;background:#fff}\
figcaption{font-size:.9em;margin-top:4px;width:0;min-width:100%}\
figure.note figcaption{width:auto;max-width:340px}\
svg{max-width:100%;height:auto;display:block}\
";

/// Self-contained HTML report with the default [`TestOptions`]; see [`html_report_with`].
pub fn html_report(
    runs: &[RunData],
    metrics: &[String],
    baseline: usize,
) -> Result<String, ReportError> {
    html_report_with(runs, metrics, baseline, &TestOptions::default())
}

/// Self-contained HTML report (inline CSS and SVG, no scripts or external assets):
///
/// * a legend of the runs (colour, id, label, number of per-query entries);
/// * the comparison table of [`comparison_table_with`] with, in each non-baseline cell, the
///   randomization and t-test p-values and the number of paired queries;
/// * one bar chart per metric (runs on the x axis, labelled by id);
/// * per-query scatter plots of the baseline (x) against the first other run (y) for each
///   metric, with the y = x diagonal and counts of queries better / worse / equal.
///
/// All text from the inputs is HTML-escaped. Errors: no runs, a `baseline` out of range, or
/// a chart that fails to render.
pub fn html_report_with(
    runs: &[RunData],
    metrics: &[String],
    baseline: usize,
    opts: &TestOptions,
) -> Result<String, ReportError> {
    if runs.is_empty() {
        return Err(ReportError::NoRuns);
    }
    let Some(base) = runs.get(baseline) else {
        return Err(ReportError::BaselineOutOfRange {
            baseline,
            runs: runs.len(),
        });
    };
    let cells = compute_cells(runs, metrics, baseline, opts);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>Quarry evaluation report</title>\n<style>");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n<h1>Quarry evaluation report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">{} run(s), {} metric(s). Baseline: <strong>{}</strong>.</p>",
        runs.len(),
        metrics.len(),
        escape_html(&base.label)
    );

    // Runs legend.
    let partner = (0..runs.len()).find(|i| *i != baseline);
    h.push_str("<h2>Runs</h2>\n<table>\n<tr><th>Id</th><th>Label</th>");
    h.push_str("<th>Queries</th><th>Role</th></tr>\n");
    for (i, run) in runs.iter().enumerate() {
        let role = if i == baseline {
            "baseline"
        } else if Some(i) == partner {
            "compared per query with the baseline"
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{}><td class=\"num\"><span class=\"swatch\" style=\"background:{}\">\
             </span>#{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if i == baseline { " class=\"base\"" } else { "" },
            css_color(i),
            run.id,
            escape_html(&run.label),
            run.per_query.len(),
            role
        );
    }
    h.push_str("</table>\n");

    // Comparison table.
    h.push_str("<h2>Comparison</h2>\n<table>\n<tr><th>Run</th>");
    for metric in metrics {
        let _ = write!(h, "<th>{}</th>", escape_html(metric));
    }
    h.push_str("</tr>\n");
    for (i, (run, row)) in runs.iter().zip(&cells).enumerate() {
        let _ = write!(
            h,
            "<tr{}><td><span class=\"swatch\" style=\"background:{}\"></span>{}{}</td>",
            if i == baseline { " class=\"base\"" } else { "" },
            css_color(i),
            escape_html(&run.label),
            if i == baseline {
                " <span class=\"muted\">(baseline)</span>"
            } else {
                ""
            }
        );
        for cell in row {
            h.push_str("<td class=\"num\">");
            match cell.value {
                None => h.push('-'),
                Some(v) => {
                    let _ = write!(h, "{v:.4}");
                }
            }
            if let Some(d) = cell.delta {
                let class = if d > EQUAL_EPS {
                    "pos"
                } else if d < -EQUAL_EPS {
                    "neg"
                } else {
                    "muted"
                };
                let _ = write!(h, " <span class=\"{class}\">({})</span>", fmt_delta(d));
            }
            let marker = cell.marker();
            if !marker.is_empty() {
                let _ = write!(h, " <span class=\"mark\">{marker}</span>");
            }
            match &cell.test {
                Some(t) if t.n == 0 => {
                    h.push_str("<span class=\"p\">no common per-query values</span>");
                }
                Some(t) => {
                    let _ = write!(
                        h,
                        "<span class=\"p\">p<sub>rand</sub> {} · p<sub>t</sub> {} · n {}</span>",
                        fmt_p(t.p_randomization),
                        fmt_p(t.p_t),
                        t.n
                    );
                }
                None => {}
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p class=\"small muted\">{} p<sub>rand</sub>: randomization test p-value; \
         p<sub>t</sub>: two-sided paired t-test p-value; n: queries present in both runs.</p>",
        escape_html(&legend_text(opts))
    );

    // Bar charts.
    h.push_str("<h2>Metrics by run</h2>\n");
    if metrics.is_empty() {
        h.push_str("<p class=\"muted\">No metrics selected.</p>\n");
    } else {
        h.push_str("<div class=\"charts\">\n");
        for metric in metrics {
            match bar_chart_svg(runs, metric, baseline)? {
                Some(svg) => {
                    let _ = writeln!(
                        h,
                        "<figure class=\"bar\">\n{svg}<figcaption><strong>{}</strong> by run \
                         (x axis: run id; (B) = baseline).</figcaption>\n</figure>",
                        escape_html(metric)
                    );
                }
                None => {
                    let _ = writeln!(
                        h,
                        "<figure class=\"bar note\"><figcaption><strong>{}</strong>: no run has \
                         a value for this metric.</figcaption></figure>",
                        escape_html(metric)
                    );
                }
            }
        }
        h.push_str("</div>\n");
    }

    // Per-query scatter plots: baseline vs the first other run.
    h.push_str("<h2>Per-query comparison</h2>\n");
    match partner.and_then(|i| runs.get(i).map(|r| (i, r))) {
        None => h.push_str("<p class=\"muted\">Only one run: no per-query comparison.</p>\n"),
        Some((other_idx, other)) => {
            let _ = writeln!(
                h,
                "<p>x axis: <span class=\"swatch\" style=\"background:{}\"></span>\
                 <strong>{}</strong> (baseline, #{}); y axis: <span class=\"swatch\" \
                 style=\"background:{}\"></span><strong>{}</strong> (#{}). Points above the \
                 diagonal (<span class=\"pos\">green</span>) are queries where #{} is \
                 better, below it (<span class=\"neg\">red</span>) worse, grey equal.</p>",
                css_color(baseline),
                escape_html(&base.label),
                base.id,
                css_color(other_idx),
                escape_html(&other.label),
                other.id,
                other.id
            );
            let all_pairs: Vec<Vec<(String, f64, f64)>> = metrics
                .iter()
                .map(|m| paired_scores(base, other, m))
                .collect();
            h.push_str(
                "<table>\n<tr><th>Metric</th><th>Better</th><th>Worse</th><th>Equal</th>\
                 <th>Queries in both</th></tr>\n",
            );
            for (metric, pairs) in metrics.iter().zip(&all_pairs) {
                let c = count_pairs(pairs);
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"num pos\">{}</td><td class=\"num neg\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    escape_html(metric),
                    c.better,
                    c.worse,
                    c.equal,
                    pairs.len()
                );
            }
            h.push_str("</table>\n<div class=\"charts\">\n");
            for (metric, pairs) in metrics.iter().zip(&all_pairs) {
                let c = count_pairs(pairs);
                if pairs.is_empty() {
                    let _ = writeln!(
                        h,
                        "<figure class=\"scatter note\"><figcaption><strong>{}</strong>: no \
                         queries with per-query values in both runs.</figcaption></figure>",
                        escape_html(metric)
                    );
                    continue;
                }
                let svg = scatter_svg(pairs, metric, base, other)?;
                let _ = writeln!(
                    h,
                    "<figure class=\"scatter\">\n{svg}<figcaption><strong>{}</strong>: #{} \
                     better on <span class=\"pos\">{}</span>, worse on <span class=\"neg\">\
                     {}</span>, equal on {} of {} queries.</figcaption>\n</figure>",
                    escape_html(metric),
                    other.id,
                    c.better,
                    c.worse,
                    c.equal,
                    pairs.len()
                );
            }
            h.push_str("</div>\n");
        }
    }
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: i64, label: &str, scores: &[(&str, f64)], metric: &str) -> RunData {
        let per_query: BTreeMap<String, BTreeMap<String, f64>> = scores
            .iter()
            .map(|(q, v)| (q.to_string(), BTreeMap::from([(metric.to_string(), *v)])))
            .collect();
        RunData {
            id,
            label: label.to_string(),
            aggregate: BTreeMap::new(),
            per_query,
        }
    }

    #[test]
    fn report_ln_gamma_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-11);
        assert!((ln_gamma(0.1) - 2.252_712_651_734_206).abs() < 1e-12);
    }

    #[test]
    fn report_incomplete_beta_symmetry_and_bounds() {
        for &(a, b, x) in &[(2.0, 3.0, 0.4), (0.5, 0.5, 0.3), (10.0, 0.5, 0.9)] {
            let lhs = regularized_incomplete_beta(a, b, x);
            let rhs = 1.0 - regularized_incomplete_beta(b, a, 1.0 - x);
            assert!((lhs - rhs).abs() < 1e-12, "{a} {b} {x}");
        }
        // I_x(1, 1) = x; I_x(2, 3) = 6x²(1/2 − 2x/3 + x²/4) ... closed form check:
        assert!((regularized_incomplete_beta(1.0, 1.0, 0.37) - 0.37).abs() < 1e-14);
        let x: f64 = 0.4;
        let closed = x.powi(2) * (6.0 - 8.0 * x + 3.0 * x * x);
        assert!((regularized_incomplete_beta(2.0, 3.0, x) - closed).abs() < 1e-13);
        assert_eq!(regularized_incomplete_beta(2.0, 3.0, -1.0), 0.0);
        assert_eq!(regularized_incomplete_beta(2.0, 3.0, 2.0), 1.0);
        assert!(regularized_incomplete_beta(-1.0, 3.0, 0.5).is_nan());
        assert!(regularized_incomplete_beta(1.0, 3.0, f64::NAN).is_nan());
    }

    #[test]
    fn report_exact_randomization_small_n() {
        // Diffs [1, 2, 3]: sums over the 8 sign assignments are ±6, ±4, ±2, ±0: |sum| >= 6
        // only for all-plus and all-minus → p = 2/8.
        let p = randomization_test(&[1.0, 2.0, 3.0], 10_000, 1);
        assert!((p - 0.25).abs() < 1e-12);
        assert_eq!(randomization_test(&[0.0, 0.0], 10_000, 1), 1.0);
        assert!(randomization_test(&[1.0], 0, 1).is_nan());
        assert_eq!(randomization_test(&[f64::NAN, f64::INFINITY], 100, 1), 1.0);
    }

    #[test]
    fn report_monte_carlo_is_deterministic() {
        let d: Vec<f64> = (0..50)
            .map(|i| ((i * 37 % 11) as f64 - 4.0) / 10.0)
            .collect();
        let p1 = randomization_test(&d, 2_000, 7);
        let p2 = randomization_test(&d, 2_000, 7);
        assert_eq!(p1, p2);
        assert!(p1 > 0.0 && p1 <= 1.0);
    }

    #[test]
    fn report_degenerate_inputs_do_not_panic() {
        let weird = [
            ("q1", f64::NAN),
            ("q2", f64::INFINITY),
            ("q3", -1e300),
            ("q4", 1e300),
            ("q5", 0.5),
            ("q6", -0.25),
        ];
        let a = run(1, "<a>", &weird, "m");
        let b = run(2, "b\n\t", &weird[1..], "m");
        let c = run(3, "", &[], "m");
        let runs = vec![a, b, c];
        let metrics = vec!["m".to_string(), "missing".to_string()];
        for baseline in 0..4 {
            let _ = comparison_table(&runs, &metrics, baseline);
            let _ = comparison_json(&runs, &metrics, baseline);
            let _ = html_report(&runs, &metrics, baseline);
        }
        assert!(html_report(&[], &metrics, 0).is_err());
        assert_eq!(comparison_table(&[], &metrics, 0), "(no runs)\n");
        let single = vec![run(1, "x", &[("q", 1.0)], "m")];
        assert!(html_report(&single, &metrics, 0).is_ok());
        assert!(html_report(&runs, &[], 0).is_ok());
    }

    #[test]
    fn report_delta_formatting() {
        assert_eq!(fmt_delta(0.0123), "+0.0123");
        assert_eq!(fmt_delta(-0.0123), "-0.0123");
        assert_eq!(fmt_delta(-0.00001), "+0.0000");
        assert_eq!(fmt_p(0.00001), "<0.0001");
        assert_eq!(
            escape_html("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
