"""Run several train.py configurations x seeds side by side and summarize them.

    sweep.py run --out DIR --device cuda --parallel 14 --timeout 420 --seeds 1,2,3 \
        --config base="" --config l2="--layers 2" -- <train.py arguments shared by every run>
    sweep.py pack --out DIR --top 2 --to PACKDIR     # best checkpoints, network weights as float16
    sweep.py unpack --ckpt PACKDIR/x.pt --to best.pt  # back to train.py's float32 checkpoint

Every run writes DIR/<config>-s<seed>/ (train.py's best.pt, train_log.jsonl, done.json) and
its stdout to DIR/<config>-s<seed>.log; `summary.json` and `summary.md` hold, per
configuration, the best dev F1 of each seed, their mean, standard deviation and maximum, and
the epoch of each best. A run that outlives --timeout is stopped; what its log holds still
counts (its best.pt is the best epoch it reached).

The sweep exists because single runs of this model differ by several tenths of F1 between
seeds: a configuration is judged by its mean over seeds, not by its luckiest run.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_log(path):
    """(best F1, best epoch, epochs run) from a run's train_log.jsonl, or None."""
    if not os.path.exists(path):
        return None
    best, best_epoch, n = -1.0, 0, 0
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        rec = json.loads(line)
        n += 1
        if rec["dev"]["f1"] > best:
            best, best_epoch = rec["dev"]["f1"], rec["epoch"]
    return (best, best_epoch, n) if n else None


def summarize(out, configs, seeds):
    rows = []
    for name, extra in configs:
        runs = []
        for s in seeds:
            r = read_log(os.path.join(out, f"{name}-s{s}", "train_log.jsonl"))
            if r:
                runs.append({"seed": s, "f1": r[0], "epoch": r[1], "epochs_run": r[2]})
        f1s = [r["f1"] for r in runs]
        rows.append({
            "config": name, "args": extra, "runs": runs,
            "mean": statistics.mean(f1s) if f1s else None,
            "sd": statistics.stdev(f1s) if len(f1s) > 1 else None,
            "max": max(f1s) if f1s else None,
        })
    json.dump(rows, open(os.path.join(out, "summary.json"), "w"), indent=1)
    lines = ["| config | args | seeds | mean F1 | sd | max F1 | best epochs |", "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
        lines.append(f"| {r['config']} | `{r['args']}` | {len(r['runs'])} | {fmt(r['mean'])} | {fmt(r['sd'])} | "
                     f"{fmt(r['max'])} | {', '.join(str(x['epoch']) for x in r['runs'])} |")
    open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
    return rows


def run(args, shared):
    configs = []
    for spec in args.config:
        name, _, extra = spec.partition("=")
        if not name or "/" in name:
            raise SystemExit(f"bad --config {spec!r}: NAME=ARGS")
        configs.append((name, extra))
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.out, exist_ok=True)
    queue = [(n, e, s) for s in seeds for n, e in configs]  # seed-major: every config gets seed 1 first
    live = []
    t0 = time.time()
    while queue or live:
        while queue and len(live) < args.parallel:
            name, extra, seed = queue.pop(0)
            tag = f"{name}-s{seed}"
            cmd = [sys.executable, os.path.join(HERE, "train.py"), *shared, *shlex.split(extra),
                   "--seed", str(seed), "--device", args.device, "--run", os.path.join(args.out, tag)]
            log = open(os.path.join(args.out, tag + ".log"), "w")
            log.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
            log.flush()
            live.append((tag, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.time()))
            print(f"[{time.time() - t0:5.0f}s] start {tag}", flush=True)
        time.sleep(2)
        for item in list(live):
            tag, p, started = item
            if p.poll() is not None:
                live.remove(item)
                print(f"[{time.time() - t0:5.0f}s] end {tag} rc {p.returncode}", flush=True)
            elif time.time() - started > args.timeout:
                p.terminate()
                p.wait()
                live.remove(item)
                print(f"[{time.time() - t0:5.0f}s] stopped {tag} after {args.timeout}s", flush=True)
        summarize(args.out, configs, seeds)
    for r in summarize(args.out, configs, seeds):
        print(json.dumps({k: r[k] for k in ("config", "mean", "sd", "max")}), flush=True)


def pack(args):
    import torch

    done = []
    for d in sorted(os.listdir(args.out)):
        r = read_log(os.path.join(args.out, d, "train_log.jsonl"))
        if r and os.path.exists(os.path.join(args.out, d, "best.pt")):
            done.append((r[0], d))
    done.sort(reverse=True)
    os.makedirs(args.to, exist_ok=True)
    for f1, d in done[: args.top]:
        state = torch.load(os.path.join(args.out, d, "best.pt"), map_location="cpu")
        # every float tensor of the network as float16 (files must stay under 16 MiB to travel back
        # from a lent GPU machine); the CRF stays float32. Measure the unpacked model again.
        state["net"] = {k: v.half() if v.is_floating_point() else v for k, v in state["net"].items()}
        state["packed"] = True
        torch.save(state, os.path.join(args.to, d + ".pt"))
        print(f"packed {d} (dev F1 {100 * f1:.2f})")


def unpack(args):
    import torch

    state = torch.load(args.ckpt, map_location="cpu")
    for k, v in state["net"].items():
        if v.dtype == torch.float16:
            state["net"][k] = v.float()
    state.pop("packed", None)
    torch.save(state, args.to)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--device", default="cpu")
    r.add_argument("--parallel", type=int, default=1)
    r.add_argument("--timeout", type=float, default=3600)
    r.add_argument("--seeds", default="13")
    r.add_argument("--config", action="append", required=True, help="NAME=extra train.py arguments")
    p = sub.add_parser("pack")
    p.add_argument("--out", required=True)
    p.add_argument("--top", type=int, default=2)
    p.add_argument("--to", required=True)
    u = sub.add_parser("unpack")
    u.add_argument("--ckpt", required=True)
    u.add_argument("--to", required=True)
    argv = sys.argv[1:]
    shared = []
    if "--" in argv:
        k = argv.index("--")
        argv, shared = argv[:k], argv[k + 1 :]
    args = ap.parse_args(argv)
    if args.cmd == "run":
        run(args, shared)
    elif args.cmd == "pack":
        pack(args)
    else:
        unpack(args)


if __name__ == "__main__":
    main()
