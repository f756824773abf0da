#!/usr/bin/env bash
# Fills build-gpu-carry/ (ignored by git, travels with the tree to a GPU host) with what
# the GPU build needs beyond the CUDA toolkit, CMake and a C++ compiler: Debian's Abseil
# headers, shared libraries and CMake package files, and oneDNN (the CPU backend's prefill
# matmuls; the CPU reference runs on the GPU host too). Run on the development machine.
# The host that receives it needs glibc >= 2.34 and GCC 12's libstdc++ or newer.
# With SERVER_BUILD (a CUDA-enabled build directory, e.g. build/release), also server/:
# smollm-server, the shared libraries it needs beyond those above, glibc and the CUDA
# toolkit, and the Python client's stubs and pure-Python packages (grpcio-status, the
# googleapis common protos), for run.sh's end-to-end server run; the GPU host has
# Python with grpcio and protobuf but no gRPC C++ and no grpcio-tools. That carry is
# about 113 MB: it travels compressed, as tests/gpu/bundle.sh packs it (26 MB).
#   tests/gpu/pack.sh [CARRY]      env: SERVER_BUILD
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
carry="${1:-$root/build-gpu-carry}"
lib=/usr/lib/x86_64-linux-gnu
rm -rf "$carry"
mkdir -p "$carry/usr/include" "$carry/usr/lib/x86_64-linux-gnu/cmake"
cp -a /usr/include/absl "$carry/usr/include/"
cp -a "$lib"/libabsl_*.so* "$carry/usr/lib/x86_64-linux-gnu/"
cp -a "$lib/cmake/absl" "$carry/usr/lib/x86_64-linux-gnu/cmake/"
cp -a /usr/include/oneapi "$carry/usr/include/"
cp -a /usr/include/dnnl*.h* "$carry/usr/include/" 2>/dev/null || true
cp -a "$lib"/libdnnl.so* "$carry/usr/lib/x86_64-linux-gnu/"
# Debian's oneDNN is linked against the OpenCL ICD loader, which a GPU host's CUDA image
# need not have; without it neither the link nor the loader resolves libdnnl.
cp -a "$lib"/libOpenCL.so.1* "$carry/usr/lib/x86_64-linux-gnu/"
if [[ -n "${SERVER_BUILD:-}" ]]; then
  server="$carry/server"
  mkdir -p "$server/lib" "$server/python"
  cp "$SERVER_BUILD/service/smollm-server" "$server/"
  # Every library the binary resolves here but the GPU host lacks: not glibc, libstdc++ or
  # the toolkit's, and not one the carry already holds.
  ldd "$server/smollm-server" | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
    case "$name" in
      libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libstdc++*|libgcc_s*) ;;
      libcudart*|libcublas*) ;;
      *) [[ -e "$carry/usr/lib/x86_64-linux-gnu/$name" ]] || cp -L "$path" "$server/lib/$name" ;;
    esac
  done
  python="$root/.venv/bin/python"
  "$python" "$root/tests/e2e/python/stubs.py" "$server/python" "$root" >/dev/null
  rm -rf "$server/python/health_src"
  find_site='import grpc_status as g, os; print(os.path.dirname(os.path.dirname(g.__file__)))'
  site="$("$python" -c "$find_site")"
  cp -a "$site/grpc_status" "$server/python/"
  mkdir -p "$server/python/google"
  cp -a "$site/google/rpc" "$server/python/google/"
  find "$server/python" -name __pycache__ -prune -exec rm -rf {} +
fi
echo "carry: $carry ($(du -sh "$carry" | cut -f1))"
