// The AVX-512 VNNI int8 matvecs over the 32-element x16 layouts (block32_x16.h): Q4_1
// against Q8_1 activations, Q4_0, Q5_0 and Q8_0 against Q8_0. Included by
// quant_matvec-inl.h inside its anonymous namespace after q4k_x16_kernel-inl.h (whose
// Broadcast32 it uses), only where AVX-512 VNNI is compiled in (no include guard on
// purpose).
//
// Lane r of every vector is row r of the 16-row group. Per block (32 elements) and
// column: 8 vpdpbusd with broadcast activation dwords give the 16 rows' exact integer
// sums, then (d_w * d_act) scales them. The weights are unsigned bytes: the signed
// formats' offset (8, 16, 128) comes back off by starting the integer sum at -offset *
// (the activations' block sum), which leaves exactly sum((q - offset) * a); Q4_1 adds
// m_w * s_act (Q8_1's d * sum of the block) in a separate accumulator. The float steps
// are the same sequence for every column count.

// Integer sums of 32 quants per lane: `quants` lanes hold 4 consecutive elements
// (steps 0-7 of a block), `a` the block's 32 activation bytes (at any alignment: Q8_0
// blocks are 34 bytes, which Broadcast32 allows); starts at `init`.
__m512i BlockDot(const __m512i (&quants)[8], const uint8_t* a, __m512i init) {
  __m512i d0 = init, d1 = _mm512_setzero_si512();
  for (int s = 0; s < 4; ++s) {
    d0 = _mm512_dpbusd_epi32(d0, quants[s], Broadcast32(a + 4 * s));
    d1 = _mm512_dpbusd_epi32(d1, quants[4 + s], Broadcast32(a + 16 + 4 * s));
  }
  return _mm512_add_epi32(d0, d1);
}

// A block's 8 quant vectors (element 4s + e of row r in byte 4r + e of vector s).
template <typename F>
void LoadQuants(const uint8_t* w, __m512i (&q)[8]) {
  if constexpr (F::kNibbles) {
    const __m512i low_mask = _mm512_set1_epi8(0x0f);
    for (int s = 0; s < 4; ++s) {
      const __m512i bytes = _mm512_loadu_si512(w + F::kQuantsOffset + 64 * s);
      q[s] = _mm512_and_si512(bytes, low_mask);
      q[4 + s] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_mask);
    }
  } else {
    for (int s = 0; s < 8; ++s) q[s] = _mm512_loadu_si512(w + F::kQuantsOffset + 64 * s);
  }
  if constexpr (F::kFifthBits) {
    for (int v = 0; v < 8; ++v) {
      uint64_t bits;
      std::memcpy(&bits, w + kQ5_0X16FifthBitsOffset + 8 * v, 8);
      q[v] = _mm512_mask_add_epi8(q[v], _cvtu64_mask64(bits), q[v], _mm512_set1_epi8(0x10));
    }
  }
}

template <typename F, int N>
void MatVecBlock32X16(const QuantMatVecArgs& p) {
  // Q8_1 activations (Q4_1's) carry fp16 d and s before their quants, Q8_0 only d.
  constexpr int kActBytes = F::kHasMin ? kQ8_1Bytes : kQ8_0Bytes;
  constexpr int kActQuantsOffset = F::kHasMin ? 4 : 2;
  const int64_t n_blocks = p.k / 32;
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m512 acc[N], acc_min[N];
    for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps(), acc_min[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += F::kBlockBytes) {
      __m512i q[8];
      LoadQuants<F>(w, q);
      const __m512 d = LoadF16x16(w);
      const __m512 m = F::kHasMin ? LoadF16x16(w + kQ4_1X16MinsOffset) : _mm512_setzero_ps();
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kActBytes + kActQuantsOffset;
        const float* scales = p.act_scales + c * p.act_scale_stride;  // d..., then sums
        const int32_t offset = -F::kOffset * static_cast<int32_t>(F::kOffset ? scales[n_blocks + b] : 0);
        const __m512i isum = BlockDot(q, a, _mm512_set1_epi32(offset));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, _mm512_set1_ps(scales[b])),
                                 acc[c]);
        if constexpr (F::kHasMin) {
          acc_min[c] = _mm512_fmadd_ps(m, _mm512_set1_ps(scales[n_blocks + b]), acc_min[c]);
        }
      }
    }
    for (int c = 0; c < N; ++c) {
      const __m512 sum = F::kHasMin ? _mm512_add_ps(acc[c], acc_min[c]) : acc[c];
      _mm512_storeu_ps(p.out + c * p.out_stride + row0, sum);
    }
  }
}

template <typename F>
struct BindBlock32X16 {
  template <int N>
  struct Kernel {
    static void Run(const QuantMatVecArgs& p) { MatVecBlock32X16<F, N>(p); }
  };
};
