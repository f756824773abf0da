// ThreadPool: chunked parallel loops with spin-then-sleep workers.
#include "runtime/core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#define SMOLLM_CPU_RELAX() _mm_pause()
#else
#define SMOLLM_CPU_RELAX() ((void)0)
#endif

namespace smollm::runtime {
namespace {
// About 50-100 microseconds of spinning before a worker sleeps.
constexpr int kSpinIterations = 20000;
// A chunk index no loop reaches: the claims hold it while a loop is being set up.
constexpr uint64_t kNoChunk = 0xffffffffu;
}  // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(std::max(1, n_threads)), claims_(new Claim[n_threads_]) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    epoch_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunChunks(uint32_t epoch, int thread_index) {
  for (int i = 0; i < n_threads_; ++i) RunChunksOf(epoch, (thread_index + i) % n_threads_, thread_index);
}

void ThreadPool::RunChunksOf(uint32_t epoch, int run, int thread_index) {
  std::atomic<uint64_t>& next = claims_[run].next;
  uint64_t claim = next.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(claim >> 32) != epoch) return;  // a newer loop: not ours
    const int64_t chunk = static_cast<int64_t>(claim & 0xffffffffu);
    if (chunk >= RunBegin(run + 1, n_chunks_.load(std::memory_order_acquire))) return;
    if (!next.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      continue;  // `claim` now holds the current value
    }
    const int64_t begin = chunk * grain_;
    (*fn_)(begin, std::min(n_, begin + grain_), thread_index);
    done_chunks_.fetch_add(1, std::memory_order_release);
    claim = next.load(std::memory_order_acquire);
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             absl::FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    for (int64_t begin = 0; begin < n; begin += grain) fn(begin, std::min(n, begin + grain), 0);
    return;
  }
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
  // Retire the last loop before its fields change. A worker can still be in RunChunks for
  // it (every chunk done, a run's claim at its end): had n_chunks_ grown first, its next
  // claim would succeed under the old epoch and run a chunk of this loop twice, reading
  // fn_ while it is written. Whoever sees the new n_chunks_ (acquire) now fails that claim.
  for (int run = 0; run < n_threads_; ++run) {
    claims_[run].next.store(static_cast<uint64_t>(epoch) << 32 | kNoChunk, std::memory_order_relaxed);
  }
  fn_ = &fn;
  n_ = n;
  grain_ = grain;
  const int64_t n_chunks = (n + grain - 1) / grain;
  n_chunks_.store(n_chunks, std::memory_order_release);
  done_chunks_.store(0, std::memory_order_relaxed);
  for (int run = 0; run < n_threads_; ++run) {
    claims_[run].next.store(static_cast<uint64_t>(epoch) << 32 | RunBegin(run, n_chunks),
                            std::memory_order_release);
  }
  {
    // Publishing under the mutex pairs with the sleeping workers' predicate check.
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_.store(epoch, std::memory_order_release);
  }
  wake_.notify_all();
  RunChunks(epoch, 0);
  // Only chunks already claimed by workers remain; yield now and then, since on an
  // oversubscribed host their thread may be waiting for this core.
  for (int spins = 0; done_chunks_.load(std::memory_order_acquire) != n_chunks; ++spins) {
    if (spins % 1024 == 1023) {
      std::this_thread::yield();
    } else {
      SMOLLM_CPU_RELAX();
    }
  }
}

void ThreadPool::WorkerLoop(int thread_index) {
  uint32_t seen = 0;
  for (;;) {
    int spins = 0;
    while (epoch_.load(std::memory_order_acquire) == seen && spins < kSpinIterations) {
      if (++spins % 1024 == 0) {
        std::this_thread::yield();
      } else {
        SMOLLM_CPU_RELAX();
      }
    }
    if (epoch_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return epoch_.load(std::memory_order_acquire) != seen; });
    }
    seen = epoch_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    RunChunks(seen, thread_index);
  }
}

}  // namespace smollm::runtime
