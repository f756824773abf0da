// Every prefix of a valid file fails cleanly with DataLoss; random byte mutations of valid
// and malformed files never crash, hang or read outside the buffer.
#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/test_support.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

using gguf_test::ExactParse;
using gguf_test::RandomBytes;

// A small valid file with metadata of several kinds and tensors of several types.
std::vector<uint8_t> SampleFile(uint32_t alignment, uint32_t seed) {
  std::mt19937 rng(seed);
  GgufWriter w = GgufWriter::Create({.alignment = alignment}).value();
  EXPECT_TRUE(w.AddMetadata("general.architecture", GgufMetaValue::String("llama")).ok());
  EXPECT_TRUE(w.AddMetadata("llama.block_count", GgufMetaValue::Uint32(rng() % 100)).ok());
  std::vector<std::string> tokens;
  for (int i = 0; i < 12; ++i) tokens.push_back(std::string(1 + rng() % 5, 'a' + i));
  EXPECT_TRUE(w.AddMetadata("tokenizer.ggml.tokens", GgufMetaValue::StringArray(tokens)).ok());
  std::vector<float> scores(12);
  for (float& s : scores) s = std::normal_distribution<float>()(rng);
  EXPECT_TRUE(w.AddMetadata("tokenizer.ggml.scores", GgufMetaValue::Float32Array(scores)).ok());
  const std::vector<int32_t> row = {static_cast<int32_t>(rng()), -3};
  const std::vector<GgufMetaValue> rows = {GgufMetaValue::Int32Array(row),
                                           GgufMetaValue::StringArray(tokens)};
  EXPECT_TRUE(w.AddMetadata("x.nested",
                            GgufMetaValue::Array(GgufValueType::kArray, rows).value()).ok());
  EXPECT_TRUE(w.AddMetadata("x.flag", GgufMetaValue::Bool(true)).ok());
  EXPECT_TRUE(w.AddMetadata("x.f64", GgufMetaValue::Float64(0.5)).ok());
  struct Spec {
    const char* name;
    std::vector<uint64_t> dims;
    GgmlType type;
    uint64_t bytes;
  };
  const std::vector<Spec> specs = {{"a.f32", {7}, GgmlType::kF32, 28},
                                   {"b.q4_0", {32, 2}, GgmlType::kQ4_0, 36},
                                   {"c.q8_0", {64}, GgmlType::kQ8_0, 68},
                                   {"d.f16", {3, 3}, GgmlType::kF16, 18}};
  for (const Spec& s : specs) {
    EXPECT_TRUE(w.AddTensor(s.name, s.dims, s.type, RandomBytes(s.bytes, rng)).ok());
  }
  return w.ToBytes().value();
}

// Touches everything a parsed file exposes, so that ASan sees any bad view.
uint64_t Exercise(const GgufFile& f) {
  uint64_t sum = 0;
  for (const GgufKeyValue& kv : f.metadata()) {
    sum += kv.key.size() + kv.value.ToString(4).size();
    if (kv.value.type() != GgufValueType::kArray) continue;
    const GgufArray a = *kv.value.AsArray();
    for (const GgufValue& e : a.Elements()) sum += e.ToString(2).size();
    if (auto s = a.Strings(); s.ok()) {
      for (std::string_view v : *s) sum += v.empty() ? 0 : static_cast<uint8_t>(v.back());
    }
    if (auto v = a.Int64s(); v.ok()) sum += v->size();
    if (auto v = a.Float64s(); v.ok()) sum += v->size();
    if (auto v = a.Bools(); v.ok()) sum += v->size();
  }
  for (const GgufTensorInfo& t : f.tensors()) {
    EXPECT_GE(t.data.data(), f.bytes().data());
    EXPECT_LE(t.data.data() + t.data.size(), f.bytes().data() + f.bytes().size());
    for (uint8_t b : t.data) sum += b;
  }
  return sum;
}

