"""Readers for character BIO files (`char TAB tag` or `char SPACE tag`) and CMeEE JSON."""

import json


def read(path, type_map=None):
    """Yield (chars, tags) per sentence. A leading BOM is dropped; a whitespace char token
    (a line that starts with a space or tab before the tag) is kept as a space."""
    sents = []
    toks, tags = [], []
    with open(path, encoding="utf-8-sig") as f:
        for raw in f:
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                if toks:
                    sents.append((toks, tags))
                toks, tags = [], []
                continue
            if "\t" in line:
                ch, tag = line.rsplit("\t", 1)
            else:
                ch, tag = line.rsplit(" ", 1) if " " in line.strip() else (line[:1], line[1:].strip())
            ch = ch if ch else " "
            if len(ch) != 1:
                ch = ch[:1] if ch.strip() else " "
            tag = tag.strip()
            if type_map is not None and tag != "O":
                p, t = tag.split("-", 1)
                t = type_map.get(t)
                tag = "O" if t is None else f"{p}-{t}"
            toks.append(ch)
            tags.append(tag)
    if toks:
        sents.append((toks, tags))
    return sents


def read_cmeee(path):
    """CMeEE JSON -> (chars, BIO tags); nested entities are flattened by keeping, greedily,
    the longest span first (then the earliest), dropping any span that overlaps a kept one."""
    with open(path, encoding="utf-8") as f:
        docs = json.load(f)
    out = []
    for d in docs:
        text = d["text"]
        ents = sorted(d.get("entities", []), key=lambda e: (-(e["end_idx"] - e["start_idx"]), e["start_idx"]))
        tags = ["O"] * len(text)
        for e in ents:
            a, b = e["start_idx"], e["end_idx"] + 1
            if a < 0 or b > len(text) or any(t != "O" for t in tags[a:b]):
                continue
            tags[a] = "B-" + e["type"]
            for k in range(a + 1, b):
                tags[k] = "I-" + e["type"]
        out.append(([c if not c.isspace() else " " for c in text], tags))
    return out
