// The int8 matvec kernels of every ISA against the scalar reference (within float
// reassociation of exact integer block sums), and the reference against dequantize + f64
// dot.
#include "runtime/backend/cpu/quant_matvec.h"

#include <cfloat>
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
#include "runtime/quant/quantize.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

using cpu::CpuIsa;

constexpr GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                               GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kQ4_K,
                               GgmlType::kQ6_K};

// Byte offsets of a block's fp16 scale fields, given finite random values (random bytes
// there could be NaN or huge).
std::vector<int> ScaleOffsets(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: return {0};
    case GgmlType::kQ4_1: case GgmlType::kQ5_1: case GgmlType::kQ4_K: return {0, 2};
    case GgmlType::kQ6_K: return {208};
    default: return {};
  }
}

// Random weight rows: random quant bytes (every bit pattern), random finite scales.
std::vector<uint8_t> RandomWeights(GgmlType type, int64_t rows, int64_t k, std::mt19937& rng) {
  const uint64_t bytes = *RowBytes(type, k) * rows;
  std::vector<uint8_t> w(bytes);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::normal_distribution<float> dist(0.0f, 0.05f);
  const uint32_t block_bytes = TraitsOf(type).block_bytes;
  for (uint64_t block = 0; block < bytes / block_bytes; ++block) {
    for (int offset : ScaleOffsets(type)) {
      const uint16_t h = Fp32ToFp16(dist(rng));
      std::memcpy(&w[block * block_bytes + offset], &h, 2);
    }
  }
  return w;
}

struct Activations8 {
  GgmlType type;
  uint64_t row_bytes;
  std::vector<float> x;        // [cols][k]
  std::vector<uint8_t> bytes;  // [cols][row_bytes], the reference quantizer's
  int64_t scale_stride;
  std::vector<float> scales;   // [cols][scale_stride], ActivationScales
};

Activations8 RandomActivations(GgmlType weight_type, int cols, int64_t k, std::mt19937& rng) {
  Activations8 a{*cpu::ActivationTypeFor(weight_type), 0, {}, {}, 2 * (k / 32) + 1, {}};
  a.row_bytes = *RowBytes(a.type, k);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  a.x.resize(cols * k);
  for (float& v : a.x) v = dist(rng);
  a.bytes.resize(cols * a.row_bytes);
  for (int c = 0; c < cols; ++c) {
    EXPECT_TRUE(QuantizeRow(a.type, std::span<const float>(a.x.data() + c * k, k),
                            std::span<uint8_t>(a.bytes.data() + c * a.row_bytes, a.row_bytes))
                    .ok());
  }
  a.scales.assign(cols * a.scale_stride, NAN);
  for (int c = 0; c < cols; ++c) {
    cpu::ActivationScales(a.type, a.bytes.data() + c * a.row_bytes, k, a.scales.data() + c * a.scale_stride);
  }
  return a;
}

std::vector<float> Dequantized(GgmlType type, const uint8_t* bytes, int64_t n) {
  std::vector<float> v(n);
  EXPECT_TRUE(DequantizeRow(type, std::span<const uint8_t>(bytes, *RowBytes(type, n)), v).ok());
  return v;
}

// Sum of |w_i * a_i|, where for formats with a min each |w_i| is taken as
// |d * q_i| + |min| (the two terms the kernels sum separately, which may cancel in w_i):
// what the float rounding of a block-by-block sum is relative to.
double MagnitudeOf(GgmlType type, const uint8_t* w_row, const std::vector<float>& w,
                   const std::vector<float>& a) {
  const uint32_t block_bytes = TraitsOf(type).block_bytes;
  double sum = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    double term = std::abs(double(w[i]));
    if (type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1) {
      uint16_t m;
      std::memcpy(&m, w_row + (i / 32) * block_bytes + 2, 2);
      term += 2 * std::abs(double(Fp16ToFp32(m)));  // |d * q| <= |w| + |m|
    } else if (type == GgmlType::kQ4_K) {
      BlockQ4_K b;
      std::memcpy(&b, w_row + (i / 256) * block_bytes, sizeof(b));
      const double dm = double(Fp16ToFp32(b.dmin)) * UnpackScaleMinK(b.scales, (i % 256) / 32).min;
      term += 2 * std::abs(dm);
    }
    sum += term * std::abs(double(a[i]));
  }
  return sum;
}

