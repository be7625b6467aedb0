//! The shortest-path tokenizer shared by TN and ITN.
//!
//! Like WeTextProcessing's `tagger.star` + shortest path, a text is cut into tokens, each
//! either a rule match (a candidate with a cost) or a single character copied through at a
//! high cost; the cheapest cut wins. Costs are integers in thousandths of wetext's weights.
//! Cardinal candidates can be chained into one token (wetext's `cardinal (" " cardinal)*`),
//! which costs only their inner weight and joins the outputs with a space.

use super::DataKind;

/// Cost of copying one character through.
pub(crate) const CHAR_COST: i64 = 100_000;

/// What a candidate is, for chaining and for typed data words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// A data word of this kind.
    Data(DataKind),
    /// A cardinal that may chain with a following cardinal.
    Cardinal(DataKind),
    /// Anything else (whitelist, license plate, interjection...).
    Other,
}

/// One rule match.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    /// One past the last input character.
    pub end: usize,
    /// The output.
    pub out: String,
    /// Cost of the candidate as a token of its own.
    pub cost: i64,
    /// Inner cost when chained after a cardinal (cardinals only).
    pub chain_cost: Option<i64>,
    /// Kind of match.
    pub tag: Tag,
}

/// A token of the best cut.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// First input character.
    pub start: usize,
    /// One past the last input character.
    pub end: usize,
    /// Output; `None` copies the input character through.
    pub out: Option<String>,
    /// Kind of match (`Other` for copied characters).
    pub tag: Tag,
    /// True when this token was chained after a cardinal (its output is preceded by a space).
    pub chained: bool,
}

#[derive(Clone, Copy)]
enum Back {
    None,
    Char {
        from: usize,
        state: usize,
    },
    Cand {
        from: usize,
        state: usize,
        idx: usize,
        chained: bool,
    },
}

/// The rank of a partial cut: cost, then fewer tokens, then a later start of the last token
/// (so that ties go to longer earlier tokens: `二零二三零三二二` is `20230 322`, as in wetext).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Rank {
    cost: i64,
    tokens: u32,
    last: usize,
}

impl Rank {
    const INF: Rank = Rank {
        cost: i64::MAX / 4,
        tokens: 0,
        last: 0,
    };

    fn finite(self) -> bool {
        self.cost < Rank::INF.cost
    }

    fn then(self, cost: i64, start: usize) -> Rank {
        Rank {
            cost: self.cost + cost,
            tokens: self.tokens + 1,
            last: start,
        }
    }

    /// With `ties`, equal costs are ranked by tokens then last start; without, the first
    /// cut found stays.
    fn better(self, other: Rank, ties: bool) -> bool {
        if ties {
            (self.cost, self.tokens, std::cmp::Reverse(self.last))
                < (other.cost, other.tokens, std::cmp::Reverse(other.last))
        } else {
            self.cost < other.cost
        }
    }
}

/// Finds the cheapest cut of `n` characters. `gen(i, out)` pushes the candidates starting at
/// `i`; `skip(i)` says that no candidate can start at `i` (a fast path). `ties` ranks equal
/// costs by fewer tokens, then longer earlier tokens (ITN); without it the first cut found
/// wins (TN), which is what matches wetext best in each direction.
pub(crate) fn best_cut(
    n: usize,
    ties: bool,
    mut gen: impl FnMut(usize, &mut Vec<Cand>),
    skip: impl Fn(usize) -> bool,
) -> Vec<Token> {
    // state 0: last token is not a chainable cardinal; state 1: it is.
    let mut best = vec![[Rank::INF, Rank::INF]; n + 1];
    let mut back = vec![[Back::None, Back::None]; n + 1];
    let mut arena: Vec<(usize, Cand)> = Vec::new();
    let mut buf: Vec<Cand> = Vec::new();
    best[0][0] = Rank {
        cost: 0,
        tokens: 0,
        last: 0,
    };
    for i in 0..n {
        let here = best[i];
        if !here[0].finite() && !here[1].finite() {
            continue;
        }
        let (base, base_state) = if here[1].better(here[0], ties) {
            (here[1], 1)
        } else {
            (here[0], 0)
        };
        // copy one character
        let r = base.then(CHAR_COST, i);
        if r.better(best[i + 1][0], ties) {
            best[i + 1][0] = r;
            back[i + 1][0] = Back::Char {
                from: i,
                state: base_state,
            };
        }
        if skip(i) {
            continue;
        }
        buf.clear();
        gen(i, &mut buf);
        for cand in buf.drain(..) {
            if cand.end <= i || cand.end > n {
                continue;
            }
            let next_state = usize::from(matches!(cand.tag, Tag::Cardinal(_)));
            let idx = arena.len();
            let mut used = false;
            let r = base.then(cand.cost, i);
            if r.better(best[cand.end][next_state], ties) {
                best[cand.end][next_state] = r;
                back[cand.end][next_state] = Back::Cand {
                    from: i,
                    state: base_state,
                    idx,
                    chained: false,
                };
                used = true;
            }
            if let (Some(cc), true) = (cand.chain_cost, here[1].finite()) {
                let r = here[1].then(cc, i);
                if r.better(best[cand.end][next_state], ties) {
                    best[cand.end][next_state] = r;
                    back[cand.end][next_state] = Back::Cand {
                        from: i,
                        state: 1,
                        idx,
                        chained: true,
                    };
                    used = true;
                }
            }
            if used {
                arena.push((i, cand));
            }
        }
    }
    // walk back
    let mut tokens = Vec::new();
    let mut pos = n;
    let mut state = if best[n][1].better(best[n][0], ties) {
        1
    } else {
        0
    };
    while pos > 0 {
        match back[pos][state] {
            Back::None => break,
            Back::Char { from, state: s } => {
                tokens.push(Token {
                    start: from,
                    end: pos,
                    out: None,
                    tag: Tag::Other,
                    chained: false,
                });
                pos = from;
                state = s;
            }
            Back::Cand {
                from,
                state: s,
                idx,
                chained,
            } => {
                let Some((_, cand)) = arena.get_mut(idx) else {
                    break;
                };
                tokens.push(Token {
                    start: from,
                    end: pos,
                    out: Some(std::mem::take(&mut cand.out)),
                    tag: cand.tag,
                    chained,
                });
                pos = from;
                state = s;
            }
        }
    }
    tokens.reverse();
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(end: usize, out: &str, cost: i64) -> Cand {
        Cand {
            end,
            out: out.to_string(),
            cost,
            chain_cost: None,
            tag: Tag::Other,
        }
    }

    #[test]
    fn cheapest_cut_wins() {
        // "abc": one candidate over all three beats three copied characters
        let toks = best_cut(
            3,
            false,
            |i, out| {
                if i == 0 {
                    out.push(cand(3, "X", 5000));
                    out.push(cand(2, "Y", 10));
                }
            },
            |i| i != 0,
        );
        assert_eq!(toks.len(), 1);
        assert_eq!(toks[0].out.as_deref(), Some("X"));
    }

    #[test]
    fn empty_and_copy() {
        assert!(best_cut(0, true, |_, _| {}, |_| true).is_empty());
        let toks = best_cut(2, true, |_, _| {}, |_| true);
        assert_eq!(toks.len(), 2);
        assert!(toks.iter().all(|t| t.out.is_none()));
    }
}
