#!/usr/bin/env python3
"""Cross-encoder re-ranking throughput in Python onnxruntime: the baseline of
scripts/bench_rerank.sh (Rust side: models/examples/bench_rerank.rs).

    bench_ort.py --pairs PAIRS.jsonl --onnx model.onnx --tokenizer tokenizer.json \
                 [--threads 2] [--batch 32] [--max-len 256] [--warmup 1]

What a Python service typically does with a cross-encoder: for each query, its passages in
batches of --batch in the given order, each batch tokenized as (query, passage) pairs with
`tokenizers` (truncation of the passage only, at --max-len; padding to the batch's longest),
then one onnxruntime run. Same ONNX file, same pairs, same thread budget as the Rust side.
Prints one JSON line (pairs/s, process CPU seconds).
"""

import argparse
import json
import os
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args(argv)
    os.environ.setdefault("RAYON_NUM_THREADS", str(a.threads))
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    groups = []
    with open(a.pairs, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if groups and groups[-1][0] == r["query"]:
                groups[-1][1].append(r["passage"])
            else:
                groups.append((r["query"], [r["passage"]]))
    tok = Tokenizer.from_file(a.tokenizer)
    tok.enable_truncation(a.max_len, strategy="only_second")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])

    def score(q, ps):
        out = []
        for s in range(0, len(ps), a.batch):
            encs = tok.encode_batch([(q, p) for p in ps[s: s + a.batch]])
            feed = {"input_ids": np.array([e.ids for e in encs], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64)}
            out.extend(sess.run(["logits"], feed)[0].reshape(-1).tolist())
        return out

    for q, ps in groups[: a.warmup]:
        score(q, ps)
    n = sum(len(ps) for _, ps in groups)
    c0, t0 = time.process_time(), time.perf_counter()
    checksum = 0.0
    for q, ps in groups:
        checksum += sum(score(q, ps))
    secs = time.perf_counter() - t0
    print(json.dumps({"impl": "python-ort", "model": os.path.basename(a.onnx), "pairs": n,
                      "queries": len(groups), "threads": a.threads, "batch": a.batch,
                      "max_len": a.max_len, "seconds": secs, "pairs_per_s": n / secs,
                      "cpu_seconds": time.process_time() - c0, "checksum": checksum}))


if __name__ == "__main__":
    main()
