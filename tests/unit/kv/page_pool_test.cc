// PagePool: allocation until full, reference counts, watermark, cached pages and LRU.
#include "runtime/kv/page_pool.h"

#include <memory>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

std::unique_ptr<PagePool> MakePool(int32_t n_pages, int32_t watermark = 0) {
  auto pool = PagePool::Create({n_pages, 16, watermark});
  EXPECT_TRUE(pool.ok()) << pool.status();
  return std::move(pool).value();
}

// Records evictions in order, as the prefix cache would.
struct EvictionLog : PageEvictionListener {
  std::vector<int32_t> evicted;
  void OnPageEvicted(int32_t page) override { evicted.push_back(page); }
};

TEST(PagePool, CreateRejectsBadOptions) {
  EXPECT_FALSE(PagePool::Create({0, 16, 0}).ok());
  EXPECT_FALSE(PagePool::Create({4, 0, 0}).ok());
  EXPECT_FALSE(PagePool::Create({4, 16, 5}).ok());
  EXPECT_FALSE(PagePool::Create({4, 16, -1}).ok());
  const auto status = PagePool::Create({4, 16, 5}).status();
  EXPECT_NE(status.message().find("watermark_pages"), std::string::npos) << status;
}

TEST(PagePool, AllocatesUntilFullThenNullopt) {
  auto pool = MakePool(4);
  std::set<int32_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto page = pool->Allocate();
    ASSERT_TRUE(page.has_value());
    EXPECT_TRUE(seen.insert(*page).second);
    EXPECT_EQ(pool->ref_count(*page), 1);
  }
  EXPECT_FALSE(pool->Allocate().has_value());
  EXPECT_EQ(pool->n_free(), 0);
  EXPECT_EQ(pool->n_used(), 4);
}

TEST(PagePool, RefCountsKeepSharedPages) {
  auto pool = MakePool(2);
  const int32_t p = *pool->Allocate();
  pool->Retain(p);
  pool->Release(p);
  EXPECT_EQ(pool->n_free(), 1);
  EXPECT_EQ(pool->ref_count(p), 1);
  pool->Release(p);
  EXPECT_EQ(pool->n_free(), 2);
}

TEST(PagePool, AllocateManyIsAllOrNothing) {
  auto pool = MakePool(5);
  EXPECT_FALSE(pool->AllocateMany(6).has_value());
  EXPECT_FALSE(pool->AllocateMany(-1).has_value());
  EXPECT_EQ(pool->n_free(), 5);
  auto pages = pool->AllocateMany(3);
  ASSERT_TRUE(pages.has_value());
  EXPECT_EQ(pages->size(), 3u);
  EXPECT_EQ(pool->n_free(), 2);
  std::vector<int32_t> more = {99};  // AllocateInto appends and keeps what was there
  EXPECT_FALSE(pool->AllocateInto(3, PageClaim::kRunning, more));
  EXPECT_EQ(more.size(), 1u);
  EXPECT_TRUE(pool->AllocateInto(2, PageClaim::kRunning, more));
  EXPECT_EQ(more.size(), 3u);
  for (int32_t p : *pages) pool->Release(p);
  pool->Release(more[1]);
  pool->Release(more[2]);
  EXPECT_EQ(pool->n_free(), 5);
}

TEST(PagePool, WatermarkStopsAdmissionButNotRunningSequences) {
  auto pool = MakePool(10, /*watermark=*/3);
  EXPECT_EQ(pool->n_available(PageClaim::kAdmission), 7);
  EXPECT_EQ(pool->n_available(PageClaim::kRunning), 10);
  EXPECT_FALSE(pool->AllocateMany(8, PageClaim::kAdmission).has_value());
  ASSERT_TRUE(pool->AllocateMany(7, PageClaim::kAdmission).has_value());
  EXPECT_FALSE(pool->Allocate(PageClaim::kAdmission).has_value());
  EXPECT_EQ(pool->n_available(PageClaim::kAdmission), 0);
  // Decode of running sequences dips into the reserve, down to the last page.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(pool->Allocate(PageClaim::kRunning).has_value());
  EXPECT_FALSE(pool->Allocate(PageClaim::kRunning).has_value());
  EXPECT_EQ(pool->n_available(PageClaim::kAdmission), 0);
}

