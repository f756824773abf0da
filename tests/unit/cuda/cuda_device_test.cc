// The CUDA probe either runs its kernel on a real device or fails cleanly without one.
#include "runtime/backend/cuda/cuda_device.h"

#include "gtest/gtest.h"
#include "runtime/backend/cuda/cuda_status.h"

namespace smollm::runtime::cuda {
namespace {

TEST(CudaDevice, ProbeRunsOrFailsCleanly) {
  auto devices = ListCudaDevices();
  if (!devices.ok()) {
    // A host without a driver or device: a clear precondition error, not a crash.
    EXPECT_EQ(devices.status().code(), absl::StatusCode::kFailedPrecondition)
        << devices.status();
    EXPECT_EQ(ProbeCudaDevice(0).status().code(), absl::StatusCode::kFailedPrecondition);
    return;
  }
  ASSERT_FALSE(devices->empty());
  auto probed = ProbeCudaDevice(0);
  ASSERT_TRUE(probed.ok()) << probed.status();
  EXPECT_GE(probed->compute_major, 8);
  EXPECT_EQ(ProbeCudaDevice(static_cast<int>(devices->size())).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CudaStatus, MapsCodes) {
  EXPECT_TRUE(CudaStatus(cudaSuccess, "x").ok());
  EXPECT_EQ(CudaStatus(cudaErrorInsufficientDriver, "x").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CudaStatus(cudaErrorMemoryAllocation, "x").code(),
            absl::StatusCode::kResourceExhausted);
  const absl::Status s = CudaStatus(cudaErrorLaunchFailure, "cudaLaunch");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("cudaLaunch failed"), std::string_view::npos);
}

}  // namespace
}  // namespace smollm::runtime::cuda
