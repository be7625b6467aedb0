#!/usr/bin/env python3
"""Choose the re-ranker's fusion weight on dev without re-running the model.

    fusion_sweep.py --db eval.sqlite --first RUN --rerank RUN [--n 100] [--weights 0,0.1,...,1]

RUN ids are stored `quarry eval retrieval` runs on the same queries: `--first` the first
stage (e.g. `--system hybrid --part dev`), `--rerank` the same first stage re-ranked with
`fusion=none` (its top-n scores are the cross-encoder's logits). For each weight w the
fused order is rebuilt exactly as `quarry_index::rerank::apply` does (min-max normalize both
scores over the top n, w * ce + (1 - w) * first; ties keep first-stage order; the rest of
the first stage below) and scored with nDCG@10 (trec_eval formula, qrels grades as gains).
"""

import argparse
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pairs import ndcg_at  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--rerank", type=int, required=True)
    ap.add_argument("--n", type=int, default=100, help="candidates fused (at most --rerank-n)")
    ap.add_argument("--rerank-n", type=int, default=100, help="the candidates the --rerank run re-scored")
    ap.add_argument("--weights", default=",".join(str(i / 10) for i in range(11)))
    a = ap.parse_args(argv)
    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)

    def run(rid):
        out = {}
        for q, d, s in con.execute("SELECT qid, doc_id, score FROM results WHERE run_id=? ORDER BY qid, rank", (rid,)):
            out.setdefault(q, []).append((d, s))
        return out

    if a.n > a.rerank_n:
        raise SystemExit("fusion_sweep.py: --n must not exceed --rerank-n")
    first, rr = run(a.first), run(a.rerank)
    ds = con.execute("SELECT dataset_id FROM runs WHERE id=?", (a.first,)).fetchone()[0]
    qrels = {}
    for q, d, g in con.execute("SELECT qid, doc_id, grade FROM qrels WHERE dataset_id=?", (ds,)):
        if g > 0:
            qrels.setdefault(q, {})[d] = g
    qids = sorted(q for q in first if q in qrels)
    res = {}
    for w in [float(x) for x in a.weights.split(",")]:
        scores = []
        for q in qids:
            head = first[q][: a.n]
            ce = dict(rr[q][: a.rerank_n])  # the re-scored head: logits of the first stage's top rerank_n
            fs = [s for _, s in head]
            cs = [ce[d] for d, _ in head]
            flo, fhi, clo, chi = min(fs), max(fs), min(cs), max(cs)
            norm = lambda x, lo, hi: (x - lo) / (hi - lo) if hi > lo else 1.0
            fused = [(w * norm(c, clo, chi) + (1 - w) * norm(f, flo, fhi), i)
                     for i, (c, f) in enumerate(zip(cs, fs))]
            fused.sort(key=lambda t: (-t[0], t[1]))
            order = [head[i][0] for _, i in fused] + [d for d, _ in first[q][a.n:]]
            scores.append(ndcg_at(order, qrels[q]))
        res[w] = sum(scores) / len(scores)
    print(json.dumps({"queries": len(qids), "ndcg@10_by_weight": res,
                      "best": max(res, key=res.get)}, indent=1))


if __name__ == "__main__":
    main()
