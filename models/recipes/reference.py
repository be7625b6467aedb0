#!/usr/bin/env python3
"""Independent pure-numpy BERT forward pass -> reference JSON.

    reference.py --model-dir DIR --kind {encoder,splade} --out models/reference/NAME.json

DIR must hold model.safetensors, config.json and tokenizer.json.  This script
deliberately does NOT use onnx / onnxruntime: it recomputes BERT in float64
with numpy straight from the safetensors weights, so it can be used to check
the graphs produced by bert_onnx.py (see check_onnx.py).

Token ids come from the `tokenizers` package with the tokenizer.json baked-in
padding disabled and truncation set to --max-len (default 256).

  kind=encoder: "embeddings" = mean pooling over the attention mask followed by
                L2 normalisation (the sentence-transformers embedding), each
                value rounded to 6 decimals.
  kind=splade : "sparse" = one {token_id: weight} dict per text with every entry
                of max_t log(1 + relu(mlm_logits)) that is > --min-weight
                (default 1e-4), rounded to 6 decimals.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

try:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
except ImportError as exc:  # pragma: no cover
    sys.exit(f"reference.py: missing dependency ({exc}); pip install -r models/requirements-dev.txt")

TEXTS = [
    "The liver is normal.",
    "A line scan diffusion-weighted magnetic resonance imaging sequence was used to measure "
    "the apparent diffusion coefficient and relative anisotropy in the cerebral white matter "
    "of newborn infants, showing that water diffusion decreases steadily as the brain matures "
    "during the first weeks after birth.",
    "Dr. O'Neil's Q3-2024 report: HbA1c fell from 8.1% to 6.9% (n=1,204; p<0.001)!",
    "肝脏大小形态正常 CT scan of the liver",
]

_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def load(path):
    out = {}
    for k, v in load_file(path).items():
        if k.startswith("bert."):
            k = k[5:]
        if ".LayerNorm." in k:
            k = k.replace(".LayerNorm.gamma", ".LayerNorm.weight").replace(".LayerNorm.beta", ".LayerNorm.bias")
        out[k] = v.astype(np.float64) if v.dtype.kind == "f" else v
    return out


class Bert:
    def __init__(self, w, cfg):
        self.w = w
        self.H = cfg["hidden_size"]
        self.L = cfg["num_hidden_layers"]
        self.nh = cfg["num_attention_heads"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise SystemExit("reference.py: only hidden_act=gelu supported")

    def lin(self, x, p):
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def ln(self, x, p):
        return layer_norm(x, self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def encode(self, ids):
        """ids: 1-D int array (single unpadded sequence) -> [S, H] float64."""
        w = self.w
        S = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:S]
             + w["embeddings.token_type_embeddings.weight"][np.zeros(S, dtype=np.int64)])
        x = self.ln(x, "embeddings.LayerNorm")
        hd = self.H // self.nh
        for i in range(self.L):
            p = f"encoder.layer.{i}"
            q = self.lin(x, p + ".attention.self.query").reshape(S, self.nh, hd).transpose(1, 0, 2)
            k = self.lin(x, p + ".attention.self.key").reshape(S, self.nh, hd).transpose(1, 0, 2)
            v = self.lin(x, p + ".attention.self.value").reshape(S, self.nh, hd).transpose(1, 0, 2)
            a = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd))
            ctx = (a @ v).transpose(1, 0, 2).reshape(S, self.H)
            x = self.ln(self.lin(ctx, p + ".attention.output.dense") + x, p + ".attention.output.LayerNorm")
            h = gelu(self.lin(x, p + ".intermediate.dense"))
            x = self.ln(self.lin(h, p + ".output.dense") + x, p + ".output.LayerNorm")
        return x

    def mlm_logits(self, hs):
        w = self.w
        t = gelu(self.lin(hs, "cls.predictions.transform.dense"))
        t = self.ln(t, "cls.predictions.transform.LayerNorm")
        dec = w.get("cls.predictions.decoder.weight", w["embeddings.word_embeddings.weight"])
        bias = w.get("cls.predictions.decoder.bias", w.get("cls.predictions.bias"))
        return t @ dec.T + bias


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--kind", required=True, choices=["encoder", "splade"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default=None, help="model name recorded in the JSON (default: dir name)")
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--min-weight", type=float, default=1e-4)
    args = ap.parse_args(argv)

    d = args.model_dir
    try:
        with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        w = load(os.path.join(d, "model.safetensors"))
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    except (OSError, ValueError, Exception) as exc:  # tokenizers raises plain Exception
        print(f"reference.py: error loading {d}: {exc}", file=sys.stderr)
        return 1
    tok.no_padding()
    tok.enable_truncation(max_length=args.max_len)

    bert = Bert(w, cfg)
    name = args.name or os.path.basename(os.path.normpath(d))
    out = {"model": name, "kind": args.kind, "max_len": args.max_len, "texts": TEXTS, "input_ids": []}
    results = []
    for text in TEXTS:
        ids = tok.encode(text).ids
        out["input_ids"].append(ids)
        hs = bert.encode(np.asarray(ids, dtype=np.int64))
        if args.kind == "encoder":
            # all positions are real tokens (no padding): plain mean
            e = hs.mean(axis=0)
            e = e / max(np.linalg.norm(e), 1e-12)
            results.append([round(float(v), 6) for v in e])
        else:
            act = np.log1p(np.maximum(bert.mlm_logits(hs), 0.0)).max(axis=0)
            nz = np.nonzero(act > args.min_weight)[0]
            results.append({str(int(i)): round(float(act[i]), 6) for i in nz})
    if args.kind == "encoder":
        out["embeddings"] = results
    else:
        out["min_weight"] = args.min_weight
        out["sparse"] = results
    data = json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(data)
    except OSError as exc:
        print(f"reference.py: error writing {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"reference.py: wrote {args.out} ({len(data.encode())} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
