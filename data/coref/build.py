#!/usr/bin/env python3
"""Build the Quarry co-reference (alias normalization) evaluation set.

Reads source_en.txt and source_zh.txt (inline markup, see GUIDELINES.md), validates them and
writes dev.jsonl and test.jsonl next to this script.  Standard library only.  Usage, from anywhere:

    python3 data/coref/build.py            # validate, write dev.jsonl + test.jsonl, print counts
    python3 data/coref/build.py --check    # validate and verify the .jsonl files are up to date
    python3 data/coref/build.py --strict   # (either mode) also fail on warnings

Source format (one file per language):

    # doc <id> <lang: en|zh> <split: dev|test> <category>
    <text lines; a blank line ends a paragraph>

  * a mention is [[surface text|cluster_key|TYPE]]; no nesting, no mention across a line break;
  * lines of one paragraph are joined with " " (en) or "" (zh); paragraphs with "\\n\\n";
  * "#! canonical <doc-id> <key> <canonical text>" overrides a cluster's canonical name;
  * any other line starting with "#" is a comment ("# hard negative: ..." comments are counted).

Errors are printed as "path:line: message" and the script exits with status 1; nothing is
written when there is an error.  Warnings ("path:line: warning: ...") do not change the exit
status unless --strict is given.  The output is deterministic (documents in source order, English
file first; clusters by first mention; mentions by start; JSON keys sorted, ensure_ascii=False).
"""

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = (("source_en.txt", "en"), ("source_zh.txt", "zh"))
SPLITS = ("dev", "test")
OUTPUTS = {"dev": "dev.jsonl", "test": "test.jsonl"}

TYPES = {
    "en": ("PERSON", "ORG", "LOC", "EVENT", "PRODUCT", "MISC"),
    "zh": ("ANATOMY", "DISEASE", "PROCEDURE", "DRUG", "TEST"),
}
CATEGORIES = {
    "en": ("politics", "business", "sports", "science", "health", "technology", "world", "crime",
           "entertainment", "local"),
    "zh": ("radiology", "ultrasound", "admission", "discharge", "surgery", "outpatient"),
}
PARAGRAPH_JOIN = {"en": " ", "zh": ""}   # joins the lines of one paragraph

MIN_DOCS = {("en", "test"): 100, ("en", "dev"): 30, ("zh", "test"): 20, ("zh", "dev"): 10}
# Per-document shape rules (GUIDELINES.md section 5).
EN_WORDS = (80, 250)            # whitespace tokens of the plain text
EN_ENTITIES = (3, 10)           # clusters per English document
MIN_VARIANT_CLUSTERS = 2        # clusters with >= 2 distinct surface forms, per document

DOC_PREFIX_RE = re.compile(r"^#\s*doc\b")
DOC_RE = re.compile(r"^# doc (\S+) (\S+) (\S+) (\S+)$")
ID_RE = re.compile(r"^(en|zh)-([a-z]+)-(\d{3})$")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
HARD_NEGATIVE_RE = re.compile(r"^#\s*hard negative:", re.IGNORECASE)
# An English default canonical starting with one of these words probably carries a title
# ("President Barack Obama"); the lint asks for a "#! canonical" line naming the bare name.
TITLE_WORDS = frozenset("""President Vice Senator Sen. Rep. Representative Governor Gov. Mayor Mayor-elect Minister
Prime Chancellor Secretary Secretary-General Ambassador Envoy Commissioner Councilman Councilwoman Councillor Judge
Justice Chief Dr. Prof. Professor Mr. Mrs. Ms. Miss Sir Dame Lord Lady Gen. General Col. Colonel Lt. Capt. Captain
Sgt. Sergeant Officer Detective Det. Inspector Agent Coach CEO Superintendent Principal Librarian Director Dean
King Queen Prince Princess Pope Father Rev. Rabbi Imam Sheikh State Foreign Finance Health Defence Defense Interior
Trade Attorney District Special Manager Chairman Chairwoman Chair""".split())


class Problems:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, path, lineno, message):
        self.errors.append("%s:%d: %s" % (path, lineno, message))

    def warn(self, path, lineno, message):
        self.warnings.append("%s:%d: warning: %s" % (path, lineno, message))


