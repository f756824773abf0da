// Creation of the CUDA resources owned by cuda_raii.h's handles.
#include "runtime/backend/cuda/cuda_raii.h"

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/core/status.h"

namespace smollm::runtime::cuda {

absl::StatusOr<DeviceMemory> AllocateDevice(uint64_t bytes) {
  void* p = nullptr;
  if (bytes > 0) {
    RETURN_IF_ERROR(CudaStatus(cudaMalloc(&p, bytes), absl::StrCat("cudaMalloc(", bytes, ")")));
  }
  return DeviceMemory{DevicePtr(p), bytes};
}

absl::StatusOr<PinnedMemory> AllocatePinned(uint64_t bytes) {
  void* p = nullptr;
  if (bytes > 0) {
    RETURN_IF_ERROR(
        CudaStatus(cudaMallocHost(&p, bytes), absl::StrCat("cudaMallocHost(", bytes, ")")));
  }
  return PinnedMemory{PinnedPtr(p), bytes};
}

absl::StatusOr<Stream> CreateStream() {
  cudaStream_t s = nullptr;
  RETURN_IF_ERROR(
      CudaStatus(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"));
  return Stream(s);
}

absl::StatusOr<Event> CreateEvent() {
  cudaEvent_t e = nullptr;
  RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&e), "cudaEventCreate"));
  return Event(e);
}

}  // namespace smollm::runtime::cuda
