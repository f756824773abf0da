// Launchers of the CUDA backend's kernels. Host-callable, asynchronous on `stream`, and
// graph-capturable: every per-step input (tokens, positions, page tables) is read from
// device memory, so a captured launch replays with whatever those buffers then hold.
// Each returns the launch error (cudaGetLastError); shapes are the caller's to check.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/backend/backend.h"
#include "runtime/backend/cuda/activation_quant.h"

namespace smollm::runtime::cuda {

// Where a step's per-token data lives on the device (see AttentionBatch). A position
// below 0 marks a padding row of a fixed-size batch: StoreKv skips it and Attention
// writes zeros for it.
struct DeviceStep {
  const int32_t* positions = nullptr;         // [n_tokens]
  const int32_t* token_seq = nullptr;         // [n_tokens]
  const int32_t* page_table_begin = nullptr;  // [n_seqs + 1]
  const int32_t* page_ids = nullptr;
};

// True for the weight types the kernels decode (F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q4_K, Q6_K). F32/F16 rows must hold a multiple of 8 values.
bool KernelSupports(GgmlType type);

// Largest head_dim and GQA group the attention kernel handles; most splits of a query.
inline constexpr int kMaxHeadDim = 128;
inline constexpr int kMaxGqaGroup = 8;
inline constexpr int kMaxAttentionSplits = 32;
// A token's keys per split of the decode attention (it uses length / this + 1 splits, at
// most the launched count).
inline constexpr int kPositionsPerSplit = 128;

cudaError_t LaunchEmbed(cudaStream_t stream, const Weight& table, const int32_t* tokens,
                        int n_tokens, const Activations& out);
cudaError_t LaunchRmsNorm(cudaStream_t stream, const Activations& x, const float* gain, float eps,
                          const Activations& out);
// out = x · wᵀ for x's rows in f32; x's rows and out's rows must be 16-byte aligned.
cudaError_t LaunchMatMul(cudaStream_t stream, const Weight& w, const Activations& x,
                         const Activations& out);
// x's rows quantized into `a` (a.rows x a.cols of a.type; x's rows 16-byte aligned).
cudaError_t LaunchQuantizeActivations(cudaStream_t stream, const Activations& x,
                                      const QuantizedActivations& a);
// out = a · wᵀ for a's rows (a.type is ActivationTypeOf(w.type)); with `accumulate`,
// out += a · wᵀ. Each row takes `warps_per_row` warps (1, 2 or 4; 0: by row length).
cudaError_t LaunchMatMulQ8(cudaStream_t stream, const Weight& w, const QuantizedActivations& a,
                           const Activations& out, bool accumulate = false,
                           int warps_per_row = 0);
// out = silu(a · gateᵀ) * (a · upᵀ); gate and up of one type and shape.
cudaError_t LaunchSwiGluQ8(cudaStream_t stream, const Weight& gate, const Weight& up,
                           const QuantizedActivations& a, const Activations& out);
cudaError_t LaunchRope(cudaStream_t stream, const Activations& x, const RopeParams& rope,
                       const int32_t* positions);
cudaError_t LaunchSiluMul(cudaStream_t stream, const Activations& gate, const Activations& up,
                          const Activations& out);
cudaError_t LaunchAdd(cudaStream_t stream, const Activations& x, const Activations& y);
cudaError_t LaunchGatherRows(cudaStream_t stream, const Activations& x, const int32_t* rows,
                             const Activations& out);
cudaError_t LaunchStoreKv(cudaStream_t stream, const KvCacheShape& shape, void* k_cache,
                          void* v_cache, int layer, const Activations& k, const Activations& v,
                          const DeviceStep& step);
// Decode attention of the rows listed in `rows` (device memory, n_rows of them), or of
// every row of q when rows is nullptr. `partials` holds (rows ? n_rows : q.rows) *
// n_heads * n_splits * (head_dim + 2) floats.
cudaError_t LaunchAttention(cudaStream_t stream, const KvCacheShape& shape, const void* k_cache,
                            const void* v_cache, int layer, int n_heads, const Activations& q,
                            const DeviceStep& step, int n_splits, float* partials,
                            const Activations& out, const int32_t* rows = nullptr,
                            int n_rows = 0);
// The k largest logits of each row (ties: lower id first), best first; k <= kMaxTopK.
inline constexpr int kMaxTopK = 64;
cudaError_t LaunchTopK(cudaStream_t stream, const Activations& logits, int k, int32_t* ids,
                       float* values);

}  // namespace smollm::runtime::cuda
