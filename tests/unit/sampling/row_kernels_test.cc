// Row kernels: exp accuracy, every pass against a scalar reference, and the portable and
// AVX2 builds agreeing bit for bit, on random rows of awkward sizes.
#include "runtime/sampling/row_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const size_t kSizes[] = {1, 3, 15, 16, 17, 31, 1023, 1024, 1025, 5000, 49152, 128256};

std::vector<float> RandomRow(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<float> row(n);
  for (float& v : row) v = normal(gen);
  // Some masked tokens, as logit_bias bans produce.
  for (size_t i = seed % 7; i < n; i += 97) row[i] = -kInf;
  return row;
}

std::vector<const RowKernels*> AllKernels() {
  std::vector<const RowKernels*> all = {&PortableRowKernels()};
  if (Avx2RowKernels() != nullptr) all.push_back(Avx2RowKernels());
  return all;
}

TEST(RowKernelsTest, ExpNonPositiveIsAccurate) {
  EXPECT_EQ(ExpNonPositive(0.0f), 1.0f);
  EXPECT_EQ(ExpNonPositive(-kInf), 0.0f);
  EXPECT_EQ(ExpNonPositive(-87.5f), 0.0f);
  EXPECT_EQ(ExpNonPositive(-1000.0f), 0.0f);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> uniform(kExpLowest, 0.0f);
  double worst = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const float x = i < 1000 ? -static_cast<float>(i) * 1e-3f : uniform(gen);
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(ExpNonPositive(x) - exact) / exact);
  }
  EXPECT_LT(worst, 5e-7);  // a few ulp
}

TEST(RowKernelsTest, CopyRowCheckedFindsNaNAndPositiveInfinity) {
  for (const RowKernels* k : AllKernels()) {
    for (size_t n : kSizes) {
      SCOPED_TRACE(n);
      std::vector<float> src = RandomRow(n, 1), dst(n);
      ASSERT_TRUE(k->copy_row_checked(src.data(), dst.data(), n));  // -inf is fine
      EXPECT_TRUE(std::equal(src.begin(), src.end(), dst.begin(),
                             [](float a, float b) { return a == b || (a != a && b != b); }));
      for (size_t pos : {size_t{0}, n / 2, n - 1}) {
        for (float bad : {std::numeric_limits<float>::quiet_NaN(), kInf}) {
          std::vector<float> row = src;
          row[pos] = bad;
          EXPECT_FALSE(k->copy_row_checked(row.data(), dst.data(), n)) << pos;
        }
      }
    }
  }
}

TEST(RowKernelsTest, MaxFindAndScanMatchScalar) {
  for (const RowKernels* k : AllKernels()) {
    for (size_t n : kSizes) {
      SCOPED_TRACE(n);
      std::vector<float> row = RandomRow(n, 2);
      const float max = *std::max_element(row.begin(), row.end());
      EXPECT_EQ(k->row_max(row.data(), n), max);
      // A second copy of the maximum later on: find reports the first.
      const size_t first = static_cast<size_t>(std::find(row.begin(), row.end(), max) - row.begin());
      if (first + 5 < n) row[n - 1] = max;
      EXPECT_EQ(k->row_find(row.data(), n, max), first);
      EXPECT_EQ(k->row_find(row.data(), n, 1e9f), n);
      for (float threshold : {-kInf, -3.0f, 5.0f, 9.0f, max, 1e9f}) {
        for (size_t start : {size_t{0}, size_t{1}, n / 3, n}) {
          size_t expected = start;
          while (expected < n && !(row[expected] >= threshold)) ++expected;
          EXPECT_EQ(k->row_find_at_least(row.data(), n, start, threshold), expected);
        }
      }
    }
  }
}

TEST(RowKernelsTest, SoftmaxMatchesScalarExpBitForBit) {
  for (const RowKernels* k : AllKernels()) {
    for (size_t n : kSizes) {
      for (float scale : {1.0f, 1.0f / 0.7f, 20.0f}) {
        SCOPED_TRACE(::testing::Message() << n << " scale " << scale);
        const std::vector<float> row = RandomRow(n, 3);
        const float max = *std::max_element(row.begin(), row.end());
        std::vector<float> probs = row;
        std::vector<double> blocks(NumRowBlocks(n), -1.0);
        const double total = k->row_softmax_in_place(probs.data(), n, max, scale, blocks.data());
        double exact = 0.0, block_total = 0.0;
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(probs[i], ExpNonPositive((row[i] - max) * scale)) << i;
          exact += std::exp((static_cast<double>(row[i]) - max) * static_cast<double>(scale));
        }
        for (double b : blocks) block_total += b;
        EXPECT_EQ(block_total, total);  // the total is the blocks' sum, in order
        EXPECT_NEAR(total, exact, 1e-6 * exact);
        for (size_t b = 0; b < blocks.size(); ++b) {
          double sum = 0.0;
          for (size_t i = b * kRowBlock; i < std::min(n, (b + 1) * kRowBlock); ++i) sum += probs[i];
          EXPECT_NEAR(blocks[b], sum, 1e-6 * sum + 1e-30) << b;
        }
        if (scale == 1.0f) {
          EXPECT_NEAR(k->row_sum_exp(row.data(), n, max), exact, 1e-6 * exact);
        }
      }
    }
  }
}

TEST(RowKernelsTest, PortableAndAvx2AgreeBitForBit) {
  const RowKernels* avx2 = Avx2RowKernels();
  if (avx2 == nullptr) GTEST_SKIP() << "no AVX2 on this CPU or target";
  const RowKernels& portable = PortableRowKernels();
  for (size_t n : kSizes) {
    SCOPED_TRACE(n);
    const std::vector<float> row = RandomRow(n, 4);
    const float max = portable.row_max(row.data(), n);
    EXPECT_EQ(avx2->row_sum_exp(row.data(), n, max), portable.row_sum_exp(row.data(), n, max));
    std::vector<float> a = row, b = row;
    std::vector<double> blocks_a(NumRowBlocks(n)), blocks_b(NumRowBlocks(n));
    EXPECT_EQ(avx2->row_softmax_in_place(a.data(), n, max, 1.3f, blocks_a.data()),
              portable.row_softmax_in_place(b.data(), n, max, 1.3f, blocks_b.data()));
    EXPECT_EQ(a, b);
    EXPECT_EQ(blocks_a, blocks_b);
  }
}

}  // namespace
}  // namespace smollm::runtime
