// LtMatmul: per-shape cuBLASLt plans (descriptors, layouts and the heuristic's algorithm,
// queried once), weight tiles dequantized into one scratch, the GEMM per tile.
#include "runtime/backend/cuda/lt_matmul.h"

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cublaslt_api.h"
#include "runtime/backend/cuda/cuda_status.h"
#include "runtime/core/status.h"

namespace smollm::runtime::cuda {
namespace {

// cuBLAS's recommendation for Hopper; plenty for the shapes of 3B-class models.
constexpr uint64_t kWorkspaceBytes = uint64_t{32} << 20;

// The loaded entry points. Only called once LtMatmul::Create has loaded them: every plan,
// handle and status below comes from a created LtMatmul.
const CublasLtApi& Lt() { return **LoadCublasLt(); }

absl::Status LtStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(what, ": ", Lt().GetStatusName(status), " (", Lt().GetStatusString(status), ")"));
}

cudaDataType_t DataType(GemmType type) {
  return type == GemmType::kF16 ? CUDA_R_16F : CUDA_R_16BF;
}

}  // namespace

LtMatmul::Plan::~Plan() {
  if (d != nullptr) Lt().MatrixLayoutDestroy(d);
  if (b != nullptr) Lt().MatrixLayoutDestroy(b);
  if (a != nullptr) Lt().MatrixLayoutDestroy(a);
  if (desc != nullptr) Lt().MatmulDescDestroy(desc);
}

absl::StatusOr<std::unique_ptr<LtMatmul>> LtMatmul::Create(GemmType type) {
  RETURN_IF_ERROR(LoadCublasLt().status());
  cublasLtHandle_t handle = nullptr;
  const cublasStatus_t created = Lt().Create(&handle);
  if (created != CUBLAS_STATUS_SUCCESS) {
    return absl::FailedPreconditionError(
        absl::StrCat("cuBLASLt did not start: ", Lt().GetStatusName(created)));
  }
  std::unique_ptr<LtMatmul> lt(new LtMatmul(handle, type));
  ASSIGN_OR_RETURN(lt->workspace_, AllocateDevice(kWorkspaceBytes));
  ASSIGN_OR_RETURN(lt->weight_tile_, AllocateDevice(kDequantTileElements * sizeof(uint16_t)));
  return lt;
}

LtMatmul::~LtMatmul() {
  plans_ = GemmPlanCache<Plan>(0);
  Lt().Destroy(handle_);
}

absl::StatusOr<LtMatmul::Plan*> LtMatmul::PlanFor(const GemmShape& s) {
  if (Plan* plan = plans_.Find(s)) return plan;
  auto plan = std::make_unique<Plan>();
  const cudaDataType_t in = DataType(type_);
  RETURN_IF_ERROR(LtStatus(Lt().MatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                           "cublasLtMatmulDescCreate"));
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  RETURN_IF_ERROR(LtStatus(Lt().MatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                          &transpose, sizeof(transpose)),
                           "CUBLASLT_MATMUL_DESC_TRANSA"));
  RETURN_IF_ERROR(LtStatus(Lt().MatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB,
                                                          &keep, sizeof(keep)),
                           "CUBLASLT_MATMUL_DESC_TRANSB"));
  RETURN_IF_ERROR(LtStatus(Lt().MatrixLayoutCreate(&plan->a, in, s.k, s.n, s.k), "layout A"));
  RETURN_IF_ERROR(LtStatus(Lt().MatrixLayoutCreate(&plan->b, in, s.k, s.m, s.k), "layout B"));
  RETURN_IF_ERROR(
      LtStatus(Lt().MatrixLayoutCreate(&plan->d, CUDA_R_32F, s.n, s.m, s.ldd), "layout D"));

  cublasLtMatmulPreference_t pref = nullptr;
  RETURN_IF_ERROR(LtStatus(Lt().MatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate"));
  const uint64_t workspace = kWorkspaceBytes;
  // No split-K reduction: each output is one k-loop, as free of the batch as the library
  // allows; output tiles start only 16-byte aligned (column offsets of weight tiles).
  const uint32_t reduction = CUBLASLT_REDUCTION_SCHEME_NONE, align = 16;
  cublasStatus_t set = Lt().MatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
  if (set == CUBLAS_STATUS_SUCCESS) {
    set = Lt().MatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                               &reduction, sizeof(reduction));
  }
  for (const auto attribute :
       {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    if (set == CUBLAS_STATUS_SUCCESS) {
      set = Lt().MatmulPreferenceSetAttribute(pref, attribute, &align, sizeof(align));
    }
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (set == CUBLAS_STATUS_SUCCESS) {
    set = Lt().MatmulAlgoGetHeuristic(handle_, plan->desc, plan->a, plan->b, plan->d, plan->d,
                                         pref, 1, &result, &found);
  }
  Lt().MatmulPreferenceDestroy(pref);
  RETURN_IF_ERROR(LtStatus(set, "cublasLtMatmulAlgoGetHeuristic"));
  if (found == 0) {
    return absl::UnimplementedError(absl::StrCat("cuBLASLt has no algorithm for m=", s.m,
                                                 " n=", s.n, " k=", s.k));
  }
  plan->algo = result.algo;
  return &plans_.Insert(s, std::move(plan));
}

absl::Status LtMatmul::MatMul(cudaStream_t stream, const Weight& w, const Activations& x,
                              const Activations& out) {
  const uint64_t act_bytes = static_cast<uint64_t>(x.rows) * x.cols * sizeof(uint16_t);
  if (activations_.bytes < act_bytes) {
    // The old scratch may still be read by enqueued GEMMs.
    RETURN_IF_ERROR(CudaStatus(cudaStreamSynchronize(stream), "cudaStreamSynchronize"));
    activations_ = DeviceMemory{};
    ASSIGN_OR_RETURN(activations_, AllocateDevice(act_bytes));
  }
  RETURN_IF_ERROR(CudaStatus(LaunchConvertActivations(stream, x, type_, activations_.data()),
                             "activation conversion kernel"));
  const int64_t tile_rows = DequantTileRows(w.rows, w.cols);
  const float alpha = 1.0f, beta = 0.0f;
  for (int64_t r0 = 0; r0 < w.rows; r0 += tile_rows) {
    const int64_t n = std::min(tile_rows, w.rows - r0);
    RETURN_IF_ERROR(CudaStatus(LaunchDequantRows(stream, w, r0, n, type_, weight_tile_.data()),
                               "weight dequantization kernel"));
    ASSIGN_OR_RETURN(Plan * plan,
                     PlanFor({x.rows, n, w.cols, out.stride, static_cast<int>(type_)}));
    float* d = out.data + r0;
    RETURN_IF_ERROR(LtStatus(
        Lt().Matmul(handle_, plan->desc, &alpha, weight_tile_.data(), plan->a,
                       activations_.data(), plan->b, &beta, d, plan->d, d, plan->d, &plan->algo,
                       workspace_.data(), workspace_.bytes, stream),
        "cublasLtMatmul"));
  }
  return absl::OkStatus();
}

}  // namespace smollm::runtime::cuda
