// Random operations on a small pool: every sequence always reads the KV of its own prefix
// (simulated per slot), reference counts match the live tables, and releasing everything
// returns every page exactly once. Run with full hashes and with colliding narrow ones.
#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/kv/page_hash.h"
#include "runtime/kv/page_table.h"
#include "runtime/kv/prefix_cache.h"
#include "tests/unit/kv/kv_test_util.h"

namespace smollm::runtime {
namespace {

constexpr int P = 4;
constexpr int32_t kPages = 32;
constexpr int kMaxSeqs = 8;

struct Seq {
  uint64_t seed;  // the model (cache namespace) it runs on
  PageTable table;
  std::vector<TokenId> want;  // the tokens the sequence must end up with
};

class KvStress : public ::testing::TestWithParam<uint64_t> {
 protected:
  std::unique_ptr<PagePool> pool_ = kv_test::MakePool(kPages, P, /*watermark=*/4);
  PrefixCache cache_{*pool_, {.hash_mask = GetParam()}};
  // The simulated KV of every slot: the model and the whole token prefix that produced it.
  std::vector<std::vector<TokenId>> kv_ =
      std::vector<std::vector<TokenId>>(static_cast<size_t>(kPages) * P);
  std::vector<uint64_t> kv_seed_ = std::vector<uint64_t>(static_cast<size_t>(kPages) * P);
  std::vector<Seq> seqs_;
  std::mt19937_64 rng_{GetParam() * 7919 + 1};
  // A few shared stems (system prompts, sessions) over a 3-token vocabulary so that
  // prefixes repeat often.
  std::vector<std::vector<TokenId>> stems_;

