// Scalar reference int8 dot products: each block's integer sum, then float steps in
// block order, as written (compiled with -ffp-contract=off, see CMakeLists.txt).
#include "runtime/backend/cpu/quant_matvec_reference.h"

#include <cstring>
#include <span>

#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"
#include "runtime/quant/q8_k.h"
#include "runtime/quant/quantize.h"

namespace smollm::runtime::cpu {
namespace {

template <typename Block>
Block LoadBlock(const uint8_t* p, int64_t i) {
  Block b;
  std::memcpy(&b, p + i * sizeof(Block), sizeof(Block));  // no alignment assumed
  return b;
}

// The 32 quants of a 32-element weight block, before any offset.
void Quants(const BlockQ4_0& b, int* q) {
  for (int i = 0; i < 16; ++i) q[i] = b.qs[i] & 0x0f, q[i + 16] = b.qs[i] >> 4;
}
void Quants(const BlockQ4_1& b, int* q) {
  for (int i = 0; i < 16; ++i) q[i] = b.qs[i] & 0x0f, q[i + 16] = b.qs[i] >> 4;
}
void Quants(const BlockQ5_0& b, int* q) {
  for (int i = 0; i < 32; ++i) q[i] = Q5Quant(b.qs, LoadQ5High(b.qh), i);
}
void Quants(const BlockQ5_1& b, int* q) {
  for (int i = 0; i < 32; ++i) q[i] = Q5Quant(b.qs, LoadQ5High(b.qh), i);
}
void Quants(const BlockQ8_0& b, int* q) {
  for (int i = 0; i < 32; ++i) q[i] = b.qs[i];
}

// Symmetric formats against Q8_0: value = d * (q - offset).
template <typename Block, int kOffset>
float DotSymmetric(const uint8_t* w, const uint8_t* act, int64_t k) {
  float sum = 0;
  for (int64_t i = 0; i < k / 32; ++i) {
    const Block wb = LoadBlock<Block>(w, i);
    const BlockQ8_0 ab = LoadBlock<BlockQ8_0>(act, i);
    int q[32];
    Quants(wb, q);
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += (q[j] - kOffset) * ab.qs[j];
    sum += (Fp16ToFp32(wb.d) * Fp16ToFp32(ab.d)) * static_cast<float>(isum);
  }
  return sum;
}

// Formats with a min against Q8_1: value = d * q + m, and s = d_act * sum(q_act).
template <typename Block>
float DotWithMin(const uint8_t* w, const uint8_t* act, int64_t k) {
  float sum = 0;
  for (int64_t i = 0; i < k / 32; ++i) {
    const Block wb = LoadBlock<Block>(w, i);
    const BlockQ8_1 ab = LoadBlock<BlockQ8_1>(act, i);
    int q[32];
    Quants(wb, q);
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += q[j] * ab.qs[j];
    sum += (Fp16ToFp32(wb.d) * Fp16ToFp32(ab.d)) * static_cast<float>(isum);
    sum += Fp16ToFp32(wb.m) * Fp16ToFp32(ab.s);
  }
  return sum;
}

// Q4_K: sub-block j is d * scale_j * q - dmin * min_j.
float DotQ4_K(const uint8_t* w, const uint8_t* act, int64_t k) {
  float sum = 0;
  for (int64_t i = 0; i < k / 256; ++i) {
    const BlockQ4_K wb = LoadBlock<BlockQ4_K>(w, i);
    const BlockQ8_K ab = LoadBlock<BlockQ8_K>(act, i);
    int32_t isum = 0;  // sum of scale_j * q * q_act
    int32_t msum = 0;  // sum of min_j * q_act
    for (int j = 0; j < 8; ++j) {
      const ScaleMin sm = UnpackScaleMinK(wb.scales, j);
      int32_t sub = 0;
      for (int l = 0; l < 32; ++l) sub += Q4KQuant(wb, 32 * j + l) * ab.qs[32 * j + l];
      isum += sm.scale * sub;
      msum += sm.min * (ab.bsums[2 * j] + ab.bsums[2 * j + 1]);
    }
    sum += (ab.d * Fp16ToFp32(wb.d)) * static_cast<float>(isum);
    sum -= (ab.d * Fp16ToFp32(wb.dmin)) * static_cast<float>(msum);
  }
  return sum;
}

// Q6_K: sub-block s (16 elements) is d * scale_s * (q - 32).
float DotQ6_K(const uint8_t* w, const uint8_t* act, int64_t k) {
  float sum = 0;
  for (int64_t i = 0; i < k / 256; ++i) {
    const BlockQ6_K wb = LoadBlock<BlockQ6_K>(w, i);
    const BlockQ8_K ab = LoadBlock<BlockQ8_K>(act, i);
    int32_t isum = 0;
    for (int j = 0; j < 256; ++j) isum += wb.scales[j / 16] * (Q6KQuant(wb, j) - 32) * ab.qs[j];
    sum += (ab.d * Fp16ToFp32(wb.d)) * static_cast<float>(isum);
  }
  return sum;
}

using RowDotFn = float (*)(const uint8_t* w, const uint8_t* act, int64_t k);

RowDotFn RowDotFor(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: return DotSymmetric<BlockQ4_0, 8>;
    case GgmlType::kQ5_0: return DotSymmetric<BlockQ5_0, 16>;
    case GgmlType::kQ8_0: return DotSymmetric<BlockQ8_0, 0>;
    case GgmlType::kQ4_1: return DotWithMin<BlockQ4_1>;
    case GgmlType::kQ5_1: return DotWithMin<BlockQ5_1>;
    case GgmlType::kQ4_K: return DotQ4_K;
    case GgmlType::kQ6_K: return DotQ6_K;
    default: return nullptr;
  }
}

template <GgmlType kType>
void MatVec(const QuantMatVecArgs& p) {
  const RowDotFn dot = RowDotFor(kType);
  for (int c = 0; c < p.n_cols; ++c) {
    const uint8_t* act = p.act + c * p.act_row_bytes;
    for (int64_t r = 0; r < p.rows; ++r) {
      p.out[c * p.out_stride + r] = dot(p.weights + r * p.weight_row_bytes, act, p.k);
    }
  }
}

}  // namespace

