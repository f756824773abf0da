// fp16/bf16 <-> fp32 conversions against their definitions: every 16-bit pattern, and
// fp32 inputs at and around every rounding boundary.
#include "runtime/quant/half.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/unit/quant/row_generator.h"

namespace smollm::runtime {
namespace {

// The value a 16-bit float pattern denotes, straight from the IEEE definition; NaN for
// NaN patterns. `mantissa_bits`/`exponent_bias` select fp16 (10, 15) or bf16 (7, 127).
double Definition(uint16_t bits, int mantissa_bits, int exponent_bias) {
  const int exponent_max = (1 << (15 - mantissa_bits)) - 1;
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  const int e = (bits >> mantissa_bits) & exponent_max;
  const int m = bits & ((1 << mantissa_bits) - 1);
  if (e == exponent_max) return m == 0 ? sign * INFINITY : NAN;
  if (e == 0) return sign * std::ldexp(m, 1 - exponent_bias - mantissa_bits);
  return sign * std::ldexp(m + (1 << mantissa_bits), e - exponent_bias - mantissa_bits);
}

double Fp16Definition(uint16_t h) { return Definition(h, 10, 15); }
double Bf16Definition(uint16_t b) { return Definition(b, 7, 127); }

// Nearest pattern by exhaustive reasoning over the ordered positive patterns: the largest
// pattern whose value is <= |x|, or its successor, whichever is nearer; ties go to the
// even pattern. `max_finite` is the largest finite pattern, `overflow_value` the value
// the next pattern would have (2^16 for fp16, 2^128 for bf16).
uint16_t NearestPattern(float x, double (*definition)(uint16_t), uint16_t max_finite,
                        double overflow_value) {
  const double a = std::fabs(static_cast<double>(x));
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  uint32_t lo = 0, hi = max_finite + 1u;  // invariant: value(lo) <= a < value(hi)
  if (a >= overflow_value) return sign | (max_finite + 1);
  while (hi - lo > 1) {
    const uint32_t mid = (lo + hi) / 2;
    (definition(static_cast<uint16_t>(mid)) <= a ? lo : hi) = mid;
  }
  const double below = definition(static_cast<uint16_t>(lo));
  const double above = hi > max_finite ? overflow_value : definition(static_cast<uint16_t>(hi));
  uint32_t pick;
  if (a - below < above - a) {
    pick = lo;
  } else if (a - below > above - a) {
    pick = hi;
  } else {
    pick = (lo % 2 == 0) ? lo : hi;
  }
  return static_cast<uint16_t>(sign | pick);  // hi == max_finite + 1 is the infinity
}

uint16_t Fp16Nearest(float x) { return NearestPattern(x, Fp16Definition, 0x7bff, 65536.0); }
uint16_t Bf16Nearest(float x) {
  return NearestPattern(x, Bf16Definition, 0x7f7f, std::ldexp(1.0, 128));
}

// fp32 inputs around every representable value of a 16-bit format: the value, the
// midpoints to both neighbours and the fp32 values adjacent to each.
std::vector<float> BoundaryInputs(double (*definition)(uint16_t), uint16_t max_finite) {
  std::vector<float> in;
  for (uint32_t p = 0; p <= max_finite; ++p) {
    const double v = definition(static_cast<uint16_t>(p));
    const double next = p == max_finite ? 2 * v - definition(static_cast<uint16_t>(p - 1))
                                        : definition(static_cast<uint16_t>(p + 1));
    const float mid = static_cast<float>((v + next) / 2);  // exact: one more bit
    for (float f : {static_cast<float>(v), mid}) {
      for (float g : {f, std::nextafter(f, 0.0f), std::nextafter(f, INFINITY)}) {
        in.push_back(g);
        in.push_back(-g);
      }
    }
  }
  return in;
}

std::vector<float> RandomBitPatterns(size_t n) {
  ::smollm::testing::RowGenerator gen(0x4a1f);
  std::vector<float> in;
  while (in.size() < n) {
    const float f = F32FromBits(static_cast<uint32_t>(gen.NextU64()));
    if (!std::isnan(f)) in.push_back(f);
  }
  for (float f :
       {INFINITY, -INFINITY, 3.4028235e38f, -3.4028235e38f, 1e-45f, -1e-45f, 1.1754942e-38f,
        65519.996f, 65520.0f, 65504.0f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 0.0f, -0.0f}) {
    in.push_back(f);
  }
  return in;
}

// The conversions are constexpr (that is what lets CUDA device code call them).
static_assert(Fp16ToFp32(0x3c00) == 1.0f);
static_assert(Fp16ToFp32(0x0001) == 5.9604644775390625e-8f);
static_assert(Fp32ToFp16(65520.0f) == 0x7c00);
static_assert(Fp32ToBf16(1.0f) == 0x3f80 && Bf16ToFp32(0xc000) == -2.0f);

TEST(Fp16ToFp32, EveryPatternMatchesTheDefinition) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = Fp16ToFp32(static_cast<uint16_t>(h));
    const double want = Fp16Definition(static_cast<uint16_t>(h));
    SCOPED_TRACE(absl::StrFormat("fp16 0x%04x", h));
    if (std::isnan(want)) {
      // NaNs keep sign and payload: the pattern is the plain widening.
      EXPECT_EQ(F32Bits(f), ((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13));
    } else {
      EXPECT_EQ(static_cast<double>(f), want);
      EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0);  // -0 stays -0
    }
  }
}

