#!/usr/bin/env python3
"""PyTorch logits of a trained cross-encoder on a few dev pairs, for check_ce.py.

    torch_reference.py --model TRAIN_DIR --pairs PAIRS_DIR --out reference.json [--n 24]

Pairs: for each of the first dev queries, its first positive and its two hardest
negatives, built with pairs.pair_ids at --max-length (default: the model's own rule).
Output: {"pairs": [[input_ids, token_type_ids], ...], "qids": [...], "docs": [...],
"logits": [...]}.
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_torch import CrossEncoder, read_safetensors  # noqa: E402
from pairs import load_jsonl, pair_ids  # noqa: E402
from train import pad  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--max-query", type=int, default=64)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    m = CrossEncoder(cfg)
    missing = m.load_hf(read_safetensors(os.path.join(a.model, "model.safetensors")))
    if missing:
        sys.exit(f"torch_reference.py: {a.model} lacks {missing}: not a trained cross-encoder")
    m.eval()
    pairs, qids, docs = [], [], []
    for rec in load_jsonl(os.path.join(a.pairs, "dev.jsonl")):
        for x in (rec["positives"][:1] + rec["negatives"][:2]):
            pairs.append(pair_ids(rec["query_ids"], x["ids"], a.max_length, a.max_query))
            qids.append(rec["qid"])
            docs.append(x["doc"])
        if len(pairs) >= a.n:
            break
    with torch.no_grad():
        logits = []
        for p in pairs:  # one at a time: no padding anywhere in the reference
            ids, typ, mask = pad([p])
            logits.append(float(m(ids, typ, mask)[0]))
    json.dump({"pairs": [[i, t] for i, t in pairs], "qids": qids, "docs": docs, "logits": logits},
              open(a.out, "w"))
    print(f"torch_reference.py: {len(pairs)} pairs -> {a.out}")


if __name__ == "__main__":
    main()
