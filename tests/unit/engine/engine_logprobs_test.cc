// Engine: log-probabilities and top-logprob alternatives reach the sink, one entry per token,
// through the sink's coalescing.
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "runtime/engine/engine.h"
#include "tests/unit/engine/engine_test_util.h"

namespace smollm::runtime::engine_test {
namespace {

TEST(EngineLogprobsTest, TopAlternativesFollowEveryToken) {
  ASSERT_NE(TestModel(), nullptr);
  std::mt19937 rng(77);
  TestEngine t(SmallOptions());
  ASSERT_NE(t.engine, nullptr);
  constexpr int kTokens = 12;
  constexpr int kTop = 5;
  const std::vector<TokenId> prompt = RandomPrompt(rng, 30);

  SamplingParams params = Greedy(kTokens);
  params.top_logprobs = kTop;
  // A small sink bound makes the engine push many deltas that coalesce before a Take.
  auto sink = std::make_shared<TokenSink>(4);
  ASSERT_TRUE(t.engine->Submit({prompt, params}, sink).ok());
  absl::SleepFor(absl::Milliseconds(200));  // let deltas pile up (any timing passes)
  Outcome out = Collect(*sink);
  ASSERT_TRUE(out.ended);
  ASSERT_TRUE(out.final.status.ok()) << out.final.status;
  ASSERT_EQ(out.tokens.size(), static_cast<size_t>(kTokens));
  ASSERT_EQ(out.logprobs.size(), out.tokens.size());
  ASSERT_EQ(out.top_logprobs.size(), out.tokens.size());
  for (size_t i = 0; i < out.tokens.size(); ++i) {
    const std::vector<TokenLogprob>& top = out.top_logprobs[i];
    ASSERT_EQ(top.size(), static_cast<size_t>(kTop)) << "token " << i;
    // Greedy: the most likely alternative is the token chosen, with its logprob.
    EXPECT_EQ(top[0].token, out.tokens[i]) << "token " << i;
    EXPECT_FLOAT_EQ(top[0].logprob, out.logprobs[i]) << "token " << i;
    for (size_t j = 0; j < top.size(); ++j) {
      EXPECT_TRUE(std::isfinite(top[j].logprob));
      EXPECT_LE(top[j].logprob, 0.0f);
      if (j > 0) {
        EXPECT_LE(top[j].logprob, top[j - 1].logprob);
        EXPECT_NE(top[j].token, top[j - 1].token);
      }
    }
  }

  // The same request without alternatives: the same tokens, no alternatives, and logprobs
  // only when asked.
  Outcome plain = RunRequest(*t.engine, {prompt, Greedy(kTokens)});
  ASSERT_TRUE(plain.ended);
  EXPECT_EQ(plain.tokens, out.tokens);
  EXPECT_TRUE(plain.top_logprobs.empty());
  EXPECT_TRUE(plain.logprobs.empty());
  SamplingParams only_logprobs = Greedy(kTokens);
  only_logprobs.logprobs = true;
  Outcome logprobs = RunRequest(*t.engine, {prompt, only_logprobs});
  ASSERT_TRUE(logprobs.ended);
  EXPECT_TRUE(logprobs.top_logprobs.empty());
  EXPECT_EQ(logprobs.logprobs, out.logprobs);
}

}  // namespace
}  // namespace smollm::runtime::engine_test
