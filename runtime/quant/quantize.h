// Reference quantizers: weights to Q8_0, Q5_0, Q4_K, Q6_K; activations to Q8_K and Q8_1;
// plus F32/F16/BF16 conversion. Plain scalar code, written for quality and clarity.
//
// Q8_0, Q8_1, Q5_0 and Q8_K produce the same bytes as ggml's reference quantizers
// (quantize_row_*_ref) for finite inputs whose fp16 fields (scales, Q8_1's d * sum) fit
// in fp16. Q4_K and Q6_K search their scales (least squares over a grid, alternating
// refinement, then a local search over the rounded 6/8-bit sub-block scales) and reach a
// lower round-trip RMSE than ggml's reference quantizers; their bytes differ from ggml's.
//
// Block functions take finite values (QuantizeRow checks that). Magnitudes beyond what a
// format's fp16 fields can express saturate to the largest representable values, where
// ggml would store infinities.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "runtime/core/ggml_type.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"
#include "runtime/quant/q8_k.h"

namespace smollm::runtime {

BlockQ8_0 QuantizeBlockQ8_0(std::span<const float, 32> x);
BlockQ8_1 QuantizeBlockQ8_1(std::span<const float, 32> x);
BlockQ5_0 QuantizeBlockQ5_0(std::span<const float, 32> x);
BlockQ4_K QuantizeBlockQ4_K(std::span<const float, 256> x);
BlockQ6_K QuantizeBlockQ6_K(std::span<const float, 256> x);
BlockQ8_K QuantizeBlockQ8_K(std::span<const float, 256> x);

// Encodes `src` (a whole number of blocks of `type`) into exactly
// RowBytes(type, src.size()) bytes of `dst`.
// Supported: F32, F16, BF16, Q8_0, Q8_1, Q5_0, Q4_K, Q6_K, Q8_K.
// Returns InvalidArgument on size mismatches or a non-finite input (naming its index;
// F32/F16/BF16 accept any value), Unimplemented for other types. Thread-safe.
absl::Status QuantizeRow(GgmlType type, std::span<const float> src, std::span<uint8_t> dst);

// Whether QuantizeRow accepts `type`.
bool CanQuantize(GgmlType type);

}  // namespace smollm::runtime
