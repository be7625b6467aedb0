//! Sentences and words of an English text, with character offsets into it.
//!
//! Sentences follow the Unicode sentence boundaries (UAX #29, `unicode-segmentation`), except
//! after a title or other common abbreviation (`Mr.`, `Dr.`, `Corp.`, `U.S.`) or an initial
//! (`J.`), which UAX #29 would take for a sentence end; a line break always ends one (news
//! titles and datelines have no final stop). Words are the
//! UAX #29 word segments that hold a letter or a digit; segments joined by a hyphen with no
//! space (`3-Day`, `e-mail`) form one word. Everything else (punctuation, quotes, dashes)
//! separates words and breaks candidate phrases.

use crate::stopwords::is_stopword;
use unicode_segmentation::UnicodeSegmentation;

/// One word.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Start, in characters of the analyzed text.
    pub start: usize,
    /// End (exclusive), in characters.
    pub end: usize,
    /// The word as written.
    pub text: String,
    /// Lowercase.
    pub lower: String,
    /// Index of its sentence.
    pub sentence: usize,
    /// Whether only whitespace separates it from the previous word of its sentence (a phrase
    /// may continue across that gap; punctuation breaks it).
    pub joined_to_prev: bool,
    /// Whether only a period and whitespace separate it from the previous word of its
    /// sentence (`Dr. Jane`, `J. Smith`).
    pub dot_joined: bool,
    /// First in its sentence.
    pub sentence_initial: bool,
    /// A stop word (see [`crate::stopwords`]).
    pub stop: bool,
}

impl Word {
    /// First character uppercase.
    pub fn capitalized(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }

    /// Two or more letters, all uppercase (an acronym such as `NASA`).
    pub fn all_caps(&self) -> bool {
        let letters: Vec<char> = self.text.chars().filter(|c| c.is_alphabetic()).collect();
        letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
    }

    /// Only digits and number punctuation.
    pub fn numeric(&self) -> bool {
        self.text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '%'))
    }
}

/// A text cut into sentences and words.
#[derive(Debug, Clone, Default)]
pub struct Analyzed {
    /// Words in text order.
    pub words: Vec<Word>,
    /// Sentence spans in characters (start, end), in text order.
    pub sentences: Vec<(usize, usize)>,
    /// Length of the text in characters.
    pub chars: usize,
    /// Character offset where the first line ends (the title of a news story).
    pub first_line_end: usize,
}

impl Analyzed {
    /// The words of sentence `s` (a contiguous slice of `words`).
    pub fn sentence_words(&self, s: usize) -> &[Word] {
        let a = self.words.partition_point(|w| w.sentence < s);
        let b = self.words.partition_point(|w| w.sentence <= s);
        &self.words[a..b]
    }
}

/// Cuts `text` into sentences and words.
pub fn analyze(text: &str) -> Analyzed {
    // byte offset -> char offset
    let mut char_at = Vec::with_capacity(text.len() + 1);
    let mut n = 0usize;
    for (i, c) in text.char_indices() {
        while char_at.len() < i {
            char_at.push(n);
        }
        char_at.push(n);
        n += 1;
        let _ = c;
    }
    while char_at.len() <= text.len() {
        char_at.push(n);
    }
    let first_line_end = text
        .find('\n')
        .map(|b| char_at[b])
        .unwrap_or_else(|| char_at[text.len()]);

    let mut out = Analyzed {
        chars: n,
        first_line_end,
        ..Default::default()
    };
    for (line_start, line) in split_lines(text) {
        for (s_off, sentence) in merged_sentences(line) {
            if !sentence.chars().any(char::is_alphanumeric) {
                continue;
            }
            let s_byte = line_start + s_off;
            let trimmed_end = s_byte + sentence.trim_end().len();
            let s_index = out.sentences.len();
            let mut in_sentence = 0usize;
            // the gap before the word being built: only whitespace? how many periods?
            let mut gap = Gap::default();
            let mut pending: Option<(usize, usize, Gap)> = None; // byte span of the current word
            let segs: Vec<(usize, &str)> = sentence.split_word_bound_indices().collect();
            let mut flush = |span: (usize, usize), g: Gap| {
                push_word(&mut out, text, &char_at, span, s_index, &mut in_sentence, g)
            };
            for (q, &(w_off, seg)) in segs.iter().enumerate() {
                let b = s_byte + w_off;
                let is_word = seg.chars().any(char::is_alphanumeric);
                if is_word {
                    if let Some((ps, pe, g)) = pending {
                        if pe == b && text[ps..pe].ends_with('-') {
                            pending = Some((ps, b + seg.len(), g)); // hyphen-joined
                            continue;
                        }
                        flush((ps, pe), g);
                        gap = Gap::default();
                    }
                    pending = Some((b, b + seg.len(), gap));
                    gap = Gap::default();
                    continue;
                }
                let next_glued = segs.get(q + 1).is_some_and(|(o, s)| {
                    s_byte + o == b + seg.len() && s.chars().any(char::is_alphanumeric)
                });
                if seg == "-" && next_glued && pending.is_some_and(|(_, pe, _)| pe == b) {
                    pending = pending.map(|(ps, _, g)| (ps, b + 1, g)); // a hyphen inside a word
                    continue;
                }
                if let Some((ps, pe, g)) = pending.take() {
                    flush((ps, pe), g);
                    gap = Gap::default();
                }
                if seg == "." {
                    gap.dots += 1;
                } else if !seg.chars().all(char::is_whitespace) {
                    gap.other = true;
                }
            }
            if let Some((ps, pe, g)) = pending.take() {
                flush((ps, pe), g);
            }
            out.sentences.push((char_at[s_byte], char_at[trimmed_end]));
        }
    }
    out
}

