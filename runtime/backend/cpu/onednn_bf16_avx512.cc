// f32 -> bf16 rows with AVX512-BF16 (vcvtne2ps2bf16), for the oneDNN matmul's weight
// tiles; compiled with that ISA's flags and called only where the CPU has it.
#include <immintrin.h>

#include <cstdint>

namespace smollm::runtime::cpu {

// Round to nearest even; NaN stays NaN. Inputs below 2^-126 (denormals) become zero, as
// the instruction does: far below anything a weight or activation row sums to.
void ToBf16Avx512(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh packed =
        _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
    _mm512_storeu_si512(dst + i, reinterpret_cast<__m512i>(packed));
  }
  if (i < n) {
    const __mmask16 lo = static_cast<__mmask16>((1u << (n - i < 16 ? n - i : 16)) - 1);
    const __mmask16 hi = static_cast<__mmask16>(n - i > 16 ? (1u << (n - i - 16)) - 1 : 0);
    const __m512bh packed = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + i + 16),
                                                _mm512_maskz_loadu_ps(lo, src + i));
    _mm512_mask_storeu_epi16(dst + i, static_cast<__mmask32>(lo) | (static_cast<__mmask32>(hi) << 16),
                             reinterpret_cast<__m512i>(packed));
  }
}

}  // namespace smollm::runtime::cpu
