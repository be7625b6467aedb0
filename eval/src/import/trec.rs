//! TREC qrels and run files.
//!
//! * qrels: `qid iter docid grade`, whitespace-separated; `iter` is ignored.
//! * runs: `qid Q0 docid rank score tag`; the rank column is ignored on reading (trec_eval
//!   orders by score, then by document id, both descending) and regenerated on writing.

use super::beir::{insert_judgment, parse_grade};
use super::{error, fields, for_each_line, label, open};
use crate::types::{ImportError, Qrels, Run};
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;

/// Reads a TREC qrels file.
pub fn read_qrels(path: &Path) -> Result<Qrels, ImportError> {
    parse_qrels(open(path)?, &label(path))
}

/// Parses TREC qrels from `reader`; `file` names the source in errors. Each non-blank line
/// must have four fields with an integer grade; a pair judged twice with different grades is
/// an error.
pub fn parse_qrels<R: BufRead>(reader: R, file: &str) -> Result<Qrels, ImportError> {
    let mut qrels = Qrels::new();
    for_each_line(reader, file, |line, text| {
        let f = fields(text);
        match f.as_slice() {
            [] => Ok(()),
            [qid, _iter, doc, grade] => {
                let grade = parse_grade(grade).ok_or_else(|| {
                    error(file, line, format!("grade {grade:?} is not an integer"))
                })?;
                insert_judgment(&mut qrels, file, line, qid, doc, grade)
            }
            _ => Err(error(
                file,
                line,
                format!(
                    "expected 4 fields (qid iter docid grade), found {}",
                    f.len()
                ),
            )),
        }
    })?;
    Ok(qrels)
}

/// Reads a TREC run file.
pub fn read_run(path: &Path) -> Result<Run, ImportError> {
    parse_run(open(path)?, &label(path))
}

/// Parses a TREC run from `reader`; `file` names the source in errors. Each non-blank line
/// must have six fields with an integer rank and a finite score; a document listed twice
/// for a query is an error (trec_eval refuses it too). Documents keep file order.
pub fn parse_run<R: BufRead>(reader: R, file: &str) -> Result<Run, ImportError> {
    let mut run = Run::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for_each_line(reader, file, |line, text| {
        let f = fields(text);
        match f.as_slice() {
            [] => Ok(()),
            [qid, _q0, doc, rank, score, _tag] => {
                if rank.parse::<i64>().is_err() {
                    return Err(error(
                        file,
                        line,
                        format!("rank {rank:?} is not an integer"),
                    ));
                }
                let score: f64 = score
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite())
                    .ok_or_else(|| {
                        error(
                            file,
                            line,
                            format!("score {score:?} is not a finite number"),
                        )
                    })?;
                if !seen.insert((qid.to_string(), doc.to_string())) {
                    return Err(error(
                        file,
                        line,
                        format!("document {doc:?} listed twice for query {qid:?}"),
                    ));
                }
                run.entry(qid.to_string())
                    .or_default()
                    .push((doc.to_string(), score));
                Ok(())
            }
            _ => Err(error(
                file,
                line,
                format!(
                    "expected 6 fields (qid Q0 docid rank score tag), found {}",
                    f.len()
                ),
            )),
        }
    })?;
    Ok(run)
}

/// The documents of one query in trec_eval order: score descending, ties broken by
/// document id descending (byte order, like `strcmp`).
pub fn ranked(docs: &[(String, f64)]) -> Vec<(&str, f64)> {
    let mut out: Vec<(&str, f64)> = docs.iter().map(|(d, s)| (d.as_str(), *s)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(a.0)));
    out
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

fn check_token(what: &str, s: &str) -> std::io::Result<()> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return Err(invalid(format!(
            "{what} {s:?} cannot be written to a TREC file (empty or contains whitespace)"
        )));
    }
    Ok(())
}

/// Writes `run` in TREC format (`qid Q0 docid rank score tag`), queries in id order and
/// documents ranked as trec_eval ranks them (see [`ranked`]), ranks starting at 1. Ids or a
/// tag that are empty or contain whitespace, and non-finite scores, are refused with an
/// `InvalidInput` error.
pub fn write_run<W: Write>(w: &mut W, run: &Run, tag: &str) -> std::io::Result<()> {
    check_token("tag", tag)?;
    for (qid, docs) in run {
        check_token("query id", qid)?;
        for (rank, (doc, score)) in ranked(docs).into_iter().enumerate() {
            check_token("document id", doc)?;
            if !score.is_finite() {
                return Err(invalid(format!(
                    "score of {doc:?} for query {qid:?} is not finite"
                )));
            }
            writeln!(w, "{qid} Q0 {doc} {} {score} {tag}", rank + 1)?;
        }
    }
    Ok(())
}

/// Writes `qrels` in TREC format (`qid 0 docid grade`), in id order.
pub fn write_qrels<W: Write>(w: &mut W, qrels: &Qrels) -> std::io::Result<()> {
    for (qid, docs) in qrels {
        check_token("query id", qid)?;
        for (doc, grade) in docs {
            check_token("document id", doc)?;
            writeln!(w, "{qid} 0 {doc} {grade}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_round_trip_and_order() {
        let mut run = Run::new();
        run.insert(
            "q1".into(),
            vec![("a".into(), 1.0), ("b".into(), 2.0), ("c".into(), 1.0)],
        );
        let mut out = Vec::new();
        write_run(&mut out, &run, "sys").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "q1 Q0 b 1 2 sys\nq1 Q0 c 2 1 sys\nq1 Q0 a 3 1 sys\n");
        let back = parse_run(text.as_bytes(), "x").unwrap();
        assert_eq!(ranked(&back["q1"]), ranked(&run["q1"]));
        assert!(write_run(&mut Vec::new(), &run, "two words").is_err());
    }

    #[test]
    fn qrels_errors() {
        let e = parse_qrels("1 0 d 1\n1 0 d\n".as_bytes(), "q.txt").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("q.txt", 2));
        let e = parse_qrels("1 0 d 1\n1 0 d 2\n".as_bytes(), "q.txt").unwrap_err();
        assert_eq!(e.line, 2);
        let q = parse_qrels("\u{feff}1 0 d 1\r\n1 0 e 0\r\n\r\n".as_bytes(), "q").unwrap();
        assert_eq!(q["1"].len(), 2);
    }
}
