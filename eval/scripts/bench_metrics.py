#!/usr/bin/env python3
"""pytrec_eval baseline for scripts/bench_metrics.sh: times RelevanceEvaluator.evaluate on
TREC qrels/run files (the same synthetic data the Rust example writes), with the same
measures Quarry computes (ndcg_cut, recip_rank, map, recall, P at the same cutoffs)."""
import argparse, json, time
import pytrec_eval

ap = argparse.ArgumentParser()
ap.add_argument("--qrels", required=True)
ap.add_argument("--run", required=True)
ap.add_argument("--reps", type=int, default=3)
a = ap.parse_args()

t = time.perf_counter()
with open(a.qrels) as f:
    qrels = pytrec_eval.parse_qrel(f)
with open(a.run) as f:
    run = pytrec_eval.parse_run(f)
parse_s = time.perf_counter() - t
ks = "1,5,10,20,100,1000"
measures = {f"ndcg_cut.{ks}", "recip_rank", "map", f"recall.{ks}", f"P.{ks}"}
best = float("inf")
for _ in range(a.reps):
    ev = pytrec_eval.RelevanceEvaluator(qrels, measures)
    t = time.perf_counter()
    res = ev.evaluate(run)
    best = min(best, time.perf_counter() - t)
n = len(res)
ndcg = sum(v["ndcg_cut_10"] for v in res.values()) / max(n, 1)
print(json.dumps({"impl": "pytrec_eval", "queries": n, "parse_s": parse_s, "evaluate_s": best, "ndcg@10_run_queries": ndcg}))
