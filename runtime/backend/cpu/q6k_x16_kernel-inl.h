// The AVX-512 VNNI int8 matvec over Q6_K x16 weights (q6k_x16.h) against Q8_K
// activations. Included by quant_matvec-inl.h after q4k_x16_kernel-inl.h (whose helpers
// it uses), only where AVX-512 VNNI is compiled in (no include guard on purpose).
//
// Lane r of every vector is row r of the 16-row group. Per sub-block (16 elements) and
// column: 4 vpdpbusd of the unsigned 6-bit quants with broadcast activation dwords, then
// one multiply by the 16 rows' scales; the -32 offset meets the activations' sub-block
// sums (Q8_K bsums) in 8 vpdpwssd per block. Exact integers until one float multiply-add
// per block and column, the same sequence for every column count.

// The 16 rows' int8 scales of sub-block pair t as int16 pairs (dword lane r holds rows
// r's scales of sub-blocks 2t and 2t + 1).
__m512i Q6KScalePairs(const uint8_t* block, int t) {
  return _mm512_cvtepi8_epi16(_mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(block + kQ6KX16ScalesOffset + 32 * t)));
}

template <int N>
void MatVecQ6KX16(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 256;
  const __m512i low_mask = _mm512_set1_epi8(0x0f);
  const __m512i high_mask = _mm512_set1_epi8(0x30);
  constexpr int kOrAnd = 0xf8;  // ternary logic: a | (b & c)
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m512 acc[N];
    for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ6KX16BlockBytes) {
      __m512i isum[N];
      for (int c = 0; c < N; ++c) isum[c] = _mm512_setzero_si512();
      if constexpr (N == 1) PrefetchNextActivations(p.act + (b + 1) * kQ8_KBytes);
      for (int o = 0; o < 8; ++o) {
        // An eighth of the block (420 bytes) ahead per octet: seven lines cover it.
        if constexpr (N > 1) PrefetchAhead(w + (kQ6KX16BlockBytes / 8) * o, 7);
        const uint8_t* q = w + kQ6KX16QuantsOffset + o * kQ6KX16OctetBytes;
        __m512i quants[8];  // step s: elements 32o + 4s (s < 4), 32o + 16 + 4(s - 4)
        const __m512i h0 = _mm512_loadu_si512(q + 256), h1 = _mm512_loadu_si512(q + 320);
        for (int c = 0; c < 4; ++c) {
          const __m512i bytes = _mm512_loadu_si512(q + 64 * c);
          const __m512i lo = _mm512_and_si512(bytes, low_mask);
          const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_mask);
          // Top bits 2c, 2c + 1 of each byte moved to bits 4, 5.
          const int shift = 4 - 2 * c;
          const __m512i t0 = shift >= 0 ? _mm512_slli_epi16(h0, shift) : _mm512_srli_epi16(h0, -shift);
          const __m512i t1 = shift >= 0 ? _mm512_slli_epi16(h1, shift) : _mm512_srli_epi16(h1, -shift);
          quants[c] = _mm512_ternarylogic_epi32(lo, t0, high_mask, kOrAnd);
          quants[c + 4] = _mm512_ternarylogic_epi32(hi, t1, high_mask, kOrAnd);
        }
        const __m512i pairs = Q6KScalePairs(w, o);
        const __m512i scale_even = _mm512_srai_epi32(_mm512_slli_epi32(pairs, 16), 16);
        const __m512i scale_odd = _mm512_srai_epi32(pairs, 16);
        for (int c = 0; c < N; ++c) {
          const uint8_t* a =
              p.act + c * p.act_row_bytes + b * kQ8_KBytes + kQ8_KQuantsOffset + 32 * o;
          __m512i d0 = _mm512_setzero_si512(), d1 = _mm512_setzero_si512();
          for (int s = 0; s < 4; ++s) {
            d0 = _mm512_dpbusd_epi32(d0, quants[s], Broadcast32(a + 4 * s));
            d1 = _mm512_dpbusd_epi32(d1, quants[s + 4], Broadcast32(a + 16 + 4 * s));
          }
          isum[c] = _mm512_add_epi32(isum[c], _mm512_add_epi32(_mm512_mullo_epi32(d0, scale_even),
                                                               _mm512_mullo_epi32(d1, scale_odd)));
        }
      }
      __m512i pairs[8];
      for (int t = 0; t < 8; ++t) pairs[t] = Q6KScalePairs(w, t);
      const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        // Sum over sub-blocks of scale * (sum of its 16 activations): the -32 offset's term.
        __m512i offset = _mm512_setzero_si512();
        for (int t = 0; t < 8; ++t) {
          offset = _mm512_dpwssd_epi32(offset, pairs[t], Broadcast32(a + kQ8_KBsumsOffset + 4 * t));
        }
        const __m512i total = _mm512_sub_epi32(isum[c], _mm512_slli_epi32(offset, 5));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total),
                                 _mm512_mul_ps(d, _mm512_set1_ps(LoadF32(a))), acc[c]);
      }
    }
    for (int c = 0; c < N; ++c) _mm512_storeu_ps(p.out + c * p.out_stride + row0, acc[c]);
  }
}

template <int N>
struct Q6KX16Kernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ6KX16<N>(p); }
};
