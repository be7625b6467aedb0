#!/usr/bin/env python3
"""Cost of the write-ahead log (issue 10): two servers over two copies of the same index, one
with the log and one with `--no-wal`, get the same batches of SciFact documents in turn
(interleaved, so machine noise hits both alike); reports docs/s of each and the ratio, for
`?wait=true` (accepted and committed) and for plain 202 answers (the answer's latency only:
each job is let finish before the next batch).

    python3 scripts/serve_wal_cost.py [--batches 60] [--size 20] [--quarry target/release/quarry]

Needs ../shared/data (or QUARRY_SHARED_DATA). Standard library only; stops by itself.
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

KEY = "wal-cost-key"


def start(quarry, index, extra):
    env = dict(os.environ, QUARRY_API_KEYS=KEY)
    p = subprocess.Popen([quarry, "serve", "--index", index, "--addr", "127.0.0.1:0"] + extra, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    assert line.startswith("listening on http://"), line
    return p, line.split("http://", 1)[1]


def post(addr, docs, wait):
    """Posts a batch; a full queue (429) is retried after a short pause, as a client would."""
    body = json.dumps({"documents": docs}).encode()
    while True:
        req = urllib.request.Request(f"http://{addr}/v1/documents" + ("?wait=true" if wait else ""), data=body,
                                     headers={"content-type": "application/json", "authorization": f"Bearer {KEY}"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                v = json.loads(r.read())
                assert r.status in (200, 202), v
                return v
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise
            time.sleep(0.05)


def get(addr, path):
    with urllib.request.urlopen(f"http://{addr}{path}", timeout=60) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--size", type=int, default=20)
    ap.add_argument("--quarry", default="target/release/quarry")
    a = ap.parse_args()
    data = os.environ.get("QUARRY_SHARED_DATA", "../shared/data")
    corpus = [json.loads(l) for l in open(os.path.join(data, "retrieval/scifact/corpus.jsonl"), encoding="utf-8")]
    tmp = tempfile.mkdtemp(prefix="quarry-walcost-")
    seed = os.path.join(tmp, "seed.jsonl")
    open(seed, "w").write('{"id": "seed", "body": "seed"}\n')
    for name in ("wal", "nowal"):
        subprocess.run([a.quarry, "--quiet", "ingest", "--index", os.path.join(tmp, name), seed], check=True,
                       stdout=subprocess.DEVNULL)
    servers = {"wal": start(a.quarry, os.path.join(tmp, "wal"), []),
               "nowal": start(a.quarry, os.path.join(tmp, "nowal"), ["--no-wal"])}
    try:
        for wait in (True, False):
            spent = {"wal": 0.0, "nowal": 0.0}
            for b in range(a.batches):
                part = corpus[(b * a.size) % len(corpus):][:a.size]
                for name in (("wal", "nowal") if b % 2 == 0 else ("nowal", "wal")):
                    docs = [{"id": f"{'w' if wait else 'a'}{b}-{d['_id']}", "title": d.get("title", ""), "body": d.get("text", "")} for d in part]
                    t = time.perf_counter()
                    v = post(servers[name][1], docs, wait)
                    spent[name] += time.perf_counter() - t
                    if not wait:
                        # only the answer is timed; the job finishes before the next batch,
                        # so neither queue fills and no 429 retry enters the figure
                        job = v["job_id"]
                        while get(servers[name][1], f"/v1/jobs/{job}")["state"] not in ("committed", "failed"):
                            time.sleep(0.01)
            n = a.batches * a.size
            rate = {k: n / v for k, v in spent.items()}
            label = "wait=true (committed)" if wait else "202 (accepted)"
            print(f"| {label} | {rate['nowal']:.1f} | {rate['wal']:.1f} | {rate['wal'] / rate['nowal']:.2f}x |", flush=True)
            # let the 202 jobs finish before the next round
            time.sleep(1)
    finally:
        for p, _ in servers.values():
            p.terminate()
            p.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
