// The bodies of the CPU kernels, compiled once per ISA: each cpu_kernels_<isa>.cc defines
// SMOLLM_CPU_ISA_NAMESPACE and SMOLLM_CPU_ISA and includes this file under its own
// compiler flags (no include guard on purpose). Plain loops for the auto-vectoriser;
// hand-written intrinsics kernels replace them where measurement says so.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#define SMOLLM_CPU_KERNELS_AVX2 1
#endif

#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/core/exp_polynomial.h"
#include "runtime/quant/half.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q5_k.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"

namespace smollm::runtime::cpu::SMOLLM_CPU_ISA_NAMESPACE {

// This ISA's int8 matvecs and activation quantizers (quant_matvec_<isa>.cc; the
// references for the generic ISA).
QuantMatVecFn QuantMatVecFor(GgmlType type);
void QuantizeActivations(GgmlType act_type, const float* x, uint8_t* dst, int64_t n);
// The matvec over x16-interleaved weights of `type` (q4k_x16.h, q6k_x16.h); nullptr
// where this ISA has none.
QuantMatVecFn X16MatVec(GgmlType type) noexcept;

namespace {

template <typename Block, int kElements>
void DequantizeBlocks(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kElements; ++i) {
    Block block;
    std::memcpy(&block, src + i * sizeof(Block), sizeof(Block));  // no alignment assumed
    DequantizeBlock(block, dst + i * kElements);
  }
}

// The 32-element formats written over plain byte arrays, so that the vectoriser sees
// through them (it does not through the block structs' field accesses). Same arithmetic
// as the quant module's reference decoders: d * q is exact, at most one rounding follows.
#if SMOLLM_CPU_KERNELS_AVX2
// AVX2 + F16C versions: the vectoriser leaves the nibble unpacking and the fp16 scale
// conversion scalar, which made these loops the whole cost of a decode step.
#include "runtime/backend/cpu/simd_unpack-inl.h"

// Eight bytes (the low half of `bytes`) as floats, zero- or sign-extended, minus `bias`.
__m256 U8ToF32(__m128i bytes, int bias) {
  return _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32(bias)));
}

// dst[0..31] = d * (q - bias) + m for the 32 quant bytes q.
void StoreBlock(__m256i q, int bias, float d, float m, bool has_min, float* dst) {
  const __m256 vd = _mm256_set1_ps(d);
  const __m256 vm = _mm256_set1_ps(m);
  const __m128i halves[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
  for (int h = 0; h < 2; ++h) {
    for (int part = 0; part < 2; ++part) {
      const __m128i bytes = part == 0 ? halves[h] : _mm_srli_si128(halves[h], 8);
      __m256 y = _mm256_mul_ps(vd, U8ToF32(bytes, bias));  // exact
      if (has_min) y = _mm256_add_ps(y, vm);
      _mm256_storeu_ps(dst + 16 * h + 8 * part, y);
    }
  }
}

void DequantizeQ4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ4_0), dst += 32) {
    StoreBlock(Nibbles(src + 2), 8, LoadF16(src), 0, false, dst);
  }
}

void DequantizeQ4_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ4_1), dst += 32) {
    StoreBlock(Nibbles(src + 4), 0, LoadF16(src), LoadF16(src + 2), true, dst);
  }
}

void DequantizeQ5_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ5_0), dst += 32) {
    const __m256i q = _mm256_or_si256(Nibbles(src + 6), FifthBits(src + 2));
    StoreBlock(q, 16, LoadF16(src), 0, false, dst);
  }
}

void DequantizeQ5_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ5_1), dst += 32) {
    const __m256i q = _mm256_or_si256(Nibbles(src + 8), FifthBits(src + 4));
    StoreBlock(q, 0, LoadF16(src), LoadF16(src + 2), true, dst);
  }
}

void DequantizeQ8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ8_0), dst += 32) {
    const __m256 d = _mm256_set1_ps(LoadF16(src));
    for (int part = 0; part < 4; ++part) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 2 + 8 * part));
      const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
      _mm256_storeu_ps(dst + 8 * part, _mm256_mul_ps(q, d));
    }
  }
}

