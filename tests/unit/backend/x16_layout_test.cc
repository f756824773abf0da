// The x16 layouts (Q4_K, Q6_K, Q4_0, Q4_1, Q5_0, Q8_0): interleaving round-trips byte for byte, and the
// interleaved kernels match the scalar reference on the GGUF rows for every column count,
// each column bit-identical to its single-column result (batch invariance).
#include "runtime/backend/cpu/x16_layout.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q6_k.h"
#include "tests/test_support.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ4_0,
                               GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ8_0};

// The block's fp16 scale fields: Q4_K: d, dmin; Q6_K: d; Q4_1: d, m; the others: d.
std::vector<int> ScaleOffsets(GgmlType type) {
  if (type == GgmlType::kQ6_K) return {208};
  if (type == GgmlType::kQ4_K || type == GgmlType::kQ4_1) return {0, 2};
  return {0};
}

// Random bytes (every quant and scale bit pattern) with finite random fp16 scales.
std::vector<uint8_t> RandomRows(GgmlType type, int64_t rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> w(*RowBytes(type, k) * rows);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::normal_distribution<float> dist(0.0f, 0.05f);
  const uint32_t block_bytes = TraitsOf(type).block_bytes;
  for (size_t block = 0; block < w.size() / block_bytes; ++block) {
    for (int offset : ScaleOffsets(type)) {
      const uint16_t h = Fp32ToFp16(dist(rng));
      std::memcpy(&w[block * block_bytes + offset], &h, 2);
    }
  }
  return w;
}

