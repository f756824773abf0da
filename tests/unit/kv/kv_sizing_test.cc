// KV sizing: page bytes, page counts from a budget, errors naming the field.
#include "runtime/kv/kv_sizing.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

// SmolLM3-3B: 36 layers, 4 KV heads of 128; SmolLM2-135M: 30 layers, 3 KV heads of 64.
constexpr KvGeometry kSmolLm3{36, 4, 128, 16, KvDType::kF16};
constexpr KvGeometry kSmolLm2{30, 3, 64, 16, KvDType::kF16};

TEST(KvSizing, PageBytesIsKAndVOverEveryLayer) {
  EXPECT_EQ(*KvPageBytes(kSmolLm3), 2ull * 36 * 4 * 16 * 128 * 2);  // 589,824 bytes
  EXPECT_EQ(*KvPageBytes(kSmolLm2), 2ull * 30 * 3 * 16 * 64 * 2);
  KvGeometry bf16 = kSmolLm3;
  bf16.dtype = KvDType::kBF16;
  EXPECT_EQ(*KvPageBytes(bf16), *KvPageBytes(kSmolLm3));
  KvGeometry page32 = kSmolLm3;
  page32.page_size = 32;
  EXPECT_EQ(*KvPageBytes(page32), 2 * *KvPageBytes(kSmolLm3));
}

TEST(KvSizing, PagesForBudgetRoundsDown) {
  const uint64_t page = *KvPageBytes(kSmolLm3);
  EXPECT_EQ(*KvPagesForBudget(4ull << 30, kSmolLm3), static_cast<int32_t>((4ull << 30) / page));
  EXPECT_EQ(*KvPagesForBudget(7 * page + page - 1, kSmolLm3), 7);
  EXPECT_EQ(*KvPagesForBudget(2 * page, kSmolLm3), 2);
}

TEST(KvSizing, TooSmallBudgetSaysWhatIsNeeded) {
  const uint64_t page = *KvPageBytes(kSmolLm3);
  const auto result = KvPagesForBudget(2 * page - 1, kSmolLm3);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(result.status().message());
  EXPECT_NE(message.find("kv_cache_bytes"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(2 * page)), std::string::npos) << message;
  EXPECT_FALSE(KvPagesForBudget(0, kSmolLm3).ok());
  EXPECT_TRUE(KvPagesForBudget(page, kSmolLm3, /*min_pages=*/1).ok());
  EXPECT_FALSE(KvPagesForBudget(9 * page, kSmolLm3, /*min_pages=*/10).ok());
}

TEST(KvSizing, BadGeometryNamesTheField) {
  const struct {
    const char* name;
    int KvGeometry::*member;
  } fields[] = {{"n_layers", &KvGeometry::n_layers},
                {"n_kv_heads", &KvGeometry::n_kv_heads},
                {"head_dim", &KvGeometry::head_dim},
                {"page_size", &KvGeometry::page_size}};
  for (const auto& field : fields) {
    for (int bad : {0, -3}) {
      KvGeometry g = kSmolLm2;
      g.*field.member = bad;
      const auto status = KvPageBytes(g).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(status.message().find(field.name), std::string::npos) << status;
    }
  }
  const int big = std::numeric_limits<int>::max();
  const auto overflow = KvPageBytes({big, big, big, big, KvDType::kF16});
  EXPECT_FALSE(overflow.ok());
}

TEST(KvSizing, HugeBudgetCapsAtInt32PageIds) {
  const KvGeometry tiny{1, 1, 1, 1, KvDType::kF16};  // 4 bytes per page
  EXPECT_EQ(*KvPagesForBudget(std::numeric_limits<uint64_t>::max(), tiny),
            std::numeric_limits<int32_t>::max());
}

TEST(KvSizing, ShapeForBudgetMatchesTheBackendLayout) {
  const uint64_t budget = 1ull << 30;
  const auto shape = KvCacheShapeForBudget(budget, kSmolLm3);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->n_layers, 36);
  EXPECT_EQ(shape->n_kv_heads, 4);
  EXPECT_EQ(shape->head_dim, 128);
  EXPECT_EQ(shape->page_size, 16);
  EXPECT_EQ(shape->n_pages, *KvPagesForBudget(budget, kSmolLm3));
  // The backend's own byte count (K, V) fits the budget and wastes less than a page.
  const uint64_t used = 2 * shape->BytesPerTensor();
  EXPECT_LE(used, budget);
  EXPECT_GT(used + *KvPageBytes(kSmolLm3), budget);
  KvGeometry bf16 = kSmolLm3;
  bf16.dtype = KvDType::kBF16;
  EXPECT_EQ(KvCacheShapeForBudget(budget, bf16).status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace smollm::runtime
