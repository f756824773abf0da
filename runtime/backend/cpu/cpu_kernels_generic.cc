// CPU kernels for the baseline ISA; the int8 matvecs are the scalar references.
#define SMOLLM_CPU_ISA_NAMESPACE generic
#define SMOLLM_CPU_ISA CpuIsa::kGeneric
#include "runtime/backend/cpu/cpu_kernels-inl.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"

namespace smollm::runtime::cpu {
namespace generic {
QuantMatVecFn QuantMatVecFor(GgmlType type) { return ReferenceQuantMatVec(type); }
void QuantizeActivations(GgmlType act_type, const float* x, uint8_t* dst, int64_t n) {
  ReferenceQuantizeActivations(act_type, x, dst, n);
}
QuantMatVecFn X16MatVec(GgmlType) noexcept { return nullptr; }
}  // namespace generic

const CpuKernels& GenericKernels() { return generic::Kernels(); }
}  // namespace smollm::runtime::cpu
