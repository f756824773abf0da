// Reference Q5_0 quantizer: the scale maps the value of largest magnitude to -16, the
// longer side of the 5-bit range. Byte-identical to ggml's reference code.
#include <cmath>

#include "runtime/quant/quantize.h"
#include "runtime/quant/scale_search.h"

namespace smollm::runtime {

BlockQ5_0 QuantizeBlockQ5_0(std::span<const float, 32> x) {
  float amax = 0, max = 0;
  for (float v : x) {
    if (std::fabs(v) > amax) {
      amax = std::fabs(v);
      max = v;
    }
  }
  const float d = ClampToFp16Range(max / -16.0f);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  BlockQ5_0 b;
  b.d = Fp32ToFp16(d);
  uint32_t qh = 0;
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) {
    // Truncation of (v + 16.5) rounds v to nearest (v + 16.5 > 0 here); the clamp only
    // acts on saturated scales.
    const float shifted = std::fmin(std::fmax(x[j] * id + 16.5f, 0.0f), 31.0f);
    q[j] = static_cast<uint8_t>(shifted);
    qh |= static_cast<uint32_t>(q[j] >> 4) << j;
  }
  for (int j = 0; j < 16; ++j) {
    b.qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
  }
  for (int k = 0; k < 4; ++k) b.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
  return b;
}

}  // namespace smollm::runtime
