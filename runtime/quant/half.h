// IEEE fp16 and bfloat16 <-> fp32 conversion in software, bit-exact and independent of
// the CPU's F16C/AVX512-BF16 support.
//
// constexpr functions with no library calls: CUDA device code can call them as they are
// (nvcc --expt-relaxed-constexpr), and tests can check them at compile time. Contracts:
//   Fp16ToFp32 / Bf16ToFp32: exact widening; NaN sign and payload bits are kept as they
//     are (a signalling NaN stays signalling), like the gguf package's numpy conversion.
//   Fp32ToFp16: round to nearest, ties to even; overflow gives +-inf; fp16 subnormals are
//     produced, not flushed; NaN gives a quiet NaN keeping the top 10 payload bits.
//   Fp32ToBf16: round to nearest, ties to even; NaN gives a quiet NaN (as ggml does).
#pragma once

#include <cstdint>

namespace smollm::runtime {

inline constexpr float kFp16Max = 65504.0f;  // largest finite fp16

constexpr uint32_t F32Bits(float f) { return __builtin_bit_cast(uint32_t, f); }
constexpr float F32FromBits(uint32_t u) { return __builtin_bit_cast(float, u); }

constexpr float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return F32FromBits(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in fp32 (both factors are exact).
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return F32FromBits(sign | F32Bits(magnitude));
  }
  // Normal: rebias the exponent from 15 to 127.
  return F32FromBits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

constexpr uint16_t Fp32ToFp16(float f) {
  const uint32_t x = F32Bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {  // NaN
    return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  }
  // 65520 (0x477ff000) is halfway between 65504 and 2^16; the tie goes to the even
  // neighbour, which is infinity.
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (magnitude < 0x38800000u) {
    // Below 2^-14: an fp16 subnormal (or zero) counted in units of 2^-24. The fp32 value
    // is m * 2^(e - 150) with m the 24-bit significand, i.e. m >> (126 - e) units.
    const uint32_t e = magnitude >> 23;
    if (e == 0 || 126 - e > 24) return sign;  // below 2^-25: rounds to zero
    const uint32_t shift = 126 - e;
    const uint32_t m = (magnitude & 0x7fffffu) | 0x800000u;
    uint32_t units = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (units & 1u))) ++units;  // may become 0x400: 2^-14
    return static_cast<uint16_t>(sign | units);
  }
  // Normal: drop 13 mantissa bits with rounding; a carry correctly bumps the exponent.
  uint32_t h = ((((magnitude >> 23) - 112u) << 10) | ((magnitude >> 13) & 0x3ffu));
  const uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

constexpr float Bf16ToFp32(uint16_t b) { return F32FromBits(static_cast<uint32_t>(b) << 16); }

constexpr uint16_t Fp32ToBf16(float f) {
  const uint32_t x = F32Bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  // Adding 0x7fff plus the lowest kept bit rounds to nearest even; overflow carries into
  // the exponent and gives infinity, as it should.
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace smollm::runtime
