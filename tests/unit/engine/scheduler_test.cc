// Scheduler basics: config, chunking, decode-first batching, pages, cancel, pause, errors.
#include "runtime/engine/scheduler.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/engine/scheduler_test_util.h"

namespace smollm::runtime {
namespace {

using sched_test::Driver;
using sched_test::FindIn;
using sched_test::FindReleased;
using sched_test::Request;
using sched_test::SmallConfig;

TEST(SchedulerConfig, RefusesEachOutOfRangeKnob) {
  EXPECT_TRUE(ValidateSchedulerConfig(SmallConfig()).ok());
  auto refused = [](auto mutate, const char* field) {
    SchedulerConfig c = SmallConfig();
    mutate(c);
    absl::StatusOr<Scheduler> s = Scheduler::Create(c);
    ASSERT_FALSE(s.ok()) << field;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(field), std::string::npos) << s.status();
  };
  refused([](SchedulerConfig& c) { c.context_length = 1; }, "context_length");
  refused([](SchedulerConfig& c) { c.page_size = 0; }, "page_size");
  refused([](SchedulerConfig& c) { c.kv_pages = 0; }, "kv_pages");
  refused([](SchedulerConfig& c) { c.kv_reserve_pages = -1; }, "kv_reserve_pages");
  refused([](SchedulerConfig& c) { c.kv_reserve_pages = c.kv_pages; }, "kv_reserve_pages");
  refused([](SchedulerConfig& c) { c.max_tokens_per_step = 0; }, "max_tokens_per_step");
  refused([](SchedulerConfig& c) { c.max_seqs_per_step = 0; }, "max_seqs_per_step");
  refused([](SchedulerConfig& c) { c.max_running = 0; }, "max_running");
  refused([](SchedulerConfig& c) { c.prefill_chunk = 0; }, "prefill_chunk");
  refused([](SchedulerConfig& c) { c.long_prefill_share = 0; }, "long_prefill_share");
  refused([](SchedulerConfig& c) { c.long_prefill_share = 1.5; }, "long_prefill_share");
  refused([](SchedulerConfig& c) { c.max_queued_requests = 0; }, "max_queued_requests");
  refused([](SchedulerConfig& c) { c.max_queued_prompt_tokens = c.context_length - 1; },
          "max_queued_prompt_tokens");
  refused([](SchedulerConfig& c) { c.default_retry_after = absl::ZeroDuration(); },
          "default_retry_after");
}

TEST(Scheduler, ChunksAPromptThenDecodesUntilMaxNewTokens) {
  SchedulerConfig c = SmallConfig();
  c.prefill_chunk = 100;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 350, 3)).ok());
  const int start_free = d.free_pages();
  std::vector<int> chunks;
  for (int step = 0; step < 4; ++step) {
    StepPlan plan = d.Step();
    ASSERT_EQ(plan.seqs.size(), 1u);
    EXPECT_EQ(plan.seqs[0].first_token, step * 100);
    EXPECT_EQ(plan.seqs[0].admitted, step == 0);
    EXPECT_EQ(plan.seqs[0].samples, step == 3);  // only the last chunk yields logits
    chunks.push_back(plan.seqs[0].n_tokens);
  }
  EXPECT_EQ(chunks, (std::vector<int>{100, 100, 100, 50}));
  EXPECT_EQ(d.scheduler().Find(1)->pages_held, 22);  // ceil(350 / 16)
  EXPECT_EQ(d.scheduler().Find(1)->phase, SeqPhase::kDecode);
  for (int step = 0; step < 2; ++step) {
    StepPlan plan = d.Step();
    ASSERT_EQ(plan.seqs.size(), 1u);
    EXPECT_EQ(plan.seqs[0].n_tokens, 1);
    EXPECT_EQ(plan.seqs[0].first_token, 350 + step);
    EXPECT_TRUE(plan.seqs[0].samples);
  }
  EXPECT_EQ(d.scheduler().Find(1)->phase, SeqPhase::kDone);  // three tokens: max_new_tokens
  StepPlan last = d.Step();
  EXPECT_TRUE(last.seqs.empty());
  ASSERT_EQ(last.released.size(), 1u);
  EXPECT_EQ(last.released[0].reason, ReleaseReason::kFinished);
  EXPECT_EQ(last.released[0].pages, 22);  // 352 tokens computed: still 22 pages
  EXPECT_EQ(d.free_pages(), start_free);
  EXPECT_FALSE(d.scheduler().Find(1).has_value());
  EXPECT_FALSE(d.scheduler().HasWork());
}

