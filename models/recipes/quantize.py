#!/usr/bin/env python3
"""int8 dynamic quantization of the MatMul weights of an ONNX model.

    quantize.py --in IN.onnx --out OUT.onnx

Uses onnxruntime.quantization.quantize_dynamic with
per_channel=True, weight_type=QInt8, op_types_to_quantize=['MatMul'],
extra_options={'MatMulConstBOnly': True} (only MatMuls whose B input is a
constant weight are quantized; the activation x activation attention MatMuls
stay fp32).

quantize_dynamic writes intermediate files; everything is done inside a
private temporary directory and only the final model is copied to the exact
--out path, so nothing else is left next to the output.
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
    sys.exit(f"quantize.py: missing dependency ({exc}); pip install -r models/requirements.txt")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="inp", required=True, help="fp32 input .onnx")
    ap.add_argument("--out", required=True, help="int8 output .onnx (written only here)")
    args = ap.parse_args(argv)

    if not os.path.isfile(args.inp):
        print(f"quantize.py: error: input not found: {args.inp}", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="quarry-quantize-") as tmp:
            src = os.path.join(tmp, "in.onnx")
            dst = os.path.join(tmp, "out.onnx")
            shutil.copyfile(args.inp, src)
            # quantize_dynamic may also create its own temp dirs; keep them in ours.
            old_tmpdir = tempfile.tempdir
            tempfile.tempdir = tmp
            try:
                quantize_dynamic(
                    model_input=src,
                    model_output=dst,
                    op_types_to_quantize=["MatMul"],
                    per_channel=True,
                    reduce_range=False,
                    weight_type=QuantType.QInt8,
                    use_external_data_format=False,
                    extra_options={"MatMulConstBOnly": True},
                )
            finally:
                tempfile.tempdir = old_tmpdir
            if not os.path.isfile(dst):
                raise RuntimeError("quantize_dynamic produced no output")
            extra = sorted(set(os.listdir(tmp)) - {"in.onnx", "out.onnx"})
            if any(e.endswith(".data") or e.endswith(".onnx_data") for e in extra):
                raise RuntimeError(f"quantized model uses external data ({extra}); not supported")
            model = onnx.load(dst)
            onnx.checker.check_model(model)
            n_q = sum(1 for n in model.graph.node if n.op_type in ("MatMulInteger", "DynamicQuantizeLinear"))
            n_mm = sum(1 for n in model.graph.node if n.op_type == "MatMul")
            shutil.copyfile(dst, args.out)
    except Exception as exc:
        print(f"quantize.py: error: {exc}", file=sys.stderr)
        return 1
    print(f"quantize.py: wrote {args.out} ({os.path.getsize(args.out)} bytes; "
          f"{n_q} MatMulInteger/DynamicQuantizeLinear nodes, {n_mm} fp32 MatMul left)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
