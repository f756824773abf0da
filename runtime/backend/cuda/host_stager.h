// Stages small host arrays (token ids, positions, page tables) on the device for the
// eager ops of the CUDA backend: a pinned ring copied asynchronously, reused after the
// stream has been synchronized.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend/cuda/cuda_raii.h"

namespace smollm::runtime::cuda {

class HostStager {
 public:
  static absl::StatusOr<HostStager> Create(uint64_t bytes);

  // A device copy of `bytes` at `src`, enqueued on `stream`: valid for the work enqueued
  // after it until Reset. When the buffer is full a larger one takes over and the full one
  // stays alive, unmodified, until Reset: an op stages several arrays before launching its
  // kernel, so restarting at offset zero (or freeing) mid-op would let a later array
  // overwrite an earlier one that the kernel has yet to read. The buffer thus grows to
  // what one step stages, once. The same bytes from the same address as a
  // copy made since the last Reset reuse that copy: the forward pass hands every layer
  // the same positions and page tables, which then cross to the device once per step.
  // Not for use during graph capture.
  absl::StatusOr<const void*> Stage(cudaStream_t stream, const void* src, uint64_t bytes);

  // The caller has synchronized the stream: every staged copy has been consumed, and the
  // buffers outgrown since the last Reset are freed.
  void Reset() {
    used_ = 0;
    recent_.clear();
    retired_.clear();
  }

  uint64_t bytes_copied() const { return bytes_copied_; }  // host -> device, ever

 private:
  HostStager() = default;
  absl::Status Grow(uint64_t bytes);

  PinnedMemory host_;
  DeviceMemory device_;
  uint64_t used_ = 0;
  struct Retired {  // outgrown since the last Reset; copies in flight may still use them
    PinnedMemory host;
    DeviceMemory device;
  };
  std::vector<Retired> retired_;
  struct Copy {
    const void* src;
    uint64_t bytes;
    uint64_t offset;
  };
  std::vector<Copy> recent_;  // copies since the last Reset, newest last
  uint64_t bytes_copied_ = 0;
};

}  // namespace smollm::runtime::cuda
