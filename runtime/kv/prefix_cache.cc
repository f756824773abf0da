// PrefixCache: hash-chained full pages, verified by token ids, seed and parent entry.
#include "runtime/kv/prefix_cache.h"

#include <algorithm>

#include "runtime/kv/kv_check.h"
#include "runtime/kv/page_hash.h"

namespace smollm::runtime {

using kv_internal::KvCheck;

PrefixCache::PrefixCache(PagePool& pool, const PrefixCacheOptions& options)
    : pool_(pool),
      page_size_(pool.page_size()),
      hash_mask_(options.hash_mask),
      entries_(pool.n_pages()),
      page_tokens_(static_cast<size_t>(pool.n_pages()) * pool.page_size()) {
  pool_.SetEvictionListener(this);
}

PrefixCache::~PrefixCache() {
  for (int32_t p = 0; p < pool_.n_pages(); ++p) {
    if (pool_.is_cached(p)) pool_.UnmarkCached(p);
  }
  pool_.SetEvictionListener(nullptr);
}

uint64_t PrefixCache::ChainHash(uint64_t parent_hash, std::span<const TokenId> tokens) const {
  return PageHash(parent_hash, tokens) & hash_mask_;
}

PageLink PrefixCache::Root(uint64_t seed) const {
  return {seed, RootPageHash(seed) & hash_mask_, PageLink::kRootEntry};
}

bool PrefixCache::Verify(int32_t page, const PageLink& parent,
                         std::span<const TokenId> tokens) const {
  const Entry& e = entries_[page];
  if (e.parent_id != parent.entry_id || e.seed != parent.seed) return false;
  const TokenId* stored = page_tokens_.data() + static_cast<size_t>(page) * page_size_;
  return std::equal(tokens.begin(), tokens.end(), stored);
}

int32_t PrefixCache::FindVerified(const PageLink& parent, std::span<const TokenId> tokens,
                                  uint64_t hash) const {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end() || !Verify(it->second, parent, tokens)) return -1;
  return it->second;
}

PrefixCache::Match PrefixCache::Lookup(uint64_t seed, std::span<const TokenId> tokens) {
  Match match;
  const size_t n_full = tokens.size() / page_size_;
  ++stats_.lookups;
  stats_.lookup_pages += n_full;
  PageLink link = Root(seed);
  for (size_t i = 0; i < n_full; ++i) {
    const auto page_tokens = tokens.subspan(i * page_size_, page_size_);
    const uint64_t hash = ChainHash(link.hash, page_tokens);
    const auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) break;
    const int32_t page = it->second;
    if (!Verify(page, link, page_tokens)) {
      ++stats_.rejected_by_verify;
      break;
    }
    pool_.Retain(page);
    link = {seed, hash, entries_[page].id};
    match.pages.push_back(page);
    match.links.push_back(link);
  }
  match.n_tokens = static_cast<int32_t>(match.pages.size()) * page_size_;
  stats_.hit_pages += match.pages.size();
  stats_.hit_tokens += match.n_tokens;
  stats_.miss_pages += n_full - match.pages.size();
  return match;
}

int32_t PrefixCache::CountCachedPages(uint64_t seed, std::span<const TokenId> tokens,
                                      int32_t* referenced) const {
  const size_t n_full = tokens.size() / page_size_;
  PageLink link = Root(seed);
  int32_t count = 0;
  int32_t in_use = 0;
  for (size_t i = 0; i < n_full; ++i) {
    const auto page_tokens = tokens.subspan(i * page_size_, page_size_);
    const uint64_t hash = ChainHash(link.hash, page_tokens);
    const int32_t page = FindVerified(link, page_tokens, hash);
    if (page < 0) break;
    link = {seed, hash, entries_[page].id};
    ++count;
    if (pool_.ref_count(page) > 0) ++in_use;
  }
  if (referenced != nullptr) *referenced = in_use;
  return count;
}

PageLink PrefixCache::Register(const PageLink& parent, int32_t page,
                               std::span<const TokenId> tokens) {
  KvCheck(static_cast<int>(tokens.size()) == page_size_, "Register: not a full page");
  KvCheck(
      page >= 0 && page < pool_.n_pages() && pool_.ref_count(page) > 0 && !pool_.is_cached(page),
      "Register needs a referenced, uncached page");
  if (parent.broken()) return {parent.seed, 0, PageLink::kBrokenEntry};
  const uint64_t hash = ChainHash(parent.hash, tokens);
  const auto it = by_hash_.find(hash);
  if (it != by_hash_.end()) {
    const int32_t existing = it->second;
    if (Verify(existing, parent, tokens)) {
      // Computed twice (two sequences prefilled the same prefix at once): keep the cached
      // copy, continue the chain through it; this page stays private to its sequence.
      ++stats_.duplicate_pages;
      return {parent.seed, hash, entries_[existing].id};
    }
    ++stats_.rejected_by_verify;
    // A hash collision, or a stale entry whose parent was evicted. An unreferenced one
    // gives up its key; a referenced one keeps it and this chain stops being cached.
    if (pool_.ref_count(existing) > 0) return {parent.seed, hash, PageLink::kBrokenEntry};
    ++stats_.evictions;
    Forget(existing);
  }
  Entry& e = entries_[page];
  e = {hash, next_id_++, parent.entry_id, parent.seed};
  std::copy(tokens.begin(), tokens.end(),
            page_tokens_.begin() + static_cast<size_t>(page) * page_size_);
  by_hash_.emplace(hash, page);
  pool_.MarkCached(page);
  ++stats_.registered_pages;
  return {parent.seed, hash, e.id};
}

void PrefixCache::Erase(int32_t page) {
  const auto it = by_hash_.find(entries_[page].hash);
  KvCheck(it != by_hash_.end() && it->second == page, "cached page missing from the index");
  by_hash_.erase(it);
}

void PrefixCache::Forget(int32_t page) {
  KvCheck(page >= 0 && page < pool_.n_pages() && pool_.is_cached(page),
          "Forget of an uncached page");
  Erase(page);
  pool_.UnmarkCached(page);
}

int32_t PrefixCache::EvictAllUnreferenced() {
  int32_t n = 0;
  for (int32_t p = 0; p < pool_.n_pages(); ++p) {
    if (pool_.is_cached(p) && pool_.ref_count(p) == 0) {
      Forget(p);
      ++n;
    }
  }
  stats_.evictions += n;
  return n;
}

void PrefixCache::OnPageEvicted(int32_t page) {
  // The pool has already unmarked the page and is about to hand it out.
  Erase(page);
  ++stats_.evictions;
}

}  // namespace smollm::runtime
