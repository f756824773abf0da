#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build/fuzz and runs each for a time
# budget over its seed corpus; fails when any target crashes, leaks, times out or runs out
# of memory. A failing input is copied into tests/fuzz/regressions/<target>/ (commit it
# with the fix: every run replays those first, and gguf_attack_test loads the GGUF ones).
#   tests/fuzz/run.sh [seconds_per_target]     default 30
# Environment: SMOLLM_FUZZ_TARGETS (space-separated subset), SMOLLM_JOBS (build jobs),
# SMOLLM_FUZZ_BUILD (build directory, default build/fuzz),
# SMOLLM_TEST_MODEL (a GGUF whose vocabulary the tokenizer target uses; else a fixture).
# Needs clang and libclang-rt-14-dev (libFuzzer) besides the main build's packages.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
seconds=${1:-30}
jobs=${SMOLLM_JOBS:-$(nproc)}
targets=${SMOLLM_FUZZ_TARGETS:-"gguf_fuzzer tokenizer_fuzzer chat_template_fuzzer request_fuzzer"}
build=${SMOLLM_FUZZ_BUILD:-build/fuzz}

echo "== fuzz build ($build)"
build_start=$SECONDS
cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ >/dev/null
# shellcheck disable=SC2086  # the target list is meant to split
cmake --build "$build" -j "$jobs" --target $targets
echo "fuzz build took $((SECONDS - build_start)) s"

# Seed corpora per target; the first directory of a run is a scratch copy that libFuzzer
# may grow, the checked-in ones are only read.
seeds_for() {
  local t=$1
  local dirs=("tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t")
  [[ $t == gguf_fuzzer ]] && dirs+=(tests/fixtures/gguf/attacks tests/fixtures/gguf/malformed)
  local d
  for d in "${dirs[@]}"; do
    if [[ -d $d ]]; then echo "$d"; fi
  done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rows=()
failed=()
for t in $targets; do
  work=$build/corpus/$t
  artifacts=$build/artifacts/$t
  log=$build/logs/$t.log
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  rm -f "$artifacts"/*
  mapfile -t seeds < <(seeds_for "$t")
  echo "== $t: ${seconds}s over ${seeds[*]}"
  start=$(date +%s.%N)
  rc=0
  "$build/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "${seeds[@]}" \
    >"$log" 2>&1 || rc=$?
  elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$artifacts" -type f | wc -l)
  if ((rc != 0)) && ((crashes == 0)); then crashes=1; fi  # e.g. a failed start
  rows+=("$(printf '%-22s %12s %8s %8s' "$t" "${execs:-?}" "$elapsed" "$crashes")")
  if ((crashes > 0)); then
    failed+=("$t")
    tail -40 "$log" >&2
    for f in "$artifacts"/*; do
      [[ -f $f ]] || continue
      mkdir -p "tests/fuzz/regressions/$t"
      cp "$f" "tests/fuzz/regressions/$t/"
      echo "$t: failing input saved as tests/fuzz/regressions/$t/$(basename "$f");" \
        "reproduce with $build/$t $f" >&2
    done
  fi
done

echo "== fuzz results"
printf '%-22s %12s %8s %8s\n' target executions seconds crashes
printf '%s\n' "${rows[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz targets failed: ${failed[*]} (logs in $build/logs)" >&2
  exit 1
fi
echo "fuzz: all ${#rows[@]} targets ran clean"
