//! The linear-chain CRF (`crf.json`): Viterbi decoding exactly as FORMAT.md specifies (f32,
//! first maximum wins), forward-backward marginals for confidences, and tag -> span
//! chunking (conlleval / seqeval default mode).
//!
//! **Confidence of an entity** = the minimum, over the entity's characters `t`, of the
//! marginal probability `P(y_t = decoded tag at t | x)` under the CRF (forward-backward in
//! f64 log space). It is in `(0, 1]`; 1 means every character's tag is certain; a value
//! near 0.5 means some character of the span could as well be tagged otherwise (so the span
//! might be shorter, longer, split or of another type).

use crate::error::NerError;
use std::path::Path;

/// A tag of the tag set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Outside any entity.
    O,
    /// `B-X`: begins an entity of type index X.
    Begin(usize),
    /// `I-X` (or any other non-`B` prefix): continues an entity of type X.
    Inside(usize),
}

/// A decoded entity: characters `start..end`, a type index, and its confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TagSpan {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Index into [`Crf::types`].
    pub label: usize,
    /// See the module documentation.
    pub confidence: f32,
}

/// Tag names, transition, start and end scores.
#[derive(Debug, Clone)]
pub struct Crf {
    tags: Vec<String>,
    parsed: Vec<Tag>,
    types: Vec<String>,
    /// `n * n`, row-major: `transitions[i * n + j]` scores tag i followed by tag j.
    transitions: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
}

impl Crf {
    /// Reads `crf.json` (`{"tags", "transitions", "start", "end"}`).
    pub fn load(path: &Path) -> Result<Self, NerError> {
        #[derive(serde::Deserialize)]
        struct C {
            tags: Vec<String>,
            transitions: Vec<Vec<f32>>,
            start: Vec<f32>,
            end: Vec<f32>,
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| NerError::bad(path, format!("cannot read: {e}")))?;
        let c: C = serde_json::from_str(&text).map_err(|e| NerError::bad(path, e.to_string()))?;
        Self::new(c.tags, c.transitions, c.start, c.end).map_err(|m| NerError::bad(path, m))
    }

    /// A CRF from its parts; every tag is `O` or `P-TYPE` (`P` = `B` begins, anything else
    /// continues), every score list has one entry per tag.
    pub fn new(
        tags: Vec<String>,
        transitions: Vec<Vec<f32>>,
        start: Vec<f32>,
        end: Vec<f32>,
    ) -> Result<Self, String> {
        let n = tags.len();
        if n == 0 {
            return Err("no tags".into());
        }
        if transitions.len() != n || transitions.iter().any(|r| r.len() != n) {
            return Err(format!("transitions must be {n} x {n}"));
        }
        if start.len() != n || end.len() != n {
            return Err(format!("start and end must have {n} entries"));
        }
        let mut types: Vec<String> = Vec::new();
        let mut parsed = Vec::with_capacity(n);
        for t in &tags {
            if t == "O" {
                parsed.push(Tag::O);
                continue;
            }
            let Some((prefix, ty)) = t.split_once('-').filter(|(_, ty)| !ty.is_empty()) else {
                return Err(format!("tag {t:?} is neither O nor PREFIX-TYPE"));
            };
            let idx = match types.iter().position(|x| x == ty) {
                Some(i) => i,
                None => {
                    types.push(ty.to_string());
                    types.len() - 1
                }
            };
            parsed.push(if prefix == "B" {
                Tag::Begin(idx)
            } else {
                Tag::Inside(idx)
            });
        }
        let mut transitions = transitions.concat();
        let mut start = start;
        constrain_bio(&parsed, &mut transitions, &mut start);
        Ok(Crf {
            tags,
            parsed,
            types,
            transitions,
            start,
            end,
        })
    }

    /// Number of tags.
    pub fn num_tags(&self) -> usize {
        self.tags.len()
    }

