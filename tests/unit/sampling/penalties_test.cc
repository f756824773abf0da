// Repetition / presence / frequency penalties against the scalar reference.
#include "runtime/sampling/penalties.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/sampling/reference_sampling.h"

namespace smollm::runtime {
namespace {

std::vector<float> RandomLogits(size_t n, std::mt19937& gen) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> logits(n);
  for (float& v : logits) v = normal(gen);
  return logits;
}

std::vector<TokenId> RandomTokens(size_t count, int32_t vocab, std::mt19937& gen) {
  // Skewed towards low ids so that tokens repeat.
  std::geometric_distribution<int32_t> geometric(0.05);
  std::vector<TokenId> tokens(count);
  for (TokenId& t : tokens) t = std::min(geometric(gen), vocab - 1);
  return tokens;
}

TEST(PenaltiesTest, MatchesReferenceOnRandomHistories) {
  std::mt19937 gen(21);
  constexpr int32_t kVocab = 300;
  for (int trial = 0; trial < 300; ++trial) {
    SamplingParams params;
    params.repetition_penalty = trial % 4 == 0 ? 1.0f : 0.5f + static_cast<float>(gen() % 20) / 10;
    params.repetition_window = static_cast<int32_t>(gen() % 50);
    params.presence_penalty = trial % 3 == 0 ? 0.0f : static_cast<float>(gen() % 9) / 2 - 2;
    params.frequency_penalty = trial % 5 == 0 ? 0.0f : static_cast<float>(gen() % 9) / 2 - 2;
    params.max_tokens = 1 + static_cast<int32_t>(gen() % 100);
    ASSERT_TRUE(Validate(params, kVocab).ok());
    reference::History history;
    history.prompt = RandomTokens(gen() % 80, kVocab, gen);
    history.generated = RandomTokens(gen() % 120, kVocab, gen);  // may exceed max_tokens

    PenaltyState state(params, kVocab);
    ASSERT_TRUE(state.AcceptPrompt(history.prompt).ok());
    for (TokenId t : history.generated) ASSERT_TRUE(state.Accept(t).ok());

    const std::vector<float> logits = RandomLogits(kVocab, gen);
    const std::vector<float> expected = reference::ProcessedLogits(logits, params, history);
    std::vector<float> got = logits;
    state.Apply(got);
    for (size_t t = 0; t < got.size(); ++t) {
      ASSERT_EQ(got[t], expected[t]) << "trial " << trial << " token " << t;
      ASSERT_EQ(state.Penalize(static_cast<TokenId>(t), logits[t]), expected[t]);
    }
    // Apply leaves the state as it was: a second row gets the same treatment.
    std::vector<float> again = logits;
    state.Apply(again);
    EXPECT_EQ(again, got);
  }
}

TEST(PenaltiesTest, RepetitionDividesPositiveAndMultipliesNegative) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  params.repetition_window = 3;
  PenaltyState state(params, 10);
  ASSERT_TRUE(state.AcceptPrompt(std::vector<TokenId>{1, 2, 3, 4}).ok());  // 1 falls out
  std::vector<float> logits = {1.0f, 4.0f, 4.0f, -4.0f, 0.0f, 3.0f, 3.0f, 3.0f, 3.0f, 3.0f};
  state.Apply(logits);
  EXPECT_EQ(logits[1], 4.0f);   // out of the window
  EXPECT_EQ(logits[2], 2.0f);   // divided
  EXPECT_EQ(logits[3], -8.0f);  // multiplied
  EXPECT_EQ(logits[4], 0.0f);
  EXPECT_EQ(logits[5], 3.0f);
}

TEST(PenaltiesTest, PresenceAndFrequencyCountGeneratedTokensOnly) {
  SamplingParams params;
  params.presence_penalty = 0.5f;
  params.frequency_penalty = 0.25f;
  PenaltyState state(params, 10);
  ASSERT_TRUE(state.AcceptPrompt(std::vector<TokenId>{7, 7, 7}).ok());
  ASSERT_TRUE(state.Accept(2).ok());
  ASSERT_TRUE(state.Accept(2).ok());
  ASSERT_TRUE(state.Accept(5).ok());
  std::vector<float> logits(10, 1.0f);
  state.Apply(logits);
  EXPECT_EQ(logits[7], 1.0f);                // prompt only: untouched
  EXPECT_EQ(logits[2], 1.0f - 0.5f - 0.5f);  // twice
  EXPECT_EQ(logits[5], 1.0f - 0.5f - 0.25f);
}

TEST(PenaltiesTest, HugeLogitStaysFinite) {
  SamplingParams params;
  params.repetition_penalty = kMinRepetitionPenalty;
  PenaltyState state(params, 4);
  ASSERT_TRUE(state.Accept(1).ok());
  std::vector<float> logits = {0.0f, 3e38f, 0.0f, 0.0f};
  state.Apply(logits);
  EXPECT_EQ(logits[1], FLT_MAX);
}

TEST(PenaltiesTest, OutOfVocabularyTokensAreRejectedWithoutEffect) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  params.frequency_penalty = 1.0f;
  PenaltyState state(params, 10);
  EXPECT_EQ(state.Accept(10).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state.Accept(-1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state.AcceptPrompt(std::vector<TokenId>{1, 2, 99}).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<float> logits(10, 2.0f);
  state.Apply(logits);
  EXPECT_EQ(logits, std::vector<float>(10, 2.0f));  // nothing was recorded
}

TEST(PenaltiesTest, InactiveWhenOff) {
  SamplingParams params;  // repetition_penalty 1, no presence/frequency
  PenaltyState state(params, 10);
  EXPECT_FALSE(state.active());
  params.repetition_penalty = 1.3f;
  params.repetition_window = 0;
  EXPECT_FALSE(PenaltyState(params, 10).active());
  params.repetition_window = 8;
  EXPECT_TRUE(PenaltyState(params, 10).active());
}

}  // namespace
}  // namespace smollm::runtime
