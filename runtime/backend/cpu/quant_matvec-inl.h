// The SIMD int8 matvec kernels, compiled once per ISA: quant_matvec_<isa>.cc defines
// SMOLLM_CPU_ISA_NAMESPACE and includes this file under its flags (no include guard on
// purpose). 256-bit AVX2 code; where AVX-512 VNNI is compiled in (with VL), vpdpbusd
// replaces the maddubs + madd pair of the u8 x s8 dot products. Integer block sums are
// exact; their scaled sums accumulate in float lanes (a reassociation of the reference's
// block-by-block sum). The translation units are compiled with -ffp-contract=off, so
// that no instantiation fuses differently from another.
//
// Every kernel reads a weight block once and applies it to N activation columns; each
// column's operations are the same for every N (batch invariance, quant_matvec.h).

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "runtime/backend/cpu/block32_x16.h"
#include "runtime/backend/cpu/q4k_x16.h"
#include "runtime/backend/cpu/q6k_x16.h"
#include "runtime/backend/cpu/quant_matvec.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"
#include "runtime/quant/scale_search.h"

namespace smollm::runtime::cpu::SMOLLM_CPU_ISA_NAMESPACE {
namespace {

constexpr int kQ8_0Bytes = 34;   // fp16 d, 32 x int8
constexpr int kQ8_1Bytes = 36;   // fp16 d, fp16 s, 32 x int8
constexpr int kQ8_KBytes = 292;  // f32 d, 256 x int8, 16 x int16 sums
constexpr int kQ8_KQuantsOffset = 4;
constexpr int kQ8_KBsumsOffset = 260;

// For broadcasting 4 activation bytes from a plain load: may_alias for the byte rows;
// aligned(1) because activation rows of 34-byte blocks (Q8_0) put the dwords at any
// address, and a 4-aligned type there is undefined.
typedef int32_t UnalignedInt32 __attribute__((may_alias, aligned(1)));

#include "runtime/backend/cpu/simd_unpack-inl.h"

float LoadF32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}

__m256i Load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// acc + in each int32 lane the sum of four u8 x s8 products (no saturation: every
// caller keeps a pair of products within int16).
__m256i DotU8S8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// u8 x s8 products summed in pairs, then multiplied by the int16 lanes of `scale` and
// summed in pairs again: each int32 lane is scale * (sum of four products).
__m256i ScaledDot(__m256i u, __m256i s, __m256i scale) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale);
}

int32_t HorizontalSum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Column c's sub-block pair sums of Q8_K block b (ActivationScales): four 32-bit words,
// each one int16 pair.
inline const uint8_t* SubBlockPairSums(const QuantMatVecArgs& p, int c, int64_t b) {
  return reinterpret_cast<const uint8_t*>(p.act_scales + c * p.act_scale_stride + 4 * b);
}

// ---- 32-element formats ----
// Each weight format: its block size, where its scale (and min) sit, and its 32 quants
// as bytes: signed formats give q - offset, formats with a min the unsigned q.
struct Q4_0 {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static __m256i Quants(const uint8_t* b) { return _mm256_sub_epi8(Nibbles(b + 2), _mm256_set1_epi8(8)); }
};
struct Q5_0 {
  static constexpr int kBytes = 22;
  static constexpr bool kHasMin = false;
  static __m256i Quants(const uint8_t* b) {
    return _mm256_sub_epi8(_mm256_or_si256(Nibbles(b + 6), FifthBits(b + 2)), _mm256_set1_epi8(16));
  }
};
struct Q8_0 {
  static constexpr int kBytes = 34;
  static constexpr bool kHasMin = false;
  static __m256i Quants(const uint8_t* b) { return Load256(b + 2); }
};
struct Q4_1 {
  static constexpr int kBytes = 20;
  static constexpr bool kHasMin = true;
  static __m256i Quants(const uint8_t* b) { return Nibbles(b + 4); }
};
struct Q5_1 {
  static constexpr int kBytes = 24;
  static constexpr bool kHasMin = true;
  static __m256i Quants(const uint8_t* b) { return _mm256_or_si256(Nibbles(b + 8), FifthBits(b + 4)); }
};

