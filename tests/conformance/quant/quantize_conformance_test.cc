// Reference quantizers against llama.cpp's: round-trip RMSE no worse than ggml's
// reference quantizers on the same rows, byte-identical output where ours follow ggml's
// rounding exactly, and Q8_K's error bound.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "runtime/core/ggml_type.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/quantize.h"
#include "tests/conformance/quant/quant_fixture.h"
#include "tests/test_support.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::runtime {
namespace {

std::vector<float> RoundTrip(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> bytes(*RowBytes(type, x.size()));
  std::vector<float> y(x.size());
  EXPECT_TRUE(QuantizeRow(type, x, bytes).ok());
  EXPECT_TRUE(DequantizeRow(type, bytes, y).ok());
  return y;
}

double Rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(y[i]) - static_cast<double>(x[i]);
    sum += d * d;
  }
  return std::sqrt(sum / static_cast<double>(x.size()));
}

class QuantizeConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<::smollm::testing::RoundTripReference> ref =
        ::smollm::testing::ParseRoundTripReference(
            ::smollm::testing::ReadFixture("quant/roundtrip_reference.txt"));
    ASSERT_TRUE(ref.ok()) << ref.status();
    ref_ = *ref;
    rows_ = ::smollm::testing::GenerateRows(ref_);
  }

  ::smollm::testing::RoundTripReference ref_;
  std::vector<std::vector<float>> rows_;  // [amplitudes][elements]
};

TEST_F(QuantizeConformance, RegeneratesTheReferenceRows) {
  std::vector<float> all;
  for (const std::vector<float>& row : rows_) all.insert(all.end(), row.begin(), row.end());
  EXPECT_EQ(::smollm::testing::Fnv1a64(all), ref_.data_fnv1a64);
}

TEST_F(QuantizeConformance, RoundTripRmseNoWorseThanLlamaCpp) {
  const GgmlType types[] = {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kQ6_K};
  for (GgmlType type : types) {
    const std::string name(NameOf(type));
    ASSERT_TRUE(ref_.rmse.count(name)) << name;
    const std::vector<double>& theirs = ref_.rmse.at(name);
    ASSERT_EQ(theirs.size(), rows_.size()) << name;
    for (size_t r = 0; r < rows_.size(); ++r) {
      const double ours = Rmse(rows_[r], RoundTrip(type, rows_[r]));
      EXPECT_LE(ours, theirs[r] * (1 + 1e-3)) << name << " row " << r;
      std::printf("%-5s row %zu: rmse %.6g, llama.cpp %.6g, ratio %.4f\n", name.c_str(), r, ours,
                  theirs[r], ours / theirs[r]);
    }
  }
}

TEST_F(QuantizeConformance, ByteIdenticalToGgmlReferenceQuantizers) {
  absl::StatusOr<std::vector<::smollm::testing::QuantCase>> cases =
      ::smollm::testing::ParseQuantCases(
          ::smollm::testing::ReadFixture("quant/quantize_cases.bin"));
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_GE(cases->size(), 16u);
  for (const ::smollm::testing::QuantCase& c : *cases) {
    SCOPED_TRACE(absl::StrFormat("type %d, %s, row %d", c.type, c.source, c.row));
    ASSERT_LT(c.row, rows_.size());
    const GgmlType type = static_cast<GgmlType>(c.type);
    std::vector<uint8_t> ours(c.raw.size());
    const absl::Status status = QuantizeRow(type, rows_[c.row], ours);
    ASSERT_TRUE(status.ok()) << status;
    size_t first = ours.size();
    for (size_t i = 0; i < ours.size() && first == ours.size(); ++i) {
      if (ours[i] != c.raw[i]) first = i;
    }
    EXPECT_EQ(first, ours.size()) << "first differing byte " << first;
  }
}

// Q8_K keeps an fp32 scale, so each value is off by at most half a step (|d| / 2) plus
// a few fp32 roundings of values up to 127 |d|: 0.5 |d| (1 + 1e-4) covers them.
TEST_F(QuantizeConformance, Q8KErrorWithinHalfAStep) {
  for (const std::vector<float>& row : rows_) {
    std::vector<uint8_t> bytes(*RowBytes(GgmlType::kQ8_K, row.size()));
    ASSERT_TRUE(QuantizeRow(GgmlType::kQ8_K, row, bytes).ok());
    std::vector<float> y(row.size());
    ASSERT_TRUE(DequantizeRow(GgmlType::kQ8_K, bytes, y).ok());
    for (size_t b = 0; b < row.size() / 256; ++b) {
      BlockQ8_K block;
      std::memcpy(&block, bytes.data() + b * sizeof(BlockQ8_K), sizeof block);
      const double bound = 0.5 * std::fabs(block.d) * (1 + 1e-4);
      for (size_t i = 256 * b; i < 256 * (b + 1); ++i) {
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - row[i]), bound) << "element " << i;
      }
    }
  }
}

}  // namespace
}  // namespace smollm::runtime
