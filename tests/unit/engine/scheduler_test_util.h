// Test driver for the scheduler: a KV pool reduced to a free-page count, and a clock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/engine/scheduler.h"

namespace smollm::runtime::sched_test {

// Small numbers that make every limit reachable in a few steps.
inline SchedulerConfig SmallConfig() {
  SchedulerConfig c;
  c.context_length = 4096;
  c.page_size = 16;
  c.kv_pages = 1024;
  c.kv_reserve_pages = 0;
  c.max_tokens_per_step = 256;
  c.max_seqs_per_step = 16;
  c.max_running = 16;
  c.prefill_chunk = 128;
  c.long_prefill_share = 0.5;
  c.max_queued_requests = 64;
  c.max_queued_prompt_tokens = 1 << 16;
  return c;
}

inline SeqRequest Request(SeqId id, int prompt_tokens, int max_new_tokens = 8) {
  SeqRequest r;
  r.id = id;
  r.prompt_tokens = prompt_tokens;
  r.max_new_tokens = max_new_tokens;
  return r;
}

inline const ScheduledSeq* FindIn(const StepPlan& plan, SeqId id) {
  auto it = std::find_if(plan.seqs.begin(), plan.seqs.end(),
                         [id](const ScheduledSeq& s) { return s.id == id; });
  return it == plan.seqs.end() ? nullptr : &*it;
}

inline const ReleasedSeq* FindReleased(const StepPlan& plan, SeqId id) {
  auto it = std::find_if(plan.released.begin(), plan.released.end(),
                         [id](const ReleasedSeq& s) { return s.id == id; });
  return it == plan.released.end() ? nullptr : &*it;
}

// Drives a scheduler step by step with no page sharing: the pool's free count is exact.
// Each step takes 10 ms of the fake clock.
class Driver {
 public:
  explicit Driver(const SchedulerConfig& config)
      : scheduler_(*Scheduler::Create(config)), free_pages_(config.kv_pages) {}

  Scheduler& scheduler() { return scheduler_; }
  int free_pages() const { return free_pages_; }
  void set_free_pages(int pages) { free_pages_ = pages; }
  absl::Time now() const { return now_; }

  // Schedules one step and checks the budgets the plan must respect.
  StepPlan Plan() {
    absl::StatusOr<StepPlan> plan = scheduler_.Schedule(now_, {free_pages_});
    EXPECT_TRUE(plan.ok()) << plan.status();
    const SchedulerConfig& c = scheduler_.config();
    EXPECT_LE(plan->n_tokens, c.max_tokens_per_step);
    EXPECT_LE(static_cast<int>(plan->seqs.size()), c.max_seqs_per_step);
    EXPECT_LE(plan->n_charged_pages, free_pages_);
    for (const ScheduledSeq& s : plan->seqs) {
      EXPECT_GE(s.n_tokens, 1);
      EXPECT_LE(s.n_tokens, std::max(1, c.prefill_chunk));
    }
    return *std::move(plan);
  }

  // Applies a plan: releases, then allocations; then reports `finished`.
  void Apply(const StepPlan& plan, std::span<const SeqId> finished = {}) {
    for (const ReleasedSeq& r : plan.released) free_pages_ += r.pages;
    free_pages_ -= plan.n_charged_pages;
    ASSERT_GE(free_pages_, 0);
    now_ += absl::Milliseconds(10);
    ASSERT_TRUE(scheduler_.Update(plan, finished, now_).ok());
  }

  StepPlan Step(std::span<const SeqId> finished = {}) {
    StepPlan plan = Plan();
    Apply(plan, finished);
    return plan;
  }

 private:
  Scheduler scheduler_;
  int free_pages_;
  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
};

}  // namespace smollm::runtime::sched_test
