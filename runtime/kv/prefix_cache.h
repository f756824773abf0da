// Prefix cache: full KV pages keyed by a hash chain over token ids, verified on every hit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/core/types.h"
#include "runtime/kv/page_pool.h"

namespace smollm::runtime {

// Where a chain of full pages stands after one page: what the next page's hash and
// verification build on. Plain data, kept per full page by a PageTable.
struct PageLink {
  static constexpr uint64_t kRootEntry = 0;        // "no page before": the chain start
  static constexpr uint64_t kBrokenEntry = ~0ull;  // no verified cache entry: stop here
  uint64_t seed = 0;                               // cache namespace (PrefixCacheSeed)
  uint64_t hash = 0;                               // chain hash through this page
  uint64_t entry_id = kBrokenEntry;                // cache entry holding exactly this prefix

  bool broken() const { return entry_id == kBrokenEntry; }
};

struct PrefixCacheOptions {
  // Test hook: chain hashes are ANDed with this mask. A narrow mask (even 0) forces hash
  // collisions so that tests can show verification rejecting them. Keep ~0 in service.
  uint64_t hash_mask = ~0ull;
};

struct PrefixCacheStats {
  uint64_t lookups = 0;
  uint64_t lookup_pages = 0;  // full pages in the looked-up prompts
  uint64_t hit_pages = 0;     // of those, served from the cache
  uint64_t hit_tokens = 0;
  uint64_t miss_pages = 0;  // lookup_pages - hit_pages
  uint64_t registered_pages = 0;
  uint64_t duplicate_pages = 0;     // registrations whose prefix was already cached
  uint64_t rejected_by_verify = 0;  // hash matched, tokens/parent/seed did not
  uint64_t evictions = 0;           // unreferenced cached pages reclaimed or dropped
};

// Every FULL page of a sequence is registered under hash(parent hash, its token ids); the
// first page's parent is RootPageHash(seed). A lookup walks a prompt's full pages from the
// root and returns the longest chain found.
//
// Exactness (a hash collision can never return wrong KV): each entry stores its page's
// token ids, its seed and the id of its parent entry (ids are never reused). A hit
// requires all three to match, with the parent being the entry matched one step before,
// so by induction a returned chain holds exactly the prompt's prefix. An entry whose
// parent was evicted is unreachable (and reclaimed when its key is needed again or by
// LRU).
//
// Immutability: only full pages are registered, and a full page is never written again
// (a sequence appends at n_tokens, past its full pages), so sharing needs no
// copy-on-write. Partially filled pages are never shared.
//
// Memory: unreferenced cached pages stay valid and count as PagePool::n_cached(); the pool
// evicts them least recently released first, only when an allocation finds no free page,
// and tells this cache through PageEvictionListener.
//
// Not thread-safe (engine thread). The cache must outlive every PageTable that uses it
// and must not outlive its pool.
class PrefixCache final : public PageEvictionListener {
 public:
  // Attaches to `pool` as its eviction listener (one cache per pool).
  explicit PrefixCache(PagePool& pool, const PrefixCacheOptions& options = {});
  ~PrefixCache();  // forgets every entry; unreferenced cached pages become free
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  int page_size() const { return page_size_; }
  PageLink Root(uint64_t seed) const;

  struct Match {
    std::vector<int32_t> pages;   // each retained once for the caller, who releases them
    std::vector<PageLink> links;  // [pages.size()] link after each page
    int32_t n_tokens = 0;         // pages.size() * page_size
  };
  // The longest cached chain over the full pages of `tokens`. To keep at least one token
  // to compute (its logits start generation), pass a prompt without its last token.
  Match Lookup(uint64_t seed, std::span<const TokenId> tokens);
  // How many leading full pages Lookup would return, without retaining or counting. When
  // `referenced` is given it receives how many of them are referenced now (by a sequence
  // or a session): taking those costs no page of the pool's free + evictable count.
  int32_t CountCachedPages(uint64_t seed, std::span<const TokenId> tokens,
                           int32_t* referenced = nullptr) const;

  // Registers `page`, which a sequence has just filled with the KV of `tokens`
  // (page_size of them) after the prefix `parent`. The page must be referenced and
  // uncached. Returns the link for the next page: a new entry; the existing entry when
  // that prefix is already cached (the page stays private, uncached); or a broken link
  // when `parent` is broken or a referenced entry with a colliding hash holds the key.
  PageLink Register(const PageLink& parent, int32_t page, std::span<const TokenId> tokens);

  // Drops the entry of cached `page` (e.g. a sequence that alone references it rewinds
  // into it and will write it). An unreferenced page becomes free.
  void Forget(int32_t page);
  // Drops every unreferenced cached page (they become free); returns how many.
  int32_t EvictAllUnreferenced();

  int32_t n_entries() const { return static_cast<int32_t>(by_hash_.size()); }
  const PrefixCacheStats& stats() const { return stats_; }

  void OnPageEvicted(int32_t page) override;

 private:
  struct Entry {  // per page id; meaningful while pool_.is_cached(page)
    uint64_t hash = 0;
    uint64_t id = 0;
    uint64_t parent_id = 0;
    uint64_t seed = 0;
  };
  uint64_t ChainHash(uint64_t parent_hash, std::span<const TokenId> tokens) const;
  // Whether cached `page` holds exactly `tokens` after the prefix `parent`.
  bool Verify(int32_t page, const PageLink& parent, std::span<const TokenId> tokens) const;
  // The cached page under `hash` verified against parent + tokens, or -1.
  int32_t FindVerified(const PageLink& parent, std::span<const TokenId> tokens,
                       uint64_t hash) const;
  void Erase(int32_t page);

  PagePool& pool_;
  int page_size_;
  uint64_t hash_mask_;
  uint64_t next_id_ = 1;                            // entry ids are never reused (0 is the root)
  absl::flat_hash_map<uint64_t, int32_t> by_hash_;  // chain hash -> page
  std::vector<Entry> entries_;                      // [n_pages]
  std::vector<TokenId> page_tokens_;                // [n_pages][page_size]
  PrefixCacheStats stats_;
};

}  // namespace smollm::runtime
