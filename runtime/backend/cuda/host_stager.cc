// HostStager: bump allocation in a pinned buffer mirrored on the device, grown (never wrapped)
// while a step still uses it.
#include "runtime/backend/cuda/host_stager.h"

#include <algorithm>
#include <cstring>

#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/core/status.h"

namespace smollm::runtime::cuda {
namespace {
constexpr uint64_t kAlign = 256;
constexpr size_t kRecentCopies = 16;  // a layer stages about ten arrays
}  // namespace

absl::StatusOr<HostStager> HostStager::Create(uint64_t bytes) {
  HostStager stager;
  RETURN_IF_ERROR(stager.Grow(bytes));
  return stager;
}

absl::Status HostStager::Grow(uint64_t bytes) {
  ASSIGN_OR_RETURN(host_, AllocatePinned(bytes));
  ASSIGN_OR_RETURN(device_, AllocateDevice(bytes));
  used_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<const void*> HostStager::Stage(cudaStream_t stream, const void* src,
                                              uint64_t bytes) {
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
    if (it->src == src && it->bytes == bytes &&
        (bytes == 0 || std::memcmp(host_.as<uint8_t>() + it->offset, src, bytes) == 0)) {
      return device_.as<uint8_t>() + it->offset;
    }
  }
  const uint64_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (used_ + rounded > host_.bytes) {
    // Never reuse or free memory an earlier copy of this step may still be read from: its
    // kernel may not even be enqueued yet. Retire the full buffer until Reset instead.
    retired_.push_back({std::move(host_), std::move(device_)});
    recent_.clear();
    RETURN_IF_ERROR(Grow(std::max(2 * retired_.back().host.bytes, rounded)));
  }
  auto* host = host_.as<uint8_t>() + used_;
  auto* device = device_.as<uint8_t>() + used_;
  if (bytes > 0) std::memcpy(host, src, bytes);
  RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream),
                             "cudaMemcpyAsync (staged step data)"));
  if (recent_.size() == kRecentCopies) recent_.erase(recent_.begin());
  recent_.push_back({src, bytes, used_});
  used_ += rounded;
  bytes_copied_ += bytes;
  return device;
}

}  // namespace smollm::runtime::cuda
