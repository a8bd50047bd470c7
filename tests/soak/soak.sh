#!/usr/bin/env bash
# tests/soak/soak.sh - make soak (issue 15): a long run at a fixed rate with
# a master and 3 local workers against build/target on 127.0.0.1.
#
# Every minute it prints the RSS of the master and of each worker (VmRSS,
# and RssAnon: its heap and other private memory, which is what a leak
# grows; VmRSS also counts the pages of its binary and libraries, which
# the kernel drops and reads again as memory is needed elsewhere, so on a
# shared machine it can halve and come back with no change in hornet).
# After the warm-up (SOAK_WARMUP_MINUTES, default 1) no process's RssAnon
# may grow by more than SOAK_RSS_GROWTH_KB (default 8192 KiB) over its
# value at the end of the warm-up; at the end hornet's total must equal
# the target's own count. The figures are also in OUT/rss.csv.
#
#   SOAK_MINUTES=30 SOAK_RATE=300 SOAK_RSS_GROWTH_KB=8192 bash tests/soak/soak.sh
#
# SOAK_HORNET / SOAK_TARGET name the binaries (default build/hornet and
# build/target; give copies so a rebuild during a 30-minute run cannot swap
# them) and SOAK_OUT the output directory (default build/soak).
#
# Exits 0 when both hold, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

MINUTES=${SOAK_MINUTES:-30}
RATE=${SOAK_RATE:-300}
GROWTH_KB=${SOAK_RSS_GROWTH_KB:-8192}
WARMUP=${SOAK_WARMUP_MINUTES:-1}
WORKERS=3
OUT=${SOAK_OUT:-build/soak}
HORNET=${SOAK_HORNET:-build/hornet}
TARGET=${SOAK_TARGET:-build/target}
[[ $MINUTES =~ ^[0-9]+$ && $MINUTES -ge 2 ]] ||
  { echo "soak: SOAK_MINUTES must be a whole number >= 2"; exit 2; }
((WARMUP < MINUTES)) || { echo "soak: the warm-up must be shorter than the run"; exit 2; }
[[ -x $HORNET && -x $TARGET ]] || { echo "soak: make build/hornet build/target first"; exit 2; }
rm -rf "$OUT"; mkdir -p "$OUT"

pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

"$TARGET" --bind 127.0.0.1 --port 0 >"$OUT/target.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  grep -q 'listening on' "$OUT/target.log" && break
  sleep 0.1
done
addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$OUT/target.log" | head -1)
[[ -n $addr ]] || { echo "soak: the target did not start"; cat "$OUT/target.log"; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint=tcp://127.0.0.1:$port

"$HORNET" master --headless --url "http://$addr/" --rate "$RATE" -t "${MINUTES}m" \
  --expect-workers "$WORKERS" --start-timeout 30s --bind "$endpoint" \
  --json "$OUT/summary.json" >"$OUT/master.log" 2>&1 &
master=$!
pids+=("$master")
wpids=()
for i in $(seq "$WORKERS"); do
  "$HORNET" worker --master "$endpoint" --threads 1 --id "soak-w$i" \
    >"$OUT/worker-$i.log" 2>&1 &
  wpids+=($!)
  pids+=($!)
done

# "VmRSS RssAnon" of a process in KiB ("0 0" once it is gone)
rss_kb() {
  local r
  r=$(awk '/^VmRSS:/ { v = $2 } /^RssAnon:/ { a = $2 } END { print v + 0, a + 0 }' \
    "/proc/$1/status" 2>/dev/null)
  echo "${r:-0 0}"
}
names=(master)
procs=("$master")
for i in $(seq "$WORKERS"); do names+=("w$i"); procs+=("${wpids[$((i - 1))]}"); done

echo "soak: ${MINUTES} min at $RATE req/s, master + $WORKERS workers, target http://$addr"
echo "soak: RSS in KiB each minute, VmRSS/RssAnon; bound: RssAnon +$GROWTH_KB KiB after minute $WARMUP"
printf '%-6s' min; printf ' %15s' "${names[@]}"; echo
printf 'minute' >"$OUT/rss.csv"
for n in "${names[@]}"; do printf ',%s_rss_kb,%s_anon_kb' "$n" "$n" >>"$OUT/rss.csv"; done
echo >>"$OUT/rss.csv"
declare -A base peak first last
fail=0
start=$(date +%s)
for m in $(seq 0 "$MINUTES"); do
  # minute 0 is sampled 5 s in, when the workers are up and the load runs,
  # and the last minute 5 s before the run ends
  off=$((m * 60))
  ((m == 0)) && off=5
  ((m == MINUTES)) && off=$((m * 60 - 5))
  target_t=$((start + off))
  while (($(date +%s) < target_t)); do
    kill -0 "$master" 2>/dev/null || break 2
    sleep 1
  done
  printf '%-6s' "$m"
  printf '%s' "$m" >>"$OUT/rss.csv"
  for k in "${!procs[@]}"; do
    read -r v r <<<"$(rss_kb "${procs[$k]}")"
    printf ' %15s' "$v/$r"
    printf ',%s,%s' "$v" "$r" >>"$OUT/rss.csv"
    n=${names[$k]}
    ((m == 0)) && first[$n]="$v/$r"
    last[$n]="$v/$r"
    ((m == WARMUP)) && base[$n]=$r
    if ((m > WARMUP)); then
      ((r > ${peak[$n]:-0})) && peak[$n]=$r
    fi
  done
  echo
  echo >>"$OUT/rss.csv"
done

wait "$master"
mrc=$?
for p in "${wpids[@]}"; do kill "$p" 2>/dev/null; done
echo "soak: master exited $mrc"
((mrc == 0)) || { fail=1; tail -20 "$OUT/master.log"; }

for n in "${names[@]}"; do
  b=${base[$n]:-0} p=${peak[$n]:-0}
  g=$((p > b ? p - b : 0))
  printf 'soak: %-6s RssAnon %6d KiB after warm-up, peak %6d KiB later: +%d KiB (VmRSS/RssAnon first %s, last %s)' \
    "$n" "$b" "$p" "$g" "${first[$n]:-?}" "${last[$n]:-?}"
  if ((b == 0 || g > GROWTH_KB)); then echo " FAIL"; fail=1; else echo " ok"; fi
done

served=$(curl -s --max-time 5 "http://$addr/__counts" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])' 2>/dev/null)
counted=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"])' \
  "$OUT/summary.json" 2>/dev/null)
expected=$((RATE * MINUTES * 60))
echo "soak: hornet counted ${counted:-?} requests, the target served ${served:-?} (asked: $expected)"
if [[ -z $counted || $counted != "$served" ]]; then
  echo "soak: FAIL: totals differ"; fail=1
fi
((fail == 0)) && echo "soak: ok" || echo "soak: FAILED"
exit "$fail"
