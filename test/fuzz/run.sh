#!/usr/bin/env bash
# Builds plantd's libFuzzer targets with clang into build-fuzz/ (a build
# directory of its own, see test/fuzz/CMakeLists.txt) and runs each one for
# FUZZ_SECONDS (default 60) on a copy of its committed seed corpus
# (test/fuzz/corpus/NAME/ never grows) plus the inputs that once crashed it
# (test/fuzz/crashes/NAME-*). Prints executions per second per
# target and writes them to build-fuzz/fuzz.json:
#   {"formula": {"execs_per_s": N, "seconds": S, "crashed": false}, ...}
# A crash, leak, timeout or out-of-memory leaves its input under
# build-fuzz/artifacts/NAME/ and the log under build-fuzz/logs/NAME.log; the
# script then exits 1 (after running the other targets).
#
#   FUZZ_SECONDS=10 bash test/fuzz/run.sh          # CI: a short pass
#   FUZZ_TARGETS="formula chunk" bash test/fuzz/run.sh
#   build-fuzz/bin/chunk_fuzz test/fuzz/crashes/x  # replay one input
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
targets=${FUZZ_TARGETS:-"formula config point_table chunk device entries"}

cxx=${FUZZ_CXX:-}
if [ -z "$cxx" ]; then
  for c in clang++-14 clang++; do
    if command -v "$c" >/dev/null; then cxx=$c; break; fi
  done
fi
[ -n "$cxx" ] || { echo "fuzz: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$out/CMakeCache.txt" ]; then
  cmake -S "$root/test/fuzz" -B "$out" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
build_targets=()
for t in $targets; do build_targets+=("${t}_fuzz"); done
cmake --build "$out" -j "$jobs" --target "${build_targets[@]}"

dict() {  # the dictionary of a target, if it has one
  local f="$root/test/fuzz/$1.dict"
  [ -f "$f" ] && echo "-dict=$f"
  return 0
}

mkdir -p "$out/logs"
failed=()
json="{"
for t in $targets; do
  work="$out/corpus/$t"
  rm -rf "$work"
  mkdir -p "$work" "$out/artifacts/$t"
  cp -r "$root/test/fuzz/corpus/$t/." "$work/"
  # Inputs that once crashed (test/fuzz/crashes/NAME-*) are replayed as seeds.
  find "$root/test/fuzz/crashes" -maxdepth 1 -name "$t-*" -exec cp {} "$work/" \;
  log="$out/logs/$t.log"
  start=$(date +%s.%N)
  set +e
  # Inputs up to the largest seed (the config examples: 12 KB), 4 KB at least.
  "$out/bin/${t}_fuzz" "$work" $(dict "$t") \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  crashed=false
  if [ "$rc" -ne 0 ]; then
    crashed=true
    failed+=("$t")
  fi
  printf 'fuzz %-12s %8s execs/s  %10s execs  %6ss  %s\n' "$t" "${rate:-?}" "${execs:-?}" \
    "$elapsed" "$([ "$crashed" = true ] && echo "CRASH: see $log" || echo ok)"
  [ "$json" = "{" ] || json+=", "
  json+="\"$t\": {\"execs_per_s\": ${rate:-0}, \"execs\": ${execs:-0}, \"seconds\": $elapsed, \"crashed\": $crashed}"
done
json+="}"
echo "$json" >"$out/fuzz.json"
echo "fuzz: results in $out/fuzz.json"

if [ ${#failed[@]} -ne 0 ]; then
  for t in "${failed[@]}"; do
    echo "---- $t: $out/logs/$t.log" >&2
    grep -m1 -A25 -E '^==[0-9]+==ERROR|runtime error|^ALARM|out-of-memory|deadly signal' \
      "$out/logs/$t.log" >&2 || tail -30 "$out/logs/$t.log" >&2
    ls "$out/artifacts/$t" >&2
  done
  exit 1
fi
