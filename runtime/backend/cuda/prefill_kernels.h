// Launchers of the prefill path's kernels: weights dequantized to 16-bit floats for
// cuBLASLt, activations converted to the same type, and the flash-style attention over
// the paged KV cache for chunks of many tokens of one sequence. Asynchronous on
// `stream`; each returns the launch error. Shapes are the caller's to check.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/backend/backend.h"
#include "runtime/backend/cuda/attention_plan.h"
#include "runtime/backend/cuda/cuda_kernels.h"

namespace smollm::runtime::cuda {

// The 16-bit type the prefill GEMMs read. F16 keeps 3 more mantissa bits; BF16 keeps f32's
// range (F16 saturates activations at +-65504).
enum class GemmType { kF16, kBF16 };

// out[r - row_begin][c] = weight w's row r, element c, for r in [row_begin, row_begin + n_rows):
// row-major [n_rows][w.cols] of `type`, exactly the values the mat-vec kernels use.
cudaError_t LaunchDequantRows(cudaStream_t stream, const Weight& w, int64_t row_begin,
                              int64_t n_rows, GemmType type, void* out);

// out[r][c] = x[r][c] rounded to `type` (row-major, x.cols per row); F16 saturates.
cudaError_t LaunchConvertActivations(cudaStream_t stream, const Activations& x, GemmType type,
                                     void* out);

// Query heads per block of the prefill attention (rows per tile = this / GQA group).
inline constexpr int kPrefillQueriesPerBlock = 64;

// Causal attention of every row of the `n_tiles` tiles (device array) over its sequence's
// cached positions 0..pos (the step's keys must be stored first). out has q's shape;
// rows outside the tiles are not written.
cudaError_t LaunchPrefillAttention(cudaStream_t stream, const KvCacheShape& shape,
                                   const void* k_cache, const void* v_cache, int layer,
                                   int n_heads, const Activations& q, const DeviceStep& step,
                                   const PrefillTile* tiles, int n_tiles, const Activations& out);

}  // namespace smollm::runtime::cuda
