#!/usr/bin/env python3
"""Pseudo-queries for cross-encoder training: each corpus title asks for its own abstract.

    title_queries.py --beir ../shared/data/retrieval/scifact --split train --out DIR \
        [--min-words 5]

SciFact has 738 labelled (claim, abstract) pairs for training, too few for the model alone
to beat the first stage. The corpus itself has 5,183 (title, abstract) pairs: a title is a
short scientific statement, much like a claim. This writes a BEIR-shaped dataset in DIR:

  corpus.jsonl   the corpus with every title blanked (else the title would sit verbatim in
                 its own positive passage, and hard negatives would be mined on titles too)
  queries.jsonl  one query per kept document: id `t:<doc id>`, text = its title
  qrels/<split>.tsv  t:<doc id> -> doc id, grade 1

`quarry eval retrieval --beir DIR --split <split> --system bm25` then mines hard negatives
for these queries like for the real ones, and export_pairs.py turns the run into groups.

Documents that are positives of a dev-part query of the real split (the sha256 rule) are
left out, so nothing about the dev queries' answers reaches training.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pairs import dev_part  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beir", required=True, help="BEIR directory (corpus.jsonl, qrels/SPLIT.tsv)")
    ap.add_argument("--split", default="train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-words", type=int, default=5)
    a = ap.parse_args(argv)

    held = set()
    with open(os.path.join(a.beir, "qrels", f"{a.split}.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3 or (i == 0 and not cols[-1].strip().lstrip("-").isdigit()):
                continue  # header
            qid, doc, grade = cols[0], cols[1], cols[-1]
            if int(grade) > 0 and dev_part(qid):
                held.add(doc)
    os.makedirs(os.path.join(a.out, "qrels"), exist_ok=True)
    kept = skipped_dev = skipped_short = 0
    with open(os.path.join(a.beir, "corpus.jsonl"), encoding="utf-8") as src, \
            open(os.path.join(a.out, "corpus.jsonl"), "w", encoding="utf-8") as corpus, \
            open(os.path.join(a.out, "queries.jsonl"), "w", encoding="utf-8") as queries, \
            open(os.path.join(a.out, "qrels", f"{a.split}.tsv"), "w", encoding="utf-8") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        for line in src:
            if not line.strip():
                continue
            d = json.loads(line)
            doc, title, text = str(d["_id"]), (d.get("title") or "").strip(), (d.get("text") or "").strip()
            corpus.write(json.dumps({"_id": doc, "title": "", "text": text}, ensure_ascii=False) + "\n")
            if doc in held:
                skipped_dev += 1
                continue
            if len(title.split()) < a.min_words or not text:
                skipped_short += 1
                continue
            queries.write(json.dumps({"_id": f"t:{doc}", "text": title}, ensure_ascii=False) + "\n")
            qrels.write(f"t:{doc}\t{doc}\t1\n")
            kept += 1
    print(json.dumps({"queries": kept, "left_out_dev_positives": skipped_dev,
                      "left_out_short": skipped_short, "out": a.out}))


if __name__ == "__main__":
    main()