// Per column and row: float lanes accumulate (d_w * d_act) * (integer block sum), and a
// scalar accumulates m_w * s_act for the formats with a min. R rows advance together
// block by block: with few columns, one row's accumulator is a chain of dependent adds
// that would bound the loop by their latency; R independent chains overlap. Each
// (row, column) result still takes exactly the same operations in the same order.
template <typename Format, int N, int R>
void MatVec32Rows(const QuantMatVecArgs& p, int64_t first_row) {
  constexpr int kActBytes = Format::kHasMin ? kQ8_1Bytes : kQ8_0Bytes;
  constexpr int kActQuants = Format::kHasMin ? 4 : 2;
  const int64_t n_blocks = p.k / 32;
  const uint8_t* w[R];
  __m256 acc[R][N];
  float min_sum[R][N];
  for (int i = 0; i < R; ++i) {
    w[i] = p.weights + (first_row + i) * p.weight_row_bytes;
    for (int c = 0; c < N; ++c) acc[i][c] = _mm256_setzero_ps(), min_sum[i][c] = 0;
  }
  for (int64_t b = 0; b < n_blocks; ++b) {
    for (int i = 0; i < R; ++i) {
      const uint8_t* wb = w[i] + b * Format::kBytes;
      const float dw = LoadF16(wb);
      const float mw = Format::kHasMin ? LoadF16(wb + 2) : 0.0f;
      const __m256i q = Format::Quants(wb);
      // Signed quants: |q| as the unsigned operand, the activation takes q's sign.
      const __m256i u = Format::kHasMin ? q : _mm256_sign_epi8(q, q);
      for (int c = 0; c < N; ++c) {
        const __m256i y = Load256(p.act + c * p.act_row_bytes + b * kActBytes + kActQuants);
        const float* scales = p.act_scales + c * p.act_scale_stride;  // d..., then s...
        const __m256i s = Format::kHasMin ? y : _mm256_sign_epi8(y, q);
        const __m256 block_sum = _mm256_cvtepi32_ps(DotU8S8(_mm256_setzero_si256(), u, s));
        acc[i][c] = _mm256_fmadd_ps(block_sum, _mm256_set1_ps(dw * scales[b]), acc[i][c]);
        if constexpr (Format::kHasMin) min_sum[i][c] += mw * scales[n_blocks + b];
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int c = 0; c < N; ++c) {
      p.out[c * p.out_stride + first_row + i] = HorizontalSum(acc[i][c]) + min_sum[i][c];
    }
  }
}

// Rows in groups of R (more where few columns leave few independent chains), then one
// at a time.
template <typename Format, int N>
void MatVec32(const QuantMatVecArgs& p) {
  constexpr int R = N == 1 ? 4 : (N == 2 ? 2 : 1);
  int64_t r = 0;
  for (; r + R <= p.rows; r += R) MatVec32Rows<Format, N, R>(p, r);
  for (; r < p.rows; ++r) MatVec32Rows<Format, N, 1>(p, r);
}

// ---- K-quants against Q8_K ----
// A Q4_K block's eight 6-bit scales (bytes 0-7) and eight 6-bit mins (bytes 8-15) from
// their 12-byte packing (k_scales.h), four at a time in 32-bit words.
__m128i UnpackScalesMinsK(const uint8_t* packed) {
  uint32_t u[3];
  std::memcpy(u, packed, sizeof(u));
  const uint32_t scales_low = u[0] & 0x3f3f3f3f;
  const uint32_t mins_low = u[1] & 0x3f3f3f3f;
  const uint32_t scales_high = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
  const uint32_t mins_high = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
  return _mm_set_epi32(static_cast<int>(mins_high), static_cast<int>(mins_low),
                       static_cast<int>(scales_high), static_cast<int>(scales_low));
}

// Shuffle masks that broadcast int16 lane i of each 128-bit half to the whole half.
__m256i BroadcastLane16(int lane_low, int lane_high) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(((2 * lane_high + 1) << 8) | 2 * lane_high)),
                          _mm_set1_epi16(static_cast<int16_t>(((2 * lane_low + 1) << 8) | 2 * lane_low)));
}

// Four int32 lanes summing to min_j * (bsums[2j] + bsums[2j + 1]) over the sub-block
// pairs j; mins: 8 x int16.
__m128i MinSums(const uint8_t* bsums_bytes, __m128i mins) {
  const __m256i bsums = Load256(bsums_bytes);
  const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
  return _mm_madd_epi16(pairs, mins);
}

