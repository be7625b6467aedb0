#!/usr/bin/env python3
"""Export labelled (query, passage) groups for cross-encoder training from Quarry's
evaluation store (the SQLite file `quarry eval` writes).

    export_pairs.py --db ~/.cache/quarry/eval.sqlite --run RUN_ID \
        --tokenizer tokenizer.json --out-dir DIR [--negatives-from 50] [--max-length 256]

The run is a first-stage retrieval run stored by `quarry eval retrieval` (for SciFact:
`--split train --system hybrid`). For every query of the run's dataset:

  positives  = qrels with grade > 0
  negatives  = the run's top `--negatives-from` documents that are not positives
               (hard negatives mined by Quarry's own retrieval), with their first-stage
               scores and ranks (for rank regularization)

Queries are split by `dev_part(qid)` (sha256 of the query id, 1 in 5 to dev): the rule
`quarry eval retrieval --part dev|fit` applies too, so model selection never sees the
queries the model is trained on. Output: DIR/fit.jsonl and DIR/dev.jsonl, one query a
line: {qid, query, query_ids, positives: [{doc, ids, score, rank}], negatives: [...]},
where `ids` are the passage's wordpiece ids without special tokens (the pair is built at
training time with `pair_ids`, the same rule the Rust reranker uses).
"""

import argparse
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pairs import dev_part, passage_text, wordpiece_ids  # noqa: E402

try:
    import tokenizers  # noqa: F401  (used by pairs.wordpiece_ids)
except ImportError as exc:  # pragma: no cover
    sys.exit(f"export_pairs.py: missing dependency ({exc}); "
             "pip install -r models/requirements-dev.txt")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--run", type=int, required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--negatives-from", type=int, default=50)
    ap.add_argument("--max-passage-tokens", type=int, default=510,
                    help="passage ids are cut here already (the pair rule cuts further)")
    a = ap.parse_args(argv)

    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    row = con.execute(
        "SELECT r.dataset_id, d.name, r.system, r.task FROM runs r JOIN datasets d ON d.id = r.dataset_id WHERE r.id = ?",
        (a.run,)).fetchone()
    if row is None:
        sys.exit(f"export_pairs.py: run {a.run} is not in {a.db} (see `quarry eval report`)")
    ds_id, ds_name, system, task = row
    if task != "retrieval":
        sys.exit(f"export_pairs.py: run {a.run} is a {task} run, not a retrieval run")
    queries = dict(con.execute("SELECT qid, text FROM queries WHERE dataset_id = ?", (ds_id,)))
    qrels = {}
    for qid, doc, grade in con.execute("SELECT qid, doc_id, grade FROM qrels WHERE dataset_id = ?", (ds_id,)):
        if grade > 0:
            qrels.setdefault(qid, set()).add(doc)
    docs = {d: passage_text(t, x) for d, t, x in
            con.execute("SELECT doc_id, title, text FROM documents WHERE dataset_id = ?", (ds_id,))}
    ranked = {}
    for qid, rank, doc, score in con.execute(
            "SELECT qid, rank, doc_id, score FROM results WHERE run_id = ? ORDER BY qid, rank", (a.run,)):
        ranked.setdefault(qid, []).append((rank, doc, score))
    if not docs:
        sys.exit(f"export_pairs.py: dataset {ds_name} has no documents in the store")

    ids = wordpiece_ids(a.tokenizer, a.max_passage_tokens)

    os.makedirs(a.out_dir, exist_ok=True)
    counts = {"fit": [0, 0, 0], "dev": [0, 0, 0]}
    outs = {p: open(os.path.join(a.out_dir, f"{p}.jsonl.tmp"), "w", encoding="utf-8") for p in counts}
    for qid in sorted(qrels):
        if qid not in queries:
            continue
        part = "dev" if dev_part(qid) else "fit"
        hits = ranked.get(qid, [])
        by_doc = {d: (r, s) for r, d, s in hits}
        pos = [{"doc": d, "ids": ids(docs[d]), "score": by_doc.get(d, (None, None))[1],
                "rank": by_doc.get(d, (None, None))[0]} for d in sorted(qrels[qid]) if d in docs]
        neg = [{"doc": d, "ids": ids(docs[d]), "score": s, "rank": r}
               for r, d, s in hits[: a.negatives_from] if d not in qrels[qid] and d in docs]
        rec = {"qid": qid, "query": queries[qid], "query_ids": ids(queries[qid]),
               "positives": pos, "negatives": neg,
               "first_stage": [{"doc": d, "score": s} for r, d, s in hits[:100]]}
        outs[part].write(json.dumps(rec, ensure_ascii=False) + "\n")
        c = counts[part]
        c[0] += 1
        c[1] += len(pos)
        c[2] += len(neg)
    for p, f in outs.items():
        f.close()
        os.replace(os.path.join(a.out_dir, f"{p}.jsonl.tmp"), os.path.join(a.out_dir, f"{p}.jsonl"))
    meta = {"db": os.path.abspath(a.db), "run": a.run, "dataset": ds_name, "system": system,
            "negatives_from": a.negatives_from,
            "parts": {p: {"queries": c[0], "positives": c[1], "negatives": c[2]} for p, c in counts.items()}}
    with open(os.path.join(a.out_dir, "pairs.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
