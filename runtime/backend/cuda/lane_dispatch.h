// Dispatch from a GGUF weight type to its block_decode.h lane decoder; included by the
// .cu files whose kernels are templated on the decoder (mat-vec, embedding, dequant).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/backend/cuda/block_decode.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cuda {

// Calls f.template operator()<Lanes>() for the decoder of `type`; cudaErrorInvalidValue
// for a type without one (KernelSupports names the same set).
template <class F>
cudaError_t WithLanes(GgmlType type, F&& f) {
  switch (type) {
    case GgmlType::kQ4_K: return f.template operator()<Q4KLanes>();
    case GgmlType::kQ6_K: return f.template operator()<Q6KLanes>();
    case GgmlType::kQ8_0: return f.template operator()<Q8_0Lanes>();
    case GgmlType::kQ4_0: return f.template operator()<Q4_0Lanes>();
    case GgmlType::kQ4_1: return f.template operator()<Q4_1Lanes>();
    case GgmlType::kQ5_0: return f.template operator()<Q5_0Lanes>();
    case GgmlType::kQ5_1: return f.template operator()<Q5_1Lanes>();
    case GgmlType::kF32: return f.template operator()<F32Lanes>();
    case GgmlType::kF16: return f.template operator()<F16Lanes>();
    default: return cudaErrorInvalidValue;
  }
}

// Lane units (8 weights each) of a row of `cols` weights.
template <class L>
int Units(int64_t cols) {
  return static_cast<int>(cols / L::kElements * L::kLanes);
}

}  // namespace smollm::runtime::cuda
