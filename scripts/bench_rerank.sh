#!/usr/bin/env bash
# Cross-encoder re-ranking benchmarks (issue 7), each in one run on the same input:
#
# 1. Throughput (PART=throughput): NQ queries x 50 SciFact passages each (query i gets
#    documents 50i..50i+49; SciFact's length spread), batch 32, pair length 256, on THREADS:
#    Python onnxruntime (bench_ort.py: batches in input order, tokenizers padding to the
#    batch's longest) vs Rust + ort (bench_rerank example: Quarry's CrossEncoder::score,
#    length-sorted batches) vs Rust unsorted, on the same ONNX file, for int8 and fp32.
#    Cells interleaved; pairs/s and pairs per CPU-second.
#    PAIRSET=jobbert instead scores entity-linking pairs (the ce-link-jobbert ranker: NQ
#    JobBERT vacancy titles x 64 ESCO occupation names each, drawn with a fixed seed; short
#    pairs of varied length, MAXLEN 64), where padding is most of what batching can save.
# 2. Latency (PART=latency): `quarry eval retrieval --part dev` on SciFact train's dev
#    fifth (169 queries), first stage alone and with re-ranking of its top RERANK (50),
#    per-query p50/p90/p99 (includes reading the passages from the index).
#
#   scripts/bench_rerank.sh
#   PART=throughput NQ=20 THREADS=1 scripts/bench_rerank.sh
#   PART=latency RERANK=50 THREADS=2 scripts/bench_rerank.sh
#   PART=throughput PAIRSET=jobbert NQ=100 VARIANTS=int8 scripts/bench_rerank.sh
#
# Needs the fp32 graph for the fp32 cells (models/recipes/cross_encoder/build.sh writes it
# beside the committed int8 one; VARIANTS=int8 skips it) and the bench venv of
# scripts/bench_encode.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PART=${PART:-all}
NQ=${NQ:-20}
THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
RERANK=${RERANK:-50}
VARIANTS=${VARIANTS:-"int8 fp32"}
PAIRSET=${PAIRSET:-scifact}
case $PAIRSET in
  scifact) MODEL=${MODEL:-ce-minilm-l6-scifact}; MAXLEN=${MAXLEN:-256} ;;
  jobbert) MODEL=${MODEL:-ce-link-jobbert}; MAXLEN=${MAXLEN:-64} ;;
  *) echo "bench_rerank.sh: unknown PAIRSET $PAIRSET (scifact | jobbert)" >&2; exit 2 ;;
esac
DATA=${QUARRY_SHARED_DATA:-$ROOT/../shared/data}
HOME_DIR=${QUARRY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/quarry}
ART=${ART:-$ROOT/models/artifacts/$MODEL}
VPY=${BENCH_VENV:-$HOME_DIR/bench-venv}/bin/python
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
die() { echo "bench_rerank.sh: $*" >&2; exit 1; }
[[ -x $VPY ]] || die "bench venv missing: run scripts/bench_encode.sh once (it creates $VPY)"
export QUARRY_HOME=$HOME_DIR RAYON_NUM_THREADS=$THREADS

if [[ $PART == all || $PART == throughput ]]; then
  PAIRS=$HOME_DIR/tmp/rerank_pairs_${PAIRSET}_$NQ.jsonl
  mkdir -p "$HOME_DIR/tmp"
  if [[ $PAIRSET == jobbert ]]; then
  "$VPY" - "$DATA/jobs" "$NQ" "$PAIRS" <<'PY'
import csv, json, random, sys
d, nq, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(f"{d}/jobbert/titles.csv", encoding="utf-8")))
names = []
for r in csv.DictReader(open(f"{d}/esco/occupations_en.csv", encoding="utf-8")):
    names.append(r["preferredLabel"].strip())
    names += [a.strip() for a in (r["altLabels"] or "").split("\n") if a.strip()]
