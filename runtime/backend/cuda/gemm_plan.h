// Host-side choices of the CUDA prefill GEMMs, without CUDA types (tested on any host):
// when a matmul leaves the fused mat-vec kernel for dequantize + cuBLASLt, how a weight is
// cut into dequantization tiles, and the small cache of per-shape cuBLASLt plans.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace smollm::runtime::cuda {

// Token rows from which a quantized matmul goes through dequantize + cuBLASLt; below it
// the int8 mat-vec kernel reads the block weights once per tile of 8 tokens. Measured on
// an H200 (tests/gpu/gpu_prefill_bench, SmolLM3-3B FFN of one layer, ms at 8/16/32/48/64
// rows): mat-vec 0.100/0.176/0.327/0.477/0.627, cuBLASLt 0.442/0.443/0.446/0.450/0.455;
// a whole decode step (gpu_decode_bench) at 32 sequences 16.8 ms mat-vec against 20.9
// with cuBLASLt, at 64 sequences 31.3 against 22.0. 65 keeps every decode bucket
// (<= 64 sequences) on the mat-vec kernel, so a decode token's numerics never depend on
// its batch (the engine's batched == solo check), at the price of that last 30%.
inline constexpr int64_t kCublasMinTokens = 65;

// Largest dequantized tile of a weight (16-bit elements): bounds the scratch (64 MiB)
// while keeping every GEMM of a 3B-class model's layers in one piece.
inline constexpr int64_t kDequantTileElements = int64_t{32} << 20;
inline constexpr int64_t kDequantTileRowAlign = 64;  // keeps output column offsets aligned

// Rows of a weight per dequantization tile: all of them when they fit, else the most that
// fit in kDequantTileElements, rounded down to kDequantTileRowAlign (at least that many).
inline int64_t DequantTileRows(int64_t rows, int64_t cols) {
  if (rows * cols <= kDequantTileElements) return rows;
  const int64_t fit = kDequantTileElements / cols / kDequantTileRowAlign * kDequantTileRowAlign;
  return std::max(fit, kDequantTileRowAlign);
}

// One GEMM shape as cuBLASLt sees it: D[n x m] = W[n x k] * X[k x m] with the output rows
// `ldd` apart, in 16-bit type `type`.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0, ldd = 0;
  int type = 0;
  bool operator==(const GemmShape& o) const {
    return m == o.m && n == o.n && k == o.k && ldd == o.ldd && type == o.type;
  }
  template <class H>
  friend H AbslHashValue(H h, const GemmShape& s) {
    return H::combine(std::move(h), s.m, s.n, s.k, s.ldd, s.type);
  }
};

// Plans by shape, each created once: prefill chunk sizes repeat (full chunks, and a few
// tails), so the cache stays small; past `capacity` shapes it starts over rather than
// grow without bound (a plan is cheap to rebuild, a heuristic query ~10 us).
template <class Plan>
class GemmPlanCache {
 public:
  explicit GemmPlanCache(size_t capacity) : capacity_(capacity) {}

  Plan* Find(const GemmShape& shape) {
    const auto it = plans_.find(shape);
    return it == plans_.end() ? nullptr : it->second.get();
  }
  Plan& Insert(const GemmShape& shape, std::unique_ptr<Plan> plan) {
    if (plans_.size() >= capacity_) plans_.clear();
    return *(plans_[shape] = std::move(plan));
  }
  size_t size() const { return plans_.size(); }

 private:
  size_t capacity_;
  absl::flat_hash_map<GemmShape, std::unique_ptr<Plan>> plans_;
};

}  // namespace smollm::runtime::cuda
