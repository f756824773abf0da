// PagePool: allocation until full, reference counting, reuse.
#include "runtime/kv/page_pool.h"

#include <set>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

TEST(PagePool, AllocatesUntilFullThenNullopt) {
  PagePool pool(4);
  std::set<int32_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto page = pool.Allocate();
    ASSERT_TRUE(page.has_value());
    EXPECT_TRUE(seen.insert(*page).second);
    EXPECT_EQ(pool.ref_count(*page), 1);
  }
  EXPECT_FALSE(pool.Allocate().has_value());
  EXPECT_EQ(pool.n_free(), 0);
}

TEST(PagePool, RefCountsKeepSharedPages) {
  PagePool pool(2);
  const int32_t p = *pool.Allocate();
  pool.Retain(p);
  pool.Release(p);
  EXPECT_EQ(pool.n_free(), 1);
  EXPECT_EQ(pool.ref_count(p), 1);
  pool.Release(p);
  EXPECT_EQ(pool.n_free(), 2);
}

TEST(PagePool, AllocateManyIsAllOrNothing) {
  PagePool pool(5);
  EXPECT_FALSE(pool.AllocateMany(6).has_value());
  EXPECT_EQ(pool.n_free(), 5);
  auto pages = pool.AllocateMany(3);
  ASSERT_TRUE(pages.has_value());
  EXPECT_EQ(pages->size(), 3u);
  EXPECT_EQ(pool.n_free(), 2);
  for (int32_t p : *pages) pool.Release(p);
  EXPECT_EQ(pool.n_free(), 5);
}

}  // namespace
}  // namespace smollm::runtime