TEST(GgufRobustnessTest, EveryPrefixIsDataLossUntilTheDataIsComplete) {
  for (uint32_t alignment : {32u, 8u, 1u}) {
    SCOPED_TRACE(alignment);
    const std::vector<uint8_t> bytes = SampleFile(alignment, 7 + alignment);
    ExactParse full(bytes);
    ASSERT_TRUE(full.file.ok()) << full.file.status();
    // The last tensor is followed by padding; a prefix that drops only padding is whole.
    uint64_t needed = 0;
    for (const GgufTensorInfo& t : full.file->tensors()) {
      needed = std::max(needed, full.file->data_offset() + t.offset + t.n_bytes);
    }
    ASSERT_LE(needed, bytes.size());
    for (size_t n = 0; n < bytes.size(); ++n) {
      ExactParse p(std::span<const uint8_t>(bytes).first(n));
      if (n < needed) {
        ASSERT_FALSE(p.file.ok()) << "prefix " << n;
        ASSERT_EQ(p.file.status().code(), absl::StatusCode::kDataLoss)
            << "prefix " << n << ": " << p.file.status();
      } else {
        ASSERT_TRUE(p.file.ok()) << "prefix " << n << ": " << p.file.status();
        EXPECT_EQ(Exercise(*p.file), Exercise(*full.file));
      }
    }
  }
}

// Random overwrites, mostly in the header where the structure is. Success and failure
// are both fine; crashes, sanitizer reports and hangs are not.
void Mutate(const std::vector<uint8_t>& original, uint64_t header_bytes, int rounds,
            std::mt19937& rng) {
  for (int round = 0; round < rounds; ++round) {
    std::vector<uint8_t> bytes = original;
    if (bytes.empty()) return;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      const uint64_t limit = (rng() % 5 != 0 && header_bytes > 0) ? header_bytes : bytes.size();
      const size_t pos = rng() % std::min<uint64_t>(limit, bytes.size());
      switch (rng() % 4) {
        case 0: bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: bytes[pos] = static_cast<uint8_t>(rng()); break;
        case 2: bytes[pos] = 0xFF; break;
        default: bytes[pos] = 0; break;
      }
    }
    ExactParse p(bytes);
    if (p.file.ok()) {
      Exercise(*p.file);
    } else {
      EXPECT_TRUE(p.file.status().code() == absl::StatusCode::kInvalidArgument ||
                  p.file.status().code() == absl::StatusCode::kDataLoss)
          << p.file.status();
      EXPECT_FALSE(p.file.status().message().empty());
    }
  }
}

TEST(GgufRobustnessTest, MutatedValidFilesNeverCrash) {
  std::mt19937 rng(1234);
  for (uint32_t alignment : {32u, 1u}) {
    const std::vector<uint8_t> bytes = SampleFile(alignment, 99);
    const uint64_t header = ExactParse(bytes).file->data_offset();
    Mutate(bytes, header, 3000, rng);
  }
}

TEST(GgufRobustnessTest, MutatedMalformedFilesNeverCrash) {
  std::mt19937 rng(5678);
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::FixturePath("gguf/malformed"))) {
    if (entry.path().extension() != ".gguf") continue;
    const std::string s = testing::ReadFixture("gguf/malformed/" + entry.path().filename().string());
    const std::vector<uint8_t> bytes(s.begin(), s.end());
    Mutate(bytes, 0, 100, rng);
    ++files;
  }
  EXPECT_GE(files, 40);
}

TEST(GgufRobustnessTest, FileWithoutTensorsNeedsNoDataSection) {
  GgufWriter w = GgufWriter::Create().value();
  ASSERT_TRUE(w.AddMetadata("k", GgufMetaValue::String("v")).ok());
  std::vector<uint8_t> bytes = w.ToBytes().value();
  // llama.cpp accepts such a file without its trailing padding, and so do we.
  bytes.resize(24 + 8 + 1 + 4 + 8 + 1);
  ExactParse p(bytes);
  ASSERT_TRUE(p.file.ok()) << p.file.status();
  EXPECT_EQ(p.file->GetString("k").value(), "v");
  EXPECT_TRUE(p.file->tensors().empty());
}

TEST(GgufRobustnessTest, OpenReportsMissingFiles) {
  EXPECT_EQ(GgufFile::Open("/nonexistent/model.gguf").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace smollm::runtime
