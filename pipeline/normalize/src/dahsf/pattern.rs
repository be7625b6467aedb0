//! The pattern language shared by phrases, context rules and frameworks.
//!
//! ```text
//! pattern     := alternative ('|' alternative)*
//! alternative := item+                      items are separated by white space
//! item        := atom '?'?                  '?' makes the atom optional
//! atom        := '[' LABEL (':' name)? ']'  a typed slot: one word with that label
//!              | '(' pattern ')'            a group
//!              | literal                    one word whose canonical form is the literal
//! LABEL       := [A-Z][A-Z0-9_]*
//! name        := [A-Za-z_][A-Za-z0-9_]*
//! literal     := any characters but white space and [ ] ( ) | ? ; '\' escapes one character
//! ```
//!
//! Every atom matches exactly one word of the layer below, so a pattern expands into a finite
//! set of word sequences (its *paths*), which are stored in a trie.

use super::fold::match_fold;

/// Deepest group nesting a pattern may use.
const MAX_DEPTH: usize = 16;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A typed slot.
    Slot { label: String, name: Option<String> },
    /// A literal canonical word (match-folded).
    Lit(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// Alternatives.
    Alt(Vec<Node>),
    /// An optional node.
    Opt(Box<Node>),
}

/// One element of an expanded path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Elem {
    /// A typed slot; `name` is `None` when the pattern gave none.
    Slot { label: String, name: Option<String> },
    /// A literal canonical word (match-folded).
    Lit(String),
}

/// Where and why a pattern failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    /// Character offset into the pattern.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError {
        position,
        message: message.into(),
    })
}

/// True for a valid label name.
pub(crate) fn valid_label(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_uppercase())
        && cs.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn valid_slot_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_special(c: char) -> bool {
    matches!(c, '[' | ']' | '(' | ')' | '|' | '?')
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn alt(&mut self, depth: usize) -> Result<Node, PatternError> {
        let mut alts = vec![self.seq(depth)?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.seq(depth)?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Seq(Vec::new()))
        } else {
            Node::Alt(alts)
        })
    }

    fn seq(&mut self, depth: usize) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')') | Some('|') => break,
                _ => items.push(self.item(depth)?),
            }
        }
        if items.is_empty() {
            return err(self.pos, "empty alternative");
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Node::Seq(Vec::new()))
        } else {
            Node::Seq(items)
        })
    }

    fn item(&mut self, depth: usize) -> Result<Node, PatternError> {
        let atom = self.atom(depth)?;
        if self.peek() == Some('?') {
            self.pos += 1;
            if self.peek() == Some('?') {
                return err(self.pos, "repeated '?'");
            }
            return Ok(Node::Opt(Box::new(atom)));
        }
        Ok(atom)
    }

    fn atom(&mut self, depth: usize) -> Result<Node, PatternError> {
        let start = self.pos;
        match self.peek() {
            Some('[') => {
                self.pos += 1;
                let mut body = String::new();
                loop {
                    match self.peek() {
                        None => return err(start, "'[' is never closed"),
                        Some(']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) => {
                            body.push(c);
                            self.pos += 1;
                        }
                    }
                }
                let (label, name) = match body.split_once(':') {
                    Some((l, n)) => (l.trim(), Some(n.trim())),
                    None => (body.trim(), None),
                };
                if !valid_label(label) {
                    return err(
                        start + 1,
                        format!("bad label '{label}' (labels are [A-Z][A-Z0-9_]*)"),
                    );
                }
                if let Some(n) = name {
                    if !valid_slot_name(n) {
                        return err(
                            start + 1,
                            format!("bad slot name '{n}' (slot names are [A-Za-z_][A-Za-z0-9_]*)"),
                        );
                    }
                }
                Ok(Node::Slot {
                    label: label.to_string(),
                    name: name.map(str::to_string),
                })
            }
            Some('(') => {
                if depth >= MAX_DEPTH {
                    return err(start, "groups nested too deeply");
                }
                self.pos += 1;
                let inner = self.alt(depth + 1)?;
                if self.peek() != Some(')') {
                    return err(start, "'(' is never closed");
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(']') => err(start, "unexpected ']'"),
            Some('?') => err(start, "'?' must follow an item"),
            Some(_) => {
                let mut lit = String::new();
                while let Some(c) = self.peek() {
                    if c.is_whitespace() || is_special(c) {
                        break;
                    }
                    self.pos += 1;
                    if c == '\\' {
                        match self.peek() {
                            Some(e) => {
                                lit.push(match_fold(e));
                                self.pos += 1;
                            }
                            None => return err(self.pos, "'\\' at the end of the pattern"),
                        }
                    } else {
                        lit.push(match_fold(c));
                    }
                }
                Ok(Node::Lit(lit))
            }
            None => err(start, "unexpected end of pattern"),
        }
    }
}

/// Parses a pattern.
pub(crate) fn parse(pattern: &str) -> Result<Node, PatternError> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
    };
    let node = p.alt(0)?;
    match p.peek() {
        None => Ok(node),
        Some(')') => err(p.pos, "unexpected ')'"),
        Some(c) => err(p.pos, format!("unexpected '{c}'")),
    }
}

