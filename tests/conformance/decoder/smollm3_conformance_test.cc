// A tiny SmolLM3 (8 layers, NoPE on layers 3 and 7, GQA 4/2) against transformers in f32
// on its F32 GGUF, and against llama.cpp on its Q8_0 and Q4_K_M GGUFs, in f32 on the same
// weights and on the files themselves (all made by decoder_smollm3_reference.py).
#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/decoder/decoder_harness.h"
#include "tests/conformance/decoder/logit_reference.h"
#include "tests/conformance/decoder/reference_checks.h"
#include "tests/conformance/decoder/tiny_smollm3.h"
#include "tests/test_support.h"

namespace smollm::testing {
namespace {

using runtime::TokenId;

struct Case {
  const char* name;
  const char* model;
  const char* reference;
  ReferenceBounds bounds;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " vs " << c.reference; }

class SmolLM3ConformanceTest : public ::testing::TestWithParam<Case> {};

TEST_P(SmolLM3ConformanceTest, ConfigIsSmolLM3WithNoPELayers) {
  auto runner = DecoderRunner::Open(FixturePath(GetParam().model));
  ASSERT_TRUE(runner.ok()) << runner.status();
  const runtime::ModelConfig& c = (*runner)->config();
  EXPECT_EQ(c.arch, runtime::Architecture::kSmolLM3);
  EXPECT_EQ(c.n_layers, 8);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_FLOAT_EQ(c.rope_theta, 50000.0f);
  EXPECT_TRUE(c.tied_output);
  for (int il = 0; il < c.n_layers; ++il) EXPECT_EQ(c.UsesRope(il), il != 3 && il != 7) << il;
}

TEST_P(SmolLM3ConformanceTest, TeacherForcedLogitsMatch) {
  const Case& c = GetParam();
  auto ref = ReadLogitReference(FixturePath(c.reference));
  ASSERT_TRUE(ref.ok()) << ref.status();
  auto runner = DecoderRunner::Open(FixturePath(c.model));
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_EQ(ref->vocab, (*runner)->vocab());
  LogitStats total;
  for (const ReferencePrompt& p : ref->prompts) {
    auto logits = (*runner)->TeacherForced(p.tokens);
    ASSERT_TRUE(logits.ok()) << logits.status();
    total.Merge(CheckAgainstReference(*ref, p, *logits, c.bounds));
  }
  std::printf("%s\n", total.Summary(c.name).c_str());
}

TEST_P(SmolLM3ConformanceTest, FreeRunningGreedyMatches) {
  const Case& c = GetParam();
  auto ref = ReadLogitReference(FixturePath(c.reference));
  ASSERT_TRUE(ref.ok()) << ref.status();
  auto runner = DecoderRunner::Open(FixturePath(c.model));
  ASSERT_TRUE(runner.ok()) << runner.status();
  std::vector<std::vector<TokenId>> prompts;
  for (const ReferencePrompt& p : ref->prompts) {
    prompts.emplace_back(p.tokens.begin(), p.tokens.begin() + p.n_prompt);
  }
  const int n_new = ref->prompts[0].n_positions() - ref->prompts[0].n_prompt;
  // All prompts in one batch: prefill together, then decode together.
  auto greedy = (*runner)->Greedy(prompts, n_new, Schedule::kBatched);
  ASSERT_TRUE(greedy.ok()) << greedy.status();
  for (size_t s = 0; s < prompts.size(); ++s) {
    const ReferencePrompt& p = ref->prompts[s];
    if (p.own_greedy.empty()) {
      // An exact-arithmetic reference: its continuation is the one to reproduce.
      const std::vector<TokenId> expected(p.tokens.begin() + p.n_prompt, p.tokens.end());
      std::printf("%s %s: free-running greedy matches for %d of %d tokens\n", c.name,
                  p.name.c_str(), MatchingPrefix(greedy->tokens[s], expected), n_new);
      EXPECT_EQ(greedy->tokens[s], expected) << p.name;
    } else {
      // llama.cpp on the file: followed as long as its own f32 run follows it.
      const int match = MatchingPrefix(greedy->tokens[s], p.own_greedy);
      std::printf("%s %s: free-running greedy matches for %d of %d tokens (llama.cpp in f32: "
                  "%d)\n", c.name, p.name.c_str(), match, n_new, p.exact_greedy_match);
      EXPECT_GE(match, p.exact_greedy_match) << p.name;
    }
  }
}

// Against transformers on the F32 file: the f16 KV cache alone moves the logits by up to
// 2e-3 of their scale (measured by the reference script: transformers on f16-rounded K/V
// against plain transformers), so the relative error bound against plain f32 is 4e-3;
// against transformers on f16-rounded K/V it is 5e-4 (what remains are single f16
// rounding steps that f32-level differences upstream tip one way or the other).
constexpr ReferenceBounds kTransformersBounds{0.99999, 0.1, 4e-3};
constexpr ReferenceBounds kTransformersF16KvBounds{0.99999, 0.1, 5e-4};

INSTANTIATE_TEST_SUITE_P(
    TinySmolLM3, SmolLM3ConformanceTest,
    ::testing::Values(
        Case{"F32_Transformers", kTinyF32, kTinyTransformers, kTransformersBounds},
        Case{"F32_TransformersF16Kv", kTinyF32, kTinyTransformersF16Kv, kTransformersF16KvBounds},
        Case{"Q8_0_LlamaCppF32", kTinyQ8_0, "decoder/smollm3_tiny_q8_0_exact.gguf", kExactBounds},
        Case{"Q8_0_LlamaCpp", kTinyQ8_0, "decoder/smollm3_tiny_q8_0_native.gguf", kExactBounds},
        Case{"Q4_K_M_LlamaCppF32", kTinyQ4_K_M, "decoder/smollm3_tiny_q4_k_m_exact.gguf",
             kExactBounds},
        Case{"Q4_K_M_LlamaCpp", kTinyQ4_K_M, "decoder/smollm3_tiny_q4_k_m_native.gguf",
             kExactBounds}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace smollm::testing
