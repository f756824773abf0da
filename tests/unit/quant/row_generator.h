// Deterministic test rows shared by the quant tests: a C++ copy of RowGenerator in
// tests/reference/quant_common.py, bit-identical to it (integer ops plus IEEE double
// additions and multiplications in the same order).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace smollm::testing {

class RowGenerator {
 public:
  explicit RowGenerator(uint64_t seed) : state_(seed) {}

  // splitmix64.
  uint64_t NextU64() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1), exact multiples of 2^-53.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * (1.0 / 9007199254740992.0); }

  // Approximately normal (sum of 12 uniforms minus 6), one value in 64 scaled by 8.
  float Value(double amplitude) {
    double s = 0.0;
    for (int i = 0; i < 12; ++i) s += Uniform();
    double v = s - 6.0;
    if (NextU64() % 64 == 0) v *= 8.0;
    return static_cast<float>(v * amplitude);
  }

  std::vector<float> Row(size_t n, double amplitude) {
    std::vector<float> row(n);
    for (float& v : row) v = Value(amplitude);
    return row;
  }

 private:
  uint64_t state_;
};

// FNV-1a over the little-endian bytes of the floats (the reference script's checksum).
inline uint64_t Fnv1a64(const std::vector<float>& values) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    for (int k = 0; k < 4; ++k) {
      h ^= (bits >> (8 * k)) & 0xffu;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

}  // namespace smollm::testing
