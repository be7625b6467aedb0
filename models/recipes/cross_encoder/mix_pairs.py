#!/usr/bin/env python3
"""Mix a sample of extra training groups (e.g. title pseudo-queries) into a pairs directory.

    mix_pairs.py --base PAIRS --extra EXTRA_PAIRS --n 1200 --out MIXED [--seed 13]

MIXED/fit.jsonl = BASE/fit.jsonl + n groups drawn (seeded) from EXTRA's fit and dev parts
(the extra queries are not the split's queries, so both parts are training material);
MIXED/dev.jsonl = BASE/dev.jsonl, unchanged: selection still sees only real dev queries.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pairs import load_jsonl  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--extra", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args(argv)
    extra = [r for p in ("fit", "dev") for r in load_jsonl(os.path.join(a.extra, f"{p}.jsonl"))
             if r["positives"] and r["negatives"]]
    if a.n > len(extra):
        sys.exit(f"mix_pairs.py: asked for {a.n} extra groups, {a.extra} has {len(extra)}")
    extra.sort(key=lambda r: r["qid"])
    pick = random.Random(a.seed).sample(extra, a.n)
    os.makedirs(a.out, exist_ok=True)
    base_fit = load_jsonl(os.path.join(a.base, "fit.jsonl"))
    with open(os.path.join(a.out, "fit.jsonl"), "w", encoding="utf-8") as f:
        for r in base_fit + pick:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(a.base, "dev.jsonl"), encoding="utf-8") as src, \
            open(os.path.join(a.out, "dev.jsonl"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    meta = {"base": os.path.abspath(a.base), "extra": os.path.abspath(a.extra), "extra_groups": a.n,
            "seed": a.seed, "fit_queries": len(base_fit) + a.n}
    with open(os.path.join(a.out, "pairs.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
