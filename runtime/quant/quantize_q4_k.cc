// Reference Q4_K quantizer with scale search.
//
// 1. Each 32-value sub-block gets its least-squares (scale, min) (scale_search.h).
// 2. The fp16 super-scales d and dmin map the largest scale and min to 63.
// 3. Each sub-block's 6-bit (scale, min) pair is then chosen among the neighbours of the
//    rounded values by the actual error after rounding, since rounding the pair
//    independently is not the best choice once both are coarse.
#include <algorithm>
#include <cmath>

#include "runtime/quant/quantize.h"
#include "runtime/quant/scale_search.h"

namespace smollm::runtime {

BlockQ4_K QuantizeBlockQ4_K(std::span<const float, 256> x) {
  constexpr int kNmax = 15;
  AffineFit fits[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    fits[j] = FitAffine(x.subspan(32 * j, 32), kNmax);
    max_scale = std::fmax(max_scale, fits[j].scale);
    max_min = std::fmax(max_min, fits[j].min);
  }

  BlockQ4_K b{};
  b.d = Fp32ToFp16(ClampToFp16Range(max_scale / 63.0f));
  b.dmin = Fp32ToFp16(ClampToFp16Range(max_min / 63.0f));
  const float d = Fp16ToFp32(b.d);
  const float dmin = Fp16ToFp32(b.dmin);

  uint8_t scales[8], mins[8], q[256];
  for (int j = 0; j < 8; ++j) {
    const std::span<const float> sub = x.subspan(32 * j, 32);
    const int scale0 = d > 0 ? RoundClamp(fits[j].scale / d, 0, 63) : 0;
    const int min0 = dmin > 0 ? RoundClamp(fits[j].min / dmin, 0, 63) : 0;
    double best_err = INFINITY;
    for (int s = std::max(scale0 - 1, 0); s <= std::min(scale0 + 1, 63); ++s) {
      for (int m = std::max(min0 - 1, 0); m <= std::min(min0 + 1, 63); ++m) {
        // The dequantizer's own products: (d * scale) * q - (dmin * min).
        const double err = AffineError(sub, kNmax, d * static_cast<float>(s),
                                       dmin * static_cast<float>(m), nullptr);
        if (err < best_err) {
          best_err = err;
          scales[j] = static_cast<uint8_t>(s);
          mins[j] = static_cast<uint8_t>(m);
        }
      }
    }
    AffineError(sub, kNmax, d * static_cast<float>(scales[j]), dmin * static_cast<float>(mins[j]),
                q + 32 * j);
  }

  PackScalesMinsK(scales, mins, b.scales);
  for (int chunk = 0; chunk < 4; ++chunk) {
    for (int l = 0; l < 32; ++l) {
      b.qs[32 * chunk + l] =
          static_cast<uint8_t>(q[64 * chunk + l] | (q[64 * chunk + 32 + l] << 4));
    }
  }
  return b;
}

}  // namespace smollm::runtime
