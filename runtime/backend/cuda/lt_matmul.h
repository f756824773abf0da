// Prefill matmuls through cuBLASLt: a quantized weight is dequantized tile by tile into a
// reusable 16-bit device scratch (gemm_plan.h), the f32 activations are converted to the
// same type, and each tile is one tensor-core GEMM with f32 accumulation (compute type
// 32F) and f32 output straight into the caller's activations.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <memory>

#include "absl/status/statusor.h"
#include "runtime/backend/backend.h"
#include "runtime/backend/cuda/cuda_raii.h"
#include "runtime/backend/cuda/gemm_plan.h"
#include "runtime/backend/cuda/prefill_kernels.h"

namespace smollm::runtime::cuda {

class LtMatmul {
 public:
  // The cuBLASLt handle, its workspace (sized once) and the weight-tile scratch.
  // FailedPrecondition when cuBLASLt cannot start; ResourceExhausted without the memory.
  static absl::StatusOr<std::unique_ptr<LtMatmul>> Create(GemmType type);
  ~LtMatmul();
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;

  // out = x · wᵀ, enqueued on `stream`. x: [m, w.cols] f32, out: [m, w.rows] f32 with
  // 16-byte aligned rows. Grows the activation scratch when x is the largest yet (which
  // synchronizes `stream`). Unimplemented when cuBLASLt offers no algorithm for a shape.
  absl::Status MatMul(cudaStream_t stream, const Weight& w, const Activations& x,
                      const Activations& out);

  size_t cached_plans() const { return plans_.size(); }

 private:
  // D[n x m] (ldd) = op(A) · B with A the k x n column-major view of the row-major
  // weight tile (op = transpose) and B the k x m view of the row-major activations.
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
    Plan() = default;
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;
    ~Plan();
  };
  LtMatmul(cublasLtHandle_t handle, GemmType type) : handle_(handle), type_(type) {}
  absl::StatusOr<Plan*> PlanFor(const GemmShape& shape);

  cublasLtHandle_t handle_;
  GemmType type_;
  DeviceMemory workspace_;
  DeviceMemory weight_tile_;   // kDequantTileElements 16-bit values
  DeviceMemory activations_;   // m x k 16-bit values, grown on demand
  GemmPlanCache<Plan> plans_{64};
};

}  // namespace smollm::runtime::cuda
