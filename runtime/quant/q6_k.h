// Q6_K super-blocks: 256 6-bit values in 16 sub-blocks of 16, each with a signed 8-bit
// scale, under one fp16 super-scale.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/quant/half.h"

namespace smollm::runtime {

inline constexpr int kQ6_KBlockElements = 256;

// 210 bytes. Element i has value d * scales[i / 16] * (q - 32) with q in 0..63. The
// block is two halves of 128 elements; in half h, for l in 0..31:
//   element 128h + l      : low nibble of ql[64h + l],       bits 0-1 of qh[32h + l]
//   element 128h + l + 32 : low nibble of ql[64h + l + 32],  bits 2-3 of qh[32h + l]
//   element 128h + l + 64 : high nibble of ql[64h + l],      bits 4-5 of qh[32h + l]
//   element 128h + l + 96 : high nibble of ql[64h + l + 32], bits 6-7 of qh[32h + l]
struct BlockQ6_K {
  uint8_t ql[128];    // low 4 bits
  uint8_t qh[64];     // high 2 bits
  int8_t scales[16];  // sub-block scales
  uint16_t d;         // fp16 super-scale
};
static_assert(sizeof(BlockQ6_K) == 210 && offsetof(BlockQ6_K, scales) == 192 &&
              offsetof(BlockQ6_K, d) == 208);

// The 6-bit quant (0..63, before the -32 offset) of element i (0..255).
constexpr int Q6KQuant(const BlockQ6_K& b, int i) {
  const int half = i / 128;
  const int quarter = (i % 128) / 32;  // which of the four element groups above
  const int l = i % 32;
  const uint8_t low_byte = b.ql[64 * half + l + 32 * (quarter % 2)];
  const int low = quarter < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
  const int high = (b.qh[32 * half + l] >> (2 * quarter)) & 3;
  return low | (high << 4);
}

// y[0..255] from one block. |d * scale * (q - 32)| needs under 24 significant bits
// (fp16 significand < 2^11, |scale| <= 2^7, |q - 32| <= 2^5), so every value is exact and
// the evaluation order cannot matter.
constexpr void DequantizeBlock(const BlockQ6_K& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  for (int i = 0; i < 256; ++i) {
    const float ds = d * static_cast<float>(b.scales[i / 16]);
    y[i] = ds * static_cast<float>(Q6KQuant(b, i) - 32);
  }
}

}  // namespace smollm::runtime
