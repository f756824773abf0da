// Every ISA's row dequantizers equal the quant module's reference bit for bit, on random
// blocks of every supported type.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_kernels.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"

namespace smollm::runtime {
namespace {

using cpu::CpuIsa;

// Byte offsets of the fp16 scale fields of one block, which must hold finite values
// (random bytes there would make NaNs whose payloads need not survive vector code).
std::vector<int> ScaleOffsets(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: return {0};
    case GgmlType::kQ4_1: case GgmlType::kQ5_1: case GgmlType::kQ4_K: case GgmlType::kQ5_K:
      return {0, 2};
    case GgmlType::kQ6_K: return {208};
    default: return {};
  }
}

std::vector<uint8_t> RandomRow(GgmlType type, int64_t n, std::mt19937& rng) {
  const uint64_t bytes = *RowBytes(type, n);
  std::vector<uint8_t> row(bytes);
  for (uint8_t& b : row) b = static_cast<uint8_t>(rng());
  std::normal_distribution<float> dist(0.0f, 0.05f);
  const GgmlTypeTraits traits = TraitsOf(type);
  if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = dist(rng) * 100;
      if (type == GgmlType::kF32) std::memcpy(&row[4 * i], &v, 4);
      const uint16_t h = type == GgmlType::kF16 ? Fp32ToFp16(v) : Fp32ToBf16(v);
      if (type != GgmlType::kF32) std::memcpy(&row[2 * i], &h, 2);
    }
    return row;
  }
  for (uint64_t block = 0; block < bytes / traits.block_bytes; ++block) {
    for (int offset : ScaleOffsets(type)) {
      const uint16_t h = Fp32ToFp16(dist(rng));
      std::memcpy(&row[block * traits.block_bytes + offset], &h, 2);
    }
  }
  return row;
}

class CpuKernelsTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  }
};

TEST_P(CpuKernelsTest, DequantizersMatchReferenceBitForBit) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(17);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ4_0,
                        GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                        GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K}) {
    SCOPED_TRACE(std::string(NameOf(type)));
    const cpu::DequantizeRowFn dequantize = kernels.row_dequantizer(type);
    ASSERT_NE(dequantize, nullptr);
    for (int64_t n : {256, 512, 2048}) {
      const std::vector<uint8_t> row = RandomRow(type, n, rng);
      std::vector<float> want(n), got(n);
      ASSERT_TRUE(DequantizeRow(type, row, want).ok());
      dequantize(row.data(), got.data(), n);
      ASSERT_EQ(std::memcmp(want.data(), got.data(), n * sizeof(float)), 0);
    }
  }
  EXPECT_EQ(kernels.row_dequantizer(GgmlType::kQ2_K), nullptr);
}

std::vector<uint16_t> RandomHalves(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uint16_t> h(n);
  for (uint16_t& v : h) v = Fp32ToFp16(dist(rng));
  return h;
}

// The attention's scores: several query heads (rows q_stride apart) against a chunk of
// n f16 keys, into rows out_stride apart; positions n.. of each row come out 0. Head
// sizes that take the vector paths and ones that do not (36, 72 on AVX-512).
TEST_P(CpuKernelsTest, DotKeysMatchesPlainSums) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(17);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t head_dim : {8, 16, 36, 64, 72, 128}) {
    for (int n_q : {1, 3, 4}) {
      for (int n : {1, 5, 8, 9, 16}) {
        const int64_t q_stride = head_dim + 3, out_stride = cpu::kKeyChunk + 5;
        std::vector<float> q(n_q * q_stride);
        for (float& v : q) v = dist(rng);
        const std::vector<uint16_t> keys = RandomHalves(n * head_dim, rng);
        std::vector<float> out(n_q * out_stride, NAN);
        kernels.dot_keys(q.data(), n_q, q_stride, keys.data(), n, head_dim, out.data(), out_stride);
        for (int g = 0; g < n_q; ++g) {
          for (int i = 0; i < cpu::kKeyChunk; ++i) {
            double want = 0;
            for (int64_t d = 0; i < n && d < head_dim; ++d) {
              want += double(q[g * q_stride + d]) * Fp16ToFp32(keys[i * head_dim + d]);
            }
            ASSERT_NEAR(out[g * out_stride + i], want, 1e-5 * (1 + std::abs(want)))
                << "head_dim " << head_dim << " head " << g << " of " << n_q << " key " << i
                << " of " << n;
          }
          for (int64_t i = cpu::kKeyChunk; i < out_stride; ++i) {
            ASSERT_TRUE(std::isnan(out[g * out_stride + i]));
          }
        }
        // Each head's scores are its own: the same head alone gives the same bits.
        std::vector<float> alone(cpu::kKeyChunk);
        kernels.dot_keys(&q[(n_q - 1) * q_stride], 1, q_stride, keys.data(), n, head_dim,
                         alone.data(), cpu::kKeyChunk);
        for (int i = 0; i < cpu::kKeyChunk; ++i) {
          ASSERT_EQ(alone[i], out[(n_q - 1) * out_stride + i]);
        }
      }
    }
  }
}

