// Activations quantized to int8 for the mat-vec kernels, with the CPU backend's numbers:
// Q8_0 / Q8_1 (one scale per 32 values) or Q8_K (one per 256, with sums of 16), the
// formats runtime/quant quantizes to and the CPU's int8 dot products read. A decode token
// therefore meets the same integers on both backends, and their logits differ only by the
// order of the float steps (the f32 kernel they replace differed by the activations'
// rounding, ~1e-2 of a logit, enough to flip greedy choices).
//
// The element helpers are host- and device-callable so that the CPU tests check them
// against the reference quantizers (cuda_host/block_dot_test.cc); the kernels that use
// them are in matvec_q8.cu.
#pragma once

#include <cmath>
#include <cstdint>

#include "runtime/backend/cuda/block_decode.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cuda {

// Device layout of a quantized activation matrix of `rows` rows of `cols` values (cols a
// multiple of the format's block): plain arrays, so that the kernels' loads are aligned.
//   q     int8  [rows][cols]       the quants
//   d     float [rows][cols / 32]  the scale of each block (Q8_K: entries [0, cols/256)),
//                                  as the f32 value of the fp16 the format stores
//   s     float [rows][cols / 32]  Q8_1: d * sum(q) as the fp16 the format stores
//   bsums int32 [rows][cols / 16]  Q8_K: sums of 16 quants
struct QuantizedActivations {
  GgmlType type = GgmlType::kQ8_0;
  int64_t rows = 0, cols = 0;
  int8_t* q = nullptr;
  float* d = nullptr;
  float* s = nullptr;
  int32_t* bsums = nullptr;
};

// Byte offsets of the arrays above for rows x cols, each 256-byte aligned; `end` is their
// total size.
struct QuantizedActivationLayout {
  uint64_t q = 0, d, s, bsums, end;
  QuantizedActivationLayout(int64_t rows, int64_t cols) {
    const auto round = [](uint64_t b) { return (b + 255) / 256 * 256; };
    d = round(rows * cols);
    s = d + round(rows * (cols / 32) * 4);
    bsums = s + round(rows * (cols / 32) * 4);
    end = bsums + round(rows * (cols / 16) * 4);
  }
};

inline uint64_t QuantizedActivationBytes(int64_t rows, int64_t cols) {
  return QuantizedActivationLayout(rows, cols).end;
}

// The view of `bytes` (QuantizedActivationBytes(rows, cols) of them) for rows x cols.
inline QuantizedActivations QuantizedActivationsAt(void* bytes, GgmlType type, int64_t rows,
                                                   int64_t cols) {
  const QuantizedActivationLayout layout(rows, cols);
  auto* p = static_cast<uint8_t*>(bytes);
  return {type,
          rows,
          cols,
          reinterpret_cast<int8_t*>(p + layout.q),
          reinterpret_cast<float*>(p + layout.d),
          reinterpret_cast<float*>(p + layout.s),
          reinterpret_cast<int32_t*>(p + layout.bsums)};
}

// The activation format the int8 kernel of weight type `w` reads (as the CPU backend's
// ActivationTypeFor); kF32 for the weight types that keep the f32 kernel (F32, F16).
inline GgmlType ActivationTypeOf(GgmlType w) {
  switch (w) {
    case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: return GgmlType::kQ8_0;
    case GgmlType::kQ4_1: case GgmlType::kQ5_1: return GgmlType::kQ8_1;
    case GgmlType::kQ4_K: case GgmlType::kQ6_K: return GgmlType::kQ8_K;
    default: return GgmlType::kF32;
  }
}

// True for the weight types with an int8 mat-vec (all that KernelSupports names but F32
// and F16).
inline bool HasInt8MatVec(GgmlType w) { return ActivationTypeOf(w) != GgmlType::kF32; }

SMOLLM_HD float Fp16RangeClamp(float v) {  // as runtime/quant's ClampToFp16Range
  return fabsf(v) < 65520.0f ? v : copysignf(65504.0f, v);
}

// The f32 value of v rounded to fp16 (nearest, ties to even).
SMOLLM_HD float RoundThroughFp16(float v) {
#ifdef __CUDA_ARCH__
  return __half2float(__float2half_rn(v));
#else
  return Fp16ToFp32(Fp32ToFp16(v));
#endif
}

// Q8_0/Q8_1: d = amax / 127 (kept in fp16 range) and the multiplier 1 / d of the quants.
struct Int8BlockScale {
  float d, id;
};
SMOLLM_HD Int8BlockScale Q8BlockScale(float amax) {
  const float d = Fp16RangeClamp(amax / 127.0f);
  return {d, d != 0.0f ? 1.0f / d : 0.0f};
}

// A Q8_0/Q8_1 quant: x * id clamped to +-127, rounded half away from zero.
SMOLLM_HD int Q8Quant(float x, float id) {
  return static_cast<int>(roundf(fminf(fmaxf(x * id, -127.0f), 127.0f)));
}

// A Q8_K quant: iscale * x clamped to +-127 (NaN to -127), rounded half to even.
SMOLLM_HD int Q8KQuant(float x, float iscale) {
  const float v = iscale * x;
  if (!(v > -127.0f)) return -127;
  if (!(v < 127.0f)) return 127;
  return static_cast<int>(rintf(v));
}

// Q8_K's multiplier: the value of largest magnitude (the first of them) maps to -127; 0
// for a block that quantizes to zeros (all zero, or 127 / max overflows).
SMOLLM_HD float Q8KInverseScale(float first_max) {
  if (first_max == 0.0f) return 0.0f;
  const float iscale = -127.0f / first_max;
#ifdef __CUDA_ARCH__
  return isfinite(iscale) ? iscale : 0.0f;
#else
  return std::isfinite(iscale) ? iscale : 0.0f;
#endif
}

}  // namespace smollm::runtime::cuda
