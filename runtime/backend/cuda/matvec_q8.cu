// The int8 mat-vec path: activations quantized once per matmul (activation_quant.h), then
// integer dot products with the weight blocks as stored (block_dot.h), 1..8 columns per
// pass over the weights.
#include <cstdint>

#include "runtime/backend/cuda/activation_quant.h"
#include "runtime/backend/cuda/block_dot.h"
#include "runtime/backend/cuda/cuda_kernels.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;

__device__ float WarpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ int WarpMin(int v) {
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ int WarpSum(int v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Q8_0 / Q8_1: one warp per block of 32, one value per lane.
__global__ void QuantizeQ8Kernel(const float* __restrict__ x, int64_t x_stride,
                                 QuantizedActivations a, bool with_sum) {
  const int lane = threadIdx.x & 31;
  const int64_t blocks = a.cols / 32;
  const int64_t blk = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int64_t row = blockIdx.y;
  if (blk >= blocks) return;
  const float v = x[row * x_stride + 32 * blk + lane];
  const Int8BlockScale s = Q8BlockScale(WarpMax(fabsf(v)));
  const int q = Q8Quant(v, s.id);
  a.q[row * a.cols + 32 * blk + lane] = static_cast<int8_t>(q);
  const int sum = with_sum ? WarpSum(q) : 0;
  if (lane == 0) {
    a.d[row * blocks + blk] = RoundThroughFp16(s.d);
    if (with_sum) a.s[row * blocks + blk] = RoundThroughFp16(Fp16RangeClamp(sum * s.d));
  }
}

// Q8_K: one warp per block of 256, lane l holding values 8l .. 8l + 7.
__global__ void QuantizeQ8KKernel(const float* __restrict__ x, int64_t x_stride,
                                  QuantizedActivations a) {
  const int lane = threadIdx.x & 31;
  const int64_t blk = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int64_t row = blockIdx.y;
  if (blk >= a.cols / 256) return;
  const float* xb = x + row * x_stride + 256 * blk;
  const float4 v0 = *reinterpret_cast<const float4*>(xb + 8 * lane);
  const float4 v1 = *reinterpret_cast<const float4*>(xb + 8 * lane + 4);
  const float v[8] = {v0.x, v0.y, v0.z, v0.w, v1.x, v1.y, v1.z, v1.w};
  float amax = 0.0f;
  for (float e : v) amax = fmaxf(amax, fabsf(e));
  amax = WarpMax(amax);
  int first = 256;  // the first element of largest magnitude
  for (int i = 7; i >= 0; --i) {
    if (fabsf(v[i]) == amax) first = 8 * lane + i;
  }
  first = WarpMin(first);
  const float iscale = Q8KInverseScale(first < 256 ? xb[first] : 0.0f);
  int sum = 0;
  uint32_t packed[2] = {0, 0};
  for (int i = 0; i < 8; ++i) {
    const int q = iscale != 0.0f ? Q8KQuant(v[i], iscale) : 0;
    sum += q;
    packed[i / 4] |= static_cast<uint32_t>(q & 0xff) << (8 * (i % 4));
  }
  int8_t* q = a.q + row * a.cols + 256 * blk + 8 * lane;
  *reinterpret_cast<uint2*>(q) = make_uint2(packed[0], packed[1]);
  sum += __shfl_xor_sync(0xffffffffu, sum, 1);  // the group of 16 is a pair of lanes
  if ((lane & 1) == 0) a.bsums[row * (a.cols / 16) + 16 * blk + lane / 2] = sum;
  if (lane == 0) a.d[row * (a.cols / 32) + blk] = iscale != 0.0f ? 1.0f / iscale : 0.0f;
}

// This thread's share (units part, part + parts, ... counted in lanes) of row `wrow`
// (`blocks` blocks) dotted with kCols activation columns, added to acc.
template <class T, int kCols>
__device__ __forceinline__ void RowShare(const uint8_t* __restrict__ wrow, int blocks, int first,
                                         int stride, const ActColumn (&cols)[kCols],
                                         float (&acc)[kCols]) {
  const int units = blocks * T::kUnits;
#pragma unroll 2
  for (int u = first; u < units; u += stride) {
    const int b = u / T::kUnits;
    const typename T::Unit t = T::Load(wrow + static_cast<int64_t>(b) * T::kBytes, u % T::kUnits);
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[c] += T::Dot(t, cols[c], b);
  }
}

// This thread's share of row `wrow` (nullptr: none) against kCols activation columns
// from col0 (columns past the last repeat it), summed per warp into partial[warp][c].
template <class T, int kCols>
__device__ __forceinline__ void WarpPartials(const uint8_t* __restrict__ wrow, int blocks,
                                             int first, int stride,
                                             const QuantizedActivations& a, int col0,
                                             float (*partial)[kCols]) {
  const int n_cols = static_cast<int>(a.rows);
  ActColumn cols[kCols];
  float acc[kCols];
#pragma unroll
  for (int c = 0; c < kCols; ++c) {
    cols[c] = ColumnOf(a, min(col0 + c, n_cols - 1));
    acc[c] = 0.0f;
  }
  if (wrow != nullptr) RowShare<T>(wrow, blocks, first, stride, cols, acc);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
  for (int c = 0; c < kCols; ++c) {
    float s = acc[c];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) partial[warp][c] = s;
  }
}

// One weight row per `warps_per_row` warps (rows of few blocks take one warp, long rows
// up to four), kCols activation columns from col0 = blockIdx.y * kCols (columns past the
// last repeat it and are not stored). `accumulate`: out += the product (a residual add).
template <class T, int kCols>
__global__ void __launch_bounds__(kThreads)
    MatVecQ8Kernel(const uint8_t* __restrict__ w, uint64_t row_bytes, int rows, int blocks,
                   int warps_per_row, QuantizedActivations a, float* __restrict__ out,
                   int64_t out_stride, bool accumulate) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int rows_per_block = kWarps / warps_per_row;
  const int row = blockIdx.x * rows_per_block + warp / warps_per_row;
  const int part = warp % warps_per_row;
  const int col0 = blockIdx.y * kCols;
  __shared__ float partial[kWarps][kCols];
  WarpPartials<T, kCols>(row < rows ? w + static_cast<uint64_t>(row) * row_bytes : nullptr,
                         blocks, part * 32 + lane, 32 * warps_per_row, a, col0, partial);
  __syncthreads();
  if (row >= rows || part != 0 || lane >= kCols || col0 + lane >= a.rows) return;
  float s = 0.0f;
  for (int p = 0; p < warps_per_row; ++p) s += partial[warp + p][lane];
  float* o = out + static_cast<int64_t>(col0 + lane) * out_stride + row;
  *o = accumulate ? *o + s : s;
}

