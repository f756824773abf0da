// Reference quantizers: quantize -> dequantize error bounds per format on random rows
// (several magnitudes, negative-only rows), the nearest-grid property of the K-quants,
// and edge cases: constant rows, tiny and out-of-range magnitudes, non-finite input.
#include "runtime/quant/quantize.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"
#include "runtime/quant/scale_search.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::runtime {
namespace {

constexpr GgmlType kQuantizedTypes[] = {GgmlType::kQ8_0, GgmlType::kQ8_1, GgmlType::kQ5_0,
                                        GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ8_K};
constexpr double kAmplitudes[] = {1e-3, 0.05, 1.0, 2000.0};  // fp16 scales stay normal or
                                                             // near it at all of these
constexpr size_t kElements = 1024;

std::vector<uint8_t> Quantize(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> bytes(*RowBytes(type, x.size()));
  const absl::Status status = QuantizeRow(type, x, bytes);
  EXPECT_TRUE(status.ok()) << status;
  return bytes;
}

std::vector<float> Dequantize(GgmlType type, const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<float> y(n);
  const absl::Status status = DequantizeRow(type, bytes, y);
  EXPECT_TRUE(status.ok()) << status;
  return y;
}

template <typename Block>
Block BlockAt(const std::vector<uint8_t>& bytes, size_t i) {
  Block b;
  std::memcpy(&b, bytes.data() + i * sizeof(Block), sizeof(Block));
  return b;
}

// Random rows of each amplitude, and their negative-only versions.
std::vector<std::vector<float>> TestRows(uint64_t seed) {
  ::smollm::testing::RowGenerator gen(seed);
  std::vector<std::vector<float>> rows;
  for (double amplitude : kAmplitudes) {
    rows.push_back(gen.Row(kElements, amplitude));
    std::vector<float> negative = gen.Row(kElements, amplitude);
    for (float& v : negative) v = -std::fabs(v);
    rows.push_back(negative);
  }
  return rows;
}

float AbsMax(const float* x, int n) {
  float amax = 0;
  for (int i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  return amax;
}

double Rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * v;
  return std::sqrt(s / static_cast<double>(x.size()));
}

double Rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += std::pow(static_cast<double>(y[i]) - x[i], 2);
  return std::sqrt(s / static_cast<double>(x.size()));
}

// Q8_0/Q8_1: d = amax / 127 rounded to fp16; each value is within half a step of d plus
// the fp16 rounding of d times the largest quant.
template <typename Block>
void CheckAbsmaxInt8(GgmlType type, const std::vector<float>& x) {
  const std::vector<uint8_t> bytes = Quantize(type, x);
  const std::vector<float> y = Dequantize(type, bytes, x.size());
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const Block block = BlockAt<Block>(bytes, b);
    const float amax = AbsMax(&x[32 * b], 32);
    const float d = amax / 127.0f;
    ASSERT_EQ(block.d, Fp32ToFp16(d)) << "block " << b;
    const double bound = 0.5 * d + 127.0 * std::fabs(Fp16ToFp32(block.d) - d) + 1e-6 * amax;
    int sum = 0;
    for (size_t i = 32 * b; i < 32 * (b + 1); ++i) {
      ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), bound) << "element " << i;
      sum += block.qs[i - 32 * b];
    }
    if constexpr (std::is_same_v<Block, BlockQ8_1>) {
      // d * sum saturates like the scales (ggml would store an infinity).
      ASSERT_EQ(block.s, Fp32ToFp16(ClampToFp16Range(static_cast<float>(sum) * d)))
          << "block " << b;
    }
  }
}

TEST(QuantizeQ8_0, WithinHalfAStep) {
  for (const auto& x : TestRows(1)) CheckAbsmaxInt8<BlockQ8_0>(GgmlType::kQ8_0, x);
}

TEST(QuantizeQ8_1, WithinHalfAStepAndSumMatches) {
  for (const auto& x : TestRows(2)) CheckAbsmaxInt8<BlockQ8_1>(GgmlType::kQ8_1, x);
}

