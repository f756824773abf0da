// CPU feature detection through the compiler's cpuid wrappers.
#include "runtime/backend/cpu/cpu_features.h"

namespace smollm::runtime::cpu {

std::string_view CpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kGeneric: return "generic";
    case CpuIsa::kAvx2: return "avx2";
  }
  return "unknown";
}

bool CpuSupports(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kGeneric:
      return true;
    case CpuIsa::kAvx2:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
#else
      return false;
#endif
  }
  return false;
}

CpuIsa BestCpuIsa() { return CpuSupports(CpuIsa::kAvx2) ? CpuIsa::kAvx2 : CpuIsa::kGeneric; }

}  // namespace smollm::runtime::cpu