// SwiGLU of row blockIdx.x: warps 0-1 dot the gate row, warps 2-3 the up row, and
// out = silu(gate) * up (the SiluMul kernel's formula).
template <class T, int kCols>
__global__ void __launch_bounds__(kThreads)
    SwiGluQ8Kernel(const uint8_t* __restrict__ gate, const uint8_t* __restrict__ up,
                   uint64_t row_bytes, int blocks, QuantizedActivations a,
                   float* __restrict__ out, int64_t out_stride) {
  static_assert(kWarps == 4);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x;
  const int col0 = blockIdx.y * kCols;
  const uint8_t* w = warp < 2 ? gate : up;
  __shared__ float partial[kWarps][kCols];
  WarpPartials<T, kCols>(w + static_cast<uint64_t>(row) * row_bytes, blocks,
                         (warp & 1) * 32 + lane, 64, a, col0, partial);
  __syncthreads();
  if (warp != 0 || lane >= kCols || col0 + lane >= a.rows) return;
  const float g = partial[0][lane] + partial[1][lane];
  const float u = partial[2][lane] + partial[3][lane];
  out[static_cast<int64_t>(col0 + lane) * out_stride + row] = g / (1.0f + expf(-g)) * u;
}

// Calls f.template operator()<kCols>() for the column tile of a batch of n: 1, 2, 4 or 8
// (a batch of up to 8 reads each weight once).
template <class F>
void WithColumnTile(int n, F&& f) {
  if (n == 1) return f.template operator()<1>();
  if (n == 2) return f.template operator()<2>();
  if (n <= 4) return f.template operator()<4>();
  return f.template operator()<8>();
}

