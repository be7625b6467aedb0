"""Python onnxruntime inference of an exported NER artifact (the reference for the Rust crate).

  predict_onnx.py --artifact DIR --gold FILE.bio [--model model.int8.onnx] [--spans OUT.tsv] [--json]

Computes the FORMAT.md features, runs the ONNX emitter in length-sorted batches, decodes with
f32 Viterbi, scores strict micro F1 (seqeval default mode) and optionally writes every
predicted span as `sent TAB start TAB end TAB TYPE` (header `# sha256 <gold file hash>`).
Runs in the project venv (numpy + onnxruntime).
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bio  # noqa: E402
import e5_packed  # noqa: E402
from features import Lexicon, batch, constrain_bio, spans, viterbi  # noqa: E402


class E5Features:
    """FORMAT.md "e5 features": the multilingual-e5-small layers ONNX (`quarry models fetch`)
    with the tokenizer from its metadata."""

    def __init__(self, path, layers, threads=1):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        meta = self.sess.get_modelmeta().custom_metadata_map
        have = [int(x) for x in meta["layers"].split(",")]
        if have != list(layers):
            raise SystemExit(f"{path} outputs layers {have}, the NER model wants {layers}")
        self.tok = e5_packed.Tokenizer.from_json(meta["e5_tokenizer"])
        self.layers = layers

    def batch(self, texts):
        """float32 [len(texts), max chars, layers, 384]: every character's piece states (one
        run over all windows of all texts, rows padded with <pad>)."""
        out = np.zeros((len(texts), max(len(x) for x in texts), len(self.layers), 384), np.float32)
        rows, where, maps = e5_packed.windows(self.tok, texts)
        if rows:
            ids, mask = e5_packed.padded(self.tok, rows)
            hs = self.sess.run(["hidden_layers"], {"input_ids": ids, "attention_mask": mask,
                                                   "token_type_ids": np.zeros_like(ids)})[0]
            e5_packed.scatter(out, hs, where, maps)
        return out


def load(artifact, model_file, threads=1, e5_model=None):
    vocab = json.load(open(os.path.join(artifact, "vocab.json"), encoding="utf-8"))["chars"]
    index = {c: i for i, c in enumerate(vocab)}
    lex = Lexicon.load(os.path.join(artifact, "lexicon.tsv"))
    crf = json.load(open(os.path.join(artifact, "crf.json")))
    cfg = json.load(open(os.path.join(artifact, "config.json"), encoding="utf-8"))
    if cfg.get("bigrams"):
        bvocab = json.load(open(os.path.join(artifact, cfg["bigrams"]), encoding="utf-8"))["bigrams"]
        cfg["_bigram_index"] = {g: i for i, g in enumerate(bvocab) if i > 0}
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(artifact, model_file), so, providers=["CPUExecutionProvider"])
    if cfg.get("e5"):
        if not e5_model:
            raise SystemExit("this artifact needs the multilingual-e5-small layers ONNX: "
                             "run `quarry models fetch` and pass --e5-model PATH")
        cfg["_e5"] = E5Features(e5_model, cfg["e5"]["layers"], threads)
    return index, lex, crf, cfg, sess


def predict(texts, index, lex, crf, cfg, sess, batch_size=32):
    tags = crf["tags"]
    tr, st = constrain_bio(tags, crf["transitions"], crf["start"])
    en = np.asarray(crf["end"], dtype=np.float32)
    out = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    for s in range(0, len(order), batch_size):
        idx = [k for k in order[s : s + batch_size]]
        live = [k for k in idx if texts[k]]
        for k in idx:
            out[k] = []
        if not live:
            continue
        feats = batch([texts[k] for k in live], index, lex, cfg["max_words"], cfg.get("_bigram_index"))
        if cfg.get("_e5"):
            feats["e5"] = cfg["_e5"].batch([texts[k] for k in live])
        em = sess.run(["emissions"], feats)[0]
        for r, k in enumerate(live):
            n = len(texts[k])
            path = viterbi(em[r, :n], tr, st, en)
            out[k] = spans([tags[p] for p in path])
    return out


def score(gold, pred):
    g = {(k,) + s for k, ss in enumerate(gold) for s in ss}
    p = {(k,) + s for k, ss in enumerate(pred) for s in ss}

    def prf(gs, ps):
        tp = len(gs & ps)
        pr = tp / len(ps) if ps else 0.0
        rc = tp / len(gs) if gs else 0.0
        return {"precision": pr, "recall": rc, "f1": 2 * pr * rc / (pr + rc) if pr + rc else 0.0, "support": len(gs)}

    types = sorted({x[3] for x in g | p})
    return {"micro": prf(g, p), "per_type": {t: prf({x for x in g if x[3] == t}, {x for x in p if x[3] == t}) for t in types}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--gold", required=True)
    ap.add_argument("--model", default="model.int8.onnx")
    ap.add_argument("--spans")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--e5-model", help="multilingual-e5-small layers ONNX, for artifacts with e5 features")
    args = ap.parse_args()
    index, lex, crf, cfg, sess = load(args.artifact, args.model, args.threads, args.e5_model)
    sents = bio.read(args.gold)
    texts = ["".join(t) for t, _ in sents]
    t0 = time.time()
    pred = predict(texts, index, lex, crf, cfg, sess, args.batch)
    secs = time.time() - t0
    gold = [spans(tags) for _, tags in sents]
    m = score(gold, pred)
    m["sentences"] = len(texts)
    m["seconds"] = round(secs, 2)
    m["model"] = args.model
    if args.spans:
        h = hashlib.sha256(open(args.gold, "rb").read()).hexdigest()
        with open(args.spans, "w", encoding="utf-8") as f:
            f.write(f"# sha256 {h}\n")
            for k, ss in enumerate(pred):
                for a, b, t in ss:
                    f.write(f"{k}\t{a}\t{b}\t{t}\n")
    print(json.dumps(m, ensure_ascii=False))


if __name__ == "__main__":
    main()
