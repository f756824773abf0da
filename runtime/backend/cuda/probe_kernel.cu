// The start-up probe kernel: each thread writes a value derived from its index.
#include "runtime/backend/cuda/probe_kernel.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/core/status.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kProbeThreads = 256;

__host__ __device__ inline uint32_t ProbeValue(uint32_t i) { return i * 2654435761u + 12345u; }

__global__ void ProbeKernel(uint32_t* out) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = ProbeValue(i);
}

}  // namespace

absl::Status RunProbeKernel() {
  uint32_t* device = nullptr;
  RETURN_IF_ERROR(CudaStatus(cudaMalloc(&device, kProbeThreads * sizeof(uint32_t)), "cudaMalloc"));
  ProbeKernel<<<1, kProbeThreads>>>(device);
  absl::Status status = CudaStatus(cudaGetLastError(), "probe kernel launch");
  std::vector<uint32_t> host(kProbeThreads);
  if (status.ok()) {
    status.Update(CudaStatus(cudaMemcpy(host.data(), device, kProbeThreads * sizeof(uint32_t),
                                   cudaMemcpyDeviceToHost),
                        "cudaMemcpy (probe result)"));
  }
  cudaFree(device);
  RETURN_IF_ERROR(status);
  for (uint32_t i = 0; i < kProbeThreads; ++i) {
    if (host[i] != ProbeValue(i)) {
      return absl::InternalError(absl::StrCat("probe kernel wrote a wrong value at ", i));
    }
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime::cuda
