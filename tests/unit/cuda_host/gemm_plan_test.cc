// gemm_plan.h: dequantization tiles cover a weight within the scratch bound at aligned
// row offsets; the plan cache finds what it holds, by every field of the shape, and
// starts over past its capacity; decode buckets stay below the cuBLASLt crossover.
#include "runtime/backend/cuda/gemm_plan.h"

#include <random>

#include "gtest/gtest.h"

namespace smollm::runtime::cuda {
namespace {

TEST(GemmPlan, DequantTilesCoverTheWeightWithinTheScratch) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const int64_t cols = 256 * (1 + rng() % 64);
    const int64_t rows = 1 + rng() % 200000;
    const int64_t tile = DequantTileRows(rows, cols);
    ASSERT_GE(tile, 1);
    EXPECT_LE(tile * cols, std::max(kDequantTileElements, kDequantTileRowAlign * cols));
    if (tile < rows) {
      EXPECT_EQ(tile % kDequantTileRowAlign, 0) << rows << " x " << cols;
    } else {
      EXPECT_LE(rows * cols, kDequantTileElements);
    }
  }
  // A 3B-class model: every layer weight in one tile, the vocabulary in a few.
  EXPECT_EQ(DequantTileRows(11008, 2048), 11008);
  EXPECT_EQ(DequantTileRows(2048, 11008), 2048);
  const int64_t vocab_tile = DequantTileRows(128256, 2048);
  EXPECT_EQ(vocab_tile, 16384);
}

TEST(GemmPlan, CacheFindsByEveryFieldAndStartsOverWhenFull) {
  GemmPlanCache<int> cache(3);
  const GemmShape a{128, 2048, 2048, 2048, 0};
  EXPECT_EQ(cache.Find(a), nullptr);
  cache.Insert(a, std::make_unique<int>(1));
  ASSERT_NE(cache.Find(a), nullptr);
  EXPECT_EQ(*cache.Find(a), 1);
  for (GemmShape other : {GemmShape{129, 2048, 2048, 2048, 0}, GemmShape{128, 2049, 2048, 2048, 0},
                          GemmShape{128, 2048, 2047, 2048, 0}, GemmShape{128, 2048, 2048, 4096, 0},
                          GemmShape{128, 2048, 2048, 2048, 1}}) {
    EXPECT_EQ(cache.Find(other), nullptr);
  }
  cache.Insert({1, 1, 1, 1, 0}, std::make_unique<int>(2));
  cache.Insert({2, 2, 2, 2, 0}, std::make_unique<int>(3));
  EXPECT_EQ(cache.size(), 3u);
  cache.Insert({3, 3, 3, 3, 0}, std::make_unique<int>(4));  // full: starts over
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find(a), nullptr);
  EXPECT_EQ(*cache.Find({3, 3, 3, 3, 0}), 4);
}

TEST(GemmPlan, DecodeBucketsStayOnTheMatVecKernel) {
  EXPECT_GT(kCublasMinTokens, 64);  // the largest decode bucket
}

}  // namespace
}  // namespace smollm::runtime::cuda
