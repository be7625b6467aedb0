//! Entity-level NER scoring with seqeval semantics.
//!
//! Entities match strictly: same start, end and type. Scores are seqeval's default mode
//! (`mode=None`, compatible with conlleval): micro precision/recall/F1 over all entities,
//! per-type scores with support counts, and the unweighted (macro) mean of the per-type
//! scores. A zero denominator gives 0 (seqeval's `zero_division` default), and so does F1 when
//! precision and recall are both 0.
//!
//! Tags are decoded into spans by [`bio_to_spans`], a faithful port of seqeval's
//! `get_entities` with `suffix=False`: the first character of a tag is its prefix (`B`, `I`,
//! `E`, `S`, `O`, or anything else), the text after the first `-` is the type (`_` when empty),
//! and chunks start and end by seqeval's `start_of_chunk` / `end_of_chunk` rules. In
//! particular an `I-` without a preceding `B-` starts an entity, an `I-` of another type than
//! the current entity closes it and starts a new one, and IOBES `E-` / `S-` tags close their
//! entity.

use super::Prf;
use crate::types::{EntitySpan, NerSentence};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Scores of one entity type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TypeScore {
    /// correct / predicted.
    pub precision: f64,
    /// correct / support.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Gold entities of this type.
    pub support: usize,
    /// Predicted entities of this type.
    pub predicted: usize,
    /// Predicted entities of this type that match a gold entity exactly.
    pub correct: usize,
}

/// The result of [`evaluate_spans`] / [`evaluate`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NerResult {
    /// Micro precision.
    pub precision: f64,
    /// Micro recall.
    pub recall: f64,
    /// Micro F1.
    pub f1: f64,
    /// Unweighted mean of the per-type precisions.
    pub macro_precision: f64,
    /// Unweighted mean of the per-type recalls.
    pub macro_recall: f64,
    /// Unweighted mean of the per-type F1 scores.
    pub macro_f1: f64,
    /// Scores per entity type, over the types seen in gold or predictions.
    pub per_type: BTreeMap<String, TypeScore>,
    /// Gold entities.
    pub gold_entities: usize,
    /// Predicted entities.
    pub predicted_entities: usize,
    /// Correct predicted entities.
    pub correct: usize,
}

impl NerResult {
    /// The scores as a flat metric map: `precision`, `recall`, `f1`, `macro_precision`,
    /// `macro_recall`, `macro_f1`, and `TYPE/precision`, `TYPE/recall`, `TYPE/f1` per type.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        m.insert("precision".to_string(), self.precision);
        m.insert("recall".to_string(), self.recall);
        m.insert("f1".to_string(), self.f1);
        m.insert("macro_precision".to_string(), self.macro_precision);
        m.insert("macro_recall".to_string(), self.macro_recall);
        m.insert("macro_f1".to_string(), self.macro_f1);
        for (t, s) in &self.per_type {
            m.insert(format!("{t}/precision"), s.precision);
            m.insert(format!("{t}/recall"), s.recall);
            m.insert(format!("{t}/f1"), s.f1);
        }
        m
    }
}

/// Why gold and predicted sentences cannot be paired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum NerError {
    /// Different numbers of sentences.
    #[error("gold has {gold} sentences but predictions have {pred}")]
    LengthMismatch {
        /// Gold sentences.
        gold: usize,
        /// Predicted sentences.
        pred: usize,
    },
    /// The sentences at one position have different ids.
    #[error("sentence {index}: gold id {gold:?} but predicted id {pred:?}")]
    IdMismatch {
        /// 0-based position.
        index: usize,
        /// Gold id.
        gold: String,
        /// Predicted id.
        pred: String,
    },
}

/// Splits a tag into seqeval's (prefix, type): prefix is the first character, type is what
/// follows the first `-` after it (or the rest when there is no `-`), `_` when empty. An
/// empty tag reads as `O`.
fn split_tag(tag: &str) -> (char, &str) {
    let mut chars = tag.chars();
    let Some(prefix) = chars.next() else {
        return ('O', "_");
    };
    let rest = chars.as_str();
    let ty = match rest.split_once('-') {
        Some((_, after)) => after,
        None => rest,
    };
    (prefix, if ty.is_empty() { "_" } else { ty })
}

