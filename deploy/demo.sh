#!/usr/bin/env bash
# make demo: start the stand-in target on 127.0.0.1, run a ~30 s hornet
# test against it with the live progress display, end with the results.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DEMO_DURATION:-30s}

log=$(mktemp)
build/target --port 0 >"$log" 2>&1 &
target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do
  grep -q 'listening on' "$log" && break
  sleep 0.1
done
addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$log" | head -1)
[[ -n "$addr" ]] || { echo "demo: the target did not start"; cat "$log"; exit 1; }
echo "demo: stand-in target on http://$addr"
# The UI's usual port, or the next free one when something holds it.
web_port() {
  python3 - <<'PY'
import socket
for p in range(8089, 8190):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        print(p)
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}
WEB=${HORNET_DEMO_WEB:-127.0.0.1:$(web_port)}
echo "demo: hornet run examples/demo.yaml --host http://$addr -t $DURATION --web $WEB"
echo "demo: live web UI while it runs: http://$WEB/"
echo
rc=0
build/hornet run examples/demo.yaml --host "http://$addr" -t "$DURATION" \
  --out build/demo --web "$WEB" || rc=$?
echo
served=$(curl -s "http://$addr/__counts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
counted=$(python3 -c 'import json; print(json.load(open("build/demo/summary.json"))["requests"])')
if [[ "$served" == "$counted" ]]; then
  echo "demo: hornet counted $counted requests and the target says it served $served: the same."
else
  echo "demo: hornet counted $counted requests but the target served $served."
  rc=1
fi
echo "demo: results in build/demo/ (summary.json, Locust CSVs, report.html; hornet report build/demo)"
exit "$rc"
