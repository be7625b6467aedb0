"""Partial labels for unlabelled text from an ensemble of trained taggers (self-training).

Every member (a train.py checkpoint; members with frozen e5 features read them from a
features_e5.py store) tags the texts; the ensemble's path is the Viterbi path of the mean
emissions under the mean CRF scores (as export.py's ensemble), and each member's own Viterbi
path is taken too. A character's allowed tags are the tags of all those paths: one tag where
the members agree, several where they do not. train.py --partial learns from them with the
partial-label CRF likelihood (the mass of every path through the allowed tags), so the
student is taught what the ensemble agrees on and left free where it does not.

The texts are the auxiliary sets' sentences cut exactly as train.py cuts them (--chunk), so
that a features_e5.py store written for training also covers them.

    python3 pseudo_label.py --work LEX --member RUN1/best.pt RUN2/best.pt ... [--e5 PREFIX] \
        --cmeee cmeee/dev.json --bio ccks2017/train.bio --out partial.jsonl
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bio  # noqa: E402
import train  # noqa: E402
from features import Lexicon, spans, viterbi  # noqa: E402
from model import load_checkpoint  # noqa: E402


def texts_of(args):
    """The unlabelled sentences, cut like train.py cuts its auxiliary sets (by their own tags)."""
    out = []
    for p in args.cmeee:
        out += ["".join(t) for t, _ in train.chunk(bio.read_cmeee(p), args.chunk)]
    for p in args.bio:
        out += ["".join(t) for t, _ in train.chunk(bio.read(p), args.chunk)]
    if args.limit:
        out = out[: args.limit]
    return out


def emissions(ckpt, args, texts, index, lex):
    """(per-text emissions [T,K] float32, CRF dict, tags) of one member."""
    net, state = load_checkpoint(args.work, ckpt)
    net.eval()
    train.E5 = None
    if state.get("e5_layers"):
        if not args.e5:
            raise SystemExit(f"{ckpt} was trained with e5 features: give --e5 (features_e5.py output prefix)")
        train.E5 = train.E5Store(args.e5, state["e5_layers"])
    tags = state["tags"]
    tag_ix = {t: i for i, t in enumerate(tags)}
    data = train.featurize([(list(t), ["O"] * len(t)) for t in texts], index, lex, state["max_words"], tag_ix)
    ems = []
    with torch.no_grad():
        for k in range(0, len(data), 64):
            items = data[k : k + 64]
            ci, li, lw, ln, _, bi, ex = train.collate(items, state["max_words"])
            em = net(ci, li, lw, ln, bi, ex).numpy()
            ems += [em[r, : int(ln[r])].copy() for r in range(len(items))]
    crf = {k: state["crf"][k].numpy() for k in ("trans", "start", "end")}
    return ems, crf, tags


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="prepare.py folder of the members")
    ap.add_argument("--member", nargs="+", required=True, help="train.py checkpoints (best.pt)")
    ap.add_argument("--e5", help="features_e5.py output prefix (for members trained with --e5)")
    ap.add_argument("--cmeee", nargs="*", default=[], help="CMeEE JSON files (their text only)")
    ap.add_argument("--bio", nargs="*", default=[], help="BIO files (their text only)")
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--out", required=True, help="JSONL: {text, allowed: [[tag, ...] per character]}")
    ap.add_argument("--agree-bio", help="also write, as BIO, the texts on whose whole path every member agrees "
                    "with the ensemble (for plain --train)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="smoke tests: the first N texts")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    vocab = json.load(open(os.path.join(args.work, "vocab.json"), encoding="utf-8"))["chars"]
    index = {c: i for i, c in enumerate(vocab)}
    lex = Lexicon.load(os.path.join(args.work, "lexicon.tsv"))
    texts = texts_of(args)
    members = []
    for m in args.member:
        members.append(emissions(m, args, texts, index, lex))
        print(f"{m}: {len(texts)} texts tagged", flush=True)
    tags = members[0][2]
    if any(t != tags for _, _, t in members):
        raise SystemExit("members need the same tag set")
    # the raw CRF scores, without FORMAT.md's BIO constraint: the measured pseudo labels
    # (the model card's self-training section) were decoded this way
    mean = {k: np.mean([c[k] for _, c, _ in members], 0) for k in ("trans", "start", "end")}
    ambiguous = total = 0
    counts = {}
    agree = open(args.agree_bio, "w", encoding="utf-8") if args.agree_bio else None
    n_agree = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            ems = [e[i] for e, _, _ in members]
            ens = viterbi(np.mean(ems, 0), mean["trans"], mean["start"], mean["end"])
            paths = [ens] + [viterbi(e, c["trans"], c["start"], c["end"]) for e, (_, c, _) in zip(ems, members)]
            allowed = [sorted({tags[p[j]] for p in paths}) for j in range(len(text))]
            ambiguous += sum(len(a) > 1 for a in allowed)
            total += len(text)
            for _, _, t in spans([tags[j] for j in ens]):
                counts[t] = counts.get(t, 0) + 1
            f.write(json.dumps({"text": text, "allowed": allowed}, ensure_ascii=False) + "\n")
            if all(len(a) == 1 for a in allowed):
                n_agree += 1
                if agree is not None:  # a tab or line break inside a text would break the format
                    agree.write("".join(f"{' ' if c in chr(9) + chr(10) + chr(13) else c}\t{a[0]}\n"
                                        for c, a in zip(text, allowed)) + "\n")
    if agree is not None:
        agree.close()
    print(f"{len(texts)} texts ({n_agree} agreed on throughout), {total} characters, "
          f"{ambiguous / max(1, total):.1%} with several allowed tags; "
          f"ensemble entities {dict(sorted(counts.items()))} -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
