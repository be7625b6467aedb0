//! Tests of `quarry_eval::report`: t distribution and paired tests against known values,
//! randomization vs t-test agreement, comparison table/JSON content and the HTML report.

use std::collections::BTreeMap;

use quarry_eval::report::{
    comparison_json, comparison_table, html_report, paired_t_test, paired_test, paired_test_with,
    randomization_test, regularized_incomplete_beta, significance_marker, student_t_cdf,
    student_t_two_sided_p, RunData, TestOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Builds a run from per-query values of several metrics; the aggregate is the mean.
fn make_run(id: i64, label: &str, per_query: &[(String, Vec<(&str, f64)>)]) -> RunData {
    let mut pq: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (qid, metrics) in per_query {
        let entry = pq.entry(qid.clone()).or_default();
        for (m, v) in metrics {
            entry.insert(m.to_string(), *v);
            let s = sums.entry(m.to_string()).or_insert((0.0, 0));
            s.0 += v;
            s.1 += 1;
        }
    }
    RunData {
        id,
        label: label.to_string(),
        aggregate: sums
            .into_iter()
            .map(|(m, (s, n))| (m, s / n as f64))
            .collect(),
        per_query: pq,
    }
}

/// A run with one metric `m` and the given per-query values (queries q000, q001, …).
fn single_metric_run(id: i64, label: &str, values: &[f64]) -> RunData {
    let rows: Vec<(String, Vec<(&str, f64)>)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("q{i:03}"), vec![("m", *v)]))
        .collect();
    make_run(id, label, &rows)
}

