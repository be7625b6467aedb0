#!/usr/bin/env python3
"""Weight-only int8 quantization of an ONNX encoder:

    quantize_weights.py --in model.onnx --out model_int8.onnx [--min-size 16384]

Every large 2-D weight (a MatMul's right-hand matrix, per output column; an embedding
table read by Gather, per row) is stored as symmetric int8 with one fp32 scale per
channel and restored by a DequantizeLinear node in front of its consumers. Activations
stay fp32, so unlike dynamic quantization (quantize.py), a text's vector does not depend
on the other texts of its batch; the file is about a quarter of the fp32 one, which is
what lets a fine-tuned sentence encoder be committed (at most 25 MB).
"""

import argparse
import sys

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
except ImportError as exc:  # pragma: no cover
    sys.exit(f"quantize_weights.py: missing dependency ({exc}); pip install -r models/requirements-dev.txt")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-size", type=int, default=16384, help="smaller weights stay fp32")
    a = ap.parse_args(argv)
    model = onnx.load(a.src)
    g = model.graph
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:
        sys.exit(f"quantize_weights.py: opset {opset} < 13 has no per-axis DequantizeLinear")
    axis_of = {}
    for n in g.node:
        if n.op_type == "MatMul" and len(n.input) == 2:
            axis_of.setdefault(n.input[1], set()).add(1)
        elif n.op_type == "Gather" and n.input:
            axis_of.setdefault(n.input[0], set()).add(0)
    inits = {i.name: i for i in g.initializer}
    new_nodes, kept, done = [], [], 0
    before = sum(i.ByteSize() for i in g.initializer)
    for name, init in inits.items():
        axes = axis_of.get(name)
        w = numpy_helper.to_array(init)
        if not axes or len(axes) != 1 or w.ndim != 2 or w.size < a.min_size or w.dtype != np.float32:
            kept.append(init)
            continue
        axis = axes.pop()
        amax = np.abs(w).max(axis=1 - axis)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        shape = (1, -1) if axis == 1 else (-1, 1)
        q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        kept.append(numpy_helper.from_array(q, name + "_q"))
        kept.append(numpy_helper.from_array(scale, name + "_scale"))
        kept.append(numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), name + "_zp"))
        new_nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zp"],
                                          [name], name=name + "_dq", axis=axis))
        done += 1
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(new_nodes + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, a.out)
    after = sum(i.ByteSize() for i in g.initializer)
    print(f"quantize_weights.py: {done} weights to int8; initializers {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
