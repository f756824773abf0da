// The portable (4-lane) row kernels and the choice between them and the AVX2 ones.
#include "runtime/sampling/row_kernels.h"

#include "runtime/sampling/row_kernels_simd.h"

namespace smollm::runtime {

#if defined(SMOLLM_SAMPLING_HAVE_AVX2)
// Defined in row_kernels_avx2.cc, which alone is compiled with -mavx2.
const RowKernels& Avx2RowKernelTable();
#endif

const RowKernels& PortableRowKernels() { return Lanes<4>::kTable; }

const RowKernels* Avx2RowKernels() {
#if defined(SMOLLM_SAMPLING_HAVE_AVX2)
  static const bool supported = __builtin_cpu_supports("avx2");
  if (supported) return &Avx2RowKernelTable();
#endif
  return nullptr;
}

const RowKernels& BestRowKernels() {
  static const RowKernels& best =
      Avx2RowKernels() != nullptr ? *Avx2RowKernels() : PortableRowKernels();
  return best;
}

}  // namespace smollm::runtime