/// Expands a pattern into its paths (deduplicated, in pattern order). Fails when there are
/// more than `limit` paths or when a path is empty (the pattern could match nothing).
pub(crate) fn expand(node: &Node, limit: usize) -> Result<Vec<Vec<Elem>>, String> {
    let paths = expand_inner(node, limit)?;
    if paths.iter().any(Vec::is_empty) {
        return Err("the pattern can match an empty sequence (everything is optional)".into());
    }
    let mut seen = std::collections::HashSet::new();
    Ok(paths
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .collect())
}

fn expand_inner(node: &Node, limit: usize) -> Result<Vec<Vec<Elem>>, String> {
    let too_many = || format!("the pattern expands to more than {limit} word sequences");
    match node {
        Node::Slot { label, name } => Ok(vec![vec![Elem::Slot {
            label: label.clone(),
            name: name.clone(),
        }]]),
        Node::Lit(l) => Ok(vec![vec![Elem::Lit(l.clone())]]),
        Node::Opt(inner) => {
            let mut v = expand_inner(inner, limit)?;
            v.push(Vec::new());
            if v.len() > limit {
                return Err(too_many());
            }
            Ok(v)
        }
        Node::Alt(alts) => {
            let mut v = Vec::new();
            for a in alts {
                v.extend(expand_inner(a, limit)?);
                if v.len() > limit {
                    return Err(too_many());
                }
            }
            Ok(v)
        }
        Node::Seq(items) => {
            let mut acc: Vec<Vec<Elem>> = vec![Vec::new()];
            for it in items {
                let e = expand_inner(it, limit)?;
                if acc.len().saturating_mul(e.len()) > limit {
                    return Err(too_many());
                }
                let mut next = Vec::with_capacity(acc.len() * e.len());
                for a in &acc {
                    for b in &e {
                        let mut p = a.clone();
                        p.extend(b.iter().cloned());
                        next.push(p);
                    }
                }
                acc = next;
            }
            Ok(acc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &str) -> Vec<String> {
        let n = parse(p).unwrap();
        expand(&n, 1000)
            .unwrap()
            .iter()
            .map(|path| {
                path.iter()
                    .map(|e| match e {
                        Elem::Lit(l) => l.clone(),
                        Elem::Slot { label, name } => match name {
                            Some(n) => format!("[{label}:{n}]"),
                            None => format!("[{label}]"),
                        },
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn expands_optional_and_alternatives() {
        assert_eq!(
            paths("[ANATOMY:location] 见? [FINDING]"),
            vec![
                "[ANATOMY:location] 见 [FINDING]",
                "[ANATOMY:location] [FINDING]"
            ]
        );
        assert_eq!(paths("(a|b) c"), vec!["a c", "b c"]);
        assert_eq!(paths("a (b (c|d)?)?"), vec!["a b c", "a b d", "a b", "a"]);
        assert_eq!(paths("\\( X"), vec!["( x"]);
    }

    #[test]
    fn reports_positions() {
        assert_eq!(parse("a (b").unwrap_err().position, 2);
        assert_eq!(parse("a ]").unwrap_err().position, 2);
        assert_eq!(parse("[anatomy]").unwrap_err().position, 1);
        assert_eq!(parse("a ??").unwrap_err().position, 2);
        assert_eq!(parse("a | | b").unwrap_err().position, 4);
        assert!(parse("a)").is_err());
        assert!(expand(&parse("a? b?").unwrap(), 10).is_err());
        assert!(expand(&parse("(a|b|c) (a|b|c) (a|b|c)").unwrap(), 10).is_err());
    }
}
