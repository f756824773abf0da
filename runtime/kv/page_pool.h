// Fixed-size KV pages handed out by id, with reference counts, a free list, an LRU list of
// cached-but-unreferenced pages, and a free-page watermark.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"

namespace smollm::runtime {

inline constexpr int kDefaultPageSize = 16;  // tokens per page

struct PagePoolOptions {
  int32_t n_pages = 0;               // > 0; page ids are 0 .. n_pages - 1
  int page_size = kDefaultPageSize;  // tokens per page, > 0
  // Pages that admission of new work leaves untouched (see PageClaim); 0 .. n_pages.
  int32_t watermark_pages = 0;
};

// Who asks for pages. Admission (a new prompt, a resumed session) must leave
// `watermark_pages` available so that sequences already running can still grow by a
// page at their next decode step; running sequences may take every available page.
enum class PageClaim { kAdmission, kRunning };

// Told when the pool takes back an unreferenced cached page to satisfy an allocation,
// so that the cache forgets it. Called from inside Allocate*, on the pool's thread.
class PageEvictionListener {
 public:
  virtual void OnPageEvicted(int32_t page) = 0;

 protected:
  ~PageEvictionListener() = default;
};

// Every page is in exactly one state:
//   free     refcount 0, not cached: on the free list;
//   used     refcount > 0 (it may also be cached: a shared prefix page);
//   cached   refcount 0 but registered in the prefix cache: on the LRU list, still
//            holding valid KV, reclaimed (least recently released first) only when an
//            allocation finds the free list empty.
// Allocation never aborts: when too few pages are available it returns nullopt/false and
// the caller decides (wait, preempt, refuse). Retain/Release of a page in the wrong
// state is an engine bug, not input, and aborts.
// Not thread-safe: owned by the engine thread, like every object in runtime/kv.
class PagePool {
 public:
  // InvalidArgument naming the field when n_pages, page_size or watermark_pages is out
  // of range.
  static absl::StatusOr<std::unique_ptr<PagePool>> Create(const PagePoolOptions& options);

  PagePool(const PagePool&) = delete;  // page tables and the cache point at the pool
  PagePool& operator=(const PagePool&) = delete;

  int32_t n_pages() const { return static_cast<int32_t>(ref_counts_.size()); }
  int page_size() const { return page_size_; }
  int32_t watermark_pages() const { return watermark_; }
  int32_t n_free() const { return static_cast<int32_t>(free_.size()); }
  int32_t n_cached() const { return n_cached_unreferenced_; }  // evictable
  int32_t n_used() const { return n_pages() - n_free() - n_cached(); }
  // Pages an allocation of `claim` may still take (free plus evictable, less the
  // watermark for admission; never negative).
  int32_t n_available(PageClaim claim) const;
  uint64_t n_evictions() const { return n_evictions_; }

  bool CanAllocate(int32_t count, PageClaim claim) const {
    return count >= 0 && count <= n_available(claim);
  }
  // One page with one reference, or nullopt. Free pages go first; only when none is
  // free is the least recently released cached page evicted.
  std::optional<int32_t> Allocate(PageClaim claim = PageClaim::kRunning);
  // Appends `count` new pages to `pages`, or returns false and allocates nothing.
  bool AllocateInto(int32_t count, PageClaim claim, std::vector<int32_t>& pages);
  std::optional<std::vector<int32_t>> AllocateMany(int32_t count,
                                                   PageClaim claim = PageClaim::kRunning);

  // Adds a reference to a used page, or revives a cached unreferenced one (a prefix hit).
  void Retain(int32_t page);
  // Drops a reference; at zero the page goes to the LRU list if cached, else free.
  void Release(int32_t page);
  int32_t ref_count(int32_t page) const { return ref_counts_[page]; }
  bool is_cached(int32_t page) const { return cached_[page]; }

  // For the prefix cache. MarkCached needs a used page (it registers a page that a
  // sequence just filled); UnmarkCached frees the page if nobody references it.
  void MarkCached(int32_t page);
  void UnmarkCached(int32_t page);
  // At most one listener (the prefix cache); nullptr detaches it.
  void SetEvictionListener(PageEvictionListener* listener);
  bool has_eviction_listener() const { return listener_ != nullptr; }

 private:
  PagePool(int32_t n_pages, int page_size, int32_t watermark);
  int32_t TakeOne();  // caller checked availability
  void LruPushBack(int32_t page);
  void LruRemove(int32_t page);

  static constexpr int32_t kNone = -1;
  int page_size_;
  int32_t watermark_;
  std::vector<int32_t> ref_counts_;  // [n_pages]
  std::vector<uint8_t> cached_;      // [n_pages] registered in the prefix cache
  std::vector<int32_t> free_;        // stack of free page ids
  // Doubly linked LRU list of cached unreferenced pages, oldest at lru_head_.
  std::vector<int32_t> lru_prev_;  // [n_pages]
  std::vector<int32_t> lru_next_;  // [n_pages]
  int32_t lru_head_ = kNone;
  int32_t lru_tail_ = kNone;
  int32_t n_cached_unreferenced_ = 0;
  uint64_t n_evictions_ = 0;
  PageEvictionListener* listener_ = nullptr;
};

}  // namespace smollm::runtime
