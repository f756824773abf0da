// PageTable: reserve/commit, a shared system prompt computed once, rewind, release, moves.
#include "runtime/kv/page_table.h"

#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/kv/page_hash.h"
#include "tests/unit/kv/kv_test_util.h"

namespace smollm::runtime {
namespace {

using kv_test::Concat;
using kv_test::MakePool;
using kv_test::Prefill;
using kv_test::RandomTokens;

constexpr int P = 16;

class PageTableTest : public ::testing::Test {
 protected:
  std::unique_ptr<PagePool> pool_ = MakePool(128, P);
  PrefixCache cache_{*pool_};
  uint64_t seed_ = PrefixCacheSeed("model");
  std::mt19937_64 rng_{77};
};

TEST_F(PageTableTest, ReserveThenCommitGrowsPageByPage) {
  PageTable t(*pool_, &cache_, seed_);
  EXPECT_EQ(t.PagesNeeded(1), 1);
  EXPECT_EQ(t.PagesNeeded(P), 1);
  EXPECT_EQ(t.PagesNeeded(P + 1), 2);
  EXPECT_FALSE(t.Reserve(-1, PageClaim::kRunning));
  ASSERT_TRUE(t.Reserve(20, PageClaim::kAdmission));
  EXPECT_EQ(t.n_pages(), 2);
  EXPECT_EQ(t.capacity(), 2 * P);
  const auto tokens = RandomTokens(rng_, 40);
  EXPECT_EQ(t.Commit(tokens).code(), absl::StatusCode::kFailedPrecondition);  // past capacity
  EXPECT_EQ(t.n_tokens(), 0);
  ASSERT_TRUE(t.Commit(std::span<const TokenId>(tokens).first(20)).ok());
  EXPECT_EQ(cache_.n_entries(), 1);  // page 0 is full and registered; page 1 is not
  EXPECT_TRUE(pool_->is_cached(t.pages()[0]));
  EXPECT_FALSE(pool_->is_cached(t.pages()[1]));
  // Decode: one token at a time; a new page only every P tokens.
  for (int i = 20; i < 40; ++i) {
    ASSERT_TRUE(t.Reserve(1, PageClaim::kRunning));
    ASSERT_TRUE(t.Commit(std::span<const TokenId>(tokens).subspan(i, 1)).ok());
    EXPECT_EQ(t.n_pages(), i / P + 1);
  }
  EXPECT_EQ(cache_.n_entries(), 2);
  EXPECT_EQ(std::vector<TokenId>(t.tokens().begin(), t.tokens().end()), tokens);
  EXPECT_TRUE(t.Commit({}).ok());
}

TEST_F(PageTableTest, ReserveIsAllOrNothingAndHonoursTheWatermark) {
  auto pool = MakePool(10, P, /*watermark=*/2);
  PageTable t(*pool, nullptr, seed_);
  EXPECT_FALSE(t.Reserve(9 * P, PageClaim::kAdmission));  // 9 > 10 - 2
  EXPECT_EQ(t.n_pages(), 0);
  EXPECT_EQ(pool->n_free(), 10);
  ASSERT_TRUE(t.Reserve(8 * P, PageClaim::kAdmission));
  ASSERT_TRUE(t.Commit(RandomTokens(rng_, 8 * P)).ok());
  EXPECT_FALSE(t.Reserve(1, PageClaim::kAdmission));
  EXPECT_TRUE(t.Reserve(2 * P, PageClaim::kRunning));  // decode may use the reserve
  EXPECT_FALSE(t.Reserve(2 * P + 1, PageClaim::kRunning));
  EXPECT_EQ(pool->n_free(), 0);
}

TEST_F(PageTableTest, TwoSequencesShareAThousandTokenSystemPromptComputedOnce) {
  const auto system = RandomTokens(rng_, 1000);
  const auto a_prompt = Concat(system, RandomTokens(rng_, 37));
  const auto b_prompt = Concat(system, RandomTokens(rng_, 90));
  PageTable a(*pool_, &cache_, seed_);
  PageTable b(*pool_, &cache_, seed_);
  EXPECT_EQ(Prefill(a, a_prompt), 0);
  const int32_t a_pages = (1037 + P - 1) / P;  // 65
  EXPECT_EQ(pool_->n_used(), a_pages);
  // B reuses every full page of the system prompt (62 pages, 992 tokens); only the 8
  // tokens that share a page with A's own text are computed again, with B's question.
  const int32_t hit = Prefill(b, b_prompt);
  EXPECT_EQ(hit, 992);
  const int32_t b_new_pages = (1090 + P - 1) / P - 62;  // 7
  EXPECT_EQ(pool_->n_used(), a_pages + b_new_pages);
  EXPECT_EQ(b.n_tokens() - hit, 98);  // tokens B computed
  for (int i = 0; i < 62; ++i) {
    EXPECT_EQ(a.pages()[i], b.pages()[i]);
    EXPECT_EQ(pool_->ref_count(a.pages()[i]), 2);
  }
  EXPECT_NE(a.pages()[62], b.pages()[62]);  // the partial system page is never shared
  EXPECT_EQ(cache_.stats().hit_tokens, 992u);
  // Referenced pages are counted apart: taking them costs no free page.
  int32_t referenced = -1;
  EXPECT_EQ(cache_.CountCachedPages(seed_, system, &referenced), 62);
  EXPECT_EQ(referenced, 62);
  // When both finish, the system prompt stays cached for the next request.
  a.ReleaseAll();
  EXPECT_EQ(cache_.CountCachedPages(seed_, system, &referenced), 62);
  EXPECT_EQ(referenced, 62);  // B still holds them
  b.ReleaseAll();
  EXPECT_EQ(pool_->n_used(), 0);
  EXPECT_EQ(cache_.CountCachedPages(seed_, system, &referenced), 62);
  EXPECT_EQ(referenced, 0);
}

TEST_F(PageTableTest, TruncateInsideTheTailPageKeepsItAndDropsReservations) {
  PageTable t(*pool_, &cache_, seed_);
  const auto tokens = RandomTokens(rng_, 2 * P + 10);
  Prefill(t, tokens);
  ASSERT_TRUE(t.Reserve(3 * P, PageClaim::kRunning));  // a step that then failed
  EXPECT_EQ(t.n_pages(), 6);
  const int32_t used_before = pool_->n_used();
  EXPECT_EQ(t.Truncate(t.n_tokens()), 2 * P + 10);  // undo the reservation only
  EXPECT_EQ(t.n_pages(), 3);
  EXPECT_EQ(pool_->n_used(), used_before - 3);
  EXPECT_EQ(t.Truncate(2 * P + 4), 2 * P + 4);
  EXPECT_EQ(t.n_pages(), 3);
  EXPECT_EQ(t.Truncate(1000), 2 * P + 4);  // clamped to n_tokens
  EXPECT_EQ(t.Truncate(-5), 0);
  EXPECT_EQ(t.n_pages(), 0);
}

TEST_F(PageTableTest, TruncateToAPageBoundaryReleasesTheRightPages) {
  PageTable t(*pool_, &cache_, seed_);
  Prefill(t, RandomTokens(rng_, 4 * P + 3));
  const std::vector<int32_t> pages(t.pages().begin(), t.pages().end());
  EXPECT_EQ(t.Truncate(2 * P), 2 * P);
  ASSERT_EQ(t.n_pages(), 2);
  EXPECT_EQ(t.pages()[0], pages[0]);
  EXPECT_EQ(t.pages()[1], pages[1]);
  EXPECT_EQ(pool_->ref_count(pages[2]), 0);
  EXPECT_TRUE(pool_->is_cached(pages[2]));  // full: stays cached for others
  EXPECT_TRUE(pool_->is_cached(pages[3]));
  EXPECT_FALSE(pool_->is_cached(pages[4]));  // the partial page went back free
  EXPECT_EQ(pool_->n_cached(), 2);
  // Appending different tokens after the rewind builds a new branch of the chain.
  const auto branch = RandomTokens(rng_, 2 * P);
  ASSERT_TRUE(t.Reserve(2 * P, PageClaim::kRunning));
  ASSERT_TRUE(t.Commit(branch).ok());
  EXPECT_EQ(cache_.CountCachedPages(seed_, t.tokens()), 4);
  EXPECT_EQ(cache_.n_entries(), 6);
}

TEST_F(PageTableTest, TruncateInsideASharedFullPageRoundsDown) {
  const auto prompt = RandomTokens(rng_, 3 * P + 1);
  PageTable a(*pool_, &cache_, seed_);
  PageTable b(*pool_, &cache_, seed_);
  Prefill(a, prompt);
  ASSERT_EQ(Prefill(b, prompt), 3 * P);
  const int32_t shared = b.pages()[1];
  // Position 20 lies in page 1, which A also holds: B cannot write it, so it gives the
  // page up and must recompute positions 16..19.
  EXPECT_EQ(b.Truncate(20), P);
  EXPECT_EQ(b.n_pages(), 1);
  EXPECT_EQ(pool_->ref_count(shared), 1);
  EXPECT_TRUE(pool_->is_cached(shared));
  ASSERT_TRUE(b.Reserve(4, PageClaim::kRunning));
  EXPECT_NE(b.pages()[1], shared);
  ASSERT_TRUE(b.Commit(std::span<const TokenId>(prompt).subspan(P, 4)).ok());
}

TEST_F(PageTableTest, TruncateInsideAPrivateCachedPageTakesItOutOfTheCache) {
  const auto prompt = RandomTokens(rng_, 3 * P + 1);
  PageTable t(*pool_, &cache_, seed_);
  Prefill(t, prompt);
  const int32_t page = t.pages()[1];
  EXPECT_TRUE(pool_->is_cached(page));
  EXPECT_EQ(t.Truncate(P + 5), P + 5);
  EXPECT_EQ(t.pages()[1], page);  // kept: nobody else holds it
  EXPECT_FALSE(pool_->is_cached(page));
  EXPECT_EQ(cache_.CountCachedPages(seed_, prompt), 1);
  // It is writable again and re-registered, with its new content, when full.
  const auto rest = RandomTokens(rng_, P - 5);
  ASSERT_TRUE(t.Reserve(P - 5, PageClaim::kRunning));
  ASSERT_TRUE(t.Commit(rest).ok());
  EXPECT_TRUE(pool_->is_cached(page));
  EXPECT_EQ(cache_.CountCachedPages(seed_, t.tokens()), 2);
  EXPECT_EQ(cache_.CountCachedPages(seed_, prompt), 1);
}

TEST_F(PageTableTest, CommitRefusesToWriteASharedPartialPage) {
  PageTable t(*pool_, &cache_, seed_);
  Prefill(t, RandomTokens(rng_, P + 3));
  ASSERT_TRUE(t.Reserve(2, PageClaim::kRunning));
  pool_->Retain(t.pages()[1]);  // a naive fork sharing the partial page: an engine bug
  EXPECT_EQ(t.Commit(RandomTokens(rng_, 2)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(t.n_tokens(), P + 3);
  pool_->Release(t.pages()[1]);
  EXPECT_TRUE(t.Commit(RandomTokens(rng_, 2)).ok());
}

TEST_F(PageTableTest, WithoutACacheNothingIsSharedAndEverythingIsFreed) {
  PageTable t(*pool_, nullptr, seed_);
  const auto prompt = RandomTokens(rng_, 5 * P);
  EXPECT_EQ(Prefill(t, prompt), 0);
  EXPECT_EQ(cache_.n_entries(), 0);
  EXPECT_EQ(t.Truncate(2 * P + 1), 2 * P + 1);
  t.ReleaseAll();
  EXPECT_EQ(pool_->n_free(), pool_->n_pages());
}

TEST_F(PageTableTest, MovesTransferTheLeaseOnce) {
  PageTable a(*pool_, &cache_, seed_);
  Prefill(a, RandomTokens(rng_, 2 * P + 1));
  PageTable b(std::move(a));
  EXPECT_EQ(a.n_pages(), 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.n_pages(), 3);
  PageTable c(*pool_, &cache_, seed_);
  Prefill(c, RandomTokens(rng_, 5));
  c = std::move(b);  // c's own page is released first
  EXPECT_EQ(c.n_pages(), 3);
  EXPECT_EQ(pool_->n_used(), 3);
  c.ReleaseAll();
  EXPECT_EQ(pool_->n_used(), 0);
}

}  // namespace
}  // namespace smollm::runtime