// Q5_0: d = max / -16 maps the extreme value to quant 0; values are within half a step,
// except opposite-sign values past +15.5 steps, which clip to quant 31 (+15 d).
TEST(QuantizeQ5_0, WithinHalfAStepExceptTheClippedEnd) {
  for (const auto& x : TestRows(3)) {
    const std::vector<uint8_t> bytes = Quantize(GgmlType::kQ5_0, x);
    const std::vector<float> y = Dequantize(GgmlType::kQ5_0, bytes, x.size());
    for (size_t b = 0; b < x.size() / 32; ++b) {
      float amax = 0, max = 0;
      for (size_t i = 32 * b; i < 32 * (b + 1); ++i) {
        if (std::fabs(x[i]) > amax) {
          amax = std::fabs(x[i]);
          max = x[i];
        }
      }
      const float d = max / -16.0f;
      const float d16 = Fp16ToFp32(BlockAt<BlockQ5_0>(bytes, b).d);
      const double bound = 0.5 * std::fabs(d) + 16.0 * std::fabs(d16 - d) + 1e-6 * amax;
      for (size_t i = 32 * b; i < 32 * (b + 1); ++i) {
        if (x[i] / d > 15.5f) {
          ASSERT_EQ(y[i], d16 * 15.0f) << "element " << i;
        } else {
          ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), bound) << "element " << i;
        }
      }
    }
  }
}

// Each value decodes to the grid point nearest to it among its sub-block's candidates
// (computed exactly as the dequantizer does), so only the scales are a search result.
TEST(QuantizeQ4_K, NearestGridPointAndBoundedRmse) {
  for (const auto& x : TestRows(4)) {
    const std::vector<uint8_t> bytes = Quantize(GgmlType::kQ4_K, x);
    const std::vector<float> y = Dequantize(GgmlType::kQ4_K, bytes, x.size());
    for (size_t b = 0; b < x.size() / 256; ++b) {
      const BlockQ4_K block = BlockAt<BlockQ4_K>(bytes, b);
      for (int j = 0; j < 8; ++j) {
        const ScaleMin sm = UnpackScaleMinK(block.scales, j);
        const float ds = Fp16ToFp32(block.d) * static_cast<float>(sm.scale);
        const float dm = Fp16ToFp32(block.dmin) * static_cast<float>(sm.min);
        for (size_t i = 256 * b + 32 * j; i < 256 * b + 32 * (j + 1); ++i) {
          const double err = std::fabs(static_cast<double>(y[i]) - x[i]);
          for (int q = 0; q <= 15; ++q) {
            const double other =
                std::fabs(static_cast<double>(ds * static_cast<float>(q) - dm) - x[i]);
            ASSERT_LE(err, other * (1 + 1e-6)) << "element " << i << ", q " << q;
          }
        }
      }
    }
    // 4 bits over a min/max range of a Gaussian with outliers: measured ~0.09 of the RMS.
    EXPECT_LT(Rmse(x, y), 0.11 * Rms(x));
  }
}

TEST(QuantizeQ6_K, NearestGridPointAndBoundedRmse) {
  for (const auto& x : TestRows(5)) {
    const std::vector<uint8_t> bytes = Quantize(GgmlType::kQ6_K, x);
    const std::vector<float> y = Dequantize(GgmlType::kQ6_K, bytes, x.size());
    for (size_t b = 0; b < x.size() / 256; ++b) {
      const BlockQ6_K block = BlockAt<BlockQ6_K>(bytes, b);
      for (size_t i = 256 * b; i < 256 * (b + 1); ++i) {
        const float ds = Fp16ToFp32(block.d) * static_cast<float>(block.scales[(i % 256) / 16]);
        const double err = std::fabs(static_cast<double>(y[i]) - x[i]);
        for (int q = -32; q <= 31; ++q) {
          const double other = std::fabs(static_cast<double>(ds * static_cast<float>(q)) - x[i]);
          ASSERT_LE(err, other * (1 + 1e-6)) << "element " << i << ", q " << q;
        }
      }
    }
    EXPECT_LT(Rmse(x, y), 0.03 * Rms(x));  // measured ~0.025
  }
}