TEST(Scheduler, NewPagesFollowPageBoundaries) {
  SchedulerConfig c = SmallConfig();
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 16, 40)).ok());
  StepPlan first = d.Step();
  EXPECT_EQ(first.seqs[0].new_pages, 1);
  // Token 16 (the first generated one) opens page 2; tokens 17..31 fit in it.
  for (int token = 16; token < 40; ++token) {
    StepPlan plan = d.Step();
    ASSERT_EQ(plan.seqs.size(), 1u);
    EXPECT_EQ(plan.seqs[0].first_token, token);
    EXPECT_EQ(plan.seqs[0].new_pages, token % 16 == 0 ? 1 : 0) << token;
  }
}

TEST(Scheduler, DecodesComeFirstAndPrefillsGetTheRestOfTheBudget) {
  SchedulerConfig c = SmallConfig();
  c.max_tokens_per_step = 64;
  c.prefill_chunk = 64;
  Driver d(c);
  for (SeqId id = 1; id <= 5; ++id) ASSERT_TRUE(d.scheduler().Submit(Request(id, 8, 50)).ok());
  d.Step();  // all five prefill together (5 x 8 tokens)
  ASSERT_TRUE(d.scheduler().Submit(Request(9, 1000, 4)).ok());
  for (int step = 0; step < 10; ++step) {
    StepPlan plan = d.Step();
    ASSERT_EQ(plan.seqs.size(), 6u);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(plan.seqs[i].id, i + 1);
      EXPECT_EQ(plan.seqs[i].n_tokens, 1);
    }
    EXPECT_EQ(plan.seqs[5].id, 9);
    EXPECT_EQ(plan.seqs[5].n_tokens, 64 - 5);
    EXPECT_EQ(plan.n_tokens, 64);
  }
}

TEST(Scheduler, SequenceSlotsAndRunningLimitBound) {
  SchedulerConfig c = SmallConfig();
  c.max_seqs_per_step = 3;
  c.max_running = 4;
  Driver d(c);
  for (SeqId id = 1; id <= 6; ++id) ASSERT_TRUE(d.scheduler().Submit(Request(id, 10, 20)).ok());
  StepPlan first = d.Step();
  EXPECT_EQ(first.seqs.size(), 3u);
  StepPlan second = d.Step();  // three decodes fill the slots: nobody is admitted
  EXPECT_EQ(second.seqs.size(), 3u);
  for (const ScheduledSeq& s : second.seqs) EXPECT_FALSE(s.admitted);
  ASSERT_TRUE(d.scheduler().SetPaused(1, true).ok());
  StepPlan third = d.Step();  // a slot frees: one admission, then max_running is reached
  EXPECT_EQ(third.seqs.size(), 3u);
  EXPECT_EQ(d.scheduler().stats().running, 4);
  EXPECT_EQ(d.scheduler().stats().waiting, 2);
  ASSERT_TRUE(d.scheduler().SetPaused(2, true).ok());
  StepPlan fourth = d.Step();
  EXPECT_EQ(fourth.seqs.size(), 2u);  // four running, two paused; nobody more admitted
  EXPECT_EQ(d.scheduler().stats().paused, 2);
}

