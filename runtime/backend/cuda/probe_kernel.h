// A kernel launch that proves this binary carries code for the current device.
#pragma once

#include "absl/status/status.h"

namespace smollm::runtime::cuda {

// Launches a kernel on the current device that fills a small buffer with a pattern and
// checks it on the host. FailedPrecondition when the build has no image for the device.
absl::Status RunProbeKernel();

}  // namespace smollm::runtime::cuda
