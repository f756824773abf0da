// Int8 matrix-vector products of block-quantized weights with activations quantized once
// per matmul (Q8_K for K-quant weights, Q8_0/Q8_1 for the 32-element formats): the CPU
// decode path, which never materializes f32 weights.
#pragma once

#include <cstdint>
#include <optional>

#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cpu {

// Most activation columns one kernel call computes against each weight block it reads.
inline constexpr int kMaxMatVecCols = 8;

// The format activations are quantized to before an int8 product with `weight`-typed
// rows: Q8_K for Q4_K/Q6_K, Q8_1 for the formats with a min (Q4_1, Q5_1: its stored
// d * sum removes the min's term), Q8_0 for Q4_0, Q5_0, Q8_0. nullopt for other types.
std::optional<GgmlType> ActivationTypeFor(GgmlType weight);

// One call: out[c * out_stride + r] = dot(weight row r, activation column c) for r in
// [0, rows) and c in [0, n_cols). All pointers are unaligned-safe.
struct QuantMatVecArgs {
  const uint8_t* weights = nullptr;  // rows x weight_row_bytes, blocks of the weight type
  uint64_t weight_row_bytes = 0;
  int64_t rows = 0;
  int64_t k = 0;                     // elements per row, a whole number of blocks
  const uint8_t* act = nullptr;      // n_cols x act_row_bytes, ActivationTypeFor blocks
  uint64_t act_row_bytes = 0;
  int n_cols = 0;                    // 1..kMaxMatVecCols
  // Per column, what ActivationScales derives from its quantized row (the kernels would
  // otherwise work it out once per weight row): [n_cols][act_scale_stride].
  const float* act_scales = nullptr;
  int64_t act_scale_stride = 0;
  float* out = nullptr;
  int64_t out_stride = 0;            // floats between columns of out
};

// Every column's result is computed by the same sequence of operations whatever n_cols
// is, so a token's logits do not depend on how many others share its batch.
using QuantMatVecFn = void (*)(const QuantMatVecArgs& args);

// Writes what the kernels need per block of one quantized activation row (k elements of
// act_type) to `scales`: Q8_1: the k / 32 block scales d as f32, then the k / 32 sums s;
// Q8_0: the block scales d, then the k / 32 blocks' integer quant sums (exact as floats;
// the offset-weight kernels need them); Q8_K: per block, four 32-bit words in the floats'
// place, word t holding the sums of 32-element sub-blocks 2t and 2t + 1 as int16 (low,
// high): the operand that meets a pair of Q4_K's 6-bit mins in one multiply-add of int16
// pairs. Returns the number of floats written (at most 2 * (k / 32)).
int64_t ActivationScales(GgmlType act_type, const uint8_t* act, int64_t k, float* scales);

// Quantizes n floats (a whole number of `act_type` blocks, finite) into
// RowBytes(act_type, n) bytes of dst, byte-identical to QuantizeRow.
using QuantizeActivationsFn = void (*)(GgmlType act_type, const float* x, uint8_t* dst,
                                       int64_t n);

}  // namespace smollm::runtime::cpu