/// Approximately normal noise (Irwin–Hall with 12 uniforms), mean 0, sd 1.
fn normal(rng: &mut StdRng) -> f64 {
    (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0
}

#[test]
fn t_test_known_value() {
    let (t, p) = paired_t_test(&[1.0, 2.0, 3.0, 4.0, 5.0]);
    assert!((t - 4.242_640_687).abs() < 1e-6, "t = {t}");
    // Closed form of the df = 4 CDF: F(t) = 1/2 + 3/8 · u · (1 − t²/(12 (1 + t²/4))),
    // u = t / sqrt(1 + t²/4); two-sided p = 2 (1 − F(t)) ≈ 0.013 24.
    let u = t / (1.0 + t * t / 4.0).sqrt();
    let f = 0.5 + 0.375 * u * (1.0 - t * t / (12.0 * (1.0 + t * t / 4.0)));
    let expected = 2.0 * (1.0 - f);
    assert!((p - expected).abs() < 1e-10, "p = {p}, expected {expected}");
    assert!((p - 0.01324).abs() < 1e-5, "p = {p}");

    // The same through paired_test: run B = run A + [1..5].
    let a = single_metric_run(1, "a", &[0.0; 5]);
    let b = single_metric_run(2, "b", &[1.0, 2.0, 3.0, 4.0, 5.0]);
    let r = paired_test(&a, &b, "m");
    assert_eq!(r.metric, "m");
    assert_eq!(r.n, 5);
    assert_eq!(r.mean_a, 0.0);
    assert_eq!(r.mean_b, 3.0);
    assert_eq!(r.delta, 3.0);
    assert!((r.t - 4.242_640_687).abs() < 1e-6);
    assert!((r.p_t - 0.01324).abs() < 1e-5);
    // Exact enumeration of the 32 sign assignments: only all-plus and all-minus reach
    // |sum| = 15, so p = 2/32.
    assert!((r.p_randomization - 0.0625).abs() < 1e-12);
    // Swapping the runs flips the sign of t, not the p-values.
    let r2 = paired_test(&b, &a, "m");
    assert!((r2.t + r.t).abs() < 1e-12);
    assert_eq!(r2.p_t, r.p_t);
    assert_eq!(r2.p_randomization, r.p_randomization);
}

#[test]
fn t_cdf_matches_tables_and_closed_forms() {
    // Critical values from standard t tables (two-sided 5 % / 2 % / 10 %).
    let table = [
        (12.706_205, 1.0, 0.975),
        (2.776_445, 4.0, 0.975),
        (1.812_461, 10.0, 0.95),
        (2.085_963, 20.0, 0.975),
        (-2.527_977, 20.0, 0.01),
        (2.575_829, 1e7, 0.995), // ~ normal
        (0.0, 3.0, 0.5),
    ];
    for (t, df, expected) in table {
        let got = student_t_cdf(t, df);
        assert!(
            (got - expected).abs() < 1e-4,
            "t={t} df={df}: {got} vs {expected}"
        );
    }
    // Closed forms for df = 1, 2, 3.
    for t in [-7.5_f64, -2.0, -0.3, 0.0, 0.4, 1.0, 3.3, 25.0] {
        let pi = std::f64::consts::PI;
        let f1 = 0.5 + t.atan() / pi;
        let f2 = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
        let s3 = 3.0_f64.sqrt();
        let f3 = 0.5 + ((t / s3) / (1.0 + t * t / 3.0) + (t / s3).atan()) / pi;
        assert!((student_t_cdf(t, 1.0) - f1).abs() < 1e-12, "df=1 t={t}");
        assert!((student_t_cdf(t, 2.0) - f2).abs() < 1e-12, "df=2 t={t}");
        assert!((student_t_cdf(t, 3.0) - f3).abs() < 1e-12, "df=3 t={t}");
    }
    // Two-sided p consistency and edge cases.
    let p = student_t_two_sided_p(2.776_445, 4.0);
    assert!((p - 0.05).abs() < 1e-5);
    assert_eq!(student_t_two_sided_p(f64::INFINITY, 4.0), 0.0);
    assert!(student_t_cdf(f64::NAN, 4.0).is_nan());
    assert!(student_t_cdf(1.0, 0.0).is_nan());
    assert!(student_t_cdf(1.0, -3.0).is_nan());
    assert_eq!(student_t_cdf(f64::NEG_INFINITY, 5.0), 0.0);
    assert_eq!(student_t_cdf(f64::INFINITY, 5.0), 1.0);
    // Very small tails keep relative precision: P(|T| > 40) with df = 100.
    let tiny = student_t_two_sided_p(40.0, 100.0);
    assert!(tiny > 0.0 && tiny < 1e-60, "{tiny}");
    assert!((regularized_incomplete_beta(0.5, 0.5, 0.5) - 0.5).abs() < 1e-14);
}

#[test]
fn edge_cases() {
    // n = 0: no common queries.
    let a = single_metric_run(1, "a", &[0.1, 0.2]);
    let other = RunData {
        id: 2,
        label: "other".into(),
        ..Default::default()
    };
    let r = paired_test(&a, &other, "m");
    assert_eq!(r.n, 0);
    assert!(r.mean_a.is_nan() && r.t.is_nan());
    assert_eq!(r.p_t, 1.0);
    assert_eq!(r.p_randomization, 1.0);

    // n = 1.
    let b1 = single_metric_run(3, "b", &[0.9]);
    let r = paired_test(&a, &b1, "m");
    assert_eq!(r.n, 1);
    assert!(r.t.is_nan());
    assert_eq!(r.p_t, 1.0);
    assert_eq!(r.p_randomization, 1.0);
    assert!((r.delta - 0.8).abs() < 1e-12);

    // Identical runs (large, Monte Carlo path would apply if differences were non-zero).
    let mut rng = StdRng::seed_from_u64(3);
    let values: Vec<f64> = (0..500).map(|_| rng.random::<f64>()).collect();
    let x = single_metric_run(1, "x", &values);
    let y = single_metric_run(2, "y", &values);
    let r = paired_test(&x, &y, "m");
    assert_eq!(r.n, 500);
    assert_eq!(
        (r.t, r.p_t, r.p_randomization, r.delta),
        (0.0, 1.0, 1.0, 0.0)
    );

    // All differences equal and non-zero: zero variance.
    let (t, p) = paired_t_test(&[0.1, 0.1, 0.1]);
    assert!(t.is_infinite() && t > 0.0);
    assert_eq!(p, 0.0);
    let (t, p) = paired_t_test(&[]);
    assert!(t.is_nan());
    assert_eq!(p, 1.0);

    // Non-finite per-query values are ignored (not paired).
    let c = single_metric_run(4, "c", &[f64::NAN, 0.5]);
    let r = paired_test(&a, &c, "m");
    assert_eq!(r.n, 1);

    // Markers.
    assert_eq!(significance_marker(0.001), "**");
    assert_eq!(significance_marker(0.03), "*");
    assert_eq!(significance_marker(0.05), "");
    assert_eq!(significance_marker(f64::NAN), "");
}

#[test]
fn randomization_close_to_t_test_on_larger_sample() {
    for (seed, effect) in [(1u64, 0.02), (2, 0.03), (3, 0.0), (4, -0.025)] {
        let mut rng = StdRng::seed_from_u64(seed);
        let base: Vec<f64> = (0..300).map(|_| rng.random::<f64>()).collect();
        let other: Vec<f64> = base
            .iter()
            .map(|v| v + effect + 0.15 * normal(&mut rng))
            .collect();
        let a = single_metric_run(1, "a", &base);
        let b = single_metric_run(2, "b", &other);
        let r = paired_test(&a, &b, "m");
        assert_eq!(r.n, 300);
        assert!(
            (r.p_randomization - r.p_t).abs() < 0.02,
            "seed {seed}: p_rand {} vs p_t {}",
            r.p_randomization,
            r.p_t
        );
        // Fixed seed: reproducible.
        assert_eq!(paired_test(&a, &b, "m").p_randomization, r.p_randomization);
        // A different seed moves the estimate only a little.
        let other_seed = paired_test_with(
            &a,
            &b,
            "m",
            &TestOptions {
                trials: 10_000,
                seed: 99,
            },
        );
        assert!((other_seed.p_randomization - r.p_randomization).abs() < 0.02);
    }
    // Direct call: differences that are all positive over 40 queries → tiny p.
    let d: Vec<f64> = (0..40).map(|i| 0.01 + (i % 5) as f64 * 0.01).collect();
    let p = randomization_test(&d, 10_000, 42);
    assert!((p - 1.0 / 10_001.0).abs() < 1e-12, "{p}");
}

/// Three runs over 60 queries: B better than A on `ndcg@10` (significant), worse on `map`;
/// C equal to A on `ndcg@10`.
fn table_runs() -> Vec<RunData> {
    let mut rng = StdRng::seed_from_u64(11);
    let mut rows_a = Vec::new();
    let mut rows_b = Vec::new();
    let mut rows_c = Vec::new();
    for i in 0..60 {
        let q = format!("q{i:02}");
        let n = 0.3 + 0.4 * rng.random::<f64>();
        let m = 0.2 + 0.5 * rng.random::<f64>();
        let wiggle = if i % 2 == 0 { 0.01 } else { -0.01 };
        rows_a.push((q.clone(), vec![("ndcg@10", n), ("map", m)]));
        rows_b.push((
            q.clone(),
            vec![("ndcg@10", n + 0.05 + wiggle), ("map", m - 0.03)],
        ));
        rows_c.push((q, vec![("ndcg@10", n), ("map", m + wiggle)]));
    }
    vec![
        make_run(1, "#1 bm25 (scifact/test)", &rows_a),
        make_run(2, "#2 dense (scifact/test)", &rows_b),
        make_run(3, "#3 hybrid (scifact/test)", &rows_c),
    ]
}

#[test]
fn comparison_table_has_signed_deltas_and_markers() {
    let runs = table_runs();
    let metrics = vec!["ndcg@10".to_string(), "map".to_string()];
    let table = comparison_table(&runs, &metrics, 0);
    println!("{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Run") && lines[0].contains("ndcg@10"));
    assert!(lines[1].starts_with("---"));
    let base_line = lines.iter().find(|l| l.contains("bm25")).unwrap();
    assert!(base_line.contains("[baseline]"));
    assert!(!base_line.contains("(+") && !base_line.contains("(-"));
    let b_line = lines.iter().find(|l| l.contains("#2 dense")).unwrap();
    assert!(b_line.contains("(+0.0500) **"), "{b_line}");
    assert!(b_line.contains("(-0.0300) **"), "{b_line}");
    let c_line = lines.iter().find(|l| l.contains("#3 hybrid")).unwrap();
    assert!(c_line.contains("(+0.0000)"), "{c_line}");
    assert!(!c_line.contains('*'), "{c_line}");
    // Columns are aligned: the ndcg@10 column starts at the same offset in every row.
    let col = lines[0].find("ndcg@10").unwrap();
    for l in &lines[2..5] {
        assert_eq!(
            l.chars().nth(col - 1),
            Some(' '),
            "misaligned: {l:?} at {col}"
        );
        assert!(l[col..].starts_with("0."), "misaligned: {l:?} at {col}");
    }
    assert!(table.contains("Markers: * p < 0.05, ** p < 0.01"));
    assert!(table.contains("Baseline: #1 bm25 (scifact/test)."));

    // Another baseline flips the signs.
    let table2 = comparison_table(&runs, &metrics, 1);
    let a_line = table2.lines().find(|l| l.contains("bm25")).unwrap();
    assert!(a_line.contains("(-0.0500) **"), "{a_line}");
    assert!(a_line.contains("(+0.0300) **"), "{a_line}");

    // Out-of-range baseline: no deltas, no panic.
    let table3 = comparison_table(&runs, &metrics, 9);
    assert!(!table3.contains("(+"));
    assert!(table3.contains("out of range"));

    // Missing metric shows as "-".
    let table4 = comparison_table(&runs, &["nope".to_string()], 0);
    assert!(table4.lines().nth(2).unwrap().trim_end().ends_with('-'));
}

