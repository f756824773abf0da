// Writer -> reader round trips: every value type, nested arrays, versions, alignments,
// tensors of several types, streamed output, and the writer's own errors.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

using gguf_test::ExactParse;
using gguf_test::RandomBytes;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/smollm_gguf_" + name + "_" +
         std::to_string(::getpid()) + ".gguf";
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

GgufWriter NewWriter(GgufWriterOptions options = {}) {
  absl::StatusOr<GgufWriter> w = GgufWriter::Create(options);
  EXPECT_TRUE(w.ok()) << w.status();
  return *std::move(w);
}

TEST(GgufWriterTest, ScalarsOfEveryTypeRoundTrip) {
  std::mt19937 rng(11);
  for (uint32_t version : {2u, 3u}) {
    SCOPED_TRACE(version);
    GgufWriter w = NewWriter({.version = version});
    const uint8_t u8 = static_cast<uint8_t>(rng());
    const int8_t i8 = static_cast<int8_t>(rng() | 0x80);  // negative
    const uint16_t u16 = static_cast<uint16_t>(rng());
    const int16_t i16 = static_cast<int16_t>(rng() | 0x8000);
    const uint32_t u32 = rng() | 0x80000000u;
    const int32_t i32 = static_cast<int32_t>(rng() | 0x80000000u);
    const uint64_t u64 = (uint64_t{rng()} << 32 | rng()) | (uint64_t{1} << 63);
    const int64_t i64 = static_cast<int64_t>(uint64_t{rng()} << 32 | rng() | (uint64_t{1} << 63));
    const float f32 = std::uniform_real_distribution<float>(-1e6f, 1e6f)(rng);
    const double f64 = std::uniform_real_distribution<double>(-1e300, 1e300)(rng);
    ASSERT_TRUE(w.AddMetadata("t.u8", GgufMetaValue::Uint8(u8)).ok());
    ASSERT_TRUE(w.AddMetadata("t.i8", GgufMetaValue::Int8(i8)).ok());
    ASSERT_TRUE(w.AddMetadata("t.u16", GgufMetaValue::Uint16(u16)).ok());
    ASSERT_TRUE(w.AddMetadata("t.i16", GgufMetaValue::Int16(i16)).ok());
    ASSERT_TRUE(w.AddMetadata("t.u32", GgufMetaValue::Uint32(u32)).ok());
    ASSERT_TRUE(w.AddMetadata("t.i32", GgufMetaValue::Int32(i32)).ok());
    ASSERT_TRUE(w.AddMetadata("t.f32", GgufMetaValue::Float32(f32)).ok());
    ASSERT_TRUE(w.AddMetadata("t.bool", GgufMetaValue::Bool(true)).ok());
    ASSERT_TRUE(w.AddMetadata("t.bool0", GgufMetaValue::Bool(false)).ok());
    ASSERT_TRUE(w.AddMetadata("t.str", GgufMetaValue::String("h\xc3\xa9llo\n\0x")).ok());
    ASSERT_TRUE(w.AddMetadata("t.empty", GgufMetaValue::String("")).ok());
    ASSERT_TRUE(w.AddMetadata("t.u64", GgufMetaValue::Uint64(u64)).ok());
    ASSERT_TRUE(w.AddMetadata("t.i64", GgufMetaValue::Int64(i64)).ok());
    ASSERT_TRUE(w.AddMetadata("t.f64", GgufMetaValue::Float64(f64)).ok());
    const std::vector<uint8_t> bytes = w.ToBytes().value();
    ExactParse p(bytes);
    ASSERT_TRUE(p.file.ok()) << p.file.status();
    const GgufFile& f = *p.file;
    EXPECT_EQ(f.version(), version);
    EXPECT_TRUE(f.tensors().empty());

    const std::vector<std::pair<std::string, GgufValueType>> expected_order = {
        {"t.u8", GgufValueType::kUint8},     {"t.i8", GgufValueType::kInt8},
        {"t.u16", GgufValueType::kUint16},   {"t.i16", GgufValueType::kInt16},
        {"t.u32", GgufValueType::kUint32},   {"t.i32", GgufValueType::kInt32},
        {"t.f32", GgufValueType::kFloat32},  {"t.bool", GgufValueType::kBool},
        {"t.bool0", GgufValueType::kBool},   {"t.str", GgufValueType::kString},
        {"t.empty", GgufValueType::kString}, {"t.u64", GgufValueType::kUint64},
        {"t.i64", GgufValueType::kInt64},    {"t.f64", GgufValueType::kFloat64}};
    ASSERT_EQ(f.metadata().size(), expected_order.size());
    for (size_t i = 0; i < expected_order.size(); ++i) {
      EXPECT_EQ(f.metadata()[i].key, expected_order[i].first);
      EXPECT_EQ(f.metadata()[i].value.type(), expected_order[i].second);
    }
    EXPECT_EQ(f.FindValue("t.u8")->AsUint8().value(), u8);
    EXPECT_EQ(f.FindValue("t.i8")->AsInt8().value(), i8);
    EXPECT_EQ(f.FindValue("t.u16")->AsUint16().value(), u16);
    EXPECT_EQ(f.FindValue("t.i16")->AsInt16().value(), i16);
    EXPECT_EQ(f.GetUint32("t.u32").value(), u32);
    EXPECT_EQ(f.GetInt32("t.i32").value(), i32);
    EXPECT_EQ(f.GetFloat32("t.f32").value(), f32);
    EXPECT_EQ(f.GetBool("t.bool").value(), true);
    EXPECT_EQ(f.GetBool("t.bool0").value(), false);
    EXPECT_EQ(f.GetString("t.str").value(), std::string_view("h\xc3\xa9llo\n", 7));
    EXPECT_EQ(f.GetString("t.empty").value(), "");
    EXPECT_EQ(f.GetUint64("t.u64").value(), u64);
    EXPECT_EQ(f.GetInt64("t.i64").value(), i64);
    EXPECT_EQ(f.GetFloat64("t.f64").value(), f64);
  }
}

