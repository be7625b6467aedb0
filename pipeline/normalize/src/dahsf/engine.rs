//! The digestion engine: layer 1 (lexicon + data words), layer 2 (contextual synonyms,
//! phrase classes, sentence frameworks).

use super::data::{sanitize, DataType, DataWordExtractor, DefaultDataWords};
use super::fold::{is_punct, is_space, match_fold, needs_space, width_fold};
use super::forest::{CElem, CPath, CanonId, ClassId, Forest, Join, LabelId, Trie};
use aho_corasick::Input;
use quarry_core::{Annotation, NormalizedText, Span};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A word of the digested text: a layer-1 lexicon or data word, a layer-2 word (a context
/// join or a phrase), punctuation (`PUNCT`) or unmatched text (`TEXT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Word {
    /// The original characters.
    pub surface: String,
    /// The canonical form (the root of the word's synonym class, a data word's written
    /// form, or the width-folded surface for `PUNCT` and `TEXT`).
    pub canonical: String,
    /// The label.
    pub label: String,
    /// Character offsets into the input.
    pub span: Span,
    /// 1 for layer-1 words, 2 for words made or rewritten by layer 2.
    pub layer: u8,
}

/// A borrowed view of a [`Word`], handed out by [`Engine::layer1_with`] without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordRef<'a> {
    /// The original characters.
    pub surface: &'a str,
    /// The canonical form.
    pub canonical: &'a str,
    /// The label.
    pub label: &'a str,
    /// Character offsets into the input.
    pub span: Span,
    /// 1 for layer-1 words, 2 for layer-2 words.
    pub layer: u8,
}

impl WordRef<'_> {
    /// An owned copy.
    pub fn to_word(&self) -> Word {
        Word {
            surface: self.surface.to_string(),
            canonical: self.canonical.to_string(),
            label: self.label.to_string(),
            span: self.span,
            layer: self.layer,
        }
    }
}

/// The value of one frame slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotValue {
    /// The canonical form of the word that filled the slot (or the framework's constant).
    pub canonical: String,
    /// The label of that word (empty for constants).
    pub label: String,
    /// Character offsets into the input (the frame's span for constants).
    pub span: Span,
}

/// A frame: a framework matched over the words, with its slots filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The frame name (`lesion`, `close`, `title`).
    pub name: String,
    /// The framework that produced it.
    pub framework: String,
    /// Slot name -> value.
    pub slots: BTreeMap<String, SlotValue>,
    /// Character offsets into the input of the matched words.
    pub span: Span,
}

impl std::fmt::Display for Frame {
    /// `lesion(finding=低密度影, location=肝右叶, size=3.2cm×2.8cm)` (slots sorted by name).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, (k, v)) in self.slots.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={}", v.canonical)?;
        }
        f.write_str(")")
    }
}

/// The result of digesting a text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Digest {
    /// The words, in text order, covering every non-space character exactly once.
    pub words: Vec<Word>,
    /// The frames, in text order, non-overlapping.
    pub frames: Vec<Frame>,
    /// The canonical forms of the words joined in order (see the module documentation for
    /// the spacing rule).
    pub normalized: String,
}

impl Digest {
    /// Annotations for a field: one `dahsf-word` per lexicon, data or layer-2 word (label
    /// `LABEL=canonical`) and one `dahsf-frame` per frame (label = the frame's display form).
    pub fn to_annotations(&self, field: &str, source: &str) -> Vec<Annotation> {
        let words = self
            .words
            .iter()
            .filter(|w| w.label != super::TEXT_LABEL && w.label != super::PUNCT_LABEL)
            .map(|w| Annotation {
                field: field.to_string(),
                span: w.span,
                kind: "dahsf-word".into(),
                label: format!("{}={}", w.label, w.canonical),
                source: source.to_string(),
                score: None,
                canonical: None,
            });
        let frames = self.frames.iter().map(|f| Annotation {
            field: field.to_string(),
            span: f.span,
            kind: "dahsf-frame".into(),
            label: f.to_string(),
            source: source.to_string(),
            score: None,
            canonical: None,
        });
        words.chain(frames).collect()
    }
}