/// seqeval's `end_of_chunk`.
fn end_of_chunk(prev_tag: char, tag: char, prev_type: &str, ty: &str) -> bool {
    matches!(prev_tag, 'E' | 'S')
        || (matches!(prev_tag, 'B' | 'I') && matches!(tag, 'B' | 'S' | 'O'))
        || (prev_tag != 'O' && prev_tag != '.' && prev_type != ty)
}

/// seqeval's `start_of_chunk`.
fn start_of_chunk(prev_tag: char, tag: char, prev_type: &str, ty: &str) -> bool {
    matches!(tag, 'B' | 'S')
        || (matches!(prev_tag, 'E' | 'S' | 'O') && matches!(tag, 'E' | 'I'))
        || (tag != 'O' && tag != '.' && prev_type != ty)
}

/// Decodes per-token (here: per-character) tags into entity spans exactly as seqeval's
/// `get_entities` does in its default mode. Span offsets are token indices, `end` exclusive.
pub fn bio_to_spans<S: AsRef<str>>(tags: &[S]) -> Vec<EntitySpan> {
    let mut spans = Vec::new();
    let mut prev_tag = 'O';
    let mut prev_type: &str = "_";
    let mut begin = 0usize;
    // A trailing "O" closes the last chunk, as seqeval appends one.
    let padded = tags.iter().map(|t| t.as_ref()).chain(std::iter::once("O"));
    for (i, raw) in padded.enumerate() {
        let (tag, ty) = split_tag(raw);
        if end_of_chunk(prev_tag, tag, prev_type, ty) {
            spans.push(EntitySpan {
                start: begin,
                end: i,
                label: prev_type.to_string(),
            });
        }
        if start_of_chunk(prev_tag, tag, prev_type, ty) {
            begin = i;
        }
        prev_tag = tag;
        prev_type = ty;
    }
    spans
}

/// Encodes spans as IOB2 tags (`B-TYPE`, `I-TYPE`, `O`) over `len` tokens. Spans are taken in
/// order of start (then longest first). A span that is empty, starts inside an earlier span or
/// starts at or past `len` is dropped; one reaching past `len` is cut at `len`.
pub fn spans_to_bio(len: usize, spans: &[EntitySpan]) -> Vec<String> {
    let mut tags = vec!["O".to_string(); len];
    let mut order: Vec<&EntitySpan> = spans.iter().collect();
    order.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut free_from = 0usize;
    for span in order {
        let start = span.start.max(free_from);
        let end = span.end.min(len);
        if start >= end || start != span.start {
            continue;
        }
        tags[start] = format!("B-{}", span.label);
        for tag in &mut tags[start + 1..end] {
            *tag = format!("I-{}", span.label);
        }
        free_from = end;
    }
    tags
}

/// Scores predicted against gold entity spans, sentence by sentence (paired by position; a
/// sentence missing on one side has no entities there). Spans compare as sets per sentence:
/// a duplicate span counts once.
pub fn evaluate_spans(gold: &[Vec<EntitySpan>], pred: &[Vec<EntitySpan>]) -> NerResult {
    #[derive(Default)]
    struct Counts {
        gold: usize,
        pred: usize,
        correct: usize,
    }
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    let empty: Vec<EntitySpan> = Vec::new();
    for i in 0..gold.len().max(pred.len()) {
        let g: BTreeSet<&EntitySpan> = gold.get(i).unwrap_or(&empty).iter().collect();
        let p: BTreeSet<&EntitySpan> = pred.get(i).unwrap_or(&empty).iter().collect();
        for s in &g {
            counts.entry(s.label.as_str()).or_default().gold += 1;
        }
        for s in &p {
            let c = counts.entry(s.label.as_str()).or_default();
            c.pred += 1;
            if g.contains(s) {
                c.correct += 1;
            }
        }
    }
    let mut result = NerResult::default();
    let mut per_type = BTreeMap::new();
    let (mut sum_p, mut sum_r, mut sum_f) = (0.0, 0.0, 0.0);
    for (label, c) in &counts {
        let prf = Prf::from_counts(c.correct, c.pred, c.gold);
        sum_p += prf.precision;
        sum_r += prf.recall;
        sum_f += prf.f1;
        result.gold_entities += c.gold;
        result.predicted_entities += c.pred;
        result.correct += c.correct;
        per_type.insert(
            label.to_string(),
            TypeScore {
                precision: prf.precision,
                recall: prf.recall,
                f1: prf.f1,
                support: c.gold,
                predicted: c.pred,
                correct: c.correct,
            },
        );
    }
    let micro = Prf::from_counts(
        result.correct,
        result.predicted_entities,
        result.gold_entities,
    );
    result.precision = micro.precision;
    result.recall = micro.recall;
    result.f1 = micro.f1;
    if !counts.is_empty() {
        let n = counts.len() as f64;
        result.macro_precision = sum_p / n;
        result.macro_recall = sum_r / n;
        result.macro_f1 = sum_f / n;
    }
    result.per_type = per_type;
    result
}

