// Memory pressure: stalls, preemption order, recompute after preemption, no deadlock.
#include <vector>

#include "gtest/gtest.h"
#include "runtime/engine/scheduler.h"
#include "tests/unit/engine/scheduler_test_util.h"

namespace smollm::runtime {
namespace {

using sched_test::Driver;
using sched_test::FindIn;
using sched_test::FindReleased;
using sched_test::Request;
using sched_test::SmallConfig;

// Four sequences of two full pages each in a nine-page pool: their first decode tokens
// each need a third page, and only one is free.
class FourInNinePages : public ::testing::Test {
 protected:
  FourInNinePages() : d_(Config()) {
    for (SeqId id = 1; id <= 4; ++id) EXPECT_TRUE(d_.scheduler().Submit(Request(id, 32, 100)).ok());
    StepPlan first = d_.Step();
    EXPECT_EQ(first.seqs.size(), 4u);
    EXPECT_EQ(d_.free_pages(), 1);
  }
  static SchedulerConfig Config() {
    SchedulerConfig c = SmallConfig();
    c.kv_pages = 9;
    return c;
  }
  Driver d_;
};

TEST_F(FourInNinePages, TheLowestRankedArePreemptedForTheStalled) {
  StepPlan plan = d_.Plan();
  // 1 takes the free page; 2 stalls and 4 (admitted last) is preempted for it; 3 stalls
  // too and 4's two pages cover both stalls, so 3 keeps its pages.
  ASSERT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(plan.seqs[0].id, 1);
  EXPECT_EQ(plan.seqs[0].new_pages, 1);
  ASSERT_EQ(plan.released.size(), 1u);
  EXPECT_EQ(plan.released[0].id, 4);
  EXPECT_EQ(plan.released[0].reason, ReleaseReason::kPreempted);
  EXPECT_EQ(plan.released[0].pages, 2);
  EXPECT_EQ(plan.stalled_pages, 2);
  EXPECT_EQ(d_.scheduler().WaitingOrder(), (std::vector<SeqId>{4}));
  EXPECT_EQ(d_.scheduler().Find(4)->phase, SeqPhase::kWaiting);
  EXPECT_EQ(d_.scheduler().Find(4)->pages_held, 0);
  EXPECT_EQ(d_.scheduler().Find(4)->known_tokens, 33);  // its sampled token is kept
  EXPECT_EQ(d_.scheduler().stats().preemptions, 1);
  d_.Apply(plan);
  // The freed pages serve the stalled sequences next step, before any admission.
  plan = d_.Step();
  ASSERT_EQ(plan.seqs.size(), 3u);
  EXPECT_EQ(FindIn(plan, 2)->new_pages, 1);
  EXPECT_EQ(FindIn(plan, 3)->new_pages, 1);
  EXPECT_EQ(FindIn(plan, 4), nullptr);
  EXPECT_EQ(plan.stalled_pages, 0);
}

TEST_F(FourInNinePages, APreemptedSequenceRecomputesItsTokensOnReadmission) {
  d_.Step();  // 4 preempted
  d_.Step();  // 2 and 3 get their pages; the pool is full
  StepPlan plan = d_.Plan();
  d_.Apply(plan, std::vector<SeqId>{1});  // 1 stops: its three pages come back next step
  plan = d_.Step();
  EXPECT_EQ(FindReleased(plan, 1)->pages, 3);
  EXPECT_EQ(FindIn(plan, 4), nullptr);  // released pages count from the next step
  plan = d_.Step();
  const ScheduledSeq* s = FindIn(plan, 4);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->admitted);
  EXPECT_EQ(s->first_token, 0);
  EXPECT_EQ(s->n_tokens, 33);  // the prompt and the token sampled before preemption
  EXPECT_TRUE(s->samples);
  EXPECT_EQ(s->new_pages, 3);
  EXPECT_EQ(d_.scheduler().Find(4)->generated_tokens, 2);
  EXPECT_EQ(d_.scheduler().Find(4)->preemptions, 1);
}

TEST(Preemption, LowerPriorityGoesFirstWhateverItsAge) {
  SchedulerConfig c = SmallConfig();
  c.kv_pages = 5;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 32, 16)).ok());
  d.Step();
  SeqRequest high = Request(2, 32, 16);
  high.priority = 1;
  ASSERT_TRUE(d.scheduler().Submit(high).ok());
  d.Step();  // 1 takes a third page; 2 is admitted with two: the pool is full
  EXPECT_EQ(d.scheduler().RunningOrder(), (std::vector<SeqId>{2, 1}));
  StepPlan plan = d.Step();  // 2 needs a page: 1 ranks lower though it is older
  EXPECT_EQ(FindReleased(plan, 1)->reason, ReleaseReason::kPreempted);
  EXPECT_EQ(FindIn(plan, 2), nullptr);
  plan = d.Step();
  EXPECT_EQ(FindIn(plan, 2)->new_pages, 1);
}

TEST(Preemption, NothingBelowAStalledSequenceMeansItWaits) {
  SchedulerConfig c = SmallConfig();
  c.kv_pages = 4;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 32, 30)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 32, 30)).ok());
  d.Step();
  StepPlan plan = d.Step();  // no free page: 1 stalls and preempts 2
  EXPECT_EQ(plan.stalled_pages, 1);
  EXPECT_EQ(FindReleased(plan, 2)->reason, ReleaseReason::kPreempted);
  d.set_free_pages(0);  // say the freed pages went elsewhere: 1 has nobody left below it
  plan = d.Step();
  EXPECT_TRUE(plan.seqs.empty());
  EXPECT_EQ(plan.stalled_pages, 1);
  EXPECT_TRUE(plan.released.empty());
  EXPECT_EQ(d.scheduler().Find(1)->pages_held, 2);  // nobody preempts itself
}

TEST(Preemption, PrefillsOutOfMemoryDoNotDeadlock) {
  SchedulerConfig c = SmallConfig();
  c.kv_pages = 16;
  c.prefill_chunk = 32;
  c.max_tokens_per_step = 64;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 200, 8)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 200, 8)).ok());
  int steps = 0;
  int finished = 0;
  while (finished < 2) {
    ASSERT_LT(++steps, 100) << "no progress";
    StepPlan plan = d.Step();
    for (const ReleasedSeq& r : plan.released) finished += r.reason == ReleaseReason::kFinished;
  }
  EXPECT_GE(d.scheduler().stats().preemptions, 1);
  EXPECT_EQ(d.free_pages(), 16);
}

}  // namespace
}  // namespace smollm::runtime
