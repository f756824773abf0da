// LoadCublasLt: dlopen of the toolkit's libcublasLt (by soname, then from the toolkit's
// library directory this build was configured with) and dlsym of each entry point.
#include "runtime/backend/cuda/cublaslt_api.h"

#include <dlfcn.h>

#include <string>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"

namespace smollm::runtime::cuda {
namespace {

void* OpenLibrary(std::string* error) {
  const std::string soname = absl::StrCat("libcublasLt.so.", CUBLAS_VER_MAJOR);
  if (void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  *error = dlerror();
#ifdef SMOLLM_CUDA_LIBRARY_DIR
  const std::string path = absl::StrCat(SMOLLM_CUDA_LIBRARY_DIR, "/", soname);
  if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  absl::StrAppend(error, "; ", dlerror());
#endif
  return nullptr;
}

template <typename Fn>
bool Bind(void* library, const char* name, Fn* slot, std::string* error) {
  *slot = reinterpret_cast<Fn>(dlsym(library, name));
  if (*slot == nullptr) *error = absl::StrCat("symbol ", name, " missing: ", dlerror());
  return *slot != nullptr;
}

struct Loaded {
  CublasLtApi api{};
  std::string error;  // empty when every entry point was found
};

Loaded Load() {
  Loaded out;
  void* lib = OpenLibrary(&out.error);
  if (lib == nullptr) return out;
  CublasLtApi& a = out.api;
  std::string& e = out.error;
  const bool ok = Bind(lib, "cublasLtCreate", &a.Create, &e) &&
                  Bind(lib, "cublasLtDestroy", &a.Destroy, &e) &&
                  Bind(lib, "cublasLtGetStatusName", &a.GetStatusName, &e) &&
                  Bind(lib, "cublasLtGetStatusString", &a.GetStatusString, &e) &&
                  Bind(lib, "cublasLtMatmul", &a.Matmul, &e) &&
                  Bind(lib, "cublasLtMatmulAlgoGetHeuristic", &a.MatmulAlgoGetHeuristic, &e) &&
                  Bind(lib, "cublasLtMatmulDescCreate", &a.MatmulDescCreate, &e) &&
                  Bind(lib, "cublasLtMatmulDescDestroy", &a.MatmulDescDestroy, &e) &&
                  Bind(lib, "cublasLtMatmulDescSetAttribute", &a.MatmulDescSetAttribute, &e) &&
                  Bind(lib, "cublasLtMatmulPreferenceCreate", &a.MatmulPreferenceCreate, &e) &&
                  Bind(lib, "cublasLtMatmulPreferenceDestroy", &a.MatmulPreferenceDestroy, &e) &&
                  Bind(lib, "cublasLtMatmulPreferenceSetAttribute",
                       &a.MatmulPreferenceSetAttribute, &e) &&
                  Bind(lib, "cublasLtMatrixLayoutCreate", &a.MatrixLayoutCreate, &e) &&
                  Bind(lib, "cublasLtMatrixLayoutDestroy", &a.MatrixLayoutDestroy, &e);
  if (ok) e.clear();
  return out;
}

}  // namespace

absl::StatusOr<const CublasLtApi*> LoadCublasLt() {
  static absl::once_flag once;
  static Loaded* loaded = nullptr;
  absl::call_once(once, [] { loaded = new Loaded(Load()); });
  if (!loaded->error.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cuBLASLt could not be loaded: ", loaded->error));
  }
  return &loaded->api;
}

}  // namespace smollm::runtime::cuda
