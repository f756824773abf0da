// Fixed-size KV pages handed out by id, with reference counts and a free list.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace smollm::runtime {

// Page ids index the KV cache's page dimension. Allocation never aborts: when no page is
// free it returns nullopt and the caller decides (wait, preempt, refuse). A page returns
// to the free list when its last reference is released. Not thread-safe: owned by the
// engine thread.
class PagePool {
 public:
  explicit PagePool(int n_pages);

  int n_pages() const { return static_cast<int>(ref_counts_.size()); }
  int n_free() const { return static_cast<int>(free_.size()); }

  // A free page with one reference, or nullopt when none is free.
  std::optional<int32_t> Allocate();
  // `count` pages at once, or nullopt (and nothing allocated) when fewer are free.
  std::optional<std::vector<int32_t>> AllocateMany(int count);
  // Adds a reference to an allocated page (sharing it, e.g. a cached prefix).
  void Retain(int32_t page);
  // Drops a reference; the page is free again when none remain.
  void Release(int32_t page);
  int ref_count(int32_t page) const { return ref_counts_[page]; }

 private:
  std::vector<int32_t> ref_counts_;  // [n_pages]
  std::vector<int32_t> free_;        // stack of free page ids
};

}  // namespace smollm::runtime