TEST(Scheduler, AdmissionLeavesTheReserveFree) {
  SchedulerConfig c = SmallConfig();
  c.kv_reserve_pages = 10;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 112, 4)).ok());  // one chunk, 7 pages
  d.set_free_pages(16);
  StepPlan plan = d.Plan();
  EXPECT_TRUE(plan.seqs.empty());  // 16 - 7 < 10
  EXPECT_EQ(plan.blocked_pages, 1);  // what the engine should try to reclaim
  EXPECT_EQ(plan.stalled_pages, 0);
  d.Apply(plan);
  d.set_free_pages(17);
  plan = d.Plan();
  ASSERT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(plan.seqs[0].new_pages, 7);
  EXPECT_EQ(plan.blocked_pages, 0);
  d.Apply(plan);
  EXPECT_EQ(d.free_pages(), 10);
  // A running sequence may then eat into the reserve: token 112 opens an eighth page.
  for (int i = 0; i < 3; ++i) d.Step();
  EXPECT_EQ(d.scheduler().Find(1)->generated_tokens, 4);
  EXPECT_EQ(d.free_pages(), 9);
}

TEST(Scheduler, CancelReleasesPagesAtTheNextStepBoundary) {
  Driver d(SmallConfig());
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 40, 20)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 40, 20)).ok());
  d.Step();
  StepPlan plan = d.Plan();
  // Cancelled while the step runs: the step completes, the pages go at the boundary.
  ASSERT_TRUE(d.scheduler().Cancel(1).ok());
  ASSERT_TRUE(d.scheduler().Cancel(1).ok());  // idempotent
  EXPECT_TRUE(d.scheduler().Find(1)->cancelled);
  d.Apply(plan);
  EXPECT_EQ(d.scheduler().Find(1)->phase, SeqPhase::kDone);
  StepPlan next = d.Step();
  const ReleasedSeq* r = FindReleased(next, 1);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->reason, ReleaseReason::kCancelled);
  EXPECT_EQ(r->pages, 3);  // 41 tokens computed
  EXPECT_EQ(FindIn(next, 1), nullptr);
  EXPECT_NE(FindIn(next, 2), nullptr);
  EXPECT_EQ(d.scheduler().Cancel(1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(d.scheduler().SetPaused(1, true).code(), absl::StatusCode::kNotFound);
}

TEST(Scheduler, CancelOfAWaitingRequestReleasesNoPages) {
  SchedulerConfig c = SmallConfig();
  c.max_running = 1;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 40, 20)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 40, 20)).ok());
  d.Step();
  ASSERT_TRUE(d.scheduler().Cancel(2).ok());
  StepPlan plan = d.Step();
  const ReleasedSeq* r = FindReleased(plan, 2);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->pages, 0);
  EXPECT_EQ(d.scheduler().stats().waiting, 0);
  EXPECT_EQ(d.scheduler().stats().queued_tokens, 0);
}

TEST(Scheduler, FinishedWinsOverALateCancel) {
  Driver d(SmallConfig());
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 40, 20)).ok());
  StepPlan plan = d.Plan();
  ASSERT_TRUE(d.scheduler().Cancel(1).ok());
  d.Apply(plan, std::vector<SeqId>{1});
  StepPlan next = d.Step();
  ASSERT_EQ(next.released.size(), 1u);
  EXPECT_EQ(next.released[0].reason, ReleaseReason::kFinished);
}

TEST(Scheduler, PausedSequencesAreSkippedAndKeepTheirPlace) {
  SchedulerConfig c = SmallConfig();
  Driver d(c);
  for (SeqId id = 1; id <= 3; ++id) ASSERT_TRUE(d.scheduler().Submit(Request(id, 20, 30)).ok());
  d.Step();
  ASSERT_TRUE(d.scheduler().SetPaused(2, true).ok());
  const int held = d.scheduler().Find(2)->pages_held;
  for (int i = 0; i < 5; ++i) {
    StepPlan plan = d.Step();
    EXPECT_EQ(FindIn(plan, 2), nullptr);
    EXPECT_EQ(plan.seqs.size(), 2u);
  }
  EXPECT_EQ(d.scheduler().Find(2)->pages_held, held);
  EXPECT_EQ(d.scheduler().Find(2)->generated_tokens, 1);
  EXPECT_EQ(d.scheduler().RunningOrder(), (std::vector<SeqId>{1, 2, 3}));
  ASSERT_TRUE(d.scheduler().SetPaused(2, false).ok());
  StepPlan plan = d.Step();
  ASSERT_EQ(plan.seqs.size(), 3u);
  EXPECT_EQ(plan.seqs[1].id, 2);
  EXPECT_EQ(plan.seqs[1].first_token, 20);
}

