// Q4_K x16: interleaving round-trips byte for byte, and the interleaved kernel matches the
// scalar reference on the GGUF rows for every column count, each column bit-identical to
// its single-column result (batch invariance).
#include "runtime/backend/cpu/q4k_x16.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"
#include "runtime/quant/q4_k.h"
#include "tests/test_support.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

// Random bytes (every nibble and 6-bit scale pattern) with finite random d and dmin.
std::vector<uint8_t> RandomQ4K(int64_t rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> w(*RowBytes(GgmlType::kQ4_K, k) * rows);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::normal_distribution<float> dist(0.0f, 0.05f);
  for (size_t block = 0; block < w.size() / 144; ++block) {
    for (int offset : {0, 2}) {
      const uint16_t h = Fp32ToFp16(dist(rng));
      std::memcpy(&w[block * 144 + offset], &h, 2);
    }
  }
  return w;
}

// Sum over elements of (|d * scale * q| + |dmin * min|) * |activation|, bounding the
// size of every float term of the dot product.
double Magnitude(const std::vector<uint8_t>& w, const std::vector<uint8_t>& act, int64_t row,
                 int col, int64_t k) {
  const uint64_t w_row_bytes = *RowBytes(GgmlType::kQ4_K, k);
  const uint64_t act_row_bytes = *RowBytes(GgmlType::kQ8_K, k);
  std::vector<float> a(k);
  EXPECT_TRUE(DequantizeRow(GgmlType::kQ8_K,
                            std::span<const uint8_t>(&act[col * act_row_bytes], act_row_bytes), a)
                  .ok());
  double sum = 0;
  for (int64_t b = 0; b < k / 256; ++b) {
    BlockQ4_K blk;
    std::memcpy(&blk, &w[row * w_row_bytes + b * 144], 144);
    for (int i = 0; i < 256; ++i) {
      const ScaleMin sm = UnpackScaleMinK(blk.scales, i / 32);
      const double term = std::abs(double(Fp16ToFp32(blk.d)) * sm.scale * Q4KQuant(blk, i)) +
                          std::abs(double(Fp16ToFp32(blk.dmin)) * sm.min);
      sum += term * std::abs(a[256 * b + i]);
    }
  }
  return sum;
}

std::vector<uint8_t> Interleave(const std::vector<uint8_t>& plain, int64_t rows, int64_t k) {
  const uint64_t row_bytes = *RowBytes(GgmlType::kQ4_K, k);
  std::vector<uint8_t> packed(rows / cpu::kX16Rows * cpu::Q4KX16GroupBytes(k));
  for (int64_t g = 0; g < rows / cpu::kX16Rows; ++g) {
    cpu::InterleaveQ4KX16(&plain[g * cpu::kX16Rows * row_bytes], k,
                          &packed[g * cpu::Q4KX16GroupBytes(k)]);
  }
  return packed;
}

TEST(Q4KX16Test, DeinterleaveRestoresEveryRow) {
  for (int64_t k : {256, 768}) {
    const int64_t rows = 32;
    const std::vector<uint8_t> plain = RandomQ4K(rows, k, 3);
    const std::vector<uint8_t> packed = Interleave(plain, rows, k);
    const uint64_t row_bytes = *RowBytes(GgmlType::kQ4_K, k);
    std::vector<uint8_t> row(row_bytes);
    for (int64_t r = 0; r < rows; ++r) {
      cpu::DeinterleaveQ4KX16Row(&packed[r / 16 * cpu::Q4KX16GroupBytes(k)], k, r % 16, row.data());
      ASSERT_EQ(0, std::memcmp(row.data(), &plain[r * row_bytes], row_bytes)) << "row " << r;
    }
  }
}

TEST(Q4KX16Test, KernelMatchesReferenceAndIsBatchInvariant) {
  if (!cpu::CpuSupports(cpu::CpuIsa::kAvx512)) GTEST_SKIP() << "CPU lacks AVX-512";
  const cpu::QuantMatVecFn matvec = cpu::KernelsFor(cpu::CpuIsa::kAvx512).q4k_x16_matvec;
  ASSERT_NE(matvec, nullptr);
  EXPECT_EQ(cpu::KernelsFor(cpu::CpuIsa::kAvx2).q4k_x16_matvec, nullptr);
  EXPECT_EQ(cpu::KernelsFor(cpu::CpuIsa::kGeneric).q4k_x16_matvec, nullptr);
  const int64_t rows = smollm::testing::kSanitizerBuild ? 16 : 48;
  for (int64_t k : {256, 768, 2304}) {
    const std::vector<uint8_t> plain = RandomQ4K(rows, k, 11);
    const std::vector<uint8_t> packed = Interleave(plain, rows, k);
    const uint64_t w_row_bytes = *RowBytes(GgmlType::kQ4_K, k);
    const uint64_t act_row_bytes = *RowBytes(GgmlType::kQ8_K, k);
    const std::vector<float> x = testing::RandomFloats(cpu::kMaxMatVecCols * k, 5);
    std::vector<uint8_t> act(cpu::kMaxMatVecCols * act_row_bytes);
    for (int c = 0; c < cpu::kMaxMatVecCols; ++c) {
      cpu::ReferenceQuantizeActivations(GgmlType::kQ8_K, &x[c * k], &act[c * act_row_bytes], k);
    }
    std::vector<float> solo(cpu::kMaxMatVecCols * rows);
    for (int n_cols = 1; n_cols <= cpu::kMaxMatVecCols; ++n_cols) {
      SCOPED_TRACE(::testing::Message() << "k=" << k << " cols=" << n_cols);
      std::vector<float> out(n_cols * rows, NAN);
      cpu::QuantMatVecArgs args;
      args.weights = packed.data();
      args.weight_row_bytes = w_row_bytes;
      args.rows = rows;
      args.k = k;
      args.act = act.data();
      args.act_row_bytes = act_row_bytes;
      args.n_cols = n_cols;
      args.out = out.data();
      args.out_stride = rows;
      matvec(args);
      for (int c = 0; c < n_cols; ++c) {
        for (int64_t r = 0; r < rows; ++r) {
          const float got = out[c * rows + r];
          const float want = cpu::ReferenceQuantDot(GgmlType::kQ4_K, &plain[r * w_row_bytes],
                                                    &act[c * act_row_bytes], k);
          // Exact integer block sums, then float steps reassociated: a few roundings of
          // the terms' magnitude (the min terms counted apart from the quants').
          ASSERT_NEAR(got, want, 1e-6 * (k / 32 + 4) * Magnitude(plain, act, r, c, k))
              << "row " << r << " col " << c;
        }
      }
      // Column c alone (n_cols == 1, its activations first) gives the same bits.
      for (int c = 0; c < n_cols; ++c) {
        std::vector<float> one(rows, NAN);
        args.act = act.data() + c * act_row_bytes;
        args.n_cols = 1;
        args.out = one.data();
        matvec(args);
        ASSERT_EQ(0, std::memcmp(one.data(), &out[c * rows], rows * sizeof(float))) << "col " << c;
      }
    }
  }
}

}  // namespace
}  // namespace smollm::runtime
