// Seeded, platform-independent random numbers: xoshiro256** expanded from SplitMix64.
#pragma once

#include <cstdint>

namespace smollm::runtime {

// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference splitmix64.c): one 64-bit
// state advanced by 0x9E3779B97F4A7C15, output through two xor-shift-multiply rounds.
// Used only to expand a 64-bit seed into xoshiro's 256-bit state, as its authors advise.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// xoshiro256** 1.0 (Blackman and Vigna 2018): 256 bits of state, period 2^256 - 1,
// a few cycles per 64-bit output, no heap. Not cryptographic, which sampling does not
// need; what it needs is speed and a fixed, documented sequence per seed.
class Xoshiro256StarStar {
 public:
  // The state is four SplitMix64(seed) outputs; they are never all zero.
  explicit Xoshiro256StarStar(uint64_t seed) {
    SplitMix64 mix(seed);
    for (uint64_t& word : s_) word = mix.Next();
  }

  // A generator with this exact state (not all zero), to check the published sequence.
  static Xoshiro256StarStar FromState(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
    Xoshiro256StarStar rng(0);
    rng.s_[0] = s0;
    rng.s_[1] = s1;
    rng.s_[2] = s2;
    rng.s_[3] = s3;
    return rng;
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits (the top bits, the best ones of this family).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
};

}  // namespace smollm::runtime
