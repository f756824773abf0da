// Row dequantizers built from the quant module's reference block decoders.
#include "runtime/backend/cpu/dequantize_row.h"

#include <cstring>

#include "runtime/quant/half.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q5_k.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"

namespace smollm::runtime::cpu {
namespace {

template <typename Block, int kElements>
void DequantizeBlocks(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kElements; ++i) {
    Block block;
    std::memcpy(&block, src + i * sizeof(Block), sizeof(Block));  // no alignment assumed
    DequantizeBlock(block, dst + i * kElements);
  }
}

void DequantizeF32(const uint8_t* src, float* dst, int64_t n) {
  std::memcpy(dst, src, n * sizeof(float));
}

void DequantizeF16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = Fp16ToFp32(h);
  }
}

void DequantizeBF16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = Bf16ToFp32(h);
  }
}

}  // namespace

DequantizeRowFn RowDequantizer(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return DequantizeF32;
    case GgmlType::kF16: return DequantizeF16;
    case GgmlType::kBF16: return DequantizeBF16;
    case GgmlType::kQ4_0: return DequantizeBlocks<BlockQ4_0, 32>;
    case GgmlType::kQ4_1: return DequantizeBlocks<BlockQ4_1, 32>;
    case GgmlType::kQ5_0: return DequantizeBlocks<BlockQ5_0, 32>;
    case GgmlType::kQ5_1: return DequantizeBlocks<BlockQ5_1, 32>;
    case GgmlType::kQ8_0: return DequantizeBlocks<BlockQ8_0, 32>;
    case GgmlType::kQ4_K: return DequantizeBlocks<BlockQ4_K, 256>;
    case GgmlType::kQ5_K: return DequantizeBlocks<BlockQ5_K, 256>;
    case GgmlType::kQ6_K: return DequantizeBlocks<BlockQ6_K, 256>;
    default: return nullptr;
  }
}

}  // namespace smollm::runtime::cpu
