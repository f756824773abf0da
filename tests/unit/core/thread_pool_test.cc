// ThreadPool: every index exactly once, thread indices in range, many loops back to back,
// one contiguous run of chunks per thread.
#include "runtime/core/thread_pool.h"

#include <atomic>
#include <chrono>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_support.h"

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

// A worker that finished the last chunk of one loop must not claim a chunk of the next
// (with more chunks) before it is published: that chunk would run twice, the second time
// racing with the caller setting the loop up.
TEST(ThreadPool, ALoopWithMoreChunksAfterAShortOneRunsEachChunkOnce) {
  ThreadPool pool(4);
  const int loops = testing::kSanitizerBuild ? 2000 : 20000;
  for (int iter = 0; iter < loops; ++iter) {
    const int64_t n = iter % 2 == 0 ? 2 : 64;
    std::vector<std::atomic<int>> hits(n);
    pool.ParallelFor(n, 1, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "loop " << iter << " index " << i;
  }
}

// Each thread starts on its own contiguous run of chunks, so that each core streams its
// own part of a weight matrix in order: the worker of a 2-thread pool takes the second
// half, and reaches into the caller's half only after its own is all claimed (by then the
// caller has claimed all of its own too), so its first chunk, if any, is in its half.
TEST(ThreadPool, EachThreadStartsOnItsOwnRun) {
  ThreadPool pool(2);
  constexpr int64_t kChunks = 40;
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::atomic<int64_t> first_of_worker{-1};
    pool.ParallelFor(kChunks, 1, [&](int64_t begin, int64_t, int t) {
      int64_t none = -1;
      if (t == 1) first_of_worker.compare_exchange_strong(none, begin);
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      while (std::chrono::steady_clock::now() < until) {
      }
    });
    const int64_t first = first_of_worker.load();
    EXPECT_TRUE(first == -1 || first >= kChunks / 2) << "the worker started at chunk " << first;
  }
}

TEST(ThreadPool, EmptyLoopIsANoOp) {
  ThreadPool pool(2);
  bool called = false;
  pool.ParallelFor(0, 1, [&](int64_t, int64_t, int) { called = true; });
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace smollm::runtime
