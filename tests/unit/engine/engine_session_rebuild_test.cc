// Engine sessions created with initial turns: a session rebuilt from another's history
// answers its next turn exactly as the original does; bad initial turns are refused.
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/engine/engine.h"
#include "tests/test_support.h"
#include "tests/unit/engine/engine_test_util.h"

namespace smollm::runtime::engine_test {
namespace {

using ::smollm::testing::MessageContains;

Outcome SessionTurnOf(Engine& engine, const SessionId& id, const std::vector<TokenId>& turn,
                      int max_tokens) {
  GenerateRequest request{turn, Greedy(max_tokens)};
  request.session = SessionTurn{id, "alice"};
  Outcome out = RunRequest(engine, std::move(request));
  EXPECT_TRUE(out.ended);
  EXPECT_TRUE(out.final.status.ok()) << out.final.status;
  return out;
}

TEST(EngineSessionRebuildTest, ARebuiltSessionAnswersItsNextTurnAsTheOriginal) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(77);
  TestEngine t(SmallOptions());
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;
  auto original = e.CreateSession("alice", {});
  ASSERT_TRUE(original.ok()) << original.status();
  // Two live turns; each finished turn is its new tokens then its reply.
  std::vector<std::vector<TokenId>> turns;
  for (int n : {37, 21}) {
    std::vector<TokenId> turn = RandomPrompt(rng, n);
    Outcome out = SessionTurnOf(e, *original, turn, 6);
    turn.insert(turn.end(), out.tokens.begin(), out.tokens.end());
    turns.push_back(std::move(turn));
  }
  const std::vector<TokenId> turn3 = RandomPrompt(rng, 13);
  const Outcome live = SessionTurnOf(e, *original, turn3, 8);

  auto rebuilt = e.CreateSession("alice", {}, turns);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  auto info = e.GetSession(*rebuilt, "alice");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->turns, 2);
  EXPECT_EQ(info->history_tokens, 37 + 6 + 21 + 6);
  EXPECT_EQ(info->cached_tokens, 0);
  EXPECT_EQ(e.Stats().sessions, 2);

  const Outcome again = SessionTurnOf(e, *rebuilt, turn3, 8);
  EXPECT_EQ(again.tokens, live.tokens);
  EXPECT_EQ(again.final.usage.prompt_tokens, live.final.usage.prompt_tokens);
  EXPECT_EQ(again.final.usage.prompt_tokens, 37 + 6 + 21 + 6 + 13);
  info = e.GetSession(*rebuilt, "alice");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->turns, 3);
}

TEST(EngineSessionRebuildTest, InitialTurnsOutsideTheVocabularyOrTheContextAreRefused) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(78);
  EngineOptions o = SmallOptions();  // a context of 1024 tokens
  TestEngine t(o);
  ASSERT_NE(t.engine, nullptr);
  Engine& e = *t.engine;

  std::vector<TokenId> bad = RandomPrompt(rng, 10);
  bad[4] = TestModel()->config().vocab_size;
  auto refused = e.CreateSession("alice", {}, {RandomPrompt(rng, 5), bad});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageContains(refused.status(), "initial_turns[1]")) << refused.status();

  // 1023 tokens leave no room for a new token and a reply; 1022 do.
  refused = e.CreateSession("alice", {}, {RandomPrompt(rng, 1000), RandomPrompt(rng, 23)});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(MessageContains(refused.status(), "initial_turns")) << refused.status();
  EXPECT_EQ(e.Stats().sessions, 0);
  auto fits = e.CreateSession("alice", {}, {RandomPrompt(rng, 1000), RandomPrompt(rng, 22)});
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(e.GetSession(*fits, "alice")->history_tokens, 1022);
}

}  // namespace
}  // namespace smollm::runtime::engine_test
