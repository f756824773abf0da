// Block geometry of the GGUF tensor types.
#include "runtime/core/ggml_type.h"

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

TEST(GgmlType, KnownAndUnknownIds) {
  ASSERT_TRUE(TraitsOf(12u).has_value());
  EXPECT_EQ(TraitsOf(12u)->name, "q4_K");
  EXPECT_EQ(TraitsOf(12u)->block_bytes, 144u);
  EXPECT_EQ(TraitsOf(GgmlType::kQ6_K).block_bytes, 210u);
  EXPECT_FALSE(TraitsOf(4u).has_value());  // removed Q4_2
  EXPECT_FALSE(TraitsOf(1000u).has_value());
}

TEST(GgmlType, RowBytes) {
  EXPECT_EQ(RowBytes(GgmlType::kQ4_K, 2048), 8u * 144u);
  EXPECT_EQ(RowBytes(GgmlType::kQ8_0, 576), 18u * 34u);
  EXPECT_FALSE(RowBytes(GgmlType::kQ4_K, 576).has_value());  // not whole blocks
  EXPECT_FALSE(RowBytes(GgmlType::kF32, 1ull << 63).has_value());
}

}  // namespace
}  // namespace smollm::runtime
