// Q4_K super-blocks: 256 4-bit values in 8 sub-blocks of 32, each with a 6-bit scale and
// a 6-bit min, under fp16 super-scales d and dmin.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/quant/half.h"
#include "runtime/quant/k_scales.h"

namespace smollm::runtime {

inline constexpr int kQ4_KBlockElements = 256;

// 144 bytes. Sub-block j (elements 32j..32j+31) has value d*scale_j * q - dmin*min_j with
// q in 0..15. The nibbles come in 4 chunks of 32 bytes: chunk c holds sub-block 2c in its
// low nibbles and sub-block 2c+1 in its high nibbles.
struct BlockQ4_K {
  uint16_t d;                    // fp16 super-scale of the sub-block scales
  uint16_t dmin;                 // fp16 super-scale of the sub-block mins
  uint8_t scales[kKScaleBytes];  // packed 6-bit scales and mins (k_scales.h)
  uint8_t qs[128];               // nibbles
};
static_assert(sizeof(BlockQ4_K) == 144 && offsetof(BlockQ4_K, scales) == 4 &&
              offsetof(BlockQ4_K, qs) == 16);

// The 4-bit quant of element i (0..255).
constexpr int Q4KQuant(const BlockQ4_K& b, int i) {
  const uint8_t byte = b.qs[(i / 64) * 32 + (i % 32)];
  return ((i / 32) % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
}

// y[0..255] from one block. d * scale, dmin * min and ds * q are all exact in fp32 (at
// most 11 + 6 + 4 significant bits), so each value is rounded once, by the subtraction:
// any evaluation order, or an FMA, gives the same bits.
constexpr void DequantizeBlock(const BlockQ4_K& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  const float dmin = Fp16ToFp32(b.dmin);
  for (int j = 0; j < 8; ++j) {
    const ScaleMin sm = UnpackScaleMinK(b.scales, j);
    const float ds = d * static_cast<float>(sm.scale);
    const float dm = dmin * static_cast<float>(sm.min);
    for (int l = 0; l < 32; ++l) {
      y[32 * j + l] = ds * static_cast<float>(Q4KQuant(b, 32 * j + l)) - dm;
    }
  }
}

}  // namespace smollm::runtime
