// A few service-owned threads for work that may wait (session calls that wait for an
// engine step, tokenizing a large prompt), so that gRPC reactions never block.
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace smollm::service {

// Thread-safe. Tasks run in FIFO order on `n_threads` threads; the destructor runs what
// is queued, then joins.
class WorkQueue {
 public:
  explicit WorkQueue(int n_threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Post(std::function<void()> task);

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace smollm::service