// Stores 32 quant bytes as dst[i] = scale[i / 16] * (q[i] - bias) - offset[i / 16]: the
// K-quant sub-block pattern (Q4_K uses one scale per 32, Q6_K one per 16). Exact products,
// one rounding by the subtraction at most, as in the reference decoders.
void StoreScaled32(__m256i q, int bias, float scale0, float scale1, float offset0,
                   float offset1, float* dst) {
  const __m128i halves[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
  for (int h = 0; h < 2; ++h) {
    const __m256 scale = _mm256_set1_ps(h == 0 ? scale0 : scale1);
    const __m256 offset = _mm256_set1_ps(h == 0 ? offset0 : offset1);
    for (int part = 0; part < 2; ++part) {
      const __m128i bytes = part == 0 ? halves[h] : _mm_srli_si128(halves[h], 8);
      const __m256 y = _mm256_sub_ps(_mm256_mul_ps(scale, U8ToF32(bytes, bias)), offset);
      _mm256_storeu_ps(dst + 16 * h + 8 * part, y);
    }
  }
}

void DequantizeQ4_K(const uint8_t* src, float* dst, int64_t n) {
  const __m256i low_mask = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < n / 256; ++b, src += sizeof(BlockQ4_K), dst += 256) {
    const float d = LoadF16(src);
    const float dmin = LoadF16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* qs = src + 4 + kKScaleBytes;
    for (int group = 0; group < 4; ++group) {  // 64 elements: low nibbles, then high
      const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * group));
      const __m256i nibbles[2] = {_mm256_and_si256(bytes, low_mask),
                                  _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask)};
      for (int h = 0; h < 2; ++h) {
        const ScaleMin sm = UnpackScaleMinK(scales, 2 * group + h);
        const float ds = d * static_cast<float>(sm.scale);
        const float dm = dmin * static_cast<float>(sm.min);
        StoreScaled32(nibbles[h], 0, ds, ds, dm, dm, dst + 64 * group + 32 * h);
      }
    }
  }
}

void DequantizeQ6_K(const uint8_t* src, float* dst, int64_t n) {
  const __m256i low_mask = _mm256_set1_epi8(0x0f);
  const __m256i two_bits = _mm256_set1_epi8(0x03);
  for (int64_t b = 0; b < n / 256; ++b, src += sizeof(BlockQ6_K), dst += 256) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(src + 192);
    const float d = LoadF16(src + 208);
    for (int half = 0; half < 2; ++half) {  // 128 elements
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * half));
      const __m256i ql1 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * half + 32));
      const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * half));
      const __m256i low[4] = {_mm256_and_si256(ql0, low_mask), _mm256_and_si256(ql1, low_mask),
                              _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                              _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask)};
      for (int quarter = 0; quarter < 4; ++quarter) {  // 32 elements each
        const __m256i hi2 =
            _mm256_and_si256(_mm256_srli_epi16(high, 2 * quarter), two_bits);
        const __m256i q = _mm256_or_si256(low[quarter], _mm256_slli_epi16(hi2, 4));
        const int s = 8 * half + 2 * quarter;
        StoreScaled32(q, 32, d * static_cast<float>(scales[s]),
                      d * static_cast<float>(scales[s + 1]), 0.0f, 0.0f,
                      dst + 128 * half + 32 * quarter);
      }
    }
  }
}

#else  // portable versions
float LoadF16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return Fp16ToFp32(h);
}

// q[0..31] = low nibbles of qs[0..15], then high nibbles.
void UnpackNibbles(const uint8_t* qs, uint8_t* q) {
  for (int i = 0; i < 16; ++i) {
    q[i] = qs[i] & 0x0f;
    q[i + 16] = qs[i] >> 4;
  }
}

// q[i] |= bit i of the little-endian 32-bit qh, shifted to bit 4.
void AddFifthBits(const uint8_t* qh_bytes, uint8_t* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int i = 0; i < 32; ++i) q[i] |= static_cast<uint8_t>(((qh >> i) & 1u) << 4);
}

void DequantizeQ4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ4_0), dst += 32) {
    const float d = LoadF16(src);
    uint8_t q[32];
    UnpackNibbles(src + 2, q);
    for (int i = 0; i < 32; ++i) dst[i] = d * static_cast<float>(q[i] - 8);
  }
}

void DequantizeQ4_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ4_1), dst += 32) {
    const float d = LoadF16(src);
    const float m = LoadF16(src + 2);
    uint8_t q[32];
    UnpackNibbles(src + 4, q);
    for (int i = 0; i < 32; ++i) dst[i] = d * static_cast<float>(q[i]) + m;
  }
}

void DequantizeQ5_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ5_0), dst += 32) {
    const float d = LoadF16(src);
    uint8_t q[32];
    UnpackNibbles(src + 6, q);
    AddFifthBits(src + 2, q);
    for (int i = 0; i < 32; ++i) dst[i] = d * static_cast<float>(q[i] - 16);
  }
}

void DequantizeQ5_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ5_1), dst += 32) {
    const float d = LoadF16(src);
    const float m = LoadF16(src + 2);
    uint8_t q[32];
    UnpackNibbles(src + 8, q);
    AddFifthBits(src + 4, q);
    for (int i = 0; i < 32; ++i) dst[i] = d * static_cast<float>(q[i]) + m;
  }
}

void DequantizeQ8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += sizeof(BlockQ8_0), dst += 32) {
    const float d = LoadF16(src);
    const auto* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (int i = 0; i < 32; ++i) dst[i] = static_cast<float>(qs[i]) * d;
  }
}