// Q8_K: fp32 scale, so half a step (|d| / 2) plus fp32 rounding bounds every value; the
// extreme value maps to -127 and bsums are the group sums.
TEST(QuantizeQ8_K, WithinHalfAStepWithGroupSums) {
  for (const auto& x : TestRows(6)) {
    const std::vector<uint8_t> bytes = Quantize(GgmlType::kQ8_K, x);
    const std::vector<float> y = Dequantize(GgmlType::kQ8_K, bytes, x.size());
    for (size_t b = 0; b < x.size() / 256; ++b) {
      const BlockQ8_K block = BlockAt<BlockQ8_K>(bytes, b);
      const double bound = 0.5 * std::fabs(block.d) * (1 + 1e-4);
      size_t arg_max = 256 * b;
      for (size_t i = 256 * b; i < 256 * (b + 1); ++i) {
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), bound) << "element " << i;
        if (std::fabs(x[i]) > std::fabs(x[arg_max])) arg_max = i;
      }
      EXPECT_EQ(block.qs[arg_max - 256 * b], -127);
      for (int k = 0; k < 16; ++k) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += block.qs[16 * k + l];
        ASSERT_EQ(block.bsums[k], sum) << "block " << b << " group " << k;
      }
    }
  }
}

TEST(Quantize, ConstantRowsAreNearlyExact) {
  for (GgmlType type : kQuantizedTypes) {
    for (float c : {0.37f, -0.37f, 3.0f, -12.5f}) {
      const std::vector<float> x(512, c);
      const std::vector<float> y = Dequantize(type, Quantize(type, x), x.size());
      for (float v : y) ASSERT_NEAR(v, c, std::fabs(c) * 2e-3) << NameOf(type) << " c=" << c;
    }
  }
}

TEST(Quantize, TinyMagnitudesStayFiniteAndSmall) {
  ::smollm::testing::RowGenerator gen(8);
  for (double amplitude : {1e-9, 1e-20, 1e-38, 1e-44}) {
    const std::vector<float> x = gen.Row(512, amplitude);
    const float amax = AbsMax(x.data(), static_cast<int>(x.size()));
    for (GgmlType type : kQuantizedTypes) {
      const std::vector<float> y = Dequantize(type, Quantize(type, x), x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_TRUE(std::isfinite(y[i])) << NameOf(type) << " " << amplitude;
        // fp16 scales cannot express such values; the error is at most the input's size.
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), 2.0 * amax) << NameOf(type);
      }
    }
  }
}

TEST(Quantize, Q8_KKeepsPrecisionAtTinyMagnitudes) {
  ::smollm::testing::RowGenerator gen(9);
  const std::vector<float> x = gen.Row(256, 1e-30);
  const std::vector<uint8_t> bytes = Quantize(GgmlType::kQ8_K, x);
  const std::vector<float> y = Dequantize(GgmlType::kQ8_K, bytes, x.size());
  const double bound = 0.5 * std::fabs(BlockAt<BlockQ8_K>(bytes, 0).d) * (1 + 1e-4);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_LE(std::fabs(y[i] - x[i]), bound);
}

// Beyond what fp16 scales can express, scales saturate: finite values, right signs,
// nothing larger than the input.
TEST(Quantize, OutOfRangeMagnitudesSaturate) {
  ::smollm::testing::RowGenerator gen(10);
  const std::vector<float> x = gen.Row(512, 1e12);
  const float amax = AbsMax(x.data(), static_cast<int>(x.size()));
  for (GgmlType type : kQuantizedTypes) {
    const std::vector<float> y = Dequantize(type, Quantize(type, x), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << NameOf(type);
      ASSERT_LE(std::fabs(y[i]), amax * (1 + 1e-3)) << NameOf(type) << " element " << i;
      if (std::fabs(x[i]) > 0.5f * amax) {
        ASSERT_EQ(std::signbit(y[i]), std::signbit(x[i])) << NameOf(type) << " element " << i;
      }
    }
  }
}