// The attention's weighted values: several heads' weights (a_stride apart) times n_rows
// f16 value rows, added into each head's y (y_stride apart) in row order.
TEST_P(CpuKernelsTest, AxpyF16RowsMatchesPlainSums) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(19);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t n : {8, 16, 36, 64, 72, 128, 144}) {
    for (int n_a : {1, 2, 3, 4, 5, 8}) {
      for (int n_rows : {1, 5, 16}) {
        const int64_t a_stride = 21, y_stride = n + 7;
        std::vector<float> a(n_a * a_stride), y(n_a * y_stride);
        for (float& v : a) v = dist(rng);
        for (float& v : y) v = dist(rng);
        const std::vector<uint16_t> rows = RandomHalves(n_rows * n, rng);
        std::vector<float> got = y;
        kernels.axpy_f16_rows(a.data(), n_a, a_stride, rows.data(), n_rows, n, got.data(),
                              y_stride);
        for (int g = 0; g < n_a; ++g) {
          for (int64_t i = 0; i < y_stride; ++i) {
            if (i >= n) {
              ASSERT_EQ(got[g * y_stride + i], y[g * y_stride + i]);  // untouched
              continue;
            }
            double want = y[g * y_stride + i];
            for (int j = 0; j < n_rows; ++j) {
              want += double(a[g * a_stride + j]) * Fp16ToFp32(rows[j * n + i]);
            }
            ASSERT_NEAR(got[g * y_stride + i], want, 1e-5 * (1 + std::abs(want)))
                << "n " << n << " head " << g << " of " << n_a << " rows " << n_rows << " at " << i;
          }
        }
        // The last head alone gives the same bits.
        std::vector<float> alone(y.begin() + (n_a - 1) * y_stride,
                                 y.begin() + (n_a - 1) * y_stride + n);
        kernels.axpy_f16_rows(&a[(n_a - 1) * a_stride], 1, a_stride, rows.data(), n_rows, n,
                              alone.data(), n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(alone[i], got[(n_a - 1) * y_stride + i]);
      }
    }
  }
}

TEST_P(CpuKernelsTest, VectorOpsAndHalfConversions) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t n : {1, 15, 64, 577}) {
    std::vector<float> a(n), b(n);
    for (int64_t i = 0; i < n; ++i) a[i] = dist(rng), b[i] = dist(rng);
    double dot = 0;
    for (int64_t i = 0; i < n; ++i) dot += double(a[i]) * b[i];
    EXPECT_NEAR(kernels.dot(a.data(), b.data(), n), dot, 1e-4 * (1 + std::abs(dot)));
    std::vector<float> y = b;
    kernels.scale(0.75f, y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], 0.75f * b[i]);
    std::vector<uint16_t> h(n);
    kernels.f32_to_f16(a.data(), h.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(h[i], Fp32ToFp16(a[i]));
  }
}

// silu(g) * u and exp(x - shift) against std::exp in double, on gates from a wide normal
// (a real model's gate projections stay within a few tens) plus the ends where exp
// saturates.
TEST_P(CpuKernelsTest, SiluMulAndExpMatchLibmWithinTwoUlp) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 8.0f);
  for (int64_t n : {1, 17, 64, 1000}) {
    std::vector<float> gate(n), up(n), out(n);
    for (int64_t i = 0; i < n; ++i) gate[i] = dist(rng), up[i] = dist(rng);
    if (n == 1000) {
      const float ends[] = {0.0f,   -0.0f,   87.0f, -87.0f, 88.5f,
                            -88.5f, 100.0f, -100.0f, 1e30f, -1e30f};
      for (int e = 0; e < 10; ++e) gate[e] = ends[e];
    }
    kernels.silu_mul(gate.data(), up.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double g = gate[i];
      const double expected = g / (1.0 + std::exp(-g)) * up[i];
      // Two ulp of exp, one of each later rounding; an absolute floor for results that
      // underflow (a large negative gate gives 0 or a denormal).
      ASSERT_NEAR(out[i], expected, 6e-7 * std::abs(expected) + 1e-30)
          << "gate " << gate[i] << " up " << up[i];
    }
  }
  // The attention's softmax weights: the same exp, and their sum in its fixed lane order.
  std::vector<float> scores(40);
  for (float& v : scores) v = dist(rng);
  std::vector<float> weights = scores;
  const float shift = 3.5f;
  const float sum = kernels.exp_shifted(weights.data(), shift, 40);
  float lanes[cpu::kExpSumLanes] = {};
  for (int i = 0; i < 40; ++i) {
    const double expected = std::exp(double(scores[i] - shift));  // the float difference
    ASSERT_NEAR(weights[i], expected, 4e-7 * expected + 1e-30) << "score " << scores[i];
    lanes[i % cpu::kExpSumLanes] += weights[i];
  }
  for (int step = cpu::kExpSumLanes / 2; step > 0; step /= 2) {
    for (int l = 0; l < step; ++l) lanes[l] += lanes[l + step];
  }
  EXPECT_EQ(sum, lanes[0]);
  // In place, as the backend may call it.
  std::vector<float> gate = {-3.0f, 0.5f, 7.25f}, up = {2.0f, -1.0f, 0.125f}, out(3);
  kernels.silu_mul(gate.data(), up.data(), out.data(), 3);
  kernels.silu_mul(gate.data(), up.data(), gate.data(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(gate[i], out[i]);
}

INSTANTIATE_TEST_SUITE_P(Isa, CpuKernelsTest,
                         ::testing::Values(CpuIsa::kGeneric, CpuIsa::kAvx2, CpuIsa::kAvx512));

}  // namespace
}  // namespace smollm::runtime
