//! Length-sorted dynamic batching.
//!
//! Texts are grouped into batches of at most `batch_size`; each batch is padded only to its
//! own longest text. Sorting by length first makes the texts of a batch similar in length,
//! so far less padding is computed; [`plan_padded`] then also chooses where the sorted run
//! is cut, trading the padding a cut saves against the fixed cost of one more inference
//! call. Results are returned in the callers' order.

use crate::tokenizer::Encoded;

/// Splits `0..lengths.len()` into batches of indices; with `sort`, by descending length.
pub fn plan(lengths: &[usize], batch_size: usize, sort: bool) -> Vec<Vec<usize>> {
    let order: Vec<usize> = if sort {
        longest_first(lengths)
    } else {
        (0..lengths.len()).collect()
    };
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
}

/// Indices by descending length; stable, so equal lengths keep input order (deterministic
/// batches). Both plans cut this order.
fn longest_first(lengths: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    order
}

/// The fixed cost of one inference call, in token positions: what a further cut of a sorted
/// run must save in padding to pay for itself. Chosen on the 6-layer MiniLM cross-encoder
/// (int8, one thread, short entity-linking pairs of `scripts/bench_rerank.sh
/// PAIRSET=jobbert`): throughput was flat from 4 to 16 and fell at 0 (one call per length)
/// and at fixed chunks (BENCHMARKS.md, issue 7).
pub const CALL_COST_TOKENS: usize = 16;

/// Length-sorted batches (descending, stable) of at most `max_batch` items whose cut points
/// minimise `padded positions + call_cost * calls` (dynamic programming over the sorted
/// order; exact for that cost). Equal lengths give full batches of `max_batch`, as
/// [`plan`] does; lengths that fall off steeply inside a batch get their own call when the
/// padding saved exceeds `call_cost` positions.
pub fn plan_padded(lengths: &[usize], max_batch: usize, call_cost: usize) -> Vec<Vec<usize>> {
    let n = lengths.len();
    let max_batch = max_batch.max(1);
    let order = longest_first(lengths);
    // best[j]: the cheapest cost of the first j sorted items; cut[j]: where its last batch starts
    let mut best = vec![u64::MAX; n + 1];
    let mut cut = vec![0usize; n + 1];
    best[0] = 0;
    for j in 1..=n {
        for i in j.saturating_sub(max_batch)..j {
            // the batch order[i..j] pads to its first (longest) item
            let width = lengths[order[i]].max(1) as u64;
            let c = best[i] + call_cost as u64 + (j - i) as u64 * width;
            // `<=` prefers the earliest start: the fewest calls among equal costs
            if c <= best[j] {
                best[j] = c;
                cut[j] = i;
            }
        }
    }
    let mut out = Vec::new();
    let mut j = n;
    while j > 0 {
        let i = cut[j];
        out.push(order[i..j].to_vec());
        j = i;
    }
    out.reverse();
    out
}

/// The batches a model runs: [`plan_padded`] with [`CALL_COST_TOKENS`] when `sort`, else
/// input-order chunks of `max_batch` ([`plan`] unsorted).
pub fn batches(lengths: &[usize], max_batch: usize, sort: bool) -> Vec<Vec<usize>> {
    if sort {
        plan_padded(lengths, max_batch, CALL_COST_TOKENS)
    } else {
        plan(lengths, max_batch, false)
    }
}

/// A padded batch in row-major layout, ready for `Tensor::from_array((shape, data))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    /// Rows.
    pub batch: usize,
    /// Columns (longest sequence in the batch).
    pub seq: usize,
    /// Token ids, `batch * seq`.
    pub input_ids: Vec<i64>,
    /// 1 for tokens, 0 for padding.
    pub attention_mask: Vec<i64>,
    /// Segment ids.
    pub token_type_ids: Vec<i64>,
}

