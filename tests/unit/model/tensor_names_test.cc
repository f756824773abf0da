// Expected tensors per config and their validation against files.
#include "runtime/model/tensor_names.h"

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "tests/test_support.h"
#include "tests/unit/model/tiny_model_gguf.h"

namespace smollm::runtime {
namespace {

using testing::MakeTinyModel;
using testing::SetTensorsFor;
using testing::TinyModel;

absl::Status Validate(const TinyModel& model) {
  const std::vector<uint8_t> bytes = model.Bytes();
  auto gguf = GgufFile::Parse(bytes);
  if (!gguf.ok()) return gguf.status();
  auto config = ModelConfigFromGguf(*gguf);
  if (!config.ok()) return config.status();
  return ValidateTensors(*config, *gguf);
}

void ExpectInvalid(const TinyModel& model, std::string_view needle) {
  const absl::Status s = Validate(model);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(smollm::testing::MessageContains(s, needle)) << s;
}

TEST(TensorNames, CountsAndShapes) {
  ModelConfig c;
  c.n_layers = 36;
  c.d_model = 2048;
  c.d_ffn = 11008;
  c.n_heads = 16;
  c.n_kv_heads = 4;
  c.head_dim = 128;
  c.vocab_size = 128256;
  c.tied_output = true;
  const auto tensors = ExpectedTensors(c);
  EXPECT_EQ(tensors.size(), 2u + 36u * 9u);  // SmolLM3-3B: 326 tensors
  EXPECT_EQ(tensors.front().name, "token_embd.weight");
  EXPECT_EQ(tensors.front().dims, (std::vector<uint64_t>{2048, 128256}));
  EXPECT_EQ(tensors[3].name, "blk.0.attn_k.weight");
  EXPECT_EQ(tensors[3].dims, (std::vector<uint64_t>{2048, 512}));
  EXPECT_EQ(tensors[9].name, "blk.0.ffn_down.weight");
  EXPECT_EQ(tensors[9].dims, (std::vector<uint64_t>{11008, 2048}));
  c.tied_output = false;
  EXPECT_EQ(ExpectedTensors(c).back().name, "output.weight");
}

TEST(TensorNames, RealSmolLM2IsValid) {
  const std::string path = smollm::testing::TestModelPath();
  ASSERT_FALSE(path.empty());
  auto gguf = GgufFile::Open(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  auto config = ModelConfigFromGguf(*gguf);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(ValidateTensors(*config, *gguf).ok());
}

TEST(TensorNames, TinyModelsAreValid) {
  EXPECT_TRUE(Validate(MakeTinyModel("llama")).ok());
  EXPECT_TRUE(Validate(MakeTinyModel("smollm3")).ok());
  EXPECT_TRUE(Validate(MakeTinyModel("llama", /*tied=*/false)).ok());
}

TEST(TensorNames, MissingTensor) {
  TinyModel m = MakeTinyModel("llama");
  m.tensors.erase("blk.2.ffn_up.weight");
  ExpectInvalid(m, "'blk.2.ffn_up.weight' is missing");
}

TEST(TensorNames, WrongShape) {
  TinyModel m = MakeTinyModel("smollm3");
  m.tensors["blk.1.attn_k.weight"].dims = {128, 64};
  ExpectInvalid(m, "'blk.1.attn_k.weight' has shape [128, 64], expected [128, 32]");
}

TEST(TensorNames, NormMustBeF32) {
  TinyModel m = MakeTinyModel("llama");
  m.tensors["output_norm.weight"].type = GgmlType::kF16;
  ExpectInvalid(m, "norms must be f32");
}

TEST(TensorNames, UnsupportedWeightType) {
  // A 256-element block type needs a 256-wide model for its rows to be whole blocks.
  TinyModel wide = MakeTinyModel("llama");
  wide.metadata.insert_or_assign("llama.embedding_length", GgufMetaValue::Uint32(256));
  SetTensorsFor(wide, testing::TinyConfig(256), GgmlType::kQ8_0);
  wide.tensors["blk.0.attn_q.weight"].type = GgmlType::kQ2_K;
  ExpectInvalid(wide, "unsupported type q2_K");
}

TEST(TensorNames, UnexpectedTensor) {
  TinyModel m = MakeTinyModel("llama");
  m.tensors["blk.0.attn_q_norm.weight"] = {{16}, GgmlType::kF32};
  ExpectInvalid(m, "unexpected tensor 'blk.0.attn_q_norm.weight'");
  m.tensors.erase("blk.0.attn_q_norm.weight");
  m.tensors["rope_freqs.weight"] = {{8}, GgmlType::kF32};
  EXPECT_TRUE(Validate(m).ok());
}

}  // namespace
}  // namespace smollm::runtime
