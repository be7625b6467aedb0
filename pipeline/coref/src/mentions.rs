//! English named-entity mention detection and alias clustering (see the crate docs).

use crate::text::{Analyzed, Word};
use crate::Cluster;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// One mention of a named entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention {
    /// Start (characters) of the whole mention, title included.
    pub start: usize,
    /// Start of the name (after a title).
    pub name_start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The mention as written.
    pub text: String,
    /// The name: the mention without its title.
    pub name: String,
}

/// Words that join capitalized words into one name ("Bank of England").
const CONNECTORS: &[&str] = &[
    "&", "and", "de", "del", "der", "for", "of", "the", "van", "von",
];

/// Titles that may precede a name (lowercase, without a final period).
const TITLES: &[&str] = &[
    "adm",
    "ambassador",
    "archbishop",
    "bishop",
    "capt",
    "captain",
    "chancellor",
    "chief",
    "coach",
    "col",
    "commissioner",
    "congressman",
    "congresswoman",
    "councillor",
    "dame",
    "dr",
    "gen",
    "general",
    "gov",
    "governor",
    "judge",
    "justice",
    "lady",
    "lord",
    "lt",
    "madam",
    "mayor",
    "minister",
    "miss",
    "mr",
    "mrs",
    "ms",
    "pope",
    "pres",
    "president",
    "prince",
    "princess",
    "prof",
    "professor",
    "queen",
    "king",
    "rep",
    "rev",
    "secretary",
    "sen",
    "senator",
    "sgt",
    "sheriff",
    "sir",
    "superintendent",
];

/// Company suffixes dropped when names are compared.
const SUFFIXES: &[&str] = &[
    "co",
    "company",
    "corp",
    "corporation",
    "group",
    "holdings",
    "inc",
    "llc",
    "ltd",
    "plc",
    "sa",
    "ag",
];

/// Capitalized words that are not names on their own.
const NOT_NAMES: &[&str] = &[
    "april",
    "august",
    "december",
    "february",
    "friday",
    "january",
    "july",
    "june",
    "march",
    "may",
    "monday",
    "november",
    "october",
    "saturday",
    "september",
    "sunday",
    "thursday",
    "tuesday",
    "wednesday",
];

/// A lowercase word without a possessive `'s`.
fn base(lower: &str) -> &str {
    lower
        .strip_suffix("'s")
        .or_else(|| lower.strip_suffix("’s"))
        .unwrap_or(lower)
}

fn is_title(lower: &str) -> bool {
    TITLES.contains(&lower)
}

fn name_word(w: &Word) -> bool {
    w.text.chars().next().is_some_and(|c| c.is_uppercase())
        && !NOT_NAMES.contains(&w.lower.as_str())
}

