// PagePool: a stack of free ids, reference counts and an intrusive LRU list.
#include "runtime/kv/page_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/kv/kv_check.h"

namespace smollm::runtime {

using kv_internal::KvCheck;

absl::StatusOr<std::unique_ptr<PagePool>> PagePool::Create(const PagePoolOptions& options) {
  if (options.n_pages <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PagePoolOptions.n_pages = ", options.n_pages, ": must be > 0"));
  }
  if (options.page_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PagePoolOptions.page_size = ", options.page_size, ": must be > 0"));
  }
  if (options.watermark_pages < 0 || options.watermark_pages > options.n_pages) {
    return absl::InvalidArgumentError(
        absl::StrCat("PagePoolOptions.watermark_pages = ", options.watermark_pages,
                     ": must be in [0, ", options.n_pages, "]"));
  }
  return std::unique_ptr<PagePool>(
      new PagePool(options.n_pages, options.page_size, options.watermark_pages));
}

PagePool::PagePool(int32_t n_pages, int page_size, int32_t watermark)
    : page_size_(page_size),
      watermark_(watermark),
      ref_counts_(n_pages, 0),
      cached_(n_pages, 0),
      lru_prev_(n_pages, kNone),
      lru_next_(n_pages, kNone) {
  free_.reserve(n_pages);
  // Lowest ids on top: a fresh pool hands pages out in order.
  for (int32_t p = n_pages - 1; p >= 0; --p) free_.push_back(p);
}

int32_t PagePool::n_available(PageClaim claim) const {
  const int32_t available = n_free() + n_cached();
  if (claim == PageClaim::kRunning) return available;
  return std::max<int32_t>(0, available - watermark_);
}

int32_t PagePool::TakeOne() {
  int32_t page;
  if (!free_.empty()) {
    page = free_.back();
    free_.pop_back();
  } else {
    // Reclaim the least recently released cached page; the cache must forget it before
    // anyone can write new KV into it.
    page = lru_head_;
    KvCheck(page != kNone, "TakeOne without an available page");
    LruRemove(page);
    cached_[page] = 0;
    ++n_evictions_;
    if (listener_ != nullptr) listener_->OnPageEvicted(page);
  }
  ref_counts_[page] = 1;
  return page;
}

std::optional<int32_t> PagePool::Allocate(PageClaim claim) {
  if (!CanAllocate(1, claim)) return std::nullopt;
  return TakeOne();
}

bool PagePool::AllocateInto(int32_t count, PageClaim claim, std::vector<int32_t>& pages) {
  if (!CanAllocate(count, claim)) return false;
  for (int32_t i = 0; i < count; ++i) pages.push_back(TakeOne());
  return true;
}

std::optional<std::vector<int32_t>> PagePool::AllocateMany(int32_t count, PageClaim claim) {
  std::vector<int32_t> pages;
  if (!CanAllocate(count, claim)) return std::nullopt;
  pages.reserve(count);
  AllocateInto(count, claim, pages);
  return pages;
}

void PagePool::Retain(int32_t page) {
  KvCheck(page >= 0 && page < n_pages(), "Retain: page id out of range");
  if (ref_counts_[page] == 0) {
    // Only a cached page may come back from zero references (a prefix hit).
    KvCheck(cached_[page] != 0, "Retain of a free page");
    LruRemove(page);
  }
  ++ref_counts_[page];
}

void PagePool::Release(int32_t page) {
  KvCheck(page >= 0 && page < n_pages(), "Release: page id out of range");
  KvCheck(ref_counts_[page] > 0, "Release of an unreferenced page (double release)");
  if (--ref_counts_[page] > 0) return;
  if (cached_[page]) {
    LruPushBack(page);
  } else {
    free_.push_back(page);
  }
}

void PagePool::MarkCached(int32_t page) {
  KvCheck(page >= 0 && page < n_pages(), "MarkCached: page id out of range");
  KvCheck(ref_counts_[page] > 0 && !cached_[page], "MarkCached needs a used, uncached page");
  cached_[page] = 1;
}

void PagePool::UnmarkCached(int32_t page) {
  KvCheck(page >= 0 && page < n_pages(), "UnmarkCached: page id out of range");
  KvCheck(cached_[page] != 0, "UnmarkCached of an uncached page");
  cached_[page] = 0;
  if (ref_counts_[page] == 0) {
    LruRemove(page);
    free_.push_back(page);
  }
}

void PagePool::SetEvictionListener(PageEvictionListener* listener) {
  KvCheck(listener == nullptr || listener_ == nullptr, "a second eviction listener");
  listener_ = listener;
}

void PagePool::LruPushBack(int32_t page) {
  lru_prev_[page] = lru_tail_;
  lru_next_[page] = kNone;
  if (lru_tail_ != kNone) {
    lru_next_[lru_tail_] = page;
  } else {
    lru_head_ = page;
  }
  lru_tail_ = page;
  ++n_cached_unreferenced_;
}

void PagePool::LruRemove(int32_t page) {
  const int32_t prev = lru_prev_[page];
  const int32_t next = lru_next_[page];
  if (prev != kNone) {
    lru_next_[prev] = next;
  } else {
    lru_head_ = next;
  }
  if (next != kNone) {
    lru_prev_[next] = prev;
  } else {
    lru_tail_ = prev;
  }
  lru_prev_[page] = lru_next_[page] = kNone;
  --n_cached_unreferenced_;
}

}  // namespace smollm::runtime
