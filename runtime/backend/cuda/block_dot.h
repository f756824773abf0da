// Integer dot products of GGUF weight blocks with int8 activations (activation_quant.h)
// for the CUDA mat-vec kernel, host- and device-callable so that the CPU tests check
// them against the CPU backend's scalar reference (ReferenceQuantDot).
//
// A weight block is cut into kUnits units; a thread loads one unit's quants once
// (Load) and takes its dot product with each column's activations (Dot). Each unit's
// integer sum is exact; its float steps are the reference's per-block ones applied to
// the unit's share, so a row's value differs from the reference only by float
// reassociation.
//   Q4_K: 8 units of 16 quant bytes (one 16-byte load), 32 weights of two sub-blocks.
//   Q6_K: 8 units of 32 weights (8 bytes of each of ql low, ql high and qh).
//   32-weight formats: 4 units of 8 weights.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/backend/cuda/activation_quant.h"
#include "runtime/backend/cuda/block_decode.h"
#include "runtime/quant/k_scales.h"

namespace smollm::runtime::cuda {

// sum of the four int8 products of a and b, plus c.
SMOLLM_HD int Dp4a(uint32_t a, uint32_t b, int c) {
#ifdef __CUDA_ARCH__
  return __dp4a(static_cast<int>(a), static_cast<int>(b), c);
#else
  for (int i = 0; i < 4; ++i) {
    c += static_cast<int8_t>(a >> (8 * i)) * static_cast<int8_t>(b >> (8 * i));
  }
  return c;
#endif
}

// Each byte of w (each < 128 + offset) minus `offset`, as int8 bytes.
SMOLLM_HD uint32_t SubBytes(uint32_t w, uint32_t offset) {
  return ((w | 0x80808080u) - offset * 0x01010101u) ^ 0x80808080u;
}

// Bits 0..3 of `bits` to bit 4 of bytes 0..3.
SMOLLM_HD uint32_t SpreadToBit4(uint32_t bits) {
  return ((bits & 1u) << 4) | ((bits & 2u) << 11) | ((bits & 4u) << 18) | ((bits & 8u) << 25);
}

// 4 bytes from a 2-byte aligned address (Q6_K blocks are 210 bytes).
SMOLLM_HD uint32_t LoadU32Align2(const uint8_t* p) {
#ifdef __CUDA_ARCH__
  const auto* h = reinterpret_cast<const uint16_t*>(p);
  return static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16);
#else
  return LoadU32(p);
#endif
}

// n consecutive int8 activations (n = 4, 8 or 16; a 4n-byte aligned address on the device).
template <int kWords>
SMOLLM_HD void LoadActWords(const int8_t* p, uint32_t (&w)[kWords]) {
#ifdef __CUDA_ARCH__
  if constexpr (kWords == 4) {
    const int4 v = *reinterpret_cast<const int4*>(p);
    w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
  } else if constexpr (kWords == 2) {
    const int2 v = *reinterpret_cast<const int2*>(p);
    w[0] = v.x, w[1] = v.y;
  } else {
    w[0] = *reinterpret_cast<const uint32_t*>(p);
  }
#else
  std::memcpy(w, p, sizeof w);
#endif
}

// Column c's data of a quantized activation matrix.
struct ActColumn {
  const int8_t* q;
  const float* d;
  const float* s;
  const int32_t* bsums;
};
SMOLLM_HD ActColumn ColumnOf(const QuantizedActivations& a, int64_t c) {
  return {a.q + c * a.cols, a.d + c * (a.cols / 32), a.s + c * (a.cols / 32),
          a.bsums + c * (a.cols / 16)};
}

