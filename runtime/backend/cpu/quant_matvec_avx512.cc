// Int8 matvec kernels for AVX-512 F/BW/VL/VNNI (vpdpbusd dot products), compiled with
// those flags and -ffp-contract=off (see CMakeLists.txt), used only when the CPU reports them.
#define SMOLLM_CPU_ISA_NAMESPACE avx512
#include "runtime/backend/cpu/quant_matvec-inl.h"
