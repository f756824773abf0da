// Paged decode attention over the f16 KV cache: each (token, KV head, split) block runs
// an online softmax for the query heads of its GQA group over a slice of the positions,
// and a second kernel merges the splits. Splits let a few long sequences fill the GPU.
// A token uses min(n_splits, length / kPositionsPerSplit + 1) of the launched splits, a
// count that depends on its own position alone: its result is the same in any batch, and
// eager steps and captured graphs (which launch a fixed n_splits) agree.
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdint>

#include "runtime/backend/cuda/cuda_kernels.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kDimsPerLane = kMaxHeadDim / 32;

struct AttentionArgs {
  KvCacheShape shape;
  const __half* k;
  const __half* v;
  int layer;
  int n_heads;
  const float* q;
  int64_t q_stride;
  DeviceStep step;
  int n_splits;
  float scale;
  float* partials;  // [slot][head][split][head_dim + 2]: max, sum, accumulator
  const int32_t* rows;  // slot -> row of q and out; nullptr: slot == row
};

__device__ float WarpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Lane l holds dims l, l + 32, ... of a head (guarded by head_dim).
__global__ void __launch_bounds__(kWarps * 32) AttentionSplitKernel(AttentionArgs a) {
  const int split = blockIdx.x, kv_head = blockIdx.y, slot = blockIdx.z;
  const int t = a.rows != nullptr ? a.rows[slot] : slot;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const KvCacheShape& s = a.shape;
  const int group = a.n_heads / s.n_kv_heads;
  const int pos = a.step.positions[t];
  const int64_t length = pos + 1;  // 0 for a padding row
  const int splits = static_cast<int>(min(static_cast<int64_t>(a.n_splits), length / kPositionsPerSplit + 1));
  const int begin = split < splits ? static_cast<int>(length * split / splits) : 0;
  const int end = split < splits ? static_cast<int>(length * (split + 1) / splits) : 0;

  float q[kMaxGqaGroup][kDimsPerLane];
  float acc[kMaxGqaGroup][kDimsPerLane];
  float m[kMaxGqaGroup], l[kMaxGqaGroup];
#pragma unroll
  for (int g = 0; g < kMaxGqaGroup; ++g) {
    if (g >= group) break;
    const float* qh = a.q + t * a.q_stride + (kv_head * group + g) * s.head_dim;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      q[g][i] = d < s.head_dim ? qh[d] * a.scale : 0.0f;
      acc[g][i] = 0.0f;
    }
    m[g] = -FLT_MAX;
    l[g] = 0.0f;
  }
  const int seq = pos >= 0 ? a.step.token_seq[t] : 0;
  const int32_t* pages = a.step.page_ids + (pos >= 0 ? a.step.page_table_begin[seq] : 0);
  for (int j = begin + warp; j < end; j += kWarps) {
    const uint64_t layer_page = static_cast<uint64_t>(a.layer) * s.n_pages + pages[j / s.page_size];
    const uint64_t off =
        ((layer_page * s.n_kv_heads + kv_head) * s.page_size + j % s.page_size) * s.head_dim;
    float key[kDimsPerLane], value[kDimsPerLane];
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      key[i] = d < s.head_dim ? __half2float(a.k[off + d]) : 0.0f;
      value[i] = d < s.head_dim ? __half2float(a.v[off + d]) : 0.0f;
    }
#pragma unroll
    for (int g = 0; g < kMaxGqaGroup; ++g) {
      if (g >= group) break;
      float dot = 0.0f;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) dot += q[g][i] * key[i];
      const float score = WarpSum(dot);
      const float new_max = fmaxf(m[g], score);
      const float correction = expf(m[g] - new_max);
      const float p = expf(score - new_max);
      l[g] = l[g] * correction + p;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) acc[g][i] = acc[g][i] * correction + p * value[i];
      m[g] = new_max;
    }
  }

  // Merge the warps' states, then write this split's (max, sum, accumulator).
  __shared__ float sm_max[kWarps][kMaxGqaGroup], sm_sum[kWarps][kMaxGqaGroup];
  __shared__ float sm_acc[kWarps][kMaxGqaGroup][kMaxHeadDim];
