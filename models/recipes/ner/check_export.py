"""Check an exported artifact: ONNX (fp32 and int8) against the torch outputs saved by
export.py, and batch-padding invariance (a sentence alone == the same sentence padded)."""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--artifact", required=True)
    args = ap.parse_args()
    d = np.load(os.path.join(args.artifact, "export_check.npz"))
    feeds = {"char_ids": d["ci"], "lex_ids": d["li"], "lex_weights": d["lw"], "lengths": d["ln"]}
    if "bi" in d:
        feeds["bigram_ids"] = d["bi"]
    if "e5" in d:
        feeds["e5"] = d["e5"]
    report = {}
    for name in ("model.onnx", "model.int8.onnx"):
        s = ort.InferenceSession(os.path.join(args.artifact, name), providers=["CPUExecutionProvider"])
        out = s.run(["emissions"], feeds)[0]
        diffs = []
        for r, n in enumerate(d["ln"]):
            diffs.append(float(np.abs(out[r, :n] - d["ref"][r, :n]).max()))
        # padding invariance: row 1 alone, unpadded
        n = int(d["ln"][1])
        alone = {"char_ids": d["ci"][1:2, :n], "lex_ids": d["li"][1:2, :n],
                 "lex_weights": d["lw"][1:2, :n], "lengths": d["ln"][1:2]}
        if "bi" in d:
            alone["bigram_ids"] = d["bi"][1:2, :n]
        if "e5" in d:
            alone["e5"] = d["e5"][1:2, :n]
        single = s.run(["emissions"], alone)[0]
        pad = float(np.abs(single[0] - out[1, :n]).max())
        report[name] = {"max_abs_diff_vs_torch": max(diffs), "padding_diff": pad}
        if pad > 1e-5:
            sys.exit(f"{name}: padded and unpadded emissions differ by {pad}")
    if report["model.onnx"]["max_abs_diff_vs_torch"] > 1e-3:
        sys.exit(f"fp32 ONNX differs from torch: {report}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
