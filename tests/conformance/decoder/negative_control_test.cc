// Negative controls: the F32 comparison with transformers must fail, by a wide margin,
// when the decoder is wrong in the ways a fluent-looking model can hide: RoPE with the
// NeoX pairing (x[i], x[i + head_dim / 2]) instead of GGUF's adjacent pairs, and RoPE on
// SmolLM3's NoPE layers too. Proof that the conformance tests can fail.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/decoder/decoder_harness.h"
#include "tests/conformance/decoder/logit_reference.h"
#include "tests/conformance/decoder/neox_rope_backend.h"
#include "tests/conformance/decoder/reference_checks.h"
#include "tests/conformance/decoder/tiny_smollm3.h"
#include "tests/test_support.h"

namespace smollm::testing {
namespace {

// The bounds the F32 comparison holds the real decoder to (smollm3_conformance_test.cc).
constexpr double kTolerance = 5e-4;   // max relative error against transformers on f16 K/V
constexpr double kMinCosine = 0.99999;
// A control must exceed the relative-error tolerance by this factor at least.
constexpr double kWideMargin = 20;

LogitStats MeasureVariant(const DecoderRunnerOptions& options, const std::string& label) {
  auto ref = ReadLogitReference(FixturePath(kTinyTransformersF16Kv));
  EXPECT_TRUE(ref.ok()) << ref.status();
  auto runner = DecoderRunner::Open(FixturePath(kTinyF32), options);
  EXPECT_TRUE(runner.ok()) << runner.status();
  LogitStats total;
  if (!ref.ok() || !runner.ok()) return total;
  for (const ReferencePrompt& p : ref->prompts) {
    auto logits = (*runner)->TeacherForced(p.tokens);
    EXPECT_TRUE(logits.ok()) << logits.status();
    if (!logits.ok()) return total;
    total.Merge(MeasureAgainstReference(*ref, p, *logits, {kMinCosine, 0.1, kTolerance}));
  }
  std::printf("%s\n", total.Summary(label).c_str());
  return total;
}

TEST(DecoderNegativeControlTest, TheRealDecoderPassesTheSameMeasure) {
  const LogitStats stats = MeasureVariant({}, "real decoder");
  EXPECT_EQ(stats.n_violations, 0);
  EXPECT_LE(stats.max_relative_error, kTolerance);
}

TEST(DecoderNegativeControlTest, NeoxRopePairingFailsTheComparison) {
  DecoderRunnerOptions options;
  options.wrap_backend = [](runtime::Backend& cpu) -> std::unique_ptr<runtime::Backend> {
    return std::make_unique<NeoxRopeBackend>(cpu);
  };
  const LogitStats stats = MeasureVariant(options, "NeoX RoPE pairing");
  EXPECT_GT(stats.max_relative_error, kWideMargin * kTolerance);
  EXPECT_LT(stats.min_cosine, kMinCosine);
  EXPECT_GT(stats.n_violations, 0);
}

TEST(DecoderNegativeControlTest, RopeOnNoPELayersFailsTheComparison) {
  DecoderRunnerOptions options;
  options.edit_config = [](runtime::ModelConfig& c) {
    ASSERT_EQ(c.nope_layer_step, 4);
    c.nope_layer_step = 0;  // RoPE on every layer, as for llama
  };
  const LogitStats stats = MeasureVariant(options, "RoPE on every layer");
  EXPECT_GT(stats.max_relative_error, kWideMargin * kTolerance);
  EXPECT_LT(stats.min_cosine, kMinCosine);
  EXPECT_GT(stats.n_violations, 0);
}

// The same wrong pairing on the real SmolLM2 against llama.cpp in f32 (one prompt): its
// text may still read fluently, its logits do not match.
TEST(DecoderNegativeControlTest, NeoxRopePairingFailsOnSmolLM2) {
  auto ref = ReadLogitReference(FixturePath("decoder/smollm2_q4_1_exact.gguf"));
  ASSERT_TRUE(ref.ok()) << ref.status();
  const std::string path = TestModelPath();
  ASSERT_FALSE(path.empty());
  DecoderRunnerOptions options;
  options.wrap_backend = [](runtime::Backend& cpu) -> std::unique_ptr<runtime::Backend> {
    return std::make_unique<NeoxRopeBackend>(cpu);
  };
  auto runner = DecoderRunner::Open(path, options);
  ASSERT_TRUE(runner.ok()) << runner.status();
  const ReferencePrompt& p = ref->prompts[0];
  std::span<const runtime::TokenId> tokens(p.tokens);
  if (kSanitizerBuild) tokens = tokens.first(16);
  auto logits = (*runner)->TeacherForced(tokens);
  ASSERT_TRUE(logits.ok()) << logits.status();
  const LogitStats stats = MeasureAgainstReference(*ref, p, *logits, kExactBounds);
  std::printf("%s\n", stats.Summary("SmolLM2 with NeoX RoPE pairing").c_str());
  // 1 - cosine at least 20 times what the real decoder is allowed (1e-5).
  EXPECT_LT(stats.min_cosine_estimate, 1 - kWideMargin * (1 - kExactBounds.min_cosine));
  EXPECT_GT(stats.n_violations, 0);
}

}  // namespace
}  // namespace smollm::testing
