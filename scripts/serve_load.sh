#!/usr/bin/env bash
# Load test of `quarry serve` (issue 10): 64 concurrent search clients on loopback over the
# SciFact corpus, per mode, then the same while ingestion runs; reports QPS, p50/p99 latency,
# non-2xx answers and the server's peak RSS. Stops by itself.
#
#   scripts/serve_load.sh [DURATION_S=60] [CONNECTIONS=64] [MODES="bm25"]
#
# Needs wrk (Debian: apt-get install wrk) and a release build (cargo build --release).
# MODES may add "sparse hybrid": the corpus is then ingested with --sparse (slower).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-60}; CONN=${2:-64}; MODES=${3:-bm25}
Q=${QUARRY:-target/release/quarry}
DATA=${QUARRY_SHARED_DATA:-../shared/data}/retrieval/scifact
command -v wrk >/dev/null || { echo "serve_load.sh: wrk missing (apt-get install wrk)" >&2; exit 2; }
[ -x "$Q" ] || { echo "serve_load.sh: $Q missing (cargo build --release)" >&2; exit 2; }
[ -f "$DATA/corpus.jsonl" ] || { echo "serve_load.sh: $DATA/corpus.jsonl missing (set QUARRY_SHARED_DATA)" >&2; exit 2; }
WORK=$(mktemp -d); trap 'kill $ING $SRV 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
SRV=""; ING=""
SPARSE=""; [[ "$MODES" == *sparse* || "$MODES" == *hybrid* ]] && SPARSE="--sparse"
"$Q" --quiet ingest --index "$WORK/idx" $SPARSE "$DATA/corpus.jsonl" >/dev/null
python3 - "$DATA/queries.jsonl" "$WORK/queries.lua" <<'PY'
import json, sys
qs = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()][:500]
with open(sys.argv[2], "w") as f:
    # one JSON body per query, as Lua long strings; __MODE__ is replaced per run
    f.write("bodies = {" + ",".join("[==[" + json.dumps({"query": q, "k": 10, "mode": "__MODE__"}) + "]==]" for q in qs) + "}\n")
PY
cat > "$WORK/search.lua" <<LUA
dofile("$WORK/queries.lua")
local mode = os.getenv("MODE")
local i = 0
request = function()
  i = i + 1
  local body = bodies[(i % #bodies) + 1]:gsub("__MODE__", mode)
  return wrk.format("POST", "/v1/search", {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d timeouts=%d qps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
LUA
QUARRY_API_KEYS=load-key "$Q" serve --index "$WORK/idx" --addr 127.0.0.1:0 > "$WORK/serve.out" 2>"$WORK/serve.err" &
SRV=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on http:\/\///p' "$WORK/serve.out")
rss() { awk '/VmHWM/ {print $2 " kB"}' /proc/$SRV/status; }
run() {  # run LABEL MODE
  local out; out=$(MODE=$2 wrk -t2 -c"$CONN" -d"${DUR}s" --timeout 10s -s "$WORK/search.lua" "http://$ADDR" | grep RESULT)
  echo "| $1 | $2 | ${out#RESULT } | peak RSS $(rss) |"
}
echo "| load | mode | figures | memory |"
echo "|---|---|---|---|"
for m in $MODES; do run "search only" "$m"; done
# ingestion running: batches of 20 documents posted back to back, each waiting for its commit
python3 - "$ADDR" "$DATA/corpus.jsonl" > "$WORK/ingest.out" <<'PY' &
import itertools, json, sys, time, urllib.request
addr, path = sys.argv[1], sys.argv[2]
docs = [json.loads(l) for l in open(path, encoding="utf-8")]
n, failed, t0 = 0, 0, time.time()
for rnd in itertools.count():  # until killed: the corpus again and again under new ids
    for s in range(0, len(docs), 20):
        batch = [{"id": f"load{rnd}-{d['_id']}", "title": d.get("title", ""), "body": d.get("text", "")} for d in docs[s:s + 20]]
        req = urllib.request.Request(f"http://{addr}/v1/documents?wait=true", data=json.dumps({"documents": batch}).encode(),
                                     headers={"content-type": "application/json", "authorization": "Bearer load-key"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                v = json.loads(r.read())
                if v.get("state") == "committed":
                    n += len(batch)
                else:
                    failed += 1
                    print("ingest error:", v.get("errors"), flush=True)
        except Exception as e:
            failed += 1
            print("ingest error:", e, flush=True)
        print(f"committed {n} docs in {time.time() - t0:.1f}s ({n / max(1e-9, time.time() - t0):.1f} docs/s)", flush=True)
PY
ING=$!
for m in $MODES; do run "search + ingestion" "$m"; done
kill $ING 2>/dev/null || true
echo "ingestion during the load: $(tail -1 "$WORK/ingest.out")"
echo "ingestion errors: $(grep -c "ingest error" "$WORK/ingest.out" || true)"