struct Q4KDot {
  static constexpr int kElements = 256, kBytes = 144, kUnits = 8;
  // Unit u: quant bytes 32j + 16h .. +15 (j = u / 2, h = u % 2), whose low nibbles are
  // elements 64j + 16h.. of sub-block 2j and high nibbles the 32 after (sub-block 2j + 1).
  struct Unit {
    uint32_t lo[4], hi[4];
    int sc0, sc1, m0, m1;
    float d, dmin;
    int first;  // element of lo[0]'s first weight
  };
  SMOLLM_HD static Unit Load(const uint8_t* block, int u) {
    Unit t;
    const int j = u >> 1, h = u & 1;
    uint32_t q[4];
#ifdef __CUDA_ARCH__
    const uint4 v = *reinterpret_cast<const uint4*>(block + 16 + 32 * j + 16 * h);
    q[0] = v.x, q[1] = v.y, q[2] = v.z, q[3] = v.w;
    uint32_t packed_words[3];
    for (int i = 0; i < 3; ++i) packed_words[i] = reinterpret_cast<const uint32_t*>(block + 4)[i];
    uint8_t packed[12];
    std::memcpy(packed, packed_words, 12);
#else
    std::memcpy(q, block + 16 + 32 * j + 16 * h, 16);
    uint8_t packed[12];
    std::memcpy(packed, block + 4, 12);
#endif
    for (int i = 0; i < 4; ++i) {
      t.lo[i] = q[i] & 0x0f0f0f0fu;
      t.hi[i] = (q[i] >> 4) & 0x0f0f0f0fu;
    }
    const ScaleMin a = UnpackScaleMinK(packed, 2 * j), b = UnpackScaleMinK(packed, 2 * j + 1);
    t.sc0 = a.scale, t.m0 = a.min, t.sc1 = b.scale, t.m1 = b.min;
    const uint32_t dd = LoadAlignedU32(block);
    t.d = HalfBitsToFloat(static_cast<uint16_t>(dd));
    t.dmin = HalfBitsToFloat(static_cast<uint16_t>(dd >> 16));
    t.first = 64 * j + 16 * h;
    return t;
  }
  // `b`: the block's index in the row.
  SMOLLM_HD static float Dot(const Unit& t, const ActColumn& a, int64_t b) {
    const int8_t* q = a.q + 256 * b + t.first;
    uint32_t x0[4], x1[4];
    LoadActWords(q, x0);
    LoadActWords(q + 32, x1);
    int lo = 0, hi = 0;
    for (int i = 0; i < 4; ++i) lo = Dp4a(t.lo[i], x0[i], lo), hi = Dp4a(t.hi[i], x1[i], hi);
    const int isum = t.sc0 * lo + t.sc1 * hi;
    const int32_t* bs = a.bsums + 16 * b + t.first / 16;
    const int msum = t.m0 * bs[0] + t.m1 * bs[2];
    const float da = a.d[b];
    return (da * t.d) * static_cast<float>(isum) - (da * t.dmin) * static_cast<float>(msum);
  }
};

struct Q6KDot {
  static constexpr int kElements = 256, kBytes = 210, kUnits = 8;
  // Unit u: half n = u / 4 (128 elements), l0 = 8 (u % 4): elements 128n + 32g + l0 .. +7
  // for g = 0..3, from ql[64n + l0 ..] (g 0, 2: low, high nibbles), ql[64n + 32 + l0 ..]
  // (g 1, 3) and the 2-bit pairs g of qh[32n + l0 ..].
  struct Unit {
    uint32_t q[4][2];  // int8 weights (quant - 32) of the four groups
    int sc[4];
    float d;
    int first;  // 128n + l0
  };
  SMOLLM_HD static Unit Load(const uint8_t* block, int u) {
    Unit t;
    const int n = u >> 2, l0 = 8 * (u & 3);
    for (int w = 0; w < 2; ++w) {
      const uint32_t ql0 = LoadU32Align2(block + 64 * n + l0 + 4 * w);
      const uint32_t ql1 = LoadU32Align2(block + 64 * n + 32 + l0 + 4 * w);
      const uint32_t qh = LoadU32Align2(block + 128 + 32 * n + l0 + 4 * w);
      t.q[0][w] = SubBytes((ql0 & 0x0f0f0f0fu) | ((qh & 0x03030303u) << 4), 32);
      t.q[1][w] = SubBytes((ql1 & 0x0f0f0f0fu) | (((qh >> 2) & 0x03030303u) << 4), 32);
      t.q[2][w] = SubBytes(((ql0 >> 4) & 0x0f0f0f0fu) | (((qh >> 4) & 0x03030303u) << 4), 32);
      t.q[3][w] = SubBytes(((ql1 >> 4) & 0x0f0f0f0fu) | (((qh >> 6) & 0x03030303u) << 4), 32);
    }
    t.first = 128 * n + l0;
    const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
    for (int g = 0; g < 4; ++g) t.sc[g] = scales[(t.first + 32 * g) / 16];
    t.d = HalfBitsToFloat(LoadU16(block + 208));
    return t;
  }
  SMOLLM_HD static float Dot(const Unit& t, const ActColumn& a, int64_t b) {
    const int8_t* q = a.q + 256 * b + t.first;
    int isum = 0;
    for (int g = 0; g < 4; ++g) {
      uint32_t x[2];
      LoadActWords(q + 32 * g, x);
      isum += t.sc[g] * Dp4a(t.q[g][1], x[1], Dp4a(t.q[g][0], x[0], 0));
    }
    return (a.d[b] * t.d) * static_cast<float>(isum);
  }
};

