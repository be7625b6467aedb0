#!/usr/bin/env bash
# Fine-tune all-MiniLM-L6-v2 as the dense generator of a linking task (a bi-encoder), end
# to end, on CPU:
#
#   apt-get install -y python3-torch libopenblas0-pthread   # Debian's CPU PyTorch + BLAS
#   cargo build --release --bin quarry && target/release/quarry models fetch
#   models/recipes/bi_encoder/build.sh jobbert               # ~40 min on 2 idle cores
#
# Steps (work files under $WORK, default $QUARRY_HOME/bi-encoder/<task>):
#  1. candidates: `quarry eval link --task T --system $SYSTEM --export-groups` over the whole
#     training file (gold concepts = positives, the generator's best other candidates = hard
#     negatives; fit / dev by the dev-part rule `quarry eval link --part dev` measures)
#  2. tokenize_pairs.py: mention and preferred-name wordpiece ids
#  3. train.py: in-batch + hard-negative softmax over cosine x 20, two epochs, dev-selected
#  4. ONNX (bert_onnx.py --kind encoder) and weight-only int8 (quantize_weights.py: fp32
#     activations, so a vector never depends on its batch-mates)
#  5. the artifact models/artifacts/be-<task>/: model_int8.onnx (committed), model.onnx
#     (fp32, git-ignored), tokenizer.json, config.json, train_log.jsonl, SHA256SUMS
#
# Environment: DATA, QUARRY, WORK, SYSTEM (ensemble), NAME (be-<task>), EPOCHS (2),
# BATCH (32), NEGATIVES (4), THREADS (2), SEED (13), EVAL_EVERY (100), BENCH_VENV.
set -euo pipefail
TASK=${1:?usage: build.sh TASK (jobbert)}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
source models/recipes/minilm_env.sh
WORK=${WORK:-$HOME_DIR/bi-encoder/$TASK}
SYSTEM=${SYSTEM:-ensemble}
NAME=${NAME:-be-$TASK}
EPOCHS=${EPOCHS:-2}
BATCH=${BATCH:-32}
NEGATIVES=${NEGATIVES:-4}
THREADS=${THREADS:-2}
SEED=${SEED:-13}
EVAL_EVERY=${EVAL_EVERY:-100}
OUT=models/artifacts/$NAME
HERE=models/recipes/bi_encoder

minilm_ready
mkdir -p "$WORK"

echo "== 1. candidates of every $TASK mention ($SYSTEM, top 64)" >&2
QUARRY_SHARED_DATA=$DATA "$QUARRY" --json eval link --task "$TASK" --system "$SYSTEM" \
    --export-groups "$WORK/groups" > "$WORK/generator.json"

echo "== 2. token ids" >&2
"$VPY" $HERE/tokenize_pairs.py --groups "$WORK/groups" --tokenizer "$MINILM/tokenizer.json" \
    --out "$WORK/pairs" --negatives "$NEGATIVES"

echo "== 3. train ($EPOCHS epochs, batch $BATCH, $THREADS threads, seed $SEED)" >&2
OPENBLAS_NUM_THREADS=$THREADS "$TORCH_PY" $HERE/train.py --pairs "$WORK/pairs" --init "$MINILM" \
    --out "$WORK/train" --epochs "$EPOCHS" --batch "$BATCH" --negatives "$NEGATIVES" \
    --threads "$THREADS" --seed "$SEED" --eval-every "$EVAL_EVERY"

echo "== 4. ONNX export, weight-only int8" >&2
mkdir -p "$OUT"
"$VPY" models/recipes/bert_onnx.py --weights "$WORK/train/model.safetensors" \
    --config "$WORK/train/config.json" --kind encoder --out "$OUT/model.onnx"
"$VPY" models/recipes/quantize_weights.py --in "$OUT/model.onnx" --out "$OUT/model_int8.onnx"
cp "$MINILM/tokenizer.json" "$OUT/tokenizer.json"
cp "$WORK/train/config.json" "$OUT/config.json"
cp "$WORK/train/train_log.jsonl" "$OUT/train_log.jsonl"

echo "== 5. checksums" >&2
(cd "$OUT" && sha256sum model_int8.onnx tokenizer.json config.json > SHA256SUMS)
cat "$OUT/SHA256SUMS" >&2
echo "build.sh: done; measure with: $QUARRY eval link --task $TASK --part dev --system ensemble+memory --dense-model $NAME" >&2
