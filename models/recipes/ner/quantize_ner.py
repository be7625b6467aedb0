"""int8 quantization of the NER emitter's embedding tables (weight-only).

  quantize_ner.py --in model.onnx --out model.int8.onnx [--ops Gather]

Only the Gathers (character and word tables, ~90% of the weights) are quantized by default:
their int8 rows are dequantized after the lookup, so a sentence's emissions do not depend on
what else is in its batch. Quantizing the LSTM/MatMul as well (--ops Gather,LSTM,MatMul) uses
dynamic activation quantization with one scale per batch tensor, which made the spans of a
sentence depend on its batch neighbours and padding; the Rust side batches freely, so that
mode is not used for the committed artifact.

Runs in the project venv (onnx + onnxruntime). Everything happens in a private temporary
directory and only the final file is moved to --out.
"""

import argparse
import os
import shutil
import sys
import tempfile

from onnxruntime.quantization import QuantType, quantize_dynamic


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ops", default="Gather")
    args = ap.parse_args()
    if not os.path.isfile(args.inp):
        sys.exit(f"quantize_ner.py: input not found: {args.inp}")
    with tempfile.TemporaryDirectory(prefix="quarry-ner-q-") as tmp:
        src, dst = os.path.join(tmp, "in.onnx"), os.path.join(tmp, "out.onnx")
        shutil.copyfile(args.inp, src)
        old = tempfile.tempdir
        tempfile.tempdir = tmp
        try:
            quantize_dynamic(model_input=src, model_output=dst, op_types_to_quantize=args.ops.split(","),
                             per_channel=False, reduce_range=False, weight_type=QuantType.QInt8)
        finally:
            tempfile.tempdir = old
        shutil.move(dst, args.out + ".tmp")
        os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
