// Per-lane decoding of GGUF weight blocks for the CUDA kernels; host- and device-callable
// so that the CPU tests check every lane against runtime/quant's reference dequantizers.
//
// Weights stay on the device in the file's block layout (no repacking). A block is split
// among `kLanes` consecutive lanes; each lane decodes 8 weights: 4 at block elements
// first..first+3 and 4 at second..second+3. The split is chosen so that the lanes of one
// block read consecutive bytes (a warp's loads of Q4_K quants are one 128-byte line) and
// the 4-element runs line up with float4 loads of the activations.
//
// Every value is computed with the same f32 operations as the reference (DequantizeBlock
// in runtime/quant), so results are bit-identical, FMA contraction included (the products
// are exact; see the reference headers).
#pragma once

#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define SMOLLM_HD __host__ __device__ __forceinline__
#else
#define SMOLLM_HD inline
#endif

#include "runtime/quant/half.h"
#include "runtime/quant/k_scales.h"

namespace smollm::runtime::cuda {

struct LaneWeights {
  float v[8];  // v[0..3] at first.., v[4..7] at second..
  int first;
  int second;
};

SMOLLM_HD float HalfBitsToFloat(uint16_t h) {
#ifdef __CUDA_ARCH__
  return __half2float(__ushort_as_half(h));  // exact, like the software conversion
#else
  return Fp16ToFp32(h);
#endif
}

SMOLLM_HD uint16_t LoadU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

// Little-endian 32 bits from 4 bytes with no alignment demand.
SMOLLM_HD uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// The same from a 4-byte aligned address: one load on the device.
SMOLLM_HD uint32_t LoadAlignedU32(const uint8_t* p) {
#ifdef __CUDA_ARCH__
  return *reinterpret_cast<const uint32_t*>(p);
#else
  return LoadU32(p);
#endif
}

SMOLLM_HD float LoadF32(const uint8_t* p) {
#ifdef __CUDA_ARCH__
  return *reinterpret_cast<const float*>(p);  // F32 rows are 32-byte multiples
#else
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
#endif
}

// Q4_K (144 bytes): lane l reads quant bytes 32c + 4k .. +3 (c = l / 8, k = l % 8), whose
// low nibbles are sub-block 2c and high nibbles sub-block 2c + 1.
struct Q4KLanes {
  static constexpr int kElements = 256, kBytes = 144, kLanes = 32;
  SMOLLM_HD static void Decode(const uint8_t* block, int lane, LaneWeights& out) {
    const int c = lane >> 3, k = lane & 7;
    const float d = HalfBitsToFloat(LoadU16(block));
    const float dmin = HalfBitsToFloat(LoadU16(block + 2));
    const ScaleMin lo = UnpackScaleMinK(block + 4, 2 * c);
    const ScaleMin hi = UnpackScaleMinK(block + 4, 2 * c + 1);
    const float ds0 = d * static_cast<float>(lo.scale), dm0 = dmin * static_cast<float>(lo.min);
    const float ds1 = d * static_cast<float>(hi.scale), dm1 = dmin * static_cast<float>(hi.min);
    const uint32_t q = LoadAlignedU32(block + 16 + 32 * c + 4 * k);
    for (int i = 0; i < 4; ++i) {
      out.v[i] = ds0 * static_cast<float>((q >> (8 * i)) & 15u) - dm0;
      out.v[4 + i] = ds1 * static_cast<float>((q >> (8 * i + 4)) & 15u) - dm1;
    }
    out.first = 64 * c + 4 * k;
    out.second = out.first + 32;
  }
};

// Q6_K (210 bytes, only 2-byte aligned): lane l covers half h = l / 16; with r = l % 16,
// the low nibbles of ql[64h + 32(r / 8) + 4(r % 8) ..] are group r / 8 and the high ones
// group 2 + r / 8 (groups of 32 elements inside the half, see q6_k.h).
struct Q6KLanes {
  static constexpr int kElements = 256, kBytes = 210, kLanes = 32;
  SMOLLM_HD static void Decode(const uint8_t* block, int lane, LaneWeights& out) {
    const int h = lane >> 4, g = (lane >> 3) & 1, l0 = 4 * (lane & 7);
    const uint32_t ql = LoadU32(block + 64 * h + 32 * g + l0);
    const uint32_t qh = LoadU32(block + 128 + 32 * h + l0);
    const float d = HalfBitsToFloat(LoadU16(block + 208));
    out.first = 128 * h + 32 * g + l0;
    out.second = out.first + 64;
    const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
    const float ds0 = d * static_cast<float>(scales[out.first / 16]);
    const float ds1 = d * static_cast<float>(scales[out.second / 16]);
    for (int i = 0; i < 4; ++i) {
      const uint32_t high = qh >> (8 * i);
      const int q0 = static_cast<int>(((ql >> (8 * i)) & 15u) | (((high >> (2 * g)) & 3u) << 4));
      const int q1 =
          static_cast<int>(((ql >> (8 * i + 4)) & 15u) | (((high >> (2 * g + 4)) & 3u) << 4));
      out.v[i] = ds0 * static_cast<float>(q0 - 32);
      out.v[4 + i] = ds1 * static_cast<float>(q1 - 32);
    }
  }
};

// The 32-element formats: 4 lanes per block. Q8_0: lane k holds elements 8k..8k+7.
struct Q8_0Lanes {
  static constexpr int kElements = 32, kBytes = 34, kLanes = 4;
  SMOLLM_HD static void Decode(const uint8_t* block, int lane, LaneWeights& out) {
    const float d = HalfBitsToFloat(LoadU16(block));
    const auto* qs = reinterpret_cast<const int8_t*>(block + 2);
    for (int i = 0; i < 8; ++i) out.v[i] = static_cast<float>(qs[8 * lane + i]) * d;
    out.first = 8 * lane;
    out.second = out.first + 4;
  }
};

// Q4_0/Q4_1/Q5_0/Q5_1: lane k reads quant bytes 4k..4k+3, elements 4k.. (low nibbles) and
// 16 + 4k.. (high nibbles). `kMin` formats add m; the others subtract an offset.
template <int kBlockBytes, int kQsOffset, bool kMin, bool kFifthBit>
struct NibbleLanes {
  static constexpr int kElements = 32, kBytes = kBlockBytes, kLanes = 4;
  SMOLLM_HD static void Decode(const uint8_t* block, int lane, LaneWeights& out) {
    const float d = HalfBitsToFloat(LoadU16(block));
    const float m = kMin ? HalfBitsToFloat(LoadU16(block + 2)) : 0.0f;
    const uint32_t qh = kFifthBit ? LoadU32(block + (kMin ? 4 : 2)) : 0u;
    const uint32_t qs = LoadU32(block + kQsOffset + 4 * lane);
    const int offset = kMin ? 0 : (kFifthBit ? 16 : 8);
    out.first = 4 * lane;
    out.second = 16 + 4 * lane;
    for (int i = 0; i < 4; ++i) {
      int q0 = static_cast<int>((qs >> (8 * i)) & 15u);
      int q1 = static_cast<int>((qs >> (8 * i + 4)) & 15u);
      if (kFifthBit) {
        q0 |= static_cast<int>(((qh >> (out.first + i)) & 1u) << 4);
        q1 |= static_cast<int>(((qh >> (out.second + i)) & 1u) << 4);
      }
      if (kMin) {
        out.v[i] = d * static_cast<float>(q0) + m;
        out.v[4 + i] = d * static_cast<float>(q1) + m;
      } else {
        out.v[i] = d * static_cast<float>(q0 - offset);
        out.v[4 + i] = d * static_cast<float>(q1 - offset);
      }
    }
  }
};
using Q4_0Lanes = NibbleLanes<18, 2, false, false>;
using Q4_1Lanes = NibbleLanes<20, 4, true, false>;
using Q5_0Lanes = NibbleLanes<22, 6, false, true>;
using Q5_1Lanes = NibbleLanes<24, 8, true, true>;

// Unquantized rows as "blocks" of 8 elements, one lane each (rows need 8 | cols).
struct F32Lanes {
  static constexpr int kElements = 8, kBytes = 32, kLanes = 1;
  SMOLLM_HD static void Decode(const uint8_t* block, int, LaneWeights& out) {
    for (int i = 0; i < 8; ++i) out.v[i] = LoadF32(block + 4 * i);
    out.first = 0;
    out.second = 4;
  }
};
struct F16Lanes {
  static constexpr int kElements = 8, kBytes = 16, kLanes = 1;
  SMOLLM_HD static void Decode(const uint8_t* block, int, LaneWeights& out) {
    for (int i = 0; i < 8; ++i) out.v[i] = HalfBitsToFloat(LoadU16(block + 2 * i));
    out.first = 0;
    out.second = 4;
  }
};

}  // namespace smollm::runtime::cuda
