// Typed metadata access: integer conversions that must fit, type errors naming the key.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/unit/gguf/gguf_test_util.h"

namespace smollm::runtime {
namespace {

class GgufValueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GgufWriter w = GgufWriter::Create().value();
    ASSERT_TRUE(w.AddMetadata("u32.big", GgufMetaValue::Uint32(3000000000u)).ok());
    ASSERT_TRUE(w.AddMetadata("i32.neg", GgufMetaValue::Int32(-1)).ok());
    ASSERT_TRUE(w.AddMetadata("u8.small", GgufMetaValue::Uint8(200)).ok());
    ASSERT_TRUE(w.AddMetadata("i64.big", GgufMetaValue::Int64(int64_t{1} << 40)).ok());
    ASSERT_TRUE(w.AddMetadata("u64.max", GgufMetaValue::Uint64(~uint64_t{0})).ok());
    ASSERT_TRUE(w.AddMetadata("i16.neg", GgufMetaValue::Int16(-300)).ok());
    ASSERT_TRUE(w.AddMetadata("bool", GgufMetaValue::Bool(true)).ok());
    ASSERT_TRUE(w.AddMetadata("f32", GgufMetaValue::Float32(0.25f)).ok());
    ASSERT_TRUE(w.AddMetadata("f64", GgufMetaValue::Float64(1e-300)).ok());
    ASSERT_TRUE(w.AddMetadata("str", GgufMetaValue::String("tab\there")).ok());
    const std::vector<uint32_t> big = {1, 0x80000000u};
    ASSERT_TRUE(w.AddMetadata("arr.u32", GgufMetaValue::Uint32Array(big)).ok());
    const std::vector<int32_t> neg = {5, -5};
    ASSERT_TRUE(w.AddMetadata("arr.i32", GgufMetaValue::Int32Array(neg)).ok());
    std::vector<std::string> many(20, "t");
    ASSERT_TRUE(w.AddMetadata("arr.str", GgufMetaValue::StringArray(many)).ok());
    bytes_ = w.ToBytes().value();
    absl::StatusOr<GgufFile> f = GgufFile::Parse(bytes_);
    ASSERT_TRUE(f.ok()) << f.status();
    file_ = std::make_unique<GgufFile>(*std::move(f));
  }

  std::vector<uint8_t> bytes_;
  std::unique_ptr<GgufFile> file_;
};

void ExpectError(const absl::Status& s, absl::StatusCode code, const std::string& text) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_EQ(std::string(s.message()), text);
}

