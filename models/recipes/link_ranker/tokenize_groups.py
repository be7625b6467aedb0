#!/usr/bin/env python3
"""Turn the linking groups `quarry eval link --export-groups DIR` writes (texts) into the
cross-encoder recipe's training groups (wordpiece ids):

    tokenize_groups.py --groups DIR --tokenizer tokenizer.json --out DIR \
        [--dev-limit 800] [--seed 13]

Input, one mention a line (DIR/fit.jsonl, DIR/dev.jsonl):
    {qid, query, positives: [{doc, text, score, rank}], negatives: [...], first_stage: [...]}
Output: the same with `query_ids` and each candidate's `ids` (no special tokens), the format
`models/recipes/cross_encoder/train.py` reads. `--dev-limit` keeps a seeded sample of the
dev mentions for model selection (every evaluation re-scores their first 20 candidates);
the full dev part is measured afterwards in Rust (`quarry eval link --part dev --rerank`).
Mentions without any positive are kept in fit.jsonl (train.py skips them) and counted.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cross_encoder"))
from pairs import read_groups, wordpiece_ids  # noqa: E402

try:
    import tokenizers  # noqa: F401  (used by wordpiece_ids)
except ImportError as exc:  # pragma: no cover
    sys.exit(f"tokenize_groups.py: missing dependency ({exc}); "
             "pip install -r models/requirements-dev.txt")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dev-limit", type=int, default=800)
    ap.add_argument("--max-tokens", type=int, default=64, help="ids kept per text")
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args(argv)

    ids = wordpiece_ids(a.tokenizer, a.max_tokens)

    os.makedirs(a.out, exist_ok=True)
    for part in ("fit", "dev"):
        recs = []
        for r in read_groups(a.groups, part, "tokenize_groups.py"):
            r["query_ids"] = ids(r["query"])
            for c in r["positives"] + r["negatives"]:
                c["ids"] = ids(c.pop("text"))
            recs.append(r)
        unmatched = sum(1 for r in recs if not r["positives"])
        missed = sum(1 for r in recs if r["positives"] and all(p["rank"] is None for p in r["positives"]))
        if part == "dev" and a.dev_limit and len(recs) > a.dev_limit:
            recs = random.Random(a.seed).sample(recs, a.dev_limit)
        with open(os.path.join(a.out, f"{part}.jsonl"), "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{part}: {len(recs)} groups ({unmatched} without a positive, "
              f"{missed} whose positives the generator missed)", file=sys.stderr)


if __name__ == "__main__":
    main()
