// Q8_K super-blocks: the activation format paired with K-quant weights in dot products:
// 256 int8 values with an fp32 scale and per-16 sums.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smollm::runtime {

inline constexpr int kQ8_KBlockElements = 256;

// 292 bytes. Element i is d * qs[i]; bsums[k] = sum of qs[16k .. 16k+15], which lets a
// dot product with a min-carrying weight format skip summing the activations.
struct BlockQ8_K {
  float d;            // fp32 scale (may be negative)
  int8_t qs[256];     // quants
  int16_t bsums[16];  // sums of groups of 16 quants
};
static_assert(sizeof(BlockQ8_K) == 292 && offsetof(BlockQ8_K, qs) == 4 &&
              offsetof(BlockQ8_K, bsums) == 260);

constexpr void DequantizeBlock(const BlockQ8_K& b, float* y) {
  for (int i = 0; i < 256; ++i) y[i] = b.d * static_cast<float>(b.qs[i]);
}

}  // namespace smollm::runtime