std::optional<GgmlType> ActivationTypeFor(GgmlType weight) {
  switch (weight) {
    case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: return GgmlType::kQ8_0;
    case GgmlType::kQ4_1: case GgmlType::kQ5_1: return GgmlType::kQ8_1;
    case GgmlType::kQ4_K: case GgmlType::kQ6_K: return GgmlType::kQ8_K;
    default: return std::nullopt;
  }
}

int64_t ActivationScales(GgmlType act_type, const uint8_t* act, int64_t k, float* scales) {
  if (act_type == GgmlType::kQ8_K) {
    const int64_t n_blocks = k / 256;
    for (int64_t b = 0; b < n_blocks; ++b) {
      BlockQ8_K block;
      std::memcpy(&block, act + b * sizeof(BlockQ8_K), sizeof(block));
      for (int t = 0; t < 4; ++t) {
        // Sub-blocks 2t and 2t + 1 (at most 32 * 128 in magnitude: int16).
        const auto low = static_cast<uint16_t>(block.bsums[4 * t] + block.bsums[4 * t + 1]);
        const auto high = static_cast<uint16_t>(block.bsums[4 * t + 2] + block.bsums[4 * t + 3]);
        const uint32_t word = low | static_cast<uint32_t>(high) << 16;
        std::memcpy(&scales[4 * b + t], &word, sizeof(word));
      }
    }
    return 4 * n_blocks;
  }
  if (act_type != GgmlType::kQ8_0 && act_type != GgmlType::kQ8_1) return 0;
  const int64_t n_blocks = k / 32;
  const bool with_sum = act_type == GgmlType::kQ8_1;
  const uint64_t block_bytes = with_sum ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = act + b * block_bytes;
    uint16_t h[2];
    std::memcpy(h, block, with_sum ? 4 : 2);
    scales[b] = Fp16ToFp32(h[0]);
    if (with_sum) {
      scales[n_blocks + b] = Fp16ToFp32(h[1]);
    } else {
      int32_t sum = 0;  // at most 32 * 128 in magnitude: exact as a float
      for (int i = 0; i < 32; ++i) sum += static_cast<int8_t>(block[2 + i]);
      scales[n_blocks + b] = static_cast<float>(sum);
    }
  }
  return 2 * n_blocks;
}

float ReferenceQuantDot(GgmlType weight_type, const uint8_t* w, const uint8_t* act,
                        int64_t k) {
  const RowDotFn dot = RowDotFor(weight_type);
  return dot != nullptr ? dot(w, act, k) : 0.0f;
}

QuantMatVecFn ReferenceQuantMatVec(GgmlType weight_type) {
  switch (weight_type) {
    case GgmlType::kQ4_0: return MatVec<GgmlType::kQ4_0>;
    case GgmlType::kQ5_0: return MatVec<GgmlType::kQ5_0>;
    case GgmlType::kQ8_0: return MatVec<GgmlType::kQ8_0>;
    case GgmlType::kQ4_1: return MatVec<GgmlType::kQ4_1>;
    case GgmlType::kQ5_1: return MatVec<GgmlType::kQ5_1>;
    case GgmlType::kQ4_K: return MatVec<GgmlType::kQ4_K>;
    case GgmlType::kQ6_K: return MatVec<GgmlType::kQ6_K>;
    default: return nullptr;
  }
}

void ReferenceQuantizeActivations(GgmlType act_type, const float* x, uint8_t* dst, int64_t n) {
  switch (act_type) {
    case GgmlType::kQ8_0:
      for (int64_t i = 0; i < n / 32; ++i) {
        const BlockQ8_0 b = QuantizeBlockQ8_0(std::span<const float, 32>(x + 32 * i, 32));
        std::memcpy(dst + i * sizeof(b), &b, sizeof(b));
      }
      break;
    case GgmlType::kQ8_1:
      for (int64_t i = 0; i < n / 32; ++i) {
        const BlockQ8_1 b = QuantizeBlockQ8_1(std::span<const float, 32>(x + 32 * i, 32));
        std::memcpy(dst + i * sizeof(b), &b, sizeof(b));
      }
      break;
    case GgmlType::kQ8_K:
      for (int64_t i = 0; i < n / 256; ++i) {
        const BlockQ8_K b = QuantizeBlockQ8_K(std::span<const float, 256>(x + 256 * i, 256));
        std::memcpy(dst + i * sizeof(b), &b, sizeof(b));
      }
      break;
    default:
      break;
  }
}

}  // namespace smollm::runtime::cpu
