//! Deterministic query splits carved out of a training split.
//!
//! SciFact ships train and test only; model selection (re-ranker training, fusion weights)
//! needs a dev set that training never sees. A query belongs to the **dev** part when the
//! first 8 hex digits of `sha256(query id)`, read as a number, are divisible by 5 (about one
//! query in five); the rest is the **fit** part. The same rule is implemented by
//! `models/recipes/cross_encoder/pairs.py` (`dev_part`), so a recipe trained on
//! `fit` is selected and reported on `dev` with `quarry eval retrieval --part dev`.

use sha2::{Digest, Sha256};

/// Which queries of a split an evaluation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Every query.
    #[default]
    All,
    /// The held-out one in five ([`is_dev`]).
    Dev,
    /// The rest (what training uses).
    Fit,
}

impl std::str::FromStr for Part {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(Part::All),
            "dev" => Ok(Part::Dev),
            "fit" => Ok(Part::Fit),
            o => Err(format!("unknown part '{o}' (all | dev | fit)")),
        }
    }
}

impl Part {
    /// Whether the query id belongs to this part.
    pub fn contains(self, qid: &str) -> bool {
        match self {
            Part::All => true,
            Part::Dev => is_dev(qid),
            Part::Fit => !is_dev(qid),
        }
    }
}

/// The dev rule: `int(sha256(qid)[:8 hex digits]) % 5 == 0`.
pub fn is_dev(qid: &str) -> bool {
    let d = Sha256::digest(qid.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 5 == 0
}

/// The fold (0..k) of a key for k-fold cross-fitting inside one part: digits 8..16 of
/// `sha256(key)` (independent of [`is_dev`], which reads the first eight), modulo k.
pub fn fold(key: &str, k: usize) -> usize {
    let d = Sha256::digest(key.as_bytes());
    (u32::from_be_bytes([d[4], d[5], d[6], d[7]]) as usize) % k.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stable_balanced_and_cross_the_dev_rule() {
        let keys: Vec<String> = (0..5000).map(|i| format!("mention {i}")).collect();
        let mut counts = [0usize; 4];
        let mut dev_in_fold = [0usize; 4];
        for key in &keys {
            let f = fold(key, 4);
            assert_eq!(f, fold(key, 4));
            counts[f] += 1;
            dev_in_fold[f] += usize::from(is_dev(key));
        }
        for (c, d) in counts.iter().zip(dev_in_fold) {
            assert!((1100..1400).contains(c), "{counts:?}");
            // the dev rule is spread over the folds, not aligned with one
            assert!(d > c / 10 && d < c * 3 / 10, "{dev_in_fold:?} {counts:?}");
        }
        assert_eq!(fold("x", 0), 0);
    }

    #[test]
    fn matches_the_python_rule_and_splits_about_one_in_five() {
        // Python: int(hashlib.sha256(b"11").hexdigest()[:8], 16) % 5 == 0 (0x4fc82b26);
        // "1" gives 0x6b86b273 % 5 == 4.
        assert!(is_dev("11"));
        assert!(!is_dev("1"));
        let n = (0..5000).filter(|i| is_dev(&i.to_string())).count();
        assert!((900..1100).contains(&n), "{n}");
        assert!(Part::Fit.contains("1") && !Part::Dev.contains("1") && Part::All.contains("1"));
        assert_eq!("dev".parse::<Part>().unwrap(), Part::Dev);
        assert!("test".parse::<Part>().is_err());
    }
}
