// NeoX-pairing RoPE for the negative control: same frequencies, other element pairs.
#include "tests/conformance/decoder/neox_rope_backend.h"

#include <cmath>

namespace smollm::testing {

void NeoxRopeBackend::Rope(const runtime::Activations& x, const runtime::RopeParams& rope,
                           std::span<const runtime::Pos> positions) {
  const int half = rope.head_dim / 2;
  for (int64_t t = 0; t < x.rows; ++t) {
    for (int i = 0; i < half; ++i) {
      const float inv_freq =
          1.0f / std::pow(rope.theta, static_cast<float>(2 * i) / rope.head_dim);
      const float angle = static_cast<float>(positions[t]) * inv_freq;
      const float c = std::cos(angle), s = std::sin(angle);
      for (int h = 0; h < rope.n_heads; ++h) {
        float* v = x.row(t) + h * rope.head_dim;
        const float a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = a * s + b * c;
      }
    }
  }
}

}  // namespace smollm::testing
