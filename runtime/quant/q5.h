// Q5_0 and Q5_1 blocks: 32 5-bit values (low nibbles plus a 32-bit mask of fifth bits)
// with an fp16 scale (and an fp16 min for Q5_1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/quant/half.h"

namespace smollm::runtime {

inline constexpr int kQ5_0BlockElements = 32;
inline constexpr int kQ5_1BlockElements = 32;

// 22 bytes. Element i < 16 takes the low nibble of qs[i], element i + 16 its high
// nibble; bit i of the little-endian 32-bit qh is element i's fifth bit.
// value = d * (q - 16).
struct BlockQ5_0 {
  uint16_t d;      // fp16 scale
  uint8_t qh[4];   // fifth bits, little-endian uint32 (bytes: no alignment demand)
  uint8_t qs[16];  // low nibbles
};
static_assert(sizeof(BlockQ5_0) == 22 && offsetof(BlockQ5_0, qs) == 6);

// 24 bytes. Bit layout as Q5_0; value = d * q + m.
struct BlockQ5_1 {
  uint16_t d;      // fp16 scale
  uint16_t m;      // fp16 min (added)
  uint8_t qh[4];   // fifth bits, little-endian uint32
  uint8_t qs[16];  // low nibbles
};
static_assert(sizeof(BlockQ5_1) == 24 && offsetof(BlockQ5_1, qs) == 8);

constexpr uint32_t LoadQ5High(const uint8_t* qh) {
  return static_cast<uint32_t>(qh[0]) | (static_cast<uint32_t>(qh[1]) << 8) |
         (static_cast<uint32_t>(qh[2]) << 16) | (static_cast<uint32_t>(qh[3]) << 24);
}

// The 5-bit quant of element i (0..31).
constexpr int Q5Quant(const uint8_t* qs, uint32_t qh, int i) {
  const int low = i < 16 ? (qs[i] & 0x0f) : (qs[i - 16] >> 4);
  return low | static_cast<int>(((qh >> i) & 1u) << 4);
}

// y[0..31] from one block. d * q is exact in fp32, so only Q5_1's addition rounds.
constexpr void DequantizeBlock(const BlockQ5_0& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  const uint32_t qh = LoadQ5High(b.qh);
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(Q5Quant(b.qs, qh, i) - 16);
}

constexpr void DequantizeBlock(const BlockQ5_1& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  const float m = Fp16ToFp32(b.m);
  const uint32_t qh = LoadQ5High(b.qh);
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(Q5Quant(b.qs, qh, i)) + m;
}

}  // namespace smollm::runtime
