// AVX2 unpacking of the 32-element quant blocks, shared by the dequantizers
// (cpu_kernels-inl.h) and the int8 kernels (quant_matvec-inl.h). Included inside their
// per-ISA anonymous namespace, after <immintrin.h> and <cstring>: every ISA unit gets
// its own internal copy (no include guard on purpose).

// fp16 scale at p, exact (like Fp16ToFp32 for every finite value).
float LoadF16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// Eight fp16 values at p as floats (exact).
inline __m256 LoadF16x8(const void* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
}

#if defined(__AVX512F__)
// Sixteen fp16 values at p as floats (exact).
inline __m512 LoadF16x16(const void* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
}
#endif

// The 32 quants of a block's 16 nibble bytes: low nibbles first, then high nibbles.
__m256i Nibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), mask), _mm_and_si128(v, mask));
}

// Bit i of the little-endian 32-bit qh as 0x10 in byte i.
__m256i FifthBits(const uint8_t* qh_bytes) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}
