// One sequence's KV pages: reserve, commit, prefix reuse, rewind and release.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/kv/page_pool.h"
#include "runtime/kv/prefix_cache.h"

namespace smollm::runtime {

// The ordered pages holding a sequence's KV (page i holds positions [i*P, (i+1)*P), P =
// page_size) and the token ids whose KV is stored. It owns one reference to each page and
// releases them all when destroyed (move-only RAII lease).
//
// A step with the model is two calls, so that no page enters the prefix cache before its
// KV exists:
//   Reserve(n, claim)   before the forward pass: pages for n more positions (all or
//                       nothing; pages() then covers them for the StepBatch);
//   Commit(tokens)      after the forward pass wrote their KV: records the tokens, and
//                       every page that became full is registered with the prefix cache.
// A cancelled or failed step is undone with Truncate(n_tokens()), which also returns
// unused reservations.
//
// Sharing rule: full pages are immutable (they may be in the cache and referenced by other
// sequences); only the last, partially filled page is ever written, and it is never
// shared, so no copy-on-write is needed. Truncate keeps that rule (see there).
//
// Not thread-safe (engine thread). The pool and cache must outlive the table.
class PageTable {
 public:
  // `cache` may be null (prefix caching off); `cache_seed` is PrefixCacheSeed(model, salt).
  PageTable(PagePool& pool, PrefixCache* cache, uint64_t cache_seed);
  ~PageTable() { ReleaseAll(); }
  PageTable(PageTable&& other) noexcept;
  PageTable& operator=(PageTable&& other) noexcept;
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  int page_size() const { return pool_->page_size(); }
  int32_t n_tokens() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t n_pages() const { return static_cast<int32_t>(pages_.size()); }
  int32_t capacity() const { return n_pages() * page_size(); }  // reserved positions
  std::span<const int32_t> pages() const { return pages_; }     // [n_pages], page ids
  std::span<const TokenId> tokens() const { return tokens_; }   // [n_tokens]
  // Tokens whose KV came from the prefix cache at MatchPrefix (not computed here).
  int32_t n_prefix_hit_tokens() const { return n_prefix_hit_tokens_; }

  // On an empty table: adopts the longest cached chain of full pages of `prompt`,
  // leaving at least its last token to compute. Returns the tokens covered (a multiple
  // of page_size, 0 without a cache); the caller computes prompt[returned:].
  // FailedPrecondition if the table is not empty.
  absl::StatusOr<int32_t> MatchPrefix(std::span<const TokenId> prompt);

  // Pages Reserve(n_new) would allocate.
  int32_t PagesNeeded(int32_t n_new) const;
  // Makes room for n_new more positions; false (nothing allocated) when the pool cannot
  // give PagesNeeded(n_new) pages to `claim`, or n_new < 0.
  bool Reserve(int32_t n_new, PageClaim claim);
  // Records that the KV of `tokens`, at positions n_tokens() onwards, has been written.
  // FailedPrecondition (nothing recorded) past capacity() or if a page to be written is
  // shared or cached (a broken engine invariant, reported rather than trusted).
  absl::Status Commit(std::span<const TokenId> tokens);

  // Rewinds to at most n tokens and releases the pages past them, including unused
  // reservations. Returns the tokens kept: n (clamped to [0, n_tokens()]), except when n
  // falls inside a full page that other holders share; that page is immutable, so it is
  // dropped too and the result is rounded down to a page boundary (the caller recomputes
  // the rest). A full page held by this table alone is taken out of the cache and kept.
  int32_t Truncate(int32_t n);
  // Releases every page (last page first, so the deepest cached pages are the first
  // evicted) and forgets the tokens.
  void ReleaseAll();

 private:
  PagePool* pool_;
  PrefixCache* cache_;
  uint64_t seed_;
  std::vector<int32_t> pages_;   // [n_pages] in position order
  std::vector<TokenId> tokens_;  // [n_tokens] whose KV is stored
  std::vector<PageLink> links_;  // [full pages] chain link after each full page
  int32_t n_prefix_hit_tokens_ = 0;
};

}  // namespace smollm::runtime
