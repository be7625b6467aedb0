"""The pieces every cross-encoder recipe script shares, free of torch and onnxruntime (so
the export, training, checking and sweep scripts can all import them):

* `dev_part`: the dev fifth of a split (same rule as `quarry_eval::split`),
* `passage_text`: the passage a reranker reads (as `quarry_index::rerank::passage_of`),
* `pair_ids`: one (query, passage) pair (as `quarry_models::rerank::PairRule`),
* `load_jsonl`, and `ndcg_at` (trec_eval's nDCG, grades as gains),
* `read_groups`: the linking groups `quarry eval link --export-groups` writes.
"""

import hashlib
import json
import math
import os
import sys

CLS, SEP = 101, 102


def dev_part(qid, folds=5):
    """True for the dev part: the first 8 hex digits of sha256(qid) modulo `folds` is 0."""
    return int(hashlib.sha256(qid.encode("utf-8")).hexdigest()[:8], 16) % folds == 0


def passage_text(title, text):
    """The passage a reranker reads: title and body joined by one space."""
    title, text = title.strip(), text.strip()
    return f"{title} {text}" if title and text else (title or text)


def pair_ids(q, p, max_length, max_query):
    """(input_ids, token_type_ids) of one pair: the query keeps up to `max_query` tokens,
    the passage gets what is left of `max_length` after the three special tokens."""
    q = q[:max_query]
    room = max(0, max_length - len(q) - 3)
    p = p[:room]
    ids = [CLS] + q + [SEP] + p + [SEP]
    types = [0] * (len(q) + 2) + [1] * (len(p) + 1)
    return ids, types


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_groups(groups_dir, part, script):
    """The records of `groups_dir/<part>.jsonl` (linking groups from `quarry eval link
    --export-groups`), blank lines skipped; a missing file or a malformed line ends the run
    with a message naming `script`, the file and the line."""
    src = os.path.join(groups_dir, f"{part}.jsonl")
    if not os.path.isfile(src):  # checked now, not at the first record
        sys.exit(f"{script}: {src} is missing (run quarry eval link --export-groups)")

    def records():
        with open(src, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{script}: {src}:{n}: {e}")

    return records()


def ndcg_at(ranked, gains, k=10):
    """nDCG@k of a ranked list of ids; `gains` maps relevant ids to their grade."""
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def wordpiece_ids(tokenizer_path, max_tokens):
    """A cached text -> wordpiece ids function (no special tokens, at most `max_tokens`),
    from a `tokenizer.json` with its baked-in padding and truncation turned off."""
    from tokenizers import Tokenizer  # imported here: the rest of this module needs none

    tok = Tokenizer.from_file(tokenizer_path)
    tok.no_padding()
    tok.no_truncation()
    cache = {}

    def ids(text):
        if text not in cache:
            cache[text] = tok.encode(text, add_special_tokens=False).ids[:max_tokens]
        return cache[text]

    return ids
