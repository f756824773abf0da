// Move-only owners of CUDA runtime resources: device and pinned host memory, streams,
// events, captured graphs. Creation returns absl::Status (via CudaStatus); destruction
// never fails loudly (a failing free at teardown has nobody to report to).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"

namespace smollm::runtime::cuda {

// A handle with a destroy function, moved like unique_ptr.
template <class Handle, cudaError_t (*kDestroy)(Handle)>
class CudaHandle {
 public:
  CudaHandle() = default;
  explicit CudaHandle(Handle h) : handle_(h) {}
  CudaHandle(CudaHandle&& other) noexcept : handle_(std::exchange(other.handle_, Handle{})) {}
  CudaHandle& operator=(CudaHandle&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  CudaHandle(const CudaHandle&) = delete;
  CudaHandle& operator=(const CudaHandle&) = delete;
  ~CudaHandle() { Reset(); }

  Handle get() const { return handle_; }
  explicit operator bool() const { return handle_ != Handle{}; }
  Handle release() { return std::exchange(handle_, Handle{}); }  // the caller now owns it
  void Reset() {
    if (handle_ != Handle{}) kDestroy(handle_);
    handle_ = Handle{};
  }

 private:
  Handle handle_{};
};

using Stream = CudaHandle<cudaStream_t, cudaStreamDestroy>;
using Event = CudaHandle<cudaEvent_t, cudaEventDestroy>;
using Graph = CudaHandle<cudaGraph_t, cudaGraphDestroy>;
using GraphExec = CudaHandle<cudaGraphExec_t, cudaGraphExecDestroy>;
using DevicePtr = CudaHandle<void*, cudaFree>;
using PinnedPtr = CudaHandle<void*, cudaFreeHost>;

// Device memory of a known size.
struct DeviceMemory {
  DevicePtr ptr;
  uint64_t bytes = 0;
  void* data() const { return ptr.get(); }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr.get());
  }
};

// Page-locked host memory (async copies from it need no staging by the driver).
struct PinnedMemory {
  PinnedPtr ptr;
  uint64_t bytes = 0;
  void* data() const { return ptr.get(); }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr.get());
  }
};

absl::StatusOr<DeviceMemory> AllocateDevice(uint64_t bytes);
absl::StatusOr<PinnedMemory> AllocatePinned(uint64_t bytes);
absl::StatusOr<Stream> CreateStream();  // non-blocking with respect to the legacy stream
absl::StatusOr<Event> CreateEvent();    // with timing

}  // namespace smollm::runtime::cuda
