# Sourced (from the repository root) by the recipes that fine-tune all-MiniLM-L6-v2
# (cross_encoder/build.sh, link_ranker/build.sh): the shared locations and the checks that
# stop a build early with a message saying what to install.
#
# Sets HOME_DIR, DATA, QUARRY, BENCH_VENV, VPY, TORCH_PY and die(); minilm_ready then
# checks the quarry binary and Debian's torch, fetches the MiniLM weights when missing,
# builds the venv of models/requirements-dev.txt when needed, and sets MINILM.
HOME_DIR=${QUARRY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/quarry}
DATA=${DATA:-${QUARRY_SHARED_DATA:-../shared/data}}
QUARRY=${QUARRY:-${CARGO_TARGET_DIR:-target}/release/quarry}
BENCH_VENV=${BENCH_VENV:-$HOME_DIR/bench-venv}
VPY=$BENCH_VENV/bin/python
TORCH_PY=${TORCH_PY:-/usr/bin/python3}

die() { echo "build.sh: error: $*" >&2; exit 1; }

minilm_ready() {
    [[ -x "$QUARRY" ]] || die "no quarry binary at $QUARRY (cargo build --release --bin quarry)"
    "$TORCH_PY" -c 'import torch' 2>/dev/null || die "$TORCH_PY has no torch: apt-get install -y python3-torch libopenblas0-pthread"
    MINILM=$HOME_DIR/models/all-minilm-l6-v2
    [[ -f "$MINILM/model.safetensors" ]] || "$QUARRY" models fetch --model all-minilm-l6-v2
    if [[ ! -x "$VPY" ]] || ! "$VPY" -c 'import tokenizers, onnxruntime, onnx, safetensors' 2>/dev/null; then
        python3 -m venv "$BENCH_VENV" && "$VPY" -m pip install -q -r models/requirements-dev.txt \
            || die "could not build $BENCH_VENV from models/requirements-dev.txt"
    fi
}