/// What separates a word from the previous one of its sentence.
#[derive(Debug, Clone, Copy, Default)]
struct Gap {
    dots: usize,
    other: bool,
}

fn push_word(
    out: &mut Analyzed,
    text: &str,
    char_at: &[usize],
    (start, end): (usize, usize),
    sentence: usize,
    in_sentence: &mut usize,
    gap: Gap,
) {
    let surface = &text[start..end];
    let lower = surface.to_lowercase();
    let stop = is_stopword(&lower);
    let first = *in_sentence == 0;
    out.words.push(Word {
        start: char_at[start],
        end: char_at[end],
        text: surface.to_string(),
        lower,
        sentence,
        joined_to_prev: !first && gap.dots == 0 && !gap.other,
        dot_joined: !first && gap.dots == 1 && !gap.other,
        sentence_initial: first,
        stop,
    });
    *in_sentence += 1;
}

/// Abbreviations after which UAX #29's sentence break is wrong (lowercase, with the period).
const ABBREVIATIONS: &[&str] = &[
    "adm.", "capt.", "co.", "col.", "corp.", "dr.", "e.g.", "gen.", "gov.", "i.e.", "inc.", "jr.",
    "lt.", "ltd.", "mr.", "mrs.", "ms.", "no.", "prof.", "rep.", "rev.", "sen.", "sgt.", "sr.",
    "st.", "u.k.", "u.n.", "u.s.", "vs.",
];

/// UAX #29 sentences of one line, re-joined after abbreviations and initials.
fn merged_sentences(line: &str) -> Vec<(usize, &str)> {
    let mut out: Vec<(usize, usize)> = Vec::new(); // byte (start, end) within line
    let mut join_next = false;
    for (off, s) in line.split_sentence_bound_indices() {
        if join_next {
            if let Some(last) = out.last_mut() {
                last.1 = off + s.len();
            }
        } else {
            out.push((off, off + s.len()));
        }
        let last_word = s.split_whitespace().last().unwrap_or("").to_lowercase();
        let last_word = last_word.trim_start_matches(|c: char| !c.is_alphanumeric());
        let initial = {
            let mut cs = last_word.chars();
            matches!((cs.next(), cs.next(), cs.next()), (Some(c), Some('.'), None) if c.is_alphabetic())
        };
        join_next = initial || ABBREVIATIONS.contains(&last_word);
    }
    out.into_iter().map(|(a, b)| (a, &line[a..b])).collect()
}

/// Lines with their byte offsets (the line break is not part of a line).
fn split_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut off = 0usize;
    text.split('\n').map(move |line| {
        let start = off;
        off += line.len() + 1;
        (start, line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &Analyzed) -> Vec<&str> {
        a.words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn sentences_words_and_offsets() {
        let t =
            "Phish Phavors New York\n\nThe 3-Day Phestival starts. Mr. Smith said “yes”, twice!";
        let a = analyze(t);
        assert_eq!(
            words(&a),
            [
                "Phish",
                "Phavors",
                "New",
                "York",
                "The",
                "3-Day",
                "Phestival",
                "starts",
                "Mr",
                "Smith",
                "said",
                "yes",
                "twice"
            ]
        );
        let chars: Vec<char> = t.chars().collect();
        for w in &a.words {
            let s: String = chars[w.start..w.end].iter().collect();
            assert_eq!(s, w.text);
        }
        assert_eq!(a.first_line_end, 22);
        assert_eq!(a.words[0].sentence, 0);
        assert!(a.words[4].sentence_initial && a.words[4].stop);
        // "yes" follows a quote: not joined; "twice" follows a comma: not joined
        let yes = a.words.iter().find(|w| w.text == "yes").unwrap();
        assert!(!yes.joined_to_prev);
        assert!(!a.words.last().unwrap().joined_to_prev);
        assert!(a.words[1].joined_to_prev);
        for s in 0..a.sentences.len() {
            assert!(a.sentence_words(s).iter().all(|w| w.sentence == s));
        }
    }

    #[test]
    fn dangling_hyphen_breaks() {
        let a = analyze("well- known and state-of-the-art");
        assert_eq!(words(&a), ["well", "known", "and", "state-of-the-art"]);
        assert!(!a.words[1].joined_to_prev);
    }

    #[test]
    fn empty_and_odd_input() {
        assert!(analyze("").words.is_empty());
        assert!(analyze("\n\n  ...  \n").words.is_empty());
        let a = analyze("émoji 😀 test 中文 ok");
        assert_eq!(words(&a), ["émoji", "test", "中", "文", "ok"]); // UAX #29: one ideograph a word
        assert_eq!(a.chars, "émoji 😀 test 中文 ok".chars().count());
    }

    #[test]
    fn shapes() {
        let a = analyze("NASA and Obama paid 1,200 dollars");
        assert!(a.words[0].all_caps() && a.words[0].capitalized());
        assert!(!a.words[2].all_caps() && a.words[2].capitalized());
        assert!(a.words[4].numeric());
    }
}