/// A forest plus a data-word extractor: digests texts into words, frames and normalized
/// text. Cheap to share (`Send + Sync`); see [`super::ForestSet`] for hot reloading.
pub struct Engine {
    forest: Forest,
    extractor: Box<dyn DataWordExtractor>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("forest", &self.forest.name())
            .finish()
    }
}

/// Where a token's canonical form lives.
#[derive(Debug, Clone)]
enum Canon {
    Class(ClassId),
    Phrase(u32),
    Own(String),
    /// The width-folded text of the token's span.
    Display,
}

#[derive(Debug, Clone)]
struct Reading {
    label: LabelId,
    canon: Canon,
    canon_id: Option<CanonId>,
}

#[derive(Debug, Clone)]
struct Tok {
    start: u32,
    end: u32,
    r: Reading,
    alts: Vec<Reading>,
    layer: u8,
}

impl Tok {
    /// An empty token (no allocation) used to move tokens out of a vector.
    fn placeholder() -> Tok {
        Tok {
            start: 0,
            end: 0,
            r: Reading {
                label: 0,
                canon: Canon::Display,
                canon_id: None,
            },
            alts: Vec::new(),
            layer: 1,
        }
    }
}

/// The input, folded for matching.
struct Prepared<'a> {
    original: &'a str,
    display: String,
    folded: String,
    /// byte offset of each character in `original` (+ the end)
    orig_bytes: Vec<u32>,
    /// byte offset of each character in `display`/`folded` (+ the end)
    fold_bytes: Vec<u32>,
}

impl<'a> Prepared<'a> {
    fn new(original: &'a str) -> Self {
        let mut display = String::with_capacity(original.len());
        let mut folded = String::with_capacity(original.len());
        let mut orig_bytes = Vec::with_capacity(original.len() + 1);
        let mut fold_bytes = Vec::with_capacity(original.len() + 1);
        for (i, c) in original.char_indices() {
            orig_bytes.push(i as u32);
            fold_bytes.push(display.len() as u32);
            let w = width_fold(c);
            display.push(w);
            folded.push(w.to_ascii_lowercase());
        }
        orig_bytes.push(original.len() as u32);
        fold_bytes.push(display.len() as u32);
        Prepared {
            original,
            display,
            folded,
            orig_bytes,
            fold_bytes,
        }
    }

    fn n_chars(&self) -> u32 {
        (self.fold_bytes.len() - 1) as u32
    }

    fn char_at_byte(&self, byte: usize) -> u32 {
        match self.fold_bytes.binary_search(&(byte as u32)) {
            Ok(i) => i as u32,
            Err(i) => i.saturating_sub(1) as u32,
        }
    }

    fn display_slice(&self, s: u32, e: u32) -> &str {
        let a = self.fold_bytes[s as usize] as usize;
        let b = self.fold_bytes[e as usize] as usize;
        self.display.get(a..b).unwrap_or("")
    }

    fn original_slice(&self, s: u32, e: u32) -> &str {
        let a = self.orig_bytes[s as usize] as usize;
        let b = self.orig_bytes[e as usize] as usize;
        self.original.get(a..b).unwrap_or("")
    }
}

/// A layer-1 candidate before overlap resolution.
#[derive(Debug, Clone)]
struct Cand {
    start: u32,
    end: u32,
    kind: CandKind,
    alts: Vec<CandKind>,
}

#[derive(Debug, Clone)]
enum CandKind {
    Lex(u32),
    Data(DataType, String),
}

/// A framework match found in the trie; its reading choices are
/// `pool[choices..choices + (end - start)]`.
struct FMatch {
    start: u32,
    end: u32,
    fw: u32,
    path: u32,
    choices: usize,
    score: Score,
}

/// Slots filled, words covered, minus frames used, summed framework priority.
type Score = (i64, i64, i64, i64);

fn add(a: Score, b: Score) -> Score {
    (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3)
}

impl Engine {
    /// An engine over `forest` with the default data-word extractor ([`DefaultDataWords`]).
    pub fn new(forest: Forest) -> Engine {
        Engine::with_extractor(forest, Box::new(DefaultDataWords))
    }

