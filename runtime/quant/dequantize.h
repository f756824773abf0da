// Scalar reference dequantization of one row of any supported GGUF tensor type: the
// oracle that every SIMD and CUDA kernel is tested against. The per-block decoders it
// dispatches to (DequantizeBlock in q4.h ... q8_k.h) are constexpr and free of library
// calls, so CUDA code can call them directly (nvcc --expt-relaxed-constexpr).
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime {

// Decodes `dst.size()` elements of `type` from `src` into `dst`.
//   src: exactly RowBytes(type, dst.size()) bytes of GGUF blocks (any alignment).
//   dst: a whole number of blocks of the type.
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q5_K, Q6_K, Q8_K.
// Results are bit-identical to the gguf package's numpy dequantizers (and to ggml's
// scalar code); NaN payloads in F32/F16/BF16 pass through unchanged. In every format the
// products of scales and quants are exact in fp32, so a value is rounded at most once
// (by a min's addition, or by Q8_K's fp32 scale): fast kernels can match these bits in
// any evaluation order, FMA included, as long as they decode the fp16 fields exactly.
// Returns InvalidArgument when the sizes disagree, Unimplemented for other types.
// Thread-safe (no state).
absl::Status DequantizeRow(GgmlType type, std::span<const uint8_t> src, std::span<float> dst);

// Whether DequantizeRow accepts `type`.
bool CanDequantize(GgmlType type);

}  // namespace smollm::runtime
