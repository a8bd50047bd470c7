#!/usr/bin/env bash
# tests/fuzz/run.sh - make fuzz (issue 15): runs each libFuzzer target for
# FUZZ_SECONDS, then keeps what it found that adds coverage.
#
#   FUZZ_SECONDS=180 bash tests/fuzz/run.sh [NAME...]   (default: every
#   build/fuzz/fuzz_* target; make fuzz builds them first)
#
# Each target fuzzes from its committed corpus, tests/fuzz/corpus/NAME
# (read only), writing the inputs it finds to a scratch directory,
# build/fuzz/new-NAME (emptied first). Then `-merge=1` adds to the corpus
# only those scratch inputs that cover something the corpus does not, so
# the corpus grows by coverage, never by mere volume. To keep it modest,
# inputs over FUZZ_MAX_LEN bytes (default 4096, also the fuzzer's
# -max_len) are not merged, and of the inputs a merge adds only the
# FUZZ_MAX_NEW (default 40) smallest are kept. One job, one target at a
# time (FUZZ_RSS_MB, default 2048, per target).
#
# Stops at the first crash, leak or hang: the input is in
# build/fuzz/crash-NAME-*, the log in build/fuzz/NAME.log; what the run
# found before it is still merged. Exits 0 when every target ran clean.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

SECONDS_EACH=${FUZZ_SECONDS:-30}
MAX_LEN=${FUZZ_MAX_LEN:-4096}
MAX_NEW=${FUZZ_MAX_NEW:-40}
RSS_MB=${FUZZ_RSS_MB:-2048}
for v in "$SECONDS_EACH" "$MAX_LEN" "$MAX_NEW" "$RSS_MB"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_SECONDS, FUZZ_MAX_LEN, FUZZ_MAX_NEW and FUZZ_RSS_MB must be whole numbers"; exit 2; }
done

names=("$@")
if ((${#names[@]} == 0)); then
  for b in build/fuzz/fuzz_*; do
    [[ -x $b ]] && names+=("${b##*/fuzz_}")
  done
fi
((${#names[@]})) || { echo "fuzz: no targets in build/fuzz (make fuzz-bins)"; exit 2; }

# the file names in dir, one a line, sorted
listing() { find "$1" -maxdepth 1 -type f -printf '%f\n' | sort; }

for n in "${names[@]}"; do
  bin=build/fuzz/fuzz_$n corpus=tests/fuzz/corpus/$n scratch=build/fuzz/new-$n
  log=build/fuzz/$n.log
  [[ -x $bin ]] || { echo "fuzz: $bin is not built (make fuzz-bins)"; exit 2; }
  mkdir -p "$corpus"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  echo "== fuzz $n for $SECONDS_EACH s"
  "$bin" "$scratch" "$corpus" -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" \
    -rss_limit_mb="$RSS_MB" -timeout=10 -artifact_prefix="build/fuzz/crash-$n-" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tail -3

  # too large to keep: not merged
  find "$scratch" -maxdepth 1 -type f -size +"${MAX_LEN}"c -delete
  before=$(mktemp)
  listing "$corpus" >"$before"
  if "$bin" -merge=1 -max_len="$MAX_LEN" -rss_limit_mb="$RSS_MB" -timeout=10 \
    "$corpus" "$scratch" >>"$log" 2>&1; then
    added=$(listing "$corpus" | comm -13 "$before" -)
    n_added=$(printf '%s' "$added" | grep -c . || true)
    if ((n_added > MAX_NEW)); then
      # keep the smallest MAX_NEW of them
      (cd "$corpus" && printf '%s\n' "$added" | xargs -d '\n' ls -S -r | tail -n +"$((MAX_NEW + 1))" |
        xargs -r -d '\n' rm -f)
      echo "fuzz $n: the merge added $n_added inputs; kept the $MAX_NEW smallest"
      n_added=$MAX_NEW
    fi
    echo "fuzz $n: $(listing "$scratch" | wc -l) inputs found, $n_added added to $corpus" \
      "($(listing "$corpus" | wc -l) files, $(cat "$corpus"/* | wc -c) bytes)"
  else
    echo "fuzz $n: the merge failed (see $log); the corpus is unchanged"
    rc=1
  fi
  rm -f "$before"
  if ((rc != 0)); then
    echo "fuzz $n failed: $log"
    ls build/fuzz/crash-"$n"-* 2>/dev/null
    exit 1
  fi
done
echo "fuzz: ok"