    /// An engine with a custom data-word extractor.
    pub fn with_extractor(forest: Forest, extractor: Box<dyn DataWordExtractor>) -> Engine {
        Engine { forest, extractor }
    }

    /// The forest.
    pub fn forest(&self) -> &Forest {
        &self.forest
    }

    /// The multiplication-rule coverage of the forest.
    pub fn coverage(&self) -> super::Coverage {
        super::coverage::compute(&self.forest)
    }

    /// Layer 1 only: lexicon words (leftmost-longest, ASCII word boundaries respected),
    /// data words, punctuation and unmatched text, in order.
    pub fn layer1(&self, text: &str) -> Vec<Word> {
        let p = Prepared::new(text);
        let toks = self.layer1_toks(&p);
        toks.iter().map(|t| self.word(&p, t)).collect()
    }

    /// Layer 1 as a stream of borrowed words (no per-word allocation): the same words as
    /// [`Engine::layer1`], in order.
    pub fn layer1_with<F: FnMut(WordRef<'_>)>(&self, text: &str, mut f: F) {
        let p = Prepared::new(text);
        for t in &self.layer1_toks(&p) {
            f(WordRef {
                surface: p.original_slice(t.start, t.end),
                canonical: self.canon_str(&p, t, &t.r),
                label: self.forest.label_name(t.r.label),
                span: Span::new(t.start as usize, t.end as usize),
                layer: t.layer,
            });
        }
    }

    /// Digests a text: layer 1, then the contextual synonym pass, the phrase classes and
    /// the frameworks of layer 2. Never panics; every span lies within the input.
    pub fn digest(&self, text: &str) -> Digest {
        let p = Prepared::new(text);
        let toks = self.layer1_toks(&p);
        let toks = self.context_pass(&p, toks);
        let mut toks = self.phrase_pass(toks);
        let frames = self.frame_pass(&p, &mut toks);
        let normalized = self.normalized(&p, &toks);
        Digest {
            words: toks.iter().map(|t| self.word(&p, t)).collect(),
            frames,
            normalized,
        }
    }

    /// Digests the output of a normalizer chain and maps every span back to `original`
    /// through its offset map; surfaces are taken from `original`.
    pub fn digest_mapped(&self, original: &str, normalized: &NormalizedText) -> Digest {
        let mut d = self.digest(&normalized.text);
        let chars: Vec<usize> = original
            .char_indices()
            .map(|(i, _)| i)
            .chain([original.len()])
            .collect();
        let n = chars.len() - 1;
        let map = |s: Span| {
            let m = normalized.to_original(s);
            Span::new(m.start.min(n), m.end.min(n).max(m.start.min(n)))
        };
        for w in &mut d.words {
            w.span = map(w.span);
            w.surface = original
                .get(chars[w.span.start]..chars[w.span.end])
                .unwrap_or("")
                .to_string();
        }
        for f in &mut d.frames {
            f.span = map(f.span);
            for v in f.slots.values_mut() {
                v.span = map(v.span);
            }
        }
        d
    }

    fn canon_str<'s>(&'s self, p: &'s Prepared<'_>, t: &Tok, r: &'s Reading) -> &'s str {
        match &r.canon {
            Canon::Class(c) => self
                .forest
                .classes
                .get(*c as usize)
                .map_or("", |c| c.canonical.as_str()),
            Canon::Phrase(i) => self
                .forest
                .phrases
                .get(*i as usize)
                .map_or("", |p| p.canonical.as_str()),
            Canon::Own(s) => s,
            Canon::Display => p.display_slice(t.start, t.end),
        }
    }

    fn word(&self, p: &Prepared<'_>, t: &Tok) -> Word {
        Word {
            surface: p.original_slice(t.start, t.end).to_string(),
            canonical: self.canon_str(p, t, &t.r).to_string(),
            label: self.forest.label_name(t.r.label).to_string(),
            span: Span::new(t.start as usize, t.end as usize),
            layer: t.layer,
        }
    }

