// Dequantization of GGUF weight rows to f16/bf16 and f32 -> 16-bit activation conversion,
// the inputs of the cuBLASLt prefill GEMMs.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "runtime/backend/cuda/lane_dispatch.h"
#include "runtime/backend/cuda/prefill_kernels.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kHalfMax = 65504.0f;

template <class T>
__device__ T To16(float v);
template <>
__device__ __half To16<__half>(float v) {
  return __float2half_rn(fminf(fmaxf(v, -kHalfMax), kHalfMax));
}
template <>
__device__ __nv_bfloat16 To16<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// One lane unit (8 weights: 4 at `first`, 4 at `second`) per thread; blockIdx.y is the row.
template <class L, class T>
__global__ void __launch_bounds__(kThreads)
    DequantRowsKernel(const uint8_t* __restrict__ w, uint64_t row_bytes, int units, int64_t row0,
                      int64_t cols, T* __restrict__ out) {
  const int u = blockIdx.x * kThreads + threadIdx.x;
  if (u >= units) return;
  const uint8_t* row = w + static_cast<uint64_t>(row0 + blockIdx.y) * row_bytes;
  const int b = u / L::kLanes;
  LaneWeights lw;
  L::Decode(row + static_cast<int64_t>(b) * L::kBytes, u % L::kLanes, lw);
  T* o = out + static_cast<int64_t>(blockIdx.y) * cols + static_cast<int64_t>(b) * L::kElements;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    o[lw.first + i] = To16<T>(lw.v[i]);
    o[lw.second + i] = To16<T>(lw.v[4 + i]);
  }
}

template <class T>
__global__ void ConvertKernel(const float* __restrict__ x, int64_t stride, int64_t cols,
                              T* __restrict__ out) {
  const float* xr = x + blockIdx.y * stride;
  T* o = out + blockIdx.y * cols;
  for (int64_t i = blockIdx.x * kThreads + threadIdx.x; i < cols; i += gridDim.x * kThreads) {
    o[i] = To16<T>(xr[i]);
  }
}

template <class F>
cudaError_t WithType(GemmType type, F&& f) {
  return type == GemmType::kF16 ? f.template operator()<__half>()
                                : f.template operator()<__nv_bfloat16>();
}

}  // namespace

cudaError_t LaunchDequantRows(cudaStream_t stream, const Weight& w, int64_t row_begin,
                              int64_t n_rows, GemmType type, void* out) {
  if (n_rows <= 0) return cudaSuccess;
  return WithLanes(w.type, [&]<class L>() {
    return WithType(type, [&]<class T>() {
      const int units = Units<L>(w.cols);
      const dim3 grid((units + kThreads - 1) / kThreads, static_cast<unsigned>(n_rows));
      DequantRowsKernel<L, T><<<grid, kThreads, 0, stream>>>(
          static_cast<const uint8_t*>(w.data), w.row_bytes, units, row_begin, w.cols,
          static_cast<T*>(out));
      return cudaGetLastError();
    });
  });
}

cudaError_t LaunchConvertActivations(cudaStream_t stream, const Activations& x, GemmType type,
                                     void* out) {
  if (x.rows <= 0) return cudaSuccess;
  return WithType(type, [&]<class T>() {
    const dim3 grid(static_cast<unsigned>((x.cols + kThreads - 1) / kThreads),
                    static_cast<unsigned>(x.rows));
    ConvertKernel<T><<<grid, kThreads, 0, stream>>>(x.data, x.stride, x.cols, static_cast<T*>(out));
    return cudaGetLastError();
  });
}

}  // namespace smollm::runtime::cuda