    /// Tag names.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Entity types in order of first appearance in the tag list.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The best tag path for `len` positions of `emissions` (`[len, n]` row-major, at least
    /// `len * n` values).
    pub fn viterbi(&self, emissions: &[f32], len: usize) -> Vec<usize> {
        viterbi(
            emissions,
            len,
            &self.transitions,
            &self.start,
            &self.end,
            self.num_tags(),
        )
    }

    /// Posterior marginals `P(y_t = j | x)`, `[len, n]` row-major.
    pub fn marginals(&self, emissions: &[f32], len: usize) -> Vec<f64> {
        marginals(
            emissions,
            len,
            &self.transitions,
            &self.start,
            &self.end,
            self.num_tags(),
        )
    }

    /// Decodes `len` positions into entities with confidences.
    pub fn decode(&self, emissions: &[f32], len: usize) -> Vec<TagSpan> {
        let n = self.num_tags();
        let len = len.min(emissions.len() / n.max(1));
        if len == 0 {
            return Vec::new();
        }
        let path = self.viterbi(emissions, len);
        let chunks = chunk(path.iter().map(|&p| self.parsed[p]));
        if chunks.is_empty() {
            return Vec::new();
        }
        let marg = self.marginals(emissions, len);
        chunks
            .into_iter()
            .map(|(start, end, label)| {
                let conf = (start..end)
                    .map(|t| marg[t * n + path[t]])
                    .fold(1.0f64, f64::min);
                TagSpan {
                    start,
                    end,
                    label,
                    confidence: conf.clamp(0.0, 1.0) as f32,
                }
            })
            .collect()
    }
}

/// The score that FORMAT.md's BIO constraint gives a forbidden step.
pub const BLOCKED: f32 = -1e4;

/// FORMAT.md "Decoding": an inside tag of type X may follow only a tag of type X and never
/// starts a sentence, so that every decoded path (and every marginal) is valid BIO. The
/// forbidden transition and start scores become [`BLOCKED`].
fn constrain_bio(parsed: &[Tag], transitions: &mut [f32], start: &mut [f32]) {
    let n = parsed.len();
    let type_of = |t: Tag| match t {
        Tag::O => None,
        Tag::Begin(x) | Tag::Inside(x) => Some(x),
    };
    for (j, &tj) in parsed.iter().enumerate() {
        let Tag::Inside(x) = tj else { continue };
        start[j] = BLOCKED;
        for (i, &ti) in parsed.iter().enumerate() {
            if type_of(ti) != Some(x) {
                transitions[i * n + j] = BLOCKED;
            }
        }
    }
}

/// FORMAT.md's Viterbi in f32: `score0[j] = start[j] + e[0][j]`,
/// `score_t[j] = max_i(score_{t-1}[i] + tr[i][j]) + e[t][j]` (first maximal i),
/// final `argmax_j(score[j] + end[j])` (first maximum), then backtrack. `emissions` is
/// `[len, n]`, `transitions` `[n, n]`, both row-major. An empty sequence gives an empty path.
pub fn viterbi(
    emissions: &[f32],
    len: usize,
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
    n: usize,
) -> Vec<usize> {
    let len = len.min(emissions.len() / n.max(1));
    if len == 0 || n == 0 {
        return Vec::new();
    }
    let mut score: Vec<f32> = (0..n).map(|j| start[j] + emissions[j]).collect();
    let mut next = vec![0f32; n];
    let mut back = vec![0u32; len * n];
    for t in 1..len {
        let e = &emissions[t * n..(t + 1) * n];
        for j in 0..n {
            let (best, best_v) = first_max(
                score
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| s + transitions[i * n + j]),
            );
            next[j] = best_v + e[j];
            back[t * n + j] = best as u32;
        }
        std::mem::swap(&mut score, &mut next);
    }
    let (best, _) = first_max(score.iter().zip(end).map(|(s, e)| s + e));
    let mut path = vec![0usize; len];
    path[len - 1] = best;
    for t in (1..len).rev() {
        path[t - 1] = back[t * n + path[t]] as usize;
    }
    path
}

