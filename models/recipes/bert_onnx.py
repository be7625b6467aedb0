#!/usr/bin/env python3
"""Build a BERT ONNX graph directly from safetensors weights (no PyTorch).

    bert_onnx.py --weights model.safetensors --config config.json \
                 --kind {encoder,splade,cross-encoder} --out OUT.onnx [--opset 17]

Inputs (int64, dynamic axes batch/sequence): input_ids, attention_mask,
token_type_ids.

  kind=encoder -> output `last_hidden_state` float32 [batch, sequence, hidden]
  kind=cross-encoder -> BertForSequenceClassification head: output `logits`
                  float32 [batch, num_labels] = classifier(tanh(pooler(h[:, 0])))
                  (weights pooler.dense.*, classifier.*; one label for a re-ranker)
  kind=splade  -> MLM head + SPLADE max pooling inside the graph:
                  output `sparse` float32 [batch, vocab] =
                  max_t( log(1 + relu(logits[b, t, :])) * attention_mask[b, t] )
                  (by default computed as log(1 + relu(max_t(logits') + bias)) where
                  padded positions carry a copy of position 0 before the decoder, so
                  no mask ever touches the [batch, sequence, vocab] logits: the same
                  function, bit-identical in fp32, faster; see --splade-pooling)
                  --head-ids restricts the MLM head to listed vocabulary rows (output
                  column j = id head_ids[j], model metadata `sparse_ids`).

Weight names: a leading 'bert.' is stripped and old LayerNorm 'gamma'/'beta'
names are accepted.  If there is no cls.predictions.decoder.weight, the MLM
decoder is tied to the word embeddings (tie_word_embeddings); the decoder bias
is cls.predictions.decoder.bias or cls.predictions.bias.  Position ids are
0..S-1 for every row (right padding assumed), token_type_ids are honoured.

All dense projections are plain MatMul (+ Add bias), never Gemm, so that
onnxruntime dynamic int8 quantization of MatMul applies to them.  The output
is deterministic: same inputs -> byte-identical .onnx file.  The file is
written only to the exact --out path.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file
except ImportError as exc:  # pragma: no cover
    sys.exit(f"bert_onnx.py: missing dependency ({exc}); pip install -r models/requirements.txt")

PRODUCER_NAME = "quarry-bert_onnx"
PRODUCER_VERSION = "1"
# Additive attention-mask value for padded key positions.  Large enough that
# exp() underflows to exactly 0 in fp32, small enough that score + value never
# overflows to -inf (so a fully padded row still gives a finite softmax).
MASK_NEG = -1.0e9


class ConversionError(Exception):
    pass


# --------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------

def normalize_name(name):
    """Map the naming variants found in BERT checkpoints onto one scheme:
    strips a leading 'bert.' (BertForMaskedLM) and renames the old TF-style
    LayerNorm 'gamma'/'beta' to 'weight'/'bias'."""
    if name.startswith("bert."):
        name = name[len("bert."):]
    if ".LayerNorm." in name or name.startswith("LayerNorm."):
        if name.endswith(".gamma"):
            name = name[: -len(".gamma")] + ".weight"
        elif name.endswith(".beta"):
            name = name[: -len(".beta")] + ".bias"
    return name


def load_weights(path):
    raw = load_file(path)
    out = {}
    for k, v in raw.items():
        nk = normalize_name(k)
        if nk in out:
            raise ConversionError(f"duplicate tensor after name normalization: {k} -> {nk}")
        out[nk] = v
    return out


class Weights:
    def __init__(self, tensors, path):
        self.t = tensors
        self.path = path
        self.used = set()

    def get(self, name, shape=None):
        if name not in self.t:
            raise ConversionError(f"tensor '{name}' not found in {self.path}")
        arr = self.t[name]
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise ConversionError(
                f"tensor '{name}' has shape {tuple(arr.shape)}, expected {tuple(shape)}")
        self.used.add(name)
        return arr

    def has(self, name):
        return name in self.t


# --------------------------------------------------------------------------
# graph builder
# --------------------------------------------------------------------------

class Graph:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self.init_names = set()
        self.counter = 0

    def _name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, name, arr):
        if name in self.init_names:
            raise ConversionError(f"duplicate initializer {name}")
        arr = np.ascontiguousarray(arr)
        self.inits.append(numpy_helper.from_array(arr, name))
        self.init_names.add(name)
        return name

    def op(self, op_type, inputs, prefix=None, n_out=1, **attrs):
        base = self._name(prefix or op_type)
        outs = [base] if n_out == 1 else [f"{base}_o{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=base, **attrs))
        return outs[0] if n_out == 1 else outs

    def op_to(self, op_type, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=self._name(op_type), **attrs))
        return output


def build(weights_path, config, kind, opset, splade_pooling="copy", head_ids=None, layers=None, word_q4=None):
    """`weights_path` may also be a dict name -> array (already normalized names).
    kind="layers": output `hidden_layers` [batch, sequence, len(layers), hidden], the hidden
    states after the listed 1-based encoder layers. `word_q4`: (packed uint8 [vocab, hidden/2],
    scales float32 [vocab, hidden/32]) replaces the float word table by Q4_0 blocks unpacked
    inside the graph after the Gather (exact: weight = (nibble - 8) * scale; byte j of a block
    holds weight j in its low nibble and weight j + 16 in its high nibble)."""
    if opset < 17:
        raise ConversionError("opset must be >= 17 (LayerNormalization)")
    if isinstance(weights_path, dict):
        w = Weights(weights_path, "<weights>")
    else:
        w = Weights(load_weights(weights_path), weights_path)

    hidden = int(config["hidden_size"])
    n_layers = int(config["num_hidden_layers"])
    n_heads = int(config["num_attention_heads"])
    inter = int(config["intermediate_size"])
    vocab = int(config["vocab_size"])
    max_pos = int(config["max_position_embeddings"])
    n_types = int(config.get("type_vocab_size", 2))
    eps = float(config.get("layer_norm_eps", 1e-12))
    act = config.get("hidden_act", "gelu")
    if act != "gelu":
        raise ConversionError(f"unsupported hidden_act '{act}' (only exact erf 'gelu')")
    pos_type = config.get("position_embedding_type", "absolute")
    if pos_type != "absolute":
        raise ConversionError(f"unsupported position_embedding_type '{pos_type}'")
    if hidden % n_heads:
        raise ConversionError("hidden_size not divisible by num_attention_heads")
    head_dim = hidden // n_heads

    g = Graph()

    # shared constants
    c_axis1_scalar = g.const("const_axis_1_scalar", np.array(1, dtype=np.int64))
    c_one_i = g.const("const_one_i64", np.array(1, dtype=np.int64))
    c_axes12 = g.const("const_axes_1_2", np.array([1, 2], dtype=np.int64))
    c_zero_i = g.const("const_zero_i64", np.array(0, dtype=np.int64))
    c_one_f = g.const("const_one_f32", np.array(1.0, dtype=np.float32))
    c_half_f = g.const("const_half_f32", np.array(0.5, dtype=np.float32))
    c_sqrt2_f = g.const("const_sqrt2_f32", np.array(math.sqrt(2.0), dtype=np.float32))
    c_maskneg = g.const("const_mask_neg_f32", np.array(MASK_NEG, dtype=np.float32))
    c_scale = g.const("const_attn_scale_f32", np.array(math.sqrt(head_dim), dtype=np.float32))
    c_split_heads = g.const("const_shape_split_heads", np.array([0, 0, n_heads, head_dim], dtype=np.int64))
    c_merge_heads = g.const("const_shape_merge_heads", np.array([0, 0, hidden], dtype=np.int64))

    def linear(x, prefix, n_in, n_out):
        wt = w.get(f"{prefix}.weight", (n_out, n_in))  # torch Linear: [out, in]
        b = w.get(f"{prefix}.bias", (n_out,))
        wn = g.const(f"{prefix}.weight_T", wt.T.copy())
        bn = g.const(f"{prefix}.bias", b)
        y = g.op("MatMul", [x, wn], prefix=f"{prefix}.MatMul")
        return g.op("Add", [y, bn], prefix=f"{prefix}.Add")

    def layer_norm(x, prefix, dim):
        scale = g.const(f"{prefix}.weight", w.get(f"{prefix}.weight", (dim,)))
        bias = g.const(f"{prefix}.bias", w.get(f"{prefix}.bias", (dim,)))
        return g.op("LayerNormalization", [x, scale, bias], prefix=f"{prefix}.LayerNormalization",
                    axis=-1, epsilon=eps)

    def gelu(x, prefix):
        # 0.5 * x * (1 + erf(x / sqrt(2)))
        d = g.op("Div", [x, c_sqrt2_f], prefix=f"{prefix}.gelu.Div")
        e = g.op("Erf", [d], prefix=f"{prefix}.gelu.Erf")
        a = g.op("Add", [e, c_one_f], prefix=f"{prefix}.gelu.Add")
        m = g.op("Mul", [x, a], prefix=f"{prefix}.gelu.Mul")
        return g.op("Mul", [m, c_half_f], prefix=f"{prefix}.gelu.Mul")

    # ---------------- embeddings ----------------
    word = None if word_q4 is not None else w.get("embeddings.word_embeddings.weight", (vocab, hidden))
    pos = w.get("embeddings.position_embeddings.weight", (max_pos, hidden))
    typ = w.get("embeddings.token_type_embeddings.weight", (n_types, hidden))
    if word_q4 is None:  # (initializers in the order earlier versions wrote them)
        word_n = g.const("embeddings.word_embeddings.weight", word)
    pos_n = g.const("embeddings.position_embeddings.weight", pos)
    typ_n = g.const("embeddings.token_type_embeddings.weight", typ)
    if word_q4 is None:
        we = g.op("Gather", [word_n, "input_ids"], prefix="embeddings.word.Gather", axis=0)
    else:
        packed, scales = word_q4
        nb = hidden // 32
        if packed.shape != (vocab, hidden // 2) or scales.shape != (vocab, nb):
            raise ConversionError("word_q4 tables do not match vocab_size x hidden_size")
        pk = g.const("embeddings.word_embeddings.q4", packed.astype(np.uint8))
        sc = g.const("embeddings.word_embeddings.q4_scale", scales.astype(np.float32))
        q = g.op("Gather", [pk, "input_ids"], prefix="embeddings.word.q4.Gather", axis=0)      # [B,S,H/2]
        q = g.op("Cast", [q], prefix="embeddings.word.q4.Cast", to=TensorProto.INT32)
        c16 = g.const("const_16_i32", np.array(16, dtype=np.int32))
        hi = g.op("Div", [q, c16], prefix="embeddings.word.q4.Div")
        lo = g.op("Sub", [q, g.op("Mul", [hi, c16], prefix="embeddings.word.q4.Mul")], prefix="embeddings.word.q4.Sub")
        shp = g.const("const_shape_q4_blocks", np.array([0, 0, nb, 16], dtype=np.int64))
        lo = g.op("Reshape", [lo, shp], prefix="embeddings.word.q4.Reshape")
        hi = g.op("Reshape", [hi, shp], prefix="embeddings.word.q4.Reshape")
        nib = g.op("Concat", [lo, hi], prefix="embeddings.word.q4.Concat", axis=-1)            # [B,S,nb,32]
        nib = g.op("Cast", [nib], prefix="embeddings.word.q4.CastF", to=TensorProto.FLOAT)
        c8 = g.const("const_8_f32", np.array(8.0, dtype=np.float32))
        nib = g.op("Sub", [nib, c8], prefix="embeddings.word.q4.Sub8")
        s = g.op("Gather", [sc, "input_ids"], prefix="embeddings.word.q4s.Gather", axis=0)     # [B,S,nb]
        s = g.op("Unsqueeze", [s, g.const("const_axes_m1_q4", np.array([-1], dtype=np.int64))],
                 prefix="embeddings.word.q4s.Unsqueeze")
        we = g.op("Mul", [nib, s], prefix="embeddings.word.q4.Mul")
        we = g.op("Reshape", [we, c_merge_heads], prefix="embeddings.word.q4.Flatten")       # [B,S,H]
    te = g.op("Gather", [typ_n, "token_type_ids"], prefix="embeddings.type.Gather", axis=0)
    # position ids 0..S-1 for every row, built elementwise from input_ids
    # (CumSum of ones - 1) so that shape inference keeps [batch, sequence]
    # all the way through; that lets onnxruntime apply its SkipLayerNorm
    # fusions (a Slice of the position table would give an unknown dim).
    z = g.op("Mul", ["input_ids", c_zero_i], prefix="embeddings.pos.Mul")
    ones = g.op("Add", [z, c_one_i], prefix="embeddings.pos.Add")
    cs = g.op("CumSum", [ones, c_axis1_scalar], prefix="embeddings.pos.CumSum")
    pos_ids = g.op("Sub", [cs, c_one_i], prefix="embeddings.pos.Sub")
    pe = g.op("Gather", [pos_n, pos_ids], prefix="embeddings.pos.Gather", axis=0)
    s1 = g.op("Add", [we, pe], prefix="embeddings.Add")
    s2 = g.op("Add", [s1, te], prefix="embeddings.Add")
    x = layer_norm(s2, "embeddings.LayerNorm", hidden)

    # ---------------- attention mask ----------------
    mask_f = g.op("Cast", ["attention_mask"], prefix="mask.Cast", to=TensorProto.FLOAT)
    mask_4d = g.op("Unsqueeze", [mask_f, c_axes12], prefix="mask.Unsqueeze")       # [B,1,1,S]
    inv = g.op("Sub", [c_one_f, mask_4d], prefix="mask.Sub")
    add_mask = g.op("Mul", [inv, c_maskneg], prefix="mask.Mul")

    # ---------------- encoder layers ----------------
    keep = {}
    for i in range(n_layers):
        p = f"encoder.layer.{i}"
        q = linear(x, f"{p}.attention.self.query", hidden, hidden)
        k = linear(x, f"{p}.attention.self.key", hidden, hidden)
        v = linear(x, f"{p}.attention.self.value", hidden, hidden)
        q = g.op("Reshape", [q, c_split_heads], prefix=f"{p}.q.Reshape")
        q = g.op("Transpose", [q], prefix=f"{p}.q.Transpose", perm=[0, 2, 1, 3])   # [B,h,S,d]
        k = g.op("Reshape", [k, c_split_heads], prefix=f"{p}.k.Reshape")
        k = g.op("Transpose", [k], prefix=f"{p}.k.Transpose", perm=[0, 2, 3, 1])   # [B,h,d,S]
        v = g.op("Reshape", [v, c_split_heads], prefix=f"{p}.v.Reshape")
        v = g.op("Transpose", [v], prefix=f"{p}.v.Transpose", perm=[0, 2, 1, 3])   # [B,h,S,d]
        scores = g.op("MatMul", [q, k], prefix=f"{p}.attn.scores.MatMul")
        scores = g.op("Div", [scores, c_scale], prefix=f"{p}.attn.Div")
        scores = g.op("Add", [scores, add_mask], prefix=f"{p}.attn.mask.Add")
        probs = g.op("Softmax", [scores], prefix=f"{p}.attn.Softmax", axis=-1)
        ctx = g.op("MatMul", [probs, v], prefix=f"{p}.attn.ctx.MatMul")
        ctx = g.op("Transpose", [ctx], prefix=f"{p}.ctx.Transpose", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, c_merge_heads], prefix=f"{p}.ctx.Reshape")
        ao = linear(ctx, f"{p}.attention.output.dense", hidden, hidden)
        ao = g.op("Add", [ao, x], prefix=f"{p}.attention.residual.Add")
        x = layer_norm(ao, f"{p}.attention.output.LayerNorm", hidden)
        h = linear(x, f"{p}.intermediate.dense", hidden, inter)
        h = gelu(h, f"{p}.intermediate")
        o = linear(h, f"{p}.output.dense", inter, hidden)
        o = g.op("Add", [o, x], prefix=f"{p}.output.residual.Add")
        x = layer_norm(o, f"{p}.output.LayerNorm", hidden)
        keep[i + 1] = x

    outputs = []
    info = {}
    if kind == "encoder":
        g.op_to("Identity", [x], "last_hidden_state")
        outputs.append(helper.make_tensor_value_info(
            "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden]))
    elif kind == "layers":
        if not layers or any(l < 1 or l > n_layers for l in layers):
            raise ConversionError(f"layers must name encoder layers 1..{n_layers}")
        c_ax2 = g.const("const_axes_2", np.array([2], dtype=np.int64))
        parts = [g.op("Unsqueeze", [keep[l], c_ax2], prefix=f"layers.{l}.Unsqueeze") for l in layers]
        g.op_to("Concat", parts, "hidden_layers", axis=2)
        outputs.append(helper.make_tensor_value_info(
            "hidden_layers", TensorProto.FLOAT, ["batch", "sequence", len(layers), hidden]))
        info["layers"] = ",".join(str(l) for l in layers)
    elif kind == "splade":
        t = linear(x, "cls.predictions.transform.dense", hidden, hidden)
        t = gelu(t, "cls.predictions.transform")
        t = layer_norm(t, "cls.predictions.transform.LayerNorm", hidden)
        if w.has("cls.predictions.decoder.weight"):
            dec = w.get("cls.predictions.decoder.weight", (vocab, hidden))
            info["decoder"] = "cls.predictions.decoder.weight"
        else:
            if not config.get("tie_word_embeddings", True):
                raise ConversionError(
                    "no cls.predictions.decoder.weight and tie_word_embeddings is false")
            dec = word
            info["decoder"] = "tied to embeddings.word_embeddings.weight"
        if w.has("cls.predictions.decoder.bias"):
            dec_b = w.get("cls.predictions.decoder.bias", (vocab,))
        else:
            dec_b = w.get("cls.predictions.bias", (vocab,))
        if head_ids is not None:
            # Restrict the MLM head to the vocabulary rows that can carry weight (see
            # splade_vocab.py): the [B,S,V] logits shrink to [B,S,len(head_ids)], and the
            # output column j is vocabulary id head_ids[j] (metadata `sparse_ids`).
            ids = np.asarray(head_ids, dtype=np.int64)
            if ids.ndim != 1 or len(ids) == 0 or ids.min() < 0 or ids.max() >= vocab or len(set(ids.tolist())) != len(ids):
                raise ConversionError("--head-ids must be distinct vocabulary ids in [0, vocab)")
            ids = np.sort(ids)
            dec = dec[ids]
            dec_b = dec_b[ids]
            info["head"] = f"{len(ids)} of {vocab} vocabulary rows"
        dec_n = g.const("cls.predictions.decoder.weight_T", dec.T.copy())
        dec_bn = g.const("cls.predictions.decoder.bias", dec_b)
        c_axes_m1 = g.const("const_axes_m1", np.array([-1], dtype=np.int64))
        if splade_pooling == "copy":
            # Padded positions take the hidden vector of position 0 ([CLS], always a real
            # token) *before* the decoder: their logits then duplicate a real position's, so
            # the max over positions is unchanged and no mask has to be applied to the big
            # [B,S,V] logits tensor (one full pass over it saved). Same function as 'fast'
            # for every row with a real first token.
            c0 = g.const("const_0_i64", np.array([0], dtype=np.int64))
            c1 = g.const("const_1_i64", np.array([1], dtype=np.int64))
            first = g.op("Slice", [t, c0, c1, c1], prefix="splade.first.Slice")        # [B,1,H]
            mask_b = g.op("Cast", ["attention_mask"], prefix="splade.mask.CastBool", to=TensorProto.BOOL)
            mask_b3 = g.op("Unsqueeze", [mask_b, c_axes_m1], prefix="splade.mask.Unsqueeze")  # [B,S,1]
            t = g.op("Where", [mask_b3, t, first], prefix="splade.copy.Where")
        logits = g.op("MatMul", [t, dec_n], prefix="cls.predictions.decoder.MatMul")  # [B,S,V]

        def reduce_max_tokens(x, output):
            if opset >= 18:
                c_axes1 = g.const("const_axes_1", np.array([1], dtype=np.int64))
                return g.op_to("ReduceMax", [x, c_axes1], output, keepdims=0)
            return g.op_to("ReduceMax", [x], output, axes=[1], keepdims=0)

        if splade_pooling == "copy":
            mx = reduce_max_tokens(logits, g._name("splade.ReduceMax"))       # [B,V]
            mx = g.op("Add", [mx, dec_bn], prefix="cls.predictions.decoder.Add")
            r = g.op("Relu", [mx], prefix="splade.Relu")
            r1 = g.op("Add", [r, c_one_f], prefix="splade.Add")
            g.op_to("Log", [r1], "sparse")
        elif splade_pooling == "naive":
            # literal form: max_t( log(1 + relu(logits + b)) * mask )
            logits = g.op("Add", [logits, dec_bn], prefix="cls.predictions.decoder.Add")
            r = g.op("Relu", [logits], prefix="splade.Relu")
            r1 = g.op("Add", [r, c_one_f], prefix="splade.Add")
            lg = g.op("Log", [r1], prefix="splade.Log")
            mask_3d = g.op("Unsqueeze", [mask_f, c_axes_m1], prefix="splade.mask.Unsqueeze")  # [B,S,1]
            masked = g.op("Mul", [lg, mask_3d], prefix="splade.mask.Mul")
            reduce_max_tokens(masked, "sparse")
        else:
            # Same function, reordered so that only one elementwise op and the
            # reduction touch the big [B,S,V] tensor:
            #   f(x) = log(1 + relu(x)) is monotone non-decreasing and >= 0, and
            #   the decoder bias b is constant over tokens, hence
            #   max_t f(x_t + b) * m_t  ==  f( max_{t: m_t=1} x_t + b )
            # (padded tokens would contribute f(.)*0 = 0 <= any f value).
            # Padded tokens are pushed to -1e9 before the max; if a row has no
            # real token at all the result is f(-1e9 + b) = 0, as in the
            # literal form.  fp rounding is monotone too, so both forms agree
            # bit for bit up to the order-independent max.
            mask_3d = g.op("Unsqueeze", [mask_f, c_axes_m1], prefix="splade.mask.Unsqueeze")  # [B,S,1]
            inv3 = g.op("Sub", [c_one_f, mask_3d], prefix="splade.mask.Sub")
            neg3 = g.op("Mul", [inv3, c_maskneg], prefix="splade.mask.Mul")
            masked = g.op("Add", [logits, neg3], prefix="splade.mask.Add")
            mx = reduce_max_tokens(masked, g._name("splade.ReduceMax"))       # [B,V]
            mx = g.op("Add", [mx, dec_bn], prefix="cls.predictions.decoder.Add")
            r = g.op("Relu", [mx], prefix="splade.Relu")
            r1 = g.op("Add", [r, c_one_f], prefix="splade.Add")
            g.op_to("Log", [r1], "sparse")
        width = vocab if head_ids is None else len(head_ids)
        outputs.append(helper.make_tensor_value_info("sparse", TensorProto.FLOAT, ["batch", width]))
    elif kind == "cross-encoder":
        # BertForSequenceClassification: pooler (dense + tanh on [CLS]) then classifier.
        # (Graph.const stores 0-d arrays as 1-d, so: Gather [0] then Squeeze the axis.)
        c_cls = g.const("const_cls_position", np.array([0], dtype=np.int64))
        c_ax1 = g.const("const_axes_1", np.array([1], dtype=np.int64))
        cls = g.op("Gather", [x, c_cls], prefix="pooler.cls.Gather", axis=1)          # [B,1,H]
        cls = g.op("Squeeze", [cls, c_ax1], prefix="pooler.cls.Squeeze")              # [B,H]
        pooled = g.op("Tanh", [linear(cls, "pooler.dense", hidden, hidden)], prefix="pooler.Tanh")
        n_labels = w.get("classifier.weight").shape[0]
        logits = linear(pooled, "classifier", hidden, n_labels)
        g.op_to("Identity", [logits], "logits")
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_labels]))
        info["labels"] = str(n_labels)
    else:
        raise ConversionError(f"unknown kind {kind}")

    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    graph = helper.make_graph(g.nodes, f"bert_{kind}", inputs, outputs, initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
    )
    # IR version: pin to what onnxruntime 1.31 accepts for this opset.
    model.ir_version = 8 if opset <= 17 else 9 if opset <= 20 else 10
    meta = {
        "kind": kind,
        "hidden_size": str(hidden),
        "num_hidden_layers": str(n_layers),
        "vocab_size": str(vocab),
        "layer_norm_eps": repr(eps),
    }
    if kind == "layers":
        meta["layers"] = ",".join(str(l) for l in layers)
    if kind == "splade":
        meta["splade_pooling"] = splade_pooling
        if head_ids is not None:
            meta["sparse_ids"] = ",".join(str(i) for i in sorted(head_ids))
    helper.set_model_props(model, meta)

    unused = sorted(set(w.t) - w.used)
    return model, unused, info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help="model.safetensors")
    ap.add_argument("--config", required=True, help="HF config.json")
    ap.add_argument("--kind", required=True, choices=["encoder", "splade", "cross-encoder"])
    ap.add_argument("--out", required=True, help="output .onnx path (written only here)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--splade-pooling", choices=["fast", "naive", "copy"], default="copy",
                    help="graph form of the SPLADE pooling (same function; 'naive' is the literal "
                         "max_t(log1p(relu(logits))*mask), 'fast' reduces before the activation, 'copy' also "
                         "replaces padded positions by position 0 before the decoder so no mask touches "
                         "the logits)")
    ap.add_argument("--head-ids", help="splade only: JSON file with the vocabulary ids the MLM head keeps "
                    "(written by splade_vocab.py); output column j is then id head_ids[j], listed in the "
                    "model metadata `sparse_ids`")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    try:
        with open(args.config, "r", encoding="utf-8") as f:
            config = json.load(f)
        head_ids = None
        if args.head_ids:
            if args.kind != "splade":
                raise ConversionError("--head-ids applies to --kind splade only")
            with open(args.head_ids, "r", encoding="utf-8") as f:
                head_ids = json.load(f)["ids"]
        model, unused, info = build(args.weights, config, args.kind, args.opset, args.splade_pooling, head_ids)
        onnx.checker.check_model(model, full_check=True)
        data = model.SerializeToString(deterministic=True)
        if len(data) >= 2 ** 31:
            raise ConversionError("model exceeds 2 GiB protobuf limit")
        with open(args.out, "wb") as f:
            f.write(data)
    except Exception as exc:  # ConversionError, OSError, SafetensorError, ValidationError, ...
        print(f"bert_onnx.py: error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"bert_onnx.py: wrote {args.out} ({len(data)} bytes, kind={args.kind}, opset={args.opset})",
              file=sys.stderr)
        if info:
            for k, v in info.items():
                print(f"  {k}: {v}", file=sys.stderr)
        if unused:
            print(f"  unused tensors: {', '.join(unused)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
