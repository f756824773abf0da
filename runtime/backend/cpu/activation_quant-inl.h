// AVX2 activation quantizers (Q8_0, Q8_1, Q8_K) with the reference quantizers' arithmetic
// lane by lane, so their bytes are identical. Included inside quant_matvec-inl.h's per-ISA
// anonymous namespace, after its helpers (no include guard on purpose).

// The largest |x[i]| of n (a multiple of 8) floats.
float AbsMax(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// std::round (ties away from zero) of v in [-127, 127]: truncation, plus one step away
// from zero when the (exact) remainder is at least one half.
__m256 RoundAway(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
  const __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                    _mm256_set1_ps(1.0f));
  return _mm256_add_ps(t, _mm256_or_ps(step, _mm256_and_ps(v, sign)));
}

// Four vectors of 8 int32 (each in [-127, 127]) as 32 int8 in order.
__m256i PackInt8(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i packed =
      _mm256_packs_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(a2, a3));
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// One Q8_0 (with_sum false) or Q8_1 block of 32 values, as QuantizeBlockQ8_0/Q8_1.
void QuantizeBlock8(const float* x, bool with_sum, uint8_t* dst) {
  const float d = ClampToFp16Range(AbsMax(x, 32) / 127.0f);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  const __m256 vid = _mm256_set1_ps(id);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) {
    const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), vid), lo), hi);
    q[i] = _mm256_cvtps_epi32(RoundAway(v));
  }
  const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  std::memcpy(dst, &dh, 2);
  if (with_sum) {
    const int sum = HorizontalSum(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    const uint16_t sh = _cvtss_sh(ClampToFp16Range(static_cast<float>(sum) * d), _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(dst + 2, &sh, 2);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (with_sum ? 4 : 2)), PackInt8(q[0], q[1], q[2], q[3]));
}

// One Q8_K block of 256 values, as QuantizeBlockQ8_K.
void QuantizeBlockK(const float* x, uint8_t* dst) {
  const float amax = AbsMax(x, 256);
  float max = 0;  // the first value of largest magnitude
  for (int i = 0; i < 256; ++i) {
    if (std::fabs(x[i]) == amax) {
      max = x[i];
      break;
    }
  }
  const float iscale = amax != 0 ? -127.0f / max : 0.0f;
  if (iscale == 0 || !std::isfinite(iscale)) {
    std::memset(dst, 0, kQ8_KBytes);
    return;
  }
  const __m256 vs = _mm256_set1_ps(iscale);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  int16_t bsums[16];
  for (int g = 0; g < 8; ++g) {  // 32 values
    __m256i q[4];
    for (int i = 0; i < 4; ++i) {
      const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * i), vs);
      q[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_min_ps(_mm256_max_ps(v, lo), hi),
                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    bsums[2 * g] = static_cast<int16_t>(HorizontalSum(_mm256_add_epi32(q[0], q[1])));
    bsums[2 * g + 1] = static_cast<int16_t>(HorizontalSum(_mm256_add_epi32(q[2], q[3])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 4 + 32 * g), PackInt8(q[0], q[1], q[2], q[3]));
  }
  const float d = 1.0f / iscale;
  std::memcpy(dst, &d, 4);
  std::memcpy(dst + 260, bsums, sizeof(bsums));
}
