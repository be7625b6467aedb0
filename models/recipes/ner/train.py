"""Train the SoftLexicon BiLSTM-CRF on CPU (Debian python3-torch 1.13).

Deterministic: fixed seeds, single-process data order. Model selection on --dev only.
Writes WORK/<run>/best.pt, train_log.jsonl (one line per epoch) and crf.json.
"""

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bio  # noqa: E402
from features import Lexicon, bigram_ids, fold, soft_lexicon, spans, viterbi  # noqa: E402
from model import CRF, Emitter  # noqa: E402


def tag_list(types):
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def chunk(sents, max_len):
    """Split training sentences longer than max_len at sentence punctuation (then commas, then
    anywhere) where the tag is O, so batches stay short; dev/test sentences are never split."""
    out = []
    for toks, tags in sents:
        start = 0
        while len(toks) - start > max_len:
            cut = None
            for marks in ("。；！？;!?", "，,、"):
                for k in range(start + max_len - 1, start, -1):
                    if toks[k] in marks and tags[k] == "O" and (k + 1 >= len(tags) or not tags[k + 1].startswith("I-")):
                        cut = k + 1
                        break
                if cut:
                    break
            if cut is None:
                cut = start + max_len
                while cut > start + 1 and tags[cut].startswith("I-"):
                    cut -= 1
            out.append((toks[start:cut], tags[start:cut]))
            start = cut
        out.append((toks[start:], tags[start:]))
    return out


def random_size(rng):
    """A measurement written the ways radiologists write them (for SIZE replacement)."""
    unit = rng.choice(["cm", "cm", "mm", "CM", "厘米"])
    hi = 80 if unit == "mm" else 9

    def num():
        return f"{rng.uniform(0.2, hi):.1f}" if unit != "mm" or rng.random() < 0.3 else str(rng.randint(2, hi))

    dims = rng.choice([1, 2, 2, 2, 3])
    sep = rng.choice(["×", "×", "x", "*", "X"])
    if rng.random() < 0.5:
        return sep.join(num() + unit for _ in range(dims))
    return sep.join(num() for _ in range(dims)) + unit


def mention_pools(sents):
    """Mentions by type, from the training sentences."""
    pools = {}
    for toks, tags in sents:
        for a, b, t in spans(tags):
            pools.setdefault(t, set()).add("".join(toks[a:b]))
    return {t: sorted(v) for t, v in pools.items()}


def augment(sents, copies, pools, seed):
    """Mention replacement (Dai & Adel, COLING 2020): `copies` variants of every sentence with
    entities, each entity replaced with probability 0.5 by a random mention of its type (SIZE
    by a generated measurement). Deterministic for a seed."""
    rng = random.Random(seed)
    out = []
    for toks, tags in sents:
        ents = spans(tags)
        if not ents:
            continue
        for _ in range(copies):
            nt, ng, pos = [], [], 0
            for a, b, t in ents:
                nt += toks[pos:a]
                ng += tags[pos:a]
                m = toks[a:b]
                if rng.random() < 0.5:
                    if t == "SIZE":
                        m = list(random_size(rng))
                    elif pools.get(t):
                        m = list(rng.choice(pools[t]))
                nt += m
                ng += ["B-" + t] + ["I-" + t] * (len(m) - 1)
                pos = b
            nt += toks[pos:]
            ng += tags[pos:]
            out.append((nt, ng))
    return out


class E5Store:
    """Frozen e5 character features written by features_e5.py, looked up by sentence text."""

    def __init__(self, prefix, layers=None):
        meta = json.load(open(prefix + ".json", encoding="utf-8"))
        self.arr = np.load(prefix + ".npy", mmap_mode="r")
        self.offsets = meta["offsets"]
        have = meta["layers"]
        self.pick = [have.index(l) for l in layers] if layers else list(range(len(have)))
        self.layers = [have[i] for i in self.pick]

    def get(self, text):
        o = self.offsets.get(text)
        if o is None:
            raise SystemExit(f"train.py: no e5 features for a sentence (rerun features_e5.py): {text[:40]}")
        return np.asarray(self.arr[o:o + len(text)][:, self.pick])