#[test]
fn comparison_json_content() {
    let runs = table_runs();
    let metrics = vec!["ndcg@10".to_string(), "map".to_string()];
    let v = comparison_json(&runs, &metrics, 0);
    assert_eq!(v["baseline"]["id"], 1);
    assert_eq!(v["metrics"][1], "map");
    assert_eq!(v["significance"]["trials"], 10_000);
    let runs_json = v["runs"].as_array().unwrap();
    assert_eq!(runs_json.len(), 3);
    assert_eq!(runs_json[0]["is_baseline"], true);
    assert!(runs_json[0]["scores"]["ndcg@10"]["delta"].is_null());
    assert!(runs_json[0]["scores"]["ndcg@10"]["test"].is_null());
    let b = &runs_json[1]["scores"];
    let d = b["ndcg@10"]["delta"].as_f64().unwrap();
    assert!((d - 0.05).abs() < 1e-9);
    assert!(b["map"]["delta"].as_f64().unwrap() < 0.0);
    assert_eq!(b["ndcg@10"]["marker"], "**");
    assert_eq!(b["ndcg@10"]["test"]["n"], 60);
    assert!(b["ndcg@10"]["test"]["p_randomization"].as_f64().unwrap() < 0.01);
    assert!(b["ndcg@10"]["test"]["p_t"].as_f64().unwrap() < 0.01);
    // Serializes.
    assert!(serde_json::to_string(&v).is_ok());
}

