// Row-wise and element-wise kernels: RMSNorm, RoPE, SwiGLU, residual add, row gather,
// KV stores and top-k extraction. Each follows the CPU backend's arithmetic.
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdint>

#include "runtime/backend/cuda/cuda_kernels.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kThreads = 256;

// Sum over the block of one value per thread (all threads must call it).
__device__ double BlockSum(double v) {
  __shared__ double partial[kThreads / 32];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < kThreads / 32; ++w) total += partial[w];
  __syncthreads();
  return total;
}

// Double accumulation like the CPU: a 2048-wide mean of squares loses bits in f32.
__global__ void RmsNormKernel(const float* x, int64_t x_stride, const float* gain, float eps,
                              int cols, float* out, int64_t out_stride) {
  const float* xr = x + blockIdx.x * x_stride;
  double sum = 0;
  for (int i = threadIdx.x; i < cols; i += kThreads) sum += static_cast<double>(xr[i]) * xr[i];
  sum = BlockSum(sum);
  const float scale = static_cast<float>(1.0 / sqrt(sum / cols + eps));
  float* o = out + blockIdx.x * out_stride;
  for (int i = threadIdx.x; i < cols; i += kThreads) o[i] = xr[i] * scale * gain[i];
}

// Adjacent pairs (2i, 2i+1) of every head rotate by pos * theta^(-2i / head_dim).
__global__ void RopeKernel(float* x, int64_t stride, int n_heads, int head_dim, float theta,
                           const int32_t* positions) {
  const int pos = positions[blockIdx.x];
  if (pos < 0) return;
  const int half = head_dim / 2;
  float* row = x + blockIdx.x * stride;
  for (int p = threadIdx.x; p < n_heads * half; p += blockDim.x) {
    const int i = p % half;
    const float inv_freq = 1.0f / powf(theta, static_cast<float>(2 * i) / head_dim);
    const float angle = static_cast<float>(pos) * inv_freq;
    const float c = cosf(angle), s = sinf(angle);
    float* v = row + (p / half) * head_dim + 2 * i;
    const float a = v[0], b = v[1];
    v[0] = a * c - b * s;
    v[1] = a * s + b * c;
  }
}

__global__ void SiluMulKernel(const float* gate, int64_t g_stride, const float* up,
                              int64_t u_stride, int cols, float* out, int64_t o_stride) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= cols) return;
  const float g = gate[blockIdx.y * g_stride + i];
  out[blockIdx.y * o_stride + i] = g / (1.0f + expf(-g)) * up[blockIdx.y * u_stride + i];
}

__global__ void AddKernel(float* x, int64_t x_stride, const float* y, int64_t y_stride, int cols) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < cols) x[blockIdx.y * x_stride + i] += y[blockIdx.y * y_stride + i];
}

__global__ void GatherKernel(const float* x, int64_t x_stride, const int32_t* rows, int cols,
                             float* out, int64_t o_stride) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < cols) out[blockIdx.y * o_stride + i] = x[rows[blockIdx.y] * x_stride + i];
}

__global__ void StoreKvKernel(KvCacheShape s, __half* k_cache, __half* v_cache, int layer,
                              const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                              DeviceStep step) {
  const int t = blockIdx.x;
  const int pos = step.positions[t];
  if (pos < 0) return;
  const int seq = step.token_seq[t];
  const int page = step.page_ids[step.page_table_begin[seq] + pos / s.page_size];
  const uint64_t layer_page = static_cast<uint64_t>(layer) * s.n_pages + page;
  for (int e = threadIdx.x; e < s.n_kv_heads * s.head_dim; e += blockDim.x) {
    const int h = e / s.head_dim, d = e % s.head_dim;
    const uint64_t off =
        ((layer_page * s.n_kv_heads + h) * s.page_size + pos % s.page_size) * s.head_dim + d;
    k_cache[off] = __float2half_rn(k[t * k_stride + e]);
    v_cache[off] = __float2half_rn(v[t * v_stride + e]);
  }
}

// (value, id) ordered by value, then lower id first.
struct Candidate {
  float value;
  int id;
};
__device__ bool Better(const Candidate& a, const Candidate& b) {  // id -1: none yet
  if (a.id < 0) return false;
  if (b.id < 0) return true;
  return a.value > b.value || (a.value == b.value && a.id < b.id);
}
__device__ bool Below(float v, int id, const Candidate& bound) {  // strictly after bound
  return v < bound.value || (v == bound.value && id > bound.id);
}

