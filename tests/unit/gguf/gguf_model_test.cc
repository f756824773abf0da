// Reads the real SmolLM2-135M GGUF and compares it with the gguf Python package's reading.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "tests/test_support.h"

namespace smollm::runtime {
namespace {

uint64_t Fnv1a64(std::span<const uint8_t> bytes) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001B3ull;
  return h;
}

std::string Hex(std::span<const uint8_t> bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string FnvHex(std::span<const uint8_t> bytes) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(Fnv1a64(bytes)));
  return buf;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class GgufModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = testing::TestModelPath();
    ASSERT_FALSE(path.empty());
    absl::StatusOr<GgufFile> file = GgufFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    file_ = std::make_unique<GgufFile>(*std::move(file));
  }
  std::unique_ptr<GgufFile> file_;
};

TEST_F(GgufModelTest, HeaderAndModelFacts) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.GetString("general.architecture").value(), "llama");
  EXPECT_EQ(f.GetUint32("llama.block_count").value(), 30u);
  EXPECT_EQ(f.GetUint32("llama.embedding_length").value(), 576u);
  EXPECT_EQ(f.GetInt64("llama.attention.head_count_kv").value(), 3);
  EXPECT_FLOAT_EQ(f.GetFloat32("llama.rope.freq_base").value(), 100000.0f);
  EXPECT_EQ(f.GetBool("tokenizer.ggml.add_bos_token").value(), false);
  EXPECT_EQ(f.GetString("tokenizer.ggml.pre").value(), "smollm");
}

