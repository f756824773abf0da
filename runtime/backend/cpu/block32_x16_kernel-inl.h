// The AVX-512 VNNI int8 matvecs over Q4_1 x16 and Q8_0 x16 weights (block32_x16.h)
// against Q8_1 and Q8_0 activations. Included by quant_matvec-inl.h inside its anonymous
// namespace after q4k_x16_kernel-inl.h (Broadcast32), only where AVX-512 VNNI is compiled
// in (no include guard on purpose).
//
// Lane r of every vector is row r of the 16-row group. Per block (32 elements) and
// column: 8 vpdpbusd with broadcast activation dwords give the 16 rows' exact integer
// sums, then (d_w * d_act) scales them. Q4_1 adds m_w * s_act (Q8_1's d * sum of the
// block) in a separate accumulator; Q8_0's unsigned weights (q + 128) start their
// integer sum at -128 * (the activations' block sum), which leaves exactly sum(q * a).
// The float steps are the same sequence for every column count.

// Activation row offsets: Q8_1's quants follow its fp16 d and s, Q8_0's its fp16 d.
constexpr int kQ8_1QuantsOffset = 4;
constexpr int kQ8_0QuantsOffset = 2;

// Integer sums of 32 quants per lane: `quants` lanes hold 4 consecutive elements
// (steps 0-7 of a block), `a` the block's 32 activation bytes; starts at `init`.
__m512i BlockDot(const __m512i (&quants)[8], const uint8_t* a, __m512i init) {
  __m512i d0 = init, d1 = _mm512_setzero_si512();
  for (int s = 0; s < 4; ++s) {
    d0 = _mm512_dpbusd_epi32(d0, quants[s], Broadcast32(a + 4 * s));
    d1 = _mm512_dpbusd_epi32(d1, quants[4 + s], Broadcast32(a + 16 + 4 * s));
  }
  return _mm512_add_epi32(d0, d1);
}

__m512 LoadHalves(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

template <int N>
void MatVecQ4_1X16(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 32;
  const __m512i low_mask = _mm512_set1_epi8(0x0f);
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m512 acc[N], acc_min[N];
    for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps(), acc_min[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ4_1X16BlockBytes) {
      __m512i q[8];  // steps 0-3: elements 4s + e (low nibbles), 4-7: 16 + 4s + e (high)
      for (int s = 0; s < 4; ++s) {
        const __m512i bytes = _mm512_loadu_si512(w + kQ4_1X16QuantsOffset + 64 * s);
        q[s] = _mm512_and_si512(bytes, low_mask);
        q[4 + s] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_mask);
      }
      const __m512 d = LoadHalves(w);
      const __m512 m = LoadHalves(w + kQ4_1X16MinsOffset);
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_1Bytes + kQ8_1QuantsOffset;
        const float* scales = p.act_scales + c * p.act_scale_stride;  // d..., then s...
        const __m512i isum = BlockDot(q, a, _mm512_setzero_si512());
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, _mm512_set1_ps(scales[b])),
                                 acc[c]);
        acc_min[c] = _mm512_fmadd_ps(m, _mm512_set1_ps(scales[n_blocks + b]), acc_min[c]);
      }
    }
    for (int c = 0; c < N; ++c) {
      _mm512_storeu_ps(p.out + c * p.out_stride + row0, _mm512_add_ps(acc[c], acc_min[c]));
    }
  }
}

template <int N>
void MatVecQ8_0X16(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 32;
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m512 acc[N];
    for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ8_0X16BlockBytes) {
      __m512i q[8];
      for (int s = 0; s < 8; ++s) q[s] = _mm512_loadu_si512(w + kQ8_0X16QuantsOffset + 64 * s);
      const __m512 d = LoadHalves(w);
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_0Bytes + kQ8_0QuantsOffset;
        const float* scales = p.act_scales + c * p.act_scale_stride;  // d..., then sums
        const int32_t offset = -128 * static_cast<int32_t>(scales[n_blocks + b]);
        const __m512i isum = BlockDot(q, a, _mm512_set1_epi32(offset));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, _mm512_set1_ps(scales[b])),
                                 acc[c]);
      }
    }
    for (int c = 0; c < N; ++c) _mm512_storeu_ps(p.out + c * p.out_stride + row0, acc[c]);
  }
}

template <int N>
struct Q4_1X16Kernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ4_1X16<N>(p); }
};
template <int N>
struct Q8_0X16Kernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ8_0X16<N>(p); }
};
