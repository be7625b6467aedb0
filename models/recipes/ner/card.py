"""Write MODEL_CARD.md for an NER artifact from what build.sh measured (no hand-typed figures).

  card.py --artifact DIR --data-desc TEXT --rebuild CMD
"""

import argparse
import json
import os


def table(m):
    rows = ["| type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t, v in sorted(m["per_type"].items()):
        rows.append(f"| {t} | {v['precision']*100:.2f} | {v['recall']*100:.2f} | {v['f1']*100:.2f} | {v['support']} |")
    mi = m["micro"]
    rows.append(f"| **micro** | {mi['precision']*100:.2f} | {mi['recall']*100:.2f} | **{mi['f1']*100:.2f}** | {mi['support']} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--data-desc", required=True)
    ap.add_argument("--eval-desc", required=True)
    ap.add_argument("--rebuild", required=True)
    ap.add_argument("--notes", help="markdown appended after the metrics (history, limits)")
    args = ap.parse_args()
    d = args.artifact
    cfg = json.load(open(os.path.join(d, "config.json"), encoding="utf-8"))
    ref = os.path.join(d, "reference")
    evals = sorted(f[:-10] for f in os.listdir(ref) if f.endswith(".int8.json"))
    log = [json.loads(l) for l in open(os.path.join(d, "train_log.jsonl"))]
    best = max(log, key=lambda r: r["dev"]["f1"])
    sums = open(os.path.join(d, "SHA256SUMS")).read().strip()
    size = os.path.getsize(os.path.join(d, "model.int8.onnx")) / 1e6
    vocab = len(json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))["chars"])
    words = sum(1 for _ in open(os.path.join(d, "lexicon.tsv"), encoding="utf-8"))
    bigrams = ""
    if cfg.get("bigrams"):
        n = len(json.load(open(os.path.join(d, cfg["bigrams"]), encoding="utf-8"))["bigrams"])
        bigrams = f"{n} character bigrams, "
    ta = cfg["train_args"]
    out = [f"# Model card: {cfg['name']}", "",
           "Character BiLSTM-CRF with SoftLexicon features for Chinese clinical text, trained on CPU by "
           "`models/recipes/ner` (see its README for the architecture). Inference: `pipeline/ner` (Rust, ort).", "",
           f"- Entity types: {', '.join(cfg['types'])} (BIO tags; spans are strict, half-open character offsets).",
           f"- Training data: {args.data_desc}",
           f"- Model selection: {args.eval_desc}",
           f"- Size: `model.int8.onnx` {size:.1f} MB (embedding tables int8, weight-only; LSTM and output layer fp32); "
           f"{vocab} characters, {bigrams}{words} lexicon words, BiLSTM {ta['hidden']} per direction, SoftLexicon "
           f"{cfg['max_words']} words per set.",
           f"- Training: {len(log)} epochs run, best dev F1 {best['dev']['f1']*100:.2f} at epoch {best['epoch']} "
           f"(`train_log.jsonl`); seed {ta['seed']}; args `{json.dumps({k: v for k, v in ta.items() if k not in ('work', 'run', 'train', 'dev')})}`.",
           "", "## Metrics (strict entity-level, micro; seqeval default mode)", ""]
    for e in evals:
        i8 = json.load(open(os.path.join(ref, e + ".int8.json")))
        f32 = json.load(open(os.path.join(ref, e + ".fp32.json")))
        out += [f"### `{e}` (int8, the committed model)", "", table(i8), "",
                f"fp32 micro F1 {f32['micro']['f1']*100:.2f}; int8 - fp32 = {(i8['micro']['f1'] - f32['micro']['f1'])*100:+.2f} F1. "
                f"Python onnxruntime predictions: `reference/{e}_spans.tsv` (the Rust test compares every span).", ""]
    if args.notes and os.path.exists(args.notes):
        out += [open(args.notes, encoding="utf-8").read().strip(), ""]
    out += ["## Rebuild", "", "```", args.rebuild, "```", "",
            "Deterministic on one thread (seeded; `build.sh` pins OpenBLAS/OpenMP to 1 thread).", "",
            "## Files and sha256", "", "```", sums, "```", ""]
    with open(os.path.join(d, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
