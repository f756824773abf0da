// CPU kernels for the baseline ISA.
#define SMOLLM_CPU_ISA_NAMESPACE generic
#define SMOLLM_CPU_ISA CpuIsa::kGeneric
#include "runtime/backend/cpu/cpu_kernels-inl.h"

namespace smollm::runtime::cpu {
const CpuKernels& GenericKernels() { return generic::Kernels(); }
}  // namespace smollm::runtime::cpu