// The 32-weight formats. Unit u holds two words of 4 int8 weights at elements e0, e1
// (Q8_0: 8u, 8u + 4; nibble formats: 4u from the low nibbles, 16 + 4u from the high).
struct SmallUnit {
  uint32_t w0, w1;
  float d, m;
  int e0, e1;
  bool first;  // unit 0 adds the block's min term
};

template <int kBlockBytes, int kQsOffset, bool kMin, bool kFifthBit>
struct NibbleDot {
  static constexpr int kElements = 32, kBytes = kBlockBytes, kUnits = 4;
  using Unit = SmallUnit;
  SMOLLM_HD static Unit Load(const uint8_t* block, int u) {
    Unit t;
    const uint32_t qs = LoadU32(block + kQsOffset + 4 * u);
    t.e0 = 4 * u;
    t.e1 = 16 + 4 * u;
    t.w0 = qs & 0x0f0f0f0fu;
    t.w1 = (qs >> 4) & 0x0f0f0f0fu;
    if constexpr (kFifthBit) {
      const uint32_t qh = LoadU32(block + (kMin ? 4 : 2));
      t.w0 |= SpreadToBit4((qh >> t.e0) & 15u);
      t.w1 |= SpreadToBit4((qh >> t.e1) & 15u);
    }
    if constexpr (!kMin) {
      const uint32_t offset = kFifthBit ? 16 : 8;
      t.w0 = SubBytes(t.w0, offset);
      t.w1 = SubBytes(t.w1, offset);
    }
    t.d = HalfBitsToFloat(LoadU16(block));
    t.m = kMin ? HalfBitsToFloat(LoadU16(block + 2)) : 0.0f;
    t.first = u == 0;
    return t;
  }
  SMOLLM_HD static float Dot(const Unit& t, const ActColumn& a, int64_t b) {
    const int8_t* q = a.q + 32 * b;
    uint32_t x0[1], x1[1];
    LoadActWords(q + t.e0, x0);
    LoadActWords(q + t.e1, x1);
    const int isum = Dp4a(t.w1, x1[0], Dp4a(t.w0, x0[0], 0));
    float v = (t.d * a.d[b]) * static_cast<float>(isum);
    if (kMin && t.first) v += t.m * a.s[b];
    return v;
  }
};
using Q4_0Dot = NibbleDot<18, 2, false, false>;
using Q4_1Dot = NibbleDot<20, 4, true, false>;
using Q5_0Dot = NibbleDot<22, 6, false, true>;
using Q5_1Dot = NibbleDot<24, 8, true, true>;

struct Q8_0Dot {
  static constexpr int kElements = 32, kBytes = 34, kUnits = 4;
  using Unit = SmallUnit;
  SMOLLM_HD static Unit Load(const uint8_t* block, int u) {
    Unit t;
    t.e0 = 8 * u;
    t.e1 = 8 * u + 4;
    t.w0 = LoadU32Align2(block + 2 + t.e0);
    t.w1 = LoadU32Align2(block + 2 + t.e1);
    t.d = HalfBitsToFloat(LoadU16(block));
    t.m = 0.0f;
    t.first = u == 0;
    return t;
  }
  SMOLLM_HD static float Dot(const Unit& t, const ActColumn& a, int64_t b) {
    uint32_t x[2];
    LoadActWords(a.q + 32 * b + t.e0, x);
    const int isum = Dp4a(t.w1, x[1], Dp4a(t.w0, x[0], 0));
    return (t.d * a.d[b]) * static_cast<float>(isum);
  }
};

// Calls f.template operator()<Dot>() for the int8 kernel of `type`; `fallback` (a
// value) for a type without one.
template <class F, class R>
R WithBlockDot(GgmlType type, F&& f, R fallback) {
  switch (type) {
    case GgmlType::kQ4_K: return f.template operator()<Q4KDot>();
    case GgmlType::kQ6_K: return f.template operator()<Q6KDot>();
    case GgmlType::kQ8_0: return f.template operator()<Q8_0Dot>();
    case GgmlType::kQ4_0: return f.template operator()<Q4_0Dot>();
    case GgmlType::kQ4_1: return f.template operator()<Q4_1Dot>();
    case GgmlType::kQ5_0: return f.template operator()<Q5_0Dot>();
    case GgmlType::kQ5_1: return f.template operator()<Q5_1Dot>();
    default: return fallback;
  }
}

}  // namespace smollm::runtime::cuda