// Round r picks the best element strictly after round r-1's pick: k passes over the
// row, no membership sets, exact ordering.
__global__ void TopKKernel(const float* logits, int64_t stride, int cols, int k, int32_t* ids,
                           float* values) {
  __shared__ Candidate warp_best[kThreads / 32];
  __shared__ Candidate pick;
  const float* row = logits + blockIdx.x * stride;
  Candidate bound{FLT_MAX, -1};
  for (int r = 0; r < k; ++r) {
    Candidate best{-FLT_MAX, -1};
    for (int i = threadIdx.x; i < cols; i += kThreads) {
      const float v = row[i];
      if ((r == 0 || Below(v, i, bound)) && Better({v, i}, best)) best = {v, i};
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
      const Candidate other{__shfl_xor_sync(0xffffffffu, best.value, offset),
                            __shfl_xor_sync(0xffffffffu, best.id, offset)};
      if (Better(other, best)) best = other;
    }
    if ((threadIdx.x & 31) == 0) warp_best[threadIdx.x >> 5] = best;
    __syncthreads();
    if (threadIdx.x == 0) {
      Candidate b = warp_best[0];
      for (int w = 1; w < kThreads / 32; ++w) {
        if (Better(warp_best[w], b)) b = warp_best[w];
      }
      pick = b;
      ids[blockIdx.x * k + r] = b.id;
      values[blockIdx.x * k + r] = b.value;
    }
    __syncthreads();
    bound = pick;
  }
}

dim3 RowGrid(int64_t rows, int64_t cols) {
  return dim3(static_cast<unsigned>((cols + kThreads - 1) / kThreads), static_cast<unsigned>(rows));
}

}  // namespace

cudaError_t LaunchRmsNorm(cudaStream_t stream, const Activations& x, const float* gain, float eps,
                          const Activations& out) {
  RmsNormKernel<<<x.rows, kThreads, 0, stream>>>(x.data, x.stride, gain, eps,
                                                 static_cast<int>(x.cols), out.data, out.stride);
  return cudaGetLastError();
}

cudaError_t LaunchRope(cudaStream_t stream, const Activations& x, const RopeParams& rope,
                       const int32_t* positions) {
  RopeKernel<<<x.rows, kThreads, 0, stream>>>(x.data, x.stride, rope.n_heads, rope.head_dim,
                                              rope.theta, positions);
  return cudaGetLastError();
}

cudaError_t LaunchSiluMul(cudaStream_t stream, const Activations& gate, const Activations& up,
                          const Activations& out) {
  SiluMulKernel<<<RowGrid(gate.rows, gate.cols), kThreads, 0, stream>>>(
      gate.data, gate.stride, up.data, up.stride, static_cast<int>(gate.cols), out.data,
      out.stride);
  return cudaGetLastError();
}

cudaError_t LaunchAdd(cudaStream_t stream, const Activations& x, const Activations& y) {
  AddKernel<<<RowGrid(x.rows, x.cols), kThreads, 0, stream>>>(x.data, x.stride, y.data, y.stride,
                                                              static_cast<int>(x.cols));
  return cudaGetLastError();
}

cudaError_t LaunchGatherRows(cudaStream_t stream, const Activations& x, const int32_t* rows,
                             const Activations& out) {
  GatherKernel<<<RowGrid(out.rows, x.cols), kThreads, 0, stream>>>(
      x.data, x.stride, rows, static_cast<int>(x.cols), out.data, out.stride);
  return cudaGetLastError();
}

cudaError_t LaunchStoreKv(cudaStream_t stream, const KvCacheShape& shape, void* k_cache,
                          void* v_cache, int layer, const Activations& k, const Activations& v,
                          const DeviceStep& step) {
  StoreKvKernel<<<k.rows, kThreads, 0, stream>>>(shape, static_cast<__half*>(k_cache),
                                                 static_cast<__half*>(v_cache), layer, k.data,
                                                 k.stride, v.data, v.stride, step);
  return cudaGetLastError();
}

cudaError_t LaunchTopK(cudaStream_t stream, const Activations& logits, int k, int32_t* ids,
                       float* values) {
  TopKKernel<<<logits.rows, kThreads, 0, stream>>>(logits.data, logits.stride,
                                                   static_cast<int>(logits.cols), k, ids, values);
  return cudaGetLastError();
}

}  // namespace smollm::runtime::cuda
