// TokenizerData from GGUF metadata written by our GGUF writer.
#include "runtime/tokenizer/gguf_vocab.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/unit/tokenizer/synthetic_vocab.h"

namespace smollm::runtime {
namespace {

using ::smollm::runtime::testing::SyntheticVocab;
using ::testing::HasSubstr;

struct Meta {
  std::string key;
  GgufMetaValue value;
};

// A tokenizer vocabulary: bytes, one merge, <|im_start|>, <|im_end|>.
std::vector<Meta> BaseMetadata() {
  SyntheticVocab v("smollm");
  v.AddByteTokens();
  v.AddMerge("h", "i");
  v.AddToken("<|im_start|>", TokenType::kControl);
  v.AddToken("<|im_end|>", TokenType::kControl);
  std::vector<int32_t> types;
  for (TokenType t : v.data().token_types) types.push_back(static_cast<int32_t>(t));
  return {
      {"tokenizer.ggml.model", GgufMetaValue::String("gpt2")},
      {"tokenizer.ggml.pre", GgufMetaValue::String("smollm")},
      {"tokenizer.ggml.tokens", GgufMetaValue::StringArray(v.data().tokens)},
      {"tokenizer.ggml.token_type", GgufMetaValue::Int32Array(types)},
      {"tokenizer.ggml.merges", GgufMetaValue::StringArray(v.data().merges)},
      {"tokenizer.ggml.bos_token_id", GgufMetaValue::Uint32(257)},
      {"tokenizer.ggml.eos_token_id", GgufMetaValue::Uint32(258)},
      {"tokenizer.ggml.add_bos_token", GgufMetaValue::Bool(false)},
  };
}

// Writes `meta` (minus `drop`, with `replace` swapped in) and parses it back.
class GgufVocabTest : public ::testing::Test {
 protected:
  absl::StatusOr<TokenizerData> Load(std::vector<Meta> meta) {
    auto writer = GgufWriter::Create();
    EXPECT_TRUE(writer.ok());
    for (Meta& m : meta) EXPECT_TRUE(writer->AddMetadata(m.key, m.value).ok()) << m.key;
    auto bytes = writer->ToBytes();
    EXPECT_TRUE(bytes.ok());
    bytes_ = std::move(bytes).value();
    auto file = GgufFile::Parse(bytes_);
    EXPECT_TRUE(file.ok()) << file.status();
    file_.emplace(std::move(file).value());
    return TokenizerDataFromGguf(*file_);
  }
  static std::vector<Meta> Without(std::vector<Meta> meta, std::string_view key) {
    std::erase_if(meta, [&](const Meta& m) { return m.key == key; });
    return meta;
  }
  static std::vector<Meta> With(std::vector<Meta> meta, std::string key, GgufMetaValue value) {
    meta = Without(std::move(meta), key);
    meta.push_back({std::move(key), std::move(value)});
    return meta;
  }
  std::vector<uint8_t> bytes_;
  std::optional<GgufFile> file_;
};

TEST_F(GgufVocabTest, ReadsEveryField) {
  auto data = Load(BaseMetadata());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->tokens.size(), 259u);
  EXPECT_EQ(data->tokens[256], "hi");
  EXPECT_EQ(data->token_types[257], TokenType::kControl);
  EXPECT_EQ(data->merges, std::vector<std::string>{"h i"});
  EXPECT_EQ(data->pre, "smollm");
  EXPECT_EQ(data->bos_id, 257);
  EXPECT_EQ(data->eos_id, 258);
  EXPECT_EQ(data->eot_id, 258);  // found by its text, <|im_end|>
  EXPECT_EQ(data->pad_id, -1);
  EXPECT_FALSE(data->add_bos);
  EXPECT_FALSE(data->add_eos);

  auto tok = BpeTokenizer::FromGguf(*file_);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->Encode("<|im_start|>hi", {.add_special = true, .parse_special = true}),
            (std::vector<TokenId>{257, 256}));
}

TEST_F(GgufVocabTest, Defaults) {
  std::vector<Meta> meta = Without(Without(BaseMetadata(), "tokenizer.ggml.token_type"),
                                   "tokenizer.ggml.add_bos_token");
  auto data = Load(With(meta, "tokenizer.ggml.pre", GgufMetaValue::String("llama-bpe")));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE(data->token_types.empty());
  EXPECT_TRUE(data->add_bos);  // the Llama 3 default
  data = Load(Without(meta, "tokenizer.ggml.pre"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->pre, "default");
  EXPECT_FALSE(data->add_bos);
  auto tok = BpeTokenizer::FromGguf(*file_);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("unsupported pre-tokenizer 'default'"));
  data = Load(With(BaseMetadata(), "tokenizer.ggml.eot_token_id", GgufMetaValue::Uint32(3)));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->eot_id, 3);
}

TEST_F(GgufVocabTest, EndOfGenerationTextsBecomeControlTokens) {
  // As llama.cpp does at load time: <|im_end|> typed user-defined is still control.
  std::vector<int32_t> types(259, static_cast<int32_t>(TokenType::kNormal));
  types[257] = static_cast<int32_t>(TokenType::kUserDefined);  // <|im_start|>
  types[258] = static_cast<int32_t>(TokenType::kUserDefined);  // <|im_end|>
  auto data = Load(With(BaseMetadata(), "tokenizer.ggml.token_type",
                        GgufMetaValue::Int32Array(types)));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->token_types[257], TokenType::kUserDefined);
  EXPECT_EQ(data->token_types[258], TokenType::kControl);
  EXPECT_EQ(data->token_types[256], TokenType::kNormal);
}

TEST_F(GgufVocabTest, Errors) {
  auto data = Load(Without(BaseMetadata(), "tokenizer.ggml.tokens"));
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("tokenizer.ggml.tokens"));
  data = Load(Without(BaseMetadata(), "tokenizer.ggml.merges"));
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  data = Load(With(BaseMetadata(), "tokenizer.ggml.model", GgufMetaValue::String("llama")));
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("'llama'"));
  data = Load(With(BaseMetadata(), "tokenizer.ggml.tokens", GgufMetaValue::Int32Array({})));
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("tokenizer.ggml.tokens"));
  data = Load(With(BaseMetadata(), "tokenizer.ggml.add_bos_token", GgufMetaValue::Uint32(1)));
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  data = Load(With(BaseMetadata(), "tokenizer.ggml.bos_token_id", GgufMetaValue::Uint32(5000)));
  ASSERT_TRUE(data.ok());
  auto tok = BpeTokenizer::FromGguf(*file_);
  EXPECT_THAT(tok.status().message(), HasSubstr("bos_id"));
}

}  // namespace
}  // namespace smollm::runtime
