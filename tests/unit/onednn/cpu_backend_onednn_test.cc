// CpuBackend's opt-in oneDNN hook: matmuls of at least the set token count round like
// bf16 (oneDNN), smaller ones and a disabled hook keep the backend's f32 accuracy.
#include <cmath>
#include <cstdlib>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

using testing::MakeWeight;
using testing::RandomFloats;

// RMS over the outputs of |ours - exact| / sqrt(sum_k (w_k x_k)^2): about 2^-9 when the
// inputs were rounded to bf16, about 2^-24 for f32 dot products.
double RmsRelativeError(CpuBackend& backend, int64_t tokens, GgmlType type = GgmlType::kF32) {
  const int64_t rows = 40, cols = 256;
  const testing::TestWeight tw = MakeWeight(type, rows, cols, 5);
  auto w = backend.UploadWeight(tw.Host());
  EXPECT_TRUE(w.ok()) << w.status();
  std::vector<float> x = RandomFloats(tokens * cols, 6);
  std::vector<float> out(tokens * rows);
  backend.MatMul(*w, {x.data(), tokens, cols, cols}, {out.data(), tokens, rows, rows});
  double sum = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double exact = 0, sq = 0;
      for (int64_t k = 0; k < cols; ++k) {
        const double p = static_cast<double>(tw.dequantized[r * cols + k]) * x[t * cols + k];
        exact += p;
        sq += p * p;
      }
      sum += (out[t * rows + r] - exact) * (out[t * rows + r] - exact) / sq;
    }
  }
  return std::sqrt(sum / (tokens * rows));
}

TEST(CpuBackendOnednnTest, HookTakesMatmulsFromTheThreshold) {
  // With oneDNN capped (a CPU without AVX-512) it may decline, and the backend's own
  // kernels must then give their f32 results.
  const bool capped = std::getenv("ONEDNN_MAX_CPU_ISA") != nullptr;
  ThreadPool pool(2);
  CpuBackend backend(pool, 256);
  const double f32_level = std::ldexp(1.0, -18), bf16_level = std::ldexp(1.0, -12);
  EXPECT_LT(RmsRelativeError(backend, 20), f32_level) << "off by default";
  backend.SetOnednnMinTokens(16);
  EXPECT_LT(RmsRelativeError(backend, 15), f32_level) << "below the threshold";
  const double at_threshold = RmsRelativeError(backend, 16);
  if (!capped) {
    EXPECT_GT(at_threshold, bf16_level) << "oneDNN (bf16) from the threshold";
  }
  EXPECT_LT(at_threshold, std::ldexp(1.0, -6));
  backend.SetOnednnMinTokens(0);
  EXPECT_LT(RmsRelativeError(backend, 20), f32_level) << "switched off again";
}

// Q4_K and Q6_K weights the backend repacked (16-row groups where AVX-512 runs them, then
// plain rows): oneDNN reads them through the backend, at bf16 accuracy; the int8 path
// below the threshold is within the activations' 8-bit quantization.
TEST(CpuBackendOnednnTest, ReadsRepackedRows) {
  ThreadPool pool(2);
  CpuBackend backend(pool, 256);
  backend.SetOnednnMinTokens(16);
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    EXPECT_LT(RmsRelativeError(backend, 17, type), std::ldexp(1.0, -6)) << NameOf(type);
    EXPECT_LT(RmsRelativeError(backend, 3, type), std::ldexp(1.0, -5)) << NameOf(type);
  }
}

}  // namespace
}  // namespace smollm::runtime