// Warps per row, as measured on an H200 (one token, SmolLM3-3B shapes, GB/s of weight
// bytes with 1/2/4 warps): rows of 8 Q4_K blocks (2048 columns) 618/594/522 and 1538/1367/
// 993 (2048 and 11008 rows); rows of 43 blocks (11008 columns) 1561/1724/1534. So one warp
// up to 64 lanes' worth of units, two beyond.
int WarpsPerRow(int units) { return units >= 2 * 32 * 2 ? 2 : 1; }

}  // namespace

cudaError_t LaunchQuantizeActivations(cudaStream_t stream, const Activations& x,
                                      const QuantizedActivations& a) {
  if (a.type == GgmlType::kQ8_K) {
    const dim3 grid((a.cols / 256 + kWarps - 1) / kWarps, a.rows);
    QuantizeQ8KKernel<<<grid, kThreads, 0, stream>>>(x.data, x.stride, a);
  } else {
    const dim3 grid((a.cols / 32 + kWarps - 1) / kWarps, a.rows);
    QuantizeQ8Kernel<<<grid, kThreads, 0, stream>>>(x.data, x.stride, a,
                                                    a.type == GgmlType::kQ8_1);
  }
  return cudaGetLastError();
}

cudaError_t LaunchMatMulQ8(cudaStream_t stream, const Weight& w, const QuantizedActivations& a,
                           const Activations& out, bool accumulate, int warps_per_row) {
  const int n = static_cast<int>(a.rows);
  return WithBlockDot(
      w.type,
      [&]<class T>() {
        const auto* base = static_cast<const uint8_t*>(w.data);
        const int rows = static_cast<int>(w.rows);
        const int blocks = static_cast<int>(w.cols / T::kElements);
        const int wpr = warps_per_row > 0 ? warps_per_row : WarpsPerRow(blocks * T::kUnits);
        const int rows_per_block = kWarps / wpr;
        const auto grid = [&](int cols) {
          return dim3((rows + rows_per_block - 1) / rows_per_block, (n + cols - 1) / cols);
        };
        WithColumnTile(n, [&]<int kCols>() {
          MatVecQ8Kernel<T, kCols><<<grid(kCols), kThreads, 0, stream>>>(
              base, w.row_bytes, rows, blocks, wpr, a, out.data, out.stride, accumulate);
        });
        return cudaGetLastError();
      },
      cudaErrorInvalidValue);
}

cudaError_t LaunchSwiGluQ8(cudaStream_t stream, const Weight& gate, const Weight& up,
                           const QuantizedActivations& a, const Activations& out) {
  if (gate.type != up.type || gate.rows != up.rows || gate.cols != up.cols) {
    return cudaErrorInvalidValue;
  }
  const int n = static_cast<int>(a.rows);
  return WithBlockDot(
      gate.type,
      [&]<class T>() {
        const auto* g = static_cast<const uint8_t*>(gate.data);
        const auto* u = static_cast<const uint8_t*>(up.data);
        const int blocks = static_cast<int>(gate.cols / T::kElements);
        const auto grid = [&](int cols) { return dim3(gate.rows, (n + cols - 1) / cols); };
        WithColumnTile(n, [&]<int kCols>() {
          SwiGluQ8Kernel<T, kCols><<<grid(kCols), kThreads, 0, stream>>>(
              g, u, gate.row_bytes, blocks, a, out.data, out.stride);
        });
        return cudaGetLastError();
      },
      cudaErrorInvalidValue);
}

}  // namespace smollm::runtime::cuda