class Mention:
    __slots__ = ("start", "end", "text", "key", "type", "lineno")

    def __init__(self, start, end, text, key, type_, lineno):
        self.start, self.end, self.text = start, end, text
        self.key, self.type, self.lineno = key, type_, lineno


class Doc:
    def __init__(self, path, lineno, doc_id, lang, split, category):
        self.path, self.lineno = path, lineno
        self.id, self.lang, self.split, self.category = doc_id, lang, split, category
        self.paragraphs = []      # list of paragraphs; a paragraph is a list of (lineno, plain, mentions)
        self.open_paragraph = False
        self.hard_negative = False
        self.broken = False       # a text line had a markup error: skip the per-document shape rules
        self.canonical = {}       # key -> canonical text (from "#! canonical")
        # filled by assemble():
        self.text = ""
        self.mentions = []
        self.line_starts = []     # (offset in text, source line number)

    def add_line(self, lineno, plain, mentions):
        if not self.open_paragraph:
            self.paragraphs.append([])
            self.open_paragraph = True
        self.paragraphs[-1].append((lineno, plain, mentions))

    def end_paragraph(self):
        self.open_paragraph = False

    def assemble(self):
        parts, offset = [], 0
        for p_index, paragraph in enumerate(self.paragraphs):
            if p_index:
                parts.append("\n\n")
                offset += 2
            for l_index, (lineno, plain, mentions) in enumerate(paragraph):
                if l_index:
                    sep = PARAGRAPH_JOIN[self.lang]
                    parts.append(sep)
                    offset += len(sep)
                self.line_starts.append((offset, lineno))
                for (s, e, text, key, type_) in mentions:
                    self.mentions.append(Mention(offset + s, offset + e, text, key, type_, lineno))
                parts.append(plain)
                offset += len(plain)
        self.text = "".join(parts)
        for m in self.mentions:
            assert self.text[m.start:m.end] == m.text, (self.id, m.text)

    def lineno_at(self, offset):
        best = self.lineno
        for start, lineno in self.line_starts:
            if start <= offset:
                best = lineno
            else:
                break
        return best

    def clusters(self):
        """Clusters in order of first mention: list of (key, type, [mentions sorted by start])."""
        order, by_key = [], {}
        for m in sorted(self.mentions, key=lambda m: (m.start, m.end)):
            if m.key not in by_key:
                by_key[m.key] = []
                order.append(m.key)
            by_key[m.key].append(m)
        return [(key, by_key[key][0].type, by_key[key]) for key in order]


def size_of(text, lang):
    return len(text.split()) if lang == "en" else len(text)


def default_canonical(mentions, lang):
    best = None
    for m in mentions:                       # sorted by start: first occurrence wins ties
        if best is None or size_of(m.text, lang) > size_of(best.text, lang):
            best = m
    return best.text


def parse_markup(line, lang, path, lineno, problems):
    """Return (plain_text, [(start, end, text, key, type)]) or None after reporting an error."""
    plain, mentions, pos, ok = [], [], 0, True
    plain_len = 0
    while pos < len(line):
        open_at = line.find("[[", pos)
        chunk = line[pos:] if open_at < 0 else line[pos:open_at]
        if "]]" in chunk:
            problems.error(path, lineno, "unbalanced ']]' without a matching '[['")
            return None
        if "|" in chunk:
            problems.error(path, lineno, "stray '|' outside a mention")
            return None
        plain.append(chunk)
        plain_len += len(chunk)
        if open_at < 0:
            break
        close_at = line.find("]]", open_at + 2)
        if close_at < 0:
            problems.error(path, lineno, "unbalanced '[[' without a closing ']]' on the same line")
            return None
        body = line[open_at + 2:close_at]
        if "[[" in body:
            head = body[:body.find("[[")]
            problems.error(path, lineno, "unclosed or nested mention at column %d: '[[%s' is followed by another "
                           "'[[' before ']]'" % (open_at + 1, head if len(head) <= 40 else head[:40] + "..."))
            return None
        fields = body.split("|")
        if len(fields) != 3:
            problems.error(path, lineno, "malformed mention [[%s]]: expected [[surface|key|TYPE]]" % body)
            return None
        surface, key, type_ = fields
        if not surface:
            problems.error(path, lineno, "empty surface text in [[%s]]" % body)
            ok = False
        elif surface != surface.strip():
            problems.error(path, lineno, "surface text has surrounding whitespace in [[%s]]" % body)
            ok = False
        elif "[" in surface or "]" in surface:
            problems.error(path, lineno, "bracket inside surface text in [[%s]]" % body)
            ok = False
        if not KEY_RE.match(key):
            problems.error(path, lineno, "bad cluster key %r in [[%s]] (lowercase ascii letters, digits, '_', '-')"
                           % (key, body))
            ok = False
        if type_ not in TYPES[lang]:
            problems.error(path, lineno, "unknown TYPE %r for lang %s in [[%s]] (allowed: %s)"
                           % (type_, lang, body, ", ".join(TYPES[lang])))
            ok = False
        mentions.append((plain_len, plain_len + len(surface), surface, key, type_))
        plain.append(surface)
        plain_len += len(surface)
        pos = close_at + 2
    text = "".join(plain)
    if "[" in text or "]" in text:
        problems.error(path, lineno, "stray '[' or ']' outside a mention")
        return None
    return (text, mentions) if ok else None


