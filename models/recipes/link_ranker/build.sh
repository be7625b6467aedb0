#!/usr/bin/env bash
# Train the cross-encoder that ranks a linking task's candidates, end to end:
#
#   apt-get install -y python3-torch libopenblas0-pthread   # Debian's CPU PyTorch 1.13 + BLAS
#   cargo build --release --bin quarry && target/release/quarry models fetch
#   models/recipes/link_ranker/build.sh jobbert             # ~1 h on 2 cores
#
# Steps (work files under $WORK, default $QUARRY_HOME/link-ranker/<task>):
#  1. candidates: `quarry eval link --task T --system $SYSTEM --export-groups` over the whole
#     training file: each mention's top 64 concepts; gold concepts are the positives, the
#     other candidates the hard negatives; mentions split fit / dev by the dev-part rule
#     (the part `quarry eval link --part dev` measures)
#  2. Chinese tasks (chip-cdn, procedures): extend_vocab.py gives the MiniLM vocabulary the
#     task's characters (new embedding rows, seeded random, frozen unless TRAIN_EMBEDDINGS=1);
#     tokenize_groups.py: wordpiece ids, a seeded sample of $DEV_LIMIT dev mentions for
#     model selection
#  3. the cross-encoder recipe's train.py: listwise loss over [positive + 7 negatives]
#     from the all-MiniLM-L6-v2 weights, dev-selected every $EVAL_EVERY steps
#  4. ONNX (bert_onnx.py --kind cross-encoder) and int8 (quantize_ce.py)
#  5. the artifact models/artifacts/ce-link-<task>/: model_int8.onnx (committed),
#     model.onnx (fp32, git-ignored), tokenizer.json, config.json, train log, SHA256SUMS
#
# Environment: DATA (../shared/data), QUARRY (target/release/quarry), WORK, SYSTEM (ensemble
# for jobbert, ngram otherwise; with +memory the candidates are cross-fitted: each fold of
# the fit part is linked with the other folds' training mentions as memory), NAME (the
# artifact, ce-link-<task>), EPOCHS (1), THREADS (2), SEED (13), DEV_LIMIT (800),
# EVAL_EVERY (1000), MAX_STEPS (0: every step of EPOCHS; the schedule spans EPOCHS either
# way), RANK_REG (0: off; xMEN's rank regularization weight), BENCH_VENV.
set -euo pipefail
TASK=${1:?usage: build.sh TASK (jobbert | procedures | chip-cdn)}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
source models/recipes/minilm_env.sh
WORK=${WORK:-$HOME_DIR/link-ranker/$TASK}
case "$TASK" in jobbert) DEFAULT_SYSTEM=ensemble ;; *) DEFAULT_SYSTEM=ngram ;; esac
SYSTEM=${SYSTEM:-$DEFAULT_SYSTEM}
EPOCHS=${EPOCHS:-1}
THREADS=${THREADS:-2}
SEED=${SEED:-13}
DEV_LIMIT=${DEV_LIMIT:-800}
EVAL_EVERY=${EVAL_EVERY:-1000}
RANK_REG=${RANK_REG:-0}
MAX_STEPS=${MAX_STEPS:-0}
NAME=${NAME:-ce-link-$TASK}
OUT=models/artifacts/$NAME
CE=models/recipes/cross_encoder

minilm_ready
mkdir -p "$WORK"

echo "== 1. candidates of every $TASK mention ($SYSTEM, top 64)" >&2
QUARRY_SHARED_DATA=$DATA "$QUARRY" --json eval link --task "$TASK" --system "$SYSTEM" \
    --export-groups "$WORK/groups" > "$WORK/generator.json"

echo "== 2. vocabulary and token ids" >&2
EMB=()
if [[ "$TASK" == jobbert ]]; then
    mkdir -p "$WORK/init"
    ln -sf "$MINILM/model.safetensors" "$WORK/init/model.safetensors"
    cp "$MINILM/config.json" "$MINILM/tokenizer.json" "$WORK/init/"
else
    "$VPY" models/recipes/link_ranker/extend_vocab.py --init "$MINILM" --groups "$WORK/groups" \
        --out "$WORK/init" --seed "$SEED"
    # the new rows stay frozen unless TRAIN_EMBEDDINGS=1: training the whole table made a
    # step about 4.5x slower on two cores, and frozen random rows already give every
    # character a distinct vector, which is what matching a mention against a name needs
    if [[ "${TRAIN_EMBEDDINGS:-0}" == 1 ]]; then EMB=(--train-embeddings); fi
fi
"$VPY" models/recipes/link_ranker/tokenize_groups.py --groups "$WORK/groups" \
    --tokenizer "$WORK/init/tokenizer.json" --out "$WORK/pairs" --dev-limit "$DEV_LIMIT" --seed "$SEED"

echo "== 3. train ($EPOCHS epochs, $THREADS threads, seed $SEED, rank-reg $RANK_REG)" >&2
OPENBLAS_NUM_THREADS=$THREADS "$TORCH_PY" $CE/train.py --pairs "$WORK/pairs" --init "$WORK/init" \
    --out "$WORK/train" --epochs "$EPOCHS" --threads "$THREADS" --seed "$SEED" \
    --max-length 64 --max-query 32 --eval-every "$EVAL_EVERY" --rank-reg "$RANK_REG" --max-steps "$MAX_STEPS" "${EMB[@]}"

echo "== 4. ONNX export, int8" >&2
mkdir -p "$OUT"
"$VPY" models/recipes/bert_onnx.py --weights "$WORK/train/model.safetensors" \
    --config "$WORK/train/config.json" --kind cross-encoder --out "$OUT/model.onnx"
"$VPY" $CE/quantize_ce.py --in "$OUT/model.onnx" --out "$OUT/model_int8.onnx"
cp "$WORK/init/tokenizer.json" "$OUT/tokenizer.json"
cp "$WORK/train/config.json" "$OUT/config.json"
cp "$WORK/train/train_log.jsonl" "$OUT/train_log.jsonl"

echo "== 5. checksums" >&2
(cd "$OUT" && sha256sum model_int8.onnx tokenizer.json config.json > SHA256SUMS)
cat "$OUT/SHA256SUMS" >&2
echo "build.sh: done; measure with: $QUARRY eval link --task $TASK --part dev --system $SYSTEM --rerank $NAME" >&2
