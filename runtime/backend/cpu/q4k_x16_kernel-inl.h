// The AVX-512 VNNI int8 matvec over Q4_K x16 weights (q4k_x16.h) against Q8_K
// activations. Included by quant_matvec-inl.h inside its anonymous namespace, only where
// AVX-512 VNNI is compiled in (no include guard on purpose).
//
// Lane r of every vector is row r of the 16-row group. Per sub-block (32 elements) and
// column: 8 vpdpbusd with broadcast activation dwords, then one multiply by the 16 rows'
// scales; the mins meet the activations' sub-block sums in 4 vpdpwssd per block, their
// int16 pairs made once per token by ActivationScales rather than from the Q8_K bsums in
// every row group (that took 5 % of an 8-column step with the weights in L2). Integer
// sums are exact, so only the float steps after them must be, and are, the same sequence
// for every column count.

// A plain load that the compiler may fold into vpdpbusd's embedded {1to16} broadcast.
__m512i Broadcast32(const uint8_t* p) {
  return _mm512_set1_epi32(*reinterpret_cast<const UnalignedInt32*>(p));
}

// How far ahead of the block being read the kernels prefetch the weights. The groups are
// streamed from memory once per step; the hardware prefetchers stop at 4 KiB page
// boundaries and fall behind while eight columns' dot products keep the core busy, so an
// 8-column decode step stalled on weight loads for over a third of its time without it.
// (Measured on the 3B model: 4 KiB cut that step by about a third.) One column is not
// compute-bound, the hardware prefetchers keep up, and the extra instructions cost: a
// 1-thread 3B decode ran at 9.2 tok/s with them against 10.9 without, so one-column
// kernels do not prefetch. With the weights in huge pages, lighter variants did not pay
// either: prefetcht0 or prefetcht1 at 0.5 to 12 KiB ahead, a line per 64 or per 128 bytes,
// moved 3B decode by -1 to +1.6 % at one thread and by nothing measurable at two.
// Nor did reading two 16-row groups per pass so that each activation broadcast serves
// 32 rows: 10 % faster with the weights in L2, but 15 % slower decode at one thread and
// at two, since every core then streams from two places at once.
constexpr int kX16PrefetchBytes = 4096;

// Prefetches `lines` cache lines from `p` + kX16PrefetchBytes. Addresses past the end of
// the weights are harmless: a prefetch never faults.
inline void PrefetchAhead(const uint8_t* p, int lines) {
  const char* ahead = reinterpret_cast<const char*>(p) + kX16PrefetchBytes;
  for (int l = 0; l < lines; ++l) _mm_prefetch(ahead + 64 * l, _MM_HINT_T0);
}

// One column's Q8_K activations for the next block (292 bytes: at most six cache lines),
// fetched while the current block computes. Weights stream through L1 from memory once
// per step, and with long rows (ffn_down's 11008 columns: a 12.5 KB activation row) they
// push the activations out of L1 between row groups; the dot products then wait on L2
// for their broadcast operands. In one process, weights rotating through copies larger
// than L3, one thread, three runs: Q6_K 2048x11008 +15 to +29 % (e.g. 21.5 -> 25.4 GB/s),
// Q4_K 2048x11008 +6 to +12 %, Q6_K 11008x2048 +5 to +12 %, Q4_K 11008x2048 within 3 %
// either way. Two blocks ahead, or one line per sub-block, gained less. The kernels for
// several columns (prompt steps) are compute-bound and were not measured with it, so only
// the one-column kernels do this.
inline void PrefetchNextActivations(const uint8_t* next_block) {
  const char* p = reinterpret_cast<const char*>(next_block);
  for (int l = 0; l < 6; ++l) _mm_prefetch(p + 64 * l, _MM_HINT_T0);
}

template <int N>
void MatVecQ4KX16(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 256;
  const __m512i low_mask = _mm512_set1_epi8(0x0f);
  const uint8_t* group = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m512 acc[N];
    for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps();
    const uint8_t* w = group;
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ4KX16BlockBytes) {
      __m512i isum[N];
      for (int c = 0; c < N; ++c) isum[c] = _mm512_setzero_si512();
      if constexpr (N == 1) PrefetchNextActivations(p.act + (b + 1) * kQ8_KBytes);
      for (int j = 0; j < 8; ++j) {
        // An eighth of the block (296 bytes) ahead per sub-block: five lines cover it.
        if constexpr (N > 1) PrefetchAhead(w + (kQ4KX16BlockBytes / 8) * j, 5);
        const uint8_t* q = w + kQ4KX16QuantsOffset + 256 * j;
        // The high nibbles stay in place, 16 times their value: one AND instead of a
        // shift and an AND per vector; the low nibbles' sum is scaled to match below.
        __m512i lo[4], hi[4];
        for (int s = 0; s < 4; ++s) {
          const __m512i bytes = _mm512_loadu_si512(q + 64 * s);
          lo[s] = _mm512_and_si512(bytes, low_mask);
          hi[s] = _mm512_andnot_si512(low_mask, bytes);
        }
        const __m512i scale = _mm512_cvtepu8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + kQ4KX16ScalesOffset + 16 * j)));
        for (int c = 0; c < N; ++c) {
          const uint8_t* a =
              p.act + c * p.act_row_bytes + b * kQ8_KBytes + kQ8_KQuantsOffset + 32 * j;
          __m512i d0 = _mm512_setzero_si512(), d1 = _mm512_setzero_si512();
          for (int s = 0; s < 4; ++s) {
            d0 = _mm512_dpbusd_epi32(d0, lo[s], Broadcast32(a + 4 * s));
            d1 = _mm512_dpbusd_epi32(d1, hi[s], Broadcast32(a + 16 + 4 * s));
          }
          const __m512i sum16 = _mm512_add_epi32(_mm512_slli_epi32(d0, 4), d1);
          isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(sum16, scale));
        }
      }
      __m512i mins[4];
      for (int t = 0; t < 4; ++t) {
        mins[t] = _mm512_cvtepu8_epi16(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + kQ4KX16MinsOffset + 32 * t)));
      }
      const __m512 d = LoadF16x16(w);
      const __m512 dmin = LoadF16x16(w + 32);
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        const uint8_t* pair_sums = SubBlockPairSums(p, c, b);
        __m512i msum = _mm512_setzero_si512();
        for (int t = 0; t < 4; ++t) {
          msum = _mm512_dpwssd_epi32(msum, mins[t], Broadcast32(pair_sums + 4 * t));
        }
        const __m512 ad = _mm512_set1_ps(LoadF32(a));
        // isum is 16 times the integer sum (at most 2^29 in magnitude: 8 sub-blocks of
        // 32 products of 15 * 128, times 63 and 16); the exact 1/16 is folded into the
        // activation scale, which leaves the product's bits as they were.
        const __m512 ad16 = _mm512_set1_ps(LoadF32(a) * 0.0625f);
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, ad16), acc[c]);
        acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dmin, ad), acc[c]);
      }
    }
    for (int c = 0; c < N; ++c) _mm512_storeu_ps(p.out + c * p.out_stride + row0, acc[c]);
    group += static_cast<uint64_t>(n_blocks) * kQ4KX16BlockBytes;
  }
}

template <int N>
struct Q4KX16Kernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ4KX16<N>(p); }
};
