// CublasLtApi: cuBLASLt's entry points, loaded with dlopen the first time a GPU prefill
// needs them instead of linked into every binary that links the CUDA backend.
//
// Why: libcublasLt carries ~94 KB of static TLS. A library linked at startup puts its
// static TLS on every thread's stack, and libraries that create threads with small fixed
// stacks (Debian's civetweb, under the metrics endpoint) then fail pthread_create — so
// merely linking cuBLASLt broke /metrics on CPU-only runs. Loaded with dlopen, its TLS is
// allocated per thread on first use and only processes that run a GPU prefill load it.
#ifndef SMOLLM_RUNTIME_BACKEND_CUDA_CUBLASLT_API_H_
#define SMOLLM_RUNTIME_BACKEND_CUDA_CUBLASLT_API_H_

#include <cublasLt.h>

#include "absl/status/statusor.h"

namespace smollm::runtime::cuda {

struct CublasLtApi {
  decltype(&cublasLtCreate) Create;
  decltype(&cublasLtDestroy) Destroy;
  decltype(&cublasLtGetStatusName) GetStatusName;
  decltype(&cublasLtGetStatusString) GetStatusString;
  decltype(&cublasLtMatmul) Matmul;
  decltype(&cublasLtMatmulAlgoGetHeuristic) MatmulAlgoGetHeuristic;
  decltype(&cublasLtMatmulDescCreate) MatmulDescCreate;
  decltype(&cublasLtMatmulDescDestroy) MatmulDescDestroy;
  decltype(&cublasLtMatmulDescSetAttribute) MatmulDescSetAttribute;
  decltype(&cublasLtMatmulPreferenceCreate) MatmulPreferenceCreate;
  decltype(&cublasLtMatmulPreferenceDestroy) MatmulPreferenceDestroy;
  decltype(&cublasLtMatmulPreferenceSetAttribute) MatmulPreferenceSetAttribute;
  decltype(&cublasLtMatrixLayoutCreate) MatrixLayoutCreate;
  decltype(&cublasLtMatrixLayoutDestroy) MatrixLayoutDestroy;
};

// The process-wide table, loaded once (thread-safe); FailedPrecondition naming the
// library and dlerror() when it cannot be loaded or lacks a symbol. The library stays
// loaded for the life of the process.
absl::StatusOr<const CublasLtApi*> LoadCublasLt();

}  // namespace smollm::runtime::cuda

#endif  // SMOLLM_RUNTIME_BACKEND_CUDA_CUBLASLT_API_H_
