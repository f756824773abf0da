// Overflow-checked arithmetic on the edges of uint64.
#include "runtime/core/checked_math.h"

#include <limits>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(CheckedMath, AddDetectsOverflow) {
  EXPECT_EQ(CheckedAdd(1, 2), 3u);
  EXPECT_EQ(CheckedAdd(kMax - 1, 1), kMax);
  EXPECT_FALSE(CheckedAdd(kMax, 1).has_value());
}

TEST(CheckedMath, MulDetectsOverflow) {
  EXPECT_EQ(CheckedMul(1ull << 31, 1ull << 32), 1ull << 63);
  EXPECT_FALSE(CheckedMul(1ull << 32, 1ull << 32).has_value());
  EXPECT_EQ(CheckedMul(0, kMax), 0u);
}

TEST(CheckedMath, AlignUp) {
  EXPECT_EQ(CheckedAlignUp(0, 32), 0u);
  EXPECT_EQ(CheckedAlignUp(1, 32), 32u);
  EXPECT_EQ(CheckedAlignUp(64, 32), 64u);
  EXPECT_FALSE(CheckedAlignUp(kMax - 3, 32).has_value());
}

}  // namespace
}  // namespace smollm::runtime
