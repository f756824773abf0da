// Reference Q6_K quantizer with scale search.
//
// 1. Each 16-value sub-block gets its least-squares signed scale (scale_search.h).
// 2. The fp16 super-scale maps the scale of largest magnitude to -128 (int8's longer
//    side).
// 3. Each sub-block's int8 scale is chosen among the neighbours of the rounded value by
//    the actual error after rounding.
#include <algorithm>
#include <cmath>

#include "runtime/quant/quantize.h"
#include "runtime/quant/scale_search.h"

namespace smollm::runtime {
namespace {

// Quants 0..63 (stored with a +32 offset) into the ql/qh layout described in q6_k.h.
void PackQ6K(const uint8_t* q, BlockQ6_K& b) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* g = q + 128 * half;
    for (int l = 0; l < 32; ++l) {
      b.ql[64 * half + l] = static_cast<uint8_t>((g[l] & 0x0f) | ((g[l + 64] & 0x0f) << 4));
      b.ql[64 * half + l + 32] =
          static_cast<uint8_t>((g[l + 32] & 0x0f) | ((g[l + 96] & 0x0f) << 4));
      b.qh[32 * half + l] = static_cast<uint8_t>((g[l] >> 4) | ((g[l + 32] >> 4) << 2) |
                                                 ((g[l + 64] >> 4) << 4) | ((g[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace

BlockQ6_K QuantizeBlockQ6_K(std::span<const float, 256> x) {
  constexpr int kNmax = 32;
  float scales[16];
  float max_abs = 0, max_scale = 0;
  for (int k = 0; k < 16; ++k) {
    scales[k] = FitSymmetric(x.subspan(16 * k, 16), kNmax);
    if (std::fabs(scales[k]) > max_abs) {
      max_abs = std::fabs(scales[k]);
      max_scale = scales[k];
    }
  }

  BlockQ6_K b{};
  b.d = Fp32ToFp16(ClampToFp16Range(max_scale / -128.0f));
  const float d = Fp16ToFp32(b.d);
  if (d == 0) {
    std::fill(b.qh, b.qh + 64, 0xaa);  // every quant 32 (ql stays 0): +0, not -0
    return b;
  }

  uint8_t q[256];
  int8_t sub_q[16];
  for (int k = 0; k < 16; ++k) {
    const std::span<const float> sub = x.subspan(16 * k, 16);
    const int scale0 = RoundClamp(scales[k] / d, -128, 127);
    double best_err = INFINITY;
    for (int s = std::max(scale0 - 1, -128); s <= std::min(scale0 + 1, 127); ++s) {
      const double err = SymmetricError(sub, kNmax, d * static_cast<float>(s), nullptr);
      if (err < best_err) {
        best_err = err;
        b.scales[k] = static_cast<int8_t>(s);
      }
    }
    SymmetricError(sub, kNmax, d * static_cast<float>(b.scales[k]), sub_q);
    for (int l = 0; l < 16; ++l) q[16 * k + l] = static_cast<uint8_t>(sub_q[l] + 32);
  }
  PackQ6K(q, b);
  return b;
}

}  // namespace smollm::runtime