/// Index and value of the first maximum (numpy's argmax rule, which FORMAT.md fixes so
/// that ties decode the same way in Python and Rust). `values` must not be empty.
fn first_max(values: impl Iterator<Item = f32>) -> (usize, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if i == 0 || v > best.1 {
            best = (i, v);
        }
    }
    best
}

fn logsumexp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Posterior marginals of a linear-chain CRF by forward-backward in f64 log space,
/// `[len, n]` row-major (each row sums to 1).
pub fn marginals(
    emissions: &[f32],
    len: usize,
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
    n: usize,
) -> Vec<f64> {
    let len = len.min(emissions.len() / n.max(1));
    if len == 0 || n == 0 {
        return Vec::new();
    }
    let e = |t: usize, j: usize| emissions[t * n + j] as f64;
    let tr = |i: usize, j: usize| transitions[i * n + j] as f64;
    let mut alpha = vec![0f64; len * n];
    for j in 0..n {
        alpha[j] = start[j] as f64 + e(0, j);
    }
    for t in 1..len {
        for j in 0..n {
            let prev = &alpha[(t - 1) * n..t * n];
            alpha[t * n + j] =
                logsumexp(prev.iter().enumerate().map(|(i, &a)| a + tr(i, j))) + e(t, j);
        }
    }
    let mut beta = vec![0f64; len * n];
    for j in 0..n {
        beta[(len - 1) * n + j] = end[j] as f64;
    }
    for t in (0..len - 1).rev() {
        for i in 0..n {
            let nb = &beta[(t + 1) * n..(t + 2) * n];
            beta[t * n + i] = logsumexp(
                nb.iter()
                    .enumerate()
                    .map(|(j, &b)| tr(i, j) + e(t + 1, j) + b),
            );
        }
    }
    let last = &alpha[(len - 1) * n..];
    let log_z = logsumexp(last.iter().zip(end).map(|(&a, &en)| a + en as f64));
    alpha
        .iter()
        .zip(&beta)
        .map(|(&a, &b)| {
            let p = (a + b - log_z).exp();
            if p.is_finite() {
                p
            } else {
                0.0
            }
        })
        .collect()
}

/// conlleval chunking of parsed tags: `B-X` opens an entity of type X, another prefix
/// continues the open entity when it has type X and opens one otherwise, `O` closes.
/// Returns half-open `(start, end, type)`.
pub fn chunk(tags: impl Iterator<Item = Tag>) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize, usize)> = None;
    for (k, tag) in tags.enumerate() {
        match tag {
            Tag::O => {
                out.extend(cur.take());
            }
            Tag::Begin(ty) => {
                out.extend(cur.take());
                cur = Some((k, k + 1, ty));
            }
            Tag::Inside(ty) => match &mut cur {
                Some(c) if c.2 == ty => c.1 = k + 1,
                _ => {
                    out.extend(cur.take());
                    cur = Some((k, k + 1, ty));
                }
            },
        }
    }
    out.extend(cur);
    out
}

