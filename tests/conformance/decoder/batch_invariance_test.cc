// Batch invariance: the same prompts decoded alone, all in one batch, and staggered (each
// joining while the others decode, as continuous batching runs them) give the same
// greedy tokens and, row for row, the same logits.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/decoder/decoder_harness.h"
#include "tests/conformance/decoder/logit_reference.h"
#include "tests/conformance/decoder/tiny_smollm3.h"
#include "tests/test_support.h"

namespace smollm::testing {
namespace {

using runtime::TokenId;

constexpr double kMaxRelativeError = 1e-5;

// Random prompts of the given lengths over [1, vocab).
std::vector<std::vector<TokenId>> RandomPrompts(const std::vector<int>& lengths, int vocab,
                                                uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<TokenId> token(1, vocab - 1);
  std::vector<std::vector<TokenId>> prompts;
  for (const int n : lengths) {
    prompts.emplace_back(n);
    for (TokenId& t : prompts.back()) t = token(rng);
  }
  return prompts;
}

// Runs every schedule and compares each with the solo run.
void ExpectBatchInvariant(DecoderRunner& runner, const std::vector<std::vector<TokenId>>& prompts,
                          int n_new, const std::string& label) {
  auto solo = runner.Greedy(prompts, n_new, Schedule::kSolo);
  ASSERT_TRUE(solo.ok()) << solo.status();
  for (const Schedule schedule : {Schedule::kBatched, Schedule::kStaggered}) {
    const char* name = schedule == Schedule::kBatched ? "batched" : "staggered";
    auto together = runner.Greedy(prompts, n_new, schedule);
    ASSERT_TRUE(together.ok()) << together.status();
    double worst = 0;
    for (size_t s = 0; s < prompts.size(); ++s) {
      EXPECT_EQ(together->tokens[s], solo->tokens[s]) << label << " " << name << " seq " << s;
      const int vocab = runner.vocab();
      for (int step = 0; step < n_new; ++step) {
        const std::span<const float> a(together->logits[s].data() + step * vocab, vocab);
        const std::span<const float> b(solo->logits[s].data() + step * vocab, vocab);
        const double rel = RelativeError(a, b);
        worst = std::max(worst, rel);
        EXPECT_LE(rel, kMaxRelativeError) << label << " " << name << " seq " << s << " step "
                                          << step;
      }
    }
    std::printf("%s, %s vs solo: %zu sequences x %d tokens, max relative logit difference %.3g\n",
                label.c_str(), name, prompts.size(), n_new, worst);
  }
}

TEST(DecoderBatchInvarianceTest, TinySmolLM3F32) {
  auto runner = DecoderRunner::Open(FixturePath(kTinyF32));
  ASSERT_TRUE(runner.ok()) << runner.status();
  // Lengths around the 16-token page: inside one, exactly one, just past one, several.
  const auto prompts = RandomPrompts({1, 5, 16, 17, 40}, (*runner)->vocab(), 7);
  ExpectBatchInvariant(**runner, prompts, 24, "tiny SmolLM3 F32");
}

// Quantized weights: on the f32 path, and on the int8 path (activations quantized per
// token, so a token's result must still not depend on its batch).
TEST(DecoderBatchInvarianceTest, TinySmolLM3Q4_K_M) {
  for (const bool int8 : {false, true}) {
    DecoderRunnerOptions options;
    options.quantized_activations = int8;
    auto runner = DecoderRunner::Open(FixturePath(kTinyQ4_K_M), options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    const auto prompts = RandomPrompts({3, 16, 33}, (*runner)->vocab(), 8);
    ExpectBatchInvariant(**runner, prompts, 24,
                         int8 ? "tiny SmolLM3 Q4_K_M, int8" : "tiny SmolLM3 Q4_K_M");
  }
}

TEST(DecoderBatchInvarianceTest, SmolLM2) {
  const std::string path = TestModelPath();
  ASSERT_FALSE(path.empty());
  auto ref = ReadLogitReference(FixturePath("decoder/smollm2_q4_1_exact.gguf"));
  ASSERT_TRUE(ref.ok()) << ref.status();
  std::vector<std::vector<TokenId>> prompts;
  // plain, code, French: 5, 18 and 29 tokens (sanitizer builds: the first two, 2 tokens).
  for (const int i : {0, 2, 4}) {
    if (kSanitizerBuild && i == 4) break;
    const ReferencePrompt& p = ref->prompts[i];
    prompts.emplace_back(p.tokens.begin(), p.tokens.begin() + p.n_prompt);
  }
  for (const bool int8 : {false, true}) {
    if (kSanitizerBuild && !int8) continue;  // the tiny models cover the f32 path there
    DecoderRunnerOptions options;
    options.quantized_activations = int8;
    auto runner = DecoderRunner::Open(path, options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    ExpectBatchInvariant(**runner, prompts, kSanitizerBuild ? 2 : 6,
                         int8 ? "SmolLM2, int8" : "SmolLM2");
  }
}

}  // namespace
}  // namespace smollm::testing