TEST(Fp32ToFp16, RoundsToNearestEvenAtEveryBoundary) {
  std::vector<float> in = BoundaryInputs(Fp16Definition, 0x7bff);
  const std::vector<float> random = RandomBitPatterns(200000);
  in.insert(in.end(), random.begin(), random.end());
  for (float f : in) {
    ASSERT_EQ(Fp32ToFp16(f), Fp16Nearest(f)) << absl::StrFormat("fp32 %a (0x%08x)", f, F32Bits(f));
  }
}

TEST(Fp32ToFp16, EveryFp16ValueRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    if (std::isnan(Fp16Definition(static_cast<uint16_t>(h)))) continue;
    ASSERT_EQ(Fp32ToFp16(Fp16ToFp32(static_cast<uint16_t>(h))), h);
  }
}

TEST(Fp32ToFp16, NanStaysAQuietNanWithItsSign) {
  for (uint32_t bits : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fbfffffu, 0xff812345u}) {
    const uint16_t h = Fp32ToFp16(F32FromBits(bits));
    EXPECT_EQ(h & 0x7e00u, 0x7e00u) << std::hex << bits;  // exponent all ones, quiet bit
    EXPECT_EQ((h & 0x8000u) != 0, (bits & 0x80000000u) != 0);
  }
}

#ifdef __FLT16_MAX__
// The compiler's own _Float16 conversions as a second, independent reference.
TEST(Fp16, AgreesWithCompilerFloat16) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const _Float16 half = __builtin_bit_cast(_Float16, static_cast<uint16_t>(h));
    if (half != half) continue;  // NaN payload handling is the compiler's choice
    ASSERT_EQ(F32Bits(Fp16ToFp32(static_cast<uint16_t>(h))), F32Bits(static_cast<float>(half)));
  }
  for (float f : BoundaryInputs(Fp16Definition, 0x7bff)) {
    ASSERT_EQ(Fp32ToFp16(f), __builtin_bit_cast(uint16_t, static_cast<_Float16>(f))) << f;
  }
}
#endif

TEST(Bf16ToFp32, EveryPatternMatchesTheDefinition) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const float f = Bf16ToFp32(static_cast<uint16_t>(b));
    EXPECT_EQ(F32Bits(f), b << 16);  // widening keeps NaN payloads too
    const double want = Bf16Definition(static_cast<uint16_t>(b));
    if (!std::isnan(want)) {
      EXPECT_EQ(static_cast<double>(f), want) << std::hex << b;
    }
  }
}

TEST(Fp32ToBf16, RoundsToNearestEvenAtEveryBoundary) {
  std::vector<float> in = BoundaryInputs(Bf16Definition, 0x7f7f);
  const std::vector<float> random = RandomBitPatterns(200000);
  in.insert(in.end(), random.begin(), random.end());
  for (float f : in) {
    ASSERT_EQ(Fp32ToBf16(f), Bf16Nearest(f)) << absl::StrFormat("fp32 %a (0x%08x)", f, F32Bits(f));
  }
}

TEST(Fp32ToBf16, NanStaysAQuietNan) {
  // A signalling NaN whose payload lives only in the dropped bits must not become inf.
  for (uint32_t bits : {0x7f800001u, 0xff800001u, 0x7fc00000u, 0x7fa00000u}) {
    const uint16_t b = Fp32ToBf16(F32FromBits(bits));
    EXPECT_TRUE(std::isnan(Bf16ToFp32(b))) << std::hex << bits;
    EXPECT_EQ(b & 0x0040u, 0x0040u);
    EXPECT_EQ((b & 0x8000u) != 0, (bits & 0x80000000u) != 0);
  }
}

}  // namespace
}  // namespace smollm::runtime
