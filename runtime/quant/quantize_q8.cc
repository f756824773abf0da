// Reference quantizers of the absmax int8 formats: Q8_0 and Q8_1 (fp16 scale per 32) and
// Q8_K (fp32 scale per 256, with group sums). Byte-identical to ggml's reference code.
#include <cmath>

#include "runtime/quant/quantize.h"
#include "runtime/quant/scale_search.h"

namespace smollm::runtime {
namespace {

// roundf (ties away from zero) of a value clamped to [-127, 127]; the clamp only acts on
// saturated scales, where x * id can leave that range.
int8_t RoundAwayToInt8(float v) {
  const float clamped = std::fmin(std::fmax(v, -127.0f), 127.0f);
  return static_cast<int8_t>(std::round(clamped));
}

// Scale d = amax / 127 (saturated to fp16 range) and its inverse, as ggml computes them.
struct Int8Scale {
  float d;
  float id;
};

Int8Scale AbsmaxScale(std::span<const float, 32> x) {
  float amax = 0;
  for (float v : x) amax = std::fmax(amax, std::fabs(v));
  const float d = ClampToFp16Range(amax / 127.0f);
  return {d, d != 0 ? 1.0f / d : 0.0f};
}

}  // namespace

BlockQ8_0 QuantizeBlockQ8_0(std::span<const float, 32> x) {
  const Int8Scale s = AbsmaxScale(x);
  BlockQ8_0 b;
  b.d = Fp32ToFp16(s.d);
  for (int j = 0; j < 32; ++j) b.qs[j] = RoundAwayToInt8(x[j] * s.id);
  return b;
}

BlockQ8_1 QuantizeBlockQ8_1(std::span<const float, 32> x) {
  const Int8Scale s = AbsmaxScale(x);
  BlockQ8_1 b;
  b.d = Fp32ToFp16(s.d);
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    b.qs[j] = RoundAwayToInt8(x[j] * s.id);
    sum += b.qs[j];
  }
  b.s = Fp32ToFp16(ClampToFp16Range(static_cast<float>(sum) * s.d));
  return b;
}

BlockQ8_K QuantizeBlockQ8_K(std::span<const float, 256> x) {
  // The scale maps the value of largest magnitude to -127, so d takes its opposite sign.
  float amax = 0, max = 0;
  for (float v : x) {
    if (std::fabs(v) > amax) {
      amax = std::fabs(v);
      max = v;
    }
  }
  BlockQ8_K b{};
  const float iscale = amax != 0 ? -127.0f / max : 0.0f;
  // A zero block, or one so small (subnormal) that 127 / max overflows: all zeros.
  if (iscale == 0 || !std::isfinite(iscale)) return b;
  for (int j = 0; j < 256; ++j) b.qs[j] = static_cast<int8_t>(RoundClamp(iscale * x[j], -127, 127));
  for (int k = 0; k < 16; ++k) {
    int sum = 0;
    for (int l = 0; l < 16; ++l) sum += b.qs[16 * k + l];
    b.bsums[k] = static_cast<int16_t>(sum);
  }
  b.d = 1.0f / iscale;
  return b;
}

}  // namespace smollm::runtime
