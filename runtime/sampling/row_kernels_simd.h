// Internal: the row passes for one vector width, included by row_kernels.cc (4 lanes)
// and row_kernels_avx2.cc (8 lanes, built with -mavx2). Do not include elsewhere.
//
// Everything here has internal linkage and calls no inline function with external
// linkage (no std::min, not even ExpNonPositive; exp_polynomial.h's ExpOfReduced is
// static): the linker must never merge the AVX2 copy of a function into code that runs
// on CPUs without AVX2. Built without FMA and with -ffp-contract=off, every lane performs
// ExpNonPositive's exact operations, so all widths give bit-identical results.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/core/exp_polynomial.h"
#include "runtime/sampling/row_kernels.h"

namespace smollm::runtime {
namespace {  // NOLINT(build/namespaces): internal linkage per including file, on purpose

// Vector types of W lanes (spelled out per width: GCC ignores a vector_size that
// depends on a template parameter).
template <int W>
struct VectorTypes;
template <>
struct VectorTypes<4> {
  typedef float F __attribute__((vector_size(16)));
  typedef int32_t I __attribute__((vector_size(16)));
};
template <>
struct VectorTypes<8> {
  typedef float F __attribute__((vector_size(32)));
  typedef int32_t I __attribute__((vector_size(32)));
};

template <int W>
struct Lanes {
  using F = typename VectorTypes<W>::F;
  using I = typename VectorTypes<W>::I;

  [[gnu::always_inline]] static F Load(const float* p) {
    F v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static void Store(float* p, F v) { std::memcpy(p, &v, sizeof v); }
  [[gnu::always_inline]] static F Splat(float x) { return F{} + x; }
  // Lane-wise `mask ? a : b` for a comparison mask (all ones or all zeros per lane).
  [[gnu::always_inline]] static F Select(I mask, F a, F b) {
    return (F)(((I)a & mask) | ((I)b & ~mask));
  }

  // ExpNonPositive, lane by lane, with the same constants and operation order.
  [[gnu::always_inline]] static F Exp(F x) {
    const I keep = x >= kExpLowest;
    const F xc = Select(keep, x, Splat(kExpLowest));
    using namespace exp_polynomial;  // NOLINT(build/namespaces): its constants, by name
    const F n = (xc * kLog2e + kRoundMagic) - kRoundMagic;
    const F r = (xc - n * kLn2Hi) - n * kLn2Lo;
    const F p = ExpOfReduced(r);
    const F scale = (F)((__builtin_convertvector(n, I) + 127) << 23);
    return (F)((I)(p * scale) & keep);
  }

  static bool CopyRowChecked(const float* src, float* dst, size_t n) {
    I bad{};
    size_t i = 0;
    for (; i + W <= n; i += W) {
      const F v = Load(src + i);
      bad |= ~(v < INFINITY);  // NaN compares false
      Store(dst + i, v);
    }
    int32_t any = 0;
    for (int j = 0; j < W; ++j) any |= bad[j];
    for (; i < n; ++i) {
      any |= src[i] < INFINITY ? 0 : 1;
      dst[i] = src[i];
    }
    return any == 0;
  }

  static float RowMax(const float* row, size_t n) {
    F a = Splat(-INFINITY), b = a;
    size_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      const F x = Load(row + i), y = Load(row + i + W);
      a = Select(x > a, x, a);
      b = Select(y > b, y, b);
    }
    a = Select(b > a, b, a);
    float max = -INFINITY;
    for (int j = 0; j < W; ++j) max = a[j] > max ? a[j] : max;
    for (; i < n; ++i) max = row[i] > max ? row[i] : max;
    return max;
  }

  static size_t RowFind(const float* row, size_t n, float value) {
    size_t i = 0;
    for (; i + W <= n; i += W) {
      const I eq = Load(row + i) == value;
      int32_t any = 0;
      for (int j = 0; j < W; ++j) any |= eq[j];
      if (any != 0) break;
    }
    for (; i < n; ++i) {
      if (row[i] == value) return i;
    }
    return n;
  }

  static size_t RowFindAtLeast(const float* row, size_t n, size_t start, float threshold) {
    size_t i = start;
    for (; i + W <= n; i += W) {
      const I hit = Load(row + i) >= threshold;
      int32_t any = 0;
      for (int j = 0; j < W; ++j) any |= hit[j];
      if (any != 0) break;
    }
    for (; i < n; ++i) {
      if (row[i] >= threshold) return i;
    }
    return n;
  }

  // Sum of exp((row[i] - max) * scale) over [0, n); with kStore the terms replace the
  // row. Terms are summed in kGroup float partial sums (term i into sum i % kGroup)
  // whatever W is, then those in order in double, so every width adds the same numbers
  // in the same order. The tail goes through the vector path too, padded with -inf
  // (whose exp is 0).
  static constexpr int kGroup = 16;
  static constexpr int kVectors = kGroup / W;
  static_assert(kGroup % W == 0);

  template <bool kStore>
  static double ExpSum(float* row, size_t n, float max, float scale) {
    F acc[kVectors] = {};
    const F vmax = Splat(max);
    size_t i = 0;
    // Several vectors per iteration: the polynomial is one long dependency chain.
    for (; i + kGroup <= n; i += kGroup) {
      for (int v = 0; v < kVectors; ++v) {
        const F e = Exp((Load(row + i + v * W) - vmax) * scale);
        if constexpr (kStore) Store(row + i + v * W, e);
        acc[v] += e;
      }
    }
    if (i < n) {
      const size_t count = n - i;
      float tail[kGroup];
      for (int j = 0; j < kGroup; ++j) tail[j] = -INFINITY;
      std::memcpy(tail, row + i, count * sizeof(float));
      for (int v = 0; v < kVectors; ++v) {
        const F e = Exp((Load(tail + v * W) - vmax) * scale);
        if constexpr (kStore) Store(tail + v * W, e);
        acc[v] += e;
      }
      if constexpr (kStore) std::memcpy(row + i, tail, count * sizeof(float));
    }
    double sum = 0.0;
    for (int v = 0; v < kVectors; ++v) {
      for (int j = 0; j < W; ++j) sum += static_cast<double>(acc[v][j]);
    }
    return sum;
  }

  // Block by block, so the float partial sums stay short and each block's sum is known.
  static double RowSumExp(const float* row, size_t n, float max) {
    double total = 0.0;
    for (size_t start = 0; start < n; start += kRowBlock) {
      const size_t len = n - start < kRowBlock ? n - start : kRowBlock;
      // ExpSum<false> only reads the row.
      total += ExpSum<false>(const_cast<float*>(row) + start, len, max, 1.0f);
    }
    return total;
  }

  static double RowSoftmaxInPlace(float* row, size_t n, float max, float scale,
                                  double* block_sums) {
    double total = 0.0;
    for (size_t b = 0, start = 0; start < n; ++b, start += kRowBlock) {
      const size_t len = n - start < kRowBlock ? n - start : kRowBlock;
      block_sums[b] = ExpSum<true>(row + start, len, max, scale);
      total += block_sums[b];
    }
    return total;
  }

  static constexpr RowKernels kTable = {&CopyRowChecked, &RowMax,    &RowFind,
                                        &RowFindAtLeast, &RowSumExp, &RowSoftmaxInPlace};
};

}  // namespace
}  // namespace smollm::runtime
