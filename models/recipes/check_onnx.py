#!/usr/bin/env python3
"""Compare an ONNX model (fp32 or int8) against a reference JSON.

    check_onnx.py --onnx OUT.onnx --reference models/reference/NAME.json \
                  [--min-cosine 0.9999] [--threads 1]

Runs onnxruntime on the reference input_ids twice: each text alone (batch of
1, no padding) and all texts together as one right-padded batch (exercises
the attention mask).  Prints, per text, the cosine similarity against the
reference and, for SPLADE, the overlap of the top-10 terms.

  encoder reference ("embeddings"): output last_hidden_state is mean-pooled
                                    over the attention mask and L2-normalised.
  splade reference ("sparse"):      output sparse [batch, vocab] is compared
                                    directly (reference holds entries > min_weight).

Exit status: 0 if every cosine >= --min-cosine (when given), 1 otherwise,
2 on usage / load errors.
"""

import argparse
import json
import sys

import numpy as np

try:
    import onnxruntime as ort
except ImportError as exc:  # pragma: no cover
    sys.exit(f"check_onnx.py: missing dependency ({exc}); pip install -r models/requirements.txt")


def cosine(a, b):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def pad_batch(seqs):
    n = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), n), dtype=np.int64)
    mask = np.zeros((len(seqs), n), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def run(sess, seqs):
    ids, mask = pad_batch(seqs)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    names = {i.name for i in sess.get_inputs()}
    feeds = {k: v for k, v in feeds.items() if k in names}
    out_names = [o.name for o in sess.get_outputs()]
    if "sparse" in out_names:
        return sess.run(["sparse"], feeds)[0].astype(np.float64)
    if "last_hidden_state" in out_names:
        hs = sess.run(["last_hidden_state"], feeds)[0].astype(np.float64)
        m = mask[:, :, None].astype(np.float64)
        e = (hs * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    raise SystemExit(f"check_onnx.py: model has neither 'sparse' nor 'last_hidden_state' output: {out_names}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--min-cosine", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--topk", type=int, default=10)
    args = ap.parse_args(argv)

    try:
        with open(args.reference, encoding="utf-8") as f:
            ref = json.load(f)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    except Exception as exc:
        print(f"check_onnx.py: error: {exc}", file=sys.stderr)
        return 2

    seqs = ref["input_ids"]
    texts = ref.get("texts", [""] * len(seqs))
    single = np.concatenate([run(sess, [s]) for s in seqs], axis=0)
    batched = run(sess, seqs)

    if "embeddings" in ref:
        refv = np.asarray(ref["embeddings"], dtype=np.float64)
        sparse = False
    elif "sparse" in ref:
        vocab = single.shape[1]
        refv = np.zeros((len(seqs), vocab), dtype=np.float64)
        for i, d in enumerate(ref["sparse"]):
            for k, v in d.items():
                refv[i, int(k)] = v
        sparse = True
    else:
        print("check_onnx.py: reference has neither 'embeddings' nor 'sparse'", file=sys.stderr)
        return 2
    if refv.shape != single.shape:
        print(f"check_onnx.py: shape mismatch: reference {refv.shape} vs onnx {single.shape}", file=sys.stderr)
        return 2

    worst = 1.0
    print(f"model={args.onnx} reference={args.reference} kind={'splade' if sparse else 'encoder'}")
    for i in range(len(seqs)):
        c1 = cosine(single[i], refv[i])
        c2 = cosine(batched[i], refv[i])
        worst = min(worst, c1, c2)
        line = f"  [{i}] len={len(seqs[i]):3d} cos_single={c1:.9f} cos_batched={c2:.9f} max_abs_diff={np.abs(single[i]-refv[i]).max():.2e}"
        if sparse:
            k = args.topk
            top_ref = set(np.argsort(-refv[i], kind="stable")[:k].tolist())
            top_s = set(np.argsort(-single[i], kind="stable")[:k].tolist())
            top_b = set(np.argsort(-batched[i], kind="stable")[:k].tolist())
            nnz = int((single[i] > 1e-4).sum())
            line += (f" top{k}_overlap_single={len(top_ref & top_s)}/{k}"
                     f" top{k}_overlap_batched={len(top_ref & top_b)}/{k} nnz={nnz}/ref{int((refv[i] > 0).sum())}")
        line += f"  {texts[i][:40]!r}"
        print(line)
    print(f"min_cosine={worst:.9f} (1-min_cosine={1.0 - worst:.3e})")
    if args.min_cosine is not None and worst < args.min_cosine:
        print(f"FAIL: min cosine {worst:.6f} < {args.min_cosine}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
