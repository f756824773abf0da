// Many-token matmuls (prefill) through oneDNN: GGUF weights are dequantized to bf16 one
// tile of rows at a time and multiplied with bf16 activations, accumulating in f32.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/core/thread_pool.h"

namespace smollm::runtime::cpu {

// Fewest token rows for which MatMul beats the backend's own (int8) kernels on every
// SmolLM2-135M and SmolLM3-3B weight shape (tests/bench/prefill_bench.cc BM_MatMul, AVX-512
// BF16 without AMX): the 135M shapes break even at 8-16 tokens, the 3B ones at 16-32.
inline constexpr int64_t kOnednnCrossoverTokens = 32;

struct OnednnMatmulOptions {
  // Output features per tile: each thread dequantizes this many weight rows into its own
  // bf16 buffer (tile_rows * cols * 2 bytes: 256 KiB for 2048 columns) and multiplies
  // them at once. 32 and 128 measured no better on the 3B shapes.
  int64_t tile_rows = 64;
};

// Owns the oneDNN engine, one primitive per (padded token count, cols, tile) shape,
// created once on first use (a model has a few widths and two tile heights per weight
// shape; token counts are padded to 16, so a 512-token budget makes at most 32 of them),
// and the reusable scratch. The whole model is never copied: at most pool.size() tiles
// of bf16 weights and one bf16 copy of the activations exist.
//
// Threads: oneDNN here is an OpenMP build. Its OpenMP threads would spin against the
// backend's own pool on the same cores, so oneDNN never forks a team: every primitive is
// created and run with one OpenMP thread, from the pool's threads, one tile per call.
//
// Numerics: weights and activations are rounded to bf16 (8 significant bits), products
// accumulate in f32. A dot product is off by at most (2^-7 + k * 2^-24) * sum |terms|,
// typically by about 2^-8.5 * sqrt(sum terms^2) (the test measures both): results differ
// from the int8 and f32 paths by that much, so they depend on which path a batch takes.
//
// Not thread-safe: one caller at a time (the backend's compute thread), like the pool.
class OnednnMatmul {
 public:
  // `pool` must outlive this object; `max_cols` bounds the weights' row width.
  // Internal when oneDNN cannot create its CPU engine.
  static absl::StatusOr<std::unique_ptr<OnednnMatmul>> Create(
      ThreadPool& pool, int64_t max_cols, const CpuKernels& kernels,
      const OnednnMatmulOptions& options = {});
  ~OnednnMatmul();
  OnednnMatmul(const OnednnMatmul&) = delete;
  OnednnMatmul& operator=(const OnednnMatmul&) = delete;

  // Writes weight row `row` as w.cols floats to `dst`; `thread` is the pool thread
  // calling (for the reader's scratch).
  using RowReader = absl::FunctionRef<void(int64_t row, float* dst, int thread)>;

  // out[t][r] = dot(w row r, x[t]), as Backend::MatMul. w.cols <= max_cols, and w.type
  // must have a row dequantizer in `kernels`. Rows are read by `read_row` where given
  // (weights in a layout of the backend's own), else dequantized from GGUF rows at
  // w.data. Returns false, having written nothing useful, when oneDNN refuses the shape
  // (the caller then takes its own path).
  bool MatMul(const Weight& w, const Activations& x, const Activations& out,
              std::optional<RowReader> read_row = std::nullopt);

 private:
  struct Impl;
  struct Shape {
    int64_t tokens;  // padded to a multiple of 16
    int64_t cols;
    int64_t tile;    // weight rows in the tile
    auto operator<=>(const Shape&) const = default;
  };
  struct Prim;

  OnednnMatmul(ThreadPool& pool, int64_t max_cols, const CpuKernels& kernels,
               const OnednnMatmulOptions& options, std::unique_ptr<Impl> impl);
  // The primitive for `shape`, created on first use; nullptr when oneDNN refuses it.
  const Prim* PrimitiveFor(const Shape& shape);

  ThreadPool& pool_;
  const int64_t max_cols_;
  const CpuKernels& kernels_;
  const OnednnMatmulOptions options_;
  std::unique_ptr<Impl> impl_;
  std::map<Shape, std::unique_ptr<Prim>> primitives_;
  std::vector<uint16_t> x_bf16_;  // [padded tokens][cols] activations in bf16
  // Per thread: [tile_rows][max_cols] bf16 weights, [max_cols] f32 dequantized row,
  // [padded tokens][tile_rows] f32 results, the primitive's scratchpad.
  struct ThreadScratch {
    std::vector<uint16_t> tile;
    std::vector<float> row;
    std::vector<float> result;
    std::vector<uint8_t> scratchpad;
  };
  std::vector<ThreadScratch> scratch_;
};

}  // namespace smollm::runtime::cpu