E5 = None  # set by main() when --e5 is given


def featurize(sents, index, lex, max_words, tag_ix, bigram_index=None):
    out = []
    for toks, tags in sents:
        f = fold("".join(toks))
        assert len(f) == len(toks)
        ids, w = soft_lexicon(f, lex, max_words)
        cid = np.array([index.get(c, 1) for c in f], dtype=np.int64)
        y = np.array([tag_ix[t] for t in tags], dtype=np.int64)
        bid = bigram_ids(f, bigram_index) if bigram_index is not None else None
        e5 = E5.get("".join(toks)) if E5 is not None else None
        out.append((cid, ids, w, y, bid, e5))
    return out


def collate(items, max_words, device="cpu"):
    """(char_ids, lex_ids, lex_weights, lengths, tags, bigram_ids or None) tensors on `device`
    (lengths stay on the CPU, where packing wants them)."""
    t = max(len(x[0]) for x in items)
    b = len(items)
    ci = np.zeros((b, t), np.int64)
    li = np.zeros((b, t, 4, max_words), np.int64)
    lw = np.zeros((b, t, 4, max_words), np.float32)
    y = np.zeros((b, t), np.int64)
    ln = np.zeros((b,), np.int64)
    bi = np.zeros((b, t), np.int64) if items[0][4] is not None else None
    ex = np.zeros((b, t) + items[0][5].shape[1:], np.float32) if items[0][5] is not None else None
    for r, (c, i, w, tags, bg, e5) in enumerate(items):
        n = len(c)
        ci[r, :n], li[r, :n], lw[r, :n], y[r, :n], ln[r] = c, i, w, tags, n
        if bi is not None:
            bi[r, :n] = bg
        if ex is not None:
            ex[r, :n] = e5
    out = [torch.from_numpy(a).to(device) for a in (ci, li, lw)] + [torch.from_numpy(ln), torch.from_numpy(y).to(device)]
    return out + [None if bi is None else torch.from_numpy(bi).to(device),
                  None if ex is None else torch.from_numpy(ex).to(device)]


def featurize_folds(train_sents, args, index, lex, tag_ix, bigram_index=None):
    """Training features. Words that are in the lexicon only because they are gold entities of
    the training set (prepare.py --gazetteer) are hidden from the features of the sentences
    they come from: sentences are split into --folds folds and fold k sees only the gazetteer
    words found in the other folds, so the model cannot learn that a gazetteer match is always
    an entity (at inference every word is visible)."""
    src = os.path.join(args.work, "lexicon_sources.json")
    gaz = set(json.load(open(src, encoding="utf-8"))["gazetteer_only"]) if os.path.exists(src) else set()
    if not gaz or args.folds < 2:
        return featurize(chunk(train_sents, args.chunk), index, lex, args.max_words, tag_ix, bigram_index)
    folds = [[s for i, s in enumerate(train_sents) if i % args.folds == k] for k in range(args.folds)]
    ents = []
    for fs in folds:
        e = set()
        for toks, tags in fs:
            for a, b, _ in spans(tags):
                e.add(fold("".join(toks[a:b])))
        ents.append(e & gaz)
    # gazetteer words of other data sets (never gold here) behave like external words
    external = set(lex.ids) - set().union(*ents)
    out = []
    for k, fs in enumerate(folds):
        visible = set().union(*(ents[j] for j in range(args.folds) if j != k))
        out += featurize(chunk(fs, args.chunk), index, lex.subset(external | visible), args.max_words, tag_ix,
                         bigram_index)
    return out