TEST(GgufWriterTest, ArraysRoundTripIncludingNesting) {
  std::mt19937 rng(12);
  std::vector<float> floats(1000);
  for (float& x : floats) x = std::normal_distribution<float>(0, 3)(rng);
  std::vector<int32_t> ints(777);
  for (int32_t& x : ints) x = static_cast<int32_t>(rng());
  std::vector<std::string> strings;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> raw = RandomBytes(rng() % 20, rng);
    strings.emplace_back(raw.begin(), raw.end());
  }
  std::vector<uint32_t> uints = {0, 1, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu};

  GgufWriter w = NewWriter();
  ASSERT_TRUE(w.AddMetadata("a.f32", GgufMetaValue::Float32Array(floats)).ok());
  ASSERT_TRUE(w.AddMetadata("a.i32", GgufMetaValue::Int32Array(ints)).ok());
  ASSERT_TRUE(w.AddMetadata("a.str", GgufMetaValue::StringArray(strings)).ok());
  ASSERT_TRUE(w.AddMetadata("a.u32", GgufMetaValue::Uint32Array(uints)).ok());
  ASSERT_TRUE(w.AddMetadata("a.empty", GgufMetaValue::Float32Array({})).ok());
  // Every other element type through the generic builder.
  const std::vector<GgufMetaValue> bools = {GgufMetaValue::Bool(true), GgufMetaValue::Bool(false),
                                            GgufMetaValue::Bool(true)};
  ASSERT_TRUE(w.AddMetadata("a.bool", GgufMetaValue::Array(GgufValueType::kBool, bools).value()).ok());
  const std::vector<GgufMetaValue> i8s = {GgufMetaValue::Int8(-128), GgufMetaValue::Int8(127)};
  ASSERT_TRUE(w.AddMetadata("a.i8", GgufMetaValue::Array(GgufValueType::kInt8, i8s).value()).ok());
  const std::vector<GgufMetaValue> f64s = {GgufMetaValue::Float64(0.1), GgufMetaValue::Float64(-2e300)};
  ASSERT_TRUE(w.AddMetadata("a.f64", GgufMetaValue::Array(GgufValueType::kFloat64, f64s).value()).ok());
  const std::vector<GgufMetaValue> u64s = {GgufMetaValue::Uint64(~uint64_t{0}), GgufMetaValue::Uint64(5)};
  ASSERT_TRUE(w.AddMetadata("a.u64", GgufMetaValue::Array(GgufValueType::kUint64, u64s).value()).ok());
  // [[1, 2], ["x"], []]: an array of arrays whose elements differ in type.
  const std::vector<GgufMetaValue> inner_u16 = {GgufMetaValue::Uint16(1), GgufMetaValue::Uint16(2)};
  const std::vector<GgufMetaValue> inner_str = {GgufMetaValue::String("x")};
  const std::vector<GgufMetaValue> outer = {
      GgufMetaValue::Array(GgufValueType::kUint16, inner_u16).value(),
      GgufMetaValue::Array(GgufValueType::kString, inner_str).value(),
      GgufMetaValue::Array(GgufValueType::kInt64, {}).value()};
  ASSERT_TRUE(w.AddMetadata("a.nested", GgufMetaValue::Array(GgufValueType::kArray, outer).value()).ok());
  // Eight levels, the deepest allowed.
  GgufMetaValue deep = GgufMetaValue::Int16(-7);
  for (int level = 0; level < kGgufMaxArrayDepth; ++level) {
    const GgufValueType t = deep.type();
    deep = GgufMetaValue::Array(t, std::vector<GgufMetaValue>{deep}).value();
  }
  EXPECT_EQ(deep.depth(), kGgufMaxArrayDepth);
  ASSERT_TRUE(w.AddMetadata("a.deep", deep).ok());

  const std::vector<uint8_t> bytes = w.ToBytes().value();
  ExactParse p(bytes);
  ASSERT_TRUE(p.file.ok()) << p.file.status();
  const GgufFile& f = *p.file;
  EXPECT_EQ(f.GetFloat32Array("a.f32").value(), floats);
  EXPECT_EQ(f.GetInt32Array("a.i32").value(), ints);
  EXPECT_EQ(f.GetUint32Array("a.u32").value(), uints);
  EXPECT_EQ(f.GetArray("a.f32")->Float64s()->at(3), static_cast<double>(floats[3]));
  const std::vector<std::string_view> read_strings = f.GetStringArray("a.str").value();
  ASSERT_EQ(read_strings.size(), strings.size());
  for (size_t i = 0; i < strings.size(); ++i) EXPECT_EQ(read_strings[i], strings[i]);
  EXPECT_TRUE(f.GetFloat32Array("a.empty")->empty());
  EXPECT_EQ(f.GetArray("a.bool")->Bools().value(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f.GetArray("a.i8")->Int32s().value(), (std::vector<int32_t>{-128, 127}));
  EXPECT_EQ(f.GetArray("a.f64")->Float64s().value(), (std::vector<double>{0.1, -2e300}));
  EXPECT_EQ(f.GetArray("a.u64")->Uint64s().value(), (std::vector<uint64_t>{~uint64_t{0}, 5}));

  const GgufArray nested = f.GetArray("a.nested").value();
  EXPECT_EQ(nested.element_type(), GgufValueType::kArray);
  const std::vector<GgufValue> rows = nested.Elements();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].AsArray()->Uint32s().value(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(rows[1].AsArray()->Strings().value(), (std::vector<std::string_view>{"x"}));
  EXPECT_EQ(rows[2].AsArray()->element_type(), GgufValueType::kInt64);
  EXPECT_EQ(rows[2].AsArray()->size(), 0u);
  EXPECT_EQ(f.FindValue("a.nested")->ToString(),
            "[array of 3 array: [array of 2 uint16: 1, 2], [array of 1 string: \"x\"], "
            "[array of 0 int64]]");

  GgufValue v = *f.FindValue("a.deep");
  for (int level = 0; level < kGgufMaxArrayDepth; ++level) {
    ASSERT_EQ(v.type(), GgufValueType::kArray);
    const std::vector<GgufValue> e = v.AsArray()->Elements();
    ASSERT_EQ(e.size(), 1u);
    v = e[0];
  }
  EXPECT_EQ(v.AsInt16().value(), -7);

  // One more level is refused by the builder.
  EXPECT_EQ(GgufMetaValue::Array(GgufValueType::kArray, std::vector<GgufMetaValue>{deep})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> dims;
  GgmlType type;
};

const std::vector<TensorSpec>& Specs() {
  static const std::vector<TensorSpec> specs = {
      {"t.f32", {7}, GgmlType::kF32},
      {"t.f16", {3, 5}, GgmlType::kF16},
      {"t.q4_0", {64, 3}, GgmlType::kQ4_0},
      {"t.q8_0", {32, 2, 3}, GgmlType::kQ8_0},
      {"t.q4_k", {256, 2}, GgmlType::kQ4_K},
      {"t.q6_k", {512, 1, 1, 2}, GgmlType::kQ6_K},
      {"t.bf16", {9, 1}, GgmlType::kBF16},
      {"t.i32", {5}, GgmlType::kI32},
  };
  return specs;
}

uint64_t SpecBytes(const TensorSpec& s) {
  uint64_t rows = 1;
  for (size_t d = 1; d < s.dims.size(); ++d) rows *= s.dims[d];
  return *RowBytes(s.type, s.dims[0]) * rows;
}

TEST(GgufWriterTest, TensorsRoundTripAtEveryAlignment) {
  for (uint32_t version : {2u, 3u}) {
    for (uint32_t alignment : {1u, 8u, 32u, 64u, 4096u}) {
      SCOPED_TRACE(::testing::Message() << "v" << version << " alignment " << alignment);
      std::mt19937 rng(100 + alignment + version);
      GgufWriter w = NewWriter({.version = version, .alignment = alignment});
      ASSERT_TRUE(w.AddMetadata("general.architecture", GgufMetaValue::String("llama")).ok());
      std::vector<std::vector<uint8_t>> data;
      for (const TensorSpec& s : Specs()) {
        data.push_back(RandomBytes(SpecBytes(s), rng));
        ASSERT_TRUE(w.AddTensor(s.name, s.dims, s.type, data.back()).ok());
      }
      const std::vector<uint8_t> bytes = w.ToBytes().value();
      EXPECT_EQ(bytes.size(), w.FileSize());
      ExactParse p(bytes);
      ASSERT_TRUE(p.file.ok()) << p.file.status();
      const GgufFile& f = *p.file;
      EXPECT_EQ(f.version(), version);
      EXPECT_EQ(f.alignment(), alignment);
      EXPECT_EQ(f.data_offset(), w.DataOffset());
      EXPECT_EQ(f.data_offset() % alignment, 0u);
      // general.alignment is written only when it differs from the default.
      EXPECT_EQ(f.HasKey("general.alignment"), alignment != 32);
      if (alignment != 32) {
        EXPECT_EQ(f.GetUint32("general.alignment").value(), alignment);
      }
      ASSERT_EQ(f.tensors().size(), Specs().size());
      for (size_t i = 0; i < Specs().size(); ++i) {
        const GgufTensorInfo& t = f.tensors()[i];
        EXPECT_EQ(t.name, Specs()[i].name);
        EXPECT_EQ(t.dims, Specs()[i].dims);
        EXPECT_EQ(t.type, Specs()[i].type);
        EXPECT_EQ(t.offset % alignment, 0u);
        EXPECT_EQ(t.n_bytes, data[i].size());
        EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), data[i].begin(), data[i].end()))
            << t.name;
      }
      EXPECT_EQ(f.FindTensor("t.q6_k")->n_elements, 1024u);
      EXPECT_EQ(f.FindTensor("t.q6_k")->n_rows(), 2u);
    }
  }
}

