#!/usr/bin/env python3
"""Throughput of the Python WeTextProcessing package on its own Chinese test cases.

The baseline for examples/bench_tn.rs (quarry's Rust TN/ITN). Setup:

    python3 -m venv /tmp/wetext-venv
    /tmp/wetext-venv/bin/pip install -r pipeline/normalize/scripts/requirements-wetext.txt
    /tmp/wetext-venv/bin/python pipeline/normalize/scripts/bench_wetext.py [CASES_DIR] [--seconds S]

CASES_DIR defaults to $QUARRY_SHARED_DATA/tn/wetext (else ../shared/data/tn/wetext from
the repository root). Every case input under tn/ goes through Normalizer().normalize, every
one under itn/ through InverseNormalizer(enable_standalone_number=True, enable_0_to_9=True,
enable_million=False) -- the configuration of wetext's main ITN test -- repeated for at
least S seconds (default 3), single thread. Building the grammars (FST compilation) and
loading them from the cache are one-time costs: timed and reported, not counted.

With --differential DIR it instead writes N (--sentences, default 1500) random clinical-style
sentences of written numbers, units, dates, times, percentages, fractions, ranges and money
to DIR/input.tsv with wetext's TN outputs, then wetext's ITN of those outputs, and all the
expected outputs to DIR/expected.txt; the Rust test `differential_against_wetext` (run with
QUARRY_TN_DIFFERENTIAL=DIR) compares quarry's TN/ITN with them.
"""
import argparse
import logging
import os
import pathlib
import sys
import tempfile
import time


def inputs(root, direction):
    out = []
    for f in sorted((root / direction).rglob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            sep = "=>" if "=>" in line else ("~" if "~" in line else None)
            if sep is None:
                continue
            text = line.split(sep, 1)[0].strip()
            if text:
                out.append(text)
    return out


def bench(fn, cases, seconds):
    for c in cases:  # warm-up
        fn(c)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for c in cases:
            fn(c)
        n += len(cases)
    return n, time.perf_counter() - start


def differential(dir_, count, normalizer, inverse):
    import random

    random.seed(7)
    units = ["cm", "mm", "kg", "mg", "ml", "km", "m²", "°C", "h", "min", "g", "L", "kW", "ms",
             "μg", "mol", "km/h", "Hz", "mph", "cm³"]
    zh_units = ["个", "天", "次", "岁", "年", "月", "片", "颗", "人", "例", "余", "万", "斤", "盒"]
    ctx = ["患者", "约", "见", "共", "体温", "大小", "于", "给药", "的", "，", "。", "复查", ""]

    def num():
        r = random.random()
        if r < 0.3:
            return str(random.randint(0, 99))
        if r < 0.5:
            return str(random.randint(100, 99999))
        if r < 0.6:
            return str(random.randint(100000, 99999999))
        if r < 0.8:
            return f"{random.randint(0, 999)}.{random.randint(0, 99)}"
        return str(random.randint(1, 9))

    def snippet():
        r = random.random()
        if r < 0.2:
            return num()
        if r < 0.35:
            return num() + random.choice(units)
        if r < 0.45:
            return num() + random.choice(zh_units)
        if r < 0.52:
            return num() + "%"
        if r < 0.58:
            return f"{random.randint(1, 20)}/{random.randint(2, 30)}"
        if r < 0.66:
            return f"{random.randint(1990, 2030)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
        if r < 0.72:
            return f"{random.randint(0, 23)}:{random.randint(0, 59):02d}"
        if r < 0.78:
            return f"{random.randint(1, 50)}-{random.randint(51, 99)}{random.choice(units)}"
        if r < 0.84:
            return random.choice(["￥", "$", "€"]) + num()
        if r < 0.9:
            return f"{random.randint(1, 12)}月{random.randint(1, 28)}日"
        return f"{num()}+{num()}"

    lines = ["".join(random.choice(ctx) + snippet() for _ in range(random.randint(1, 3)))
             + random.choice(ctx) for _ in range(count)]
    tn_out = [normalizer.normalize(s) for s in lines]
    itn_in = [t for t in tn_out if t.strip() and "\t" not in t]
    itn_out = [inverse.normalize(s) for s in itn_in]
    out = pathlib.Path(dir_)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "input.tsv", "w", encoding="utf-8") as f:
        f.writelines(f"tn\t{s}\n" for s in lines)
        f.writelines(f"itn\t{s}\n" for s in itn_in)
    (out / "expected.txt").write_text("".join(f"{s}\n" for s in tn_out + itn_out), encoding="utf-8")
    print(f"wrote {len(lines)} TN + {len(itn_in)} ITN sentences to {out}")


def main():
    repo = pathlib.Path(__file__).resolve().parents[3]
    shared = pathlib.Path(os.environ.get("QUARRY_SHARED_DATA", repo.parent / "shared" / "data"))
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="?", default=str(shared / "tn" / "wetext"))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--differential", metavar="DIR")
    ap.add_argument("--sentences", type=int, default=1500)
    args = ap.parse_args()
    root = pathlib.Path(args.cases)
    tn_cases, itn_cases = inputs(root, "tn"), inputs(root, "itn")
    if not tn_cases or not itn_cases:
        sys.exit(f"no cases under {root} (need tn/ and itn/)")

    logging.disable(logging.CRITICAL)
    from itn.chinese.inverse_normalizer import InverseNormalizer
    from tn.chinese.normalizer import Normalizer

    cache = tempfile.mkdtemp(prefix="wetext-cache-")
    itn_kw = dict(enable_standalone_number=True, enable_0_to_9=True, enable_million=False)
    t0 = time.perf_counter()
    Normalizer(cache_dir=cache, overwrite_cache=True)
    InverseNormalizer(cache_dir=cache, overwrite_cache=True, **itn_kw)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    normalizer = Normalizer(cache_dir=cache, overwrite_cache=False)
    inverse = InverseNormalizer(cache_dir=cache, overwrite_cache=False, **itn_kw)
    load = time.perf_counter() - t0

    if args.differential:
        differential(args.differential, args.sentences, normalizer, inverse)
        return
    n_tn, t_tn = bench(normalizer.normalize, tn_cases, args.seconds)
    n_itn, t_itn = bench(inverse.normalize, itn_cases, args.seconds)
    per_pass = t_tn / n_tn * len(tn_cases) + t_itn / n_itn * len(itn_cases)
    import importlib.metadata as md

    print(f"wetextprocessing {md.version('WeTextProcessing')}, pynini {md.version('pynini')}, "
          f"python {sys.version.split()[0]}")
    print(f"one-time: grammar build {build:.1f} s, load from cache {load:.2f} s (not counted)")
    print(f"cases: {len(tn_cases)} TN + {len(itn_cases)} ITN from {root}")
    print(f"TN : {n_tn / t_tn:12.0f} sentences/s  ({n_tn} in {t_tn:.2f} s)")
    print(f"ITN: {n_itn / t_itn:12.0f} sentences/s  ({n_itn} in {t_itn:.2f} s)")
    print(f"all: {(len(tn_cases) + len(itn_cases)) / per_pass:12.0f} sentences/s  "
          f"(one pass over the {len(tn_cases) + len(itn_cases)} cases: {per_pass * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
