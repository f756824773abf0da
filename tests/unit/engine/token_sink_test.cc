// TokenSink: deltas coalesce in order (text, tokens, logprobs, top-logprob alternatives),
// the bound reports backlog and the drain hook fires when a Take brings it under.
#include "runtime/engine/token_sink.h"

#include <random>

#include "gtest/gtest.h"

namespace smollm::runtime {
namespace {

TEST(TokenSink, DeltasCoalesceEveryFieldInOrder) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<TokenId> id(0, 50000);
  std::uniform_real_distribution<float> lp(-9.0f, 0.0f);
  TokenSink sink(1000);
  TokenEvent expected;
  for (int i = 0; i < 7; ++i) {
    TokenEvent delta;
    delta.text = std::string(1 + i % 3, static_cast<char>('a' + i));
    const int n = 1 + i % 2;
    for (int k = 0; k < n; ++k) {
      delta.tokens.push_back(id(rng));
      delta.logprobs.push_back(lp(rng));
      std::vector<TokenLogprob> top(1 + (i + k) % 4);
      for (TokenLogprob& t : top) t = {id(rng), lp(rng)};
      delta.top_logprobs.push_back(top);
    }
    expected.text += delta.text;
    expected.tokens.insert(expected.tokens.end(), delta.tokens.begin(), delta.tokens.end());
    expected.logprobs.insert(expected.logprobs.end(), delta.logprobs.begin(),
                             delta.logprobs.end());
    expected.top_logprobs.insert(expected.top_logprobs.end(), delta.top_logprobs.begin(),
                                 delta.top_logprobs.end());
    EXPECT_FALSE(sink.Push(std::move(delta)));
  }
  TokenEvent got;
  ASSERT_TRUE(sink.Take(&got));
  EXPECT_EQ(got.text, expected.text);
  EXPECT_EQ(got.tokens, expected.tokens);
  EXPECT_EQ(got.logprobs, expected.logprobs);
  ASSERT_EQ(got.top_logprobs.size(), expected.top_logprobs.size());
  for (size_t i = 0; i < got.top_logprobs.size(); ++i) {
    ASSERT_EQ(got.top_logprobs[i].size(), expected.top_logprobs[i].size());
    for (size_t j = 0; j < got.top_logprobs[i].size(); ++j) {
      EXPECT_EQ(got.top_logprobs[i][j].token, expected.top_logprobs[i][j].token);
      EXPECT_EQ(got.top_logprobs[i][j].logprob, expected.top_logprobs[i][j].logprob);
    }
  }
  EXPECT_FALSE(sink.Take(&got));  // nothing left: the next delta starts empty
  EXPECT_FALSE(sink.Push({"x", {1}, {}, {}}));
  ASSERT_TRUE(sink.Take(&got));
  EXPECT_EQ(got.text, "x");
  EXPECT_TRUE(got.top_logprobs.empty());
}

TEST(TokenSink, BoundPausesAndTheDrainHookFiresOnTake) {
  TokenSink sink(3);
  int hooks = 0;
  sink.SetDrainHook([&] { ++hooks; });
  EXPECT_FALSE(sink.Push({"", {1, 2}, {}, {}}));
  EXPECT_TRUE(sink.Push({"", {3}, {}, {}}));  // at the bound
  EXPECT_TRUE(sink.over_bound());
  sink.Finish({absl::OkStatus(), {}});
  EXPECT_FALSE(sink.TakeFinal().has_value());  // deltas first
  TokenEvent got;
  ASSERT_TRUE(sink.Take(&got));
  EXPECT_EQ(hooks, 1);
  EXPECT_EQ(got.tokens.size(), 3u);
  EXPECT_TRUE(sink.TakeFinal().has_value());
  EXPECT_FALSE(sink.TakeFinal().has_value());  // once
}

}  // namespace
}  // namespace smollm::runtime
