// LoadCublasLt finds the toolkit's cuBLASLt without a GPU and binds every entry point;
// the binaries that link the CUDA backend do not load it at startup.
#include "runtime/backend/cuda/cublaslt_api.h"

#include <link.h>

#include <cstring>

#include "gtest/gtest.h"

namespace smollm::runtime::cuda {
namespace {

bool CublasLtIsMapped() {
  bool found = false;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, "libcublasLt") != nullptr) {
          *static_cast<bool*>(data) = true;
        }
        return 0;
      },
      &found);
  return found;
}

TEST(CublasLtApiTest, NotLoadedAtStartupThenLoadedOnDemandWithEveryEntryPoint) {
  // Linked at startup its static TLS would sit on every thread's stack (see the header).
  EXPECT_FALSE(CublasLtIsMapped());
  absl::StatusOr<const CublasLtApi*> api = LoadCublasLt();
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_TRUE(CublasLtIsMapped());
  const CublasLtApi& a = **api;
  for (const void* fn :
       {reinterpret_cast<const void*>(a.Create), reinterpret_cast<const void*>(a.Destroy),
        reinterpret_cast<const void*>(a.GetStatusName),
        reinterpret_cast<const void*>(a.GetStatusString), reinterpret_cast<const void*>(a.Matmul),
        reinterpret_cast<const void*>(a.MatmulAlgoGetHeuristic),
        reinterpret_cast<const void*>(a.MatmulDescCreate),
        reinterpret_cast<const void*>(a.MatmulDescDestroy),
        reinterpret_cast<const void*>(a.MatmulDescSetAttribute),
        reinterpret_cast<const void*>(a.MatmulPreferenceCreate),
        reinterpret_cast<const void*>(a.MatmulPreferenceDestroy),
        reinterpret_cast<const void*>(a.MatmulPreferenceSetAttribute),
        reinterpret_cast<const void*>(a.MatrixLayoutCreate),
        reinterpret_cast<const void*>(a.MatrixLayoutDestroy)}) {
    EXPECT_NE(fn, nullptr);
  }
  EXPECT_STREQ(a.GetStatusName(CUBLAS_STATUS_SUCCESS), "CUBLAS_STATUS_SUCCESS");
  // Loaded once: the same table again.
  EXPECT_EQ(*LoadCublasLt(), *api);
}

}  // namespace
}  // namespace smollm::runtime::cuda
