// Whole-vocabulary passes over one logits row (copy/check, max, find, exp-sum, softmax),
// four lanes at a time, and the exp they use.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/core/exp_polynomial.h"

namespace smollm::runtime {

// Rows are processed in blocks of this many entries; RowSoftmaxInPlace reports one sum
// per block, so a draw can skip whole blocks instead of walking 128k entries.
inline constexpr size_t kRowBlock = 1024;

inline constexpr size_t NumRowBlocks(size_t size) { return (size + kRowBlock - 1) / kRowBlock; }

// Below this, ExpNonPositive returns exactly 0 (e^-87 ~ 1.6e-38, the smallest normal
// float's neighbourhood); a banned token (-inf) must get probability exactly 0.
inline constexpr float kExpLowest = -87.0f;

// exp(x) for x <= 0 (including -inf), branch-free, by runtime/core/exp_polynomial.h
// (~2 ulp; e^0 is exactly 1); row_kernels_simd.h has the lane-wise copy. The result for
// x < kExpLowest is 0.
inline float ExpNonPositive(float x) {
  using namespace exp_polynomial;  // NOLINT(build/namespaces): its constants, by name
  const float xc = x < kExpLowest ? kExpLowest : x;
  const float n = (xc * kLog2e + kRoundMagic) - kRoundMagic;  // round(x / ln 2), in [-126, 0]
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  const float p = ExpOfReduced(r);
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // 2^n
  return x < kExpLowest ? 0.0f : p * scale;
}

// The passes below, for one instruction set. Plain pointers and sizes, so that the
// AVX2 build of them instantiates no shared inline code (see row_kernels_simd.h).
struct RowKernels {
  bool (*copy_row_checked)(const float* src, float* dst, size_t n);
  float (*row_max)(const float* row, size_t n);
  size_t (*row_find)(const float* row, size_t n, float value);
  size_t (*row_find_at_least)(const float* row, size_t n, size_t start, float threshold);
  double (*row_sum_exp)(const float* row, size_t n, float max);
  double (*row_softmax_in_place)(float* row, size_t n, float max, float scale,
                                 double* block_sums);
};

// Four lanes of plain vector code (SSE2 on x86-64, NEON on Arm): runs everywhere.
const RowKernels& PortableRowKernels();
// Eight lanes, built with -mavx2 (no FMA): nullptr when not built for this target or
// when the CPU lacks AVX2. Its results are bit-identical to the portable ones.
const RowKernels* Avx2RowKernels();
// The fastest of the above for this CPU, chosen once.
const RowKernels& BestRowKernels();

// dst[i] = src[i] for the whole row (equal sizes). Returns false when some entry is NaN
// or +inf (the copy is then complete but must not be used).
inline bool CopyRowChecked(std::span<const float> src, std::span<float> dst) {
  return BestRowKernels().copy_row_checked(src.data(), dst.data(), src.size());
}

// The maximum of a non-empty row.
inline float RowMax(std::span<const float> row) {
  return BestRowKernels().row_max(row.data(), row.size());
}

// The first index holding `value` (row.size() when none does).
inline size_t RowFind(std::span<const float> row, float value) {
  return BestRowKernels().row_find(row.data(), row.size(), value);
}

// The first index i >= start with row[i] >= threshold (row.size() when none): the scan
// behind top-k selection and threshold collection, which mostly finds nothing.
inline size_t RowFindAtLeast(std::span<const float> row, size_t start, float threshold) {
  return BestRowKernels().row_find_at_least(row.data(), row.size(), start, threshold);
}

// sum(exp(row[i] - max)) in double, max >= every entry and finite.
inline double RowSumExp(std::span<const float> row, float max) {
  return BestRowKernels().row_sum_exp(row.data(), row.size(), max);
}

// row[i] = exp((row[i] - max) * scale) (scale > 0, finite; max >= every entry, finite):
// unnormalised probabilities, the maximum mapping to exactly 1. block_sums[b] receives
// the sum of block b (NumRowBlocks(row.size()) entries). Returns the total, which is
// the sum of the block sums in order.
inline double RowSoftmaxInPlace(std::span<float> row, float max, float scale,
                                std::span<double> block_sums) {
  return BestRowKernels().row_softmax_in_place(row.data(), row.size(), max, scale,
                                               block_sums.data());
}

}  // namespace smollm::runtime
