// The attention's inner loops over f16 KV slots, included by cpu_kernels-inl.h inside its
// per-ISA anonymous namespace (no include guard on purpose). Both read the f16 keys or
// values where they lie in the cache page and convert them in registers, and both work
// on all query heads of a group at once: the keys or values are read once for all of them
// and the heads' sums are independent chains that keep the FMA units busy (one head at a
// time was a chain of dependent multiply-adds per call).
//
// Each output's arithmetic is fixed by its own inputs: in DotKeys, key i's products are
// summed in lanes (d mod L, L the vector width), lane sums added across d in order, then
// the lanes by a fixed tree; in AxpyF16Rows, y[i] += a[0] * v[0][i], then a[1] * v[1][i],
// ... in order. So results do not depend on n_q, n_a, n or on the other heads' values.
// LoadF16x8 / LoadF16x16: simd_unpack-inl.h.

#if defined(__AVX512F__)
// out = the 16 lane sums of p[0..15] (lane i of out: the sum of p[i]'s lanes), by pairs
// within 128-bit lanes, then across them.
inline __m512 SumLanes16(const __m512 (&p)[16]) {
  __m512 t[8], u[4];
  for (int i = 0; i < 8; ++i) {
    t[i] = _mm512_add_ps(_mm512_unpacklo_ps(p[2 * i], p[2 * i + 1]),
                         _mm512_unpackhi_ps(p[2 * i], p[2 * i + 1]));
  }
  for (int i = 0; i < 4; ++i) {
    u[i] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // u[k]'s 128-bit lane l holds lane l's sums of keys 4k..4k+3.
  const __m512 x01 =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xdd));
  const __m512 x23 =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(x01, x23, 0x88), _mm512_shuffle_f32x4(x01, x23, 0xdd));
}
#elif SMOLLM_CPU_KERNELS_AVX2
// The same for 8 vectors of 8 lanes.
inline __m256 SumLanes8(const __m256 (&p)[8]) {
  __m256 t[4], u[2];
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm256_add_ps(_mm256_unpacklo_ps(p[2 * i], p[2 * i + 1]),
                         _mm256_unpackhi_ps(p[2 * i], p[2 * i + 1]));
  }
  for (int i = 0; i < 2; ++i) {
    u[i] = _mm256_add_ps(_mm256_shuffle_ps(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20),
                       _mm256_permute2f128_ps(u[0], u[1], 0x31));
}
#endif

void DotKeys(const float* q, int n_q, int64_t q_stride, const uint16_t* keys, int n,
             int64_t head_dim, float* out, int64_t out_stride) {
#if defined(__AVX512F__)
  if (head_dim % 16 == 0) {
    for (int g = 0; g < n_q; ++g) {
      const float* qg = q + g * q_stride;
      __m512 p[16];
      for (int i = 0; i < 16; ++i) p[i] = _mm512_setzero_ps();
      for (int i = 0; i < n; ++i) {
        const uint16_t* k = keys + i * head_dim;
        __m512 s = _mm512_mul_ps(_mm512_loadu_ps(qg), LoadF16x16(k));
        for (int64_t d = 16; d < head_dim; d += 16) {
          s = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d), LoadF16x16(k + d), s);
        }
        p[i] = s;
      }
      _mm512_storeu_ps(out + g * out_stride, SumLanes16(p));
    }
    return;
  }
#elif SMOLLM_CPU_KERNELS_AVX2
  if (head_dim % 8 == 0) {
    for (int g = 0; g < n_q; ++g) {
      const float* qg = q + g * q_stride;
      for (int i0 = 0; i0 < kKeyChunk; i0 += 8) {
        __m256 p[8];
        for (int i = 0; i < 8; ++i) p[i] = _mm256_setzero_ps();
        for (int i = 0; i < 8 && i0 + i < n; ++i) {
          const uint16_t* k = keys + (i0 + i) * head_dim;
          __m256 s = _mm256_mul_ps(_mm256_loadu_ps(qg), LoadF16x8(k));
          for (int64_t d = 8; d < head_dim; d += 8) {
            s = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), LoadF16x8(k + d), s);
          }
          p[i] = s;
        }
        _mm256_storeu_ps(out + g * out_stride + i0, SumLanes8(p));
      }
    }
    return;
  }
#endif
  for (int g = 0; g < n_q; ++g) {
    for (int i = 0; i < kKeyChunk; ++i) {
      float s = 0.0f;
      if (i < n) {
        for (int64_t d = 0; d < head_dim; ++d) {
          s += q[g * q_stride + d] * Fp16ToFp32(keys[i * head_dim + d]);
        }
      }
      out[g * out_stride + i] = s;
    }
  }
}

