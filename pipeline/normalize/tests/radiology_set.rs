//! The radiology test set (`data/forests/radiology/testset.jsonl`): hand-written sentences
//! with their expected normalized text and frames. Reports exact-match accuracy of the
//! normalized text, frame-level and slot-level precision/recall, and asserts floors.

use quarry_normalize::dahsf::{bundled_forest_root, Engine, Forest};
use std::collections::BTreeMap;

type ParsedFrame = (String, BTreeMap<String, String>);

fn parse_frame(s: &str) -> ParsedFrame {
    let (name, rest) = s
        .split_once('(')
        .unwrap_or_else(|| panic!("bad frame '{s}'"));
    let body = rest
        .strip_suffix(')')
        .unwrap_or_else(|| panic!("bad frame '{s}'"));
    let slots = body
        .split(", ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("bad slot '{p}' in '{s}'"));
            (k.to_string(), v.to_string())
        })
        .collect();
    (name.to_string(), slots)
}

/// Items scored at slot level: one per frame (its name) and one per slot.
fn items(frames: &[ParsedFrame]) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for (name, slots) in frames {
        v.push((name.clone(), String::new(), String::new()));
        for (k, val) in slots {
            v.push((name.clone(), k.clone(), val.clone()));
        }
    }
    v
}

fn multiset_overlap<T: PartialEq + Clone>(a: &[T], b: &[T]) -> usize {
    let mut rest: Vec<T> = b.to_vec();
    let mut n = 0;
    for x in a {
        if let Some(i) = rest.iter().position(|y| y == x) {
            rest.swap_remove(i);
            n += 1;
        }
    }
    n
}

#[derive(Default)]
struct Tally {
    n: usize,
    norm_ok: usize,
    all_ok: usize,
    f_pred: usize,
    f_gold: usize,
    f_hit: usize,
    s_pred: usize,
    s_gold: usize,
    s_hit: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl Tally {
    fn norm_acc(&self) -> f64 {
        ratio(self.norm_ok, self.n)
    }
    fn slot_pr(&self) -> (f64, f64) {
        (
            ratio(self.s_hit, self.s_pred),
            ratio(self.s_hit, self.s_gold),
        )
    }
    fn print(&self, name: &str) {
        let (fp, fr) = (
            ratio(self.f_hit, self.f_pred),
            ratio(self.f_hit, self.f_gold),
        );
        let (sp, sr) = self.slot_pr();
        println!("{name}: {} sentences", self.n);
        println!(
            "  normalized text exact match: {}/{} = {:.3}",
            self.norm_ok,
            self.n,
            self.norm_acc()
        );
        println!(
            "  sentence fully right (text + all frames): {}/{} = {:.3}",
            self.all_ok,
            self.n,
            ratio(self.all_ok, self.n)
        );
        println!(
            "  frames (exact): P {fp:.3} R {fr:.3} F1 {:.3} ({} right of {} predicted, {} expected)",
            f1(fp, fr),
            self.f_hit,
            self.f_pred,
            self.f_gold
        );
        println!(
            "  slots (frame names + slot values): P {sp:.3} R {sr:.3} F1 {:.3} ({} right of {} predicted, {} expected)",
            f1(sp, sr),
            self.s_hit,
            self.s_pred,
            self.s_gold
        );
    }
}

fn show(fs: &[ParsedFrame]) -> String {
    fs.iter()
        .map(|(n, s)| {
            let body: Vec<String> = s.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{n}({})", body.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn radiology_test_set() {
    let root = bundled_forest_root().join("radiology");
    let engine = Engine::new(Forest::load_dir(&root).expect("radiology forest loads"));
    let text = std::fs::read_to_string(root.join("testset.jsonl")).expect("test set");
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut report = String::new();
    for (lineno, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("testset.jsonl line {}: {e}", lineno + 1));
        let id = v["id"].as_str().unwrap_or("?");
        let split = v["split"].as_str().unwrap_or("dev").to_string();
        let input = v["text"].as_str().expect("text");
        let want_norm = v["normalized"].as_str().expect("normalized");
        let want: Vec<ParsedFrame> = v["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .map(|f| parse_frame(f.as_str().expect("frame string")))
            .collect();
        let d = engine.digest(input);
        let got: Vec<ParsedFrame> = d
            .frames
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    f.slots
                        .iter()
                        .map(|(k, s)| (k.clone(), s.canonical.clone()))
                        .collect(),
                )
            })
            .collect();
        let norm_match = d.normalized == want_norm;
        let fh = multiset_overlap(&got, &want);
        let (gi, wi) = (items(&got), items(&want));
        let sh = multiset_overlap(&gi, &wi);
        let frames_match = fh == got.len() && fh == want.len();
        for key in [split.clone(), "all".to_string()] {
            let t = tallies.entry(key).or_default();
            t.n += 1;
            t.norm_ok += usize::from(norm_match);
            t.all_ok += usize::from(norm_match && frames_match);
            t.f_pred += got.len();
            t.f_gold += want.len();
            t.f_hit += fh;
            t.s_pred += gi.len();
            t.s_gold += wi.len();
            t.s_hit += sh;
        }
        if !norm_match || !frames_match {
            report.push_str(&format!("{id} [{split}]: {input}\n"));
            if !norm_match {
                report.push_str(&format!(
                    "   normalized: got  {}\n               want {want_norm}\n",
                    d.normalized
                ));
            }
            if !frames_match {
                report.push_str(&format!(
                    "   frames: got  {}\n           want {}\n",
                    show(&got),
                    show(&want)
                ));
            }
        }
    }
    println!("{report}");
    for (name, t) in &tallies {
        t.print(&format!("radiology test set, {name}"));
    }
    let all = &tallies["all"];
    assert!(
        all.n >= 100,
        "the test set must hold at least 100 sentences"
    );
    // Floors a little under what the engine reaches (dev: 1.000 / 0.991 / 0.976, held-out:
    // 1.000 / 0.919 / 0.642 when written), leaving room for changes in the TN data words.
    // The dev split shaped the lexicon; the held-out split was written afterwards and the
    // forest was not adjusted to it.
    let floors = [("dev", 0.97, 0.97, 0.95), ("heldout", 0.95, 0.88, 0.60)];
    for (split, norm_floor, p_floor, r_floor) in floors {
        let t = &tallies[split];
        let (p, r) = t.slot_pr();
        assert!(
            t.norm_acc() >= norm_floor,
            "{split}: normalized accuracy {:.3} < {norm_floor}",
            t.norm_acc()
        );
        assert!(p >= p_floor, "{split}: slot precision {p:.3} < {p_floor}");
        assert!(r >= r_floor, "{split}: slot recall {r:.3} < {r_floor}");
    }
}
