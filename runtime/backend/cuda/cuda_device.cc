// Device enumeration through the CUDA runtime API.
#include "runtime/backend/cuda/cuda_device.h"

#include <cuda_runtime_api.h>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/backend/cuda/probe_kernel.h"
#include "runtime/core/status.h"

namespace smollm::runtime::cuda {
namespace {

absl::StatusOr<CudaDeviceInfo> DescribeDevice(int ordinal) {
  cudaDeviceProp prop{};
  RETURN_IF_ERROR(CudaStatus(cudaGetDeviceProperties(&prop, ordinal),
                             absl::StrCat("cudaGetDeviceProperties(", ordinal, ")")));
  CudaDeviceInfo info;
  info.ordinal = ordinal;
  info.name = prop.name;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.total_memory_bytes = prop.totalGlobalMem;
  info.multiprocessors = prop.multiProcessorCount;
  return info;
}

}  // namespace

absl::StatusOr<std::vector<CudaDeviceInfo>> ListCudaDevices() {
  int count = 0;
  RETURN_IF_ERROR(CudaStatus(cudaGetDeviceCount(&count), "cudaGetDeviceCount"));
  if (count == 0) return absl::FailedPreconditionError("no CUDA device is visible");
  std::vector<CudaDeviceInfo> devices;
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(CudaDeviceInfo info, DescribeDevice(i));
    devices.push_back(std::move(info));
  }
  return devices;
}

absl::StatusOr<CudaDeviceInfo> ProbeCudaDevice(int ordinal) {
  ASSIGN_OR_RETURN(std::vector<CudaDeviceInfo> devices, ListCudaDevices());
  if (ordinal < 0 || ordinal >= static_cast<int>(devices.size())) {
    return absl::InvalidArgumentError(absl::StrCat("CUDA device ", ordinal, " does not exist (",
                                                   devices.size(), " visible)"));
  }
  RETURN_IF_ERROR(CudaStatus(cudaSetDevice(ordinal), absl::StrCat("cudaSetDevice(", ordinal, ")")));
  RETURN_IF_ERROR(RunProbeKernel());
  return devices[ordinal];
}

}  // namespace smollm::runtime::cuda