#if defined(__AVX512F__) || SMOLLM_CPU_KERNELS_AVX2
#if defined(__AVX512F__)
using AxpyVec = __m512;
constexpr int kAxpyLanes = 16;
inline AxpyVec AxpyLoadF16(const uint16_t* p) { return LoadF16x16(p); }
inline AxpyVec AxpyLoad(const float* p) { return _mm512_loadu_ps(p); }
inline void AxpyStore(float* p, AxpyVec v) { _mm512_storeu_ps(p, v); }
inline AxpyVec AxpyFma(float a, AxpyVec v, AxpyVec acc) {
  return _mm512_fmadd_ps(_mm512_set1_ps(a), v, acc);
}
#else
using AxpyVec = __m256;
constexpr int kAxpyLanes = 8;
inline AxpyVec AxpyLoadF16(const uint16_t* p) { return LoadF16x8(p); }
inline AxpyVec AxpyLoad(const float* p) { return _mm256_loadu_ps(p); }
inline void AxpyStore(float* p, AxpyVec v) { _mm256_storeu_ps(p, v); }
inline AxpyVec AxpyFma(float a, AxpyVec v, AxpyVec acc) {
  return _mm256_fmadd_ps(_mm256_set1_ps(a), v, acc);
}
#endif

// kHeads heads' y[i0, i0 + kVecs * kAxpyLanes) held in registers over all the rows.
template <int kHeads, int kVecs>
[[gnu::always_inline]] inline void AxpyF16Block(const float* a, int64_t a_stride,
                                                const uint16_t* rows, int n_rows, int64_t n,
                                                float* y, int64_t y_stride, int64_t i0) {
  AxpyVec acc[kHeads][kVecs];
  for (int g = 0; g < kHeads; ++g) {
    for (int b = 0; b < kVecs; ++b) acc[g][b] = AxpyLoad(y + g * y_stride + i0 + b * kAxpyLanes);
  }
  for (int j = 0; j < n_rows; ++j) {
    AxpyVec v[kVecs];
    for (int b = 0; b < kVecs; ++b) v[b] = AxpyLoadF16(rows + j * n + i0 + b * kAxpyLanes);
    for (int g = 0; g < kHeads; ++g) {
      for (int b = 0; b < kVecs; ++b) acc[g][b] = AxpyFma(a[g * a_stride + j], v[b], acc[g][b]);
    }
  }
  for (int g = 0; g < kHeads; ++g) {
    for (int b = 0; b < kVecs; ++b) AxpyStore(y + g * y_stride + i0 + b * kAxpyLanes, acc[g][b]);
  }
}

// Up to 4 heads at a time over blocks of 4 vectors: at most 16 accumulators.
template <int kHeads>
void AxpyF16Heads(const float* a, int64_t a_stride, const uint16_t* rows, int n_rows, int64_t n,
                  float* y, int64_t y_stride) {
  int64_t i0 = 0;
  for (; i0 + 4 * kAxpyLanes <= n; i0 += 4 * kAxpyLanes) {
    AxpyF16Block<kHeads, 4>(a, a_stride, rows, n_rows, n, y, y_stride, i0);
  }
  for (; i0 < n; i0 += kAxpyLanes) {
    AxpyF16Block<kHeads, 1>(a, a_stride, rows, n_rows, n, y, y_stride, i0);
  }
}
#endif

void AxpyF16Rows(const float* a, int n_a, int64_t a_stride, const uint16_t* rows, int n_rows,
                 int64_t n, float* y, int64_t y_stride) {
#if defined(__AVX512F__) || SMOLLM_CPU_KERNELS_AVX2
  if (n % kAxpyLanes == 0) {
    int g = 0;
    for (; g + 4 <= n_a; g += 4) {
      AxpyF16Heads<4>(a + g * a_stride, a_stride, rows, n_rows, n, y + g * y_stride, y_stride);
    }
    const float* ag = a + g * a_stride;
    float* yg = y + g * y_stride;
    switch (n_a - g) {
      case 3:
        AxpyF16Heads<3>(ag, a_stride, rows, n_rows, n, yg, y_stride);
        break;
      case 2:
        AxpyF16Heads<2>(ag, a_stride, rows, n_rows, n, yg, y_stride);
        break;
      case 1:
        AxpyF16Heads<1>(ag, a_stride, rows, n_rows, n, yg, y_stride);
        break;
      default:
        break;
    }
    return;
  }
#endif
  for (int g = 0; g < n_a; ++g) {
    for (int64_t i = 0; i < n; ++i) {
      float acc = y[g * y_stride + i];
      for (int j = 0; j < n_rows; ++j) acc += a[g * a_stride + j] * Fp16ToFp32(rows[j * n + i]);
      y[g * y_stride + i] = acc;
    }
  }
}
