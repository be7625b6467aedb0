"""Reference implementation of the NER input features (see FORMAT.md).

The Rust crate `pipeline/ner` must produce exactly the same tensors; the fixture written by
`python3 features.py --fixture OUT.json` is compared against it in a Rust test.
Standard library + numpy only.
"""

import json
import sys

import numpy as np

SETS = ("B", "M", "E", "S")


def fold_char(c):
    o = ord(c)
    if 0xFF01 <= o <= 0xFF5E:
        o -= 0xFEE0
    elif o == 0x3000:
        o = 0x20
    if 0x41 <= o <= 0x5A:
        o += 0x20
    return chr(o)


def fold(text):
    return "".join(fold_char(c) for c in text)


class Lexicon:
    """Words with frequencies; word id = index + 2 (0 = pad, 1 = NONE)."""

    def __init__(self, words, freqs):
        self.words = list(words)
        self.freqs = [int(f) for f in freqs]
        self.ids = {w: i + 2 for i, w in enumerate(self.words)}
        assert len(self.ids) == len(self.words), "duplicate lexicon words"
        self.max_len = max((len(w) for w in self.words), default=0)
        # prefix set makes the scan O(n * max_len) with early exit
        self.prefixes = set()
        for w in self.words:
            for k in range(1, len(w) + 1):
                self.prefixes.add(w[:k])

    def subset(self, keep):
        """The same lexicon (same word ids) restricted to the words in `keep`."""
        sub = Lexicon.__new__(Lexicon)
        sub.words = self.words
        sub.freqs = self.freqs
        sub.ids = {w: i for w, i in self.ids.items() if w in keep}
        sub.max_len = max((len(w) for w in sub.ids), default=0)
        sub.prefixes = set()
        for w in sub.ids:
            for k in range(1, len(w) + 1):
                sub.prefixes.add(w[:k])
        return sub

    @classmethod
    def load(cls, path):
        words, freqs = [], []
        with open(path, encoding="utf-8") as f:
            for line in f:
                w, fr = line.rstrip("\n").split("\t")
                words.append(w)
                freqs.append(int(fr))
        return cls(words, freqs)

    def freq_of(self, wid):
        return self.freqs[wid - 2]

    def matches(self, folded):
        """All occurrences (i, j, word_id) of lexicon words in folded text."""
        out = []
        n = len(folded)
        for i in range(n):
            for j in range(i + 1, min(n, i + self.max_len) + 1):
                s = folded[i:j]
                if s not in self.prefixes:
                    break
                wid = self.ids.get(s)
                if wid is not None:
                    out.append((i, j, wid))
        return out


def soft_lexicon(folded, lex, max_words):
    """Return (ids [n,4,L] int64, weights [n,4,L] float32) for one folded sentence."""
    n = len(folded)
    sets = [[[] for _ in SETS] for _ in range(n)]
    for i, j, wid in lex.matches(folded):
        if j - i == 1:
            sets[i][3].append((i, j, wid))
            continue
        for k in range(i, j):
            s = 0 if k == i else (2 if k == j - 1 else 1)
            sets[k][s].append((i, j, wid))
    ids = np.zeros((n, 4, max_words), dtype=np.int64)
    weights = np.zeros((n, 4, max_words), dtype=np.float32)
    for k in range(n):
        kept = []
        for s in range(4):
            occ = sorted(
                sets[k][s],
                key=lambda o: (-lex.freq_of(o[2]), -(o[1] - o[0]), o[0], o[2]),
            )
            seen = set()
            chosen = []
            for o in occ:
                if o[2] in seen:
                    continue
                seen.add(o[2])
                chosen.append(o[2])
                if len(chosen) == max_words:
                    break
            kept.append(chosen)
        z = sum(lex.freq_of(w) for chosen in kept for w in chosen)
        for s, chosen in enumerate(kept):
            if not chosen:
                ids[k, s, 0] = 1
                weights[k, s, 0] = np.float32(1.0)
                continue
            for slot, w in enumerate(chosen):
                ids[k, s, slot] = w
                weights[k, s, slot] = np.float32(4.0) * np.float32(lex.freq_of(w)) / np.float32(z)
    return ids, weights


def char_ids(folded, char_index):
    return np.array([char_index.get(c, 1) for c in folded], dtype=np.int64)


def bigrams(folded):
    """The character bigram of every position: folded[i] + folded[i + 1]; the last character's
    bigram is the character alone (it stands for "character + sentence end")."""
    return [folded[i : i + 2] for i in range(len(folded))]


def bigram_ids(folded, bigram_index):
    """Bigram ids (FORMAT.md): row in the bigram vocabulary, 0 for padding and unknown bigrams."""
    return np.array([bigram_index.get(b, 0) for b in bigrams(folded)], dtype=np.int64)


