// Selection of the per-ISA kernel tables.
#include "runtime/backend/cpu/cpu_kernels.h"

namespace smollm::runtime::cpu {

// Defined by the per-ISA translation units (cpu_kernels_<isa>.cc).
const CpuKernels& GenericKernels();
const CpuKernels& Avx2Kernels();
const CpuKernels& Avx512Kernels();

const CpuKernels& KernelsFor(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512:
#if defined(__x86_64__)
      return Avx512Kernels();
#else
      break;
#endif
    case CpuIsa::kAvx2:
#if defined(__x86_64__)
      return Avx2Kernels();
#else
      break;
#endif
    case CpuIsa::kGeneric:
      break;
  }
  return GenericKernels();
}

const CpuKernels& BestKernels() {
  static const CpuKernels& best = KernelsFor(BestCpuIsa());
  return best;
}

}  // namespace smollm::runtime::cpu
