#!/usr/bin/env bash
# Rebuild Quarry's cross-encoder from the all-MiniLM-L6-v2 weights, end to end:
#
#   apt-get install -y python3-torch libopenblas0-pthread   # Debian's CPU PyTorch 1.13 + BLAS
#   cargo build --release --bin quarry && target/release/quarry models fetch
#   models/recipes/cross_encoder/build.sh
#
# Steps (work files under $WORK, default $QUARRY_HOME/ce-work):
#  1. first stage: `quarry eval retrieval --split train --system hybrid` on SciFact; the run
#     (ranked lists + scores) goes into the evaluation store
#  2. export_pairs.py: labelled groups from the store: qrels positives, hard negatives =
#     the run's top 50 minus positives; queries split fit / dev (quarry_eval::split rule)
#  3. train.py (Debian's torch): listwise loss over [positive + 7 negatives], dev-selected
#  3b. (TITLES > 0; off by default, see README) title_queries.py: corpus titles as pseudo-queries for their own abstracts
#     (titles blanked in the passages; documents judged for dev queries left out), hard
#     negatives from a bm25 run, mix_pairs.py adds TITLES of those groups to the fit part,
#     and one more epoch from step 3's model (lr 2e-5) is dev-selected
#  4. bert_onnx.py --kind cross-encoder (fp32) and quantize_ce.py (int8, embeddings too),
#     check_ce.py (ONNX vs PyTorch logits; writes the Rust reference fixture)
#  5. the artifact: models/artifacts/ce-minilm-l6-scifact/ (model_int8.onnx committed;
#     model.onnx, fp32, is written there too but git-ignored), SHA256SUMS, train log
#
# Environment: DATA (../shared/data), QUARRY (target/release/quarry), WORK, EPOCHS (2),
# THREADS (2), SEED (13), MAX_LENGTH (192, training pairs), TITLES (0 skips 3b; 1200 was tried), BENCH_VENV (a venv with
# models/requirements-dev.txt; created when missing).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
source models/recipes/minilm_env.sh
WORK=${WORK:-$HOME_DIR/ce-work}
EPOCHS=${EPOCHS:-2}
THREADS=${THREADS:-2}
SEED=${SEED:-13}
MAX_LENGTH=${MAX_LENGTH:-192}
TITLES=${TITLES:-0}
NAME=ce-minilm-l6-scifact
OUT=models/artifacts/$NAME
RECIPE=models/recipes/cross_encoder

[[ -f "$DATA/retrieval/scifact/corpus.jsonl" ]] || die "SciFact not found under $DATA/retrieval/scifact"
minilm_ready
mkdir -p "$WORK"

echo "== 1. first stage (hybrid) on SciFact train" >&2
RUN=$("$QUARRY" --json eval retrieval --beir "$DATA/retrieval/scifact" --split train \
      --system hybrid --depth 100 | "$VPY" -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
DB=$HOME_DIR/eval.sqlite

echo "== 2. export pairs from run $RUN" >&2
"$VPY" $RECIPE/export_pairs.py --db "$DB" --run "$RUN" --tokenizer "$MINILM/tokenizer.json" \
    --out-dir "$WORK/pairs"

echo "== 3. train ($EPOCHS epochs, $THREADS threads, seed $SEED)" >&2
mkdir -p "$WORK/init"
ln -sf "$MINILM/model.safetensors" "$WORK/init/model.safetensors"
cp "$MINILM/config.json" "$WORK/init/config.json"
OPENBLAS_NUM_THREADS=$THREADS "$TORCH_PY" $RECIPE/train.py --pairs "$WORK/pairs" --init "$WORK/init" \
    --out "$WORK/train" --epochs "$EPOCHS" --threads "$THREADS" --seed "$SEED" \
    --max-length "$MAX_LENGTH" --eval-every 185
FINAL=$WORK/train
if [[ "$TITLES" -gt 0 ]]; then
    echo "== 3b. title pseudo-queries: $TITLES corpus titles -> their abstracts, one more epoch" >&2
    "$VPY" $RECIPE/title_queries.py --beir "$DATA/retrieval/scifact" --split train --out "$WORK/titles"
    TRUN=$("$QUARRY" --json eval retrieval --beir "$WORK/titles" --split train --system bm25 --depth 50 \
           | "$VPY" -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
    "$VPY" $RECIPE/export_pairs.py --db "$DB" --run "$TRUN" --tokenizer "$MINILM/tokenizer.json" \
        --out-dir "$WORK/titlepairs"
    "$VPY" $RECIPE/mix_pairs.py --base "$WORK/pairs" --extra "$WORK/titlepairs" --n "$TITLES" \
        --seed "$SEED" --out "$WORK/mixed"
    OPENBLAS_NUM_THREADS=$THREADS "$TORCH_PY" $RECIPE/train.py --pairs "$WORK/mixed" --init "$WORK/train" \
        --out "$WORK/train2" --epochs 1 --threads "$THREADS" --seed $((SEED + 1)) --lr 2e-5 \
        --max-length "$MAX_LENGTH" --eval-every 200
    FINAL=$WORK/train2
fi
OPENBLAS_NUM_THREADS=1 "$TORCH_PY" $RECIPE/torch_reference.py --model "$FINAL" --pairs "$WORK/pairs" \
    --out "$FINAL/reference.json"

echo "== 4. ONNX export, int8, checks" >&2
mkdir -p "$OUT"
"$VPY" models/recipes/bert_onnx.py --weights "$FINAL/model.safetensors" \
    --config "$FINAL/config.json" --kind cross-encoder --out "$OUT/model.onnx"
"$VPY" $RECIPE/quantize_ce.py --in "$OUT/model.onnx" --out "$OUT/model_int8.onnx"
cp "$MINILM/tokenizer.json" "$OUT/tokenizer.json"
cp "$FINAL/config.json" "$OUT/config.json"
cp "$WORK/train/train_log.jsonl" "$OUT/train_log.jsonl"
if [[ "$FINAL" != "$WORK/train" ]]; then cp "$FINAL/train_log.jsonl" "$OUT/train_log_titles.jsonl"; fi
"$VPY" $RECIPE/check_ce.py --ref "$FINAL/reference.json" --onnx "$OUT/model.onnx" \
    --int8 "$OUT/model_int8.onnx" --corpus "$DATA/retrieval/scifact" --tokenizer "$OUT/tokenizer.json" \
    --out models/reference/cross_encoder.json

echo "== 5. checksums" >&2
(cd "$OUT" && sha256sum model_int8.onnx tokenizer.json config.json > SHA256SUMS)
cat "$OUT/SHA256SUMS" >&2
echo "build.sh: done; measure with: $QUARRY eval retrieval --beir $DATA/retrieval/scifact --split train --part dev --system hybrid+rerank" >&2