def batch(sentences, char_index, lex, max_words, bigram_index=None):
    """Pad a list of raw sentences into the ONNX inputs (four, five with a bigram vocabulary)."""
    folded = [fold(s) for s in sentences]
    t = max(len(f) for f in folded)
    b = len(folded)
    cids = np.zeros((b, t), dtype=np.int64)
    lids = np.zeros((b, t, 4, max_words), dtype=np.int64)
    lw = np.zeros((b, t, 4, max_words), dtype=np.float32)
    lengths = np.zeros((b,), dtype=np.int64)
    for r, f in enumerate(folded):
        n = len(f)
        lengths[r] = n
        cids[r, :n] = char_ids(f, char_index)
        ids, w = soft_lexicon(f, lex, max_words)
        lids[r, :n] = ids
        lw[r, :n] = w
    out = {"char_ids": cids, "lex_ids": lids, "lex_weights": lw, "lengths": lengths}
    if bigram_index is not None:
        bids = np.zeros((b, t), dtype=np.int64)
        for r, f in enumerate(folded):
            bids[r, : len(f)] = bigram_ids(f, bigram_index)
        out["bigram_ids"] = bids
    return out


def viterbi(emissions, transitions, start, end):
    """f32 Viterbi exactly as FORMAT.md specifies (first maximum wins)."""
    e = emissions.astype(np.float32)
    tr = transitions.astype(np.float32)
    score = start.astype(np.float32) + e[0]
    back = []
    for t in range(1, e.shape[0]):
        cand = score[:, None] + tr  # [from, to]
        bp = np.argmax(cand, axis=0)
        score = cand[bp, np.arange(cand.shape[1])] + e[t]
        back.append(bp)
    final = score + end.astype(np.float32)
    best = int(np.argmax(final))
    path = [best]
    for bp in reversed(back):
        path.append(int(bp[path[-1]]))
    path.reverse()
    return path


BLOCKED = np.float32(-1e4)


def constrain_bio(tags, transitions, start):
    """FORMAT.md "Decoding": float32 copies of the transition and start scores under which no
    path is invalid BIO. An inside tag (any tag but `O` whose prefix is not `B`) of type X may
    follow only a tag of type X and never starts a sentence; those scores become -1e4."""
    tr = np.array(transitions, dtype=np.float32)
    st = np.array(start, dtype=np.float32)
    kind = [None if t == "O" else t.split("-", 1) for t in tags]
    for j, kj in enumerate(kind):
        if kj is None or kj[0] == "B":
            continue
        st[j] = BLOCKED
        for i, ki in enumerate(kind):
            if ki is None or ki[1] != kj[1]:
                tr[i, j] = BLOCKED
    return tr, st


def spans(tags):
    """conlleval / seqeval-default chunking; returns [(start, end, type)] half-open."""
    out = []
    cur = None
    for k, tag in enumerate(tags + ["O"]):
        if tag == "O":
            if cur:
                out.append(tuple(cur))
            cur = None
            continue
        prefix, typ = tag.split("-", 1)
        if prefix == "B" or cur is None or cur[2] != typ:
            if cur:
                out.append(tuple(cur))
            cur = [k, k + 1, typ]
        else:
            cur[1] = k + 1
    return out


def _fixture(path):
    words = ["肝右叶", "右叶", "低密度", "密度", "低密度影", "结节", "肝", "ct", "cm", "右肾上极", "肾上"]
    freqs = [5, 3, 7, 2, 7, 9, 1, 4, 6, 2, 3]
    lex = Lexicon(words, freqs)
    chars = ["<pad>", "<unk>"] + sorted(set("".join(words) + "见一类圆形大小约。，ＣＴ"))
    index = {c: i for i, c in enumerate(chars)}
    sentences = [
        "肝右叶见一低密度影结节，大小约2.1cm。",
        "ＣＴ：右肾上极",
        "肝",
        "无匹配文字😀",
    ]
    max_words = 3
    cases = []
    for s in sentences:
        inp = batch([s], index, lex, max_words)
        cases.append(
            {
                "text": s,
                "char_ids": inp["char_ids"][0].tolist(),
                "lex_ids": inp["lex_ids"][0].tolist(),
                "lex_weights": [[[float(x) for x in row] for row in pos] for pos in inp["lex_weights"][0]],
            }
        )
    rng = np.random.default_rng(7)
    vit = []
    for n_tags, length in [(3, 1), (5, 6), (7, 11)]:
        e = rng.normal(size=(length, n_tags)).astype(np.float32)
        tr = rng.normal(size=(n_tags, n_tags)).astype(np.float32)
        st = rng.normal(size=(n_tags,)).astype(np.float32)
        en = rng.normal(size=(n_tags,)).astype(np.float32)
        vit.append(
            {
                "emissions": e.tolist(),
                "transitions": tr.tolist(),
                "start": st.tolist(),
                "end": en.tolist(),
                "path": viterbi(e, tr, st, en),
            }
        )
    doc = {
        "lexicon": [[w, f] for w, f in zip(words, freqs)],
        "chars": chars,
        "max_words": max_words,
        "cases": cases,
        "viterbi": vit,
        "spans": [
            {"tags": t, "spans": [list(x) for x in spans(t)]}
            for t in [
                ["B-A", "I-A", "O", "I-B", "I-B", "B-B", "I-A"],
                ["I-A", "I-A", "B-A", "B-A"],
                ["O", "O"],
            ]
        ],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fixture":
        _fixture(sys.argv[2])
    else:
        sys.exit("usage: features.py --fixture OUT.json")