def parse_source(path, rel, file_lang, problems, docs, seen_ids, overrides):
    with open(path, encoding="utf-8", newline="") as f:
        raw = f.read()
    if "\r" in raw:
        problems.error(rel, 1, "CR line endings are not allowed")
    doc = None
    for lineno, line in enumerate(raw.split("\n"), 1):
        line = line.rstrip()
        if DOC_PREFIX_RE.match(line):
            doc = None
            m = DOC_RE.match(line)
            if not m:
                problems.error(rel, lineno, "malformed doc header; expected '# doc <id> <lang> <split> <category>'")
                doc = Doc(rel, lineno, "?", file_lang, "test", "?")   # discarded; swallows its text lines
                continue
            doc_id, lang, split, category = m.groups()
            bad = False
            if lang not in TYPES:
                problems.error(rel, lineno, "bad lang %r (expected en or zh)" % lang)
                bad = True
            elif lang != file_lang:
                problems.error(rel, lineno, "lang %r in a %s source file" % (lang, file_lang))
                bad = True
            if split not in SPLITS:
                problems.error(rel, lineno, "bad split %r (expected dev or test)" % split)
                bad = True
            if not bad and category not in CATEGORIES[lang]:
                problems.error(rel, lineno, "unknown %s category %r (allowed: %s)"
                               % (lang, category, ", ".join(CATEGORIES[lang])))
                bad = True
            idm = ID_RE.match(doc_id)
            if not bad and (not idm or idm.group(1) != lang or idm.group(2) != category):
                problems.error(rel, lineno, "doc id %r must be %s-%s-NNN" % (doc_id, lang, category))
                bad = True
            if doc_id in seen_ids:
                problems.error(rel, lineno, "duplicate doc id %r (first at %s)" % (doc_id, seen_ids[doc_id]))
                bad = True
            else:
                seen_ids[doc_id] = "%s:%d" % (rel, lineno)
            # a rejected header still opens a (discarded) document, so its text is checked but not
            # reported as "text outside a document"
            doc = Doc(rel, lineno, doc_id, lang if lang == file_lang else file_lang, split, category)
            if not bad:
                docs.append(doc)
            continue
        if line.startswith("#!"):
            fields = line[2:].split(None, 3)
            if len(fields) == 4 and fields[0] == "canonical" and fields[3].strip():
                overrides.append((rel, lineno, fields[1], fields[2], fields[3].strip()))
            else:
                problems.error(rel, lineno, "malformed directive; expected '#! canonical <doc-id> <key> <text>'")
            continue
        if line.startswith("#"):
            if doc is not None and HARD_NEGATIVE_RE.match(line):
                doc.hard_negative = True
            continue
        if not line.strip():
            if doc is not None:
                doc.end_paragraph()
            continue
        if doc is None:
            problems.error(rel, lineno, "text outside a document (before the first valid '# doc' header)")
            continue
        parsed = parse_markup(line.strip(), doc.lang, rel, lineno, problems)
        if parsed is not None:
            doc.add_line(lineno, parsed[0], parsed[1])
        else:
            doc.broken = True


