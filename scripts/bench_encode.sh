#!/usr/bin/env bash
# Sentence-encoding throughput: Rust + ort (models/examples/bench_encode.rs) vs Python
# onnxruntime (models/recipes/bench_encode.py) on the same ONNX files, tokenizer, corpus,
# threads, batch size and max length, interleaved in one run (python, rust, python, rust,
# ...) so both see the same machine load. Prints a markdown table.
#
#   scripts/bench_encode.sh
#   N=200 REPEATS=3 scripts/bench_encode.sh
#
# Environment (defaults):
#   N=1000 THREADS=2 BATCH=32 MAXLEN=256 REPEATS=1 WARMUP=1
#   MODEL=all-minilm-l6-v2   VARIANTS="fp32 int8"
#   CORPUS=../shared/data/retrieval/scifact/corpus.jsonl (relative to the repo root)
#   QUARRY_HOME=~/.cache/quarry (where `quarry models fetch` put the models)
#   BENCH_VENV=$QUARRY_HOME/bench-venv (Python venv with models/requirements-dev.txt)
#   PYTHON=python3 (interpreter used to create BENCH_VENV)
#   RESULTS=<file> also keep the raw JSON lines there
#
# With REPEATS > 1 each cell is the median over the repeats (min-max in parentheses).
#
# Besides wall-clock docs/s, both sides report `cpu_seconds`: the process CPU time (all
# threads) of the timed region. On a shared, loaded machine the wall-clock figure depends on
# how much CPU the run happened to get; CPU time per document does much less, so the table
# also gives docs per CPU-second. (The Python script is run unmodified through a small
# wrapper that records time.process_time() at the script's own two perf_counter() calls.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

N=${N:-1000}
THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
MAXLEN=${MAXLEN:-256}
REPEATS=${REPEATS:-1}
WARMUP=${WARMUP:-1}
MODEL=${MODEL:-all-minilm-l6-v2}
VARIANTS=${VARIANTS:-"fp32 int8"}
CORPUS=${CORPUS:-../shared/data/retrieval/scifact/corpus.jsonl}
if [[ -n "${QUARRY_HOME:-}" ]]; then
    HOME_DIR=$QUARRY_HOME
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
    HOME_DIR=$XDG_CACHE_HOME/quarry
else
    HOME_DIR=$HOME/.cache/quarry
fi
BENCH_VENV=${BENCH_VENV:-$HOME_DIR/bench-venv}
PYTHON=${PYTHON:-python3}

die() { echo "bench_encode.sh: error: $*" >&2; exit 1; }

for v in N THREADS BATCH REPEATS WARMUP MAXLEN; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( N > 0 && THREADS > 0 && BATCH > 0 && REPEATS > 0 && MAXLEN > 2 )) \
    || die "N, THREADS, BATCH, REPEATS must be > 0 and MAXLEN > 2"

# --- inputs -------------------------------------------------------------------------------
[[ -f "$CORPUS" ]] || die "corpus not found: $CORPUS (set CORPUS=...)"

MODEL_DIR=$HOME_DIR/models/$MODEL
TOKENIZER=$MODEL_DIR/tokenizer.json
onnx_file() {
    case "$1" in
        fp32) echo "$MODEL_DIR/model.onnx" ;;
        int8) echo "$MODEL_DIR/model_int8.onnx" ;;
        *) die "unknown variant '$1' (fp32 or int8)" ;;
    esac
}
missing=()
[[ -f "$TOKENIZER" ]] || missing+=("$TOKENIZER")
for var in $VARIANTS; do
    f=$(onnx_file "$var")
    [[ -f "$f" ]] || missing+=("$f")