TEST(Scheduler, PausedWaitingRequestIsPassedButStaysFirst) {
  SchedulerConfig c = SmallConfig();
  c.max_running = 1;
  Driver d(c);
  for (SeqId id = 1; id <= 3; ++id) ASSERT_TRUE(d.scheduler().Submit(Request(id, 20, 2)).ok());
  ASSERT_TRUE(d.scheduler().SetPaused(2, true).ok());
  d.Step();                  // 1 admitted
  d.Step();                  // 1 decodes its second token: finished
  StepPlan plan = d.Step();  // 1 leaves; 2 is paused so 3 is admitted
  EXPECT_NE(FindReleased(plan, 1), nullptr);
  ASSERT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(plan.seqs[0].id, 3);
  EXPECT_EQ(d.scheduler().WaitingOrder(), (std::vector<SeqId>{2}));
}

TEST(Scheduler, DeadlinesDropWaitingAndRunningSequences) {
  SchedulerConfig c = SmallConfig();
  c.max_running = 1;
  Driver d(c);
  SeqRequest a = Request(1, 20, 100);
  a.deadline = d.now() + absl::Milliseconds(35);
  SeqRequest b = Request(2, 20, 100);
  b.deadline = d.now() + absl::Milliseconds(15);
  ASSERT_TRUE(d.scheduler().Submit(a).ok());
  ASSERT_TRUE(d.scheduler().Submit(b).ok());
  d.Step();                  // t = 0
  d.Step();                  // t = 10
  StepPlan plan = d.Step();  // t = 20: 2 (waiting) expired
  const ReleasedSeq* r = FindReleased(plan, 2);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->reason, ReleaseReason::kDeadlineExceeded);
  d.Step();         // t = 30
  plan = d.Step();  // t = 40: 1 (running) expired
  r = FindReleased(plan, 1);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->reason, ReleaseReason::kDeadlineExceeded);
  EXPECT_EQ(r->pages, 2);
}