template <int N>
void MatVecQ4_K(const QuantMatVecArgs& p) {
  constexpr int kBytes = 144;
  const __m256i low_mask = _mm256_set1_epi8(0x0f);
  __m256i splat[8];  // shuffle masks: scale j to every int16 lane
  for (int j = 0; j < 8; ++j) splat[j] = BroadcastLane16(j, j);
  const int64_t n_blocks = p.k / 256;
  for (int64_t r = 0; r < p.rows; ++r) {
    const uint8_t* w = p.weights + r * p.weight_row_bytes;
    __m256 acc[N];       // (d_act * d) * scaled integer sums, lane by lane
    __m128 acc_min[N];   // (d_act * dmin) * min sums
    for (int c = 0; c < N; ++c) acc[c] = _mm256_setzero_ps(), acc_min[c] = _mm_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kBytes) {
      const __m128i scales_mins = UnpackScalesMinsK(w + 4);
      const __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins));
      const __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8));
      __m256i isum[N];
      for (int c = 0; c < N; ++c) isum[c] = _mm256_setzero_si256();
      for (int g = 0; g < 4; ++g) {  // 64 elements: sub-block 2g low nibbles, 2g+1 high
        const __m256i bytes = Load256(w + 16 + 32 * g);
        const __m256i lo = _mm256_and_si256(bytes, low_mask);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);
        const __m256i scale_lo = _mm256_shuffle_epi8(scales, splat[2 * g]);
        const __m256i scale_hi = _mm256_shuffle_epi8(scales, splat[2 * g + 1]);
        for (int c = 0; c < N; ++c) {
          const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes + 4 + 64 * g;
          isum[c] = _mm256_add_epi32(isum[c], ScaledDot(lo, Load256(a), scale_lo));
          isum[c] = _mm256_add_epi32(isum[c], ScaledDot(hi, Load256(a + 32), scale_hi));
        }
      }
      const float d = LoadF16(w);
      const float dmin = LoadF16(w + 2);
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        const float ad = LoadF32(a);
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(ad * d), acc[c]);
        acc_min[c] = _mm_fmadd_ps(_mm_cvtepi32_ps(MinSums(a + 260, mins)), _mm_set1_ps(ad * dmin),
                                  acc_min[c]);
      }
    }
    for (int c = 0; c < N; ++c) {
      p.out[c * p.out_stride + r] = HorizontalSum(acc[c]) - HorizontalSum(_mm256_castps128_ps256(acc_min[c]));
    }
  }
}

template <int N>
void MatVecQ6_K(const QuantMatVecArgs& p) {
  constexpr int kBytes = 210;
  const __m256i low_mask = _mm256_set1_epi8(0x0f);
  const __m256i two_bits = _mm256_set1_epi8(0x03);
  __m256i splat[4];  // quarter q of a half: its two sub-blocks' scales, one per 128 bits
  for (int q = 0; q < 4; ++q) splat[q] = BroadcastLane16(2 * q, 2 * q + 1);
  const int64_t n_blocks = p.k / 256;
  for (int64_t r = 0; r < p.rows; ++r) {
    const uint8_t* w = p.weights + r * p.weight_row_bytes;
    __m256 acc[N];  // (d_act * d) * integer sums, lane by lane
    for (int c = 0; c < N; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kBytes) {
      const auto* sc = reinterpret_cast<const int8_t*>(w + 192);
      __m256i isum[N];
      for (int c = 0; c < N; ++c) isum[c] = _mm256_setzero_si256();
      for (int half = 0; half < 2; ++half) {  // 128 elements
        const __m256i half_scales = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 8 * half))));
        const __m256i ql0 = Load256(w + 64 * half);
        const __m256i ql1 = Load256(w + 64 * half + 32);
        const __m256i qh = Load256(w + 128 + 32 * half);
        const __m256i low[4] = {_mm256_and_si256(ql0, low_mask), _mm256_and_si256(ql1, low_mask),
                                _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                                _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask)};
        for (int quarter = 0; quarter < 4; ++quarter) {  // 32 elements, two sub-blocks
          const __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * quarter), two_bits);
          const __m256i q = _mm256_or_si256(low[quarter], _mm256_slli_epi16(high, 4));
          const __m256i scale = _mm256_shuffle_epi8(half_scales, splat[quarter]);
          for (int c = 0; c < N; ++c) {
            const uint8_t* a =
                p.act + c * p.act_row_bytes + b * kQ8_KBytes + 4 + 128 * half + 32 * quarter;
            isum[c] = _mm256_add_epi32(isum[c], ScaledDot(q, Load256(a), scale));
          }
        }
      }
      // The -32 offset: 32 * sum over sub-blocks of scale * (sum of the activations).
      const __m256i scales16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
      const float d = LoadF16(w + 208);
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(Load256(a + 260), scales16), 5);
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[c], offset)),
                                 _mm256_set1_ps(LoadF32(a) * d), acc[c]);
      }
    }
    for (int c = 0; c < N; ++c) p.out[c * p.out_stride + r] = HorizontalSum(acc[c]);
  }
}

