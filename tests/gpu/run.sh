#!/usr/bin/env bash
# Builds the CUDA backend and its GPU tests from the project, the CUDA toolkit and the
# carry directory alone (tests/gpu/pack.sh), then on a GPU runs: the kernel tests, the
# greedy end-to-end comparison with the CPU backend, prefill logits against the CPU
# backend (1, 7, 128, 1000 tokens; chunked; mixed steps), batch invariance through the
# engine, and the timing tables (prefill tok/s, TTFT, mat-vec/cuBLASLt crossover, decode
# tok/s by batch, mat-vec bandwidth per weight) on a SmolLM3-3B-shape model that
# smollm-synth generates on the host (the device takes no model files).
#   tests/gpu/run.sh [--build-only | --from-bundle]
#        env: BUILD (build-gpu), CARRY (build-gpu-carry), CUDA_ARCHS ("80;90"),
#             BUNDLE (build-gpu-bundle)
# --build-only (or a host without a GPU) stops after the build and the dependency check.
# --from-bundle skips the build: it unpacks what tests/gpu/bundle.sh made on another
# machine (the carry and the stripped test binaries, compressed), which spares a GPU
# host's time the build (about 40 s on 16 cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
build="${BUILD:-$root/build-gpu}"
carry="${CARRY:-$root/build-gpu-carry}"
build_only=0 from_bundle=0
[[ "${1:-}" == "--build-only" ]] && build_only=1
[[ "${1:-}" == "--from-bundle" ]] && from_bundle=1
start=$SECONDS

if (( from_bundle )); then
  bundle="${BUNDLE:-$root/build-gpu-bundle}"
  [[ -f "$bundle/carry.tar.xz" && -f "$bundle/bins.tar.xz" ]] ||
    { echo "no bundle in $bundle: run tests/gpu/bundle.sh first"; exit 2; }
  mkdir -p "$carry" "$build"
  tar -xJf "$bundle/carry.tar.xz" -C "$carry"
  tar -xJf "$bundle/bins.tar.xz" -C "$build"
  echo "unpacked $bundle: $((SECONDS - start)) s"
else
  [[ -d "$carry/usr/include/absl" ]] ||
    { echo "no Abseil in $carry: run tests/gpu/pack.sh first"; exit 2; }
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # The carry directory comes first on every search path; the dependency scan below
  # proves no system Abseil header was read.
  cmake -S tests/gpu/standalone -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-80;90}" -DCMAKE_PREFIX_PATH="$carry/usr" \
    -Dabsl_DIR="$carry/usr/lib/x86_64-linux-gnu/cmake/absl" \
    > "$build.configure.log" || { cat "$build.configure.log"; exit 1; }
  cmake --build "$build" -j "${JOBS:-$(nproc)}" \
    --target gpu_kernels_test gpu_decode_test gpu_decode_bench gpu_prefill_test \
             gpu_prefill_bench gpu_engine_test smollm-synth
  # No header of a system Abseil may have been read.
  system_headers='/usr/include/(absl|oneapi)'
  if grep -rlE --include='*.d' "$system_headers" "$build" >/dev/null 2>&1 ||
     { [[ -f "$build/build.ninja" ]] &&
       ninja -C "$build" -t deps | grep -qE "^ *$system_headers"; }; then
    echo "FAIL: the build read a system Abseil or oneDNN header instead of $carry"; exit 1
  fi
  echo "build: $((SECONDS - start)) s, Abseil from $carry only"
fi
# The server needs gRPC and protobuf, which the GPU host lacks: the standalone build
# leaves the service out (SMOLLM_WITH_SERVICE OFF), and the end-to-end run takes the
# smollm-server that tests/gpu/pack.sh carries when given SERVER_BUILD.
server="$carry/server/smollm-server"
[[ -x "$server" ]] || echo "SKIPPED the end-to-end server run: no $server" \
  "(tests/gpu/pack.sh with SERVER_BUILD carries one)"

# The toolkit's runtime too: binaries from a bundle were linked on another machine.
export LD_LIBRARY_PATH="$carry/usr/lib/x86_64-linux-gnu:${CUDA_HOME:-/usr/local/cuda}/lib64\
${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if (( build_only )) || ! nvidia-smi >/dev/null 2>&1; then
  reason=$( ((build_only)) && echo "--build-only" || echo "no GPU visible (nvidia-smi failed)")
  echo "SKIPPED the device runs: $reason."
  echo "GPU verification is still owed."
  exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
synth="$build/smollm/runtime/tools/smollm-synth"
models="$build/models"
mkdir -p "$models"
[[ -f "$models/smollm3-3b.gguf" ]] ||
  "$synth" --shape smollm3-3b --weights blocks --out "$models/smollm3-3b.gguf"
[[ -f "$models/small.gguf" ]] ||
  "$synth" --arch smollm3 --layers 6 --d-model 512 --d-ffn 1536 --heads 8 --kv-heads 2 \
    --vocab 3000 --weights quantize --seed 7 --out "$models/small.gguf"
status=0
timeout 120 "$build/gpu/gpu_kernels_test" || status=1
timeout 120 "$build/gpu/gpu_decode_test" tests/fixtures/decoder/smollm3_tiny_q4_k_m.gguf \
  "$models/small.gguf" || status=1
timeout 300 "$build/gpu/gpu_prefill_test" tests/fixtures/decoder/smollm3_tiny_q4_k_m.gguf \
  "$models/small.gguf" || status=1
timeout 120 "$build/gpu/gpu_engine_test" "$models/small.gguf" || status=1
timeout 180 "$build/gpu/gpu_prefill_bench" "$models/smollm3-3b.gguf" || status=1
timeout 120 "$build/gpu/gpu_decode_bench" "$models/smollm3-3b.gguf" || status=1
if [[ -x "$server" ]]; then
  # The Python client's end-to-end suite against smollm-server on the GPU.
  LD_LIBRARY_PATH="$carry/server/lib:$LD_LIBRARY_PATH" SMOLLM_PY_STUBS="$carry/server/python" \
    timeout 300 python3 tests/e2e/python/e2e_test.py --server "$server" \
      --model "$models/small.gguf" --repo "$root" --server_flag=--device=cuda || status=1
fi
echo "tests/gpu/run.sh: $( ((status)) && echo FAIL || echo PASS) in $((SECONDS - start)) s"
exit $status