    fn lex_reading(&self, surface: u32) -> (Reading, Vec<Reading>) {
        let classes = self
            .forest
            .surfaces
            .get(surface as usize)
            .map_or(&[][..], |v| v.as_slice());
        let mk = |c: ClassId| {
            let cl = &self.forest.classes[c as usize];
            Reading {
                label: cl.label,
                canon: Canon::Class(c),
                canon_id: Some(cl.canon),
            }
        };
        let first = classes.first().map_or(
            Reading {
                label: self.forest.text_label,
                canon: Canon::Display,
                canon_id: None,
            },
            |&c| mk(c),
        );
        (first, classes.iter().skip(1).map(|&c| mk(c)).collect())
    }

    fn cand_reading(&self, k: CandKind) -> (Reading, Vec<Reading>) {
        match k {
            CandKind::Lex(s) => self.lex_reading(s),
            CandKind::Data(t, c) => (
                Reading {
                    label: self.forest.data_label(t),
                    canon_id: self.forest.canon_id(&c),
                    canon: Canon::Own(c),
                },
                Vec::new(),
            ),
        }
    }

    fn cand_priority(&self, k: &CandKind) -> i32 {
        match k {
            CandKind::Lex(s) => self
                .forest
                .surfaces
                .get(*s as usize)
                .and_then(|v| v.first())
                .map_or(0, |&c| {
                    self.forest
                        .label_priority(self.forest.classes[c as usize].label)
                }),
            CandKind::Data(t, _) => self.forest.label_priority(self.forest.data_label(*t)),
        }
    }

    fn boundary_ok(folded: &[u8], s: usize, e: usize) -> bool {
        if s >= e || e > folded.len() {
            return false;
        }
        let w = |c: u8| c.is_ascii_alphanumeric();
        !(w(folded[s]) && s > 0 && w(folded[s - 1])
            || w(folded[e - 1]) && e < folded.len() && w(folded[e]))
    }

