// Engine: batch invariance, admission errors, drain, and no page left behind after
// cancels and deadlines.
#include "runtime/engine/engine.h"

#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "tests/test_support.h"
#include "runtime/engine/admission.h"
#include "tests/unit/engine/engine_test_util.h"

namespace smollm::runtime::engine_test {
namespace {

TEST(EngineTest, ConcurrentGreedyRequestsMatchSoloRuns) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(1234);
  // 16 concurrent requests; 6 under the sanitizers, which run the model far slower.
  constexpr int kRequests = smollm::testing::kSanitizerBuild ? 6 : 16;
  std::vector<std::vector<TokenId>> prompts;
  for (int i = 0; i < kRequests; ++i) prompts.push_back(RandomPrompt(rng, 3 + 3 * i));

  std::vector<std::vector<TokenId>> solo;
  {
    EngineOptions o = SmallOptions();
    o.prefix_cache = false;
    TestEngine t(o);
    ASSERT_NE(t.engine, nullptr);
    for (const auto& prompt : prompts) {
      Outcome out = RunRequest(*t.engine, {prompt, Greedy(6)});
      ASSERT_TRUE(out.ended);
      ASSERT_TRUE(out.final.status.ok()) << out.final.status;
      solo.push_back(out.tokens);
    }
  }
  EngineOptions o = SmallOptions();
  o.prefix_cache = false;
  TestEngine t(o);
  ASSERT_NE(t.engine, nullptr);
  std::vector<std::shared_ptr<TokenSink>> sinks;
  for (const auto& prompt : prompts) {
    sinks.push_back(std::make_shared<TokenSink>());
    ASSERT_TRUE(t.engine->Submit({prompt, Greedy(6)}, sinks.back()).ok());
  }
  for (int i = 0; i < kRequests; ++i) {
    Outcome out = Collect(*sinks[i]);
    ASSERT_TRUE(out.ended) << i;
    EXPECT_TRUE(out.final.status.ok()) << out.final.status;
    EXPECT_EQ(out.tokens, solo[i]) << "request " << i;
    EXPECT_EQ(out.final.usage.completion_tokens, 6);
    EXPECT_EQ(out.final.usage.prompt_tokens, static_cast<int>(prompts[i].size()));
    EXPECT_EQ(out.final.usage.finish_reason, FinishReason::kMaxTokens);
  }
  ASSERT_TRUE(t.engine->WaitUntilIdle(absl::Seconds(10)));
  EngineStats stats = t.engine->Stats();
  EXPECT_EQ(stats.tokens_out, kRequests * 6);
  EXPECT_EQ(stats.kv_pages_used, 0);
}

TEST(EngineTest, AdmissionErrors) {
  ASSERT_NE(TestModel(), nullptr);
  EngineOptions o = SmallOptions();
  o.max_running = 1;
  o.max_queued_requests = 2;
  o.context_length = 256;
  TestEngine t(o);
  ASSERT_NE(t.engine, nullptr);
  std::mt19937 rng(7);
  Engine& e = *t.engine;

  auto sink = std::make_shared<TokenSink>();
  EXPECT_EQ(e.Submit({{}, Greedy(4)}, sink).status().code(), absl::StatusCode::kInvalidArgument);
  SamplingParams bad = Greedy(4);
  bad.top_p = 2;
  EXPECT_EQ(e.Submit({RandomPrompt(rng, 4), bad}, sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.Submit({RandomPrompt(rng, 100), Greedy(157)}, sink).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(e.Submit({RandomPrompt(rng, 4), Greedy(4)}, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  // One runs, two wait: the fourth (and later) submissions find the queue full.
  std::vector<RequestId> accepted;
  absl::Status refused;
  for (int i = 0; i < 12 && refused.ok(); ++i) {
    auto id = e.Submit({RandomPrompt(rng, 60), Greedy(150)}, std::make_shared<TokenSink>());
    if (id.ok()) {
      accepted.push_back(*id);
    } else {
      refused = id.status();
    }
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_TRUE(RetryAfter(refused).has_value());
  EXPECT_GE(accepted.size(), 2u);
  for (RequestId id : accepted) e.Cancel(id);
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(30)));

  // Drain: accepted work finishes, new work is refused.
  auto draining = std::make_shared<TokenSink>();
  ASSERT_TRUE(e.Submit({RandomPrompt(rng, 10), Greedy(6)}, draining).ok());
  e.Drain();
  EXPECT_EQ(e.Submit({RandomPrompt(rng, 10), Greedy(6)}, sink).status().code(),
            absl::StatusCode::kUnavailable);
  Outcome out = Collect(*draining);
  ASSERT_TRUE(out.ended);
  EXPECT_TRUE(out.final.status.ok()) << out.final.status;
  EXPECT_EQ(out.tokens.size(), 6u);
  EXPECT_TRUE(e.Stats().draining);
}

TEST(EngineTest, TightMemoryPreemptsAndRecomputesTheSameTokens) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(21);
  std::vector<std::vector<TokenId>> prompts;
  // Six sequences (four under the sanitizers) of 5-6 pages each cannot fit 11 pages at once.
  const int n_prompts = smollm::testing::kSanitizerBuild ? 4 : 6;
  for (int i = 0; i < n_prompts; ++i) prompts.push_back(RandomPrompt(rng, 40 + 8 * i));
  EngineOptions roomy = SmallOptions();
  roomy.prefix_cache = false;
  std::vector<std::vector<TokenId>> solo;
  {
    TestEngine t(roomy);
    ASSERT_NE(t.engine, nullptr);
    for (const auto& p : prompts) solo.push_back(RunRequest(*t.engine, {p, Greedy(16)}).tokens);
  }
  // About 11 pages (176 tokens): the six sequences cannot all hold their pages at once.
  EngineOptions tight = roomy;
  tight.kv_cache_bytes = uint64_t{4} << 20;
  TestEngine t(tight);
  ASSERT_NE(t.engine, nullptr);
  std::vector<std::shared_ptr<TokenSink>> sinks;
  for (const auto& p : prompts) {
    sinks.push_back(std::make_shared<TokenSink>());
    ASSERT_TRUE(t.engine->Submit({p, Greedy(16)}, sinks.back()).ok());
  }
  for (size_t i = 0; i < sinks.size(); ++i) {
    Outcome out = Collect(*sinks[i]);
    ASSERT_TRUE(out.ended);
    EXPECT_TRUE(out.final.status.ok()) << out.final.status;
    EXPECT_EQ(out.tokens, solo[i]) << "request " << i;
  }
  ASSERT_TRUE(t.engine->WaitUntilIdle(absl::Seconds(10)));
  EngineStats s = t.engine->Stats();
  EXPECT_LT(s.kv_pages_total, 20);
  EXPECT_EQ(s.kv_pages_used, 0);
  EXPECT_EQ(s.kv_pages_free, s.kv_pages_total);
  EXPECT_GT(s.preemptions, 0);
}

TEST(EngineTest, CancelsAndDeadlinesLeaveNoPageBehind) {
  ASSERT_NE(TestModel(), nullptr);
  EngineOptions o = SmallOptions();
  o.max_tokens_per_step = 64;  // long prompts take several steps: cancels land mid-prefill
  o.prefill_chunk = 32;
  TestEngine t(o);
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;
  std::mt19937 rng(99);
  struct Live {
    RequestId id;
    std::shared_ptr<TokenSink> sink;
  };
  std::vector<Live> live;
  const int n_requests = smollm::testing::kSanitizerBuild ? 10 : 24;
  for (int i = 0; i < n_requests; ++i) {
    GenerateRequest r{RandomPrompt(rng, 20 + static_cast<int>(rng() % 140)),
                      Greedy(4 + static_cast<int>(rng() % 24))};
    if (i % 3 == 1) r.deadline = absl::Now() + absl::Milliseconds(rng() % 300);
    auto sink = std::make_shared<TokenSink>();
    auto id = e.Submit(std::move(r), sink);
    ASSERT_TRUE(id.ok()) << id.status();
    live.push_back({*id, sink});
  }
  for (int i = 0; i < n_requests; i += 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    e.Cancel(live[i].id);
    e.Cancel(live[i].id);  // idempotent
  }
  int cancelled = 0, deadline = 0, finished = 0;
  for (Live& l : live) {
    Outcome out = Collect(*l.sink);
    ASSERT_TRUE(out.ended);
    switch (out.final.status.code()) {
      case absl::StatusCode::kCancelled: ++cancelled; break;
      case absl::StatusCode::kDeadlineExceeded: ++deadline; break;
      case absl::StatusCode::kOk: ++finished; break;
      default: ADD_FAILURE() << out.final.status;
    }
    EXPECT_EQ(out.final.usage.completion_tokens, static_cast<int>(out.tokens.size()));
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(finished, 0);
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(30)));
  EngineStats s = e.Stats();
  EXPECT_EQ(s.sequences, 0);
  EXPECT_EQ(s.running, 0);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.kv_pages_used, 0);
  EXPECT_EQ(s.kv_pages_free + s.kv_pages_cached, s.kv_pages_total);
  (void)deadline;
}

}  // namespace
}  // namespace smollm::runtime::engine_test
