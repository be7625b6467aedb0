"""The tagger's network alone, one thread: how close each engine runs to the CPU's float32 peak.

Times only the network call (emissions) over length-sorted batches of fixed size, best of
--repeat passes, and reports the BiLSTM's floating-point work per second: 2 directions x 4
gates x hidden x (input + hidden) multiply-adds per character (the embedding gathers, the
SoftLexicon pooling and the output layer are a few percent on top). With --engine torch it
also times a 2048 x 2048 float32 matrix product (torch's BLAS), an estimate of one core's
practical peak. Run ort with the project venv's Python, torch with Debian's:

    $VENV/bin/python bench_network.py --engine ort --artifact models/artifacts/ner-clinical-zh --gold VALIDATE
    /usr/bin/python3 bench_network.py --engine torch --work LEX --ckpt RUN/best.pt --gold VALIDATE

OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 for both (the script also asks each engine for one thread).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bio  # noqa: E402


def lstm_flop_per_char(hidden, input_dim):
    return 2 * 2 * 4 * hidden * (input_dim + hidden)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["ort", "torch"], required=True)
    ap.add_argument("--gold", required=True, help="BIO file (its text only)")
    ap.add_argument("--artifact", help="ort: artifact folder")
    ap.add_argument("--model", default="model.int8.onnx", help="ort: graph file in the artifact")
    ap.add_argument("--work", help="torch: prepare.py folder")
    ap.add_argument("--ckpt", help="torch: train.py checkpoint")
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sents = bio.read(args.gold)[: args.limit]
    texts = sorted(("".join(t) for t, _ in sents), key=len)
    real = sum(len(t) for t in texts)
    spans = [(k, min(k + args.batch, len(texts))) for k in range(0, len(texts), args.batch)]
    extra = {}
    if args.engine == "ort":
        import onnxruntime as ort

        import predict_onnx
        from features import batch

        index, lex, _, cfg, _ = predict_onnx.load(args.artifact, args.model)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(args.artifact, args.model), opts, providers=["CPUExecutionProvider"])
        feeds = [batch(texts[a:b], index, lex, cfg["max_words"]) for a, b in spans]
        padded = sum(f["char_ids"].size for f in feeds)
        shapes = {i.name: i.shape for i in sess.get_inputs()}

        def run():
            for f in feeds:
                sess.run(["emissions"], f)

        import onnx

        g = onnx.load(os.path.join(args.artifact, args.model)).graph
        lstm = next(n for n in g.node if n.op_type == "LSTM")
        hidden = next(a.i for a in lstm.attribute if a.name == "hidden_size")
        w = next(i for i in g.initializer if i.name == lstm.input[1])
        input_dim = w.dims[2]
        extra["inputs"] = list(shapes)
    else:
        import torch

        import train
        from features import Lexicon
        from model import load_checkpoint

        torch.set_num_threads(1)
        net, state = load_checkpoint(args.work, args.ckpt)
        net.eval()
        vocab = json.load(open(os.path.join(args.work, "vocab.json"), encoding="utf-8"))["chars"]
        index = {c: i for i, c in enumerate(vocab)}
        lex = Lexicon.load(os.path.join(args.work, "lexicon.tsv"))
        tag_ix = {t: i for i, t in enumerate(state["tags"])}
        data = train.featurize([(list(t), ["O"] * len(t)) for t in texts], index, lex, state["max_words"], tag_ix)
        batches = [train.collate(data[a:b], state["max_words"]) for a, b in spans]
        padded = sum(b[0].numel() for b in batches)
        hidden, input_dim = net.lstm.hidden_size, net.lstm.input_size

        def run():
            with torch.no_grad():
                for ci, li, lw, ln, _, bi, ex in batches:
                    net(ci, li, lw, ln, bi, ex)

        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        a @ b
        t0 = time.perf_counter()
        for _ in range(5):
            a @ b
        extra["sgemm_2048_gflop_per_s"] = round(5 * 2 * 2048**3 / (time.perf_counter() - t0) / 1e9, 1)
    run()  # warm-up
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    fl = lstm_flop_per_char(hidden, input_dim)
    print(json.dumps({"engine": args.engine, "sentences": len(texts), "batch": args.batch, "chars": real,
                      "padded_chars": padded, "seconds": round(best, 4),
                      "sentences_per_s": round(len(texts) / best, 1),
                      "lstm_gflop_real_chars": round(fl * real / 1e9, 2),
                      "gflop_per_s_real": round(fl * real / best / 1e9, 1),
                      "gflop_per_s_padded": round(fl * padded / best / 1e9, 1), **extra}))


if __name__ == "__main__":
    main()
