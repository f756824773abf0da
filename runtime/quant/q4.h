// Q4_0 and Q4_1 blocks: 32 4-bit values with an fp16 scale (and an fp16 min for Q4_1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/quant/half.h"

namespace smollm::runtime {

inline constexpr int kQ4_0BlockElements = 32;
inline constexpr int kQ4_1BlockElements = 32;

// 18 bytes. Element i < 16 is the low nibble of qs[i], element i + 16 its high nibble;
// value = d * (q - 8).
struct BlockQ4_0 {
  uint16_t d;      // fp16 scale
  uint8_t qs[16];  // nibbles
};
static_assert(sizeof(BlockQ4_0) == 18 && offsetof(BlockQ4_0, qs) == 2);

// 20 bytes. Nibble order as Q4_0; value = d * q + m.
struct BlockQ4_1 {
  uint16_t d;      // fp16 scale
  uint16_t m;      // fp16 min (added)
  uint8_t qs[16];  // nibbles
};
static_assert(sizeof(BlockQ4_1) == 20 && offsetof(BlockQ4_1, qs) == 4);

// y[0..31] from one block. d * q is exact in fp32 (11 + 4 significant bits), so Q4_1's
// value is rounded once, by the addition; an FMA gives the same bits.
constexpr void DequantizeBlock(const BlockQ4_0& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  for (int i = 0; i < 16; ++i) {
    y[i] = d * static_cast<float>((b.qs[i] & 0x0f) - 8);
    y[i + 16] = d * static_cast<float>((b.qs[i] >> 4) - 8);
  }
}

constexpr void DequantizeBlock(const BlockQ4_1& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  const float m = Fp16ToFp32(b.m);
  for (int i = 0; i < 16; ++i) {
    y[i] = d * static_cast<float>(b.qs[i] & 0x0f) + m;
    y[i + 16] = d * static_cast<float>(b.qs[i] >> 4) + m;
  }
}

}  // namespace smollm::runtime