/// [`chunk`] over tag strings (`O`, `B-X`, `I-X`): `(start, end, type)`. A tag that is not
/// `O` and has no `-` is read as `O`.
pub fn tags_to_spans<S: AsRef<str>>(tags: &[S]) -> Vec<(usize, usize, String)> {
    let mut types: Vec<String> = Vec::new();
    let parsed: Vec<Tag> = tags
        .iter()
        .map(|t| match t.as_ref().split_once('-') {
            Some((p, ty)) if t.as_ref() != "O" => {
                let idx = types.iter().position(|x| x == ty).unwrap_or_else(|| {
                    types.push(ty.to_string());
                    types.len() - 1
                });
                if p == "B" {
                    Tag::Begin(idx)
                } else {
                    Tag::Inside(idx)
                }
            }
            _ => Tag::O,
        })
        .collect();
    chunk(parsed.into_iter())
        .into_iter()
        .map(|(s, e, t)| (s, e, types[t].clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The f32 score of a path, summed in the same order as the Viterbi recursion.
    fn path_score(p: &[usize], e: &[f32], tr: &[f32], st: &[f32], en: &[f32], n: usize) -> f32 {
        let mut s = st[p[0]] + e[p[0]];
        for t in 1..p.len() {
            s += tr[p[t - 1] * n + p[t]];
            s += e[t * n + p[t]];
        }
        s + en[p[p.len() - 1]]
    }

    fn all_paths(len: usize, n: usize) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for _ in 0..len {
            out = out
                .into_iter()
                .flat_map(|p| {
                    (0..n).map(move |j| {
                        let mut q = p.clone();
                        q.push(j);
                        q
                    })
                })
                .collect();
        }
        out
    }

    fn case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>)> {
        (1usize..5, 1usize..6).prop_flat_map(|(n, len)| {
            let v = |k: usize| proptest::collection::vec(-3.0f32..3.0, k);
            (Just(n), Just(len), v(len * n), v(n * n), v(n), v(n))
        })
    }

    proptest! {
        #[test]
        fn viterbi_equals_brute_force((n, len, e, tr, st, en) in case()) {
            let path = viterbi(&e, len, &tr, &st, &en, n);
            prop_assert_eq!(path.len(), len);
            let got = path_score(&path, &e, &tr, &st, &en, n);
            let scores: Vec<(f32, Vec<usize>)> = all_paths(len, n)
                .into_iter()
                .map(|p| (path_score(&p, &e, &tr, &st, &en, n), p))
                .collect();
            let best = scores.iter().map(|s| s.0).fold(f32::NEG_INFINITY, f32::max);
            prop_assert_eq!(got, best);
            let winners: Vec<&Vec<usize>> = scores.iter().filter(|s| s.0 == best).map(|s| &s.1).collect();
            if winners.len() == 1 {
                prop_assert_eq!(&path, winners[0]);
            }
        }

        #[test]
        fn marginals_sum_to_one_and_match_enumeration((n, len, e, tr, st, en) in case()) {
            let m = marginals(&e, len, &tr, &st, &en, n);
            prop_assert_eq!(m.len(), len * n);
            for t in 0..len {
                let s: f64 = m[t * n..(t + 1) * n].iter().sum();
                prop_assert!((s - 1.0).abs() < 1e-9, "row {} sums to {}", t, s);
            }
            // brute force: P(y_t = j) = sum over paths with y_t = j of exp(score) / Z
            let paths = all_paths(len, n);
            let w: Vec<f64> = paths.iter().map(|p| {
                let mut s = st[p[0]] as f64 + e[p[0]] as f64;
                for t in 1..len {
                    s += tr[p[t - 1] * n + p[t]] as f64 + e[t * n + p[t]] as f64;
                }
                (s + en[p[len - 1]] as f64).exp()
            }).collect();
            let z: f64 = w.iter().sum();
            for t in 0..len {
                for j in 0..n {
                    let p: f64 = paths.iter().zip(&w).filter(|(p, _)| p[t] == j).map(|x| x.1).sum::<f64>() / z;
                    prop_assert!((p - m[t * n + j]).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn chunking_follows_conlleval() {
        let s = tags_to_spans(&["B-A", "I-A", "O", "I-B", "I-B", "B-B", "I-A"]);
        assert_eq!(
            s,
            vec![
                (0, 2, "A".to_string()),
                (3, 5, "B".to_string()),
                (5, 6, "B".to_string()),
                (6, 7, "A".to_string())
            ]
        );
        assert!(tags_to_spans::<&str>(&[]).is_empty());
    }

    /// Tags O, B-X, I-X, B-Y, I-Y.
    fn two_types() -> Vec<String> {
        ["O", "B-X", "I-X", "B-Y", "I-Y"].map(String::from).to_vec()
    }

    /// Whether a path over [`two_types`] is valid BIO.
    fn valid_bio(p: &[usize]) -> bool {
        // inside tags 2 (X) and 4 (Y) must follow their own type: 1/2 for X, 3/4 for Y
        p.iter().enumerate().all(|(t, &j)| match j {
            2 => t > 0 && matches!(p[t - 1], 1 | 2),
            4 => t > 0 && matches!(p[t - 1], 3 | 4),
            _ => true,
        })
    }

    proptest! {
        #[test]
        fn decoding_is_the_best_valid_bio_path(
            (len, e, tr, st, en) in (1usize..6).prop_flat_map(|len| {
                let v = |k: usize| proptest::collection::vec(-3.0f32..3.0, k);
                (Just(len), v(len * 5), v(25), v(5), v(5))
            })
        ) {
            let rows: Vec<Vec<f32>> = tr.chunks(5).map(<[f32]>::to_vec).collect();
            let crf = Crf::new(two_types(), rows, st.clone(), en.clone()).unwrap();
            let path = crf.viterbi(&e, len);
            prop_assert!(valid_bio(&path), "{path:?}");
            // best among the valid paths under the raw (unconstrained) scores
            let best = all_paths(len, 5)
                .into_iter()
                .filter(|p| valid_bio(p))
                .map(|p| path_score(&p, &e, &tr, &st, &en, 5))
                .fold(f32::NEG_INFINITY, f32::max);
            prop_assert_eq!(path_score(&path, &e, &tr, &st, &en, 5), best);
            // and no marginal mass on an invalid start
            let m = crf.marginals(&e, len);
            prop_assert!(m[2] < 1e-12 && m[4] < 1e-12, "{:?}", &m[..5]);
        }
    }

    #[test]
    fn inside_tags_never_start_or_follow_another_type() {
        // emissions that want I-X first and I-Y right after O: the raw Viterbi takes them
        let mut e = vec![0.0f32; 3 * 5];
        e[2] = 9.0; // t0: I-X
        e[5] = 1.0; // t1: O
        e[10 + 4] = 9.0; // t2: I-Y
        let z = vec![vec![0.0; 5]; 5];
        let raw = viterbi(&e, 3, &z.concat(), &[0.0; 5], &[0.0; 5], 5);
        assert_eq!(raw, vec![2, 0, 4]);
        let crf = Crf::new(two_types(), z, vec![0.0; 5], vec![0.0; 5]).unwrap();
        // constrained: O first (I-X may not start; O wins its tie with B-X), then B-Y gives up
        // O's 1.0 so that I-Y's 9.0 can follow it
        assert_eq!(crf.viterbi(&e, 3), vec![0, 3, 4]);
        let spans: Vec<(usize, usize, usize)> = crf
            .decode(&e, 3)
            .iter()
            .map(|s| (s.start, s.end, s.label))
            .collect();
        assert_eq!(spans, vec![(1, 3, 1)]);
    }

    #[test]
    fn decode_gives_confidences_in_unit_interval() {
        let tags = ["O", "B-X", "I-X"].map(String::from).to_vec();
        let crf = Crf::new(tags, vec![vec![0.0; 3]; 3], vec![0.0; 3], vec![0.0; 3]).unwrap();
        // strong B then I, then a weak O
        let e = [0.0, 5.0, 0.0, 0.0, 0.0, 5.0, 0.1, 0.0, 0.0];
        let d = crf.decode(&e, 3);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].start, d[0].end, d[0].label), (0, 2, 0));
        assert!(d[0].confidence > 0.9 && d[0].confidence <= 1.0, "{d:?}");
        assert!(crf.decode(&e, 0).is_empty());
        assert!(Crf::new(vec!["X".into()], vec![vec![0.0]], vec![0.0], vec![0.0]).is_err());
    }
}