// Picks the instantiation for p.n_cols.
template <template <int> class Kernel>
void ByColumns(const QuantMatVecArgs& p) {
  switch (p.n_cols) {
    case 1: return Kernel<1>::Run(p);
    case 2: return Kernel<2>::Run(p);
    case 3: return Kernel<3>::Run(p);
    case 4: return Kernel<4>::Run(p);
    case 5: return Kernel<5>::Run(p);
    case 6: return Kernel<6>::Run(p);
    case 7: return Kernel<7>::Run(p);
    default: return Kernel<8>::Run(p);
  }
}

template <typename Format>
struct Bind32 {
  template <int N>
  struct Kernel {
    static void Run(const QuantMatVecArgs& p) { MatVec32<Format, N>(p); }
  };
};
template <int N>
struct Q4_KKernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ4_K<N>(p); }
};
template <int N>
struct Q6_KKernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ6_K<N>(p); }
};

#include "runtime/backend/cpu/activation_quant-inl.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include "runtime/backend/cpu/q4k_x16_kernel-inl.h"
#include "runtime/backend/cpu/q6k_x16_kernel-inl.h"
#include "runtime/backend/cpu/block32_x16_kernel-inl.h"
#else
#include "runtime/backend/cpu/x16_avx2_kernels-inl.h"
#endif

}  // namespace

void QuantizeActivations(GgmlType act_type, const float* x, uint8_t* dst, int64_t n) {
  switch (act_type) {
    case GgmlType::kQ8_0:
      for (int64_t i = 0; i < n / 32; ++i) QuantizeBlock8(x + 32 * i, false, dst + kQ8_0Bytes * i);
      break;
    case GgmlType::kQ8_1:
      for (int64_t i = 0; i < n / 32; ++i) QuantizeBlock8(x + 32 * i, true, dst + kQ8_1Bytes * i);
      break;
    case GgmlType::kQ8_K:
      for (int64_t i = 0; i < n / 256; ++i) QuantizeBlockK(x + 256 * i, dst + kQ8_KBytes * i);
      break;
    default:
      ReferenceQuantizeActivations(act_type, x, dst, n);
      break;
  }
}

QuantMatVecFn X16MatVec(GgmlType type) noexcept {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  if (type == GgmlType::kQ4_K) return ByColumns<Q4KX16Kernel>;
  if (type == GgmlType::kQ6_K) return ByColumns<Q6KX16Kernel>;
  if (type == GgmlType::kQ4_0) return ByColumns<BindBlock32X16<X16Q4_0>::Kernel>;
  if (type == GgmlType::kQ4_1) return ByColumns<BindBlock32X16<X16Q4_1>::Kernel>;
  if (type == GgmlType::kQ5_0) return ByColumns<BindBlock32X16<X16Q5_0>::Kernel>;
  if (type == GgmlType::kQ8_0) return ByColumns<BindBlock32X16<X16Q8_0>::Kernel>;
#else
  if (type == GgmlType::kQ4_K) return ByColumns<Q4KX16Avx2Kernel>;
  if (type == GgmlType::kQ6_K) return ByColumns<Q6KX16Avx2Kernel>;
  if (type == GgmlType::kQ4_0) return ByColumns<BindBlock32X16Avx2<X16Q4_0>::Kernel>;
  if (type == GgmlType::kQ4_1) return ByColumns<BindBlock32X16Avx2<X16Q4_1>::Kernel>;
  if (type == GgmlType::kQ5_0) return ByColumns<BindBlock32X16Avx2<X16Q5_0>::Kernel>;
  if (type == GgmlType::kQ8_0) return ByColumns<BindBlock32X16Avx2<X16Q8_0>::Kernel>;
#endif
  return nullptr;
}

QuantMatVecFn QuantMatVecFor(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: return ByColumns<Bind32<Q4_0>::Kernel>;
    case GgmlType::kQ5_0: return ByColumns<Bind32<Q5_0>::Kernel>;
    case GgmlType::kQ8_0: return ByColumns<Bind32<Q8_0>::Kernel>;
    case GgmlType::kQ4_1: return ByColumns<Bind32<Q4_1>::Kernel>;
    case GgmlType::kQ5_1: return ByColumns<Bind32<Q5_1>::Kernel>;
    case GgmlType::kQ4_K: return ByColumns<Q4_KKernel>;
    case GgmlType::kQ6_K: return ByColumns<Q6_KKernel>;
    default: return nullptr;
  }
}

}  // namespace smollm::runtime::cpu::SMOLLM_CPU_ISA_NAMESPACE
