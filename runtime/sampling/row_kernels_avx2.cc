// The 8-lane row kernels. This file alone is built with -mavx2; it is only reached
// through Avx2RowKernels(), after the CPU was checked for AVX2.
#include "runtime/sampling/row_kernels.h"
#include "runtime/sampling/row_kernels_simd.h"

namespace smollm::runtime {

const RowKernels& Avx2RowKernelTable() { return Lanes<8>::kTable; }

}  // namespace smollm::runtime
