#!/usr/bin/env python3
"""Turn linking groups (`quarry eval link --export-groups DIR`, texts) into bi-encoder
training pairs (wordpiece ids):

    tokenize_pairs.py --groups DIR --tokenizer tokenizer.json --out DIR [--negatives 4]

Each mention becomes {"q": ids, "pos": [[ids], ...], "neg": [[ids], ...], "pos_docs",
"neg_docs"}: the positives are the gold concepts' preferred names, the negatives the
generator's best-ranked other candidates (hard negatives), each a concept's preferred name
(the part of a ranker passage "name ; synonym" before " ; "). Mentions without a positive
are dropped and counted. fit.jsonl and dev.jsonl keep the groups' parts.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cross_encoder"))
from pairs import read_groups, wordpiece_ids  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--negatives", type=int, default=4, help="hard negatives kept per mention")
    ap.add_argument("--max-tokens", type=int, default=32)
    a = ap.parse_args(argv)
    ids = wordpiece_ids(a.tokenizer, a.max_tokens)
    name = lambda c: c["text"].split(" ; ")[0]  # noqa: E731
    os.makedirs(a.out, exist_ok=True)
    for part in ("fit", "dev"):
        kept = dropped = 0
        groups = read_groups(a.groups, part, "tokenize_pairs.py")
        with open(os.path.join(a.out, f"{part}.jsonl"), "w", encoding="utf-8") as out:
            for g in groups:
                if not g["positives"]:
                    dropped += 1
                    continue
                negs = sorted(g["negatives"], key=lambda c: c.get("rank") or 1 << 30)[: a.negatives]
                rec = {
                    "q": ids(g["query"]),
                    "pos": [ids(name(c)) for c in g["positives"]],
                    "pos_docs": [c["doc"] for c in g["positives"]],
                    "neg": [ids(name(c)) for c in negs],
                    "neg_docs": [c["doc"] for c in negs],
                }
                out.write(json.dumps(rec) + "\n")
                kept += 1
        print(f"{part}: {kept} mentions ({dropped} without a positive dropped)", file=sys.stderr)


if __name__ == "__main__":
    main()
