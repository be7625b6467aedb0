#!/usr/bin/env bash
# Evaluation-harness benchmarks, each against a baseline in the same run on the same input:
#  1. IR metrics over 10,000 queries x 1,000 results: quarry-eval vs pytrec_eval (trec_eval).
#  2. Reading + importing SciFact into SQLite: quarry-eval vs Python json + sqlite3.
# The pinned pytrec_eval venv is created under ${QUARRY_HOME:-~/.cache/quarry}/crosscheck-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR="${QUARRY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/quarry}"
VENV="$HOME_DIR/crosscheck-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pytrec_eval" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r eval/scripts/requirements-crosscheck.txt
fi
cargo build --release -q -p quarry-eval --example bench_metrics --example bench_import
BIN=target/release/examples
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
echo "== IR metrics: 10,000 queries x 1,000 results"
"$BIN/bench_metrics" 10000 1000 3 "$DATA" | tail -2
"$VENV/bin/python" eval/scripts/bench_metrics.py --qrels "$DATA/qrels.txt" --run "$DATA/run.txt"
echo "== SciFact read + SQLite import"
"$BIN/bench_import" ../shared/data/retrieval/scifact train | tail -1
python3 eval/scripts/bench_import.py ../shared/data/retrieval/scifact train
