#!/usr/bin/env bash
# Runs every test: cmocka unit tests (normal and ASan+UBSan builds) and the
# integration tests (real processes, a real HTTP target on 127.0.0.1).
# Ends with one line "N passed, N failed"; exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

passed=0
failed=0
failed_names=()

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)".
run_cmocka() {
  local label=$1 bin=$2 out rc p f
  out=$("$bin" 2>&1); rc=$?
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' <<<"$out" | awk '{s+=$4} END {print s+0}')
  f=$(grep -oE '^\[  FAILED  \] [0-9]+' <<<"$out" | awk '{s+=$4} END {print s+0}')
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi   # crashed or sanitizer abort
  passed=$((passed + p)); failed=$((failed + f))
  if [[ $f -ne 0 ]]; then
    failed_names+=("$label")
    echo "$out" | tail -40
  fi
  printf '%-34s %4d passed, %d failed\n' "$label" "$p" "$f"
}

echo "== unit tests"
for b in build/tests/test_*; do run_cmocka "unit/$(basename "$b")" "$b"; done
echo "== unit tests under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
for b in build/asan/tests/test_*; do run_cmocka "asan/$(basename "$b")" "$b"; done
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== fuzz targets over their corpora (clang, ASan+UBSan; make fuzz runs them)"
if make --no-print-directory fuzz-bins >build/fuzz.log 2>&1; then
  fp=0; ff=0
  for b in build/fuzz/fuzz_*; do
    n=${b##*/fuzz_}
    if out=$(timeout 60 "$b" -runs=0 "tests/fuzz/corpus/$n" 2>&1); then
      fp=$((fp + 1))
    else
      ff=$((ff + 1)); failed_names+=("fuzz/$n"); echo "$out" | tail -30
    fi
  done
else
  fp=0; ff=1; failed_names+=("fuzz-build"); tail -20 build/fuzz.log
fi
passed=$((passed + fp)); failed=$((failed + ff))
printf '%-34s %4d passed, %d failed\n' "fuzz" "$fp" "$ff"

echo "== style check"
if bash tests/check-style.sh; then
  passed=$((passed + 1)); echo "style                               1 passed, 0 failed"
else
  failed=$((failed + 1)); failed_names+=("style")
fi

echo "== web UI tests (node --test)"
out=$(node --test tests/webui/ 2>&1); rc=$?
p=$(grep -oE '^# pass [0-9]+' <<<"$out" | awk '{print $3}'); p=${p:-0}
f=$(grep -oE '^# fail [0-9]+' <<<"$out" | awk '{print $3}'); f=${f:-0}
if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))
if [[ $f -ne 0 ]]; then failed_names+=("webui"); echo "$out" | tail -40; fi
printf '%-34s %4d passed, %d failed\n' "webui" "$p" "$f"

echo "== integration tests (each on both engines where it sends traffic, 4 at a time)"
mkdir -p build
# the last run's times order this one (longest first); tee would empty it
[[ -f build/integration.log ]] && mv build/integration.log build/integration.last.log
python3 tests/integration/run.py 2>&1 | tee build/integration.log
rc=${PIPESTATUS[0]}
out=$(cat build/integration.log)
line=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
if [[ -n "$line" ]]; then
  p=$(awk '{print $2}' <<<"$line"); f=$(awk '{print $4}' <<<"$line")
else
  p=0; f=1
fi
if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))
((f > 0)) && failed_names+=("integration")

echo "== fleet test (network namespaces, the systemd units; root only) and deploy checks"
for t in fleet deploy; do
  script=tests/fleet/run.py
  [[ $t == deploy ]] && script=tests/fleet/deploy_check.py
  python3 "$script" 2>&1 | tee "build/$t.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E "^$t: [0-9]+ passed, [0-9]+ failed" "build/$t.log" | tail -1)
  if [[ -n $line ]]; then
    p=$(awk '{print $2}' <<<"$line"); f=$(awk '{print $4}' <<<"$line")
  else
    p=0; f=1
  fi
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  ((f > 0)) && failed_names+=("$t")
done

echo
((${#failed_names[@]})) && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
