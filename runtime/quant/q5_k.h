// Q5_K super-blocks: Q4_K's layout plus one high bit per value (5-bit quants).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/quant/half.h"
#include "runtime/quant/k_scales.h"

namespace smollm::runtime {

inline constexpr int kQ5_KBlockElements = 256;

// 176 bytes. Sub-block j has value d*scale_j * q - dmin*min_j with q in 0..31. Low
// nibbles are laid out as in Q4_K; bit j of qh[l] is the fifth bit of element 32j + l.
struct BlockQ5_K {
  uint16_t d;                    // fp16 super-scale of the sub-block scales
  uint16_t dmin;                 // fp16 super-scale of the sub-block mins
  uint8_t scales[kKScaleBytes];  // packed 6-bit scales and mins (k_scales.h)
  uint8_t qh[32];                // fifth bits
  uint8_t qs[128];               // low nibbles
};
static_assert(sizeof(BlockQ5_K) == 176 && offsetof(BlockQ5_K, qh) == 16 &&
              offsetof(BlockQ5_K, qs) == 48);

// The 5-bit quant of element i (0..255).
constexpr int Q5KQuant(const BlockQ5_K& b, int i) {
  const uint8_t byte = b.qs[(i / 64) * 32 + (i % 32)];
  const int low = ((i / 32) % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
  return low | (((b.qh[i % 32] >> (i / 32)) & 1) << 4);
}

// y[0..255] from one block. As in Q4_K, only the final subtraction rounds.
constexpr void DequantizeBlock(const BlockQ5_K& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  const float dmin = Fp16ToFp32(b.dmin);
  for (int j = 0; j < 8; ++j) {
    const ScaleMin sm = UnpackScaleMinK(b.scales, j);
    const float ds = d * static_cast<float>(sm.scale);
    const float dm = dmin * static_cast<float>(sm.min);
    for (int l = 0; l < 32; ++l) {
      y[32 * j + l] = ds * static_cast<float>(Q5KQuant(b, 32 * j + l)) - dm;
    }
  }
}

}  // namespace smollm::runtime