  int Rand(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  uint64_t SeedOf(int i) { return i % 5 == 0 ? PrefixCacheSeed("other") : PrefixCacheSeed("m"); }

  std::vector<TokenId> RandomPrompt() {
    std::vector<TokenId> prompt = stems_[Rand(static_cast<int>(stems_.size()))];
    prompt.resize(Rand(static_cast<int>(prompt.size()) + 1));
    for (int n = Rand(9); n > 0; --n) prompt.push_back(Rand(3));
    if (prompt.empty()) prompt.push_back(Rand(3));
    return prompt;
  }

  // Writes the KV of tokens[from, to) of `s`, as the forward pass would, checking that
  // each written page is private and uncached (full pages are never written).
  void Write(Seq& s, const std::vector<TokenId>& tokens, int from, int to) {
    for (int pos = from; pos < to; ++pos) {
      const int32_t page = s.table.pages()[pos / P];
      ASSERT_EQ(pool_->ref_count(page), 1) << "write to a shared page " << page;
      ASSERT_FALSE(pool_->is_cached(page)) << "write to a cached page " << page;
      kv_[page * P + pos % P].assign(tokens.begin(), tokens.begin() + pos + 1);
      kv_seed_[page * P + pos % P] = s.seed;
    }
  }

  // Reserve, write and commit tokens [n_tokens, want.size()); false when out of pages.
  bool Compute(Seq& s, PageClaim claim) {
    const int from = s.table.n_tokens();
    const int to = static_cast<int>(s.want.size());
    if (!s.table.Reserve(to - from, claim)) return false;
    Write(s, s.want, from, to);
    EXPECT_TRUE(s.table.Commit(std::span<const TokenId>(s.want).subspan(from)).ok());
    return true;
  }

  void CheckInvariants() {
    std::vector<int32_t> refs(kPages, 0);
    for (const Seq& s : seqs_) {
      const auto tokens = s.table.tokens();
      ASSERT_TRUE(std::equal(tokens.begin(), tokens.end(), s.want.begin()));
      ASSERT_GE(s.table.capacity(), s.table.n_tokens());
      for (int32_t p : s.table.pages()) ++refs[p];
      for (int pos = 0; pos < s.table.n_tokens(); ++pos) {
        const int32_t slot = s.table.pages()[pos / P] * P + pos % P;
        const auto& kv = kv_[slot];
        ASSERT_EQ(kv_seed_[slot], s.seed) << "position " << pos << " reads another model's KV";
        ASSERT_TRUE(kv.size() == static_cast<size_t>(pos + 1) &&
                    std::equal(kv.begin(), kv.end(), tokens.begin()))
            << "position " << pos << " reads KV of another prefix";
      }
    }
    int32_t cached = 0;
    for (int32_t p = 0; p < kPages; ++p) {
      ASSERT_EQ(pool_->ref_count(p), refs[p]) << "page " << p;
      if (refs[p] == 0 && pool_->is_cached(p)) ++cached;
    }
    ASSERT_EQ(pool_->n_cached(), cached);
    ASSERT_EQ(pool_->n_free() + pool_->n_cached() + pool_->n_used(), kPages);
  }
};

TEST_P(KvStress, RandomOperationsKeepEveryInvariant) {
  for (int i = 0; i < 4; ++i) {
    std::vector<TokenId> stem(12 + Rand(20));
    for (TokenId& t : stem) t = Rand(3);
    stems_.push_back(stem);
  }
  int admitted = 0, hits = 0, out_of_pages = 0;
  for (int step = 0; step < 6000; ++step) {
    const int op = Rand(10);
    if (op < 3 && static_cast<int>(seqs_.size()) < kMaxSeqs) {  // admit a prompt
      const uint64_t seed = SeedOf(admitted++);
      Seq s{seed, PageTable(*pool_, &cache_, seed), RandomPrompt()};
      const auto hit = s.table.MatchPrefix(s.want);
      ASSERT_TRUE(hit.ok());
      ASSERT_EQ(*hit % P, 0);
      ASSERT_LT(*hit, static_cast<int32_t>(s.want.size()));
      hits += *hit > 0;
      if (Compute(s, PageClaim::kAdmission)) {
        seqs_.push_back(std::move(s));
      } else {
        ++out_of_pages;
      }
    } else if (op < 7 && !seqs_.empty()) {  // decode 1-6 tokens, preempt when full
      const int i = Rand(static_cast<int>(seqs_.size()));
      for (int n = 1 + Rand(6); n > 0; --n) seqs_[i].want.push_back(Rand(3));
      if (!Compute(seqs_[i], PageClaim::kRunning)) {
        seqs_.erase(seqs_.begin() + i);
        ++out_of_pages;
      }
    } else if (op == 7 && !seqs_.empty()) {  // rewind
      Seq& s = seqs_[Rand(static_cast<int>(seqs_.size()))];
      const int n = Rand(s.table.n_tokens() + 2);
      const int kept = s.table.Truncate(n);
      ASSERT_LE(kept, std::min(n, static_cast<int>(s.want.size())));
      ASSERT_GE(kept, std::min(n, static_cast<int>(s.want.size())) / P * P);
      s.want.resize(kept);
    } else if (op == 8 && !seqs_.empty()) {  // finish
      seqs_.erase(seqs_.begin() + Rand(static_cast<int>(seqs_.size())));
    } else if (op == 9) {  // a bare lookup; occasionally drop the whole cache
      const auto prompt = RandomPrompt();
      const uint64_t seed = SeedOf(Rand(5));
      const auto m = cache_.Lookup(seed, prompt);
      for (size_t i = 0; i < m.pages.size(); ++i) {
        for (int slot = 0; slot < P; ++slot) {
          const auto& kv = kv_[m.pages[i] * P + slot];
          ASSERT_EQ(kv_seed_[m.pages[i] * P + slot], seed);
          ASSERT_TRUE(kv.size() == i * P + slot + 1 &&
                      std::equal(kv.begin(), kv.end(), prompt.begin()));
        }
      }
      for (int32_t p : m.pages) pool_->Release(p);
      if (Rand(20) == 0) cache_.EvictAllUnreferenced();
    }
    CheckInvariants();
    if (HasFatalFailure()) return;
  }
  // Every path was exercised: prefix hits, running out of pages (admission refused or a
  // running sequence preempted), LRU eviction, and verification rejecting collisions.
  EXPECT_GT(hits, 20);
  EXPECT_GT(out_of_pages, 20);
  if (GetParam() == ~0ull) {
    EXPECT_GT(hits, 200);
    EXPECT_GT(pool_->n_evictions(), 100u);
  } else {
    EXPECT_GT(cache_.stats().rejected_by_verify, 100u);
  }

  seqs_.clear();
  cache_.EvictAllUnreferenced();
  ASSERT_EQ(pool_->n_free(), kPages);
  // Each page exactly once on the free list: all of them can be taken, all distinct.
  auto all = pool_->AllocateMany(kPages);
  ASSERT_TRUE(all.has_value());
  std::sort(all->begin(), all->end());
  EXPECT_EQ(std::adjacent_find(all->begin(), all->end()), all->end());
  for (int32_t p : *all) pool_->Release(p);
}

// Full 64-bit hashes; 3 bits (8 keys, collisions everywhere); 0 (one key).
INSTANTIATE_TEST_SUITE_P(HashMasks, KvStress, ::testing::Values(~0ull, 0x7ull, 0ull));

}  // namespace
}  // namespace smollm::runtime
