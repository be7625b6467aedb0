//! The ranking stage: a cross-encoder re-scores a mention's candidates (mention vs concept
//! name), as xMEN does after its generators. Models are trained per task by
//! `models/recipes/link_ranker/` (the cross-encoder recipe on groups of generator candidates).

use crate::linker::Linked;
use crate::LinkError;
use quarry_models::rerank::CrossEncoder;

/// The text a cross-encoder reads for a candidate: its preferred name, and the synonym that
/// matched when that is another of the terminology's names ("software developer ; java
/// developer"; a training mention added by the memory is not shown: the ranker judges the
/// mention against the terminology). Training (`quarry eval link --export-groups`) writes
/// the same text.
pub fn passage(c: &Linked) -> String {
    if c.matched.is_empty() || c.matched == c.name || c.from_memory {
        c.name.clone()
    } else {
        format!("{} ; {}", c.name, c.matched)
    }
}

/// A cross-encoder over the top candidates of a generator.
pub struct Ranker {
    model: CrossEncoder,
    depth: usize,
    generator_weight: f32,
}

/// Re-orders the candidates a ranker scored (those with a [`Linked::rank_score`], which
/// lead the list) by `rank_score + generator_weight * score`; ties keep the generator's
/// order. Weight 0 is the ranker alone.
pub fn fuse(candidates: &mut [Linked], generator_weight: f32) {
    let n = candidates
        .iter()
        .take_while(|c| c.rank_score.is_some())
        .count();
    let key = |c: &Linked| c.rank_score.unwrap_or(f32::NEG_INFINITY) + generator_weight * c.score;
    // the generator's order first, so the stable sort breaks ties by it
    candidates[..n].sort_by(|a, b| b.score.total_cmp(&a.score));
    candidates[..n].sort_by(|a, b| key(b).total_cmp(&key(a)));
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("model", &self.model.name())
            .field("depth", &self.depth)
            .finish()
    }
}

impl Ranker {
    /// Re-scores the first `depth` candidates of each mention with `model`.
    pub fn new(model: CrossEncoder, depth: usize) -> Self {
        Ranker {
            model,
            depth: depth.max(1),
            generator_weight: 0.0,
        }
    }

    /// Orders by `logit + w * generator score` instead of the logit alone ([`fuse`]).
    pub fn with_generator_weight(mut self, w: f32) -> Self {
        self.generator_weight = w;
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// Candidates re-scored per mention.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Re-ranks each mention's candidates: the first [`Ranker::depth`] are sorted by the
    /// cross-encoder's logit (kept in [`Linked::rank_score`]), plus the generator score
    /// times [`Ranker::with_generator_weight`] (ties keep the generator's order), and stay
    /// ahead of the rest, which keep their order. All pairs of all mentions
    /// go through the model in one length-sorted batched call.
    pub fn rerank(
        &self,
        mentions: &[&str],
        candidates: Vec<Vec<Linked>>,
    ) -> Result<Vec<Vec<Linked>>, LinkError> {
        if mentions.len() != candidates.len() {
            return Err(LinkError::Model(format!(
                "{} mentions but {} candidate lists",
                mentions.len(),
                candidates.len()
            )));
        }
        let passages: Vec<Vec<String>> = candidates
            .iter()
            .map(|cs| cs.iter().take(self.depth).map(passage).collect())
            .collect();
        let pairs: Vec<(&str, &str)> = mentions
            .iter()
            .zip(&passages)
            .flat_map(|(m, ps)| ps.iter().map(move |p| (*m, p.as_str())))
            .collect();
        let scores = if pairs.is_empty() {
            Vec::new()
        } else {
            self.model.score_pairs(&pairs).map_err(LinkError::model)?
        };
        let mut scores = scores.into_iter();
        Ok(candidates
            .into_iter()
            .map(|mut cs| {
                let n = cs.len().min(self.depth);
                for c in cs.iter_mut().take(n) {
                    c.rank_score = scores.next();
                }
                fuse(&mut cs, self.generator_weight);
                cs
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuse_adds_the_weighted_generator_score() {
        let c = |id: &str, score: f32, rank: Option<f32>| Linked {
            id: id.into(),
            name: id.into(),
            matched: id.into(),
            score,
            from_memory: false,
            rank_score: rank,
        };
        let mut cs = vec![
            c("a", 0.9, Some(1.0)),
            c("b", 0.2, Some(1.5)),
            c("c", 0.5, Some(1.0)),
            c("d", 0.95, None),
        ];
        fuse(&mut cs, 0.0);
        let ids = |cs: &[Linked]| cs.iter().map(|c| c.id.clone()).collect::<String>();
        // the logit alone; a and c tie and keep the generator's order; d stays last
        assert_eq!(ids(&cs), "bacd");
        fuse(&mut cs, 1.0); // a 1.9, b 1.7, c 1.5
        assert_eq!(ids(&cs), "abcd");
    }

    #[test]
    fn passage_names_the_matched_synonym() {
        let mut c = Linked {
            id: "x".into(),
            name: "software developer".into(),
            matched: "software developer".into(),
            score: 0.5,
            from_memory: false,
            rank_score: None,
        };
        assert_eq!(passage(&c), "software developer");
        c.matched = "java developer".into();
        assert_eq!(passage(&c), "software developer ; java developer");
        // a training mention the memory added is not the terminology's: not shown
        c.from_memory = true;
        assert_eq!(passage(&c), "software developer");
    }
}
