// PagePool: a stack of free ids plus reference counts.
#include "runtime/kv/page_pool.h"

#include <cstdlib>

namespace smollm::runtime {

PagePool::PagePool(int n_pages) : ref_counts_(n_pages, 0) {
  free_.reserve(n_pages);
  // Lowest ids on top: pages are handed out in order on a fresh pool.
  for (int32_t p = n_pages - 1; p >= 0; --p) free_.push_back(p);
}

std::optional<int32_t> PagePool::Allocate() {
  if (free_.empty()) return std::nullopt;
  const int32_t page = free_.back();
  free_.pop_back();
  ref_counts_[page] = 1;
  return page;
}

std::optional<std::vector<int32_t>> PagePool::AllocateMany(int count) {
  if (count < 0 || count > n_free()) return std::nullopt;
  std::vector<int32_t> pages;
  pages.reserve(count);
  for (int i = 0; i < count; ++i) pages.push_back(*Allocate());
  return pages;
}

void PagePool::Retain(int32_t page) {
  if (ref_counts_[page] <= 0) std::abort();  // an invariant of the engine, not input
  ++ref_counts_[page];
}

void PagePool::Release(int32_t page) {
  if (ref_counts_[page] <= 0) std::abort();  // double release: an engine bug
  if (--ref_counts_[page] == 0) free_.push_back(page);
}

}  // namespace smollm::runtime
