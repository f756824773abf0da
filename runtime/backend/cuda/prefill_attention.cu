// Flash-style causal attention for prefill chunks over the paged f16 KV cache: a block
// takes one tile of consecutive rows of one sequence and one KV head, walks the
// sequence's keys in chunks of 32 staged in shared memory, and keeps an online softmax
// per query head of the GQA group (no score matrix is ever stored). Rows of a chunk that
// continues a cached prefix see the prefix through the same page table.
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "runtime/backend/cuda/prefill_kernels.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kQueriesPerWarp = kPrefillQueriesPerBlock / kWarps;
constexpr int kKeys = 32;                    // keys per chunk: one per lane
constexpr int kDims = kMaxHeadDim / 32;      // head dims per lane of an accumulator
constexpr int kRowStride = kMaxHeadDim + 1;  // padded: lane j reads key j without conflicts
constexpr int kSharedFloats =
    kPrefillQueriesPerBlock * kRowStride + kKeys * kRowStride + kKeys * kMaxHeadDim;

struct PrefillArgs {
  KvCacheShape shape;
  const __half* k;
  const __half* v;
  int layer;
  int n_heads;
  const float* q;
  int64_t q_stride;
  DeviceStep step;
  const PrefillTile* tiles;
  float scale;
  float* out;
  int64_t out_stride;
};

__device__ float WarpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ float WarpMax(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  }
  return v;
}

// Query qi of a block is head (qi % group) of the group at tile row qi / group.
__global__ void __launch_bounds__(kWarps * 32) PrefillAttentionKernel(PrefillArgs a) {
  extern __shared__ float shared[];
  float* q_s = shared;                                // [queries][kRowStride], pre-scaled
  float* k_s = q_s + kPrefillQueriesPerBlock * kRowStride;  // [kKeys][kRowStride]
  float* v_s = k_s + kKeys * kRowStride;              // [kKeys][kMaxHeadDim]
  const KvCacheShape& s = a.shape;
  const PrefillTile tile = a.tiles[blockIdx.x];
  const int kv_head = blockIdx.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int group = a.n_heads / s.n_kv_heads;
  const int hd = s.head_dim;
  const int n_queries = tile.n_rows * group;

  for (int e = threadIdx.x; e < n_queries * hd; e += blockDim.x) {
    const int qi = e / hd, d = e % hd;
    const int row = tile.first_row + qi / group;
    const int head = kv_head * group + qi % group;
    q_s[qi * kRowStride + d] = a.q[row * a.q_stride + head * hd + d] * a.scale;
  }
  int max_pos = 0;
  for (int r = 0; r < tile.n_rows; ++r) max_pos = max(max_pos, a.step.positions[tile.first_row + r]);
  const int seq = a.step.token_seq[tile.first_row];
  const int32_t* pages = a.step.page_ids + a.step.page_table_begin[seq];

  int pos[kQueriesPerWarp];
  float m[kQueriesPerWarp], l[kQueriesPerWarp], acc[kQueriesPerWarp][kDims];
#pragma unroll
  for (int qq = 0; qq < kQueriesPerWarp; ++qq) {
    const int qi = warp * kQueriesPerWarp + qq;
    pos[qq] = qi < n_queries ? a.step.positions[tile.first_row + qi / group] : -1;
    m[qq] = -INFINITY;
    l[qq] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDims; ++i) acc[qq][i] = 0.0f;
  }

  for (int j0 = 0; j0 <= max_pos; j0 += kKeys) {
    __syncthreads();  // the previous chunk (and the queries) are fully read or written
    for (int e = threadIdx.x; e < kKeys * hd; e += blockDim.x) {
      const int jj = e / hd, d = e % hd, j = j0 + jj;
      float key = 0.0f, value = 0.0f;
      if (j <= max_pos) {
        const uint64_t layer_page =
            static_cast<uint64_t>(a.layer) * s.n_pages + pages[j / s.page_size];
        const uint64_t off =
            ((layer_page * s.n_kv_heads + kv_head) * s.page_size + j % s.page_size) * hd + d;
        key = __half2float(a.k[off]);
        value = __half2float(a.v[off]);
      }
      k_s[jj * kRowStride + d] = key;
      v_s[jj * kMaxHeadDim + d] = value;
    }
    __syncthreads();
#pragma unroll
    for (int qq = 0; qq < kQueriesPerWarp; ++qq) {
      if (pos[qq] < j0) continue;  // warp-uniform: every key of the chunk is in its future
      const float* qv = q_s + (warp * kQueriesPerWarp + qq) * kRowStride;
      const float* kr = k_s + lane * kRowStride;
      float score = 0.0f;
      for (int d = 0; d < hd; ++d) score += qv[d] * kr[d];
      const bool visible = j0 + lane <= pos[qq];
      const float chunk_max = WarpMax(visible ? score : -INFINITY);  // lane 0 is visible
      const float new_max = fmaxf(m[qq], chunk_max);
      const float correction = expf(m[qq] - new_max);
      const float p = visible ? expf(score - new_max) : 0.0f;
      l[qq] = l[qq] * correction + WarpSum(p);
#pragma unroll
      for (int i = 0; i < kDims; ++i) acc[qq][i] *= correction;
      for (int jj = 0; jj < kKeys; ++jj) {
        const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
        for (int i = 0; i < kDims; ++i) acc[qq][i] += pj * v_s[jj * kMaxHeadDim + lane + 32 * i];
      }
      m[qq] = new_max;
    }
  }

#pragma unroll
  for (int qq = 0; qq < kQueriesPerWarp; ++qq) {
    const int qi = warp * kQueriesPerWarp + qq;
    if (qi >= n_queries) continue;
    const int row = tile.first_row + qi / group;
    const int head = kv_head * group + qi % group;
    float* o = a.out + row * a.out_stride + head * hd;
    const float inv = 1.0f / l[qq];
#pragma unroll
    for (int i = 0; i < kDims; ++i) {
      if (lane + 32 * i < hd) o[lane + 32 * i] = acc[qq][i] * inv;
    }
  }
}

}  // namespace

cudaError_t LaunchPrefillAttention(cudaStream_t stream, const KvCacheShape& shape,
                                   const void* k_cache, const void* v_cache, int layer,
                                   int n_heads, const Activations& q, const DeviceStep& step,
                                   const PrefillTile* tiles, int n_tiles, const Activations& out) {
  if (n_tiles == 0) return cudaSuccess;
  constexpr int kSharedBytes = kSharedFloats * sizeof(float);  // above the 48 KB default
  const cudaError_t attribute = cudaFuncSetAttribute(
      PrefillAttentionKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSharedBytes);
  if (attribute != cudaSuccess) return attribute;
  const PrefillArgs a{shape,   static_cast<const __half*>(k_cache),
                      static_cast<const __half*>(v_cache), layer, n_heads, q.data, q.stride,
                      step,    tiles, 1.0f / sqrtf(static_cast<float>(shape.head_dim)),
                      out.data, out.stride};
  const dim3 grid(static_cast<unsigned>(n_tiles), static_cast<unsigned>(shape.n_kv_heads));
  PrefillAttentionKernel<<<grid, kWarps * 32, kSharedBytes, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace smollm::runtime::cuda