/// Finds the mentions of `a`, in text order.
pub fn detect(text: &str, a: &Analyzed) -> Vec<Mention> {
    let chars: Vec<char> = text.chars().collect();
    // a capitalized word seen outside sentence-initial position anywhere in the text
    let mut capitalized_inside: FxHashMap<&str, bool> = FxHashMap::default();
    for w in &a.words {
        if !w.sentence_initial && name_word(w) {
            capitalized_inside.insert(base(&w.lower), true);
        }
    }
    let mut out = Vec::new();
    let words = &a.words;
    let mut i = 0usize;
    while i < words.len() {
        if !name_word(&words[i]) {
            i += 1;
            continue;
        }
        // extend the run
        let mut j = i + 1;
        loop {
            if j < words.len() && words[j].sentence == words[i].sentence && name_word(&words[j]) {
                let prev = &words[j - 1];
                let after_title = words[j].dot_joined
                    && (is_title(&prev.lower)
                        || (prev.text.chars().count() == 1 && prev.capitalized()));
                if words[j].joined_to_prev || after_title {
                    j += 1;
                    continue;
                }
            }
            // connectors inside a run need a capitalized word after them
            let mut k = j;
            while k < words.len()
                && words[k].joined_to_prev
                && words[k].sentence == words[i].sentence
                && CONNECTORS.contains(&words[k].lower.as_str())
                && !name_word(&words[k])
            {
                k += 1;
            }
            if k > j
                && k < words.len()
                && words[k].joined_to_prev
                && words[k].sentence == words[i].sentence
                && name_word(&words[k])
                && !words[k].all_caps()
            {
                j = k + 1;
                continue;
            }
            break;
        }
        let mut s = i;
        // a sentence-initial function word ("The", "In") is not part of the name
        while s < j && words[s].stop {
            s += 1;
        }
        if s < j {
            // title words at the start
            let mut n = s;
            while n + 1 < j && is_title(words[n].lower.trim_end_matches('.')) {
                n += 1;
            }
            let end_char = words[j - 1].end;
            let text_of = |from: usize| -> (usize, String) {
                let st = words[from].start;
                (st, chars[st..end_char].iter().collect())
            };
            let (start, mut text) = text_of(s);
            let (name_start, mut name) = text_of(n);
            let mut end = end_char;
            for poss in ["'s", "’s"] {
                if name.ends_with(poss) && name.chars().count() > 2 {
                    let cut = poss.chars().count();
                    name.truncate(name.len() - poss.len());
                    text.truncate(text.len() - poss.len());
                    end -= cut;
                }
            }
            // the single word that only ever appears capitalized at a sentence start is not a name
            let single_is_plain = j - n == 1
                && words[n].sentence_initial
                && !capitalized_inside.contains_key(base(&words[n].lower))
                && !words[n].all_caps();
            // words joined by single spaces: the written text may differ (two spaces); use original spacing
            if !single_is_plain
                && name.chars().any(char::is_alphabetic)
                && !is_title(&name.to_lowercase())
            {
                out.push(Mention {
                    start,
                    name_start,
                    end,
                    text,
                    name,
                });
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// Name words for comparisons: lowercase, company suffixes and connectors dropped.
fn core_words(name: &str) -> Vec<String> {
    let ws: Vec<String> = name
        .split_whitespace()
        .map(|w| w.trim_end_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let mut end = ws.len();
    while end > 1 && SUFFIXES.contains(&ws[end - 1].as_str()) {
        end -= 1;
    }
    ws[..end].to_vec()
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter(|w| !CONNECTORS.contains(&w.to_lowercase().as_str()))
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_uppercase())
        .collect()
}

fn is_acronym(name: &str) -> bool {
    let letters: Vec<char> = name.chars().filter(|c| c.is_alphabetic()).collect();
    !name.contains(' ')
        && letters.len() >= 2
        && letters.len() <= 8
        && letters.iter().all(|c| c.is_uppercase())
}

/// The baseline: mentions cluster only when their names are the same (case-insensitive).
pub fn cluster_exact(mentions: Vec<Mention>) -> Vec<Cluster> {
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut out: Vec<Cluster> = Vec::new();
    for m in mentions {
        let key = m.name.to_lowercase();
        let next = out.len();
        let slot = *index.entry(key).or_insert(next);
        if slot == next {
            out.push(Cluster {
                canonical: m.name.clone(),
                mentions: Vec::new(),
            });
        }
        out[slot].mentions.push(m);
    }
    out
}

/// Groups mentions into entities (see the crate docs for the rules).
pub fn cluster(mentions: Vec<Mention>) -> Vec<Cluster> {
    struct Entity {
        mentions: Vec<Mention>,
        // core word lists of the entity's multi-word names
        longest: Vec<String>,
        longest_name: String,
    }
    let mut ents: Vec<Entity> = Vec::new();
    let mut prev_end: Option<(usize, usize)> = None; // (end of previous mention, its entity)
    for m in mentions {
        let core = core_words(&m.name);
        let joined = core.join(" ");
        let mut target: Option<usize> = None;
        // 1. the same name
        for (e, ent) in ents.iter().enumerate() {
            if ent
                .mentions
                .iter()
                .any(|x| core_words(&x.name).join(" ") == joined)
            {
                target = Some(e);
                break;
            }
        }
        // 2. an acronym in parentheses right after a mention, or of an entity's name
        if target.is_none() && is_acronym(&m.name) {
            if let Some((pe, ent)) = prev_end {
                if m.start >= pe && m.start <= pe + 2 && initials(&ents[ent].longest_name) == m.name
                {
                    target = Some(ent);
                }
            }
            if target.is_none() {
                let hits: Vec<usize> = (0..ents.len())
                    .filter(|&e| {
                        ents[e].longest.len() >= 2 && initials(&ents[e].longest_name) == m.name
                    })
                    .collect();
                if hits.len() == 1 {
                    target = Some(hits[0]);
                }
            }
        }
        // 3. a shorter form: surname, first word, or a prefix of a longer name
        if target.is_none() && !core.is_empty() {
            let hits: Vec<usize> = (0..ents.len())
                .filter(|&e| {
                    let l = &ents[e].longest;
                    l.len() > core.len() && (l.ends_with(&core) || l.starts_with(&core))
                })
                .collect();
            if hits.len() == 1 {
                target = Some(hits[0]);
            } else if hits.len() > 1 {
                target = None; // ambiguous: stays its own entity
            }
        }
        // 4. a longer form of one earlier short entity
        let mut absorb: Option<usize> = None;
        if target.is_none() && core.len() >= 2 {
            let hits: Vec<usize> = (0..ents.len())
                .filter(|&e| {
                    let l = &ents[e].longest;
                    l.len() < core.len() && (core.ends_with(l) || core.starts_with(l))
                })
                .collect();
            // one short entity, and no other full name already claims it
            if hits.len() == 1 {
                absorb = Some(hits[0]);
            }
        }
        let e = match target.or(absorb) {
            Some(e) => e,
            None => {
                ents.push(Entity {
                    mentions: Vec::new(),
                    longest: Vec::new(),
                    longest_name: String::new(),
                });
                ents.len() - 1
            }
        };
        let ent = &mut ents[e];
        if core.len() > ent.longest.len() {
            ent.longest = core.clone();
            ent.longest_name = m.name.clone();
        }
        prev_end = Some((m.end, e));
        ent.mentions.push(m);
    }
    let mut out: Vec<Cluster> = ents
        .into_iter()
        .map(|e| {
            let canonical = e
                .mentions
                .iter()
                .map(|m| &m.name)
                .fold(None::<&String>, |best, n| match best {
                    Some(b) if b.split_whitespace().count() >= n.split_whitespace().count() => {
                        Some(b)
                    }
                    _ => Some(n),
                })
                .cloned()
                .unwrap_or_default();
            Cluster {
                canonical,
                mentions: e.mentions,
            }
        })
        .collect();
    out.sort_by_key(|c| c.mentions.first().map(|m| m.start).unwrap_or(0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::analyze;

    fn names(t: &str) -> Vec<String> {
        detect(t, &analyze(t)).into_iter().map(|m| m.text).collect()
    }

    #[test]
    fn lists_sorted() {
        for l in [CONNECTORS, TITLES, SUFFIXES, NOT_NAMES] {
            let mut s = l.to_vec();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), l.len());
        }
    }

    #[test]
    fn detection() {
        assert_eq!(
            names("The Bank of England raised rates on Monday."),
            ["Bank of England"]
        );
        assert_eq!(
            names("Officials said Dr. Jane Doe of NASA left."),
            ["Dr. Jane Doe", "NASA"]
        );
        assert_eq!(names("President Obama's speech."), ["President Obama"]);
        let m = &detect(
            "President Obama's speech.",
            &analyze("President Obama's speech."),
        )[0];
        assert_eq!(m.name, "Obama");
        assert_eq!((m.start, m.name_start, m.end), (0, 10, 15));
        assert!(names("it was quiet.").is_empty());
    }

    #[test]
    fn acronym_helpers() {
        assert_eq!(initials("World Health Organization"), "WHO");
        assert_eq!(initials("Bank of England"), "BE");
        assert!(is_acronym("NATO") && !is_acronym("Nato") && !is_acronym("A"));
        assert_eq!(core_words("Nordvik Energy Corp."), ["nordvik", "energy"]);
    }
}
