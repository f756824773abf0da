#!/usr/bin/env bash
# Builds tests/gpu's programs here (tests/gpu/run.sh --build-only: the CUDA toolkit and
# the carry directory are enough, no GPU) and packs them for `run.sh --from-bundle` on a
# GPU host: bins.tar.xz (the stripped test programs and smollm-synth, laid out as in the
# build directory) and carry.tar.xz (tests/gpu/pack.sh's libraries), about 10 MB in all;
# with SERVER_BUILD the carry also holds smollm-server for the end-to-end run (26 MB more).
#   tests/gpu/bundle.sh      env: BUILD (build-gpu), CARRY (build-gpu-carry),
#                                 BUNDLE (build-gpu-bundle), CUDA_ARCHS ("80;90"),
#                                 SERVER_BUILD (unset)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD:-$root/build-gpu}"
carry="${CARRY:-$root/build-gpu-carry}"
bundle="${BUNDLE:-$root/build-gpu-bundle}"
if [[ ! -d "$carry/usr/include/absl" ||
      ( -n "${SERVER_BUILD:-}" && ! -x "$carry/server/smollm-server" ) ]]; then
  bash "$root/tests/gpu/pack.sh" "$carry"
fi
BUILD="$build" CARRY="$carry" bash "$root/tests/gpu/run.sh" --build-only
programs=(gpu/gpu_kernels_test gpu/gpu_decode_test gpu/gpu_decode_bench gpu/gpu_prefill_test
          gpu/gpu_prefill_bench gpu/gpu_engine_test smollm/runtime/tools/smollm-synth)
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
for p in "${programs[@]}"; do
  mkdir -p "$staging/$(dirname "$p")"
  strip -o "$staging/$p" "$build/$p"
done
mkdir -p "$bundle"
tar -cJf "$bundle/bins.tar.xz" -C "$staging" .
tar -cJf "$bundle/carry.tar.xz" -C "$carry" .
echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1))"
echo "on the GPU host: tests/gpu/run.sh --from-bundle"
