// smollm-server's --device handling: the accepted spellings, the FailedPrecondition of a
// build without the CUDA backend or a machine without the device, and the backend that
// CreateBackend returns for each.
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/server_options.h"
#ifdef SMOLLM_HAVE_CUDA
#include "runtime/backend/cuda/cuda_device.h"
#endif

namespace smollm::service {
namespace {

// Devices this process can use: none in a build without CUDA.
int CudaDevices() {
#ifdef SMOLLM_HAVE_CUDA
  auto devices = runtime::cuda::ListCudaDevices();
  return devices.ok() ? static_cast<int>(devices->size()) : 0;
#else
  return 0;
#endif
}

runtime::ModelConfig SmallConfig() {
  runtime::ModelConfig c;
  c.d_model = 64;
  c.d_ffn = 128;
  return c;
}

TEST(DeviceOption, Spellings) {
  EXPECT_FALSE(ParseDevice("cpu")->cuda);
  EXPECT_TRUE(ParseDevice("cuda")->cuda);
  EXPECT_EQ(ParseDevice("cuda")->ordinal, 0);
  EXPECT_EQ(ParseDevice("cuda:3")->ordinal, 3);
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "cuda:1234",
                          "cuda0", " cpu"}) {
    const auto parsed = ParseDevice(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), "--device")) << bad;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), absl::StrCat("'", bad, "'"))) << bad;
  }
}

TEST(DeviceOption, CudaNeedsTheBackendAndTheDevice) {
  ServerOptions o;
  o.model_path = "m.gguf";
  o.device = "cuda:0";
  const absl::Status status = ValidateServerOptions(o);
  if (CudaDevices() == 0) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
#ifdef SMOLLM_HAVE_CUDA
    EXPECT_TRUE(absl::StrContains(status.message(), "no usable CUDA device")) << status;
#else
    EXPECT_TRUE(absl::StrContains(status.message(), "SMOLLM_WITH_CUDA")) << status;
#endif
  } else {
    EXPECT_TRUE(status.ok()) << status;
    o.device = "cuda:" + std::to_string(CudaDevices());  // one past the last device
    EXPECT_EQ(ValidateServerOptions(o).code(), absl::StatusCode::kFailedPrecondition);
  }
  o.device = "tpu";
  EXPECT_EQ(ValidateServerOptions(o).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DeviceOption, CreateBackendPicksTheNamedOne) {
  runtime::ThreadPool pool(1);
  ServerOptions o;
  o.model_path = "m.gguf";
  auto cpu = CreateBackend(o, SmallConfig(), pool);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  EXPECT_EQ((*cpu)->name(), "cpu");
  o.device = "cuda";
  auto cuda = CreateBackend(o, SmallConfig(), pool);
  if (CudaDevices() == 0) {
    EXPECT_EQ(cuda.status().code(), absl::StatusCode::kFailedPrecondition) << cuda.status();
  } else {
    ASSERT_TRUE(cuda.ok()) << cuda.status();
    EXPECT_EQ((*cuda)->name(), "cuda");
  }
}

}  // namespace
}  // namespace smollm::service
