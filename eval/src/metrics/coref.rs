//! Co-reference cluster metrics: B-cubed (Bagga & Baldwin 1998) over the gold mentions, and
//! exact-span mention detection.
//!
//! B-cubed here follows the common "gold mentions" convention: system clusters are restricted
//! to the gold mentions they contain (system mentions that are not gold are ignored), and a
//! gold mention the system did not find is a singleton of its own. For each gold mention m
//! with gold cluster G(m) and system cluster S(m): precision_m = |G(m) ∩ S(m)| / |S(m)|,
//! recall_m = |G(m) ∩ S(m)| / |G(m)|. Corpus figures average over all gold mentions of all
//! documents (each mention weighs the same); F1 is the harmonic mean of the averages.

use quarry_core::document::Span;
use serde::Serialize;
use std::collections::HashMap;

/// Sums over mentions, to be averaged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CorefCounts {
    /// Sum of per-mention B-cubed precision.
    pub b3_p_sum: f64,
    /// Sum of per-mention B-cubed recall.
    pub b3_r_sum: f64,
    /// Gold mentions.
    pub gold_mentions: usize,
    /// System mentions.
    pub system_mentions: usize,
    /// System mentions with exactly a gold mention's span.
    pub matched_mentions: usize,
}

impl CorefCounts {
    /// Adds another document's counts.
    pub fn add(&mut self, o: &CorefCounts) {
        self.b3_p_sum += o.b3_p_sum;
        self.b3_r_sum += o.b3_r_sum;
        self.gold_mentions += o.gold_mentions;
        self.system_mentions += o.system_mentions;
        self.matched_mentions += o.matched_mentions;
    }

    /// The metrics: `b3_p`, `b3_r`, `b3_f1`, `mention_p`, `mention_r`, `mention_f1`.
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let f1 = |p: f64, r: f64| {
            if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            }
        };
        let g = self.gold_mentions as f64;
        let (p, r) = (ratio(self.b3_p_sum, g), ratio(self.b3_r_sum, g));
        let mp = ratio(self.matched_mentions as f64, self.system_mentions as f64);
        let mr = ratio(self.matched_mentions as f64, g);
        vec![
            ("b3_p", p),
            ("b3_r", r),
            ("b3_f1", f1(p, r)),
            ("mention_p", mp),
            ("mention_r", mr),
            ("mention_f1", f1(mp, mr)),
        ]
    }
}

/// Counts for one document: gold clusters and system clusters as lists of mention spans.
pub fn score_document(gold: &[Vec<Span>], system: &[Vec<Span>]) -> CorefCounts {
    let gold_of: HashMap<Span, usize> = gold
        .iter()
        .enumerate()
        .flat_map(|(c, ms)| ms.iter().map(move |m| (*m, c)))
        .collect();
    let sys_of: HashMap<Span, usize> = system
        .iter()
        .enumerate()
        .flat_map(|(c, ms)| ms.iter().map(move |m| (*m, c)))
        .collect();
    // system clusters restricted to gold mentions
    let mut sys_gold: HashMap<usize, Vec<Span>> = HashMap::new();
    for (m, &c) in &sys_of {
        if gold_of.contains_key(m) {
            sys_gold.entry(c).or_default().push(*m);
        }
    }
    let mut out = CorefCounts {
        system_mentions: sys_of.len(),
        matched_mentions: sys_of.keys().filter(|m| gold_of.contains_key(m)).count(),
        ..Default::default()
    };
    for (gi, g) in gold.iter().enumerate() {
        for m in g {
            out.gold_mentions += 1;
            let s: Vec<Span> = match sys_of.get(m) {
                Some(c) => sys_gold[c].clone(),
                None => vec![*m],
            };
            let both = s.iter().filter(|x| gold_of.get(x) == Some(&gi)).count() as f64;
            out.b3_p_sum += both / s.len() as f64;
            out.b3_r_sum += both / g.len() as f64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(v: &[usize]) -> Vec<Span> {
        v.iter().map(|&i| Span::new(i, i + 1)).collect()
    }

    fn b3(gold: &[Vec<Span>], sys: &[Vec<Span>]) -> (f64, f64) {
        let m = score_document(gold, sys).metrics();
        (m[0].1, m[1].1)
    }

    /// Bagga & Baldwin's example: gold {1-5}, {6,7}, {8-12}; merging the last two clusters
    /// gives precision 16/21 ≈ 0.7619 and recall 1.
    #[test]
    fn bagga_baldwin_example() {
        let gold = vec![sp(&[1, 2, 3, 4, 5]), sp(&[6, 7]), sp(&[8, 9, 10, 11, 12])];
        let sys = vec![sp(&[1, 2, 3, 4, 5]), sp(&[6, 7, 8, 9, 10, 11, 12])];
        let (p, r) = b3(&gold, &sys);
        // mentions 6,7: 2/7 each; 8..12: 5/7 each; 1..5: 1 each -> (5 + 4/7 + 25/7)/12
        assert!(
            (p - (5.0 + 4.0 / 7.0 + 25.0 / 7.0) / 12.0).abs() < 1e-12,
            "{p}"
        );
        assert!((r - 1.0).abs() < 1e-12);
    }

    #[test]
    fn identity_singletons_and_missing() {
        let gold = vec![sp(&[1, 2]), sp(&[3])];
        assert_eq!(b3(&gold, &gold), (1.0, 1.0));
        // nothing found: every gold mention a singleton -> precision 1, recall (1/2+1/2+1)/3
        let (p, r) = b3(&gold, &[]);
        assert_eq!(p, 1.0);
        assert!((r - 2.0 / 3.0).abs() < 1e-12);
        // spurious system mentions do not change B-cubed but lower mention precision
        let c = score_document(&gold, &[sp(&[1, 2, 9])]);
        let m = c.metrics();
        assert_eq!((m[0].1, m[1].1), (1.0, 1.0));
        assert!((m[3].1 - 2.0 / 3.0).abs() < 1e-12 && (m[4].1 - 2.0 / 3.0).abs() < 1e-12);
    }
}
