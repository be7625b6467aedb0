#!/usr/bin/env python3
"""Fine-tune a BERT-family cross-encoder on groups exported by export_pairs.py.

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 train.py --pairs DIR --init MODEL_DIR --out OUT_DIR

Each training example is a group [positive, n hard negatives] of one query; the loss is
the softmax cross-entropy of the positive within its group (listwise, "localized
contrastive"), plus optionally `--rank-reg L` times the KL divergence from the first
stage's score distribution over the group to the model's (rank regularization toward the
candidate generator, as xMEN does for entity linking). Negatives are resampled each epoch
from the query's hard negatives with a seeded generator, so a run is deterministic for a
given seed and thread count.

After every epoch (and every `--eval-every` steps) the model re-ranks the top `--dev-depth`
first-stage candidates of each dev query; nDCG@10 on dev picks the checkpoint that is
saved (OUT_DIR/model.safetensors with HuggingFace names, config.json, train_log.jsonl).
Pairs are built by `pair_ids`, the rule the Rust reranker uses:
[CLS] query[:max_query] [SEP] passage[:rest] [SEP], truncating the passage first.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_torch import CrossEncoder, read_safetensors, write_safetensors  # noqa: E402
from pairs import load_jsonl, ndcg_at, pair_ids  # noqa: E402

PAD = 0


def pad(batch):
    n = max(len(i) for i, _ in batch)
    ids = torch.full((len(batch), n), PAD, dtype=torch.long)
    typ = torch.zeros((len(batch), n), dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for r, (i, t) in enumerate(batch):
        ids[r, : len(i)] = torch.tensor(i)
        typ[r, : len(t)] = torch.tensor(t)
        mask[r, : len(i)] = 1
    return ids, typ, mask


@torch.no_grad()
def score_pairs(model, pairs, batch_size):
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]))
    out = [0.0] * len(pairs)
    for s in range(0, len(order), batch_size):
        ix = order[s: s + batch_size]
        ids, typ, mask = pad([pairs[i] for i in ix])
        for i, v in zip(ix, model(ids, typ, mask).tolist()):
            out[i] = v
    model.train()
    return out


def evaluate(model, dev, a):
    """Mean nDCG@10 on dev: first stage, and the model re-ranking the top dev_depth."""
    pairs, owners = [], []
    for qi, rec in enumerate(dev):
        idmap = {x["doc"]: x["ids"] for x in rec["positives"] + rec["negatives"]}
        for fs in rec["first_stage"][: a.dev_depth]:
            if fs["doc"] in idmap:
                pairs.append(pair_ids(rec["query_ids"], idmap[fs["doc"]], a.max_length, a.max_query))
                owners.append((qi, fs["doc"]))
    scores = score_pairs(model, pairs, a.eval_batch)
    per_q = {}
    for (qi, doc), s in zip(owners, scores):
        per_q.setdefault(qi, []).append((doc, s))
    base, rer = [], []
    for qi, rec in enumerate(dev):
        rel = dict.fromkeys((x["doc"] for x in rec["positives"]), 1)
        first = [x["doc"] for x in rec["first_stage"]]
        base.append(ndcg_at(first, rel))
        top = sorted(per_q.get(qi, []), key=lambda x: -x[1])
        head = [d for d, _ in top]
        rer.append(ndcg_at(head + [d for d in first if d not in set(head)], rel))
    return float(np.mean(base)), float(np.mean(rer))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", required=True, help="directory with fit.jsonl and dev.jsonl")
    ap.add_argument("--init", required=True, help="directory with model.safetensors + config.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--negatives", type=int, default=7)
    ap.add_argument("--groups-per-step", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-length", type=int, default=192)
    ap.add_argument("--max-query", type=int, default=64)
    ap.add_argument("--rank-reg", type=float, default=0.0)
    ap.add_argument("--rank-temp", type=float, default=1.0)
    ap.add_argument("--train-embeddings", action="store_true",
                    help="also train the word embeddings (slower; off: they stay frozen)")
    ap.add_argument("--dev-depth", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=0, help="steps; 0 = once per epoch")
    ap.add_argument("--eval-batch", type=int, default=32)
    ap.add_argument("--limit-queries", type=int, default=0, help="smoke runs: first N fit queries")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop after this step (evaluated there), the schedule still spanning --epochs; 0 = all")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    fit = load_jsonl(os.path.join(a.pairs, "fit.jsonl"))
    dev = load_jsonl(os.path.join(a.pairs, "dev.jsonl"))
    if a.limit_queries:
        fit, dev = fit[: a.limit_queries], dev[: max(4, a.limit_queries // 4)]
    cfg = json.load(open(os.path.join(a.init, "config.json")))
    model = CrossEncoder(cfg)
    missing = model.load_hf(read_safetensors(os.path.join(a.init, "model.safetensors")), seed_head=a.seed)
    print(f"initialized from {a.init}; new: {missing}", flush=True)
    if not a.train_embeddings:
        model.word.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)
    groups_per_epoch = sum(len(r["positives"]) for r in fit if r["negatives"])
    steps_per_epoch = math.ceil(groups_per_epoch / a.groups_per_step)
    total = steps_per_epoch * a.epochs
    warm = max(1, int(total * a.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "train_log.jsonl"), "w")
    base, rer = evaluate(model, dev, a)
    best = rer
    print(f"dev nDCG@10 first stage {base:.4f}, untrained re-rank of top {a.dev_depth} {rer:.4f}", flush=True)
    log.write(json.dumps({"step": 0, "dev_first_stage": base, "dev_rerank": rer}) + "\n")

    def save(tag):
        state = model.hf_state()
        write_safetensors(os.path.join(a.out, "model.safetensors"), state,
                          {"quarry": "cross-encoder", "selected": tag})
        c = dict(cfg)
        c["architectures"] = ["BertForSequenceClassification"]
        c["num_labels"] = 1
        c["quarry_pair_rule"] = {"max_length": a.max_length, "max_query": a.max_query}
        json.dump(c, open(os.path.join(a.out, "config.json"), "w"), indent=1, sort_keys=True)

    save("step0")
    step, last_eval, t0 = 0, 0, time.time()

    def checkpoint(epoch, step, loss, best):
        """Evaluates on dev, saves when best, logs; returns the best dev figure so far."""
        base, rer = evaluate(model, dev, a)
        rec = {"epoch": epoch + 1, "step": step, "loss": loss, "dev_first_stage": base,
               "dev_rerank": rer, "elapsed_s": round(time.time() - t0, 1)}
        if rer > best:
            best = rer
            save(f"epoch{epoch + 1}-step{step}")
            rec["saved"] = True
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        return best

    model.train()
    for epoch in range(a.epochs):
        groups = []
        for r in fit:
            if not r["negatives"]:
                continue
            for p in r["positives"]:
                negs = rng.sample(r["negatives"], min(a.negatives, len(r["negatives"])))
                groups.append((r, p, negs))
        rng.shuffle(groups)
        for s in range(0, len(groups), a.groups_per_step):
            chunk = groups[s: s + a.groups_per_step]
            pairs, sizes, fs_scores = [], [], []
            for r, p, negs in chunk:
                members = [p] + negs
                pairs += [pair_ids(r["query_ids"], m["ids"], a.max_length, a.max_query) for m in members]
                sizes.append(len(members))
                fs_scores.append([m["score"] if m["score"] is not None else min(
                    (x["score"] for x in negs if x["score"] is not None), default=0.0) for m in members])
            ids, typ, mask = pad(pairs)
            logits = model(ids, typ, mask)
            loss, off = 0.0, 0
            for n, fs in zip(sizes, fs_scores):
                g = logits[off: off + n]
                off += n
                loss = loss + (torch.logsumexp(g, 0) - g[0])
                if a.rank_reg > 0:
                    target = torch.softmax(torch.tensor(fs) / a.rank_temp, 0)
                    loss = loss + a.rank_reg * torch.sum(target * (torch.log(target + 1e-12) - torch.log_softmax(g, 0)))
            loss = loss / len(sizes)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 20 == 0:
                el = time.time() - t0
                print(f"epoch {epoch + 1} step {step}/{total} loss {loss.item():.4f} "
                      f"lr {sched.get_last_lr()[0]:.2e} {el / step:.2f}s/step", flush=True)
            end_of_epoch = s + a.groups_per_step >= len(groups)
            periodic = a.eval_every and step % a.eval_every == 0 and step - last_eval > a.eval_every // 4
            stop = bool(a.max_steps) and step >= a.max_steps
            if end_of_epoch or periodic or stop:
                last_eval = step
                best = checkpoint(epoch, step, loss.item(), best)
            if stop:
                break
        if a.max_steps and step >= a.max_steps:
            print(f"stopped at --max-steps {a.max_steps}")
            break
    print(f"best dev nDCG@10 (re-rank top {a.dev_depth}): {best:.4f}")


if __name__ == "__main__":
    main()
