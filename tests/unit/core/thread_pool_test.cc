// ThreadPool: every index exactly once, thread indices in range, many loops back to back.
#include "runtime/core/thread_pool.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 7, 64, 1000, 4099}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<bool> bad_index{false};
        pool.ParallelFor(n, grain, [&](int64_t begin, int64_t end, int t) {
          if (t < 0 || t >= threads || end - begin > grain) bad_index = true;
          for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
        });
        EXPECT_FALSE(bad_index);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << grain;
      }
    }
  }
}

TEST(ThreadPool, ManyShortLoops) {
  ThreadPool pool(2);
  int64_t total = 0;
  std::vector<int64_t> partial(2);
  for (int iter = 0; iter < 2000; ++iter) {
    std::fill(partial.begin(), partial.end(), 0);
    pool.ParallelFor(10, 1, [&](int64_t begin, int64_t end, int t) {
      for (int64_t i = begin; i < end; ++i) partial[t] += i;
    });
    for (int64_t p : partial) total += p;
  }
  EXPECT_EQ(total, 2000 * 45);
}

TEST(ThreadPool, EmptyLoopIsANoOp) {
  ThreadPool pool(2);
  bool called = false;
  pool.ParallelFor(0, 1, [&](int64_t, int64_t, int) { called = true; });
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace smollm::runtime
