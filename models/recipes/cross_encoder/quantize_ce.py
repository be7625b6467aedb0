#!/usr/bin/env python3
"""int8 dynamic quantization of a cross-encoder ONNX graph small enough to commit.

    quantize_ce.py --in model.onnx --out model_int8.onnx

As models/recipes/quantize.py (MatMul weights per channel, QInt8, constant B only), plus
the word-embedding table: an fp32 MiniLM table alone is 47 MB, int8 makes it 11.7 MB and
the whole graph fits the 25 MB artifact limit. Only `Gather` nodes whose data input is a
weight initializer are quantized (the embedding lookups); the [CLS] Gather of the pooler
stays fp32.
"""

import argparse
import os
import shutil
import sys
import tempfile

try:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
except ImportError as exc:  # pragma: no cover
    sys.exit(f"quantize_ce.py: missing dependency ({exc}); pip install -r models/requirements.txt")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-embeddings", action="store_true", help="keep the embedding tables fp32")
    a = ap.parse_args(argv)
    model = onnx.load(a.inp)
    inits = {i.name for i in model.graph.initializer}
    nodes = [n.name for n in model.graph.node if n.op_type == "MatMul"]
    if not a.no_embeddings:
        nodes += [n.name for n in model.graph.node
                  if n.op_type == "Gather" and n.input[0] in inits and "word_embeddings" in n.input[0]]
    with tempfile.TemporaryDirectory(prefix="quarry-quantize-ce-") as tmp:
        src, dst = os.path.join(tmp, "in.onnx"), os.path.join(tmp, "out.onnx")
        shutil.copyfile(a.inp, src)
        old = tempfile.tempdir
        tempfile.tempdir = tmp
        try:
            quantize_dynamic(model_input=src, model_output=dst,
                             op_types_to_quantize=["MatMul", "Gather"], nodes_to_quantize=nodes,
                             per_channel=True, reduce_range=False, weight_type=QuantType.QInt8,
                             extra_options={"MatMulConstBOnly": True})
        finally:
            tempfile.tempdir = old
        onnx.checker.check_model(onnx.load(dst))
        shutil.copyfile(dst, a.out)
    print(f"quantize_ce.py: wrote {a.out} ({os.path.getsize(a.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
