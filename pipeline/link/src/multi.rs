//! Multi-concept output: how many of a mention's best candidates form its answer.
//!
//! A CHIP-CDN diagnosis may name several concepts ("左膝退变伴游离体" -> 膝骨关节病 +
//! 膝关节游离体; 54% of its training mentions name more than one). The answer is the top
//! candidate plus each next candidate, in rank order, whose score is at least `ratio` times
//! the top score, at most `max` in all: a relative threshold, because generator scores of
//! one mention are comparable with each other (a list's segments each find their own
//! concept with a score near the whole mention's), while their absolute level moves with
//! the mention's length. When the top candidate matched a training mention of the memory
//! ([`crate::Linker::for_task_system`]), the other concepts that training mention was
//! labelled with join too: the memory remembers the whole set.

use crate::linker::Linked;
use crate::LinkError;

/// The rule that sizes the answer set ([`SetRule::size`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetRule {
    /// A candidate joins when its score is at least this share of the top score.
    pub ratio: f32,
    /// At most this many concepts.
    pub max: usize,
}

impl SetRule {
    /// One concept: the single-concept tasks' rule.
    pub const SINGLE: SetRule = SetRule { ratio: 1.0, max: 1 };

    /// How many of `candidates` (best first) form the answer: 0 without candidates, else
    /// at least 1.
    pub fn size(&self, candidates: &[Linked]) -> usize {
        let Some(top) = candidates.first() else {
            return 0;
        };
        let floor = top.score * self.ratio;
        let same_memory = |c: &Linked| top.from_memory && c.from_memory && c.matched == top.matched;
        1 + candidates
            .iter()
            .take(self.max.max(1))
            .skip(1)
            .take_while(|c| (c.score >= floor && c.score > 0.0) || same_memory(c))
            .count()
    }
}

impl std::fmt::Display for SetRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ratio, self.max)
    }
}

impl std::str::FromStr for SetRule {
    type Err = LinkError;
    /// `ratio:max`, e.g. `0.9:3`.
    fn from_str(s: &str) -> Result<Self, LinkError> {
        let bad = || LinkError::Unknown {
            what: "set rule",
            name: s.to_string(),
            known: "ratio:max with 0 < ratio <= 1 and max >= 1, e.g. 0.9:3".into(),
        };
        let (r, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let ratio: f32 = r.trim().parse().map_err(|_| bad())?;
        let max: usize = m.trim().parse().map_err(|_| bad())?;
        if !(ratio > 0.0 && ratio <= 1.0) || max == 0 {
            return Err(bad());
        }
        Ok(SetRule { ratio, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(scores: &[f32]) -> Vec<Linked> {
        scores
            .iter()
            .enumerate()
            .map(|(i, &s)| Linked {
                id: i.to_string(),
                name: format!("c{i}"),
                matched: format!("c{i}"),
                score: s,
                from_memory: false,
                rank_score: None,
            })
            .collect()
    }

    #[test]
    fn the_set_takes_candidates_close_to_the_top() {
        let r: SetRule = "0.8:3".parse().unwrap();
        assert_eq!(r.size(&cands(&[])), 0);
        assert_eq!(r.size(&cands(&[0.9])), 1);
        assert_eq!(r.size(&cands(&[1.0, 0.85, 0.5, 0.84])), 2); // stops at the first gap
        assert_eq!(r.size(&cands(&[1.0, 0.9, 0.9, 0.9])), 3); // capped
        assert_eq!(r.size(&cands(&[0.0, 0.0])), 1); // zero scores never join
        assert_eq!(SetRule::SINGLE.size(&cands(&[1.0, 1.0])), 1);
        // a memory hit brings the other concepts of the same training mention
        let mut cs = cands(&[1.0, 0.5, 0.5, 0.5]);
        for c in &mut cs[..2] {
            c.from_memory = true;
            c.matched = "左膝退变伴游离体".into();
        }
        cs[2].from_memory = true;
        assert_eq!(r.size(&cs), 2);
        assert_eq!(r.to_string().parse::<SetRule>().unwrap(), r);
        for bad in ["0.8", "0:2", "1.5:2", "0.5:0", "x:1"] {
            assert!(bad.parse::<SetRule>().is_err(), "{bad}");
        }
    }
}