TEST(GgufWriterTest, StreamedFileEqualsInMemoryBytes) {
  std::mt19937 rng(21);
  std::vector<std::vector<uint8_t>> data;
  for (const TensorSpec& s : Specs()) data.push_back(RandomBytes(SpecBytes(s), rng));

  GgufWriter whole = NewWriter({.alignment = 64});
  GgufWriter streamed = NewWriter({.alignment = 64});
  for (GgufWriter* w : {&whole, &streamed}) {
    ASSERT_TRUE(w->AddMetadata("k", GgufMetaValue::Uint32(1)).ok());
  }
  for (size_t i = 0; i < Specs().size(); ++i) {
    const TensorSpec& s = Specs()[i];
    ASSERT_TRUE(whole.AddTensor(s.name, s.dims, s.type, data[i]).ok());
    // Every third tensor carries its data; the stream writes those by itself.
    if (i % 3 == 1) {
      ASSERT_TRUE(streamed.AddTensor(s.name, s.dims, s.type, data[i]).ok());
    } else {
      ASSERT_TRUE(streamed.AddTensor(s.name, s.dims, s.type).ok());
    }
  }
  EXPECT_EQ(streamed.ToBytes().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(streamed.WriteFile(TempPath("never")).code(), absl::StatusCode::kFailedPrecondition);

  const std::string path = TempPath("streamed");
  absl::StatusOr<GgufStreamWriter> stream = streamed.StartFile(path);
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (size_t i = 0; i < Specs().size(); ++i) {
    if (i % 3 == 1) continue;
    ASSERT_EQ(stream->current_tensor(), Specs()[i].name);
    ASSERT_EQ(stream->current_remaining(), data[i].size());
    // Too long a chunk is refused and poisons the stream; test that on a copy at the end.
    size_t pos = 0;
    while (pos < data[i].size()) {
      const size_t n = std::min<size_t>(data[i].size() - pos, 1 + rng() % 50);
      ASSERT_TRUE(stream->Append(std::span<const uint8_t>(data[i]).subspan(pos, n)).ok());
      pos += n;
    }
  }
  EXPECT_EQ(stream->current_tensor(), "");
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(ReadAll(path), whole.ToBytes().value());

  const std::string path2 = TempPath("whole");
  ASSERT_TRUE(whole.WriteFile(path2).ok());
  EXPECT_EQ(ReadAll(path2), whole.ToBytes().value());
  absl::StatusOr<GgufFile> opened = GgufFile::Open(path2);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->tensors().size(), Specs().size());
  std::remove(path.c_str());
  std::remove(path2.c_str());
}

