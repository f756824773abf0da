// The AVX-512 VNNI int8 matvec over Q6_K x16 weights (q6k_x16.h) against Q8_K
// activations. Included by quant_matvec-inl.h after q4k_x16_kernel-inl.h (whose helpers
// it uses), only where AVX-512 VNNI is compiled in (no include guard on purpose).
//
// Lane r of every vector is row r of the 16-row group. Per sub-block (16 elements): three
// loads and nine logic ops give the four vectors of unsigned 6-bit quants; per column,
// 4 vpdpbusd with broadcast activation dwords, started from -32 times the sub-block's
// activation sum (Q8_K bsums: the quants' offset of 32 comes off before the scale), then
// one multiply by the 16 rows' scales. Exact integers until one float multiply-add per
// block and column, the same sequence for every column count.
//
// The layout and the offset folded into the sums' start replaced a layout of 4-bit and
// 2-bit planes (two shifts and a merge per quant vector) and a per-block pass of 8
// vpdpwssd for the offset: about 270 instead of 410 vector instructions per block and
// column, which matters because Q6_K is the costliest format per byte (0.82 bytes per
// weight) and holds 30 % of a SmolLM3-3B Q4_K_M file's bytes.

template <int N>
void MatVecQ6KX16(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 256;
  const __m512i six_bits = _mm512_set1_epi8(0x3f);
  const __m512i bits_0_1 = _mm512_set1_epi8(0x03);
  const __m512i bits_0_3 = _mm512_set1_epi8(0x0f);
  constexpr int kSelect = 0xca;  // ternary logic, bit by bit: a ? b : c
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m512 acc[N];
    for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ6KX16BlockBytes) {
      alignas(64) int32_t start[N][16];  // -32 * the activations' sub-block sums
      __m512i isum[N];
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        const __m512i bsums = _mm512_cvtepi16_epi32(Load256(a + kQ8_KBsumsOffset));
        _mm512_store_si512(start[c], _mm512_sub_epi32(_mm512_setzero_si512(),
                                                      _mm512_slli_epi32(bsums, 5)));
        isum[c] = _mm512_setzero_si512();
      }
      if constexpr (N == 1) PrefetchNextActivations(p.act + (b + 1) * kQ8_KBytes);
      for (int j = 0; j < 16; ++j) {
        // An eighth of the block (420 bytes) ahead per sub-block pair: seven lines.
        if constexpr (N > 1) {
          if (j % 2 == 0) PrefetchAhead(w + (kQ6KX16BlockBytes / 8) * (j / 2), 7);
        }
        const uint8_t* q = w + kQ6KX16QuantsOffset + j * kQ6KX16SubBlockBytes;
        const __m512i v0 = _mm512_loadu_si512(q), v1 = _mm512_loadu_si512(q + 64),
                      v2 = _mm512_loadu_si512(q + 128);
        __m512i quants[4];  // step s: elements 16j + 4s + e
        quants[0] = _mm512_and_si512(v0, six_bits);
        quants[1] = _mm512_and_si512(v1, six_bits);
        quants[2] = _mm512_and_si512(v2, six_bits);
        // Step 3 from the vectors' top bits: bits 0-1 of v0's, 2-3 of v1's, 4-5 of v2's.
        // The 16-bit shifts pull the neighbouring byte's bits into the ones the selects
        // and the final AND drop.
        const __m512i low4 = _mm512_ternarylogic_epi32(bits_0_1, _mm512_srli_epi16(v0, 6),
                                                       _mm512_srli_epi16(v1, 4), kSelect);
        quants[3] = _mm512_and_si512(
            _mm512_ternarylogic_epi32(bits_0_3, low4, _mm512_srli_epi16(v2, 2), kSelect),
            six_bits);
        const __m512i scale = _mm512_cvtepi8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + kQ6KX16ScalesOffset + 16 * j)));
        for (int c = 0; c < N; ++c) {
          const uint8_t* a =
              p.act + c * p.act_row_bytes + b * kQ8_KBytes + kQ8_KQuantsOffset + 16 * j;
          __m512i d = _mm512_set1_epi32(start[c][j]);
          for (int s = 0; s < 4; ++s) d = _mm512_dpbusd_epi32(d, quants[s], Broadcast32(a + 4 * s));
          isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(d, scale));
        }
      }
      const __m512 d = LoadF16x16(w);
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]),
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