def length_batches(data, size):
    """Index batches of `size` over `data` sorted by sentence length (stable): similar lengths
    share a batch, so little padding is computed."""
    order = sorted(range(len(data)), key=lambda k: len(data[k][0]))
    return [order[s : s + size] for s in range(0, len(order), size)]


def read_partial(paths, tag_ix):
    """Partially labelled sentences (JSONL `{text, allowed}`, one list of allowed tags per
    character): ([(chars, all-O tags)], [bool mask [T, K]]). Bad lines stop with the reason."""
    sents, masks = [], []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                text, allowed = rec["text"], rec["allowed"]
                if len(allowed) != len(text):
                    raise SystemExit(f"{p}: {len(allowed)} allowed-tag lists for {len(text)} characters")
                m = np.zeros((len(text), len(tag_ix)), dtype=bool)
                for i, ts in enumerate(allowed):
                    for t in ts:
                        if t not in tag_ix:
                            raise SystemExit(f"{p}: tag {t} not in --types")
                        m[i, tag_ix[t]] = True
                if not m.any(1).all():
                    raise SystemExit(f"{p}: a character with no allowed tag")
                masks.append(m)
                sents.append((list(text), ["O"] * len(text)))
    return sents, masks


def evaluate(net, crf, data, tags, max_words, batch=64, device="cpu"):
    """Strict micro and per-type P/R/F1 on `data`. Model selection decodes with the raw CRF,
    without FORMAT.md's BIO constraint (as the committed models were selected), so that
    build.sh keeps reproducing them; predict_onnx.py and pipeline/ner decode with it."""
    net.eval()
    tr = crf.trans.detach().cpu().numpy()
    st = crf.start.detach().cpu().numpy()
    en = crf.end.detach().cpu().numpy()
    gold, pred = set(), set()
    per = {}
    with torch.no_grad():
        for idx in length_batches(data, batch):
            ci, li, lw, ln, _, bi, ex = collate([data[k] for k in idx], max_words, device)
            em = net(ci, li, lw, ln, bi, ex).cpu().numpy()
            for r, k in enumerate(idx):
                n = int(ln[r])
                path = viterbi(em[r, :n], tr, st, en)
                for sp in spans([tags[p] for p in path]):
                    pred.add((k,) + sp)
                for sp in spans([tags[p] for p in data[k][3]]):
                    gold.add((k,) + sp)
    types = sorted({g[3] for g in gold} | {p[3] for p in pred})

    def prf(g, p):
        tp = len(g & p)
        pr = tp / len(p) if p else 0.0
        rc = tp / len(g) if g else 0.0
        return {"p": pr, "r": rc, "f1": 2 * pr * rc / (pr + rc) if pr + rc else 0.0, "support": len(g)}

    for t in types:
        per[t] = prf({g for g in gold if g[3] == t}, {p for p in pred if p[3] == t})
    net.train()
    return {"micro": prf(gold, pred), "per_type": per}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, help="folder with prepare.py outputs")
    ap.add_argument("--run", required=True, help="output folder")
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--types", required=True, help="comma-separated entity types")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--max-words", type=int, default=4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--aux", nargs="*", default=[],
                    help="auxiliary data sets PATH (BIO) or cmeee:PATH, each trained through its own output "
                         "layer + CRF on the shared encoder (multi-task); only the main head is exported")
    ap.add_argument("--partial", nargs="*", default=[],
                    help="partially labelled sentences (JSONL {text, allowed: a list of allowed tags per "
                         "character}, e.g. pseudo_label.py's output), trained through the main head with the "
                         "partial-label CRF likelihood")
    ap.add_argument("--partial-share", type=float, default=1.0,
                    help="share of the partially labelled batches used per epoch")
    ap.add_argument("--aux-share", type=float, default=0.5,
                    help="share of each auxiliary set's batches used per epoch")
    ap.add_argument("--augment", type=int, default=0, help="mention-replacement copies per training sentence")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="evaluate and keep an exponential moving average of the weights (e.g. 0.99 per step)")
    ap.add_argument("--folds", type=int, default=5, help="gazetteer cross-fold hiding (see featurize_folds)")
    ap.add_argument("--chunk", type=int, default=100, help="split training sentences longer than this")
    ap.add_argument("--init", help="start from this best.pt (same vocab/lexicon); layers whose shape "
                    "differs (output layer, CRF when the tag set changes) start fresh")
    ap.add_argument("--dev-holdout", type=float, default=0.0,
                    help="when --dev is 'holdout', hold out this share of training sentences for selection")
    ap.add_argument("--layers", type=int, default=1, help="BiLSTM layers (dropout --dropout between them)")
    ap.add_argument("--bigrams", action="store_true",
                    help="character bigram embeddings (prepare.py --bigram-dim: bigrams.json, bigram_emb.npy)")
    ap.add_argument("--bigram-drop", type=float, default=0.0,
                    help="during training, replace this share of bigram ids by 0 (unknown)")
    ap.add_argument("--e5", help="frozen multilingual-e5-small character features (features_e5.py output prefix), "
                    "scalar-mixed over their layers and concatenated to the character vector")
    ap.add_argument("--e5-layers", help="comma-separated subset of the stored layers")
    ap.add_argument("--e5-drop", type=float, default=0.2, help="dropout on the mixed e5 vector")
    ap.add_argument("--device", default="cpu",
                    help="torch device (cpu, cuda); CPU runs are bit-reproducible on one thread, CUDA runs use "
                         "deterministic cuDNN but are not bit-identical to CPU runs")
    ap.add_argument("--limit", type=int, default=0,
                    help="smoke tests only: use the first N sentences of every train, dev and auxiliary set")
    args = ap.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    dev_t = torch.device(args.device)
    if dev_t.type == "cuda":
        torch.cuda.manual_seed_all(args.seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    os.makedirs(args.run, exist_ok=True)

    types = args.types.split(",")
    tags = tag_list(types)
    tag_ix = {t: i for i, t in enumerate(tags)}
    vocab = json.load(open(os.path.join(args.work, "vocab.json"), encoding="utf-8"))["chars"]
    index = {c: i for i, c in enumerate(vocab)}
    lex = Lexicon.load(os.path.join(args.work, "lexicon.tsv"))
    char_emb = np.load(os.path.join(args.work, "char_emb.npy"))
    word_emb = np.load(os.path.join(args.work, "word_emb.npy"))
    bigram_index, bigram_emb = None, None
    if args.bigrams:
        bvocab = json.load(open(os.path.join(args.work, "bigrams.json"), encoding="utf-8"))["bigrams"]
        bigram_index = {g: i for i, g in enumerate(bvocab) if i > 0}
        bigram_emb = np.load(os.path.join(args.work, "bigram_emb.npy"))

    global E5
    if args.e5:
        E5 = E5Store(args.e5, [int(x) for x in args.e5_layers.split(",")] if args.e5_layers else None)
        print(f"e5 features: layers {E5.layers}", flush=True)
    t0 = time.time()
    train_sents = []
    for p in args.train:
        train_sents += bio.read(p)
    for toks, tg in train_sents:
        for t in tg:
            if t not in tag_ix:
                raise SystemExit(f"tag {t} not in --types")
    if args.dev == "holdout":
        # deterministic: every k-th block of 10 consecutive sentences (files keep reports
        # together, so a block is mostly one report and the holdout is not its near-duplicate)
        k = max(2, round(1 / args.dev_holdout))
        dev_sents = [s for i, s in enumerate(train_sents) if (i // 10) % k == k - 1]
        train_sents = [s for i, s in enumerate(train_sents) if (i // 10) % k != k - 1]
    else:
        dev_sents = bio.read(args.dev)
    if args.limit:
        train_sents, dev_sents = train_sents[: args.limit], dev_sents[: args.limit]
    if args.augment:
        extra = augment(train_sents, args.augment, mention_pools(train_sents), args.seed)
        print(f"augmented with {len(extra)} mention-replacement sentences", flush=True)
        train_sents = train_sents + extra
    train = featurize_folds(train_sents, args, index, lex, tag_ix, bigram_index)
    dev = featurize(dev_sents, index, lex, args.max_words, tag_ix, bigram_index)
    print(f"featurized {len(train)} train / {len(dev)} dev sentences in {time.time() - t0:.1f}s", flush=True)

    net = Emitter(char_emb, word_emb, len(tags), hidden=args.hidden, dropout=args.dropout, bigram_emb=bigram_emb,
                  layers=args.layers, e5_layers=len(E5.layers) if E5 else 0, e5_drop=args.e5_drop)
    crf = CRF(len(tags))
    net.to(dev_t)
    crf.to(dev_t)
    aux = []  # (data, head, crf, batches)
    for spec in args.aux:
        sents = bio.read_cmeee(spec[6:]) if spec.startswith("cmeee:") else bio.read(spec)
        if args.limit:
            sents = sents[: args.limit]
        atags = ["O"] + sorted({t for _, tg in sents for t in tg if t != "O"}, key=lambda t: (t[2:], t[0]))
        aix = {t: i for i, t in enumerate(atags)}
        data = featurize(chunk(sents, args.chunk), index, lex, args.max_words, aix, bigram_index)
        ab = length_batches(data, args.batch)
        aux.append((data, torch.nn.Linear(2 * args.hidden, len(atags)).to(dev_t), CRF(len(atags)).to(dev_t), ab))
        print(f"aux {spec}: {len(data)} sentences, {len(atags)} tags", flush=True)
    partial, partial_allowed = read_partial(args.partial, tag_ix)
    partial_batches = []
    if args.limit:
        partial, partial_allowed = partial[: args.limit], partial_allowed[: args.limit]
    if partial:
        partial = featurize(partial, index, lex, args.max_words, tag_ix, bigram_index)
        partial_batches = length_batches(partial, args.batch)
        amb = sum(int((m.sum(1) > 1).sum()) for m in partial_allowed) / max(1, sum(len(m) for m in partial_allowed))
        print(f"partial: {len(partial)} sentences, {amb:.1%} of characters with several allowed tags", flush=True)
    if args.init:
        state = torch.load(args.init, map_location=dev_t)
        own = net.state_dict()
        keep = {k: v for k, v in state["net"].items() if k in own and own[k].shape == v.shape}
        net.load_state_dict(keep, strict=False)
        if state["tags"] == tags:
            crf.load_state_dict(state["crf"])
        print(f"init from {args.init}: {len(keep)}/{len(own)} tensors", flush=True)
    params = list(net.parameters()) + list(crf.parameters())
    for _, head, acrf, _ in aux:
        params += list(head.parameters()) + list(acrf.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)

    # length-bucketed batches, shuffled per epoch with the seeded RNG
    batches = length_batches(train, args.batch)
    ema = None
    if args.ema > 0:
        ema = {k: v.detach().clone() for k, v in list(net.state_dict().items()) + [("crf." + k, v) for k, v in crf.state_dict().items()]}

    def swap_in_ema():
        """Load the averaged weights; returns the live ones to restore."""
        live_net = {k: v.detach().clone() for k, v in net.state_dict().items()}
        live_crf = {k: v.detach().clone() for k, v in crf.state_dict().items()}
        net.load_state_dict({k: ema[k] for k in live_net})
        crf.load_state_dict({k: ema["crf." + k] for k in live_crf})
        return live_net, live_crf

    best, best_epoch, log = -1.0, 0, []
    logf = open(os.path.join(args.run, "train_log.jsonl"), "w")
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        random.shuffle(batches)
        plan = [(-1, bi) for bi in batches]
        for a, (_, _, _, ab) in enumerate(aux):
            pick = list(ab)
            random.shuffle(pick)
            plan += [(a, bi) for bi in pick[: int(len(pick) * args.aux_share)]]
        if partial_batches:
            pick = list(partial_batches)
            random.shuffle(pick)
            plan += [(-2, bi) for bi in pick[: int(len(pick) * args.partial_share)]]
        random.shuffle(plan)
        total, done = 0.0, 0
        for src, bi in plan:
            data = train if src == -1 else partial if src == -2 else aux[src][0]
            ci, li, lw, ln, y, bg, ex = collate([data[k] for k in bi], args.max_words, dev_t)
            if bg is not None and args.bigram_drop > 0:
                bg = bg.masked_fill(torch.rand(bg.shape).to(dev_t) < args.bigram_drop, 0)
            mask = torch.arange(ci.shape[1], device=dev_t).unsqueeze(0) < ln.to(dev_t).unsqueeze(1)
            if src == -1:
                loss = crf.nll(net(ci, li, lw, ln, bg, ex), y, mask)
            elif src == -2:
                allowed = np.ones((len(bi), ci.shape[1], len(tags)), dtype=bool)
                for r, k in enumerate(bi):
                    allowed[r, : len(partial_allowed[k])] = partial_allowed[k]
                loss = crf.nll_partial(net(ci, li, lw, ln, bg, ex), torch.from_numpy(allowed).to(dev_t), mask)
            else:
                _, head, acrf, _ = aux[src]
                loss = acrf.nll(head(net.drop(net.encode(ci, li, lw, ln, bg, ex))), y, mask)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for k, v in list(net.state_dict().items()) + [("crf." + k, v) for k, v in crf.state_dict().items()]:
                        if v.dtype.is_floating_point:
                            ema[k].mul_(args.ema).add_(v, alpha=1 - args.ema)
                        else:
                            ema[k].copy_(v)
            if src == -1:
                total += float(loss) * len(bi)
            done += 1
            if done % 50 == 0:
                print(f"  {done}/{len(plan)} batches, {time.time() - t0:.0f}s", flush=True)
        sched.step()
        live = swap_in_ema() if ema is not None else None
        m = evaluate(net, crf, dev, tags, args.max_words, device=dev_t)
        rec = {"epoch": epoch, "loss": total / len(train), "dev": m["micro"], "per_type": m["per_type"],
               "seconds": round(time.time() - t0, 1), "lr": opt.param_groups[0]["lr"]}
        logf.write(json.dumps(rec) + "\n")
        logf.flush()
        print(f"epoch {epoch} loss {rec['loss']:.3f} dev P {m['micro']['p']:.4f} R {m['micro']['r']:.4f} "
              f"F1 {m['micro']['f1']:.4f} ({rec['seconds']}s)", flush=True)
        if m["micro"]["f1"] > best:
            best, best_epoch = m["micro"]["f1"], epoch
            torch.save({"net": {k: v.cpu() for k, v in net.state_dict().items()},
                        "crf": {k: v.cpu() for k, v in crf.state_dict().items()}, "tags": tags,
                        "hidden": args.hidden, "max_words": args.max_words, "args": vars(args),
                        **({"bigrams": True} if args.bigrams else {}),
                        **({"layers": args.layers} if args.layers != 1 else {}),
                        **({"e5_layers": E5.layers} if E5 else {}),
                        "dev": m}, os.path.join(args.run, "best.pt"))
        if live is not None:
            net.load_state_dict(live[0])
            crf.load_state_dict(live[1])
        if epoch - best_epoch >= args.patience:
            print(f"no dev gain for {args.patience} epochs: stop", flush=True)
            break
    print(f"best dev F1 {best:.4f} at epoch {best_epoch}", flush=True)
    with open(os.path.join(args.run, "done.json"), "w") as f:
        json.dump({"best_dev_f1": best, "best_epoch": best_epoch, "epochs_run": epoch}, f)


if __name__ == "__main__":
    main()
