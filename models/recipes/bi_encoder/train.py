#!/usr/bin/env python3
"""Fine-tune all-MiniLM-L6-v2 as a bi-encoder for a linking task (Debian's CPU PyTorch):

    train.py --pairs DIR --init DIR --out DIR [--epochs 1] [--batch 32] [--negatives 4]

Pairs come from tokenize_pairs.py. Each step encodes a batch of mentions and, per
mention, one positive (a gold concept's preferred name) and its hard negatives; the loss
is the cross-entropy of each mention over every encoded name of the step (in-batch
positives and negatives, a name of the mention's own gold concepts masked out unless it
is the target), with cosine similarities scaled by 20 (sentence-transformers'
MultipleNegativesRankingLoss with hard negatives). Texts are embedded as at inference:
[CLS] ids [SEP], mean pooling over the mask, L2 normalization. Deterministic for a seed.
Each evaluation reports dev Recall@1 of the gold among the step-free candidate set
(every dev mention's positives and negatives); the best evaluated model is saved as
HuggingFace-named safetensors (bert_onnx.py --kind encoder converts it).
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cross_encoder"))
from bert_torch import CrossEncoder, read_safetensors, write_safetensors  # noqa: E402
from pairs import CLS, SEP, load_jsonl  # noqa: E402


class BiEncoder(CrossEncoder):
    """The cross-encoder module's BERT, used as a sentence encoder (mean pooling)."""

    def embed(self, ids, mask):
        s = ids.shape[1]
        pos = torch.arange(s).unsqueeze(0)
        x = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids))))
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * -1e9
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.unsqueeze(-1).to(x.dtype)
        v = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(v, dim=-1)


def batch(seqs):
    seqs = [[CLS] + s + [SEP] for s in seqs]
    n = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), n, dtype=torch.long)
    mask = torch.zeros(len(seqs), n, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def encode(model, seqs, size=128):
    out = []
    with torch.no_grad():
        for i in range(0, len(seqs), size):
            out.append(model.embed(*batch(seqs[i : i + size])))
    return torch.cat(out) if out else torch.zeros(0)


def evaluate(model, dev):
    """Recall@1 of each dev mention among all dev names (positives and negatives)."""
    model.eval()
    names, docs = {}, []
    for r in dev:
        for ids, d in zip(r["pos"] + r["neg"], r["pos_docs"] + r["neg_docs"]):
            if d not in names:
                names[d] = ids
    docs = list(names)
    nv = encode(model, [names[d] for d in docs])
    qv = encode(model, [r["q"] for r in dev])
    best = (qv @ nv.T).argmax(1).tolist()
    model.train()
    return sum(docs[b] in r["pos_docs"] for b, r in zip(best, dev)) / max(1, len(dev))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--negatives", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--dev-limit", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    fit = load_jsonl(os.path.join(a.pairs, "fit.jsonl"))
    dev = load_jsonl(os.path.join(a.pairs, "dev.jsonl"))
    rng.shuffle(dev)
    dev = dev[: a.dev_limit]
    cfg = json.load(open(os.path.join(a.init, "config.json")))
    model = BiEncoder(cfg)
    model.load_hf(read_safetensors(os.path.join(a.init, "model.safetensors")), seed_head=a.seed)
    model.word.weight.requires_grad_(False)
    for p in list(model.pooler.parameters()) + list(model.classifier.parameters()):
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(fit) / a.batch)
    total = steps_per_epoch * a.epochs
    warm = max(1, int(total * a.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "train_log.jsonl"), "w")
    best = evaluate(model, dev)
    print(f"dev Recall@1 before training {best:.4f}", flush=True)
    log.write(json.dumps({"step": 0, "dev_recall1": best}) + "\n")
    write_safetensors(os.path.join(a.out, "model.safetensors"), model.hf_state())
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=2)
    step, started = 0, time.time()
    model.train()
    for epoch in range(a.epochs):
        order = list(range(len(fit)))
        rng.shuffle(order)
        for b0 in range(0, len(order), a.batch):
            recs = [fit[i] for i in order[b0 : b0 + a.batch]]
            qs, names, docs, target, gold = [], [], [], [], []
            for r in recs:
                k = rng.randrange(len(r["pos"]))
                qs.append(r["q"])
                target.append(len(names))
                gold.append(set(r["pos_docs"]))
                names.append(r["pos"][k])
                docs.append(r["pos_docs"][k])
                for ids, d in list(zip(r["neg"], r["neg_docs"]))[: a.negatives]:
                    names.append(ids)
                    docs.append(d)
            qv = model.embed(*batch(qs))
            nv = model.embed(*batch(names))
            sim = a.scale * qv @ nv.T
            mask = torch.zeros_like(sim, dtype=torch.bool)
            for i, g in enumerate(gold):
                for j, d in enumerate(docs):
                    if d in g and j != target[i]:
                        mask[i, j] = True
            sim = sim.masked_fill(mask, -1e4)
            loss = torch.nn.functional.cross_entropy(sim, torch.tensor(target))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 20 == 0:
                el = time.time() - started
                print(f"epoch {epoch + 1} step {step}/{total} loss {loss.item():.4f} {el / step:.2f}s/step", flush=True)
            if step % a.eval_every == 0 or step == total:
                r1 = evaluate(model, dev)
                saved = r1 > best
                if saved:
                    best = r1
                    write_safetensors(os.path.join(a.out, "model.safetensors"), model.hf_state())
                print(f"step {step}: dev Recall@1 {r1:.4f}{' (saved)' if saved else ''}", flush=True)
                log.write(json.dumps({"epoch": epoch + 1, "step": step, "loss": loss.item(),
                                      "dev_recall1": r1, "elapsed_s": round(time.time() - started, 1),
                                      "saved": saved}) + "\n")
                log.flush()
    print(f"best dev Recall@1 {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
