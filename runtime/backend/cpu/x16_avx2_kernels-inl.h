// The AVX2 int8 matvecs over the 16-row interleaved layouts (q4k_x16.h, q6k_x16.h,
// block32_x16.h), for CPUs without AVX-512 VNNI. Included by quant_matvec-inl.h inside its
// anonymous namespace where AVX2 is compiled in and AVX-512 VNNI is not (no include guard
// on purpose).
//
// Each 64-byte vector of the layouts (16 rows of 4 bytes) is read as two 256-bit halves:
// rows 0-7, then rows 8-15. maddubs multiplies the unsigned weight bytes by a broadcast
// dword of signed activation bytes and adds the products in pairs into int16; as many of
// those as keep every sum within int16 add up before one madd widens them to int32, by the
// 16 rows' sub-block scales where the format has them (one madd scales and widens), else
// by ones. Without the row-at-a-time kernels' horizontal sums and per-row scale shuffles,
// this takes about two thirds of their instructions per weight byte.
//
// The integer sums are the AVX-512 kernels' and the float steps after them the same (the
// Q4_K kernel there carries 16 times the sum and a 1/16 in the scale, which rounds alike),
// so a model gives the same bits on either ISA, and every column count the same per column.

// Four activation bytes at p (any alignment) in every int32 lane.
__m256i Splat4(const uint8_t* p) {
  return _mm256_set1_epi32(*reinterpret_cast<const UnalignedInt32*>(p));
}

// The fp16 fields of rows 8h to 8h + 7 from 16 rows' at p.
__m256 HalfRowsF16(const uint8_t* p, int h) { return LoadF16x8(p + 16 * h); }

// Eight rows' scale bytes as int16 pairs (s, s) per int32 lane: madd's operand that scales
// both pair sums of a row lane and adds them.
template <bool kSigned>
__m256i ScalePairs(const uint8_t* p) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  const __m256i s = kSigned ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
  return _mm256_blend_epi16(s, _mm256_slli_epi32(s, 16), 0xaa);
}

// ---- Q4_K x16 against Q8_K ----
// Per sub-block, row lane and column: 8 maddubs of nibbles (at most 15 * 128 * 2 = 3840
// each) sum to at most 30720 in int16, then one madd by the 6-bit scale pairs.
template <int N>
void MatVecQ4KX16Avx2(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 256;
  const __m256i low_mask = _mm256_set1_epi8(0x0f);
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m256 acc[N][2];
    for (int c = 0; c < N; ++c) acc[c][0] = acc[c][1] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ4KX16BlockBytes) {
      __m256i isum[N][2];
      for (int c = 0; c < N; ++c) isum[c][0] = isum[c][1] = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j) {
        const uint8_t* q = w + kQ4KX16QuantsOffset + 256 * j;
        for (int h = 0; h < 2; ++h) {
          __m256i lo[4], hi[4];
          for (int s = 0; s < 4; ++s) {
            const __m256i bytes = Load256(q + 64 * s + 32 * h);
            lo[s] = _mm256_and_si256(bytes, low_mask);
            hi[s] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);
          }
          const __m256i scale = ScalePairs<false>(w + kQ4KX16ScalesOffset + 16 * j + 8 * h);
          for (int c = 0; c < N; ++c) {
            const uint8_t* a =
                p.act + c * p.act_row_bytes + b * kQ8_KBytes + kQ8_KQuantsOffset + 32 * j;
            __m256i sum = _mm256_setzero_si256();
            for (int s = 0; s < 4; ++s) {
              sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(lo[s], Splat4(a + 4 * s)));
              sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(hi[s], Splat4(a + 16 + 4 * s)));
            }
            isum[c][h] = _mm256_add_epi32(isum[c][h], _mm256_madd_epi16(sum, scale));
          }
        }
      }
      __m256i mins[2][4];  // [half][pair t]: rows' mins of sub-blocks 2t, 2t + 1 as int16
      __m256 d[2], dmin[2];
      for (int h = 0; h < 2; ++h) {
        d[h] = HalfRowsF16(w, h);
        dmin[h] = HalfRowsF16(w + 32, h);
        for (int t = 0; t < 4; ++t) {
          mins[h][t] = _mm256_cvtepu8_epi16(_mm_loadu_si128(
              reinterpret_cast<const __m128i*>(w + kQ4KX16MinsOffset + 32 * t + 16 * h)));
        }
      }
      for (int c = 0; c < N; ++c) {
        const uint8_t* a = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
        const uint8_t* pair_sums = SubBlockPairSums(p, c, b);
        const __m256 ad = _mm256_set1_ps(LoadF32(a));
        for (int h = 0; h < 2; ++h) {
          __m256i msum = _mm256_setzero_si256();
          for (int t = 0; t < 4; ++t) {
            msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mins[h][t], Splat4(pair_sums + 4 * t)));
          }
          acc[c][h] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c][h]), _mm256_mul_ps(d[h], ad), acc[c][h]);
          acc[c][h] =
              _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin[h], ad), acc[c][h]);
        }
      }
    }
    for (int c = 0; c < N; ++c) {
      for (int h = 0; h < 2; ++h) {
        _mm256_storeu_ps(p.out + c * p.out_stride + row0 + 8 * h, acc[c][h]);
      }
    }
  }
}