TEST(Scheduler, StepProtocolErrors) {
  Driver d(SmallConfig());
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 20, 5)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 20, 5)).ok());
  StepPlan none;
  EXPECT_EQ(d.scheduler().Update(none, {}, d.now()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(d.scheduler().Schedule(d.now(), {-1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<StepPlan> plan = d.scheduler().Schedule(d.now(), {100});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(d.scheduler().Schedule(d.now(), {100}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  StepPlan stale = *plan;
  stale.step += 1;
  EXPECT_EQ(d.scheduler().Update(stale, {}, d.now()).code(), absl::StatusCode::kFailedPrecondition);
  // A finished id that did not sample: refused, and nothing is applied.
  const std::vector<SeqId> bogus = {1, 7};
  EXPECT_EQ(d.scheduler().Update(*plan, bogus, d.now()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.scheduler().Find(1)->computed_tokens, 0);
  ASSERT_TRUE(d.scheduler().Update(*plan, {}, d.now()).ok());
  EXPECT_EQ(d.scheduler().Find(1)->computed_tokens, 20);
  EXPECT_EQ(d.scheduler().Find(1)->generated_tokens, 1);
}

TEST(Scheduler, PriorityOrdersAdmission) {
  SchedulerConfig c = SmallConfig();
  c.max_running = 1;
  Driver d(c);
  SeqRequest low = Request(1, 20, 1);
  SeqRequest high = Request(2, 20, 1);
  high.priority = 5;
  ASSERT_TRUE(d.scheduler().Submit(low).ok());
  ASSERT_TRUE(d.scheduler().Submit(high).ok());
  EXPECT_EQ(d.scheduler().WaitingOrder(), (std::vector<SeqId>{2, 1}));
  StepPlan plan = d.Step();
  ASSERT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(plan.seqs[0].id, 2);
}

TEST(Scheduler, CachedPrefixSkipsItsTokensAndChargesOnlyUnsharedPages) {
  SchedulerConfig c = SmallConfig();
  Driver d(c);
  SeqRequest r = Request(1, 100, 4);
  r.cached = {64, 1};  // 4 pages cached, 1 of them already referenced elsewhere
  ASSERT_TRUE(d.scheduler().Submit(r).ok());
  EXPECT_EQ(d.scheduler().stats().queued_tokens, 36);
  StepPlan plan = d.Plan();
  ASSERT_EQ(plan.seqs.size(), 1u);
  const ScheduledSeq& s = plan.seqs[0];
  EXPECT_TRUE(s.admitted);
  EXPECT_EQ(s.cached_tokens, 64);
  EXPECT_EQ(s.first_token, 64);
  EXPECT_EQ(s.n_tokens, 36);
  EXPECT_TRUE(s.samples);
  EXPECT_EQ(s.new_pages, 3);               // pages 4..6 hold tokens 64..99
  EXPECT_EQ(plan.n_charged_pages, 3 + 3);  // plus the three unshared cached pages
  d.Apply(plan);
  EXPECT_EQ(d.scheduler().Find(1)->pages_held, 7);
}

TEST(Scheduler, AFullyCachedPromptRecomputesItsLastPage) {
  Driver d(SmallConfig());
  SeqRequest r = Request(1, 64, 4);
  r.cached = {64, 0};
  ASSERT_TRUE(d.scheduler().Submit(r).ok());
  StepPlan plan = d.Step();
  ASSERT_EQ(plan.seqs.size(), 1u);
  EXPECT_EQ(plan.seqs[0].cached_tokens, 48);  // logits need a token to run
  EXPECT_EQ(plan.seqs[0].n_tokens, 16);
  EXPECT_EQ(plan.seqs[0].new_pages, 1);
  EXPECT_TRUE(plan.seqs[0].samples);
}

// A session turn writes on into its own partly filled last page: no page is charged for
// the prefix, and only the pages past the partial one are new.
TEST(Scheduler, APartialLastPageOfTheTurnsOwnIsUsedWhole) {
  Driver d(SmallConfig());
  SeqRequest r = Request(1, 70, 4);
  r.cached = {37, 3};  // pages 0..2, the third holding 5 of its 16 tokens
  ASSERT_TRUE(d.scheduler().Submit(r).ok());
  EXPECT_EQ(d.scheduler().stats().queued_tokens, 33);
  StepPlan plan = d.Plan();
  ASSERT_EQ(plan.seqs.size(), 1u);
  const ScheduledSeq& s = plan.seqs[0];
  EXPECT_EQ(s.cached_tokens, 37);
  EXPECT_EQ(s.first_token, 37);
  EXPECT_EQ(s.n_tokens, 33);
  EXPECT_EQ(s.new_pages, 2);  // pages 3 and 4 hold tokens 48..69
  EXPECT_EQ(plan.n_charged_pages, 2);
  d.Apply(plan);
  EXPECT_EQ(d.scheduler().Find(1)->pages_held, 5);
}

TEST(Scheduler, SetCachedPrefixChecksItsInput) {
  SchedulerConfig c = SmallConfig();
  c.max_running = 1;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 100, 4)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 100, 4)).ok());
  // A partly filled last page is allowed short of the last token only.
  EXPECT_EQ(d.scheduler().SetCachedPrefix(2, {100, 0}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.scheduler().SetCachedPrefix(2, {20, 3}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(d.scheduler().SetCachedPrefix(2, {20, 2}).ok());
  EXPECT_EQ(d.scheduler().stats().queued_tokens, 100 + 80);
  EXPECT_EQ(d.scheduler().SetCachedPrefix(2, {112, 0}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.scheduler().SetCachedPrefix(2, {32, 3}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.scheduler().SetCachedPrefix(9, {32, 0}).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(d.scheduler().SetCachedPrefix(2, {32, 2}).ok());
  EXPECT_EQ(d.scheduler().stats().queued_tokens, 100 + 68);
  d.Step();
  EXPECT_EQ(d.scheduler().SetCachedPrefix(1, {32, 0}).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace smollm::runtime
