// The scale-search helpers: rounding, saturation, and fits that recover exactly
// representable sub-blocks and never lose to the plain min/max (or absmax) grid.
#include "runtime/quant/scale_search.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/quant/half.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::runtime {
namespace {

TEST(RoundClamp, TiesToEvenAndClamps) {
  EXPECT_EQ(RoundClamp(2.5f, -10, 10), 2);
  EXPECT_EQ(RoundClamp(3.5f, -10, 10), 4);
  EXPECT_EQ(RoundClamp(-2.5f, -10, 10), -2);
  EXPECT_EQ(RoundClamp(2.4999998f, -10, 10), 2);
  EXPECT_EQ(RoundClamp(14.6f, 0, 15), 15);
  EXPECT_EQ(RoundClamp(15.7f, 0, 15), 15);
  EXPECT_EQ(RoundClamp(-0.7f, 0, 15), 0);
  EXPECT_EQ(RoundClamp(1e30f, 0, 15), 15);
  EXPECT_EQ(RoundClamp(INFINITY, -32, 31), 31);
  EXPECT_EQ(RoundClamp(-INFINITY, -32, 31), -32);
  EXPECT_EQ(RoundClamp(NAN, -32, 31), -32);
}

TEST(ClampToFp16Range, SaturatesOnlyWhatWouldOverflow) {
  EXPECT_EQ(ClampToFp16Range(65519.0f), 65519.0f);  // still rounds to 65504
  EXPECT_EQ(ClampToFp16Range(65520.0f), kFp16Max);
  EXPECT_EQ(ClampToFp16Range(-1e30f), -kFp16Max);
  EXPECT_EQ(ClampToFp16Range(1e-30f), 1e-30f);
}

TEST(FitAffine, RecoversAnExactlyRepresentableSubBlock) {
  ::smollm::testing::RowGenerator gen(11);
  for (int trial = 0; trial < 200; ++trial) {
    const float scale = 0.01f * static_cast<float>(1 + gen.NextU64() % 100);
    const float min = scale * static_cast<float>(gen.NextU64() % 16);
    std::vector<float> x(32);
    for (int i = 0; i < 32; ++i) {
      const int q = i < 2 ? 15 * i : static_cast<int>(gen.NextU64() % 16);  // 0 and 15 present
      x[i] = scale * static_cast<float>(q) - min;
    }
    const AffineFit fit = FitAffine(x, 15);
    ASSERT_LE(AffineError(x, 15, fit.scale, fit.min, nullptr), 1e-9 * scale * scale) << trial;
  }
}

TEST(FitAffine, NeverWorseThanTheMinMaxGrid) {
  ::smollm::testing::RowGenerator gen(12);
  for (int trial = 0; trial < 500; ++trial) {
    const std::vector<float> x = gen.Row(32, 1.0);
    float lo = 0, hi = x[0];
    for (float v : x) {
      lo = std::fmin(lo, v);
      hi = std::fmax(hi, v);
    }
    const double plain = AffineError(x, 15, (hi - lo) / 15, -lo, nullptr);
    const AffineFit fit = FitAffine(x, 15);
    EXPECT_GE(fit.scale, 0.0f);
    EXPECT_GE(fit.min, 0.0f);
    EXPECT_LE(AffineError(x, 15, fit.scale, fit.min, nullptr), plain) << trial;
  }
}

TEST(FitAffine, AllEqualNonPositiveBlockIsExact) {
  const std::vector<float> x(32, -0.75f);
  const AffineFit fit = FitAffine(x, 15);
  EXPECT_EQ(AffineError(x, 15, fit.scale, fit.min, nullptr), 0.0);
}

TEST(FitSymmetric, RecoversAnExactlyRepresentableSubBlock) {
  ::smollm::testing::RowGenerator gen(13);
  for (int trial = 0; trial < 200; ++trial) {
    const float scale = 0.001f * static_cast<float>(1 + gen.NextU64() % 1000);
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) {
      const int q = i == 0 ? -32 : static_cast<int>(gen.NextU64() % 64) - 32;
      x[i] = scale * static_cast<float>(q);
    }
    const float s = FitSymmetric(x, 32);
    ASSERT_LE(SymmetricError(x, 32, s, nullptr), 1e-9 * scale * scale) << trial;
  }
}

TEST(FitSymmetric, NeverWorseThanTheAbsmaxGrid) {
  ::smollm::testing::RowGenerator gen(14);
  for (int trial = 0; trial < 500; ++trial) {
    const std::vector<float> x = gen.Row(16, 1.0);
    float amax = 0, max = 0;
    for (float v : x) {
      if (std::fabs(v) > amax) {
        amax = std::fabs(v);
        max = v;
      }
    }
    const double plain = SymmetricError(x, 32, -max / 32, nullptr);
    EXPECT_LE(SymmetricError(x, 32, FitSymmetric(x, 32), nullptr), plain) << trial;
  }
}

TEST(FitSymmetric, ZeroBlockGivesZeroScale) {
  EXPECT_EQ(FitSymmetric(std::vector<float>(16, 0.0f), 32), 0.0f);
}

}  // namespace
}  // namespace smollm::runtime
