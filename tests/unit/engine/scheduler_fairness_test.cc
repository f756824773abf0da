// Fairness between a long prompt and short ones: bounded waits both ways.
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/engine/scheduler.h"
#include "tests/unit/engine/scheduler_test_util.h"

namespace smollm::runtime {
namespace {

using sched_test::Driver;
using sched_test::FindIn;
using sched_test::Request;

SchedulerConfig FairnessConfig(double long_share) {
  SchedulerConfig c;
  c.context_length = 16384;
  c.page_size = 16;
  c.kv_pages = 4096;
  c.max_tokens_per_step = 512;
  c.max_seqs_per_step = 32;
  c.max_running = 32;
  c.prefill_chunk = 512;
  c.long_prefill_share = long_share;
  c.max_queued_requests = 1000;
  c.max_queued_prompt_tokens = 1 << 20;
  return c;
}

struct FirstTokens {
  int last_short_step = 0;  // step at which the last short prompt sampled its first token
  int long_step = 0;        // step at which the long prompt did
};

// A 10000-token prompt, then 20 short prompts (20 to 120 tokens) right behind it.
FirstTokens LongThenShorts(double long_share) {
  Driver d(FairnessConfig(long_share));
  EXPECT_TRUE(d.scheduler().Submit(Request(100, 10000, 4)).ok());
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(20, 120);
  for (SeqId id = 1; id <= 20; ++id)
    EXPECT_TRUE(d.scheduler().Submit(Request(id, len(rng), 16)).ok());
  FirstTokens out;
  std::vector<bool> started(21, false);
  int n_started = 0;
  for (int step = 1; step <= 200 && (out.long_step == 0 || n_started < 20); ++step) {
    StepPlan plan = d.Step();
    for (const ScheduledSeq& s : plan.seqs) {
      if (!s.samples) continue;
      if (s.id == 100 && out.long_step == 0) out.long_step = step;
      if (s.id <= 20 && !started[s.id]) {
        started[s.id] = true;
        if (++n_started == 20) out.last_short_step = step;
      }
    }
  }
  return out;
}

TEST(Fairness, ShortPromptsDoNotWaitForALongOne) {
  const FirstTokens fair = LongThenShorts(0.5);
  // The shorts hold about 1400 tokens and get half of each 512-token step.
  EXPECT_GT(fair.last_short_step, 0);
  EXPECT_LE(fair.last_short_step, 8);
  // The long prompt still advances by at least half a step each step: 40 steps.
  EXPECT_GT(fair.long_step, 0);
  EXPECT_LE(fair.long_step, 40);
  // Plain FCFS (share 1.0) makes them wait for the whole long prefill.
  const FirstTokens fcfs = LongThenShorts(1.0);
  EXPECT_GE(fcfs.last_short_step, 20);
  EXPECT_LE(fcfs.long_step, 20);
}

TEST(Fairness, AStreamOfShortPromptsCannotStarveALongOne) {
  Driver d(FairnessConfig(0.5));
  ASSERT_TRUE(d.scheduler().Submit(Request(100, 10000, 1)).ok());
  SeqId next = 1000;
  int long_step = 0;
  for (int step = 1; step <= 100 && long_step == 0; ++step) {
    // Four 128-token prompts a step: more than the whole step's budget.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(d.scheduler().Submit(Request(next++, 128, 1)).ok());
    StepPlan plan = d.Step();
    const ScheduledSeq* s = FindIn(plan, 100);
    ASSERT_NE(s, nullptr) << "step " << step;
    if (s->samples) {
      long_step = step;
    } else {
      EXPECT_GE(s->n_tokens, 256) << "step " << step;  // its share, every step
    }
  }
  EXPECT_GT(long_step, 0);
  EXPECT_LE(long_step, 40);  // ceil(10000 / 256)
  EXPECT_GT(d.scheduler().stats().waiting, 0);
}

TEST(Fairness, LongPromptsUseTheWholeStepWhenNoShortOneWaits) {
  Driver d(FairnessConfig(0.5));
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 5000, 1)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 5000, 1)).ok());
  StepPlan plan = d.Step();
  ASSERT_EQ(plan.seqs.size(), 1u);  // one chunk of 512 fills the step
  EXPECT_EQ(plan.seqs[0].n_tokens, 512);
  ASSERT_TRUE(d.scheduler().Submit(Request(3, 100, 1)).ok());
  plan = d.Step();
  // A short prompt arrived: the long prefills get 412, it gets its 100.
  EXPECT_EQ(FindIn(plan, 1)->n_tokens, 412);
  EXPECT_EQ(FindIn(plan, 3)->n_tokens, 100);
  EXPECT_EQ(FindIn(plan, 2), nullptr);
}

TEST(Fairness, ShortPromptsPassALongOneHeldBackByItsShare) {
  SchedulerConfig c = FairnessConfig(0.25);
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 5000, 1)).ok());
  d.Step();  // 1 runs alone with the whole step
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 5000, 1)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(3, 200, 1)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(4, 200, 1)).ok());
  StepPlan plan = d.Step();
  // Longs get a quarter (128 tokens), all to 1, the older; 2 waits while 3 and 4 pass it.
  EXPECT_EQ(FindIn(plan, 1)->n_tokens, 128);
  EXPECT_EQ(FindIn(plan, 2), nullptr);
  EXPECT_EQ(FindIn(plan, 3)->n_tokens, 200);
  EXPECT_EQ(FindIn(plan, 4)->n_tokens, 184);
  EXPECT_EQ(d.scheduler().WaitingOrder(), (std::vector<SeqId>{2}));
}

}  // namespace
}  // namespace smollm::runtime
