#!/usr/bin/env bash
# NER throughput, one run, same sentences: Rust + ort (int8 and fp32 ONNX, pipeline/ner's
# bench_ner example) vs the same trained network in PyTorch eager (models/recipes/ner/bench_torch.py),
# at 1 and 2 threads, batch 1 and 32. Each side times features + network + Viterbi.
# The cells are interleaved (torch, rust int8, rust fp32 for each setting) so all see the same load.
#
#   scripts/bench_ner.sh                 # N=400 sentences of Yidu-S4K validate
#   N=1273 scripts/bench_ner.sh
#
# Needs the trained checkpoint of models/recipes/ner/build.sh in $QUARRY_NER_WORK
# (default ~/.cache/quarry/ner-work) for the torch side, and Debian's python3-torch. Torch runs with
# OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=threads: letting OpenBLAS start its own threads
# on top of torch's made the 2-thread torch runs 5x slower (an unfair baseline).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
N=${N:-400}
DATA=${DATA:-${QUARRY_SHARED_DATA:-$ROOT/../shared/data}/ner/yidu-s4k/validate.bio}
WORK=${QUARRY_NER_WORK:-${QUARRY_HOME:-$HOME/.cache/quarry}/ner-work}
CKPT=$WORK/clinical/best.pt
[ -f "$CKPT" ] || { echo "bench_ner.sh: $CKPT missing: run models/recipes/ner/build.sh clinical" >&2; exit 1; }
cargo build --release --quiet -p quarry-ner --example bench_ner
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/bench_ner
OUT=$(mktemp)
for t in 1 2; do
  for b in 1 32; do
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$t /usr/bin/python3 models/recipes/ner/bench_torch.py --work "$WORK/lexicon" \
      --ckpt "$CKPT" --artifact models/artifacts/ner-clinical-zh --gold "$DATA" --threads $t --batch $b --limit "$N" >> "$OUT"
    "$BIN" --model ner-clinical-zh --threads $t --batch $b --data "$DATA" --limit "$N" --repeat 1 >> "$OUT"
    "$BIN" --model ner-clinical-zh:fp32 --threads $t --batch $b --data "$DATA" --limit "$N" --repeat 1 >> "$OUT"
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cells = {}
for r in rows:
    eng = r.get("engine") or ("rust-ort-" + r.get("variant", "?"))
    cells[(r["threads"], r["batch"], eng)] = r["sentences_per_s"]
print("| threads | batch | torch eager fp32 (sent/s) | rust+ort fp32 | rust+ort int8 | rust int8 / torch | int8 / fp32 (rust) |")
print("|---|---|---|---|---|---|---|")
for t in (1, 2):
    for b in (1, 32):
        tor = cells.get((t, b, "torch-eager-fp32"))
        f32 = next((v for (tt, bb, e), v in cells.items() if tt == t and bb == b and e.endswith("fp32") and e.startswith("rust")), None)
        i8 = next((v for (tt, bb, e), v in cells.items() if tt == t and bb == b and e.endswith("int8")), None)
        ratio = lambda a, c: f"{a / c:.2f}x" if a and c else "-"
        fmt = lambda v: f"{v:.0f}" if v else "-"
        print(f"| {t} | {b} | {fmt(tor)} | {fmt(f32)} | {fmt(i8)} | {ratio(i8, tor)} | {ratio(i8, f32)} |")
net = [r for r in rows if r.get("engine")]
for r in net:
    print(f"torch t={r['threads']} b={r['batch']}: features {r['feature_seconds']}s, network {r['network_seconds']}s of {r['seconds']}s")
PY
rm -f "$OUT"
