// Turns CUDA runtime error codes into absl::Status, the only error currency of the runtime.
#pragma once

#include <cuda_runtime_api.h>

#include <string_view>

#include "absl/status/status.h"

namespace smollm::runtime::cuda {

// OK for cudaSuccess; otherwise a status naming the failed call and CUDA's own message.
// A missing or too old driver and an absent device map to FailedPrecondition (the host
// cannot run CUDA at all); out of memory to ResourceExhausted; the rest to Internal.
absl::Status CudaStatus(cudaError_t error, std::string_view what);

}  // namespace smollm::runtime::cuda
