// Engine: prefix cache and session reuse give the same tokens with less prefill, and a
// consumer that stops draining pauses its sequence with bounded memory.
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/engine/engine.h"
#include "tests/unit/engine/engine_test_util.h"

namespace smollm::runtime::engine_test {
namespace {

TEST(EngineReuseTest, SharedPrefixIsReusedWithTheSameOutput) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(5);
  const std::vector<TokenId> prefix = RandomPrompt(rng, 120);
  std::vector<TokenId> a = prefix, b = prefix;
  for (TokenId x : RandomPrompt(rng, 9)) a.push_back(x);
  for (TokenId x : RandomPrompt(rng, 13)) b.push_back(x);

  EngineOptions plain = SmallOptions();
  plain.prefix_cache = false;
  std::vector<TokenId> expected;
  {
    TestEngine t(plain);
    ASSERT_NE(t.engine, nullptr);
    Outcome out = RunRequest(*t.engine, {b, Greedy(10)});
    ASSERT_TRUE(out.ended);
    EXPECT_EQ(out.final.usage.cached_tokens, 0);
    expected = out.tokens;
  }
  TestEngine t(SmallOptions());
  ASSERT_NE(t.engine, nullptr);
  Outcome first = RunRequest(*t.engine, {a, Greedy(10)});
  ASSERT_TRUE(first.ended);
  EXPECT_EQ(first.final.usage.cached_tokens, 0);
  Outcome second = RunRequest(*t.engine, {b, Greedy(10)});
  ASSERT_TRUE(second.ended);
  ASSERT_TRUE(second.final.status.ok()) << second.final.status;
  EXPECT_GE(second.final.usage.cached_tokens, 120 / 16 * 16);
  EXPECT_EQ(second.final.usage.prompt_tokens, static_cast<int>(b.size()));
  EXPECT_EQ(second.tokens, expected);
  EXPECT_GE(t.engine->Stats().prefix_hit_tokens, uint64_t{112});
}

TEST(EngineReuseTest, SessionTurnPrefillsOnlyItsNewTokens) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(11);
  TestEngine t(SmallOptions());
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;
  auto session = e.CreateSession("alice", {});
  ASSERT_TRUE(session.ok()) << session.status();

  const std::vector<TokenId> turn1 = RandomPrompt(rng, 45);
  GenerateRequest r1{turn1, Greedy(7)};
  r1.session = SessionTurn{*session, "alice"};
  Outcome out1 = RunRequest(e, r1);
  ASSERT_TRUE(out1.ended);
  ASSERT_TRUE(out1.final.status.ok()) << out1.final.status;
  ASSERT_EQ(out1.tokens.size(), 7u);

  std::vector<TokenId> history = turn1;
  history.insert(history.end(), out1.tokens.begin(), out1.tokens.end());
  auto info = e.GetSession(*session, "alice");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->history_tokens, static_cast<int64_t>(history.size()));
  EXPECT_EQ(info->turns, 1);
  EXPECT_EQ(e.GetSession(*session, "bob").status().code(), absl::StatusCode::kPermissionDenied);

  const std::vector<TokenId> turn2 = RandomPrompt(rng, 20);
  GenerateRequest r2{turn2, Greedy(7)};
  r2.session = SessionTurn{*session, "alice"};
  Outcome out2 = RunRequest(e, r2);
  ASSERT_TRUE(out2.ended);
  ASSERT_TRUE(out2.final.status.ok()) << out2.final.status;
  const int h = static_cast<int>(history.size());
  // The KV of the whole history but its last token (sampled, never fed), the partly
  // filled last page included.
  EXPECT_EQ(out2.final.usage.cached_tokens, h - 1);
  EXPECT_EQ(out2.final.usage.prompt_tokens, h + 20);

  std::vector<TokenId> full = history;
  full.insert(full.end(), turn2.begin(), turn2.end());
  EngineOptions plain = SmallOptions();
  plain.prefix_cache = false;
  TestEngine fresh(plain);
  ASSERT_NE(fresh.engine, nullptr);
  Outcome reference = RunRequest(*fresh.engine, {full, Greedy(7)});
  ASSERT_TRUE(reference.ended);
  EXPECT_EQ(out2.tokens, reference.tokens);

  // Rewind drops turn 2; delete ends the session.
  auto rewound = e.RewindSession(*session, "alice");
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->history_tokens, h);
  EXPECT_TRUE(e.DeleteSession(*session, "alice").ok());
  EXPECT_EQ(e.GetSession(*session, "alice").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(10)));
  EXPECT_EQ(e.Stats().kv_pages_used, 0);
}

TEST(EngineReuseTest, SlowConsumerPausesItsSequence) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(3);
  TestEngine t(SmallOptions());
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;
  auto sink = std::make_shared<TokenSink>(/*max_buffered_tokens=*/4);
  ASSERT_TRUE(e.Submit({RandomPrompt(rng, 12), Greedy(30)}, sink).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (e.Stats().paused == 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(e.Stats().paused, 1);
  EXPECT_EQ(sink->buffered_tokens(), 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(sink->buffered_tokens(), 4);  // nothing more while paused
  EXPECT_FALSE(sink->finished());
  Outcome out = Collect(*sink);  // draining resumes it
  ASSERT_TRUE(out.ended);
  EXPECT_TRUE(out.final.status.ok()) << out.final.status;
  EXPECT_EQ(out.tokens.size(), 30u);

  // A paused sequence still ends at its deadline.
  auto stuck = std::make_shared<TokenSink>(/*max_buffered_tokens=*/2);
  GenerateRequest late{RandomPrompt(rng, 12), Greedy(30)};
  late.deadline = absl::Now() + absl::Milliseconds(800);
  ASSERT_TRUE(e.Submit(std::move(late), stuck).ok());
  const absl::Time wait_until = absl::Now() + absl::Seconds(20);
  while (!stuck->finished() && absl::Now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Outcome late_out = Collect(*stuck);
  ASSERT_TRUE(late_out.ended);
  EXPECT_EQ(late_out.final.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LE(late_out.tokens.size(), 2u);  // it may end before it even pauses
  ASSERT_TRUE(e.WaitUntilIdle(absl::Seconds(10)));
  EXPECT_EQ(e.Stats().kv_pages_used, 0);
}

}  // namespace
}  // namespace smollm::runtime::engine_test