/// The entities scored for a sentence: decoded from its tags when it has tags (seqeval
/// compatibility), else its `entities`.
pub fn sentence_spans(sentence: &NerSentence) -> Vec<EntitySpan> {
    if sentence.tags.is_empty() {
        sentence.entities.clone()
    } else {
        bio_to_spans(&sentence.tags)
    }
}

/// Scores predicted against gold sentences, paired by position. Each side's entities come
/// from [`sentence_spans`]. Errors when the counts or the ids of paired sentences differ.
pub fn evaluate(gold: &[NerSentence], pred: &[NerSentence]) -> Result<NerResult, NerError> {
    if gold.len() != pred.len() {
        return Err(NerError::LengthMismatch {
            gold: gold.len(),
            pred: pred.len(),
        });
    }
    for (index, (g, p)) in gold.iter().zip(pred).enumerate() {
        if g.id != p.id {
            return Err(NerError::IdMismatch {
                index,
                gold: g.id.clone(),
                pred: p.id.clone(),
            });
        }
    }
    let g: Vec<Vec<EntitySpan>> = gold.iter().map(sentence_spans).collect();
    let p: Vec<Vec<EntitySpan>> = pred.iter().map(sentence_spans).collect();
    Ok(evaluate_spans(&g, &p))
}

/// Scores per-sentence tag sequences directly (seqeval's `y_true` / `y_pred`).
pub fn evaluate_tags<S: AsRef<str>>(gold: &[Vec<S>], pred: &[Vec<S>]) -> NerResult {
    let g: Vec<Vec<EntitySpan>> = gold.iter().map(|t| bio_to_spans(t)).collect();
    let p: Vec<Vec<EntitySpan>> = pred.iter().map(|t| bio_to_spans(t)).collect();
    evaluate_spans(&g, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, label: &str) -> EntitySpan {
        EntitySpan {
            start,
            end,
            label: label.to_string(),
        }
    }

    fn spans(tags: &[&str]) -> Vec<(String, usize, usize)> {
        bio_to_spans(tags)
            .into_iter()
            .map(|s| (s.label, s.start, s.end - 1))
            .collect()
    }

    fn t(label: &str, a: usize, b: usize) -> (String, usize, usize) {
        (label.to_string(), a, b)
    }

    #[test]
    fn seqeval_docstring_examples() {
        assert_eq!(
            spans(&["B-PER", "I-PER", "O", "B-LOC"]),
            vec![t("PER", 0, 1), t("LOC", 3, 3)]
        );
    }

    #[test]
    fn conlleval_quirks() {
        // I- without B- starts an entity.
        assert_eq!(spans(&["O", "I-A", "I-A", "O"]), vec![t("A", 1, 2)]);
        assert_eq!(spans(&["I-A"]), vec![t("A", 0, 0)]);
        // Type change mid-chunk: a new entity.
        assert_eq!(
            spans(&["B-A", "I-A", "I-B", "I-B"]),
            vec![t("A", 0, 1), t("B", 2, 3)]
        );
        // B after B.
        assert_eq!(spans(&["B-A", "B-A"]), vec![t("A", 0, 0), t("A", 1, 1)]);
        // IOBES.
        assert_eq!(
            spans(&["B-A", "I-A", "E-A", "S-B", "E-A", "I-A"]),
            vec![t("A", 0, 2), t("B", 3, 3), t("A", 4, 4), t("A", 5, 5)]
        );
        // Bare prefixes have type "_"; no entities at all.
        assert_eq!(spans(&["B", "I", "O"]), vec![t("_", 0, 1)]);
        assert!(spans(&["O", "O"]).is_empty());
        assert!(spans(&[]).is_empty());
        // An empty tag reads as O; odd prefixes follow seqeval's rules.
        assert_eq!(spans(&["B-A", ""]), vec![t("A", 0, 0)]);
        assert_eq!(spans(&["X-A", "X-A", "O"]), vec![t("A", 0, 1)]);
        // Types may contain dashes and non-ASCII characters.
        assert_eq!(spans(&["B-x-y", "I-x-y"]), vec![t("x-y", 0, 1)]);
        assert_eq!(spans(&["B-疾病", "I-疾病"]), vec![t("疾病", 0, 1)]);
    }

    #[test]
    fn bio_round_trip() {
        let s = vec![span(0, 2, "dis"), span(3, 4, "sym"), span(4, 6, "sym")];
        let tags = spans_to_bio(7, &s);
        assert_eq!(
            tags,
            vec!["B-dis", "I-dis", "O", "B-sym", "B-sym", "I-sym", "O"]
        );
        assert_eq!(bio_to_spans(&tags), s);
        // Out of range, overlapping and empty spans.
        let tags = spans_to_bio(3, &[span(1, 9, "a"), span(2, 3, "b"), span(0, 0, "c")]);
        assert_eq!(tags, vec!["O", "B-a", "I-a"]);
        assert!(spans_to_bio(0, &[span(0, 1, "a")]).is_empty());
    }

    #[test]
    fn micro_and_per_type_scores() {
        let gold = vec![
            vec![span(0, 2, "A"), span(3, 4, "B")],
            vec![],
            vec![span(1, 2, "A")],
        ];
        let pred = vec![
            vec![span(0, 2, "A"), span(3, 4, "A")],
            vec![span(0, 1, "C")],
            vec![span(1, 2, "A"), span(1, 2, "A")],
        ];
        let r = evaluate_spans(&gold, &pred);
        assert_eq!(
            (r.gold_entities, r.predicted_entities, r.correct),
            (3, 4, 2)
        );
        assert!((r.precision - 0.5).abs() < 1e-12);
        assert!((r.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.f1 - 4.0 / 7.0).abs() < 1e-12);
        let a = &r.per_type["A"];
        assert_eq!((a.support, a.predicted, a.correct), (2, 3, 2));
        let b = &r.per_type["B"];
        assert_eq!((b.support, b.predicted, b.f1), (1, 0, 0.0));
        let c = &r.per_type["C"];
        assert_eq!((c.support, c.predicted, c.precision), (0, 1, 0.0));
        let macro_f1 = (0.8 + 0.0 + 0.0) / 3.0;
        assert!((r.macro_f1 - macro_f1).abs() < 1e-12);
        assert!((r.metrics()["A/f1"] - 0.8).abs() < 1e-12);
    }

    #[test]
    fn empty_inputs_score_zero() {
        let r = evaluate_spans(&[], &[]);
        assert_eq!(r, NerResult::default());
        let r = evaluate_spans(&[vec![span(0, 1, "A")]], &[]);
        assert_eq!((r.precision, r.recall, r.f1), (0.0, 0.0, 0.0));
        assert_eq!(r.gold_entities, 1);
    }

    #[test]
    fn sentence_pairing() {
        let s = |id: &str, tags: &[&str]| NerSentence {
            id: id.to_string(),
            text: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            entities: vec![span(0, 1, "ignored")],
        };
        let gold = vec![s("a", &["B-X", "I-X"]), s("b", &["O"])];
        let pred = vec![s("a", &["B-X", "I-X"]), s("b", &["S-Y"])];
        let r = evaluate(&gold, &pred).unwrap_or_default();
        assert_eq!((r.correct, r.predicted_entities), (1, 2));
        let untagged = NerSentence {
            tags: Vec::new(),
            ..s("a", &[])
        };
        assert_eq!(sentence_spans(&untagged), vec![span(0, 1, "ignored")]);
        assert!(matches!(
            evaluate(&gold, &pred[..1]),
            Err(NerError::LengthMismatch { gold: 2, pred: 1 })
        ));
        let other = vec![s("a", &[]), s("c", &[])];
        assert!(matches!(
            evaluate(&gold, &other),
            Err(NerError::IdMismatch { index: 1, .. })
        ));
        let r = evaluate_tags(&[vec!["B-X", "E-X"]], &[vec!["B-X", "I-X"]]);
        assert_eq!(r.correct, 1);
    }
}
