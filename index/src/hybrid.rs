//! Fusion of ranked lists (BM25 and learned sparse): normalized linear combination and
//! reciprocal rank fusion.
//!
//! * **linear**: each list's scores are min-max normalized over the list (a list whose
//!   scores are all equal maps them to 1), a document missing from a list gets 0 there, and
//!   the fused score is `sum_i weight_i * norm_i(d)`.
//! * **rrf** (Cormack et al. 2009): `sum_i weight_i / (k + rank_i(d))`, ranks from 1;
//!   missing documents contribute nothing.
//!
//! Ties are broken by the lower document address, so fusion is deterministic.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;

/// How lists are fused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Min-max normalized weighted sum.
    Linear,
    /// Weighted reciprocal rank fusion.
    Rrf,
}

impl std::str::FromStr for Fusion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "linear" => Ok(Fusion::Linear),
            "rrf" => Ok(Fusion::Rrf),
            o => Err(format!("unknown fusion '{o}' (linear | rrf)")),
        }
    }
}

/// Hybrid search parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HybridParams {
    /// Fusion method.
    pub fusion: Fusion,
    /// Weight of the BM25 list.
    pub bm25_weight: f32,
    /// Weight of the sparse list.
    pub sparse_weight: f32,
    /// RRF's rank offset k.
    pub rrf_k: f32,
    /// How many results of each list are fused (at least the requested k).
    pub depth: usize,
}

impl Default for HybridParams {
    fn default() -> Self {
        HybridParams {
            fusion: Fusion::Linear,
            bm25_weight: 0.6,
            sparse_weight: 0.4,
            rrf_k: 60.0,
            depth: 100,
        }
    }
}

/// Fuses ranked lists `(list, weight)`; each list is sorted best first. Returns the fused
/// list, best first, truncated to `k`.
pub fn fuse<D: Copy + Eq + Hash + Ord>(
    lists: &[(&[(f32, D)], f32)],
    fusion: Fusion,
    rrf_k: f32,
    k: usize,
) -> Vec<(f32, D)> {
    let mut acc: HashMap<D, f32> = HashMap::new();
    for (list, weight) in lists {
        if list.is_empty() {
            continue;
        }
        match fusion {
            Fusion::Linear => {
                let (lo, hi) = list
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |a, x| {
                        (a.0.min(x.0), a.1.max(x.0))
                    });
                for &(s, d) in list.iter() {
                    let n = if hi > lo { (s - lo) / (hi - lo) } else { 1.0 };
                    *acc.entry(d).or_default() += weight * n;
                }
            }
            Fusion::Rrf => {
                for (rank, &(_, d)) in list.iter().enumerate() {
                    *acc.entry(d).or_default() += weight / (rrf_k + rank as f32 + 1.0);
                }
            }
        }
    }
    let mut out: Vec<(f32, D)> = acc.into_iter().map(|(d, s)| (s, d)).collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_normalizes_and_weights() {
        let a = [(10.0, 1u32), (5.0, 2), (0.0, 3)];
        let b = [(2.0, 3u32), (1.0, 1)];
        let f = fuse(&[(&a, 0.5), (&b, 0.5)], Fusion::Linear, 60.0, 10);
        // doc1: 0.5*1 + 0.5*0 = 0.5; doc2: 0.5*0.5 = 0.25; doc3: 0 + 0.5*1 = 0.5
        assert_eq!(f.iter().map(|x| x.1).collect::<Vec<_>>(), vec![1, 3, 2]);
        assert!((f[0].0 - 0.5).abs() < 1e-6 && (f[2].0 - 0.25).abs() < 1e-6);
        // weight 0 on one side reproduces the other's order
        let only_b = fuse(&[(&a, 0.0), (&b, 1.0)], Fusion::Linear, 60.0, 2);
        assert_eq!(only_b[0].1, 3);
    }

    #[test]
    fn rrf_by_rank() {
        let a = [(9.0, 1u32), (8.0, 2)];
        let b = [(0.3, 2u32), (0.2, 3)];
        let f = fuse(&[(&a, 1.0), (&b, 1.0)], Fusion::Rrf, 60.0, 10);
        assert_eq!(f[0].1, 2, "present in both lists");
        assert!((f[0].0 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(f.len(), 3);
        assert!(fuse::<u32>(&[], Fusion::Rrf, 60.0, 5).is_empty());
        assert_eq!("rrf".parse::<Fusion>(), Ok(Fusion::Rrf));
        assert!("max".parse::<Fusion>().is_err());
    }
}
