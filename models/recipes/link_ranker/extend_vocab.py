#!/usr/bin/env python3
"""Give an English BERT checkpoint the characters of a Chinese linking task.

    extend_vocab.py --init DIR --groups DIR --out DIR [--min-count 1] [--seed 13]

all-MiniLM-L6-v2's uncased wordpiece vocabulary reads 88% of the Chinese characters in
CHIP-CDN as [UNK] (1,380 of its 1,503 distinct characters), so a cross-encoder built on it
cannot compare a Chinese mention with a concept name. This script adds every character of
the task's texts (mentions and candidate names in the groups `quarry eval link
--export-groups` writes) that the tokenizer maps to [UNK]:

* tokenizer.json: each character becomes a wordpiece (ids 30522, 30523, ...; also as
  `##c` for non-CJK characters, which may sit inside a word), most frequent first, ties by
  code point, so the ids are deterministic for the same data;
* model.safetensors: the word-embedding table grows by one row per new piece, drawn
  (seeded) from a normal distribution with the per-dimension mean and standard deviation
  of the existing rows, so new characters start distinct and on the scale of the old ones;
* config.json: vocab_size.

The new rows may stay frozen (`build.sh` default; `train.py --train-embeddings` trains the
whole table, about 4.5x slower a step on two cores): identical characters get identical,
mutually distinct vectors from the first step, which is what the attention needs to match a
mention against a name, and the encoder layers learn to use them (procedures: the dev
re-rank nDCG@10 of the top 20 went from 0.18 untrained to 0.71, the generator's being 0.62).
"""

import argparse
import collections
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cross_encoder"))
from st_io import read_safetensors, write_safetensors  # noqa: E402

try:
    from tokenizers import Tokenizer
except ImportError as exc:  # pragma: no cover
    sys.exit(f"extend_vocab.py: missing dependency ({exc}); pip install -r models/requirements-dev.txt")

WORD = "embeddings.word_embeddings.weight"


def is_cjk(ch):
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def texts_of(groups_dir):
    for part in ("fit", "dev"):
        p = os.path.join(groups_dir, f"{part}.jsonl")
        if not os.path.isfile(p):
            sys.exit(f"extend_vocab.py: {p} is missing (run quarry eval link --export-groups)")
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    yield r["query"]
                    for c in r["positives"] + r["negatives"]:
                        yield c["text"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="model.safetensors + config.json + tokenizer.json")
    ap.add_argument("--groups", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args(argv)

    tok_json = json.load(open(os.path.join(a.init, "tokenizer.json"), encoding="utf-8"))
    tok = Tokenizer.from_str(json.dumps(tok_json))
    tok.no_padding()
    tok.no_truncation()
    unk = tok.token_to_id("[UNK]")
    counts = collections.Counter()
    seen_text = set()
    for t in texts_of(a.groups):
        if t in seen_text:
            continue
        seen_text.add(t)
        counts.update(ch for ch in t if not ch.isspace())
    known = {}
    new = []
    for ch, n in sorted(counts.items(), key=lambda x: (-x[1], ord(x[0]))):
        if n < a.min_count:
            continue
        if ch not in known:
            known[ch] = tok.encode(ch, add_special_tokens=False).ids == [unk]
        if known[ch]:
            new.append(ch)
    vocab = tok_json["model"]["vocab"]
    base = len(vocab)
    pieces = []
    for ch in new:
        for p in ([ch] if is_cjk(ch) else [ch, "##" + ch]):
            if p not in vocab:
                vocab[p] = base + len(pieces)
                pieces.append(p)

    weights = read_safetensors(os.path.join(a.init, "model.safetensors"))
    name = WORD if WORD in weights else "bert." + WORD
    table = weights[name]
    if table.shape[0] != base:
        sys.exit(f"extend_vocab.py: the embedding table has {table.shape[0]} rows, the vocabulary {base}")
    rng = np.random.default_rng(a.seed)
    rows = rng.normal(table.mean(0), table.std(0), size=(len(pieces), table.shape[1])).astype(np.float32)
    weights[name] = np.concatenate([table, rows], 0)
    cfg = json.load(open(os.path.join(a.init, "config.json")))
    cfg["vocab_size"] = base + len(pieces)

    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), weights)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok_json, f, ensure_ascii=False)
    # the result must read every counted character
    check = Tokenizer.from_file(os.path.join(a.out, "tokenizer.json"))
    left = [ch for ch in new if check.encode(ch, add_special_tokens=False).ids == [unk]]
    if left:
        sys.exit(f"extend_vocab.py: still [UNK] after extension: {''.join(left[:20])}")
    print(f"{len(new)} characters were [UNK]; added {len(pieces)} pieces "
          f"(vocabulary {base} -> {cfg['vocab_size']})", file=sys.stderr)


if __name__ == "__main__":
    main()
