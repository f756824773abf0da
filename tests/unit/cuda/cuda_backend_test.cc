// CudaBackend::Create on a host without a usable GPU reports FailedPrecondition (never a
// crash); with one, the backend runs a small op sequence through its stream.
#include "runtime/backend/cuda/cuda_backend.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cuda/cuda_device.h"

namespace smollm::runtime {
namespace {

TEST(CudaBackend, CreateFailsCleanlyOrRuns) {
  auto backend = CudaBackend::Create({});
  if (!cuda::ListCudaDevices().ok()) {
    ASSERT_FALSE(backend.ok());
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition)
        << backend.status();
    return;
  }
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto buffer = (*backend)->Allocate(2 * 8 * sizeof(float));
  ASSERT_TRUE(buffer.ok());
  const Activations x{static_cast<float*>(buffer->data()), 2, 8, 8};
  const std::vector<float> values = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  auto table = (*backend)->UploadWeight({GgmlType::kF32, 1, 8, bytes});
  ASSERT_TRUE(table.ok()) << table.status();
  const TokenId tokens[] = {0, 0};
  (*backend)->Embed(*table, tokens, x);
  (*backend)->Add(x, x);
  std::vector<float> out(16);
  ASSERT_TRUE((*backend)->CopyToHost(x, out).ok());
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], 2 * values[i % 8]);
}

TEST(CudaBackend, ReportsEveryMissingDeviceTheSameWay) {
  if (cuda::ListCudaDevices().ok()) GTEST_SKIP() << "a device is present";
  for (int ordinal : {0, 1, 7}) {
    EXPECT_EQ(CudaBackend::Create({ordinal}).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace smollm::runtime