TEST_F(GgufValueTest, IntegerGettersConvertWhenTheValueFits) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.GetUint32("u32.big").value(), 3000000000u);
  EXPECT_EQ(f.GetUint64("u32.big").value(), 3000000000u);
  EXPECT_EQ(f.GetInt64("u32.big").value(), 3000000000);
  ExpectError(f.GetInt32("u32.big").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'u32.big': uint32 value 3000000000 does not fit in int32");

  EXPECT_EQ(f.GetInt32("i32.neg").value(), -1);
  EXPECT_EQ(f.GetInt64("i32.neg").value(), -1);
  ExpectError(f.GetUint32("i32.neg").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'i32.neg': int32 value -1 does not fit in uint32");
  ExpectError(f.GetUint64("i32.neg").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'i32.neg': int32 value -1 does not fit in uint64");

  EXPECT_EQ(f.GetInt32("u8.small").value(), 200);
  EXPECT_EQ(f.FindValue("u8.small")->AsUint8().value(), 200);
  EXPECT_FALSE(f.FindValue("u8.small")->AsInt8().ok());
  EXPECT_EQ(f.FindValue("i16.neg")->AsInt16().value(), -300);
  EXPECT_FALSE(f.FindValue("i16.neg")->AsInt8().ok());
  EXPECT_EQ(f.GetInt32("i16.neg").value(), -300);

  EXPECT_EQ(f.GetInt64("i64.big").value(), int64_t{1} << 40);
  EXPECT_EQ(f.GetUint64("i64.big").value(), uint64_t{1} << 40);
  EXPECT_FALSE(f.GetUint32("i64.big").ok());
  EXPECT_EQ(f.GetUint64("u64.max").value(), ~uint64_t{0});
  ExpectError(f.GetInt64("u64.max").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'u64.max': uint64 value 18446744073709551615 does not fit in int64");
}

TEST_F(GgufValueTest, TypeMismatchesAndMissingKeys) {
  const GgufFile& f = *file_;
  ExpectError(f.GetUint32("bool").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'bool': expected uint32, got bool");
  ExpectError(f.GetInt32("f32").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'f32': expected int32, got float32");
  ExpectError(f.GetFloat32("u8.small").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'u8.small': expected float32, got uint8");
  ExpectError(f.GetString("u8.small").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'u8.small': expected string, got uint8");
  ExpectError(f.GetBool("str").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'str': expected bool, got string");
  ExpectError(f.GetArray("str").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'str': expected array, got string");
  ExpectError(f.GetStringArray("str").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'str': expected array, got string");
  ExpectError(f.GetString("no.such.key").status(), absl::StatusCode::kNotFound,
              "metadata key 'no.such.key' not found");
  ExpectError(f.GetInt32Array("no.such.key").status(), absl::StatusCode::kNotFound,
              "metadata key 'no.such.key' not found");
  EXPECT_EQ(f.FindValue("no.such.key"), nullptr);
  EXPECT_FALSE(f.HasKey("no.such.key"));
  EXPECT_TRUE(f.HasKey("str"));

  // Floats widen and narrow between float32 and float64.
  EXPECT_EQ(f.GetFloat64("f32").value(), 0.25);
  EXPECT_EQ(f.GetFloat32("f64").value(), static_cast<float>(1e-300));
  EXPECT_EQ(f.GetFloat64("f64").value(), 1e-300);
}

TEST_F(GgufValueTest, ArrayConversions) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.GetUint32Array("arr.u32").value(), (std::vector<uint32_t>{1, 0x80000000u}));
  ExpectError(f.GetInt32Array("arr.u32").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'arr.u32': element 1 = 2147483648 does not fit in int32");
  EXPECT_EQ(f.GetArray("arr.u32")->Int64s().value(), (std::vector<int64_t>{1, 0x80000000}));
  ExpectError(f.GetUint32Array("arr.i32").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'arr.i32': element 1 = -5 does not fit in uint32");
  ExpectError(f.GetFloat32Array("arr.i32").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'arr.i32': expected array of float32, got array of int32");
  ExpectError(f.GetInt32Array("arr.str").status(), absl::StatusCode::kInvalidArgument,
              "metadata key 'arr.str': expected array of integers (for int32), got array of "
              "string");
  EXPECT_FALSE(f.GetArray("arr.i32")->Bools().ok());
  EXPECT_FALSE(f.GetArray("arr.i32")->Strings().ok());
  EXPECT_EQ(f.GetArray("arr.i32")->raw_bytes().size(), 8u);
  EXPECT_EQ(f.GetArray("arr.i32")->Elements().at(1).AsInt32().value(), -5);
}

TEST_F(GgufValueTest, ToStringIsShortAndEscaped) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.FindValue("str")->ToString(), "\"tab\\there\"");
  EXPECT_EQ(f.FindValue("i32.neg")->ToString(), "-1");
  EXPECT_EQ(f.FindValue("bool")->ToString(), "true");
  EXPECT_EQ(f.FindValue("f32")->ToString(), "0.25");
  EXPECT_EQ(f.FindValue("arr.str")->ToString(3),
            "[array of 20 string: \"t\", \"t\", \"t\", ...]");
  EXPECT_EQ(f.FindValue("arr.str")->ToString(0), "[array of 20 string]");
}

}  // namespace
}  // namespace smollm::runtime
