#!/usr/bin/env python3
"""Build the Quarry radiology NER data set (train.bio / test.bio) from sentences.txt
(split into train/test) and sentences_train_extra.txt (train only, written to train_extra.bio).

Standard library only.  Usage, from anywhere:

    python3 data/ner/radiology/build.py          # validate, split, write both .bio files, print counts
    python3 data/ner/radiology/build.py --check  # validate and verify the .bio files are up to date

sentences.txt and sentences_train_extra.txt share one format (see GUIDELINES.md):

  * one sentence per line, entities marked inline as [[text|TYPE]];
  * "# report <id> <MODALITY> <title...>" opens a report group; every sentence belongs to
    the report group above it;
  * any other line starting with "#" is a comment; blank lines are ignored.

Validation errors are printed as "path:line: message" and the script exits with status 1.

Both files are validated with the same checks; report ids and sentence texts must be unique
across the two files.  sentences_train_extra.txt is never split: all of its sentences go to
train_extra.bio (train side), so it cannot move any report of
sentences.txt between the sides and test.bio depends on sentences.txt alone.

Split rule (sentences.txt only): whole report groups go to one side.  Within each modality,
report groups are ordered by sha1(SALT + report id); walking that order, a group is put on the
test side when doing so brings the modality's test sentence count closer to 25% of the
modality's sentences (the first group in the order always goes to test).  Everything else is train.  The script then
requires that the test side has at least MIN_TEST_SENTENCES sentences and contains every
entity type and every modality (and that train contains every modality), or it fails.
"""

import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "sentences.txt")
EXTRA = os.path.join(HERE, "sentences_train_extra.txt")   # train-only; optional
OUTPUTS = {"train": os.path.join(HERE, "train.bio"), "train_extra": os.path.join(HERE, "train_extra.bio"),
           "test": os.path.join(HERE, "test.bio")}

TYPES = ("ANATOMY", "FINDING", "SIZE", "DENSITY", "ENHANCEMENT", "NEGATION")
MODALITIES = ("CT", "MRI", "US", "DR", "PET-CT")
SALT = "quarry-radiology-ner-v1:"
TEST_FRACTION = 0.25
MIN_TEST_SENTENCES = 100

REPORT_RE = re.compile(r"^#\s*report\s+(\S+)\s+(\S+)(?:\s+(.*))?$")


class Sentence:
    __slots__ = ("lineno", "text", "entities", "report")

    def __init__(self, lineno, text, entities, report):
        self.lineno = lineno
        self.text = text            # plain text, markup removed
        self.entities = entities    # list of (start, end, type), end exclusive, char offsets
        self.report = report


class Report:
    __slots__ = ("rid", "modality", "title", "lineno", "sentences")

    def __init__(self, rid, modality, title, lineno):
        self.rid = rid
        self.modality = modality
        self.title = title
        self.lineno = lineno
        self.sentences = []


def parse_line(line):
    """Return (plain_text, entities) or raise ValueError(message)."""
    text = []
    entities = []
    pos = 0
    n = len(line)
    while pos < n:
        start = line.find("[[", pos)
        outside = line[pos:] if start < 0 else line[pos:start]
        for bad in ("|", "]]", "[", "]"):
            if bad in outside:
                raise ValueError("stray %r outside an entity (unbalanced or malformed markup)" % bad)
        text.append(outside)
        if start < 0:
            break
        end = line.find("]]", start + 2)
        if end < 0:
            raise ValueError("unclosed '[[' at column %d" % (start + 1))
        inner = line[start + 2:end]
        if "[[" in inner or "[" in inner or "]" in inner:
            raise ValueError("nested or malformed entity at column %d" % (start + 1))
        if inner.count("|") != 1:
            raise ValueError("entity at column %d must contain exactly one '|': %r" % (start + 1, inner))
        etext, etype = inner.split("|")
        if not etext:
            raise ValueError("empty entity text at column %d" % (start + 1))
        if etext != etext.strip():
            raise ValueError("entity text has leading/trailing whitespace at column %d" % (start + 1))
        if etype not in TYPES:
            raise ValueError("unknown entity type %r at column %d" % (etype, start + 1))
        offset = sum(len(t) for t in text)
        entities.append((offset, offset + len(etext), etype))
        text.append(etext)
        pos = end + 2
    plain = "".join(text)
    return plain, entities