    /// Leftmost-longest lexicon matches within the characters `from..to`.
    fn scan_lexicon(&self, p: &Prepared<'_>, from: u32, to: u32, out: &mut Vec<Cand>) {
        let Some(ac) = &self.forest.ac else {
            return;
        };
        let bs = p.fold_bytes[from as usize] as usize;
        let be = p.fold_bytes[to as usize] as usize;
        let hay = p.folded.as_bytes();
        let mut pos = bs;
        while pos < be {
            let m = match ac.try_find(Input::new(hay).range(pos..be)) {
                Ok(Some(m)) => m,
                _ => break,
            };
            let (ms, me, pat) = if Self::boundary_ok(hay, m.start(), m.end()) {
                (m.start(), m.end(), m.pattern().as_u32())
            } else if let Some(alt) = self.shorter_valid(hay, m.start(), be) {
                alt
            } else {
                // skip one character and search again
                let step = p.folded[m.start()..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                pos = m.start() + step;
                continue;
            };
            out.push(Cand {
                start: p.char_at_byte(ms),
                end: p.char_at_byte(me),
                kind: CandKind::Lex(pat),
                alts: Vec::new(),
            });
            pos = me;
        }
    }

    /// The longest lexicon match starting at `s` that respects ASCII word boundaries.
    fn shorter_valid(&self, hay: &[u8], s: usize, be: usize) -> Option<(usize, usize, u32)> {
        let all = self.forest.ac_all.as_ref()?;
        let end = (s + self.forest.max_surface_bytes).min(be);
        let it = all
            .try_find_overlapping_iter(Input::new(hay).range(s..end))
            .ok()?;
        it.filter(|m| m.start() == s && Self::boundary_ok(hay, m.start(), m.end()))
            .max_by_key(|m| m.end())
            .map(|m| (m.start(), m.end(), m.pattern().as_u32()))
    }

    fn layer1_toks(&self, p: &Prepared<'_>) -> Vec<Tok> {
        let n = p.n_chars();
        let mut lex = Vec::new();
        self.scan_lexicon(p, 0, n, &mut lex);
        let data: Vec<Cand> = sanitize(self.extractor.extract(&p.display), n as usize)
            .into_iter()
            .map(|d| Cand {
                start: d.span.start as u32,
                end: d.span.end as u32,
                kind: CandKind::Data(d.kind, d.canonical),
                alts: Vec::new(),
            })
            .collect();
        let cands = self.resolve(p, lex, data);

        let mut toks = Vec::with_capacity(cands.len() * 2 + 1);
        let mut pos = 0u32;
        for c in cands {
            self.gap_toks(p, pos, c.start, &mut toks);
            let (start, end) = (c.start, c.end);
            let (r, mut alts) = self.cand_reading(c.kind);
            for a in c.alts {
                let (ar, more) = self.cand_reading(a);
                alts.push(ar);
                alts.extend(more);
            }
            toks.push(Tok {
                start,
                end,
                r,
                alts,
                layer: 1,
            });
            pos = end;
        }
        self.gap_toks(p, pos, n, &mut toks);
        toks
    }

    /// Punctuation and unmatched-text words for the characters `from..to`.
    fn gap_toks(&self, p: &Prepared<'_>, from: u32, to: u32, out: &mut Vec<Tok>) {
        if from >= to {
            return;
        }
        let text = p.display_slice(from, to);
        let mut run_start: Option<u32> = None;
        let flush = |run: &mut Option<u32>, end: u32, out: &mut Vec<Tok>| {
            if let Some(s) = run.take() {
                let slice = p.display_slice(s, end);
                out.push(Tok {
                    start: s,
                    end,
                    r: Reading {
                        label: self.forest.text_label,
                        canon: Canon::Display,
                        canon_id: self.forest.canon_id(slice),
                    },
                    alts: Vec::new(),
                    layer: 1,
                });
            }
        };
        for (i, c) in (from..).zip(text.chars()) {
            if is_space(c) {
                flush(&mut run_start, i, out);
            } else if is_punct(c) {
                flush(&mut run_start, i, out);
                let mut buf = [0u8; 4];
                let key: &str = match_fold(c).encode_utf8(&mut buf);
                out.push(Tok {
                    start: i,
                    end: i + 1,
                    r: Reading {
                        label: self.forest.punct_label,
                        canon: Canon::Display,
                        canon_id: self.forest.canon_ids.get(key).copied(),
                    },
                    alts: Vec::new(),
                    layer: 1,
                });
            } else if run_start.is_none() {
                run_start = Some(i);
            }
        }
        flush(&mut run_start, to, out);
    }

    /// Merges lexicon and data candidates: where they overlap, the longer wins, then the
    /// higher label priority, then the lexicon; a loser with exactly the winner's span
    /// becomes an alternative reading. Uncovered characters of a conflict are rescanned.
    fn resolve(&self, p: &Prepared<'_>, lex: Vec<Cand>, data: Vec<Cand>) -> Vec<Cand> {
        if data.is_empty() {
            return lex;
        }
        let mut all: Vec<Cand> = Vec::with_capacity(lex.len() + data.len());
        // merge two sorted lists
        let (mut li, mut di) = (lex.into_iter().peekable(), data.into_iter().peekable());
        loop {
            let take_lex = match (li.peek(), di.peek()) {
                (Some(a), Some(b)) => {
                    (a.start, std::cmp::Reverse(a.end)) <= (b.start, std::cmp::Reverse(b.end))
                }
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_lex { li.next() } else { di.next() };
            if let Some(c) = next {
                all.push(c);
            }
        }
        let mut out = Vec::with_capacity(all.len());
        let mut it = all.into_iter().peekable();
        while let Some(first) = it.next() {
            let mut max_end = first.end;
            if it.peek().is_none_or(|n| n.start >= max_end) {
                out.push(first);
                continue;
            }
            let region_start = first.start;
            let mut cluster: Vec<Cand> = vec![first];
            while let Some(n) = it.next_if(|n| n.start < max_end) {
                max_end = max_end.max(n.end);
                cluster.push(n);
            }
            let region = (region_start, max_end);
            cluster.sort_by_key(|c| {
                (
                    std::cmp::Reverse(c.end - c.start),
                    std::cmp::Reverse(self.cand_priority(&c.kind)),
                    matches!(c.kind, CandKind::Data(..)),
                    c.start,
                )
            });
            let mut accepted: Vec<Cand> = Vec::new();
            for c in cluster {
                if let Some(a) = accepted
                    .iter_mut()
                    .find(|a| a.start == c.start && a.end == c.end)
                {
                    a.alts.push(c.kind);
                    continue;
                }
                if accepted
                    .iter()
                    .all(|a| a.end <= c.start || c.end <= a.start)
                {
                    accepted.push(c);
                }
            }
            accepted.sort_by_key(|c| c.start);
            // rescan uncovered characters with the lexicon
            let mut extra = Vec::new();
            let mut pos = region.0;
            for a in &accepted {
                if a.start > pos {
                    self.scan_lexicon(p, pos, a.start, &mut extra);
                }
                pos = pos.max(a.end);
            }
            if region.1 > pos {
                self.scan_lexicon(p, pos, region.1, &mut extra);
            }
            accepted.extend(extra);
            accepted.sort_by_key(|c| c.start);
            out.extend(accepted);
        }
        out
    }

    fn elem_matches(e: CElem, r: &Reading) -> bool {
        match e {
            CElem::Label(l) => r.label == l,
            CElem::Lit(c) => r.canon_id == Some(c),
        }
    }

    fn any_matches(elems: &[CElem], r: &Reading) -> bool {
        elems.iter().any(|&e| Self::elem_matches(e, r))
    }

    /// The contextual synonym pass (see the module documentation).
    fn context_pass(&self, p: &Prepared<'_>, toks: Vec<Tok>) -> Vec<Tok> {
        let rules = &self.forest.contexts;
        if rules.is_empty() {
            return toks;
        }
        let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
        let mut it = toks.into_iter().peekable();
        while let Some(t) = it.next() {
            let mut applied: Option<(Join, LabelId, String, Option<CanonId>)> = None;
            for rule in rules {
                let Some(reading) = std::iter::once(&t.r)
                    .chain(&t.alts)
                    .find(|r| Self::any_matches(&rule.word, r))
                else {
                    continue;
                };
                if !rule.after.is_empty()
                    && !out
                        .last()
                        .is_some_and(|prev| Self::any_matches(&rule.after, &prev.r))
                {
                    continue;
                }
                if !rule.before.is_empty()
                    && !it
                        .peek()
                        .is_some_and(|next| Self::any_matches(&rule.before, &next.r))
                {
                    continue;
                }
                let label = rule.label.unwrap_or(reading.label);
                let (canon, canon_id) = match &rule.canonical {
                    Some((s, id)) => (s.clone(), Some(*id)),
                    None => (self.canon_str(p, &t, reading).to_string(), reading.canon_id),
                };
                applied = Some((rule.join, label, canon, canon_id));
                break;
            }
            let Some((join, label, canon, canon_id)) = applied else {
                out.push(t);
                continue;
            };
            match join {
                Join::None => out.push(Tok {
                    start: t.start,
                    end: t.end,
                    r: Reading {
                        label,
                        canon: Canon::Own(canon),
                        canon_id,
                    },
                    alts: Vec::new(),
                    layer: 2,
                }),
                Join::After => {
                    let Some(prev) = out.pop() else {
                        out.push(t);
                        continue;
                    };
                    let joined = super::fold::join_words(self.canon_str(p, &prev, &prev.r), &canon);
                    out.push(Tok {
                        start: prev.start,
                        end: t.end,
                        r: Reading {
                            label,
                            canon_id: self.forest.canon_id(&joined),
                            canon: Canon::Own(joined),
                        },
                        alts: Vec::new(),
                        layer: 2,
                    });
                }
                Join::Before => {
                    let Some(next) = it.next() else {
                        out.push(t);
                        continue;
                    };
                    let joined = super::fold::join_words(&canon, self.canon_str(p, &next, &next.r));
                    out.push(Tok {
                        start: t.start,
                        end: next.end,
                        r: Reading {
                            label,
                            canon_id: self.forest.canon_id(&joined),
                            canon: Canon::Own(joined),
                        },
                        alts: Vec::new(),
                        layer: 2,
                    });
                }
            }
        }
        out
    }

    /// Walks `trie` from `start`; calls `found(end, node, choices)` at every node with
    /// ends (`choices`: the reading used at each word). `scratch` is reused between calls.
    fn walk<F: FnMut(usize, u32, &[u8])>(
        trie: &Trie,
        toks: &[Tok],
        start: usize,
        alts: bool,
        scratch: &mut Vec<u8>,
        found: &mut F,
    ) {
        scratch.clear();
        Self::walk_rec(trie, toks, start, 0, alts, scratch, found);
    }

    fn walk_rec<F: FnMut(usize, u32, &[u8])>(
        trie: &Trie,
        toks: &[Tok],
        pos: usize,
        node: u32,
        alts: bool,
        choices: &mut Vec<u8>,
        found: &mut F,
    ) {
        let Some(t) = toks.get(pos) else { return };
        let n_readings = if alts { 1 + t.alts.len().min(254) } else { 1 };
        for ri in 0..n_readings {
            let r = if ri == 0 { &t.r } else { &t.alts[ri - 1] };
            let keys = [
                CElem::Label(r.label),
                CElem::Lit(r.canon_id.unwrap_or(u32::MAX)),
            ];
            for (k, key) in keys.iter().enumerate() {
                if k == 1 && r.canon_id.is_none() {
                    continue;
                }
                if let Some(child) = trie.child(node, *key) {
                    choices.push(ri as u8);
                    if !trie.nodes[child as usize].ends.is_empty() {
                        found(pos + 1, child, choices);
                    }
                    Self::walk_rec(trie, toks, pos + 1, child, alts, choices, found);
                    choices.pop();
                }
            }
        }
    }

    /// Layer-2 phrase classes, leftmost-longest over the words.
    fn phrase_pass(&self, toks: Vec<Tok>) -> Vec<Tok> {
        let f = &self.forest;
        if f.phrases.is_empty() {
            return toks;
        }
        let mut toks = toks;
        let mut out = Vec::with_capacity(toks.len());
        let mut scratch = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let mut best: Option<(usize, u32)> = None;
            Self::walk(
                &f.phrase_trie,
                &toks,
                i,
                false,
                &mut scratch,
                &mut |end, node, _| {
                    let item = f.phrase_trie.nodes[node as usize]
                        .ends
                        .iter()
                        .map(|e| e.0)
                        .min();
                    if let Some(item) = item {
                        if best.is_none_or(|(be, bi)| end > be || (end == be && item < bi)) {
                            best = Some((end, item));
                        }
                    }
                },
            );
            match best {
                Some((end, item)) => {
                    let ph = &f.phrases[item as usize];
                    out.push(Tok {
                        start: toks[i].start,
                        end: toks[end - 1].end,
                        r: Reading {
                            label: ph.label,
                            canon: Canon::Phrase(item),
                            canon_id: Some(ph.canon),
                        },
                        alts: Vec::new(),
                        layer: 2,
                    });
                    i = end;
                }
                None => {
                    // walks only look at positions >= i from now on
                    out.push(std::mem::replace(&mut toks[i], Tok::placeholder()));
                    i += 1;
                }
            }
        }
        out
    }

    /// Frameworks: all matches, then the non-overlapping set that fills the most slots
    /// (then covers the most words, uses the fewest frames, has the highest priority).
    fn frame_pass(&self, p: &Prepared<'_>, toks: &mut [Tok]) -> Vec<Frame> {
        let f = &self.forest;
        if f.frameworks.is_empty() || toks.is_empty() {
            return Vec::new();
        }
        let n = toks.len();
        let mut matches: Vec<FMatch> = Vec::new();
        let mut pool: Vec<u8> = Vec::new();
        let mut scratch = Vec::new();
        for i in 0..n {
            Self::walk(
                &f.frame_trie,
                toks,
                i,
                true,
                &mut scratch,
                &mut |end, node, choices| {
                    for &(fw, path) in &f.frame_trie.nodes[node as usize].ends {
                        let Some(fwk) = f.frameworks.get(fw as usize) else {
                            continue;
                        };
                        let Some(cp) = fwk.paths.get(path as usize) else {
                            continue;
                        };
                        let slots = cp.slots.iter().filter(|s| s.is_some()).count() as i64;
                        let at = pool.len();
                        pool.extend_from_slice(choices);
                        matches.push(FMatch {
                            start: i as u32,
                            end: end as u32,
                            fw,
                            path,
                            choices: at,
                            score: (slots, (end - i) as i64, -1, i64::from(fwk.priority)),
                        });
                    }
                },
            );
        }
        if matches.is_empty() {
            return Vec::new();
        }
        matches.sort_by_key(|m| (m.start, m.fw, m.path));
        // DP from the right
        let mut best: Vec<Score> = vec![(0, 0, 0, 0); n + 1];
        let mut pick: Vec<Option<usize>> = vec![None; n + 1];
        let mut mi = matches.len();
        for i in (0..n).rev() {
            best[i] = best[i + 1];
            pick[i] = None;
            let hi = mi;
            while mi > 0 && matches[mi - 1].start as usize == i {
                mi -= 1;
            }
            for (k, m) in matches.iter().enumerate().take(hi).skip(mi) {
                let s = add(m.score, best[m.end as usize]);
                if s > best[i] {
                    best[i] = s;
                    pick[i] = Some(k);
                }
            }
        }
        let mut frames = Vec::new();
        let mut i = 0;
        while i < n {
            let Some(k) = pick[i] else {
                i += 1;
                continue;
            };
            let m = &matches[k];
            let (s, e) = (m.start as usize, m.end as usize);
            // the chosen readings become the words' readings
            let chosen = pool.get(m.choices..m.choices + (e - s)).unwrap_or(&[]);
            for (off, &ri) in chosen.iter().enumerate() {
                let t = &mut toks[s + off];
                if ri > 0 && (ri as usize) <= t.alts.len() {
                    std::mem::swap(&mut t.r, &mut t.alts[ri as usize - 1]);
                }
            }
            let fwk = &f.frameworks[m.fw as usize];
            let path: &CPath = &fwk.paths[m.path as usize];
            let span = Span::new(toks[s].start as usize, toks[e - 1].end as usize);
            let mut slots = BTreeMap::new();
            for (off, name) in path.slots.iter().enumerate() {
                let (Some(name), Some(t)) = (name, toks.get(s + off)) else {
                    continue;
                };
                slots.insert(
                    name.clone(),
                    SlotValue {
                        canonical: self.canon_str(p, t, &t.r).to_string(),
                        label: f.label_name(t.r.label).to_string(),
                        span: Span::new(t.start as usize, t.end as usize),
                    },
                );
            }
            for (k, v) in &fwk.set {
                slots.insert(
                    k.clone(),
                    SlotValue {
                        canonical: v.clone(),
                        label: String::new(),
                        span,
                    },
                );
            }
            frames.push(Frame {
                name: fwk.frame.clone(),
                framework: fwk.name.clone(),
                slots,
                span,
            });
            i = e.max(i + 1);
        }
        frames
    }

    /// Joins the canonical forms: a newline where the input had one between two words, a
    /// space where both touching characters are ASCII letters/digits or where the input had
    /// white space between two ASCII characters, nothing otherwise.
    fn normalized(&self, p: &Prepared<'_>, toks: &[Tok]) -> String {
        let mut out = String::with_capacity(p.display.len());
        let mut prev_last: Option<char> = None;
        let mut prev_end = 0u32;
        for t in toks {
            let c = self.canon_str(p, t, &t.r);
            let Some(first) = c.chars().next() else {
                continue;
            };
            if let Some(last) = prev_last {
                let gap = t.start > prev_end;
                let gap_text = if gap {
                    p.display_slice(prev_end, t.start)
                } else {
                    ""
                };
                if gap_text.contains('\n') {
                    out.push('\n');
                } else if needs_space(Some(last), Some(first))
                    || (gap && last.is_ascii_graphic() && first.is_ascii_graphic())
                {
                    out.push(' ');
                }
            }
            out.push_str(c);
            prev_last = c.chars().next_back();
            prev_end = t.end;
        }
        out
    }
}
