#!/usr/bin/env bash
# Learned sparse retrieval benchmarks (issue 6), each in one run on the same input:
#
# 1. Encoder throughput on the first N SciFact documents (threads, batch 32, length 256):
#    Python onnxruntime on the reference fp32 ONNX (the literal SPLADE graph: full MLM
#    logits, log(1+relu) on every position, masked max) vs Rust + ort on the same file and on
#    Quarry's optimized variants of splade-tiny: `fp32` (max-pool before the activation, in
#    the graph), `int8` (+ int8 MatMuls), `head-int8` (+ MLM head restricted to the
#    calibrated vocabulary rows). Cells interleaved, docs/s and docs per CPU-second.
# 2. Query latency (bench_sparse example) on an index built with --sparse: tantivy BM25 vs
#    sparse MaxScore vs exhaustive vs TopDocs vs hybrid, p50/p99, brute-force agreement,
#    index bytes per document.
#
#   scripts/bench_sparse.sh                      # both
#   PART=encode N=1000 THREADS=2 scripts/bench_sparse.sh
#   PART=latency INDEX=DIR scripts/bench_sparse.sh
#
# Needs `quarry models fetch` (models + bench venv as in scripts/bench_encode.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PART=${PART:-all}
N=${N:-1000}
THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
MAXLEN=${MAXLEN:-256}
DATA=${QUARRY_SHARED_DATA:-$ROOT/../shared/data}
CORPUS=$DATA/retrieval/scifact/corpus.jsonl
HOME_DIR=${QUARRY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/quarry}
MODEL_DIR=$HOME_DIR/models/splade-tiny
VPY=${BENCH_VENV:-$HOME_DIR/bench-venv}/bin/python
CONV_PY=$HOME_DIR/venv/bin/python
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
die() { echo "bench_sparse.sh: $*" >&2; exit 1; }
[[ -f $MODEL_DIR/model_head_int8.onnx ]] || die "splade-tiny is not provisioned in $HOME_DIR: run quarry models fetch"
[[ -x $VPY ]] || die "bench venv missing: run scripts/bench_encode.sh once (it creates $VPY)"
export QUARRY_HOME=$HOME_DIR RAYON_NUM_THREADS=$THREADS

if [[ $PART == all || $PART == encode ]]; then
  REF=$HOME_DIR/tmp/splade_tiny_reference.onnx
  if [[ ! -f $REF ]]; then
    "$CONV_PY" models/recipes/bert_onnx.py --weights "$MODEL_DIR/model.safetensors" --config "$MODEL_DIR/config.json" \
      --kind splade --splade-pooling naive --out "$REF.tmp" --quiet && mv "$REF.tmp" "$REF"
  fi
  REFDIR=$HOME_DIR/tmp/splade_tiny_reference
  mkdir -p "$REFDIR" && ln -sf "$REF" "$REFDIR/model.onnx" && ln -sf "$MODEL_DIR/tokenizer.json" "$REFDIR/tokenizer.json"
  cargo build --release --quiet -p quarry-models --example bench_encode
  BIN=$TARGET_DIR/release/examples/bench_encode
  common=(--corpus "$CORPUS" --n "$N" --batch "$BATCH" --max-len "$MAXLEN" --threads "$THREADS" --json)
  RAW=$(mktemp)
  cpu_py() {  # python with process CPU time of the timed region, as bench_encode.sh does
    "$VPY" - "$@" <<'PY'
import json, sys, time, runpy, io, contextlib
calls = []
_pc = time.perf_counter
def pc():
    calls.append((_pc(), time.process_time())); return calls[-1][0]
time.perf_counter = pc
sys.argv = sys.argv[1:]
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as e:
        if e.code:
            raise
d = json.loads(buf.getvalue().strip().splitlines()[-1])
d["cpu_seconds"] = round(calls[-1][1] - calls[-2][1], 3)
print(json.dumps(d))
PY
  }
  echo "bench_sparse.sh: encoder, N=$N THREADS=$THREADS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  echo "{\"cell\":\"python reference fp32\",\"r\":$(cpu_py models/recipes/bench_encode.py --onnx "$REF" --tokenizer "$MODEL_DIR/tokenizer.json" "${common[@]}" --sorted)}" >> "$RAW"
  echo "{\"cell\":\"rust reference fp32\",\"r\":$("$BIN" --model "$REFDIR" --sparse "${common[@]}")}" >> "$RAW"
  for v in fp32 int8 head-int8; do
    echo "{\"cell\":\"rust splade-tiny:$v\",\"r\":$("$BIN" --model "splade-tiny:$v" "${common[@]}")}" >> "$RAW"
  done
  echo "{\"cell\":\"python reference fp32 (again)\",\"r\":$(cpu_py models/recipes/bench_encode.py --onnx "$REF" --tokenizer "$MODEL_DIR/tokenizer.json" "${common[@]}" --sorted)}" >> "$RAW"
  "$VPY" - "$RAW" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
py = [r["r"] for r in rows if r["cell"].startswith("python")]
base_wall = sum(r["docs_per_s"] for r in py) / len(py)
base_cpu = sum(r["docs"] / r["cpu_seconds"] for r in py) / len(py)
print("| encoder | docs/s | docs per CPU-s | vs Python reference (wall) | (CPU) |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    x = r["r"]; cpu = x["docs"] / x["cpu_seconds"] if x.get("cpu_seconds") else float("nan")
    print(f"| {r['cell']} | {x['docs_per_s']:.1f} | {cpu:.1f} | {x['docs_per_s'] / base_wall:.2f}x | {cpu / base_cpu:.2f}x |")
PY
  rm -f "$RAW"
fi

if [[ $PART == all || $PART == latency ]]; then
  INDEX=${INDEX:-}
  if [[ -z $INDEX ]]; then
    # the evaluation index of SciFact with the default sparse settings (built if missing)
    cargo build --release --quiet -p quarry
    "$TARGET_DIR/release/quarry" --quiet eval retrieval --beir "$DATA/retrieval/scifact" --split train --system sparse --json > /dev/null
    INDEX=$(ls -td "$HOME_DIR"/eval-indexes/*/ | while read -r d; do [[ -f $d/quarry_sparse.json ]] && { echo "$d"; break; }; done)
  fi
  [[ -n $INDEX ]] || die "no sparse index found (set INDEX=DIR)"
  cargo build --release --quiet -p quarry-index --example bench_sparse
  "$TARGET_DIR/release/examples/bench_sparse" --index "$INDEX" --queries "$DATA/retrieval/scifact/queries.jsonl" \
    --k "${K:-10}" --repeat "${REPEAT:-3}" --brute "${BRUTE:-100}"
fi