// Q8_1 stores d * sum(q) as fp16: for formats with a min, the dot product carries that
// rounding (at most 2^-11 relative) times each block's min.
double SumFieldRounding(GgmlType type, const uint8_t* w_row, const std::vector<float>& a) {
  if (type != GgmlType::kQ4_1 && type != GgmlType::kQ5_1) return 0;
  const uint32_t block_bytes = TraitsOf(type).block_bytes;
  double bound = 0;
  for (size_t b = 0; b < a.size() / 32; ++b) {
    uint16_t m;
    std::memcpy(&m, w_row + b * block_bytes + 2, 2);
    double sum = 0;
    for (int i = 0; i < 32; ++i) sum += a[32 * b + i];
    bound += std::abs(double(Fp16ToFp32(m))) * std::abs(sum) * std::ldexp(1.0, -11);
  }
  return bound;
}

// A float sum of n_terms rounded terms, each product rounded twice: generous in n.
double RoundingBound(int64_t n_terms, double magnitude) {
  return (n_terms + 4) * 2.0 * FLT_EPSILON * magnitude + 1e-30;
}

class QuantMatVecTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    if (!cpu::CpuSupports(GetParam())) GTEST_SKIP() << "CPU lacks this ISA";
  }
};

TEST_P(QuantMatVecTest, KernelsMatchReference) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(42);
  for (GgmlType type : kTypes) {
    const cpu::QuantMatVecFn matvec = kernels.quant_matvec(type);
    ASSERT_NE(matvec, nullptr) << NameOf(type);
    const int64_t block = TraitsOf(type).block_elements;
    for (int64_t k : {block, 3 * block, 9 * block}) {
      const int64_t rows = smollm::testing::kSanitizerBuild ? 7 : 37;
      const std::vector<uint8_t> w = RandomWeights(type, rows, k, rng);
      const uint64_t w_row_bytes = *RowBytes(type, k);
      const Activations8 act = RandomActivations(type, cpu::kMaxMatVecCols, k, rng);
      std::vector<std::vector<float>> w_values(rows);
      for (int64_t r = 0; r < rows; ++r) w_values[r] = Dequantized(type, &w[r * w_row_bytes], k);
      for (int n_cols = 1; n_cols <= cpu::kMaxMatVecCols; ++n_cols) {
        SCOPED_TRACE(::testing::Message() << NameOf(type) << " k=" << k << " cols=" << n_cols);
        const int64_t out_stride = rows + 3;
        std::vector<float> out(n_cols * out_stride, NAN);
        matvec({w.data(), w_row_bytes, rows, k, act.bytes.data(), act.row_bytes, n_cols,
                act.scales.data(), act.scale_stride, out.data(), out_stride});
        for (int c = 0; c < n_cols; ++c) {
          const uint8_t* a = act.bytes.data() + c * act.row_bytes;
          const std::vector<float> a_values = Dequantized(act.type, a, k);
          for (int64_t r = 0; r < rows; ++r) {
            const float want = cpu::ReferenceQuantDot(type, &w[r * w_row_bytes], a, k);
            const float got = out[c * out_stride + r];
            const double bound =
                RoundingBound(k / 32, MagnitudeOf(type, &w[r * w_row_bytes], w_values[r], a_values));
            ASSERT_NEAR(got, want, bound) << "row " << r << " col " << c;
          }
          for (int64_t r = rows; r < out_stride && c + 1 < n_cols; ++r) {
            ASSERT_TRUE(std::isnan(out[c * out_stride + r])) << "wrote past row " << rows;
          }
        }
      }
    }
  }
}

TEST_P(QuantMatVecTest, ActivationQuantizerMatchesQuantizeRow) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::mt19937 rng(7);
  for (GgmlType weight : {GgmlType::kQ8_0, GgmlType::kQ4_1, GgmlType::kQ4_K}) {
    for (int64_t k : {256, 768, 2304}) {
      const Activations8 act = RandomActivations(weight, 3, k, rng);
      std::vector<uint8_t> got(act.bytes.size(), 0xAA);
      for (int c = 0; c < 3; ++c) {
        kernels.quantize_activations(act.type, act.x.data() + c * k, got.data() + c * act.row_bytes, k);
      }
      EXPECT_EQ(got, act.bytes) << NameOf(act.type) << " k=" << k;
    }
  }
}

