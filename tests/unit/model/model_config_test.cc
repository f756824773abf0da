// ModelConfig from GGUF metadata: the real SmolLM2 file, both architectures, bad values.
#include "runtime/model/model_config.h"

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "tests/test_support.h"
#include "tests/unit/model/tiny_model_gguf.h"

namespace smollm::runtime {
namespace {

using testing::MakeTinyModel;
using testing::TinyModel;

absl::StatusOr<ModelConfig> ConfigOf(const TinyModel& model) {
  const std::vector<uint8_t> bytes = model.Bytes();
  auto gguf = GgufFile::Parse(bytes);
  if (!gguf.ok()) return gguf.status();
  return ModelConfigFromGguf(*gguf);
}

void ExpectError(const TinyModel& model, absl::StatusCode code, std::string_view needle) {
  auto config = ConfigOf(model);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), code) << config.status();
  EXPECT_TRUE(smollm::testing::MessageContains(config.status(), needle)) << config.status();
}

TEST(ModelConfig, RealSmolLM2) {
  const std::string path = smollm::testing::TestModelPath();
  ASSERT_FALSE(path.empty());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  auto c = ModelConfigFromGguf(*gguf);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->arch, Architecture::kLlama);
  EXPECT_EQ(c->n_layers, 30);
  EXPECT_EQ(c->d_model, 576);
  EXPECT_EQ(c->d_ffn, 1536);
  EXPECT_EQ(c->n_heads, 9);
  EXPECT_EQ(c->n_kv_heads, 3);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->gqa_group(), 3);
  EXPECT_EQ(c->vocab_size, 49152);
  EXPECT_EQ(c->context_length, 8192);
  EXPECT_FLOAT_EQ(c->rope_theta, 100000.0f);
  EXPECT_FLOAT_EQ(c->rms_norm_eps, 1e-5f);
  EXPECT_EQ(c->bos_token, 1);
  EXPECT_EQ(c->eos_token, 2);
  EXPECT_EQ(c->pad_token, 2);
  EXPECT_TRUE(c->tied_output);
  for (int il = 0; il < c->n_layers; ++il) EXPECT_TRUE(c->UsesRope(il)) << il;
}

TEST(ModelConfig, SmolLM3SkipsRopeOnEveryFourthLayer) {
  auto c = ConfigOf(MakeTinyModel("smollm3"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->arch, Architecture::kSmolLM3);
  EXPECT_EQ(c->nope_layer_step, 4);
  EXPECT_TRUE(c->UsesRope(0));
  EXPECT_TRUE(c->UsesRope(2));
  EXPECT_FALSE(c->UsesRope(3));
  EXPECT_FALSE(c->UsesRope(7));
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->kv_dim(), 32);
  EXPECT_TRUE(c->tied_output);
}

TEST(ModelConfig, SeparateOutputIsNotTied) {
  auto c = ConfigOf(MakeTinyModel("llama", /*tied=*/false));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->tied_output);
}

TEST(ModelConfig, RejectsUnsupportedArchitecture) {
  TinyModel m = MakeTinyModel("llama");
  m.metadata.insert_or_assign("general.architecture", GgufMetaValue::String("gpt2"));
  ExpectError(m, absl::StatusCode::kInvalidArgument, "unsupported architecture 'gpt2'");
}

TEST(ModelConfig, RejectsMissingKey) {
  TinyModel m = MakeTinyModel("llama");
  m.metadata.erase("llama.block_count");
  ExpectError(m, absl::StatusCode::kNotFound, "llama.block_count");
}

TEST(ModelConfig, RejectsOutOfRangeValues) {
  struct Case {
    std::string key;
    GgufMetaValue value;
    std::string needle;
  };
  const Case cases[] = {
      {"llama.block_count", GgufMetaValue::Uint32(0), "llama.block_count"},
      {"llama.block_count", GgufMetaValue::Uint64(1ull << 40), "llama.block_count"},
      {"llama.embedding_length", GgufMetaValue::Int32(-128), "llama.embedding_length"},
      {"llama.attention.head_count", GgufMetaValue::Uint32(7), "does not divide"},
      {"llama.attention.head_count_kv", GgufMetaValue::Uint32(3), "does not divide"},
      {"llama.attention.head_count_kv", GgufMetaValue::Uint32(16), "head_count_kv"},
      {"llama.attention.layer_norm_rms_epsilon", GgufMetaValue::Float32(NAN), "epsilon"},
      {"llama.attention.layer_norm_rms_epsilon", GgufMetaValue::Float32(-1e-6f), "epsilon"},
      {"llama.rope.freq_base", GgufMetaValue::Float32(INFINITY), "freq_base"},
      {"llama.rope.dimension_count", GgufMetaValue::Uint32(8), "rope.dimension_count"},
      {"llama.vocab_size", GgufMetaValue::Uint32(65), "vocab_size"},
      {"tokenizer.ggml.bos_token_id", GgufMetaValue::Uint32(64), "bos_token_id"},
      {"tokenizer.ggml.eos_token_id", GgufMetaValue::Int32(-5), "eos_token_id"},
      {"llama.block_count", GgufMetaValue::String("4"), "llama.block_count"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    TinyModel m = MakeTinyModel("llama");
    m.metadata.insert_or_assign(c.key, c.value);
    ExpectError(m, absl::StatusCode::kInvalidArgument, c.needle);
  }
}

TEST(ModelConfig, HugeHeadDimIsRejected) {
  TinyModel m = MakeTinyModel("llama");
  m.metadata.insert_or_assign("llama.embedding_length", GgufMetaValue::Uint32(8192));
  m.metadata.insert_or_assign("llama.attention.head_count", GgufMetaValue::Uint32(8));
  ExpectError(m, absl::StatusCode::kInvalidArgument, "exceeds the supported 512");
}

TEST(ModelConfig, OddHeadDimIsRejected) {
  TinyModel m = MakeTinyModel("llama");
  m.metadata.insert_or_assign("llama.embedding_length", GgufMetaValue::Uint32(120));
  m.metadata.insert_or_assign("llama.attention.head_count", GgufMetaValue::Uint32(8));
  ExpectError(m, absl::StatusCode::kInvalidArgument, "odd");
}

}  // namespace
}  // namespace smollm::runtime