// Sum over elements of (|d * scale * q| + |dmin * min|) * |activation| for Q4_K,
// |d * scale| * (|q| + 32) * |activation| for Q6_K, (|d * q| + |m|) * |activation| for
// Q4_1, |d * q| * |activation| for Q4_0, Q5_0, Q8_0 (q with its offset): bounds the
// size of every float term.
double Magnitude(GgmlType type, const std::vector<uint8_t>& w, const std::vector<uint8_t>& act,
                 int64_t row, int col, int64_t k) {
  const uint64_t w_row_bytes = *RowBytes(type, k);
  const GgmlType act_type = *cpu::ActivationTypeFor(type);
  const uint64_t act_row_bytes = *RowBytes(act_type, k);
  std::vector<float> a(k);
  EXPECT_TRUE(DequantizeRow(act_type,
                            std::span<const uint8_t>(&act[col * act_row_bytes], act_row_bytes), a)
                  .ok());
  double sum = 0;
  if (TraitsOf(type).block_elements == 32) {
    const uint8_t* blocks = &w[row * w_row_bytes];
    const int block_bytes = static_cast<int>(TraitsOf(type).block_bytes);
    for (int64_t i = 0; i < k; ++i) {
      const uint8_t* blk = blocks + (i / 32) * block_bytes;
      uint16_t d, m = 0;
      std::memcpy(&d, blk, 2);
      int q;
      const int j = i % 32, shift = j < 16 ? 0 : 4;
      if (type == GgmlType::kQ8_0) {
        q = static_cast<int8_t>(blk[2 + j]);
      } else if (type == GgmlType::kQ4_1) {
        std::memcpy(&m, blk + 2, 2);
        q = (blk[4 + j % 16] >> shift) & 0x0f;
      } else if (type == GgmlType::kQ4_0) {
        q = ((blk[2 + j % 16] >> shift) & 0x0f) - 8;
      } else {  // Q5_0
        uint32_t qh;
        std::memcpy(&qh, blk + 2, 4);
        q = (((blk[6 + j % 16] >> shift) & 0x0f) | ((qh >> j) & 1) << 4) - 16;
      }
      sum += (std::abs(double(Fp16ToFp32(d)) * q) + std::abs(Fp16ToFp32(m))) * std::abs(a[i]);
    }
    return sum;
  }
  for (int64_t b = 0; b < k / 256; ++b) {
    if (type == GgmlType::kQ6_K) {
      BlockQ6_K blk;
      std::memcpy(&blk, &w[row * w_row_bytes + b * 210], 210);
      for (int i = 0; i < 256; ++i) {
        sum += std::abs(double(Fp16ToFp32(blk.d)) * blk.scales[i / 16]) * (Q6KQuant(blk, i) + 32) *
               std::abs(a[256 * b + i]);
      }
      continue;
    }
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

std::vector<uint8_t> Interleave(GgmlType type, const std::vector<uint8_t>& plain, int64_t rows,
                                int64_t k) {
  const uint64_t row_bytes = *RowBytes(type, k);
  const uint64_t group_bytes = cpu::X16GroupBytes(type, k);
  std::vector<uint8_t> packed(rows / cpu::kX16Rows * group_bytes);
  for (int64_t g = 0; g < rows / cpu::kX16Rows; ++g) {
    cpu::InterleaveX16(type, &plain[g * cpu::kX16Rows * row_bytes], k, &packed[g * group_bytes]);
  }
  return packed;
}

TEST(X16LayoutTest, DeinterleaveRestoresEveryRow) {
  for (GgmlType type : kTypes) {
    const bool k_quant = TraitsOf(type).block_elements == 256;
    for (int64_t k : k_quant ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{32, 576}) {
      const int64_t rows = 32;
      const std::vector<uint8_t> plain = RandomRows(type, rows, k, 3);
      const std::vector<uint8_t> packed = Interleave(type, plain, rows, k);
      EXPECT_LE(packed.size(), plain.size() * 1.03) << NameOf(type);
      const uint64_t row_bytes = *RowBytes(type, k);
      std::vector<uint8_t> row(row_bytes);
      for (int64_t r = 0; r < rows; ++r) {
        cpu::DeinterleaveX16Row(type, &packed[r / 16 * cpu::X16GroupBytes(type, k)], k, r % 16,
                                row.data());
        ASSERT_EQ(0, std::memcmp(row.data(), &plain[r * row_bytes], row_bytes))
            << NameOf(type) << " row " << r;
      }
    }
  }
}

class X16KernelTest : public ::testing::TestWithParam<std::tuple<GgmlType, cpu::CpuIsa>> {};

TEST_P(X16KernelTest, MatchesReferenceAndIsBatchInvariant) {
  const auto [type, isa] = GetParam();
  if (!cpu::CpuSupports(isa)) GTEST_SKIP() << "CPU lacks " << cpu::CpuIsaName(isa);
  const cpu::QuantMatVecFn matvec = cpu::KernelsFor(isa).x16_matvec(type);
  ASSERT_NE(matvec, nullptr);
  // The scalar ISA keeps the GGUF layout.
  EXPECT_EQ(cpu::KernelsFor(cpu::CpuIsa::kGeneric).x16_matvec(type), nullptr);
  // Where both run here, the AVX2 kernel must give the AVX-512 kernel's bits (their
  // integer sums and float steps are the same), so that a model answers alike on either.
  const cpu::QuantMatVecFn avx512 =
      isa == cpu::CpuIsa::kAvx2 && cpu::CpuSupports(cpu::CpuIsa::kAvx512)
          ? cpu::KernelsFor(cpu::CpuIsa::kAvx512).x16_matvec(type)
          : nullptr;
  const int64_t rows = smollm::testing::kSanitizerBuild ? 16 : 48;
  const bool k_quant = TraitsOf(type).block_elements == 256;
  for (int64_t k : k_quant ? std::vector<int64_t>{256, 768, 2304} : std::vector<int64_t>{32, 96, 576, 1536}) {
    const std::vector<uint8_t> plain = RandomRows(type, rows, k, 11);
    const std::vector<uint8_t> packed = Interleave(type, plain, rows, k);
    const uint64_t w_row_bytes = *RowBytes(type, k);
    const GgmlType act_type = *cpu::ActivationTypeFor(type);
    const uint64_t act_row_bytes = *RowBytes(act_type, k);
    std::vector<float> x = testing::RandomFloats(cpu::kMaxMatVecCols * k, 5);
    // Column 0 opens with 32 equal values of the largest magnitude, negative: Q8_K and
    // Q8_0 quantize them all to their extreme (-128 for Q8_K, -127 for Q8_0), the edge of
    // every int16 sum range the kernels rely on.
    std::fill(x.begin(), x.begin() + 32, -8.0f);
    std::vector<uint8_t> act(cpu::kMaxMatVecCols * act_row_bytes);
    const int64_t scale_stride = 2 * (k / 32);
    std::vector<float> scales(cpu::kMaxMatVecCols * scale_stride);
    for (int c = 0; c < cpu::kMaxMatVecCols; ++c) {
      cpu::ReferenceQuantizeActivations(act_type, &x[c * k], &act[c * act_row_bytes], k);
      cpu::ActivationScales(act_type, &act[c * act_row_bytes], k, &scales[c * scale_stride]);
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
      args.act_scales = scales.data();
      args.act_scale_stride = scale_stride;
      args.n_cols = n_cols;
      args.out = out.data();
      args.out_stride = rows;
      matvec(args);
      for (int c = 0; c < n_cols; ++c) {
        for (int64_t r = 0; r < rows; ++r) {
          const float got = out[c * rows + r];
          const float want =
              cpu::ReferenceQuantDot(type, &plain[r * w_row_bytes], &act[c * act_row_bytes], k);
          // Exact integer block sums, then float steps reassociated: a few roundings of
          // the terms' magnitude (the min terms counted apart from the quants').
          ASSERT_NEAR(got, want, 1e-6 * (k / 32 + 4) * Magnitude(type, plain, act, r, c, k))
              << "row " << r << " col " << c;
        }
      }
      if (avx512 != nullptr) {
        std::vector<float> other(n_cols * rows, NAN);
        args.out = other.data();
        avx512(args);
        ASSERT_EQ(0, std::memcmp(other.data(), out.data(), other.size() * sizeof(float)));
      }
      // Column c alone (n_cols == 1, its activations first) gives the same bits.
      for (int c = 0; c < n_cols; ++c) {
        std::vector<float> one(rows, NAN);
        args.act = act.data() + c * act_row_bytes;
        args.act_scales = scales.data() + c * scale_stride;
        args.n_cols = 1;
        args.out = one.data();
        matvec(args);
        ASSERT_EQ(0, std::memcmp(one.data(), &out[c * rows], rows * sizeof(float))) << "col " << c;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TypesAndIsa, X16KernelTest,
                         ::testing::Combine(::testing::ValuesIn(kTypes),
                                            ::testing::Values(cpu::CpuIsa::kAvx512,
                                                              cpu::CpuIsa::kAvx2)),
                         [](const auto& info) {
                           return std::string(NameOf(std::get<0>(info.param))) + "_" +
                                  std::string(cpu::CpuIsaName(std::get<1>(info.param)));
                         });

}  // namespace
}  // namespace smollm::runtime