def load(path, seen_rids, seen_text):
    """Parse one source file.  seen_rids / seen_text map report ids / plain sentence texts to
    "file:line" and are shared between files, so duplicates across files are caught too.
    Returns (reports, errors) with errors as (lineno, message)."""
    errors = []
    reports = []
    current = None
    rel = os.path.relpath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        print("%s: not valid UTF-8: %s" % (rel, exc))
        sys.exit(1)
    if content.startswith("\ufeff"):
        errors.append((1, "file starts with a byte-order mark"))
    for lineno, line in enumerate(content.split("\n"), 1):
        if "\r" in line:
            errors.append((lineno, "carriage return in line (use LF line endings)"))
            continue
        if not line.strip():
            continue
        if line.startswith("#"):
            m = REPORT_RE.match(line)
            if m:
                rid, modality, title = m.group(1), m.group(2), (m.group(3) or "").strip()
                if modality not in MODALITIES:
                    errors.append((lineno, "unknown modality %r (known: %s)" % (modality, ", ".join(MODALITIES))))
                if rid in seen_rids:
                    errors.append((lineno, "duplicate report id %r (first at %s)" % (rid, seen_rids[rid])))
                else:
                    seen_rids[rid] = "%s:%d" % (rel, lineno)
                current = Report(rid, modality, title, lineno)
                reports.append(current)
            elif re.match(r"^#\s*report\b", line):
                errors.append((lineno, "malformed report header; expected '# report <id> <MODALITY> <title>'"))
            continue
        if current is None:
            errors.append((lineno, "sentence before the first '# report' header"))
            continue
        try:
            plain, entities = parse_line(line)
        except ValueError as exc:
            errors.append((lineno, str(exc)))
            continue
        if any(ch.isspace() for ch in plain):
            errors.append((lineno, "whitespace inside a sentence (cannot be written as a BIO token)"))
            continue
        if plain in seen_text:
            errors.append((lineno, "duplicate sentence (same text as %s)" % seen_text[plain]))
        else:
            seen_text[plain] = "%s:%d" % (rel, lineno)
        current.sentences.append(Sentence(lineno, plain, entities, current))
    for rep in reports:
        if not rep.sentences:
            errors.append((rep.lineno, "report %r has no sentences" % rep.rid))
    return reports, errors


def load_all():
    """Load sentences.txt and (if present) sentences_train_extra.txt; exit 1 on any error."""
    seen_rids, seen_text = {}, {}
    reports, errors = load(SOURCE, seen_rids, seen_text)
    all_errors = [(os.path.relpath(SOURCE), ln, msg) for ln, msg in errors]
    extra = []
    if os.path.exists(EXTRA):
        extra, errors = load(EXTRA, seen_rids, seen_text)
        all_errors += [(os.path.relpath(EXTRA), ln, msg) for ln, msg in errors]
    if all_errors:
        for rel, lineno, msg in sorted(all_errors, key=lambda e: (e[0] != os.path.relpath(SOURCE), e[1])):
            print("%s:%d: %s" % (rel, lineno, msg))
        print("%d error(s); nothing written." % len(all_errors))
        sys.exit(1)
    return reports, extra


def split(reports):
    """Return the set of report ids that go to the test side."""
    test = set()
    for modality in MODALITIES:
        group = [r for r in reports if r.modality == modality]
        if not group:
            continue
        total = sum(len(r.sentences) for r in group)
        target = TEST_FRACTION * total
        order = sorted(group, key=lambda r: hashlib.sha1((SALT + r.rid).encode("utf-8")).hexdigest())
        taken = 0
        for rep in order:
            n = len(rep.sentences)
            if taken == 0 or abs(taken + n - target) < abs(taken - target):
                test.add(rep.rid)
                taken += n
    return test