#[test]
fn html_report_charts_scatter_and_escaping() {
    let mut runs = table_runs();
    runs[1].label = "<script>alert('x')</script> & co".to_string();
    let metrics = vec!["ndcg@10".to_string(), "map".to_string(), "a<b".to_string()];
    let html = html_report(&runs, &metrics, 0).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    assert!(!html.contains("a<b"));
    // One bar chart figure and one scatter figure per metric.
    assert_eq!(html.matches("<figure class=\"bar\">").count(), 2);
    assert_eq!(html.matches("<figure class=\"scatter\">").count(), 2);
    assert_eq!(html.matches("<figure class=\"bar note\">").count(), 1);
    assert_eq!(html.matches("<figure class=\"scatter note\">").count(), 1);
    // `a<b` has no values: its bar chart and scatter are replaced by a note.
    assert_eq!(html.matches("<svg").count(), 2 + 2);
    assert_eq!(html.matches("</svg>").count(), 4);
    assert!(html.contains("<strong>a&lt;b</strong>: no run has a value"));
    // Scatter has circles and a diagonal polyline; captions have the counts.
    assert!(html.contains("<circle"));
    assert!(html.contains("<polyline"));
    assert!(html.contains("better on <span class=\"pos\">60</span>, worse on"));
    // Self-contained.
    let xmlns = "xmlns=\"http://www.w3.org/2000/svg\"";
    assert_eq!(html.matches("http://").count(), html.matches(xmlns).count());
    assert!(!html.contains("https://"));
    assert!(html.contains("p<sub>rand</sub>"));

    // Errors.
    assert!(html_report(&[], &metrics, 0).is_err());
    assert!(html_report(&runs, &metrics, 3).is_err());
}

/// Writes an example report to /tmp/quarry-report-example.html (for eyeballing).
#[test]
fn write_example_report() {
    let mut rng = StdRng::seed_from_u64(2024);
    let mut rows = [Vec::new(), Vec::new(), Vec::new()];
    let clamp = |v: f64| v.clamp(0.0, 1.0);
    for i in 0..300 {
        let q = format!("PLAIN-{}", 1000 + i);
        let hard = rng.random::<f64>() < 0.25;
        let base_ndcg = if hard {
            0.0
        } else {
            clamp(0.35 + 0.35 * normal(&mut rng))
        };
        let base_recall = if hard {
            clamp(0.2 * rng.random::<f64>())
        } else {
            clamp(0.75 + 0.25 * normal(&mut rng)).max(base_ndcg)
        };
        let base_mrr = clamp(base_ndcg + 0.1 * normal(&mut rng).abs());
        let per_run = [(0.0, 0.0, 0.0), (0.04, 0.05, 0.03), (0.015, -0.01, 0.02)];
        for (r, (dn, dr, dm)) in per_run.iter().enumerate() {
            let noise = if r == 0 { 0.0 } else { 0.12 };
            rows[r].push((
                q.clone(),
                vec![
                    ("ndcg@10", clamp(base_ndcg + dn + noise * normal(&mut rng))),
                    (
                        "recall@100",
                        clamp(base_recall + dr + noise * normal(&mut rng)),
                    ),
                    ("mrr@10", clamp(base_mrr + dm + noise * normal(&mut rng))),
                ],
            ));
        }
    }
    let runs = vec![
        make_run(1, "#1 bm25 (scifact/test)", &rows[0]),
        make_run(3, "#3 dense e5-small <v2> (scifact/test)", &rows[1]),
        make_run(4, "#4 hybrid rrf k=60 (scifact/test)", &rows[2]),
    ];
    let metrics: Vec<String> = ["ndcg@10", "recall@100", "mrr@10"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    println!("{}", comparison_table(&runs, &metrics, 0));
    let html = html_report(&runs, &metrics, 0).unwrap();
    std::fs::write("/tmp/quarry-report-example.html", &html).unwrap();
    assert!(html.len() > 10_000);
}
