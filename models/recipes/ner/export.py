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


class Ensemble(torch.nn.Module):
    """Members' emissions averaged (one graph, the same inputs and output as a single
    network); the exported CRF is the members' average too. Members without e5 features
    ignore the `e5` input."""

    def __init__(self, nets):
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)
        self.bigram = None
        self.e5_mix = next((n.e5_mix for n in nets if n.e5_mix is not None), None)

    def forward(self, char_ids, lex_ids, lex_weights, lengths, bigram_ids=None, e5=None):
        ems = [n(char_ids, lex_ids, lex_weights, lengths, None, e5 if n.e5_mix is not None else None)
               for n in self.nets]
        return torch.stack(ems).mean(0)


def portable(v, work_root=None):
    """Training arguments without this machine's paths: repository files relative to the
    repository, shared data as ../shared/data/..., work files (under a folder named ner-work,
    or under `work_root`, the folder holding the exported --work) as $QUARRY_NER_WORK/..."""
    if isinstance(v, list):
        return [portable(x, work_root) for x in v]
    if isinstance(v, dict):
        return {k: portable(x, work_root) for k, x in v.items()}
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
    ap.add_argument("--ckpt", required=True, nargs="+",
                    help="best.pt of train.py; several = an ensemble (same --work and tags)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    members = [load_checkpoint(args.work, c) for c in args.ckpt]
    net, state = members[0]
    tags = state["tags"]
    max_words = state["max_words"]
    char_emb = net.char.weight
    word_emb = net.word.weight
    crf = CRF(len(tags))
    if len(members) == 1:
        crf.load_state_dict(state["crf"])
    else:
        for _, st in members:
            if st["tags"] != tags or st["max_words"] != max_words or st.get("bigrams"):
                raise SystemExit("ensemble members need the same tags and max_words, and no bigrams")
        e5s = {tuple(st["e5_layers"]) for _, st in members if st.get("e5_layers")}
        if len(e5s) > 1:
            raise SystemExit(f"ensemble members read different e5 layers: {e5s}")
        avg = {k: torch.stack([st["crf"][k] for _, st in members]).mean(0) for k in state["crf"]}
        crf.load_state_dict(avg)
        net = Ensemble([n for n, _ in members])
        state = dict(state, e5_layers=list(next(iter(e5s))) if e5s else None,
                     dev={"micro": {"members": [st["dev"]["micro"] for _, st in members]}},
                     args={"members": [st["args"] for _, st in members]})

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
    if net.e5_mix is not None:
        # frozen multilingual-e5-small states per character (FORMAT.md, "e5 features")
        ex = torch.randn(b, t, len(state["e5_layers"]), 384)  # noqa: E501
        ex[1, 3:] = 0
        names = names + ["e5"]
        axes["e5"] = {0: "batch", 1: "chars"}
        extra["e5"] = ex.numpy()
    path = os.path.join(args.out, "model.onnx")
    kwargs = {"e5": ex} if net.e5_mix is not None else {}
    torch.onnx.export(
        net, inputs + ((kwargs,) if kwargs else ()), path,
        input_names=names,
        output_names=["emissions"],
        dynamic_axes=axes,
        opset_version=14, do_constant_folding=True)
    with torch.no_grad():
        ref = net(*inputs, **kwargs).numpy()
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
           **({"e5": {"model": "multilingual-e5-small", "variant": "layers",
                      "layers": state["e5_layers"]}} if net.e5_mix is not None else {}),
           "train_args": {k: portable(v, os.path.dirname(os.path.abspath(args.work)))
                          for k, v in state["args"].items()}, "dev_fp32_torch": state["dev"]["micro"]}
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
    print(f"exported {path}")


if __name__ == "__main__":
    main()
