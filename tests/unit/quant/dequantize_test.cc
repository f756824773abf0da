// DequantizeRow dispatch: size checks, unsupported types, unaligned input, empty rows
// and NaN payloads in plain types.
#include "runtime/quant/dequantize.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/quant/half.h"
#include "runtime/quant/quantize.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::runtime {
namespace {

constexpr GgmlType kSupported[] = {
    GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ4_0, GgmlType::kQ4_1,
    GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kQ8_1, GgmlType::kQ4_K,
    GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kQ8_K};

// Random bytes are valid blocks of every format except for NaN/inf scales; keep them.
std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  ::smollm::testing::RowGenerator gen(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(gen.NextU64());
  return out;
}

TEST(DequantizeRow, RejectsSizeMismatches) {
  for (GgmlType type : kSupported) {
    const GgmlTypeTraits t = TraitsOf(type);
    const size_t n = 2 * t.block_elements;
    std::vector<float> dst(n);
    const std::vector<uint8_t> exact = RandomBytes(2 * t.block_bytes, 1);
    EXPECT_TRUE(DequantizeRow(type, exact, dst).ok()) << t.name;
    const std::vector<uint8_t> short_src(2 * t.block_bytes - 1), long_src(2 * t.block_bytes + 1);
    EXPECT_EQ(DequantizeRow(type, short_src, dst).code(), absl::StatusCode::kInvalidArgument)
        << t.name;
    EXPECT_EQ(DequantizeRow(type, long_src, dst).code(), absl::StatusCode::kInvalidArgument)
        << t.name;
    if (t.block_elements > 1) {
      std::vector<float> partial(n - 1);
      EXPECT_EQ(DequantizeRow(type, exact, partial).code(), absl::StatusCode::kInvalidArgument)
          << t.name;
    }
  }
}

TEST(DequantizeRow, UnsupportedTypesAreUnimplemented) {
  std::vector<float> dst(256);
  const std::vector<uint8_t> src(1024);
  for (GgmlType type : {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kI8, GgmlType::kI16,
                        GgmlType::kI32, GgmlType::kI64, GgmlType::kF64}) {
    EXPECT_FALSE(CanDequantize(type));
    EXPECT_EQ(DequantizeRow(type, src, dst).code(), absl::StatusCode::kUnimplemented)
        << NameOf(type);
  }
  for (GgmlType type : kSupported) EXPECT_TRUE(CanDequantize(type)) << NameOf(type);
}

TEST(DequantizeRow, UnalignedSourceDecodesTheSame) {
  for (GgmlType type : kSupported) {
    const GgmlTypeTraits t = TraitsOf(type);
    const size_t n = 4 * 256;  // whole blocks of every format
    const std::vector<uint8_t> src = RandomBytes(*RowBytes(type, n), 2);
    std::vector<uint8_t> shifted(src.size() + 3);
    std::memcpy(shifted.data() + 3, src.data(), src.size());
    std::vector<float> a(n), b(n);
    ASSERT_TRUE(DequantizeRow(type, src, a).ok()) << t.name;
    ASSERT_TRUE(DequantizeRow(type, std::span<const uint8_t>(shifted).subspan(3), b).ok())
        << t.name;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0) << t.name;
  }
}

TEST(DequantizeRow, EmptyRowIsFine) {
  for (GgmlType type : kSupported) {
    EXPECT_TRUE(DequantizeRow(type, {}, {}).ok()) << NameOf(type);
  }
}

TEST(DequantizeRow, PlainTypesKeepNanPayloadsAndNegativeZero) {
  const uint32_t f32_bits[] = {0x7f800001u, 0xffc12345u, 0x80000000u, 0x3f800000u};
  std::vector<uint8_t> src(sizeof f32_bits);
  std::memcpy(src.data(), f32_bits, sizeof f32_bits);
  std::vector<float> dst(4);
  ASSERT_TRUE(DequantizeRow(GgmlType::kF32, src, dst).ok());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(F32Bits(dst[i]), f32_bits[i]);

  const uint8_t f16[] = {0x01, 0x7c, 0x00, 0x80};  // signalling NaN 0x7c01, -0
  std::vector<float> h(2);
  ASSERT_TRUE(DequantizeRow(GgmlType::kF16, f16, h).ok());
  EXPECT_EQ(F32Bits(h[0]), 0x7f802000u);
  EXPECT_EQ(F32Bits(h[1]), 0x80000000u);
}

}  // namespace
}  // namespace smollm::runtime
