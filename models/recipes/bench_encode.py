#!/usr/bin/env python3
"""Python onnxruntime encoding baseline (for comparison with the Rust encoder).

    bench_encode.py --onnx FILE --tokenizer tokenizer.json \
        --corpus ../shared/data/retrieval/scifact/corpus.jsonl \
        [--n 1000] [--batch 32] [--max-len 256] [--threads 2] [--sorted] [--json]

Reads the first --n documents of a BEIR-style corpus.jsonl (text = title + " "
+ text), tokenizes them with `tokenizers` (truncation at --max-len, the
tokenizer.json baked-in padding disabled), batches them (file order, or with
--sorted ordered by token length first), pads each batch to its longest
sequence, runs the model with intra_op_num_threads=--threads and
inter_op_num_threads=1, and for an encoder model (output last_hidden_state)
mean-pools over the attention mask and L2-normalises.  A SPLADE model
(output `sparse`) is already pooled inside the graph.

Timing covers tokenization + batching + inference + pooling; it excludes
reading the corpus file, the session load and --warmup untimed batches
(default 1, the first batch, to page in weights / let ORT allocate).
RAYON_NUM_THREADS is set to --threads (unless already set) so the `tokenizers`
batch encoding uses the same thread budget as the model.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up batches (default 1)")
    ap.add_argument("--sorted", action="store_true", help="sort docs by token length before batching")
    ap.add_argument("--json", action="store_true", help="print one JSON result line")
    args = ap.parse_args(argv)
    if args.n <= 0 or args.batch <= 0 or args.max_len <= 2 or args.threads <= 0 or args.warmup < 0:
        ap.error("--n, --batch, --threads must be > 0, --max-len > 2, --warmup >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    try:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as exc:
        print(f"bench_encode.py: missing dependency ({exc}); pip install -r models/requirements-dev.txt",
              file=sys.stderr)
        return 2

    docs = []
    try:
        with open(args.corpus, encoding="utf-8") as f:
            for line in f:
                if len(docs) >= args.n:
                    break
                line = line.strip()
                if not line:
                    continue
                d = json.loads(line)
                title = d.get("title") or ""
                text = d.get("text") or ""
                docs.append(f"{title} {text}" if title else text)
        tok = Tokenizer.from_file(args.tokenizer)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    except Exception as exc:
        print(f"bench_encode.py: error: {exc}", file=sys.stderr)
        return 2
    if not docs:
        print(f"bench_encode.py: error: no documents in {args.corpus}", file=sys.stderr)
        return 2
    if len(docs) < args.n:
        print(f"bench_encode.py: warning: corpus has only {len(docs)} docs", file=sys.stderr)
    tok.no_padding()
    tok.enable_truncation(max_length=args.max_len)

    in_names = {i.name for i in sess.get_inputs()}
    out_names = [o.name for o in sess.get_outputs()]
    if "last_hidden_state" in out_names:
        out_name, pool = "last_hidden_state", True
    elif "sparse" in out_names:
        out_name, pool = "sparse", False
    else:
        print(f"bench_encode.py: error: unexpected outputs {out_names}", file=sys.stderr)
        return 2

    def encode(texts):
        encs = tok.encode_batch(texts)
        order = range(len(encs))
        if args.sorted:
            order = sorted(order, key=lambda i: len(encs[i].ids))
        order = list(order)
        results = [None] * len(encs)
        n_tokens = 0
        for b in range(0, len(order), args.batch):
            idx = order[b: b + args.batch]
            longest = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), longest), dtype=np.int64)
            mask = np.zeros((len(idx), longest), dtype=np.int64)
            for r, i in enumerate(idx):
                e = encs[i].ids
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1
                n_tokens += len(e)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            feeds = {k: v for k, v in feeds.items() if k in in_names}
            out = sess.run([out_name], feeds)[0]
            if pool:
                m = mask[:, :, None].astype(np.float32)
                e = (out * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
                out = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            for r, i in enumerate(idx):
                results[i] = out[r]
        return results, n_tokens

    if args.warmup:
        encode(docs[: args.batch * args.warmup])

    t0 = time.perf_counter()
    vecs, n_tokens = encode(docs)
    secs = time.perf_counter() - t0
    dps = len(docs) / secs
    if args.json:
        print(json.dumps({
            "impl": "python-ort",
            "docs": len(docs),
            "seconds": round(secs, 4),
            "docs_per_s": round(dps, 2),
            "sorted": bool(args.sorted),
            "onnx": args.onnx,
            "batch": args.batch,
            "max_len": args.max_len,
            "threads": args.threads,
            "tokens": n_tokens,
            "dim": int(vecs[0].shape[-1]),
            "ort_version": ort.__version__,
        }))
    else:
        print(f"python-ort: {len(docs)} docs in {secs:.3f}s = {dps:.1f} docs/s "
              f"({n_tokens} tokens, batch={args.batch}, max_len={args.max_len}, threads={args.threads}, "
              f"sorted={args.sorted}, onnx={args.onnx})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