// ---- Q6_K x16 against Q8_K ----
// Per sub-block (16 elements), row lane and column: two maddubs of 6-bit quants (at most
// 63 * 128 * 2 = 16128 each) per int16 sum, two sums madd by the int8 scale pairs, and the
// quants' offset of 32 as a third madd: the pair (-16 * bsum, -16 * bsum) by the scales
// (within int16: Q8_K activations stay within +-127, so a sub-block's 16 sum to at most
// 2032 in size).
template <int N>
void MatVecQ6KX16Avx2(const QuantMatVecArgs& p) {
  const int64_t n_blocks = p.k / 256;
  const __m256i six_bits = _mm256_set1_epi8(0x3f);
  const __m256i bits_0_1 = _mm256_set1_epi8(0x03);
  const __m256i bits_2_3 = _mm256_set1_epi8(0x0c);
  const __m256i bits_4_5 = _mm256_set1_epi8(0x30);
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m256 acc[N][2];
    for (int c = 0; c < N; ++c) acc[c][0] = acc[c][1] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b, w += kQ6KX16BlockBytes) {
      __m256i isum[N][2];
      for (int c = 0; c < N; ++c) isum[c][0] = isum[c][1] = _mm256_setzero_si256();
      for (int j = 0; j < 16; ++j) {
        const uint8_t* q = w + kQ6KX16QuantsOffset + j * kQ6KX16SubBlockBytes;
        for (int h = 0; h < 2; ++h) {
          const __m256i v0 = Load256(q + 32 * h), v1 = Load256(q + 64 + 32 * h),
                        v2 = Load256(q + 128 + 32 * h);
          __m256i quants[4];  // step s: elements 16j + 4s + e
          quants[0] = _mm256_and_si256(v0, six_bits);
          quants[1] = _mm256_and_si256(v1, six_bits);
          quants[2] = _mm256_and_si256(v2, six_bits);
          // Step 3 from the vectors' top bits: bits 0-1 of v0's, 2-3 of v1's, 4-5 of v2's
          // (the 16-bit shifts pull the next byte's bits in above, which the masks drop).
          quants[3] =
              _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 6), bits_0_1),
                                              _mm256_and_si256(_mm256_srli_epi16(v1, 4), bits_2_3)),
                              _mm256_and_si256(_mm256_srli_epi16(v2, 2), bits_4_5));
          const __m256i scale = ScalePairs<true>(w + kQ6KX16ScalesOffset + 16 * j + 8 * h);
          for (int c = 0; c < N; ++c) {
            const uint8_t* block = p.act + c * p.act_row_bytes + b * kQ8_KBytes;
            const uint8_t* a = block + kQ8_KQuantsOffset + 16 * j;
            int16_t bsum;
            std::memcpy(&bsum, block + kQ8_KBsumsOffset + 2 * j, 2);
            const __m256i sum01 = _mm256_add_epi16(_mm256_maddubs_epi16(quants[0], Splat4(a)),
                                                   _mm256_maddubs_epi16(quants[1], Splat4(a + 4)));
            const __m256i sum23 = _mm256_add_epi16(_mm256_maddubs_epi16(quants[2], Splat4(a + 8)),
                                                   _mm256_maddubs_epi16(quants[3], Splat4(a + 12)));
            const __m256i start =
                _mm256_madd_epi16(_mm256_set1_epi16(static_cast<int16_t>(-16 * bsum)), scale);
            isum[c][h] = _mm256_add_epi32(
                isum[c][h],
                _mm256_add_epi32(_mm256_add_epi32(start, _mm256_madd_epi16(sum01, scale)),
                                 _mm256_madd_epi16(sum23, scale)));
          }
        }
      }
      const __m256 d[2] = {HalfRowsF16(w, 0), HalfRowsF16(w, 1)};
      for (int c = 0; c < N; ++c) {
        const __m256 ad = _mm256_set1_ps(LoadF32(p.act + c * p.act_row_bytes + b * kQ8_KBytes));
        for (int h = 0; h < 2; ++h) {
          acc[c][h] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c][h]), _mm256_mul_ps(d[h], ad), acc[c][h]);
        }
      }
    }
    for (int c = 0; c < N; ++c) {
      for (int h = 0; h < 2; ++h) {
        _mm256_storeu_ps(p.out + c * p.out_stride + row0 + 8 * h, acc[c][h]);
      }
    }
  }
}

// ---- 32-element formats (block32_x16.h) ----
// Nibbles without a fifth bit (at most 15 * 128 * 2 = 3840 per maddubs) sum 8 maddubs
// within int16, 5-bit quants 4 (31744 at most); Q8_0's stored q + 128 turn back into q,
// which go through maddubs as |q| against the activation carrying q's sign (32512 at most:
// Q8_0 activations stay within +-127), one maddubs per widening and no offset.
template <typename F>
constexpr int kSumsPerWiden = F::kNibbles ? (F::kFifthBits ? 4 : 8) : 1;
template <typename F>
constexpr int kAvx2Offset = F::kNibbles ? F::kOffset : 0;

