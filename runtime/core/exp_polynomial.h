// The constants and the polynomial of the one float exp the runtime evaluates in its hot
// loops: the sampler's softmax (ExpNonPositive, runtime/sampling/row_kernels.h, and its
// lane-wise copy) and the CPU backend's SwiGLU gate and attention softmax (ExpPoly,
// runtime/backend/cpu/cpu_kernels-inl.h).
//   x = n ln2 + r, |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts),
//   exp(r) = 1 + r + r^2 (kC2 + r (kC3 + r (... + r kC7))),
//   exp(x) = exp(r) 2^n,
// with the polynomial of the Cephes library's expf (Moshier): relative error ~2 ulp.
// The polynomial is a static function template: each translation unit gets its own
// copy with internal linkage, because an inline function with external linkage shared by
// code built for different instruction sets may be emitted with one set's instructions
// and chosen by the linker for all.
#pragma once

namespace smollm::runtime::exp_polynomial {

inline constexpr float kLog2e = 1.44269504088896341f;
// 1.5 * 2^23: adding it to a float of magnitude below 2^22 rounds it to an integer, held
// in the sum's low mantissa bits.
inline constexpr float kRoundMagic = 12582912.0f;
// ln 2 = kLn2Hi + kLn2Lo, kLn2Hi with few enough bits that n * kLn2Hi is exact.
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kC7 = 1.9875691500e-4f;
inline constexpr float kC6 = 1.3981999507e-3f;
inline constexpr float kC5 = 8.3334519073e-3f;
inline constexpr float kC4 = 4.1665795894e-2f;
inline constexpr float kC3 = 1.6666665459e-1f;
inline constexpr float kC2 = 5.0000001201e-1f;

// exp(r) for |r| <= ln2 / 2; T is float or a GCC vector of floats (lane by lane, the
// same operations in the same order).
template <typename T>
[[gnu::always_inline]] static inline T ExpOfReduced(T r) {
  T p = T{} + kC7;
  p = p * r + kC6;
  p = p * r + kC5;
  p = p * r + kC4;
  p = p * r + kC3;
  p = p * r + kC2;
  return p * r * r + r + 1.0f;
}

}  // namespace smollm::runtime::exp_polynomial
