// Matrix-vector products (1..n columns) in f32 and embedding lookups straight from GGUF
// blocks: one warp per weight row, f32 FMA against f32 activations. The mat-vec serves
// F32/F16 weights and the exact mode (CudaBackendOptions::quantized_activations off);
// quantized weights otherwise take the int8 path of matvec_q8.cu.
#include <cstdint>

#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/lane_dispatch.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

// Row `row` of w times kCols columns of x starting at column col0 (columns past n_cols
// repeat the last one and are not stored). Each lane walks its share of every block; the
// float4 activation loads need 16-byte aligned rows.
template <class L, int kCols>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    MatVecKernel(const uint8_t* __restrict__ w, uint64_t row_bytes, int rows, int units,
                 const float* __restrict__ x, int64_t x_stride, int n_cols,
                 float* __restrict__ out, int64_t out_stride) {
  const int lane = threadIdx.x & 31;
  const int row = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  if (row >= rows) return;
  const int col0 = blockIdx.y * kCols;
  const float* xc[kCols];
#pragma unroll
  for (int c = 0; c < kCols; ++c) xc[c] = x + static_cast<int64_t>(min(col0 + c, n_cols - 1)) * x_stride;
  float acc[kCols];
#pragma unroll
  for (int c = 0; c < kCols; ++c) acc[c] = 0.0f;
  const uint8_t* wrow = w + static_cast<uint64_t>(row) * row_bytes;
  for (int u = lane; u < units; u += 32) {
    const int b = u / L::kLanes;
    LaneWeights lw;
    L::Decode(wrow + static_cast<int64_t>(b) * L::kBytes, u % L::kLanes, lw);
    const int base = b * L::kElements;
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      const float4 a = __ldg(reinterpret_cast<const float4*>(xc[c] + base + lw.first));
      const float4 e = __ldg(reinterpret_cast<const float4*>(xc[c] + base + lw.second));
      acc[c] += lw.v[0] * a.x + lw.v[1] * a.y + lw.v[2] * a.z + lw.v[3] * a.w +
                lw.v[4] * e.x + lw.v[5] * e.y + lw.v[6] * e.z + lw.v[7] * e.w;
    }
  }
#pragma unroll
  for (int c = 0; c < kCols; ++c) {
    float s = acc[c];
    for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_xor_sync(0xffffffffu, s, offset);
    if (lane == 0 && col0 + c < n_cols) out[static_cast<int64_t>(col0 + c) * out_stride + row] = s;
  }
}

template <class L>
__global__ void EmbedKernel(const uint8_t* __restrict__ table, uint64_t row_bytes, int units,
                            const int32_t* __restrict__ tokens, float* __restrict__ out,
                            int64_t out_stride) {
  const int t = blockIdx.y;
  const uint8_t* row = table + static_cast<uint64_t>(tokens[t]) * row_bytes;
  float* o = out + static_cast<int64_t>(t) * out_stride;
  for (int u = blockIdx.x * blockDim.x + threadIdx.x; u < units; u += gridDim.x * blockDim.x) {
    const int b = u / L::kLanes;
    LaneWeights lw;
    L::Decode(row + static_cast<int64_t>(b) * L::kBytes, u % L::kLanes, lw);
    const int base = b * L::kElements;
    for (int i = 0; i < 4; ++i) {
      o[base + lw.first + i] = lw.v[i];
      o[base + lw.second + i] = lw.v[4 + i];
    }
  }
}

}  // namespace

bool KernelSupports(GgmlType type) {
  switch (type) {  // the types WithLanes dispatches
    case GgmlType::kQ4_K: case GgmlType::kQ6_K: case GgmlType::kQ8_0: case GgmlType::kQ4_0:
    case GgmlType::kQ4_1: case GgmlType::kQ5_0: case GgmlType::kQ5_1: case GgmlType::kF32:
    case GgmlType::kF16:
      return true;
    default:
      return false;
  }
}

cudaError_t LaunchMatMul(cudaStream_t stream, const Weight& w, const Activations& x,
                         const Activations& out) {
  const int n = static_cast<int>(x.rows);
  return WithLanes(w.type, [&]<class L>() {
    const auto* base = static_cast<const uint8_t*>(w.data);
    const int rows = static_cast<int>(w.rows);
    const dim3 block(kWarpsPerBlock * 32);
    const auto grid = [&](int cols) {
      return dim3((rows + kWarpsPerBlock - 1) / kWarpsPerBlock, (n + cols - 1) / cols);
    };
    // Column tiles of 1, 4 or 8: few instantiations, and batch 2..16 reads each weight
    // row once per tile of 8 (the second tile of 16 mostly from L2).
    if (n == 1) {
      MatVecKernel<L, 1><<<grid(1), block, 0, stream>>>(base, w.row_bytes, rows, Units<L>(w.cols),
                                                        x.data, x.stride, n, out.data, out.stride);
    } else if (n <= 4) {
      MatVecKernel<L, 4><<<grid(4), block, 0, stream>>>(base, w.row_bytes, rows, Units<L>(w.cols),
                                                        x.data, x.stride, n, out.data, out.stride);
    } else {
      MatVecKernel<L, 8><<<grid(8), block, 0, stream>>>(base, w.row_bytes, rows, Units<L>(w.cols),
                                                        x.data, x.stride, n, out.data, out.stride);
    }
    return cudaGetLastError();
  });
}

cudaError_t LaunchEmbed(cudaStream_t stream, const Weight& table, const int32_t* tokens,
                        int n_tokens, const Activations& out) {
  return WithLanes(table.type, [&]<class L>() {
    const int units = Units<L>(table.cols);
    const dim3 grid((units + 255) / 256, n_tokens);
    EmbedKernel<L><<<grid, 256, 0, stream>>>(static_cast<const uint8_t*>(table.data),
                                             table.row_bytes, units, tokens, out.data, out.stride);
    return cudaGetLastError();
  });
}

}  // namespace smollm::runtime::cuda
