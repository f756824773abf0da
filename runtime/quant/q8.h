// Q8_0 and Q8_1 blocks: 32 int8 values sharing one fp16 scale; Q8_1 also stores d * sum.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/quant/half.h"

namespace smollm::runtime {

inline constexpr int kQ8_0BlockElements = 32;
inline constexpr int kQ8_1BlockElements = 32;

// 34 bytes. Element i is d * qs[i].
struct BlockQ8_0 {
  uint16_t d;     // fp16 scale
  int8_t qs[32];  // quants
};
static_assert(sizeof(BlockQ8_0) == 34 && offsetof(BlockQ8_0, qs) == 2);

// 36 bytes. Element i is d * qs[i]; s = d * sum(qs) (fp16), used by dot products with
// formats that carry a min (Q4_1, Q5_1) so they need not sum the activations.
struct BlockQ8_1 {
  uint16_t d;     // fp16 scale
  uint16_t s;     // fp16 d * sum(qs)
  int8_t qs[32];  // quants
};
static_assert(sizeof(BlockQ8_1) == 36 && offsetof(BlockQ8_1, qs) == 4);

// y[0..31] from one block.
constexpr void DequantizeBlock(const BlockQ8_0& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  for (int i = 0; i < 32; ++i) y[i] = static_cast<float>(b.qs[i]) * d;
}

constexpr void DequantizeBlock(const BlockQ8_1& b, float* y) {
  const float d = Fp16ToFp32(b.d);
  for (int i = 0; i < 32; ++i) y[i] = static_cast<float>(b.qs[i]) * d;
}

}  // namespace smollm::runtime