TEST(PagePool, CachedPagesStayValidUntilAnAllocationNeedsThem) {
  auto pool = MakePool(4);
  EvictionLog log;
  pool->SetEvictionListener(&log);
  auto pages = *pool->AllocateMany(4);
  for (int32_t p : pages) pool->MarkCached(p);
  // Released in the order 2, 0, 3: that is the LRU order. Page 1 stays referenced.
  pool->Release(pages[2]);
  pool->Release(pages[0]);
  pool->Release(pages[3]);
  EXPECT_EQ(pool->n_free(), 0);
  EXPECT_EQ(pool->n_cached(), 3);
  EXPECT_EQ(pool->n_used(), 1);
  EXPECT_EQ(pool->n_available(PageClaim::kRunning), 3);
  EXPECT_TRUE(log.evicted.empty());  // nothing evicted before anyone needs space

  // A hit revives page 0: it leaves the LRU list and cannot be evicted while held.
  pool->Retain(pages[0]);
  EXPECT_EQ(pool->n_cached(), 2);
  EXPECT_EQ(*pool->Allocate(), pages[2]);
  EXPECT_EQ(*pool->Allocate(), pages[3]);
  EXPECT_FALSE(pool->Allocate().has_value());  // 0 and 1 are referenced: never evicted
  EXPECT_EQ(log.evicted, (std::vector<int32_t>{pages[2], pages[3]}));
  EXPECT_EQ(pool->n_evictions(), 2u);
  EXPECT_FALSE(pool->is_cached(pages[2]));
  EXPECT_TRUE(pool->is_cached(pages[0]));
  pool->SetEvictionListener(nullptr);
}

TEST(PagePool, FreePagesGoFirstThenLeastRecentlyReleased) {
  auto pool = MakePool(4);
  EvictionLog log;
  pool->SetEvictionListener(&log);
  auto pages = *pool->AllocateMany(3);
  for (int32_t p : pages) pool->MarkCached(p);
  for (int i = 2; i >= 0; --i) pool->Release(pages[i]);  // LRU order: 2, 1, 0
  const int32_t fresh = *pool->Allocate();
  EXPECT_FALSE(pool->is_cached(fresh));
  EXPECT_TRUE(log.evicted.empty());  // a free page was there: no eviction
  EXPECT_EQ(*pool->Allocate(), pages[2]);
  EXPECT_EQ(*pool->Allocate(), pages[1]);
  EXPECT_EQ(log.evicted, (std::vector<int32_t>{pages[2], pages[1]}));
  pool->SetEvictionListener(nullptr);
}

TEST(PagePool, UnmarkCachedFreesAnUnreferencedPage) {
  auto pool = MakePool(2);
  const int32_t p = *pool->Allocate();
  pool->MarkCached(p);
  pool->Release(p);
  EXPECT_EQ(pool->n_cached(), 1);
  pool->UnmarkCached(p);
  EXPECT_EQ(pool->n_cached(), 0);
  EXPECT_EQ(pool->n_free(), 2);
}

TEST(PagePoolDeathTest, DoubleReleaseAndRetainOfFreePageAbort) {
  auto pool = MakePool(2);
  const int32_t p = *pool->Allocate();
  pool->Release(p);
  EXPECT_DEATH(pool->Release(p), "double release");
  EXPECT_DEATH(pool->Retain(p), "Retain of a free page");
  EXPECT_DEATH(pool->Release(7), "out of range");
}

}  // namespace
}  // namespace smollm::runtime