TEST(GgufWriterTest, StreamRefusesWrongSizes) {
  GgufWriter w = NewWriter();
  ASSERT_TRUE(w.AddTensor("a", std::vector<uint64_t>{8}, GgmlType::kF32).ok());  // 32 bytes
  ASSERT_TRUE(w.AddTensor("b", std::vector<uint64_t>{4}, GgmlType::kF32).ok());  // 16 bytes
  const std::string path = TempPath("sizes");
  {
    GgufStreamWriter s = w.StartFile(path).value();
    const std::vector<uint8_t> chunk(20, 1);
    ASSERT_TRUE(s.Append(chunk).ok());
    const absl::Status early = s.Finish();
    EXPECT_EQ(early.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(early.message().find("tensor 'a' still needs 12 bytes"), std::string::npos) << early;
    const absl::Status too_long = s.Append(chunk);  // 20 > 12 left of 'a'
    EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(too_long.message().find("20 bytes appended but only 12 of its 32"),
              std::string::npos) << too_long;
    // The stream is poisoned after an error.
    EXPECT_EQ(s.Append(std::vector<uint8_t>(12, 0)).code(), absl::StatusCode::kFailedPrecondition);
  }
  {
    GgufStreamWriter s = w.StartFile(path).value();
    ASSERT_TRUE(s.Append(std::vector<uint8_t>(32, 2)).ok());
    ASSERT_TRUE(s.Append(std::vector<uint8_t>(16, 3)).ok());
    EXPECT_EQ(s.Append(std::vector<uint8_t>(1, 4)).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(w.StartFile("/nonexistent-dir/x.gguf").ok());
  std::remove(path.c_str());
}

TEST(GgufWriterTest, RefusesBadInput) {
  EXPECT_EQ(GgufWriter::Create({.version = 1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GgufWriter::Create({.alignment = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GgufWriter::Create({.alignment = 48}).status().code(),
            absl::StatusCode::kInvalidArgument);

  GgufWriter w = NewWriter();
  ASSERT_TRUE(w.AddMetadata("k", GgufMetaValue::Bool(true)).ok());
  EXPECT_EQ(w.AddMetadata("k", GgufMetaValue::Bool(true)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(w.AddMetadata("", GgufMetaValue::Bool(true)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AddMetadata("general.alignment", GgufMetaValue::Uint32(64)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GgufMetaValue::Array(GgufValueType::kUint8,
                                 std::vector<GgufMetaValue>{GgufMetaValue::Int8(1)})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  const std::vector<uint64_t> ok_dims = {32};
  ASSERT_TRUE(w.AddTensor("t", ok_dims, GgmlType::kQ8_0).ok());
  EXPECT_EQ(w.AddTensor("t", ok_dims, GgmlType::kQ8_0).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(w.AddTensor("", ok_dims, GgmlType::kF32).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AddTensor("u", std::vector<uint64_t>{}, GgmlType::kF32).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AddTensor("u", std::vector<uint64_t>{1, 1, 1, 1, 1}, GgmlType::kF32).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AddTensor("u", std::vector<uint64_t>{4, 0}, GgmlType::kF32).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AddTensor("u", std::vector<uint64_t>{33}, GgmlType::kQ4_0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AddTensor("u", std::vector<uint64_t>{uint64_t{1} << 62}, GgmlType::kF32).code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status short_data =
      w.AddTensor("u", std::vector<uint64_t>{4}, GgmlType::kF32, std::vector<uint8_t>(15, 0));
  EXPECT_EQ(short_data.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(short_data.message().find("15 bytes of data given, its shape needs 16"),
            std::string::npos);
  // The refused declaration left nothing behind: the name is free and the layout intact.
  EXPECT_EQ(w.n_tensors(), 1u);
  ASSERT_TRUE(w.AddTensor("u", std::vector<uint64_t>{4}, GgmlType::kF32,
                          std::vector<uint8_t>(16, 9)).ok());
  EXPECT_EQ(w.n_tensors(), 2u);
}

}  // namespace
}  // namespace smollm::runtime