impl PaddedBatch {
    /// Pads the selected encodings to the longest among them with `pad_id`.
    pub fn build(encodings: &[Encoded], indices: &[usize], pad_id: i64) -> Self {
        let seq = indices
            .iter()
            .map(|&i| encodings[i].ids.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let batch = indices.len();
        let mut input_ids = vec![pad_id; batch * seq];
        let mut attention_mask = vec![0i64; batch * seq];
        let mut token_type_ids = vec![0i64; batch * seq];
        for (row, &i) in indices.iter().enumerate() {
            let e = &encodings[i];
            let base = row * seq;
            input_ids[base..base + e.ids.len()].copy_from_slice(&e.ids);
            token_type_ids[base..base + e.type_ids.len()].copy_from_slice(&e.type_ids);
            attention_mask[base..base + e.ids.len()].fill(1);
        }
        PaddedBatch {
            batch,
            seq,
            input_ids,
            attention_mask,
            token_type_ids,
        }
    }

    /// Number of padding positions (wasted compute).
    pub fn padding(&self) -> usize {
        self.attention_mask.iter().filter(|&&m| m == 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: usize) -> Encoded {
        Encoded {
            ids: (1..=n as i64).collect(),
            type_ids: vec![0; n],
        }
    }

    #[test]
    fn sorted_plan_covers_every_index_once() {
        let lengths = [3, 10, 1, 7, 7, 2];
        let p = plan(&lengths, 4, true);
        assert_eq!(p, vec![vec![1, 3, 4, 0], vec![5, 2]]);
        let mut all: Vec<usize> = p.concat();
        all.sort();
        assert_eq!(all, (0..6).collect::<Vec<_>>());
        assert_eq!(plan(&lengths, 4, false), vec![vec![0, 1, 2, 3], vec![4, 5]]);
        assert!(plan(&[], 4, true).is_empty());
    }

    /// The cost [`plan_padded`] minimises, for any plan.
    fn cost(lengths: &[usize], plan: &[Vec<usize>], call: usize) -> usize {
        plan.iter()
            .map(|b| call + b.len() * b.iter().map(|&i| lengths[i].max(1)).max().unwrap_or(1))
            .sum()
    }

    /// Every way to cut the sorted order into batches of at most `max` (brute force).
    fn best_cut_cost(sorted: &[usize], max: usize, call: usize) -> usize {
        if sorted.is_empty() {
            return 0;
        }
        (1..=max.min(sorted.len()))
            .map(|k| call + k * sorted[0].max(1) + best_cut_cost(&sorted[k..], max, call))
            .min()
            .unwrap()
    }

    #[test]
    fn padded_plan_is_optimal_and_covers_every_index_once() {
        let mut seed = 7u64;
        for round in 0..300 {
            let n = round % 13;
            let lengths: Vec<usize> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    1 + (seed >> 33) as usize % 60
                })
                .collect();
            let max = 1 + round % 5;
            let call = [0, 4, 16, 64, 1000][round % 5];
            let p = plan_padded(&lengths, max, call);
            let mut all: Vec<usize> = p.concat();
            all.sort();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "{lengths:?}");
            assert!(p.iter().all(|b| !b.is_empty() && b.len() <= max));
            let mut sorted = lengths.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(
                cost(&lengths, &p, call),
                best_cut_cost(&sorted, max, call),
                "{lengths:?} max {max} call {call}"
            );
            // never worse than fixed chunks of the sorted order
            assert!(cost(&lengths, &p, call) <= cost(&lengths, &plan(&lengths, max, true), call));
        }
    }

    #[test]
    fn padded_plan_cuts_where_lengths_fall() {
        // equal lengths: full batches, as the fixed plan
        assert_eq!(plan_padded(&[9; 10], 4, 64), plan(&[9; 10], 4, true));
        // one long item among short ones gets its own call when the padding it would cost
        // the others is worth more than a call
        let lengths = [40, 5, 5, 5, 5, 5, 5, 5];
        assert_eq!(plan_padded(&lengths, 8, 64).len(), 2);
        assert_eq!(plan_padded(&lengths, 8, 64)[0], vec![0]);
        // and shares a call when it is not
        assert_eq!(plan_padded(&lengths, 8, 1000).len(), 1);
        assert!(plan_padded(&[], 4, 64).is_empty());
    }

    #[test]
    fn padding_to_batch_maximum() {
        let encs = vec![enc(2), enc(4)];
        let b = PaddedBatch::build(&encs, &[1, 0], 0);
        assert_eq!((b.batch, b.seq), (2, 4));
        assert_eq!(b.input_ids, vec![1, 2, 3, 4, 1, 2, 0, 0]);
        assert_eq!(b.attention_mask, vec![1, 1, 1, 1, 1, 1, 0, 0]);
        assert_eq!(b.padding(), 2);
    }

    #[test]
    fn sorting_reduces_padding() {
        let lens = [5usize, 100, 6, 98, 4, 99, 7, 97];
        let encs: Vec<_> = lens.iter().map(|&n| enc(n)).collect();
        let pad = |sort| -> usize {
            plan(&lens, 2, sort)
                .iter()
                .map(|ix| PaddedBatch::build(&encs, ix, 0).padding())
                .sum()
        };
        assert!(
            pad(true) * 10 < pad(false),
            "{} vs {}",
            pad(true),
            pad(false)
        );
    }
}