def validate_doc(doc, problems):
    if not doc.paragraphs:
        if not doc.broken:
            problems.error(doc.path, doc.lineno, "empty document %s" % doc.id)
        return
    doc.assemble()
    key_types = {}
    for m in doc.mentions:
        if m.key in key_types and key_types[m.key][0] != m.type:
            problems.error(doc.path, m.lineno, "key %r used with two TYPEs in %s: %s (line %d) and %s"
                           % (m.key, doc.id, key_types[m.key][0], key_types[m.key][1], m.type))
        key_types.setdefault(m.key, (m.type, m.lineno))
    clusters = doc.clusters()
    if doc.broken:
        return
    variant = sum(1 for _, _, ms in clusters if len(set(m.text for m in ms)) >= 2)
    if variant < MIN_VARIANT_CLUSTERS:
        problems.error(doc.path, doc.lineno, "%s has %d cluster(s) with 2+ different surface forms (need %d)"
                       % (doc.id, variant, MIN_VARIANT_CLUSTERS))
    if doc.lang == "en":
        words = len(doc.text.split())
        if not EN_WORDS[0] <= words <= EN_WORDS[1]:
            problems.error(doc.path, doc.lineno, "%s has %d words (need %d-%d)" % ((doc.id, words) + EN_WORDS))
        if not EN_ENTITIES[0] <= len(clusters) <= EN_ENTITIES[1]:
            problems.error(doc.path, doc.lineno, "%s has %d entities (need %d-%d)"
                           % ((doc.id, len(clusters)) + EN_ENTITIES))
    # Lint: a mention's surface text occurring elsewhere in the document without markup.
    covered = [False] * len(doc.text)
    for m in doc.mentions:
        for i in range(m.start, m.end):
            covered[i] = True
    reported = set()
    for m in doc.mentions:
        if m.text in reported:
            continue
        if doc.lang == "en":
            pattern = re.compile(r"(?<![\w])" + re.escape(m.text) + r"(?![\w])")
        else:
            pattern = re.compile(re.escape(m.text))
        for hit in pattern.finditer(doc.text):
            if not all(covered[hit.start():hit.end()]):
                problems.warn(doc.path, doc.lineno_at(hit.start()),
                              "%s: %r occurs without markup (offset %d)" % (doc.id, m.text, hit.start()))
                reported.add(m.text)
                break
        if doc.lang == "en":
            if m.text.startswith("the ") or m.text.startswith("a "):
                problems.warn(doc.path, m.lineno, "%s: determiner inside mention %r" % (doc.id, m.text))
            if m.text.endswith("'s") or m.text.endswith("\u2019s"):
                problems.warn(doc.path, m.lineno, "%s: possessive inside mention %r" % (doc.id, m.text))


def lint_canonicals(docs, problems):
    for doc in docs:
        if doc.lang != "en":
            continue
        for key, type_, ms in doc.clusters():
            if key in doc.canonical or type_ != "PERSON":
                continue
            canonical = default_canonical(ms, doc.lang)
            if len(canonical.split()) >= 2 and canonical.split()[0] in TITLE_WORDS:
                first = next(m for m in ms if m.text == canonical)
                problems.warn(doc.path, first.lineno, "%s: default canonical %r of %r starts with a title; "
                              "add '#! canonical %s %s <name>'" % (doc.id, canonical, key, doc.id, key))


def apply_overrides(docs, overrides, problems):
    by_id = {d.id: d for d in docs}
    seen = {}
    for rel, lineno, doc_id, key, text in overrides:
        doc = by_id.get(doc_id)
        if doc is None:
            problems.error(rel, lineno, "canonical override for unknown doc %r" % doc_id)
            continue
        if key not in {m.key for m in doc.mentions}:
            problems.error(rel, lineno, "canonical override for unknown key %r in %s" % (key, doc_id))
            continue
        if (doc_id, key) in seen:
            problems.error(rel, lineno, "duplicate canonical override for %s %s (first at line %d)"
                           % (doc_id, key, seen[(doc_id, key)]))
            continue
        seen[(doc_id, key)] = lineno
        doc.canonical[key] = text