TEST(Quantize, SameInputSameBytes) {
  const std::vector<float> x = ::smollm::testing::RowGenerator(11).Row(kElements, 1.0);
  for (GgmlType type : kQuantizedTypes)
    EXPECT_EQ(Quantize(type, x), Quantize(type, x)) << NameOf(type);
}

TEST(QuantizeRow, RejectsNonFiniteInputNamingTheIndex) {
  for (GgmlType type : kQuantizedTypes) {
    for (float bad : {NAN, INFINITY, -INFINITY}) {
      std::vector<float> x = ::smollm::testing::RowGenerator(12).Row(256, 1.0);
      x[37] = bad;
      std::vector<uint8_t> bytes(*RowBytes(type, x.size()));
      const absl::Status status = QuantizeRow(type, x, bytes);
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << NameOf(type);
      EXPECT_NE(std::string(status.message()).find("src[37]"), std::string::npos) << status;
    }
  }
}

TEST(QuantizeRow, PlainTypesConvertEveryValue) {
  const std::vector<float> x = {1.0f, -0.0f, 65520.0f, 3.14159f, NAN, 1e-8f, -2.5f, INFINITY};
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16}) {
    std::vector<uint8_t> bytes(*RowBytes(type, x.size()));
    ASSERT_TRUE(QuantizeRow(type, x, bytes).ok()) << NameOf(type);
    for (size_t i = 0; i < x.size(); ++i) {
      uint32_t want;
      if (type == GgmlType::kF32) {
        want = F32Bits(x[i]);
      } else {
        const uint16_t h = type == GgmlType::kF16 ? Fp32ToFp16(x[i]) : Fp32ToBf16(x[i]);
        want = F32Bits(type == GgmlType::kF16 ? Fp16ToFp32(h) : Bf16ToFp32(h));
      }
      std::vector<float> y(x.size());
      ASSERT_TRUE(DequantizeRow(type, bytes, y).ok());
      EXPECT_EQ(F32Bits(y[i]), want) << NameOf(type) << " element " << i;
    }
  }
}

TEST(QuantizeRow, EmptyRowIsFine) {
  for (GgmlType type :
       {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ8_1,
        GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ8_K}) {
    EXPECT_TRUE(CanQuantize(type));
    EXPECT_TRUE(QuantizeRow(type, {}, {}).ok()) << NameOf(type);
  }
}

TEST(QuantizeRow, SizeAndTypeErrors) {
  const std::vector<float> x(256, 0.5f);
  std::vector<uint8_t> bytes(144);
  EXPECT_TRUE(QuantizeRow(GgmlType::kQ4_K, x, bytes).ok());
  std::vector<uint8_t> short_dst(143), long_dst(145);
  EXPECT_EQ(QuantizeRow(GgmlType::kQ4_K, x, short_dst).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeRow(GgmlType::kQ4_K, x, long_dst).code(), absl::StatusCode::kInvalidArgument);
  const std::vector<float> partial(100, 0.5f);
  EXPECT_EQ(QuantizeRow(GgmlType::kQ8_0, partial, bytes).code(),
            absl::StatusCode::kInvalidArgument);
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_1, GgmlType::kQ5_K,
                        GgmlType::kQ2_K, GgmlType::kI8, GgmlType::kF64}) {
    EXPECT_FALSE(CanQuantize(type));
    EXPECT_EQ(QuantizeRow(type, x, bytes).code(), absl::StatusCode::kUnimplemented) << NameOf(type);
  }
}

}  // namespace
}  // namespace smollm::runtime
