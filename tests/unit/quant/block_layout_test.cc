// Block structs match GGUF's sizes, the packed K-quant scales round-trip, and each
// format's element -> bits mapping is the one its header documents, probed one element
// at a time with test-local encoders written from those comments.
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include "runtime/core/ggml_type.h"
#include "runtime/quant/half.h"
#include "runtime/quant/k_scales.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q5_k.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"
#include "runtime/quant/q8_k.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::runtime {
namespace {

constexpr uint16_t kOne = 0x3c00;  // fp16 1.0

template <typename Block>
void ExpectGeometry(GgmlType type, int elements) {
  EXPECT_EQ(sizeof(Block), TraitsOf(type).block_bytes) << NameOf(type);
  EXPECT_EQ(static_cast<uint32_t>(elements), TraitsOf(type).block_elements) << NameOf(type);
}

// The decoders are constexpr (so CUDA device code can call them); check one at compile
// time: element 16 of a Q4_0 block is the high nibble of qs[0], minus 8, times d.
constexpr float Q4_0Element16() {
  BlockQ4_0 b{};
  b.d = kOne;
  b.qs[0] = 0xd2;
  float y[32] = {};
  DequantizeBlock(b, y);
  return y[16];
}
static_assert(Q4_0Element16() == 5.0f);

TEST(BlockLayout, SizesMatchGgufGeometry) {
  ExpectGeometry<BlockQ4_0>(GgmlType::kQ4_0, kQ4_0BlockElements);
  ExpectGeometry<BlockQ4_1>(GgmlType::kQ4_1, kQ4_1BlockElements);
  ExpectGeometry<BlockQ5_0>(GgmlType::kQ5_0, kQ5_0BlockElements);
  ExpectGeometry<BlockQ5_1>(GgmlType::kQ5_1, kQ5_1BlockElements);
  ExpectGeometry<BlockQ8_0>(GgmlType::kQ8_0, kQ8_0BlockElements);
  ExpectGeometry<BlockQ8_1>(GgmlType::kQ8_1, kQ8_1BlockElements);
  ExpectGeometry<BlockQ4_K>(GgmlType::kQ4_K, kQ4_KBlockElements);
  ExpectGeometry<BlockQ5_K>(GgmlType::kQ5_K, kQ5_KBlockElements);
  ExpectGeometry<BlockQ6_K>(GgmlType::kQ6_K, kQ6_KBlockElements);
  ExpectGeometry<BlockQ8_K>(GgmlType::kQ8_K, kQ8_KBlockElements);
}

TEST(KScales, PackThenUnpackRoundTrips) {
  ::smollm::testing::RowGenerator gen(7);
  for (int trial = 0; trial < 2000; ++trial) {
    uint8_t scales[8], mins[8], packed[kKScaleBytes];
    for (int j = 0; j < 8; ++j) {
      scales[j] = static_cast<uint8_t>(gen.NextU64() % 64);
      mins[j] = static_cast<uint8_t>(gen.NextU64() % 64);
    }
    PackScalesMinsK(scales, mins, packed);
    for (int j = 0; j < 8; ++j) {
      const ScaleMin sm = UnpackScaleMinK(packed, j);
      ASSERT_EQ(sm.scale, scales[j]) << j;
      ASSERT_EQ(sm.min, mins[j]) << j;
    }
  }
}

TEST(KScales, UnpackFollowsTheDocumentedBytes) {
  // Sub-block 5's scale: low nibble in byte 9, top two bits in bits 6-7 of byte 1; its
  // min: high nibble of byte 9, top bits in bits 6-7 of byte 5.
  uint8_t packed[kKScaleBytes] = {};
  packed[9] = 0xa7;
  packed[1] = 0x80;
  packed[5] = 0x40;
  const ScaleMin sm = UnpackScaleMinK(packed, 5);
  EXPECT_EQ(sm.scale, 0x27);                       // 10 0111
  EXPECT_EQ(sm.min, 0x1a);                         // 01 1010
  EXPECT_EQ(UnpackScaleMinK(packed, 1).scale, 0);  // only the top bits were set there
  EXPECT_EQ(UnpackScaleMinK(packed, 1).min, 0);
}

// Q4_K: chunk c = i / 64 of 32 bytes; even sub-blocks in low nibbles.
void SetQ4K(BlockQ4_K& b, int i, int q) {
  uint8_t& byte = b.qs[(i / 64) * 32 + i % 32];
  byte = ((i / 32) % 2 == 0) ? static_cast<uint8_t>((byte & 0xf0) | q)
                             : static_cast<uint8_t>((byte & 0x0f) | (q << 4));
}

TEST(BlockLayout, Q4KEachElementReadsItsOwnBits) {
  for (int i = 0; i < 256; ++i) {
    BlockQ4_K b{};
    b.d = kOne;
    const uint8_t ones[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zeros[8] = {};
    PackScalesMinsK(ones, zeros, b.scales);
    SetQ4K(b, i, 9);
    float y[256];
    DequantizeBlock(b, y);
    for (int k = 0; k < 256; ++k) ASSERT_EQ(y[k], k == i ? 9.0f : 0.0f) << i << " " << k;
  }
}

TEST(BlockLayout, Q5KEachElementReadsItsOwnBits) {
  for (int i = 0; i < 256; ++i) {
    BlockQ5_K b{};
    b.d = kOne;
    const uint8_t ones[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zeros[8] = {};
    PackScalesMinsK(ones, zeros, b.scales);
    // Low nibble as Q4_K, fifth bit j of qh[l] for element 32j + l.
    uint8_t& byte = b.qs[(i / 64) * 32 + i % 32];
    byte = ((i / 32) % 2 == 0) ? 0x03 : 0x30;
    b.qh[i % 32] = static_cast<uint8_t>(1u << (i / 32));
    float y[256];
    DequantizeBlock(b, y);
    for (int k = 0; k < 256; ++k) ASSERT_EQ(y[k], k == i ? 19.0f : 0.0f) << i << " " << k;
  }
}

TEST(BlockLayout, Q6KEachElementReadsItsOwnBitsAndScale) {
  for (int i = 0; i < 256; ++i) {
    BlockQ6_K b{};
    b.d = kOne;
    for (int k = 0; k < 16; ++k) b.scales[k] = static_cast<int8_t>(k + 1);
    // Every quant 32 (zero) except element i, which gets 32 + 21 = 53 = 0b11'0101.
    for (uint8_t& h : b.qh) h = 0xaa;
    const int half = i / 128, group = (i % 128) / 32, l = i % 32;
    uint8_t& low = b.ql[64 * half + l + 32 * (group % 2)];
    low = group < 2 ? 0x05 : 0x50;
    uint8_t& high = b.qh[32 * half + l];
    high = static_cast<uint8_t>((high & ~(3u << (2 * group))) | (3u << (2 * group)));
    float y[256];
    DequantizeBlock(b, y);
    for (int k = 0; k < 256; ++k) {
      ASSERT_EQ(y[k], k == i ? 21.0f * static_cast<float>(i / 16 + 1) : 0.0f) << i << " " << k;
    }
  }
}

TEST(BlockLayout, Q5_0AndQ5_1EachElementReadsItsOwnBits) {
  for (int i = 0; i < 32; ++i) {
    BlockQ5_0 b0{};
    BlockQ5_1 b1{};
    b0.d = b1.d = kOne;
    // Every Q5_0 quant 16 (zero) except element i, which gets 16 + 7 = 23 = 1'0111.
    for (int k = 0; k < 32; ++k) {
      const int q = k == i ? 23 : 16;
      b0.qs[k % 16] |= static_cast<uint8_t>((q & 0x0f) << (k < 16 ? 0 : 4));
      b0.qh[k / 8] |= static_cast<uint8_t>((q >> 4) << (k % 8));
    }
    std::memcpy(b1.qh, b0.qh, 4);
    std::memcpy(b1.qs, b0.qs, 16);
    float y0[32], y1[32];
    DequantizeBlock(b0, y0);
    DequantizeBlock(b1, y1);
    for (int k = 0; k < 32; ++k) {
      ASSERT_EQ(y0[k], k == i ? 7.0f : 0.0f) << i << " " << k;
      ASSERT_EQ(y1[k], k == i ? 23.0f : 16.0f) << i << " " << k;
    }
  }
}

TEST(BlockLayout, Q4_0AndQ4_1NibbleOrderAndOffsets) {
  BlockQ4_0 b0{};
  BlockQ4_1 b1{};
  b0.d = b1.d = Fp32ToFp16(0.5f);
  b1.m = Fp32ToFp16(-2.0f);
  for (int k = 0; k < 16; ++k) {
    b0.qs[k] = b1.qs[k] = static_cast<uint8_t>(k | ((15 - k) << 4));
  }
  float y0[32], y1[32];
  DequantizeBlock(b0, y0);
  DequantizeBlock(b1, y1);
  for (int k = 0; k < 16; ++k) {
    EXPECT_EQ(y0[k], 0.5f * static_cast<float>(k - 8));
    EXPECT_EQ(y0[k + 16], 0.5f * static_cast<float>(7 - k));
    EXPECT_EQ(y1[k], 0.5f * static_cast<float>(k) - 2.0f);
    EXPECT_EQ(y1[k + 16], 0.5f * static_cast<float>(15 - k) - 2.0f);
  }
}

TEST(BlockLayout, Q8FormatsScaleSignedQuants) {
  BlockQ8_0 b0{};
  BlockQ8_1 b1{};
  BlockQ8_K bk{};
  b0.d = b1.d = Fp32ToFp16(0.25f);
  bk.d = -0.125f;
  for (int k = 0; k < 32; ++k) b0.qs[k] = b1.qs[k] = static_cast<int8_t>(k * 8 - 128);
  for (int k = 0; k < 256; ++k) bk.qs[k] = static_cast<int8_t>(k - 128);
  float y0[32], y1[32], yk[256];
  DequantizeBlock(b0, y0);
  DequantizeBlock(b1, y1);
  DequantizeBlock(bk, yk);
  for (int k = 0; k < 32; ++k) {
    EXPECT_EQ(y0[k], 0.25f * static_cast<float>(k * 8 - 128));
    EXPECT_EQ(y1[k], y0[k]);
  }
  for (int k = 0; k < 256; ++k) EXPECT_EQ(yk[k], -0.125f * static_cast<float>(k - 128));
}

}  // namespace
}  // namespace smollm::runtime