// Exact halves (ties: Q8_0/Q8_1 round them away from zero, Q8_K to even), both signs of
// the largest magnitude (Q8_K takes the first), and an all-zero block.
TEST_P(QuantMatVecTest, ActivationQuantizerTiesAndEdges) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(GetParam());
  std::vector<float> x(512);
  for (int i = 0; i < 256; ++i) x[i] = (i % 2 == 0 ? 1 : -1) * (0.5f + (i % 120));
  x[3] = 127.0f;  // scale 1: every value above is a tie or an integer
  x[5] = -127.0f;
  for (int i = 256; i < 512; ++i) x[i] = 0.0f;
  for (GgmlType act_type : {GgmlType::kQ8_0, GgmlType::kQ8_1, GgmlType::kQ8_K}) {
    const uint64_t bytes = *RowBytes(act_type, 512);
    std::vector<uint8_t> want(bytes), got(bytes, 0xAA);
    ASSERT_TRUE(QuantizeRow(act_type, x, want).ok());
    kernels.quantize_activations(act_type, x.data(), got.data(), 512);
    EXPECT_EQ(got, want) << NameOf(act_type);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, QuantMatVecTest,
                         ::testing::Values(CpuIsa::kGeneric, CpuIsa::kAvx2, CpuIsa::kAvx512),
                         [](const auto& info) { return std::string(cpu::CpuIsaName(info.param)); });

// The reference equals the exact dot product of what the blocks decode to, up to float
// rounding; and the f32 dot product with the unquantized activations up to the
// activations' quantization error.
TEST(QuantDotReferenceTest, MatchesDequantizedDot) {
  std::mt19937 rng(5);
  for (GgmlType type : kTypes) {
    const int64_t block = TraitsOf(type).block_elements;
    for (int64_t k : {block, 4 * block, 11 * block}) {
      SCOPED_TRACE(::testing::Message() << NameOf(type) << " k=" << k);
      const std::vector<uint8_t> w = RandomWeights(type, 5, k, rng);
      const uint64_t w_row_bytes = *RowBytes(type, k);
      const Activations8 act = RandomActivations(type, 1, k, rng);
      const std::vector<float> a = Dequantized(act.type, act.bytes.data(), k);
      for (int64_t r = 0; r < 5; ++r) {
        const std::vector<float> wv = Dequantized(type, &w[r * w_row_bytes], k);
        double exact = 0, with_f32 = 0, quant_error = 0, magnitude_f32 = 0;
        for (int64_t i = 0; i < k; ++i) {
          exact += double(wv[i]) * a[i];
          with_f32 += double(wv[i]) * act.x[i];
          quant_error += std::abs(double(wv[i])) * std::abs(double(act.x[i]) - a[i]);
          magnitude_f32 += std::abs(double(wv[i]) * act.x[i]);
        }
        const float got = cpu::ReferenceQuantDot(type, &w[r * w_row_bytes], act.bytes.data(), k);
        const double magnitude = MagnitudeOf(type, &w[r * w_row_bytes], wv, a);
        const double fp16_sums = SumFieldRounding(type, &w[r * w_row_bytes], a);
        ASSERT_NEAR(got, exact, RoundingBound(k / block, magnitude) + fp16_sums) << "row " << r;
        ASSERT_NEAR(got, with_f32, quant_error + fp16_sums + RoundingBound(k, magnitude + magnitude_f32))
            << "row " << r;
        // The quantization error is real but small: about 1% of the terms' magnitude.
        EXPECT_LT(quant_error, 0.02 * magnitude_f32) << "row " << r;
      }
    }
  }
}

TEST(QuantDotReferenceTest, ActivationTypes) {
  EXPECT_EQ(cpu::ActivationTypeFor(GgmlType::kQ4_K), GgmlType::kQ8_K);
  EXPECT_EQ(cpu::ActivationTypeFor(GgmlType::kQ6_K), GgmlType::kQ8_K);
  EXPECT_EQ(cpu::ActivationTypeFor(GgmlType::kQ4_1), GgmlType::kQ8_1);
  EXPECT_EQ(cpu::ActivationTypeFor(GgmlType::kQ5_1), GgmlType::kQ8_1);
  EXPECT_EQ(cpu::ActivationTypeFor(GgmlType::kQ8_0), GgmlType::kQ8_0);
  EXPECT_EQ(cpu::ActivationTypeFor(GgmlType::kF32), std::nullopt);
  EXPECT_EQ(cpu::ReferenceQuantMatVec(GgmlType::kQ5_K), nullptr);
}

}  // namespace
}  // namespace smollm::runtime
