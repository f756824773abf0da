// A fake KV page pool with a prefix cache, for the scheduler simulation.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime::sched_test {

// A page pool with a prefix cache: a page is free, cached and unreferenced (evictable, LRU),
// or referenced. Allocation takes a free page, else evicts the least recently released.
class FakePool {
 public:
  explicit FakePool(int n) : ref_(n, 0), key_(n, -1) {
    for (int p = n - 1; p >= 0; --p) free_.push_back(p);
  }
  int available() const { return static_cast<int>(free_.size() + evictable_.size()); }
  int ref(int p) const { return ref_[p]; }
  int size() const { return static_cast<int>(ref_.size()); }

  int Allocate() {
    int p;
    if (!free_.empty()) {
      p = free_.back();
      free_.pop_back();
    } else if (!evictable_.empty()) {
      p = evictable_.front();
      evictable_.pop_front();
      cache_.erase(key_[p]);
      key_[p] = -1;
    } else {
      return -1;
    }
    ref_[p] = 1;
    return p;
  }
  void Retain(int p) {
    if (ref_[p] == 0) evictable_.remove(p);
    ++ref_[p];
  }
  void Release(int p) {
    if (--ref_[p] > 0) return;
    if (key_[p] >= 0) {
      evictable_.push_back(p);
    } else {
      free_.push_back(p);
    }
  }
  int Lookup(int64_t key) const {
    auto it = cache_.find(key);
    return it == cache_.end() ? -1 : it->second;
  }
  void Insert(int64_t key, int p) {
    if (key_[p] >= 0 || cache_.contains(key)) return;
    cache_[key] = p;
    key_[p] = key;
  }
  // Every page is in exactly one state, and cached pages map back to their keys.
  void CheckStates() const {
    std::set<int> free(free_.begin(), free_.end());
    std::set<int> evictable(evictable_.begin(), evictable_.end());
    ASSERT_EQ(free.size(), free_.size());
    ASSERT_EQ(evictable.size(), evictable_.size());
    for (int p = 0; p < size(); ++p) {
      const int states = free.count(p) + evictable.count(p) + (ref_[p] > 0);
      ASSERT_EQ(states, 1) << "page " << p;
      if (free.count(p)) {
        ASSERT_EQ(key_[p], -1);
      }
      if (evictable.count(p)) {
        ASSERT_GE(key_[p], 0);
      }
      if (key_[p] >= 0) {
        ASSERT_EQ(cache_.at(key_[p]), p);
      }
    }
  }

 private:
  std::vector<int> ref_;
  std::vector<int64_t> key_;  // cache key of a cached page, -1 otherwise
  std::vector<int> free_;
  std::list<int> evictable_;  // least recently released first
  std::map<int64_t, int> cache_;
};

}  // namespace smollm::runtime::sched_test
