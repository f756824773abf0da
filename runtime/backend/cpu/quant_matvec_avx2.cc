// Int8 matvec kernels for AVX2 + FMA + F16C (maddubs dot products), compiled with those
// flags and -ffp-contract=off (see CMakeLists.txt), used only when the CPU reports them.
#define SMOLLM_CPU_ISA_NAMESPACE avx2
#include "runtime/backend/cpu/quant_matvec-inl.h"