TEST_F(GgufModelTest, TokenizerArrays) {
  const GgufFile& f = *file_;
  absl::StatusOr<std::vector<std::string_view>> tokens = f.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 49152u);
  EXPECT_EQ((*tokens)[0], "<|endoftext|>");
  EXPECT_EQ((*tokens)[1], "<|im_start|>");
  EXPECT_EQ((*tokens)[2], "<|im_end|>");
  EXPECT_EQ(tokens->back(), "ectable");

  absl::StatusOr<std::vector<std::string_view>> merges = f.GetStringArray("tokenizer.ggml.merges");
  ASSERT_TRUE(merges.ok()) << merges.status();
  ASSERT_EQ(merges->size(), 48900u);
  EXPECT_EQ((*merges)[0], "\xc4\xa0 t");
  EXPECT_EQ((*merges)[1], "\xc4\xa0 a");

  absl::StatusOr<std::vector<int32_t>> types = f.GetInt32Array("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_EQ(types->size(), 49152u);
  std::map<int32_t, int> histogram;
  for (int32_t t : *types) ++histogram[t];
  EXPECT_EQ(histogram, (std::map<int32_t, int>{{1, 49135}, {3, 17}}));
  EXPECT_EQ((*types)[0], 3);

  // Wrong-type access names the key and both types.
  absl::StatusOr<std::vector<float>> scores = f.GetFloat32Array("tokenizer.ggml.tokens");
  EXPECT_EQ(scores.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(scores.status().message().find(
                "'tokenizer.ggml.tokens': expected array of float32, got array of string"),
            std::string::npos)
      << scores.status();
  EXPECT_EQ(f.GetFloat32Array("tokenizer.ggml.scores").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(GgufModelTest, TensorTypesAndBounds) {
  const GgufFile& f = *file_;
  ASSERT_EQ(f.tensors().size(), 272u);
  std::map<std::string, int> by_type;
  const std::span<const uint8_t> all = f.bytes();
  for (const GgufTensorInfo& t : f.tensors()) {
    ++by_type[std::string(NameOf(t.type))];
    ASSERT_EQ(t.data.size(), t.n_bytes) << t.name;
    EXPECT_GE(t.data.data(), all.data() + f.data_offset()) << t.name;
    EXPECT_LE(t.data.data() + t.data.size(), all.data() + all.size()) << t.name;
    EXPECT_EQ(t.offset % f.alignment(), 0u) << t.name;
  }
  EXPECT_EQ(by_type, (std::map<std::string, int>{{"q4_1", 210}, {"f32", 61}, {"q8_0", 1}}));

  const GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims, (std::vector<uint64_t>{576, 49152}));
  EXPECT_EQ(embd->type, GgmlType::kQ8_0);
  EXPECT_EQ(embd->n_rows(), 49152u);
  EXPECT_EQ(embd->n_bytes, 49152u * (576 / 32) * 34);
  // SmolLM2 ties its output projection to the embedding.
  EXPECT_EQ(f.GetTensor("output.weight").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f.GetTensor("output.weight").status().message(), "tensor 'output.weight' not found");
}

// Field-by-field comparison with tests/fixtures/gguf/smollm2_index.txt, written by
// tests/reference/dump_gguf_index.py with the gguf package from the same model file.
TEST_F(GgufModelTest, MatchesGgufPythonIndex) {
  const GgufFile& f = *file_;
  const std::string index = testing::ReadFixture("gguf/smollm2_index.txt");
  ASSERT_FALSE(index.empty());
  size_t kv_i = 0, tensor_i = 0;
  for (absl::string_view line : absl::StrSplit(index, '\n', absl::SkipEmpty())) {
    const std::vector<std::string> w = absl::StrSplit(line, ' ');
    SCOPED_TRACE(std::string(line));
    const auto number = [&](size_t i) {
      uint64_t v = 0;
      EXPECT_TRUE(absl::SimpleAtoi(w.at(i), &v));
      return v;
    };
    if (w[0] == "version") {
      EXPECT_EQ(f.version(), number(1));
    } else if (w[0] == "alignment") {
      EXPECT_EQ(f.alignment(), number(1));
    } else if (w[0] == "data_offset") {
      EXPECT_EQ(f.data_offset(), number(1));
    } else if (w[0] == "n_kv") {
      EXPECT_EQ(f.metadata().size(), number(1));
    } else if (w[0] == "n_tensors") {
      EXPECT_EQ(f.tensors().size(), number(1));
    } else if (w[0] == "kv") {
      ASSERT_LT(kv_i, f.metadata().size());
      const GgufKeyValue& kv = f.metadata()[kv_i++];
      EXPECT_EQ(kv.key, w[1]);
      EXPECT_EQ(f.FindValue(w[1]), &kv.value);
      ASSERT_EQ(GgufValueTypeName(kv.value.type()), w[2]);
      if (w[2] == "string") {
        const std::string_view s = kv.value.AsString().value();
        EXPECT_EQ(s.size(), number(3));
        EXPECT_EQ(FnvHex(AsBytes(s)), w[4]);
      } else if (w[2] == "array") {
        const GgufArray a = kv.value.AsArray().value();
        EXPECT_EQ(GgufValueTypeName(a.element_type()), w[3]);
        EXPECT_EQ(a.size(), number(4));
        EXPECT_EQ(FnvHex(a.raw_bytes()), w[5]);
      } else if (w[2] == "float32" || w[2] == "float64") {
        double expected = 0;
        ASSERT_TRUE(absl::SimpleAtod(w[3], &expected));
        EXPECT_EQ(kv.value.AsFloat64().value(), expected);
      } else if (w[2] == "bool") {
        EXPECT_EQ(kv.value.AsBool().value(), w[3] == "1");
      } else {
        EXPECT_EQ(kv.value.ToString(), w[3]);
      }
    } else if (w[0] == "tensor") {
      ASSERT_LT(tensor_i, f.tensors().size());
      const GgufTensorInfo& t = f.tensors()[tensor_i++];
      EXPECT_EQ(t.name, w[1]);
      EXPECT_EQ(f.FindTensor(w[1]), &t);
      EXPECT_EQ(NameOf(t.type), w[2]);
      EXPECT_EQ(absl::StrJoin(t.dims, ","), w[3]);
      EXPECT_EQ(t.offset, number(4));
      EXPECT_EQ(t.n_bytes, number(5));
      ASSERT_GE(t.data.size(), 16u);
      EXPECT_EQ(Hex(t.data.first(16)), w[6]);
      EXPECT_EQ(Hex(t.data.last(16)), w[7]);
    }
  }
  EXPECT_EQ(kv_i, f.metadata().size());
  EXPECT_EQ(tensor_i, f.tensors().size());
}

TEST_F(GgufModelTest, MovedFileKeepsItsViews) {
  const std::string_view arch = file_->GetString("general.architecture").value();
  const GgufTensorInfo* embd = file_->FindTensor("token_embd.weight");
  GgufFile moved = std::move(*file_);
  EXPECT_EQ(moved.GetString("general.architecture").value().data(), arch.data());
  EXPECT_EQ(moved.FindTensor("token_embd.weight"), embd);
  EXPECT_EQ(moved.FindTensor("token_embd.weight")->data[0], embd->data[0]);
}

}  // namespace
}  // namespace smollm::runtime
