// Helpers shared by the kv tests: pools, random token ids, a simulated prefill.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/core/types.h"
#include "runtime/kv/page_pool.h"
#include "runtime/kv/page_table.h"

namespace smollm::runtime::kv_test {

inline std::unique_ptr<PagePool> MakePool(int32_t n_pages, int page_size = 16,
                                          int32_t watermark = 0) {
  auto pool = PagePool::Create({n_pages, page_size, watermark});
  EXPECT_TRUE(pool.ok()) << pool.status();
  return std::move(pool).value();
}

// `n` token ids drawn uniformly from a 49,152-token vocabulary.
inline std::vector<TokenId> RandomTokens(std::mt19937_64& rng, size_t n) {
  std::uniform_int_distribution<TokenId> dist(0, 49151);
  std::vector<TokenId> tokens(n);
  for (TokenId& t : tokens) t = dist(rng);
  return tokens;
}

inline std::vector<TokenId> Concat(std::span<const TokenId> a, std::span<const TokenId> b) {
  std::vector<TokenId> out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// What the engine does for a prompt: reuse the cached prefix, then reserve and "compute"
// (commit) the rest in one step. Returns the tokens that came from the cache.
inline int32_t Prefill(PageTable& table, std::span<const TokenId> prompt) {
  const auto hit = table.MatchPrefix(prompt);
  EXPECT_TRUE(hit.ok()) << hit.status();
  const auto rest = prompt.subspan(*hit);
  EXPECT_TRUE(table.Reserve(static_cast<int32_t>(rest.size()), PageClaim::kAdmission));
  const auto status = table.Commit(rest);
  EXPECT_TRUE(status.ok()) << status;
  return *hit;
}

}  // namespace smollm::runtime::kv_test
