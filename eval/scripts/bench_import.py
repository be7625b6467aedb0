#!/usr/bin/env python3
"""Baseline for the BEIR import benchmark: the same work in Python (json + sqlite3, one
transaction, executemany), on the same directory, best of 3."""
import csv, json, os, sqlite3, sys, tempfile, time

d = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/retrieval/scifact"
split = sys.argv[2] if len(sys.argv) > 2 else "train"
best_load = best_import = float("inf")
for _ in range(3):
    t = time.perf_counter()
    with open(os.path.join(d, "corpus.jsonl"), encoding="utf-8") as f:
        corpus = [json.loads(l) for l in f if l.strip()]
    with open(os.path.join(d, "queries.jsonl"), encoding="utf-8") as f:
        queries = [json.loads(l) for l in f if l.strip()]
    with open(os.path.join(d, "qrels", split + ".tsv"), encoding="utf-8") as f:
        r = csv.reader(f, delimiter="\t")
        next(r)
        qrels = [(q, doc, int(s)) for q, doc, s in r]
    best_load = min(best_load, time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(os.path.join(tmp, "eval.sqlite"))
        db.executescript("""
            CREATE TABLE documents(dataset_id INTEGER, doc_id TEXT, title TEXT, text TEXT);
            CREATE TABLE queries(dataset_id INTEGER, qid TEXT, text TEXT);
            CREATE TABLE qrels(dataset_id INTEGER, qid TEXT, doc_id TEXT, grade INTEGER);
            CREATE INDEX d ON documents(dataset_id, doc_id);
            CREATE INDEX q ON qrels(dataset_id, qid);""")
        t = time.perf_counter()
        with db:
            db.executemany("INSERT INTO documents VALUES (1,?,?,?)", [(c["_id"], c.get("title", ""), c.get("text", "")) for c in corpus])
            db.executemany("INSERT INTO queries VALUES (1,?,?)", [(q["_id"], q["text"]) for q in queries])
            db.executemany("INSERT INTO qrels VALUES (1,?,?,?)", qrels)
        best_import = min(best_import, time.perf_counter() - t)
        db.close()
print(json.dumps({"impl": "python json+sqlite3", "load_s": round(best_load, 4), "import_s": round(best_import, 4), "total_s": round(best_load + best_import, 4)}))
