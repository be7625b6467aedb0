#!/usr/bin/env python3
"""Which vocabulary rows of a SPLADE MLM head can carry weight: the calibration that lets
bert_onnx.py --head-ids drop the others (the [batch, length, 30,522] logits are most of the
encoder's cost; most rows never come out positive after log(1 + relu)).

    splade_vocab.py --onnx model.onnx --tokenizer tokenizer.json --out head_ids.json \
        --calib DIR_OR_FILE [...] [--max-texts 6000] [--threshold 0.0] [--threads 1]

--onnx is the full-vocabulary SPLADE graph of bert_onnx.py (output `sparse` [batch, vocab]).
Calibration texts: a directory of .txt files (one document each; long files are cut into
paragraph chunks), a .jsonl file (BEIR corpus: title + text) or a .tsv with a `Text` column
(GAP). A vocabulary id is kept when its weight exceeds --threshold on at least --min-texts texts;
special tokens ([CLS], [SEP], [PAD], [MASK], [UNK] and [unusedN]) are never kept, since
Quarry zeroes them anyway.

Calibrate on text that is NOT the evaluation corpus: the committed list
(models/recipes/splade_tiny_head_ids.json) was computed on the Inspec and SemEval-2010
abstracts/papers, the 500N-KPCrowd news stories and the GAP Wikipedia snippets, and was then
checked on SciFact (a domain it never saw): see BENCHMARKS.md.
With --audit the output also records how many texts saw each kept row and its largest weight.

Rebuild the committed list (D=../shared/data; the model from `quarry models fetch`):

    python models/recipes/splade_vocab.py --onnx ~/.cache/quarry/models/splade-tiny/model.onnx \
        --tokenizer ~/.cache/quarry/models/splade-tiny/tokenizer.json \
        --out models/recipes/splade_tiny_head.json --max-texts 2000 --calib \
        $D/keyphrase/Inspec/docsutf8 $D/keyphrase/SemEval2010/docsutf8 \
        $D/keyphrase/500N-KPCrowd-v1.1/docsutf8 $D/coref/gap/gap-development.tsv
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def texts_from(path, chunk_chars=1500):
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            if name.endswith(".txt"):
                with open(os.path.join(path, name), encoding="utf-8", errors="replace") as f:
                    yield from chunks(f.read(), chunk_chars)
    elif path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                yield (d.get("title", "") + " " + d.get("text", "")).strip()
    elif path.endswith(".tsv"):
        csv.field_size_limit(1 << 24)
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                yield row["Text"]
    else:
        sys.exit(f"splade_vocab.py: unknown calibration source {path}")


def chunks(text, n):
    buf = ""
    for para in text.split("\n"):
        para = para.strip()
        if not para:
            continue
        if len(buf) + len(para) > n and buf:
            yield buf
            buf = ""
        buf = (buf + " " + para).strip()
    if buf:
        yield buf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--calib", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-texts", type=int, default=6000, help="per source")
    ap.add_argument("--threshold", type=float, default=0.0,
                    help="a row counts as live on a text when its weight exceeds this (default 0)")
    ap.add_argument("--min-texts", type=int, default=1, help="keep rows live on at least this many texts")
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--audit", action="store_true", help="also write per-row text counts and maximum weights")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    tok = Tokenizer.from_file(a.tokenizer)
    tok.no_padding()
    tok.enable_truncation(a.max_len)
    texts, sources = [], {}
    for src in a.calib:
        n0 = len(texts)
        for t in texts_from(src):
            if t.strip():
                texts.append(t)
            if len(texts) - n0 >= a.max_texts:
                break
        name = "/".join(os.path.normpath(src).split(os.sep)[-2:])
        sources[name] = len(texts) - n0
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    encs = tok.encode_batch(texts)
    order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))
    vocab = sess.get_outputs()[0].shape[1]
    vocab = vocab if isinstance(vocab, int) else tok.get_vocab_size()
    seen = np.zeros(vocab, np.int64)
    top = np.zeros(vocab, np.float32)
    t0 = time.time()
    for b in range(0, len(order), a.batch):
        ix = order[b:b + a.batch]
        L = max(len(encs[i].ids) for i in ix)
        ids = np.zeros((len(ix), L), np.int64)
        mask = np.zeros_like(ids)
        for r, i in enumerate(ix):
            n = len(encs[i].ids)
            ids[r, :n] = encs[i].ids
            mask[r, :n] = 1
        out = sess.run(["sparse"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        seen += (out > a.threshold).sum(0)
        top = np.maximum(top, out.max(0))
        if b // a.batch % 20 == 0:
            print(f"  {b + len(ix)}/{len(texts)} texts, {time.time() - t0:.0f}s, {int((seen > 0).sum())} rows live",
                  file=sys.stderr, flush=True)
    special = set()
    for token, i in tok.get_vocab().items():
        if token in ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]") or (token.startswith("[unused") and token.endswith("]")):
            special.add(i)
    keep = [i for i in range(vocab) if seen[i] >= a.min_texts and i not in special]
    out = {"about": "MLM head rows kept by bert_onnx.py --head-ids: vocabulary ids whose SPLADE weight "
                    "exceeded the threshold on at least min_texts calibration texts (splade_vocab.py); "
                    "special tokens excluded",
           "vocab": vocab, "threshold": a.threshold, "min_texts": a.min_texts, "texts": len(texts),
           "sources": sources, "ids": keep}
    if a.audit:
        out["seen"] = [int(seen[i]) for i in keep]
        out["max_weight"] = [round(float(top[i]), 4) for i in keep]
    json.dump(out, open(a.out, "w"), separators=(",", ":"))
    print(f"splade_vocab.py: kept {len(keep)} of {vocab} rows ({len(texts)} texts, {time.time() - t0:.0f}s) -> {a.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
