#!/usr/bin/env bash
# Property-based API test of `quarry serve` (issue 10): schemathesis (pinned, from PyPI, in a
# venv under $QUARRY_HOME) generates requests from /openapi.json and checks every answer
# (no 5xx, responses match their schemas, schema-valid requests accepted, invalid ones
# refused). Stops by itself; exit status is schemathesis's.
#
#   scripts/serve_schemathesis.sh [MAX_EXAMPLES=100]     (SEED=N for a reproducible run)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
Q=${QUARRY:-target/release/quarry}
HOME_DIR=${QUARRY_HOME:-$HOME/.cache/quarry}
VENV=$HOME_DIR/schemathesis-venv
[ -x "$Q" ] || { echo "serve_schemathesis.sh: $Q missing (cargo build --release)" >&2; exit 2; }
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==4.32.5"
fi
WORK=$(mktemp -d); trap 'kill $SRV 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
printf '{"id": "d1", "lang": "en", "title": "Liver cyst", "body": "A simple cyst of the liver."}\n' > "$WORK/d.jsonl"
"$Q" --quiet ingest --index "$WORK/idx" "$WORK/d.jsonl" >/dev/null
QUARRY_API_KEYS=st-key "$Q" serve --index "$WORK/idx" --addr 127.0.0.1:0 > "$WORK/serve.out" 2>/dev/null &
SRV=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on http:\/\///p' "$WORK/serve.out")
# run from the work folder: schemathesis writes its cache (.schemathesis/) into the current one
cd "$WORK" && "$VENV/bin/schemathesis" run "http://$ADDR/openapi.json" --checks all -H "Authorization: Bearer st-key" \
  --max-examples "$N" --workers 1 ${SEED:+--seed "$SEED"}