def bio(sentence):
    tags = ["O"] * len(sentence.text)
    for start, end, etype in sentence.entities:
        tags[start] = "B-" + etype
        for i in range(start + 1, end):
            tags[i] = "I-" + etype
    return "".join("%s\t%s\n" % (ch, tag) for ch, tag in zip(sentence.text, tags))


def render(sentences):
    return "\n".join(bio(s) for s in sentences)


def counts_table(reports, test_ids, extra):
    sides = {"train": [], "test": []}
    for rep in reports:
        sides["test" if rep.rid in test_ids else "train"].append(rep)
    base_train = list(sides["train"])
    sides["train"] += extra
    lines = []
    header = ["split", "reports", "sentences", "chars", "entities"] + list(TYPES)
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    rows = [("train", sides["train"]),
            ("train: from sentences.txt", base_train),
            ("train: from sentences_train_extra.txt", extra),
            ("test", sides["test"]), ("total", reports + extra)]
    for name, reps in rows:
        sents = [s for r in reps for s in r.sentences]
        per_type = {t: 0 for t in TYPES}
        for s in sents:
            for _, _, t in s.entities:
                per_type[t] += 1
        row = [name, len(reps), len(sents), sum(len(s.text) for s in sents), sum(per_type.values())]
        row += [per_type[t] for t in TYPES]
        lines.append("| " + " | ".join(str(x) for x in row) + " |")
    lines.append("")
    header = ["modality", "train reports", "train sentences", "test reports", "test sentences"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for modality in MODALITIES:
        row = [modality]
        for side in ("train", "test"):
            reps = [r for r in sides[side] if r.modality == modality]
            row += [len(reps), sum(len(r.sentences) for r in reps)]
        lines.append("| " + " | ".join(str(x) for x in row) + " |")
    return "\n".join(lines), sides


def main(argv):
    check_only = "--check" in argv[1:]
    unknown = [a for a in argv[1:] if a != "--check"]
    if unknown:
        print("usage: build.py [--check]")
        return 2
    reports, extra = load_all()
    test_ids = split(reports)          # sentences.txt only: the extra file never moves the split
    table, sides = counts_table(reports, test_ids, extra)

    problems = []
    test_sents = [s for r in sides["test"] for s in r.sentences]
    if len(test_sents) < MIN_TEST_SENTENCES:
        problems.append("test side has %d sentences, need at least %d" % (len(test_sents), MIN_TEST_SENTENCES))
    test_types = {t for s in test_sents for _, _, t in s.entities}
    for t in TYPES:
        if t not in test_types:
            problems.append("entity type %s missing from the test side" % t)
    for side in ("train", "test"):
        present = {r.modality for r in sides[side]}
        for m in MODALITIES:
            if m not in present:
                problems.append("modality %s missing from the %s side" % (m, side))
    if problems:
        for p in problems:
            print("%s: split: %s" % (os.path.relpath(SOURCE), p))
        return 1

    outputs = {}
    for side in ("train", "test"):
        # file order inside each side
        sents = [s for r in reports if (r.rid in test_ids) == (side == "test") for s in r.sentences]
        outputs[side] = render(sents)
    # the train-only file gets its own output, so train.bio stays the train side of
    # sentences.txt (the clinical model's lexicon is built from it) and the radiology model
    # trains on train.bio + train_extra.bio
    outputs["train_extra"] = render([s for r in extra for s in r.sentences])

    if check_only:
        stale = []
        for side, path in OUTPUTS.items():
            try:
                with open(path, "r", encoding="utf-8", newline="") as fh:
                    if fh.read() != outputs[side]:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
        print(table)
        if stale:
            for path in stale:
                print("%s: out of date; run build.py" % os.path.relpath(path))
            return 1
        print("OK: the source files are valid and the .bio files are up to date.")
        return 0

    for side, path in OUTPUTS.items():
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(outputs[side])
    print(table)
    print()
    print("wrote %s and %s" % (os.path.relpath(OUTPUTS["train"]), os.path.relpath(OUTPUTS["test"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
