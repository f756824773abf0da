// The 12-byte packing of eight 6-bit sub-block scales and eight 6-bit mins shared by
// Q4_K and Q5_K.
//
// Byte layout (a..h are the scales of sub-blocks 0..7, A..H their mins; digits are bit
// positions within the 6-bit value):
//   bytes 0-3:  [e5 e4 | a5..a0] ... [h5 h4 | d5..d0]   scales 0-3, top bits of scales 4-7
//   bytes 4-7:  [E5 E4 | A5..A0] ... [H5 H4 | D5..D0]   mins 0-3, top bits of mins 4-7
//   bytes 8-11: [E3..E0 | e3..e0] ... [H3..H0 | h3..h0] low nibbles of scales/mins 4-7
// constexpr with no library calls, so CUDA device code can call them too
// (nvcc --expt-relaxed-constexpr), like the block decoders in q*.h.
#pragma once

#include <cstdint>

namespace smollm::runtime {

inline constexpr int kKScaleBytes = 12;

struct ScaleMin {
  uint8_t scale;  // 0..63
  uint8_t min;    // 0..63
};

// Sub-block j's (0..7) scale and min from the 12 packed bytes.
constexpr ScaleMin UnpackScaleMinK(const uint8_t* packed, int j) {
  if (j < 4) {
    return {static_cast<uint8_t>(packed[j] & 63), static_cast<uint8_t>(packed[j + 4] & 63)};
  }
  return {static_cast<uint8_t>((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4)),
          static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4))};
}

// Inverse of UnpackScaleMinK: scales[8] and mins[8] (each < 64) into packed[12].
constexpr void PackScalesMinsK(const uint8_t* scales, const uint8_t* mins, uint8_t* packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>((scales[j] & 63) | ((scales[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>((mins[j] & 63) | ((mins[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0x0f) | ((mins[j + 4] & 0x0f) << 4));
  }
}

}  // namespace smollm::runtime
