"""Export a trained best.pt to the artifact layout of FORMAT.md (fp32 ONNX + CRF + vocab).

Runs under Debian's /usr/bin/python3 (torch). Quantization and the onnxruntime reference
predictions run in the project venv (quantize + predict_onnx.py), see build.sh.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CRF, load_checkpoint  # noqa: E402


def portable(v, work_root=None):
    """Training arguments without this machine's paths: repository files relative to the
    repository, shared data as ../shared/data/..., work files (under a folder named ner-work,
    or under `work_root`, the folder holding the exported --work) as $QUARRY_NER_WORK/..."""
    if isinstance(v, list):
        return [portable(x, work_root) for x in v]
    if isinstance(v, str):
        if work_root and v.startswith(work_root.rstrip(os.sep) + os.sep) and "/ner-work/" not in v:
            return "$QUARRY_NER_WORK/" + v[len(work_root.rstrip(os.sep)) + 1:]
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        if v.startswith(root + os.sep):
            return v[len(root) + 1:]
        for marker, prefix in (("/shared/data/", "../shared/data/"), ("/ner-work/", "$QUARRY_NER_WORK/")):
            if marker in v:
                head, rest = v.split(marker, 1)
                return head.split(":")[0] + ":" + prefix + rest if ":" in head else prefix + rest
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    net, state = load_checkpoint(args.work, args.ckpt)
    tags = state["tags"]
    max_words = state["max_words"]
    char_emb = net.char.weight
    word_emb = net.word.weight
    crf = CRF(len(tags))
    crf.load_state_dict(state["crf"])

    b, t = 2, 7
    ci = torch.randint(2, char_emb.shape[0], (b, t))
    li = torch.randint(0, word_emb.shape[0], (b, t, 4, max_words))
    lw = torch.rand(b, t, 4, max_words)
    ln = torch.tensor([t, 3])
    inputs, names = (ci, li, lw, ln), ["char_ids", "lex_ids", "lex_weights", "lengths"]
    axes = {"char_ids": {0: "batch", 1: "chars"}, "lex_ids": {0: "batch", 1: "chars"},
            "lex_weights": {0: "batch", 1: "chars"}, "lengths": {0: "batch"},
            "emissions": {0: "batch", 1: "chars"}}
    extra = {}
    if net.bigram is not None:
        bi = torch.randint(0, net.bigram.weight.shape[0], (b, t))
        bi[1, 3:] = 0
        inputs, names = inputs + (bi,), names + ["bigram_ids"]
        axes["bigram_ids"] = {0: "batch", 1: "chars"}
        extra["bi"] = bi.numpy()
    path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(
        net, inputs, path,
        input_names=names,
        output_names=["emissions"],
        dynamic_axes=axes,
        opset_version=14, do_constant_folding=True)
    with torch.no_grad():
        ref = net(*inputs).numpy()
    np.savez(os.path.join(args.out, "export_check.npz"), ci=ci.numpy(), li=li.numpy(), lw=lw.numpy(),
             ln=ln.numpy(), ref=ref, **extra)

    with open(os.path.join(args.out, "crf.json"), "w") as f:
        json.dump({"tags": tags, "transitions": crf.trans.detach().numpy().tolist(),
                   "start": crf.start.detach().numpy().tolist(), "end": crf.end.detach().numpy().tolist()}, f)
    files = ("vocab.json", "lexicon.tsv") + (("bigrams.json",) if net.bigram is not None else ())
    for name in files:
        shutil.copyfile(os.path.join(args.work, name), os.path.join(args.out, name))
    types = []
    for tg in tags[1:]:
        if tg[2:] not in types:
            types.append(tg[2:])
    cfg = {"name": args.name, "version": "1", "types": types, "max_words": max_words, "max_chars": 512,
           "fold": "width-lower", **({"bigrams": "bigrams.json"} if net.bigram is not None else {}),
           "train_args": {k: portable(v, os.path.dirname(os.path.abspath(args.work)))
                          for k, v in state["args"].items()}, "dev_fp32_torch": state["dev"]["micro"]}
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
    print(f"exported {path}")


if __name__ == "__main__":
    main()
