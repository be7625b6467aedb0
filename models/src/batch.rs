//! Length-sorted dynamic batching.
//!
//! Texts are grouped into batches of `batch_size`; each batch is padded only to its own
//! longest text. Sorting by length first makes the texts of a batch similar in length, so
//! far less padding is computed. Results are returned in the callers' order.

use crate::tokenizer::Encoded;

/// Splits `0..lengths.len()` into batches of indices; with `sort`, by descending length.
pub fn plan(lengths: &[usize], batch_size: usize, sort: bool) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    if sort {
        // Stable, so equal lengths keep input order (deterministic batches).
        order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    }
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
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
