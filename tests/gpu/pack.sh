#!/usr/bin/env bash
# Fills build-gpu-carry/ (ignored by git, travels with the tree to a GPU host) with what
# the GPU build needs beyond the CUDA toolkit, CMake and a C++ compiler: Debian's Abseil
# headers, shared libraries and CMake package files, and oneDNN (the CPU backend's prefill
# matmuls; the CPU reference runs on the GPU host too). Run on the development machine.
# The host that receives it needs glibc >= 2.34 and GCC 12's libstdc++ or newer.
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
echo "carry: $carry ($(du -sh "$carry" | cut -f1))"
