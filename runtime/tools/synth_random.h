// Seeded, platform-independent random values for synthetic models.
#pragma once

#include <cmath>
#include <cstdint>

#include "runtime/core/rng.h"

namespace smollm::runtime {

// The sampler's xoshiro256** with a stream index, plus the distributions the writer
// needs (unlike std::normal_distribution, whose algorithm is the library's choice, these
// give the same values on every platform).
class SynthRng {
 public:
  // `stream` separates independent sequences under one seed (e.g. one per tensor), so a
  // tensor's values do not depend on the tensors generated before it.
  explicit SynthRng(uint64_t seed, uint64_t stream = 0)
      : rng_(seed ^ (stream * 0xd1b54a32d192ed03ull)) {}

  uint64_t Next() { return rng_.Next(); }

  // Uniform in [0, n) for n > 0 (multiply-shift; the bias is below 2^-32 for our n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

  // Uniform in [0, 1) with 24 random bits.
  float Uniform() { return static_cast<float>(Next() >> 40) * 0x1.0p-24f; }

  // Standard normal by Box-Muller (one value per call; the second is dropped to keep
  // the state simple).
  float Normal() {
    const double u1 = (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(Next() >> 11) * 0x1.0p-53;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) *
                              std::cos(6.283185307179586 * u2));
  }

 private:
  Xoshiro256StarStar rng_;
};

}  // namespace smollm::runtime