rng = random.Random(7)
with open(out, "w") as f:
    for r in rng.sample(rows, nq):
        for n in rng.sample(names, 64):
            f.write(json.dumps({"query": r["vacancyTitle"].strip(), "passage": n}) + "\n")
PY
  else
  "$VPY" - "$DATA/retrieval/scifact" "$NQ" "$PAIRS" <<'PY'
import json, sys
d, nq, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
qs = [json.loads(l)["text"] for l, _ in zip(open(f"{d}/queries.jsonl"), range(nq))]
docs = []
for l in open(f"{d}/corpus.jsonl"):
    r = json.loads(l)
    t, x = r.get("title", "").strip(), r.get("text", "").strip()
    docs.append(f"{t} {x}" if t and x else (t or x))
    if len(docs) >= 50 * nq:
        break
with open(out, "w") as f:
    for i, q in enumerate(qs):
        for p in docs[50 * i: 50 * i + 50]:
            f.write(json.dumps({"query": q, "passage": p}) + "\n")
PY
  fi
  cargo build --release -q -p quarry-models --example bench_rerank
  BIN=$TARGET_DIR/release/examples/bench_rerank
  printf '| pairs | model | threads | impl | pairs/s | pairs per CPU-s | padding |\n|---|---|---|---|---|---|---|\n'
  for v in $VARIANTS; do
    f=$ART/model_int8.onnx; [[ $v == fp32 ]] && f=$ART/model.onnx
    [[ -f $f ]] || die "$f missing (fp32: run models/recipes/cross_encoder/build.sh, or VARIANTS=int8)"
    for impl in python rust rust-unsorted; do
      case $impl in
        python) out=$("$VPY" models/recipes/cross_encoder/bench_ort.py --pairs "$PAIRS" --onnx "$f" \
                  --tokenizer "$ART/tokenizer.json" --threads "$THREADS" --batch "$BATCH" --max-len "$MAXLEN") ;;
        rust) out=$("$BIN" --pairs "$PAIRS" --model "$MODEL:$v" --threads "$THREADS" \
                  --batch "$BATCH" --max-len "$MAXLEN" --json) ;;
        rust-unsorted) out=$("$BIN" --pairs "$PAIRS" --model "$MODEL:$v" --threads "$THREADS" \
                  --batch "$BATCH" --max-len "$MAXLEN" --unsorted --json) ;;
      esac
      echo "$out" >> "$HOME_DIR/tmp/bench_rerank.jsonl"
      echo "$out" | "$VPY" -c "import json,sys; r=json.load(sys.stdin); print(f\"| $PAIRSET | $v | $THREADS | $impl | {r['pairs_per_s']:.1f} | {r['pairs']/max(r['cpu_seconds'],1e-9):.1f} | {r.get('padding_share', float('nan')):.3f} |\")"
    done
  done
fi

if [[ $PART == all || $PART == latency ]]; then
  Q=$TARGET_DIR/release/quarry
  cargo build --release -q --bin quarry
  CFG=$HOME_DIR/tmp/bench_rerank_threads$THREADS.toml
  mkdir -p "$HOME_DIR/tmp" && printf '[models]\nintra_threads = %s\n' "$THREADS" > "$CFG"
  printf '| system | threads | queries | p50 ms | p90 ms | p99 ms | nDCG@10 (dev) |\n|---|---|---|---|---|---|---|\n'
  for sys in hybrid "hybrid+rerank:n=$RERANK" bm25 "bm25+rerank:n=$RERANK"; do
    out=$("$Q" --config "$CFG" --json eval retrieval --beir "$DATA/retrieval/scifact" \
          --split train --part dev --system "$sys" --depth 100)
    echo "$out" | "$VPY" -c "import json,sys; r=json.load(sys.stdin); l=r['timings']['latency_ms']; print(f\"| $sys | $THREADS | {r['queries']} | {l['p50']:.1f} | {l['p90']:.1f} | {l['p99']:.1f} | {r['ndcg@10']:.4f} |\")"
  done
fi
