#!/usr/bin/env python3
"""Check an exported cross-encoder against the training framework's logits, and write
the Rust test's reference.

    check_ce.py --ref reference.json --onnx model.onnx [--int8 model_int8.onnx]
                [--corpus BEIR_DIR --tokenizer tokenizer.json --out FIXTURE]

reference.json (written by torch_reference.py): {"pairs": [[ids, type_ids], ...], "qids",
"docs", "logits": [...]} from PyTorch. The fp32 graph must agree within 1e-3; the int8
graph's logits are reported (max |diff|, Spearman rank correlation). With --out, the fixture
for models/tests/reference.rs is written: the query and passage texts (from the BEIR
directory), their pair ids (which must equal the exported ids: the tokenizer + pair rule
round trip), and onnxruntime's logits of each graph.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort


def run(path, pairs):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = []
    for ids, typ in pairs:
        feed = {"input_ids": np.array([ids], dtype=np.int64),
                "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
                "token_type_ids": np.array([typ], dtype=np.int64)}
        out.append(float(s.run(["logits"], feed)[0].reshape(-1)[0]))
    return np.array(out)


def spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--int8")
    ap.add_argument("--out")
    ap.add_argument("--corpus", help="BEIR directory the reference pairs come from")
    ap.add_argument("--tokenizer")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--max-query", type=int, default=64)
    a = ap.parse_args(argv)
    ref = json.load(open(a.ref))
    pairs = [(p[0], p[1]) for p in ref["pairs"]]
    torch_logits = np.array(ref["logits"])
    fp32 = run(a.onnx, pairs)
    diff = float(np.abs(fp32 - torch_logits).max())
    report = {"pairs": len(pairs), "fp32_vs_torch_max_abs": diff}
    fixture = {"max_length": a.max_length, "max_query": a.max_query,
               "pairs": [{"input_ids": p[0], "token_type_ids": p[1]} for p in pairs],
               "fp32": fp32.tolist()}
    if a.out:
        if not (a.corpus and a.tokenizer):
            sys.exit("check_ce.py: --out needs --corpus and --tokenizer (the fixture carries texts)")
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from pairs import pair_ids, passage_text
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(a.tokenizer)
        tok.no_padding()
        tok.no_truncation()
        queries = {}
        with open(os.path.join(a.corpus, "queries.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                queries[str(r["_id"])] = r["text"]
        want = set(ref["docs"])
        docs = {}
        with open(os.path.join(a.corpus, "corpus.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if str(r["_id"]) in want:
                    docs[str(r["_id"])] = passage_text(r.get("title", ""), r.get("text", ""))
        for i, (qid, doc) in enumerate(zip(ref["qids"], ref["docs"])):
            q = tok.encode(queries[qid], add_special_tokens=False).ids
            p = tok.encode(docs[doc], add_special_tokens=False).ids
            ids, _ = pair_ids(q, p, a.max_length, a.max_query)
            if ids != list(pairs[i][0]):
                sys.exit(f"check_ce.py: pair {i} ({qid}, {doc}): text tokenization differs from the exported ids")
            fixture["pairs"][i].update({"query": queries[qid], "passage": docs[doc]})
    if a.int8:
        q = run(a.int8, pairs)
        report["int8_vs_fp32_max_abs"] = float(np.abs(q - fp32).max())
        report["int8_vs_fp32_spearman"] = spearman(q, fp32)
        fixture["int8"] = q.tolist()
    print(json.dumps(report))
    if diff > 1e-3:
        sys.exit(f"check_ce.py: fp32 ONNX differs from PyTorch by {diff:.2e} (> 1e-3)")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(fixture, f)


if __name__ == "__main__":
    main()
