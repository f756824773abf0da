// Discovery of CUDA devices and a start-up check that this binary's kernels run on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace smollm::runtime::cuda {

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int compute_major = 0;  // compute capability, e.g. 9.0 for H100
  int compute_minor = 0;
  uint64_t total_memory_bytes = 0;
  int multiprocessors = 0;
};

// Every visible device. FailedPrecondition when there is no driver, no device, or the
// driver is too old for this build; never aborts.
absl::StatusOr<std::vector<CudaDeviceInfo>> ListCudaDevices();

// Selects `ordinal` and launches a small kernel that must write a known pattern: this
// catches a build whose architecture list does not cover the device
// (cudaErrorNoKernelImageForDevice) at start-up rather than at the first request.
absl::StatusOr<CudaDeviceInfo> ProbeCudaDevice(int ordinal);

}  // namespace smollm::runtime::cuda
