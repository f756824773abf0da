// Admission control: request checks, queue limits, retry hints and the throughput meter.
#include "runtime/engine/admission.h"

#include "gtest/gtest.h"
#include "runtime/engine/scheduler.h"
#include "tests/unit/engine/scheduler_test_util.h"

namespace smollm::runtime {
namespace {

using sched_test::Driver;
using sched_test::Request;
using sched_test::SmallConfig;

TEST(CheckRequest, RefusesMalformedRequests) {
  const SchedulerConfig c = SmallConfig();
  EXPECT_TRUE(CheckRequest(c, Request(1, 100, 10)).ok());
  EXPECT_EQ(CheckRequest(c, Request(1, 0, 10)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckRequest(c, Request(1, 10, 0)).code(), absl::StatusCode::kInvalidArgument);
  SeqRequest r = Request(1, 100, 10);
  r.cached = {100, 0};  // not page aligned and not short of the last token
  EXPECT_EQ(CheckRequest(c, r).code(), absl::StatusCode::kInvalidArgument);
  r.cached = {10, 1};  // a partly filled page short of the last token: allowed
  EXPECT_TRUE(CheckRequest(c, r).ok());
  r.cached = {10, 2};
  EXPECT_EQ(CheckRequest(c, r).code(), absl::StatusCode::kInvalidArgument);
  r.cached = {112, 0};
  EXPECT_EQ(CheckRequest(c, r).code(), absl::StatusCode::kInvalidArgument);
  r.cached = {32, 3};
  EXPECT_EQ(CheckRequest(c, r).code(), absl::StatusCode::kInvalidArgument);
  r.cached = {32, -1};
  EXPECT_EQ(CheckRequest(c, r).code(), absl::StatusCode::kInvalidArgument);
  r.cached = {96, 6};
  EXPECT_TRUE(CheckRequest(c, r).ok());
}

TEST(CheckRequest, OutOfRangeBeyondTheContextOrThePool) {
  SchedulerConfig c = SmallConfig();
  EXPECT_TRUE(CheckRequest(c, Request(1, 4000, 96)).ok());
  absl::Status s = CheckRequest(c, Request(1, 4000, 97));
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("context holds 4096"), std::string::npos) << s;
  c.kv_pages = 100;
  c.kv_reserve_pages = 10;
  EXPECT_TRUE(CheckRequest(c, Request(1, 1400, 40)).ok());  // 90 pages
  s = CheckRequest(c, Request(1, 1400, 41));                // 91 pages
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("KV pages"), std::string::npos) << s;
}

TEST(Submit, RefusesDuplicateIds) {
  Driver d(SmallConfig());
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 10)).ok());
  EXPECT_EQ(d.scheduler().Submit(Request(1, 10)).code(), absl::StatusCode::kAlreadyExists);
}

TEST(Submit, QueueCountLimitGivesResourceExhaustedWithAHint) {
  SchedulerConfig c = SmallConfig();
  c.max_queued_requests = 3;
  c.default_retry_after = absl::Milliseconds(750);
  Driver d(c);
  for (SeqId id = 1; id <= 3; ++id) ASSERT_TRUE(d.scheduler().Submit(Request(id, 10)).ok());
  absl::Status s = d.scheduler().Submit(Request(4, 10));
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("3 requests (limit 3)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("retry after about 750 ms"), std::string::npos) << s;
  ASSERT_TRUE(RetryAfter(s).has_value());
  EXPECT_EQ(*RetryAfter(s), absl::Milliseconds(750));
  EXPECT_EQ(d.scheduler().stats().rejected, 1);
  EXPECT_FALSE(d.scheduler().Find(4).has_value());
  // Admission empties the queue; the request is then accepted.
  d.Step();
  EXPECT_TRUE(d.scheduler().Submit(Request(4, 10)).ok());
}

TEST(Submit, QueuedTokenLimitCountsTokensStillToPrefill) {
  SchedulerConfig c = SmallConfig();
  c.max_queued_prompt_tokens = 5000;
  c.max_running = 1;
  Driver d(c);
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 3000)).ok());
  absl::Status s = d.scheduler().Submit(Request(2, 2001));
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("3000 prompt tokens"), std::string::npos) << s;
  // A cached prefix is not queued work.
  SeqRequest cached = Request(2, 2032);
  cached.cached = {32, 0};
  EXPECT_TRUE(d.scheduler().Submit(cached).ok());
  EXPECT_EQ(d.scheduler().stats().queued_tokens, 5000);
}

TEST(Submit, RetryHintFollowsTheMeasuredThroughput) {
  SchedulerConfig c = SmallConfig();
  c.max_queued_requests = 2;
  c.max_running = 1;
  c.max_tokens_per_step = 100;
  c.prefill_chunk = 100;
  Driver d(c);  // 10 ms a step: 100 tokens per step is 10000 tokens per second
  ASSERT_TRUE(d.scheduler().Submit(Request(1, 1000, 10)).ok());
  for (int i = 0; i < 3; ++i) d.Step();
  EXPECT_NEAR(d.scheduler().stats().tokens_per_second, 10000, 1e-6);
  ASSERT_TRUE(d.scheduler().Submit(Request(2, 1000, 10)).ok());
  ASSERT_TRUE(d.scheduler().Submit(Request(3, 1000, 10)).ok());
  absl::Status s = d.scheduler().Submit(Request(4, 1000, 10));
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  // 2000 queued + 1000 of its own at 10000 tokens per second.
  EXPECT_EQ(RetryAfter(s), absl::Milliseconds(300));
}

TEST(RetryAfter, AbsentOrMalformedPayload) {
  EXPECT_FALSE(RetryAfter(absl::ResourceExhaustedError("full")).has_value());
  absl::Status s = absl::ResourceExhaustedError("full");
  s.SetPayload(kRetryAfterPayloadUrl, absl::Cord("soon"));
  EXPECT_FALSE(RetryAfter(s).has_value());
}

TEST(ThroughputMeter, SmoothsAndIgnoresEmptySteps) {
  ThroughputMeter m;
  EXPECT_EQ(m.EstimateWait(1000, absl::Seconds(3)), absl::Seconds(3));
  m.Observe(0, absl::Milliseconds(10));
  m.Observe(100, absl::ZeroDuration());
  EXPECT_EQ(m.tokens_per_second(), 0);
  m.Observe(100, absl::Milliseconds(100));  // 1000/s
  EXPECT_DOUBLE_EQ(m.tokens_per_second(), 1000);
  m.Observe(200, absl::Milliseconds(100));  // 2000/s, weighed one in five
  EXPECT_DOUBLE_EQ(m.tokens_per_second(), 1200);
  EXPECT_EQ(m.EstimateWait(600, absl::Seconds(3)), absl::Milliseconds(500));
}

}  // namespace
}  // namespace smollm::runtime
