// CPU kernels for AVX-512 F/BW/VL/VNNI + FMA + F16C, compiled with those flags (see
// CMakeLists.txt) and used only when the CPU reports them. The dequantizers are the AVX2
// code; the compiler may widen the plain loops to 512 bits.
#define SMOLLM_CPU_ISA_NAMESPACE avx512
#define SMOLLM_CPU_ISA CpuIsa::kAvx512
#include "runtime/backend/cpu/cpu_kernels-inl.h"

namespace smollm::runtime::cpu {
const CpuKernels& Avx512Kernels() { return avx512::Kernels(); }
}  // namespace smollm::runtime::cpu
