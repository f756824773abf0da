// The model description of the real SmolLM2 file names its shape, template and tensors.
#include "runtime/tools/model_description.h"

#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(ModelDescription, RealSmolLM2) {
  const std::string path = smollm::testing::TestModelPath();
  ASSERT_FALSE(path.empty());
  auto model = Model::Open(path);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::string text = DescribeModel(**model);
  EXPECT_TRUE(Contains(text, "llama: 30 layers, d_model 576, d_ffn 1536, heads 9")) << text;
  EXPECT_TRUE(Contains(text, "on every layer")) << text;
  EXPECT_TRUE(Contains(text, "tied to token_embd")) << text;
  EXPECT_TRUE(Contains(text, "49152 tokens, pre-tokenizer smollm")) << text;
  EXPECT_TRUE(Contains(text, "template   smollm2")) << text;
  EXPECT_TRUE(Contains(text, "272: 61 f32, 210 q4_1, 1 q8_0")) << text;
  EXPECT_TRUE(Contains(text, "23040 bytes per token")) << text;
}

TEST(ModelDescription, TokensAreEscaped) {
  auto model = Model::Open(smollm::testing::TestModelPath());
  ASSERT_TRUE(model.ok()) << model.status();
  const BpeTokenizer& tok = (*model)->tokenizer();
  const std::vector<TokenId> ids = tok.Encode("<|im_start|>hi\n", {.parse_special = true});
  const std::string text = DescribeTokens(tok, ids);
  EXPECT_TRUE(Contains(text, "'<|im_start|>'")) << text;
  EXPECT_TRUE(Contains(text, "'\\n'")) << text;
  const TokenId bad[] = {-1};
  EXPECT_TRUE(Contains(DescribeTokens(tok, bad), "<invalid>"));
}

TEST(ModelDescription, OpenRejectsNonModels) {
  auto missing = Model::Open("/nonexistent.gguf");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  auto not_gguf = Model::Open(std::string(SMOLLM_SOURCE_DIR) + "/README.md");
  EXPECT_EQ(not_gguf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(smollm::testing::MessageContains(not_gguf.status(), "README.md"));
}

}  // namespace
}  // namespace smollm::runtime