void DequantizeQ4_K(const uint8_t* src, float* dst, int64_t n) {
  DequantizeBlocks<BlockQ4_K, 256>(src, dst, n);
}

void DequantizeQ6_K(const uint8_t* src, float* dst, int64_t n) {
  DequantizeBlocks<BlockQ6_K, 256>(src, dst, n);
}
#endif  // SMOLLM_CPU_KERNELS_AVX2

void F32ToF16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp32ToFp16(src[i]);
}

void DequantizeF32(const uint8_t* src, float* dst, int64_t n) {
  std::memcpy(dst, src, n * sizeof(float));
}

void DequantizeF16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = Fp16ToFp32(h);
  }
}

void DequantizeBF16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = Bf16ToFp32(h);
  }
}

DequantizeRowFn RowDequantizer(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return DequantizeF32;
    case GgmlType::kF16: return DequantizeF16;
    case GgmlType::kBF16: return DequantizeBF16;
    case GgmlType::kQ4_0: return DequantizeQ4_0;
    case GgmlType::kQ4_1: return DequantizeQ4_1;
    case GgmlType::kQ5_0: return DequantizeQ5_0;
    case GgmlType::kQ5_1: return DequantizeQ5_1;
    case GgmlType::kQ8_0: return DequantizeQ8_0;
    case GgmlType::kQ4_K: return DequantizeQ4_K;
    case GgmlType::kQ5_K: return DequantizeBlocks<BlockQ5_K, 256>;
    case GgmlType::kQ6_K: return DequantizeQ6_K;
    default: return nullptr;
  }
}

// Sixteen independent partial sums let the compiler vectorise without reassociating a
// single accumulator (results are deterministic for a given ISA).
float Dot(const float* a, const float* b, int64_t n) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  for (int step = kLanes / 2; step > 0; step /= 2) {
    for (int l = 0; l < step; ++l) acc[l] += acc[l + step];
  }
  return acc[0] + tail;
}

void Scale(float a, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= a;
}

#include "runtime/backend/cpu/attention_kernels-inl.h"

// exp(x) by runtime/core/exp_polynomial.h (as ExpNonPositive in
// runtime/sampling/row_kernels.h, which covers x <= 0 only), 2^n put straight into the
// exponent bits. It stays private to each ISA's translation unit (the reason is in that
// header). Within 2 ulp of libm on [-87.3, 88.7]; 0 below (libm: a denormal), +inf above
// 88.72 as libm, exp(88.7) in between (the top of the range, kept off the exponent's
// overflow). Branch-free, so the callers' loops vectorise.
inline float ExpPoly(float x_in) {
  using namespace exp_polynomial;  // NOLINT(build/namespaces): its constants, by name
  const float x = std::min(std::max(x_in, -87.3f), 88.7f);
  const float shifted = x * kLog2e + kRoundMagic;
  const float n = shifted - kRoundMagic;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  const float p = ExpOfReduced(r);
  int32_t bits, n_bits;
  std::memcpy(&bits, &p, 4);
  std::memcpy(&n_bits, &shifted, 4);
  // The low bits of `shifted` hold n + 2^22 + 2^23; n's two's-complement bits shifted
  // into the exponent field add n to p's exponent (p is in [0.7, 1.5], far from both ends).
  bits += (n_bits - 0x4B400000) << 23;
  float result;
  std::memcpy(&result, &bits, 4);
  result = x_in > 88.72283935546875f ? std::numeric_limits<float>::infinity() : result;
  return x_in < -87.3f ? 0.0f : result;
}

void SiluMul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + ExpPoly(-gate[i])) * up[i];
}

// The sum in kExpSumLanes lanes (lane l adds x[l], x[l + 16], ... in order), then the
// lanes pairwise: a fixed order that vectorises, where one running sum was a chain of
// dependent adds as long as the block.
float ExpShifted(float* x, float shift, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = ExpPoly(x[i] - shift);
  float lanes[kExpSumLanes] = {};
  int64_t i = 0;
  for (; i + kExpSumLanes <= n; i += kExpSumLanes) {
    for (int l = 0; l < kExpSumLanes; ++l) lanes[l] += x[i + l];
  }
  for (int l = 0; i + l < n; ++l) lanes[l] += x[i + l];
  for (int step = kExpSumLanes / 2; step > 0; step /= 2) {
    for (int l = 0; l < step; ++l) lanes[l] += lanes[l + step];
  }
  return lanes[0];
}

}  // namespace

const CpuKernels& Kernels() {
  static const CpuKernels kernels{
      SMOLLM_CPU_ISA,      RowDequantizer, Dot,        Scale,    DotKeys,
      AxpyF16Rows,         SiluMul,        ExpShifted, F32ToF16, QuantMatVecFor,
      QuantizeActivations, X16MatVec};
  return kernels;
}

}  // namespace smollm::runtime::cpu::SMOLLM_CPU_ISA_NAMESPACE
