// A fixed pool of compute threads for data-parallel loops, passed explicitly to its users.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace smollm::runtime {

// Runs ParallelFor loops on `n_threads` threads (the caller plus n_threads - 1 workers).
// Workers spin briefly between loops before sleeping: a decode step issues hundreds of
// small loops back to back, and waking a sleeping thread costs more than most of them.
// ParallelFor must be called from one thread at a time (the engine's compute thread).
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) over disjoint chunks covering [0, n), each at most
  // `grain` long, spread over the threads; returns when all chunks are done.
  // thread_index is in [0, size()) and lets callers use per-thread scratch.
  // `fn` is taken by reference (absl::FunctionRef): a call allocates nothing.
  void ParallelFor(int64_t n, int64_t grain, absl::FunctionRef<void(int64_t, int64_t, int)> fn);

 private:
  void WorkerLoop(int thread_index);
  void RunChunks(int thread_index);

  const int n_threads_;
  std::vector<std::thread> workers_;

  // The current loop, published by bumping epoch_.
  const absl::FunctionRef<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t grain_ = 1;
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<int> busy_workers_{0};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> stop_{false};

  std::mutex mutex_;  // only for sleeping workers
  std::condition_variable wake_;
};

}  // namespace smollm::runtime
