// The C++ writer against the gguf package's writer: same content, same bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/test_support.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

using gguf_test::ExactParse;

// The 64-bit LCG of tests/reference/make_gguf_writer_golden.py: top byte of each state.
std::vector<uint8_t> LcgBytes(uint64_t& state, size_t n) {
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<uint8_t>(state >> 56);
  }
  return out;
}

// The content of tests/fixtures/gguf/gguf_py_golden.gguf, which the gguf package's
// GGUFWriter wrote (tests/reference/make_gguf_writer_golden.py).
absl::StatusOr<std::vector<uint8_t>> MakeGoldenContent() {
  ASSIGN_OR_RETURN(GgufWriter w, GgufWriter::Create());
  RETURN_IF_ERROR(w.AddMetadata("general.architecture", GgufMetaValue::String("llama")));
  RETURN_IF_ERROR(w.AddMetadata("test.u8", GgufMetaValue::Uint8(200)));
  RETURN_IF_ERROR(w.AddMetadata("test.i8", GgufMetaValue::Int8(-100)));
  RETURN_IF_ERROR(w.AddMetadata("test.u16", GgufMetaValue::Uint16(60000)));
  RETURN_IF_ERROR(w.AddMetadata("test.i16", GgufMetaValue::Int16(-30000)));
  RETURN_IF_ERROR(w.AddMetadata("test.u32", GgufMetaValue::Uint32(4000000000u)));
  RETURN_IF_ERROR(w.AddMetadata("test.i32", GgufMetaValue::Int32(-2000000000)));
  RETURN_IF_ERROR(w.AddMetadata("test.f32", GgufMetaValue::Float32(0.15625f)));
  RETURN_IF_ERROR(w.AddMetadata("test.bool", GgufMetaValue::Bool(true)));
  RETURN_IF_ERROR(w.AddMetadata("test.string", GgufMetaValue::String("h\xc3\xa9llo w\xc3\xb6rld")));
  RETURN_IF_ERROR(w.AddMetadata("test.u64", GgufMetaValue::Uint64((uint64_t{1} << 63) + 5)));
  RETURN_IF_ERROR(w.AddMetadata("test.i64", GgufMetaValue::Int64(-(int64_t{1} << 62))));
  RETURN_IF_ERROR(w.AddMetadata("test.f64", GgufMetaValue::Float64(-1.5e300)));
  const std::vector<std::string> tokens = {"<s>", "</s>", "a", "\xc3\xa9", ""};
  RETURN_IF_ERROR(w.AddMetadata("test.tokens", GgufMetaValue::StringArray(tokens)));
  const std::vector<float> scores = {0.5f, -1.25f, 3.0e-5f};
  RETURN_IF_ERROR(w.AddMetadata("test.scores", GgufMetaValue::Float32Array(scores)));
  const std::vector<int32_t> ids = {1, -2, 3};
  RETURN_IF_ERROR(w.AddMetadata("test.ids", GgufMetaValue::Int32Array(ids)));
  const std::vector<int32_t> row0 = {1, 2}, row1 = {3};
  const std::vector<GgufMetaValue> rows = {GgufMetaValue::Int32Array(row0),
                                           GgufMetaValue::Int32Array(row1)};
  ASSIGN_OR_RETURN(GgufMetaValue nested, GgufMetaValue::Array(GgufValueType::kArray, rows));
  RETURN_IF_ERROR(w.AddMetadata("test.nested", nested));

  struct Tensor {
    const char* name;
    std::vector<uint64_t> dims;
    GgmlType type;
    size_t bytes;
  };
  const std::vector<Tensor> tensors = {{"t.f32", {7}, GgmlType::kF32, 28},
                                       {"t.f16", {3, 5}, GgmlType::kF16, 30},
                                       {"t.q8_0", {64, 2}, GgmlType::kQ8_0, 136},
                                       {"t.q4_k", {256, 3}, GgmlType::kQ4_K, 432},
                                       {"t.q6_k", {256}, GgmlType::kQ6_K, 210}};
  uint64_t state = 42;
  for (const Tensor& t : tensors) {
    RETURN_IF_ERROR(w.AddTensor(t.name, t.dims, t.type, LcgBytes(state, t.bytes)));
  }
  return w.ToBytes();
}

TEST(GgufWriterTest, SameBytesAsTheGgufPackageWriter) {
  const std::string golden = testing::ReadFixture("gguf/gguf_py_golden.gguf");
  ASSERT_FALSE(golden.empty());
  absl::StatusOr<std::vector<uint8_t>> ours = MakeGoldenContent();
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_EQ(ours->size(), golden.size());
  for (size_t i = 0; i < golden.size(); ++i) {
    ASSERT_EQ((*ours)[i], static_cast<uint8_t>(golden[i])) << "first difference at byte " << i;
  }
  // And the reader sees in it what the gguf package put there.
  ExactParse p(*ours);
  ASSERT_TRUE(p.file.ok()) << p.file.status();
  const GgufFile& f = *p.file;
  EXPECT_EQ(f.GetString("test.string").value(), "h\xc3\xa9llo w\xc3\xb6rld");
  EXPECT_EQ(f.GetUint64("test.u64").value(), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(f.GetFloat64("test.f64").value(), -1.5e300);
  EXPECT_EQ(f.GetStringArray("test.tokens")->at(3), "\xc3\xa9");
  EXPECT_EQ(f.FindValue("test.nested")->ToString(),
            "[array of 2 array: [array of 2 int32: 1, 2], [array of 1 int32: 3]]");
  EXPECT_EQ(f.data_offset(), 864u);
  EXPECT_EQ(f.FindTensor("t.q6_k")->offset, 1536u - 864u);
}

}  // namespace
}  // namespace smollm::runtime
