//! Light filtering (Marujo et al. 2012): sentences far from the story's core give no
//! candidates.
//!
//! A sentence's centrality is the mean, over its content words (not stop words), of how many
//! *other* sentences contain that word's lowercase form, divided by the number of other
//! sentences. The title, the first two sentences after it, and every sentence when the text
//! has fewer than five, are always kept; of the rest, the `drop` share with the lowest
//! centrality is dropped (ties keep the earlier sentence).

use crate::text::Analyzed;
use rustc_hash::{FxHashMap, FxHashSet};

/// For every sentence of `a`, whether it is kept.
pub fn central_sentences(a: &Analyzed, drop: f64) -> Vec<bool> {
    let n = a.sentences.len();
    let mut keep = vec![true; n];
    if n < 5 || drop <= 0.0 {
        return keep;
    }
    let sets: Vec<FxHashSet<&str>> = (0..n)
        .map(|s| {
            a.sentence_words(s)
                .iter()
                .filter(|w| !w.stop)
                .map(|w| w.lower.as_str())
                .collect()
        })
        .collect();
    let mut df: FxHashMap<&str, usize> = FxHashMap::default();
    for s in &sets {
        for w in s {
            *df.entry(w).or_default() += 1;
        }
    }
    let protected: FxHashSet<usize> = {
        let mut p: FxHashSet<usize> = (0..n)
            .filter(|&s| a.sentences[s].0 < a.first_line_end)
            .collect();
        p.extend(
            (0..n)
                .filter(|&s| a.sentences[s].0 >= a.first_line_end)
                .take(2),
        );
        p
    };
    let mut scored: Vec<(f64, usize)> = (0..n)
        .filter(|s| !protected.contains(s))
        .map(|s| {
            let words = &sets[s];
            let c = if words.is_empty() {
                0.0
            } else {
                words.iter().map(|w| (df[w] - 1) as f64).sum::<f64>()
                    / (words.len() as f64 * (n - 1) as f64)
            };
            (c, s)
        })
        .collect();
    scored.sort_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)));
    let k = ((scored.len() as f64) * drop.min(1.0)).floor() as usize;
    for &(_, s) in scored.iter().take(k) {
        keep[s] = false;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::analyze;

    #[test]
    fn drops_the_off_topic_sentence() {
        let t = "Storm hits coast\nA storm hit the coast. The storm closed coast roads. \
                 Storm damage on the coast is high. Coast towns wait for the storm to pass. \
                 Tickets for the opera are on sale. Storm crews cleared coast roads.";
        let a = analyze(t);
        let keep = central_sentences(&a, 0.25);
        let dropped: Vec<usize> = (0..keep.len()).filter(|&i| !keep[i]).collect();
        assert_eq!(dropped.len(), 1);
        let (s, e) = a.sentences[dropped[0]];
        let sent: String = t.chars().skip(s).take(e - s).collect();
        assert!(sent.contains("opera"), "{sent}");
        // title and lead are protected
        assert!(keep[0] && keep[1] && keep[2]);
    }

    #[test]
    fn short_texts_keep_everything() {
        let a = analyze("One. Two. Three.");
        assert!(central_sentences(&a, 0.9).iter().all(|&k| k));
        assert!(central_sentences(&analyze(""), 0.5).is_empty());
    }
}