// Half h of a block's 8 quant vectors (element 4s + e of row 8h + r in byte 4r + e of
// vector s): unsigned q for the nibble formats, signed q for Q8_0. Forced inline, as is
// HalfBlockDot: GCC kept Q5_0's copy out of line, the vectors went through memory, and a
// SmolLM2-135M decode step on AVX2 took 15 % longer.
template <typename F>
[[gnu::always_inline]] inline void LoadHalfQuants(const uint8_t* w, int h, __m256i (&q)[8]) {
  if constexpr (F::kNibbles) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    for (int s = 0; s < 4; ++s) {
      const __m256i bytes = Load256(w + F::kQuantsOffset + 64 * s + 32 * h);
      q[s] = _mm256_and_si256(bytes, low_mask);
      q[4 + s] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);
    }
  } else {
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int s = 0; s < 8; ++s) {
      q[s] = _mm256_xor_si256(Load256(w + F::kQuantsOffset + 64 * s + 32 * h), flip);
    }
  }
  if constexpr (F::kFifthBits) {
    for (int v = 0; v < 8; ++v) {
      q[v] = _mm256_or_si256(q[v], FifthBits(w + kQ5_0X16FifthBitsOffset + 8 * v + 4 * h));
    }
  }
}

// The 8 row lanes' integer sums of a block's 32 products, from `init`; `a` the block's 32
// activation bytes (at any alignment).
template <typename F>
[[gnu::always_inline]] inline __m256i HalfBlockDot(const __m256i (&q)[8], const uint8_t* a,
                                                   __m256i init) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = init;
  for (int g = 0; g < 8; g += kSumsPerWiden<F>) {
    __m256i sum = _mm256_setzero_si256();
    for (int s = g; s < g + kSumsPerWiden<F>; ++s) {
      const __m256i y = Splat4(a + 4 * s);
      sum = _mm256_add_epi16(sum, F::kNibbles ? _mm256_maddubs_epi16(q[s], y)
                                              : _mm256_maddubs_epi16(_mm256_sign_epi8(q[s], q[s]),
                                                                     _mm256_sign_epi8(y, q[s])));
    }
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(sum, ones));
  }
  return acc;
}

template <typename F, int N>
void MatVecBlock32X16Avx2(const QuantMatVecArgs& p) {
  // Q8_1 activations (Q4_1's) carry fp16 d and s before their quants, Q8_0 only d.
  constexpr int kActBytes = F::kHasMin ? kQ8_1Bytes : kQ8_0Bytes;
  constexpr int kActQuantsOffset = F::kHasMin ? 4 : 2;
  const int64_t n_blocks = p.k / 32;
  const uint8_t* w = p.weights;
  for (int64_t row0 = 0; row0 < p.rows; row0 += kX16Rows) {
    __m256 acc[N][2], acc_min[N][2];
    for (int c = 0; c < N; ++c) {
      for (int h = 0; h < 2; ++h) acc[c][h] = acc_min[c][h] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < n_blocks; ++b, w += F::kBlockBytes) {
      for (int h = 0; h < 2; ++h) {
        __m256i q[8];
        LoadHalfQuants<F>(w, h, q);
        const __m256 d = HalfRowsF16(w, h);
        const __m256 m = F::kHasMin ? HalfRowsF16(w + kQ4_1X16MinsOffset, h) : _mm256_setzero_ps();
        for (int c = 0; c < N; ++c) {
          const uint8_t* a = p.act + c * p.act_row_bytes + b * kActBytes + kActQuantsOffset;
          const float* scales = p.act_scales + c * p.act_scale_stride;  // d..., then sums
          const int32_t offset =
              -kAvx2Offset<F> * static_cast<int32_t>(kAvx2Offset<F> ? scales[n_blocks + b] : 0);
          const __m256i isum = HalfBlockDot<F>(q, a, _mm256_set1_epi32(offset));
          acc[c][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum),
                                      _mm256_mul_ps(d, _mm256_set1_ps(scales[b])), acc[c][h]);
          if constexpr (F::kHasMin) {
            acc_min[c][h] = _mm256_fmadd_ps(m, _mm256_set1_ps(scales[n_blocks + b]), acc_min[c][h]);
          }
        }
      }
    }
    for (int c = 0; c < N; ++c) {
      for (int h = 0; h < 2; ++h) {
        const __m256 sum = F::kHasMin ? _mm256_add_ps(acc[c][h], acc_min[c][h]) : acc[c][h];
        _mm256_storeu_ps(p.out + c * p.out_stride + row0 + 8 * h, sum);
      }
    }
  }
}

template <int N>
struct Q4KX16Avx2Kernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ4KX16Avx2<N>(p); }
};
template <int N>
struct Q6KX16Avx2Kernel {
  static void Run(const QuantMatVecArgs& p) { MatVecQ6KX16Avx2<N>(p); }
};
template <typename F>
struct BindBlock32X16Avx2 {
  template <int N>
  struct Kernel {
    static void Run(const QuantMatVecArgs& p) { MatVecBlock32X16Avx2<F, N>(p); }
  };
};
