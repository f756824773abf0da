// PrefixCache: hits and misses by prefix length, verification against collisions, model
// identity, duplicates, stale entries and LRU eviction.
#include "runtime/kv/prefix_cache.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/kv/page_hash.h"
#include "runtime/kv/page_table.h"
#include "tests/unit/kv/kv_test_util.h"

namespace smollm::runtime {
namespace {

using kv_test::Concat;
using kv_test::MakePool;
using kv_test::Prefill;
using kv_test::RandomTokens;

constexpr int P = 16;

void ReleaseMatch(PagePool& pool, const PrefixCache::Match& match) {
  for (int32_t p : match.pages) pool.Release(p);
}

TEST(PageHash, DependsOnEveryTokenTheParentAndTheLength) {
  std::mt19937_64 rng(11);
  const auto tokens = RandomTokens(rng, P);
  const uint64_t root = RootPageHash(PrefixCacheSeed("model"));
  const uint64_t h = PageHash(root, tokens);
  EXPECT_EQ(h, PageHash(root, tokens));
  for (int i = 0; i < P; ++i) {
    auto changed = tokens;
    changed[i] ^= 1;
    EXPECT_NE(PageHash(root, changed), h) << "token " << i;
  }
  auto swapped = tokens;
  std::swap(swapped[0], swapped[1]);
  EXPECT_NE(PageHash(root, swapped), h);
  EXPECT_NE(PageHash(root + 1, tokens), h);
  EXPECT_NE(PageHash(root, std::span<const TokenId>(tokens).first(P - 1)), h);
  EXPECT_NE(RootPageHash(1), RootPageHash(2));
  EXPECT_NE(PrefixCacheSeed("ab", "c"), PrefixCacheSeed("a", "bc"));
  EXPECT_NE(PrefixCacheSeed("model"), PrefixCacheSeed("model", "tenant"));
}

class PrefixCacheTest : public ::testing::Test {
 protected:
  std::unique_ptr<PagePool> pool_ = MakePool(64, P);
  PrefixCache cache_{*pool_};
  uint64_t seed_ = PrefixCacheSeed("SmolLM2-135M-Instruct Q4_1");
  std::mt19937_64 rng_{2024};
};

TEST_F(PrefixCacheTest, HitsCoverTheLongestSharedRunOfFullPages) {
  const auto base = RandomTokens(rng_, 5 * P + 7);  // 5 full pages and a partial one
  PageTable owner(*pool_, &cache_, seed_);
  EXPECT_EQ(Prefill(owner, base), 0);
  EXPECT_EQ(cache_.n_entries(), 5);  // the partial page is not registered

  auto diverge_at = [&](size_t pos) {  // base with a different token at pos, same length
    auto t = base;
    t[pos] = (t[pos] + 1) % 49152;
    return t;
  };
  const std::span<const TokenId> b(base);
  const struct {
    const char* what;
    std::vector<TokenId> prompt;
    int32_t pages;
  } cases[] = {
      {"empty prompt", {}, 0},
      {"first token differs", diverge_at(0), 0},
      {"a partial page shared", Concat(b.first(10), RandomTokens(rng_, 40)), 0},
      {"diverges inside page 2", diverge_at(2 * P + 5), 2},
      {"exactly 3 pages shared", Concat(b.first(3 * P), RandomTokens(rng_, 20)), 3},
      {"exactly the 5 cached pages", std::vector<TokenId>(b.begin(), b.begin() + 5 * P), 5},
      {"longer than the cached run", Concat(base, RandomTokens(rng_, 3 * P)), 5},
  };
  uint64_t hits = 0, lookups = 0, queried = 0;
  for (const auto& c : cases) {
    const PrefixCache::Match m = cache_.Lookup(seed_, c.prompt);
    EXPECT_EQ(static_cast<int32_t>(m.pages.size()), c.pages) << c.what;
    EXPECT_EQ(m.n_tokens, c.pages * P) << c.what;
    EXPECT_EQ(cache_.CountCachedPages(seed_, c.prompt), c.pages) << c.what;
    for (int32_t i = 0; i < c.pages; ++i) {
      EXPECT_EQ(m.pages[i], owner.pages()[i]) << c.what;
      EXPECT_EQ(pool_->ref_count(m.pages[i]), 2) << c.what;  // owner + this lookup
    }
    ReleaseMatch(*pool_, m);
    hits += c.pages;
    ++lookups;
    queried += c.prompt.size() / P;
  }
  const PrefixCacheStats& s = cache_.stats();
  // The owner's own MatchPrefix counted as one lookup of 5 pages, all missed.
  EXPECT_EQ(s.lookups, lookups + 1);
  EXPECT_EQ(s.hit_pages, hits);
  EXPECT_EQ(s.hit_tokens, hits * P);
  EXPECT_EQ(s.lookup_pages, queried + 5);
  EXPECT_EQ(s.miss_pages, queried + 5 - hits);
  EXPECT_EQ(s.registered_pages, 5u);
}

TEST_F(PrefixCacheTest, MatchPrefixLeavesTheLastTokenToCompute) {
  const auto prompt = RandomTokens(rng_, 4 * P);
  PageTable first(*pool_, &cache_, seed_);
  Prefill(first, prompt);
  PageTable second(*pool_, &cache_, seed_);
  // All 4 pages are cached, but the last token's logits are needed: 3 pages adopted.
  EXPECT_EQ(*second.MatchPrefix(prompt), 3 * P);
  EXPECT_EQ(second.n_prefix_hit_tokens(), 3 * P);
  EXPECT_FALSE(second.MatchPrefix(prompt).ok());  // not empty any more
}

TEST_F(PrefixCacheTest, ModelIdentitySeparatesCaches) {
  const auto prompt = RandomTokens(rng_, 6 * P + 1);
  const uint64_t other_model = PrefixCacheSeed("SmolLM3-3B Q4_K_M");
  const uint64_t other_tenant = PrefixCacheSeed("SmolLM2-135M-Instruct Q4_1", "tenant-b");
  PageTable a(*pool_, &cache_, seed_);
  Prefill(a, prompt);
  for (uint64_t seed : {other_model, other_tenant}) {
    EXPECT_EQ(cache_.CountCachedPages(seed, prompt), 0);
    PageTable b(*pool_, &cache_, seed);
    EXPECT_EQ(Prefill(b, prompt), 0);  // computed again, registered under its own seed
  }
  EXPECT_EQ(cache_.n_entries(), 3 * 6);
  EXPECT_EQ(cache_.CountCachedPages(seed_, prompt), 6);
  EXPECT_EQ(cache_.CountCachedPages(other_model, prompt), 6);
}

TEST(PrefixCacheCollision, ZeroMaskMakesEveryHashCollideAndVerifyRejectsThem) {
  // hash_mask = 0: every page of every prompt hashes to the same key.
  auto pool = MakePool(32, P);
  PrefixCache cache(*pool, {.hash_mask = 0});
  const uint64_t seed = PrefixCacheSeed("m");
  std::mt19937_64 rng(5);
  const auto a_tokens = RandomTokens(rng, 3 * P + 1);
  PageTable a(*pool, &cache, seed);
  Prefill(a, a_tokens);
  // Page 0 took the only key; pages 1 and 2 collided with it (referenced: kept) and
  // the chain stopped being cached.
  EXPECT_EQ(cache.n_entries(), 1);
  EXPECT_TRUE(pool->is_cached(a.pages()[0]));
  EXPECT_FALSE(pool->is_cached(a.pages()[1]));
  EXPECT_FALSE(pool->is_cached(a.pages()[2]));
  EXPECT_EQ(cache.stats().rejected_by_verify, 1u);  // page 1; page 2's parent was broken

  // A different prompt finds a page under its key but must not get it.
  const auto b_tokens = RandomTokens(rng, 3 * P + 1);
  const auto miss = cache.Lookup(seed, b_tokens);
  EXPECT_TRUE(miss.pages.empty());
  EXPECT_EQ(cache.stats().rejected_by_verify, 2u);
  // Same first page, different second page: only the first is served.
  auto c_tokens = Concat(std::span<const TokenId>(a_tokens).first(P), RandomTokens(rng, 2 * P));
  const auto one = cache.Lookup(seed, c_tokens);
  ASSERT_EQ(one.pages.size(), 1u);
  EXPECT_EQ(one.pages[0], a.pages()[0]);
  ReleaseMatch(*pool, one);
  // Same tokens under another seed: rejected too.
  EXPECT_EQ(cache.CountCachedPages(PrefixCacheSeed("other"), a_tokens), 0);
  // B's registrations collide with A's referenced page: B's pages stay private.
  PageTable b(*pool, &cache, seed);
  Prefill(b, b_tokens);
  for (int32_t p : b.pages()) EXPECT_FALSE(pool->is_cached(p));
  EXPECT_EQ(cache.CountCachedPages(seed, b_tokens), 0);
}

TEST_F(PrefixCacheTest, StaleChildOfAnEvictedParentIsNeverServedAndGetsReplaced) {
  const auto prompt = RandomTokens(rng_, 2 * P + 1);
  int32_t old_child;
  {
    PageTable t(*pool_, &cache_, seed_);
    Prefill(t, prompt);
    old_child = t.pages()[1];
    cache_.Forget(t.pages()[0]);  // the parent leaves the cache, its child stays
  }
  EXPECT_EQ(cache_.n_entries(), 1);
  EXPECT_TRUE(pool_->is_cached(old_child));
  EXPECT_EQ(cache_.CountCachedPages(seed_, prompt), 0);
  PageTable again(*pool_, &cache_, seed_);
  EXPECT_EQ(Prefill(again, prompt), 0);
  // Page 1 has the same chain hash as the stale child but a new parent entry: the stale,
  // unreferenced entry gives up its key.
  EXPECT_FALSE(pool_->is_cached(old_child));
  EXPECT_EQ(cache_.n_entries(), 2);
  EXPECT_EQ(cache_.CountCachedPages(seed_, prompt), 2);
  EXPECT_EQ(cache_.stats().rejected_by_verify, 1u);
}

TEST_F(PrefixCacheTest, DuplicatePagesStayPrivateAndTheChainContinues) {
  const auto prompt = RandomTokens(rng_, 3 * P + 4);
  PageTable a(*pool_, &cache_, seed_);
  PageTable b(*pool_, &cache_, seed_);
  // Both admitted in the same step, before either computed anything: no hits.
  ASSERT_EQ(*a.MatchPrefix(prompt), 0);
  ASSERT_EQ(*b.MatchPrefix(prompt), 0);
  for (PageTable* t : {&a, &b}) {
    ASSERT_TRUE(t->Reserve(static_cast<int32_t>(prompt.size()), PageClaim::kAdmission));
    ASSERT_TRUE(t->Commit(prompt).ok());
  }
  EXPECT_EQ(cache_.stats().duplicate_pages, 3u);
  for (int32_t p : b.pages()) EXPECT_FALSE(pool_->is_cached(p));
  // B goes on past the shared prompt; its new full page chains onto A's entries.
  const auto more = RandomTokens(rng_, 2 * P);
  ASSERT_TRUE(b.Reserve(static_cast<int32_t>(more.size()), PageClaim::kRunning));
  ASSERT_TRUE(b.Commit(more).ok());
  const auto full = Concat(prompt, more);
  const auto m = cache_.Lookup(seed_, full);
  ASSERT_EQ(m.pages.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.pages[i], a.pages()[i]);
  EXPECT_EQ(m.pages[3], b.pages()[3]);
  EXPECT_EQ(m.pages[4], b.pages()[4]);
  ReleaseMatch(*pool_, m);
}

TEST(PrefixCacheEviction, LruOnlyWhenNeededDeepestPagesFirstNeverReferenced) {
  auto pool = MakePool(8, P);
  PrefixCache cache(*pool);
  const uint64_t seed = PrefixCacheSeed("m");
  std::mt19937_64 rng(9);
  const auto a_prompt = RandomTokens(rng, 4 * P);  // 4 full pages
  const auto b_prompt = RandomTokens(rng, 3 * P);  // 3 full pages
  std::vector<int32_t> a_pages, b_pages;
  {
    PageTable a(*pool, &cache, seed);
    Prefill(a, a_prompt);
    a_pages.assign(a.pages().begin(), a.pages().end());
  }
  PageTable b(*pool, &cache, seed);  // stays referenced throughout
  Prefill(b, b_prompt);
  b_pages.assign(b.pages().begin(), b.pages().end());
  EXPECT_EQ(pool->n_cached(), 4);
  EXPECT_EQ(pool->n_free(), 1);
  EXPECT_EQ(cache.stats().evictions, 0u);  // nothing evicted while free pages remained

  // Two pages: one free, then A's deepest page (released first) is evicted.
  PageTable c(*pool, &cache, seed);
  ASSERT_TRUE(c.Reserve(2 * P, PageClaim::kRunning));
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_FALSE(pool->is_cached(a_pages[3]));
  EXPECT_EQ(cache.CountCachedPages(seed, a_prompt), 3);
  ASSERT_TRUE(c.Reserve(4 * P, PageClaim::kRunning));  // two more: A's pages 2, 1
  EXPECT_EQ(cache.CountCachedPages(seed, a_prompt), 1);
  EXPECT_EQ(cache.stats().evictions, 3u);
  ASSERT_TRUE(c.Reserve(5 * P, PageClaim::kRunning));
  EXPECT_EQ(cache.CountCachedPages(seed, a_prompt), 0);
  // Only B's referenced pages remain in use besides C's: nothing more can be taken.
  EXPECT_FALSE(c.Reserve(6 * P, PageClaim::kRunning));
  EXPECT_EQ(cache.CountCachedPages(seed, b_prompt), 3);
  for (int32_t p : b_pages) EXPECT_TRUE(pool->is_cached(p));
  EXPECT_EQ(pool->n_evictions(), cache.stats().evictions);
}

TEST_F(PrefixCacheTest, EvictAllAndDestructionReturnEveryPage) {
  {
    PageTable t(*pool_, &cache_, seed_);
    Prefill(t, RandomTokens(rng_, 10 * P + 3));
  }
  EXPECT_EQ(pool_->n_cached(), 10);
  EXPECT_EQ(cache_.EvictAllUnreferenced(), 10);
  EXPECT_EQ(pool_->n_free(), pool_->n_pages());
  EXPECT_EQ(cache_.n_entries(), 0);

  auto pool = MakePool(8, P);
  {
    PrefixCache cache(*pool);
    PageTable t(*pool, &cache, seed_);
    Prefill(t, RandomTokens(rng_, 3 * P + 1));
    t.ReleaseAll();
    EXPECT_EQ(pool->n_cached(), 3);
  }
  EXPECT_EQ(pool->n_free(), 8);
  EXPECT_FALSE(pool->has_eviction_listener());
}

}  // namespace
}  // namespace smollm::runtime