def doc_json(doc):
    clusters = []
    for key, type_, ms in doc.clusters():
        canonical = doc.canonical.get(key) or default_canonical(ms, doc.lang)
        clusters.append({
            "key": key,
            "type": type_,
            "canonical": canonical,
            "mentions": [{"start": m.start, "end": m.end, "text": m.text} for m in ms],
        })
        for m in ms:
            assert doc.text[m.start:m.end] == m.text
    obj = {"id": doc.id, "lang": doc.lang, "category": doc.category, "text": doc.text, "clusters": clusters}
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def counts_table(docs):
    rows = []
    header = ("lang", "split", "docs", "clusters", "mentions", "multi", "singleton", "variant", "hardneg", "override")
    groups = [(lang, split) for lang in ("en", "zh") for split in SPLITS] + [("all", "all")]
    for lang, split in groups:
        sel = [d for d in docs if (lang == "all" or d.lang == lang) and (split == "all" or d.split == split)]
        cl = [c for d in sel for c in d.clusters()]
        rows.append((lang, split, len(sel), len(cl), sum(len(ms) for _, _, ms in cl),
                     sum(1 for _, _, ms in cl if len(ms) >= 2), sum(1 for _, _, ms in cl if len(ms) == 1),
                     sum(1 for _, _, ms in cl if len(set(m.text for m in ms)) >= 2),
                     sum(1 for d in sel if d.hard_negative), sum(len(d.canonical) for d in sel)))
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(w) for v, w in zip(r, widths)) for r in [header] + rows]
    lines.append("(multi: clusters with 2+ mentions; variant: clusters with 2+ different surface forms; "
                 "hardneg: docs with a '# hard negative:' note; override: '#! canonical' lines)")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="validate and verify the .jsonl files are up to date")
    ap.add_argument("--strict", action="store_true", help="treat warnings as errors")
    args = ap.parse_args()

    problems = Problems()
    docs, seen_ids, overrides = [], {}, []
    for name, lang in SOURCES:
        path = os.path.join(HERE, name)
        rel = os.path.relpath(path)
        if not os.path.exists(path):
            problems.error(rel, 1, "missing source file")
            continue
        parse_source(path, rel, lang, problems, docs, seen_ids, overrides)
    for doc in docs:
        validate_doc(doc, problems)
    apply_overrides(docs, overrides, problems)
    lint_canonicals(docs, problems)
    for (lang, split), minimum in sorted(MIN_DOCS.items()):
        n = sum(1 for d in docs if d.lang == lang and d.split == split)
        if n < minimum:
            name = dict((l, s) for s, l in SOURCES)[lang]
            problems.error(os.path.relpath(os.path.join(HERE, name)), 1,
                           "only %d %s %s documents (need at least %d)" % (n, lang, split, minimum))

    for w in problems.warnings:
        print(w, file=sys.stderr)
    for e in problems.errors:
        print(e, file=sys.stderr)
    if problems.errors or (args.strict and problems.warnings):
        print("%d error(s), %d warning(s)" % (len(problems.errors), len(problems.warnings)), file=sys.stderr)
        return 1

    outputs = {}
    for split in SPLITS:
        lines = [doc_json(d) for d in docs if d.split == split]
        outputs[split] = "".join(line + "\n" for line in lines)

    stale = False
    for split in SPLITS:
        path = os.path.join(HERE, OUTPUTS[split])
        rel = os.path.relpath(path)
        if args.check:
            if not os.path.exists(path):
                print("%s:1: missing; run python3 data/coref/build.py" % rel, file=sys.stderr)
                stale = True
                continue
            with open(path, encoding="utf-8", newline="") as f:
                current = f.read()
            if current != outputs[split]:
                old, new = current.split("\n"), outputs[split].split("\n")
                line = next((i + 1 for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
                print("%s:%d: out of date; run python3 data/coref/build.py" % (rel, line), file=sys.stderr)
                stale = True
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(outputs[split])
    print(counts_table(docs))
    if stale:
        return 1
    if args.check:
        print("ok: sources valid, %s up to date" % " and ".join(OUTPUTS[s] for s in SPLITS))
    else:
        print("wrote %s" % ", ".join(os.path.relpath(os.path.join(HERE, OUTPUTS[s])) for s in SPLITS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