done
ort_lib=$(ls "$HOME_DIR"/runtime/libonnxruntime.so* 2>/dev/null | head -n1 || true)
[[ -n "${ORT_DYLIB_PATH:-}" || -n "$ort_lib" ]] || missing+=("$HOME_DIR/runtime/libonnxruntime.so.*")
if (( ${#missing[@]} )); then
    {
        echo "bench_encode.sh: error: the models are not provisioned in $HOME_DIR; missing:"
        printf '  %s\n' "${missing[@]}"
        echo "Run \`cargo run --release -- models fetch\` first (or set QUARRY_HOME)."
    } >&2
    exit 1
fi

# --- Python venv with tokenizers + onnxruntime + numpy --------------------------------------
VPY=$BENCH_VENV/bin/python
if ! [[ -x "$VPY" ]] || ! "$VPY" -c 'import tokenizers, onnxruntime, numpy' 2>/dev/null; then
    echo "bench_encode.sh: creating $BENCH_VENV (pip install -r models/requirements-dev.txt)" >&2
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=...)"
    "$PYTHON" -m venv "$BENCH_VENV" || die "could not create venv $BENCH_VENV"
    "$VPY" -m pip install --quiet -r models/requirements-dev.txt \
        || die "pip install -r models/requirements-dev.txt failed in $BENCH_VENV"
    "$VPY" -c 'import tokenizers, onnxruntime, numpy' || die "bench venv $BENCH_VENV is unusable"
fi

# --- Rust example -----------------------------------------------------------------------------
echo "bench_encode.sh: cargo build --release -p quarry-models --example bench_encode" >&2
cargo build --release --quiet -p quarry-models --example bench_encode \
    || die "cargo build of the bench_encode example failed"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RUST_BIN=$TARGET_DIR/release/examples/bench_encode
[[ -x "$RUST_BIN" ]] || die "built example not found at $RUST_BIN"

# --- runs -------------------------------------------------------------------------------------
export QUARRY_HOME=$HOME_DIR
export RAYON_NUM_THREADS=$THREADS   # tokenizers (both sides) get the model's thread budget
unset RUST_BACKTRACE
RAW=$(mktemp)
trap 'rm -f "$RAW"' EXIT

common=(--corpus "$CORPUS" --n "$N" --batch "$BATCH" --max-len "$MAXLEN" --threads "$THREADS" --warmup "$WARMUP" --json)
echo "bench_encode.sh: N=$N THREADS=$THREADS BATCH=$BATCH MAXLEN=$MAXLEN REPEATS=$REPEATS variants=[$VARIANTS] (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
# Runs bench_encode.py unmodified; adds "cpu_seconds" (process CPU time between the script's
# two time.perf_counter() calls, i.e. over its timed region) to its JSON line.
PY_WRAP='
import contextlib, io, json, runpy, sys, time
script = sys.argv[1]
sys.argv = sys.argv[1:]
calls = []
_pc = time.perf_counter
def pc():
    calls.append((_pc(), time.process_time()))
    return calls[-1][0]
time.perf_counter = pc
buf = io.StringIO()
code = 0
with contextlib.redirect_stdout(buf):
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code or 0
out = buf.getvalue().strip().splitlines()
if code == 0 and out:
    d = json.loads(out[-1])
    cpu = None
    if len(calls) >= 2 and abs((calls[-1][0] - calls[-2][0]) - d["seconds"]) < 0.01:
        cpu = round(calls[-1][1] - calls[-2][1], 3)
    d["cpu_seconds"] = cpu
    out[-1] = json.dumps(d)
print("\n".join(out))
sys.exit(code)
'
run_py() {  # variant onnx batching repeat
    local flag=(); [[ $3 == sorted ]] && flag=(--sorted)
    local load line
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "  [$4/$REPEATS] $1 $3: python ..." >&2
    line=$("$VPY" -c "$PY_WRAP" models/recipes/bench_encode.py --onnx "$2" --tokenizer "$TOKENIZER" "${common[@]}" "${flag[@]}") \
        || die "python run failed ($1 $3)"
    echo "{\"variant\":\"$1\",\"repeat\":$4,\"load1\":$load,\"result\":$line}" >>"$RAW"
    echo "    $line" >&2
}
run_rs() {  # variant onnx batching repeat
    local flag=(); [[ $3 == unsorted ]] && flag=(--unsorted)
    local load line
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "  [$4/$REPEATS] $1 $3: rust ..." >&2
    line=$("$RUST_BIN" --model "$MODEL:$1" "${common[@]}" "${flag[@]}") \
        || die "rust run failed ($1 $3)"
    echo "{\"variant\":\"$1\",\"repeat\":$4,\"load1\":$load,\"result\":$line}" >>"$RAW"
    echo "    $line" >&2
}
for ((r = 1; r <= REPEATS; r++)); do
    for var in $VARIANTS; do
        onnx=$(onnx_file "$var")
        for batching in sorted unsorted; do
            # Odd repeats run python first, even repeats rust first, to cancel drift.
            if (( r % 2 )); then
                run_py "$var" "$onnx" "$batching" "$r"; run_rs "$var" "$onnx" "$batching" "$r"
            else
                run_rs "$var" "$onnx" "$batching" "$r"; run_py "$var" "$onnx" "$batching" "$r"
            fi
        done
    done
done
echo "bench_encode.sh: done (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
if [[ -n "${RESULTS:-}" ]]; then cp "$RAW" "$RESULTS"; fi

# --- table ------------------------------------------------------------------------------------
"$VPY" - "$RAW" "$VARIANTS" <<'EOF'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
variants = sys.argv[2].split()
cell = {}
for r in rows:
    res = r["result"]
    key = (r["variant"], "sorted" if res["sorted"] else "unsorted", res["impl"])
    cell.setdefault(key, []).append(res["docs_per_s"])
med = {k: statistics.median(v) for k, v in cell.items()}
tokens = {}
for r in rows:
    res = r["result"]
    tokens.setdefault(res["impl"], set()).add(res["tokens"])

def fmt(x):
    return f"{x:.1f}"

reps = max(len(v) for v in cell.values())

def spread(k):
    v = cell[k]
    return f" ({min(v):.1f}-{max(v):.1f})" if len(v) > 1 else ""

print("| variant | batching | python docs/s | rust docs/s | rust/python |")
print("|---|---|---:|---:|---:|")
for v in variants:
    for b in ("sorted", "unsorted"):
        kp, kr = (v, b, "python-ort"), (v, b, "rust-ort")
        p, r = med[kp], med[kr]
        print(f"| {v} | {b} | {fmt(p)}{spread(kp)} | {fmt(r)}{spread(kr)} | {r / p:.2f}x |")
print()
print("| variant | python sorted/unsorted | rust sorted/unsorted |")
print("|---|---:|---:|")
for v in variants:
    ps = med[(v, "sorted", "python-ort")] / med[(v, "unsorted", "python-ort")]
    rs = med[(v, "sorted", "rust-ort")] / med[(v, "unsorted", "rust-ort")]
    print(f"| {v} | {ps:.2f}x | {rs:.2f}x |")
if len(variants) > 1 and "fp32" in variants and "int8" in variants:
    print()
    print("| batching | python int8/fp32 | rust int8/fp32 |")
    print("|---|---:|---:|")
    for b in ("sorted", "unsorted"):
        pi = med[("int8", b, "python-ort")] / med[("fp32", b, "python-ort")]
        ri = med[("int8", b, "rust-ort")] / med[("fp32", b, "rust-ort")]
        print(f"| {b} | {pi:.2f}x | {ri:.2f}x |")
print()
print("tokens per run: " + ", ".join(f"{k}={sorted(v)}" for k, v in sorted(tokens.items())))
cpu = {}
for r in rows:
    res = r["result"]
    if res.get("cpu_seconds"):
        key = (r["variant"], "sorted" if res["sorted"] else "unsorted", res["impl"])
        cpu.setdefault(key, []).append(res["docs"] / res["cpu_seconds"])
if cpu and all((v, b, i) in cpu for v in variants for b in ("sorted", "unsorted")
               for i in ("python-ort", "rust-ort")):
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    def cspread(k):
        v = cpu[k]
        return f" ({min(v):.2f}-{max(v):.2f})" if len(v) > 1 else ""
    print()
    print("Docs per CPU-second (process CPU time, all threads, of the timed region; less load-sensitive):")
    print()
    print("| variant | batching | python docs/CPU-s | rust docs/CPU-s | rust/python |")
    print("|---|---|---:|---:|---:|")
    for v in variants:
        for b in ("sorted", "unsorted"):
            kp, kr = (v, b, "python-ort"), (v, b, "rust-ort")
            p, r = cmed[kp], cmed[kr]
            print(f"| {v} | {b} | {p:.2f}{cspread(kp)} | {r:.2f}{cspread(kr)} | {r / p:.2f}x |")
    print()
    print("| variant | python sorted/unsorted (CPU) | rust sorted/unsorted (CPU) |")
    print("|---|---:|---:|")
    for v in variants:
        ps = cmed[(v, "sorted", "python-ort")] / cmed[(v, "unsorted", "python-ort")]
        rs = cmed[(v, "sorted", "rust-ort")] / cmed[(v, "unsorted", "rust-ort")]
        print(f"| {v} | {ps:.2f}x | {rs:.2f}x |")
    if "fp32" in variants and "int8" in variants:
        print()
        print("| batching | python int8/fp32 (CPU) | rust int8/fp32 (CPU) |")
        print("|---|---:|---:|")
        for b in ("sorted", "unsorted"):
            pi = cmed[("int8", b, "python-ort")] / cmed[("fp32", b, "python-ort")]
            ri = cmed[("int8", b, "rust-ort")] / cmed[("fp32", b, "rust-ort")]
            print(f"| {b} | {pi:.2f}x | {ri:.2f}x |")
    print()
loads = [r["load1"] for r in rows if "load1" in r]
if loads:
    print(f"1-min load average at the start of each run: {min(loads):.2f}-{max(loads):.2f}")
if reps > 1:
    print(f"(median of {reps} repeats per cell, min-max in parentheses)")
EOF
