// CPU kernels for AVX2 + FMA + F16C, compiled with those flags (see CMakeLists.txt) and
// used only when the CPU reports them.
#define SMOLLM_CPU_ISA_NAMESPACE avx2
#define SMOLLM_CPU_ISA CpuIsa::kAvx2
#include "runtime/backend/cpu/cpu_kernels-inl.h"

namespace smollm::runtime::cpu {
const CpuKernels& Avx2Kernels() { return avx2::Kernels(); }
}  // namespace smollm::runtime::cpu
