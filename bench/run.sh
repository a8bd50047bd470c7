#!/usr/bin/env bash
# make bench: measurements, not tests. Nothing here passes or fails.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== latency histogram (common/hist.c)"
build/bench/bench_hist
echo
echo "== throughput: hornet vs wrk, hey, Locust (FastHttpUser)"
python3 bench/run.py "$@"