#pragma unroll
  for (int g = 0; g < kMaxGqaGroup; ++g) {
    if (g >= group) break;
    if (lane == 0) {
      sm_max[warp][g] = m[g];
      sm_sum[warp][g] = l[g];
    }
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) {
      if (lane + 32 * i < s.head_dim) sm_acc[warp][g][lane + 32 * i] = acc[g][i];
    }
  }
  __syncthreads();
  const int stride = s.head_dim + 2;
  for (int e = threadIdx.x; e < group * stride; e += blockDim.x) {
    const int g = e / stride, d = e % stride;
    float mx = -FLT_MAX;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm_max[w][g]);
    float total = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      if (sm_sum[w][g] == 0.0f) continue;  // an empty warp holds no positions
      const float weight = expf(sm_max[w][g] - mx);
      total += weight * (d == 0 ? 0.0f : d == 1 ? sm_sum[w][g] : sm_acc[w][g][d - 2]);
    }
    const int head = kv_head * group + g;
    float* part = a.partials + ((static_cast<int64_t>(slot) * a.n_heads + head) * a.n_splits + split) * stride;
    part[d] = d == 0 ? mx : total;
  }
}

// out[t][head] = sum over splits of exp(max_s - M) acc_s / sum of exp(max_s - M) sum_s.
__global__ void AttentionMergeKernel(const float* partials, int n_heads, int head_dim,
                                     int n_splits, const int32_t* positions, const int32_t* rows,
                                     float* out, int64_t out_stride) {
  const int head = blockIdx.x, slot = blockIdx.y;
  const int t = rows != nullptr ? rows[slot] : slot;
  const int stride = head_dim + 2;
  const float* part = partials + (static_cast<int64_t>(slot) * n_heads + head) * n_splits * stride;
  float* o = out + t * out_stride + head * head_dim;
  const bool padding = positions[t] < 0;
  float mx = -FLT_MAX;
  for (int s = 0; s < n_splits; ++s) {
    if (part[s * stride + 1] > 0.0f) mx = fmaxf(mx, part[s * stride]);
  }
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float num = 0.0f, den = 0.0f;
    for (int s = 0; s < n_splits && !padding; ++s) {
      const float sum = part[s * stride + 1];
      if (sum == 0.0f) continue;
      const float weight = expf(part[s * stride] - mx);
      den += weight * sum;
      num += weight * part[s * stride + 2 + d];
    }
    o[d] = padding ? 0.0f : num / den;
  }
}

}  // namespace

cudaError_t LaunchAttention(cudaStream_t stream, const KvCacheShape& shape, const void* k_cache,
                            const void* v_cache, int layer, int n_heads, const Activations& q,
                            const DeviceStep& step, int n_splits, float* partials,
                            const Activations& out, const int32_t* rows, int n_rows) {
  const unsigned slots = static_cast<unsigned>(rows != nullptr ? n_rows : q.rows);
  if (slots == 0) return cudaSuccess;
  AttentionArgs a{shape,   static_cast<const __half*>(k_cache), static_cast<const __half*>(v_cache),
                  layer,   n_heads, q.data, q.stride, step, n_splits,
                  1.0f / sqrtf(static_cast<float>(shape.head_dim)), partials, rows};
  const dim3 grid(n_splits, shape.n_kv_heads, slots);
  AttentionSplitKernel<<<grid, kWarps * 32, 0, stream>>>(a);
  const cudaError_t error = cudaGetLastError();
  if (error != cudaSuccess) return error;
  AttentionMergeKernel<<<dim3(n_heads, slots), 128, 0, stream>>>(
      partials, n_heads, shape.head_dim, n_splits, step.positions, rows, out.data, out.stride);
  return cudaGetLastError();
}

}  // namespace smollm::runtime::cuda
