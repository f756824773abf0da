// Q4_K x16 interleaving and its inverse: plain byte shuffles, done once per weight.
#include "runtime/backend/cpu/q4k_x16.h"

#include <cstring>

#include "runtime/backend/cpu/x16_layout.h"
#include "runtime/quant/q4_k.h"

namespace smollm::runtime::cpu {
namespace {

// Byte of the quants area holding element i's nibble for `row`, and whether it is the
// high nibble.
struct NibbleAt {
  int byte;
  bool high;
};
constexpr NibbleAt QuantPosition(int row, int i) {
  const int j = i / 32, within = i % 32;
  const bool high = within >= 16;
  const int s = (within % 16) / 4, e = within % 4;
  return {kQ4KX16QuantsOffset + ((j * 4 + s) * kX16Rows + row) * 4 + e, high};
}

}  // namespace

void InterleaveQ4KX16(const uint8_t* rows, int64_t k, uint8_t* dst) {
  ForEachX16Block(k / 256, sizeof(BlockQ4_K), kQ4KX16BlockBytes, rows, dst,
                  [](const uint8_t* block, int r, uint8_t* out) {
                    BlockQ4_K blk;
                    std::memcpy(&blk, block, sizeof(blk));
                    std::memcpy(out + 2 * r, &blk.d, 2);
                    std::memcpy(out + 32 + 2 * r, &blk.dmin, 2);
                    for (int j = 0; j < 8; ++j) {
                      const ScaleMin sm = UnpackScaleMinK(blk.scales, j);
                      out[kQ4KX16ScalesOffset + j * kX16Rows + r] = sm.scale;
                      out[kQ4KX16MinsOffset + ((j / 2) * kX16Rows + r) * 2 + j % 2] = sm.min;
                    }
                    // Byte by byte: sub-block j's elements 4s + e and 16 + 4s + e share
                    // a byte, and both sit in the same nibble of GGUF chunk j / 2.
                    for (int j = 0; j < 8; ++j) {
                      const uint8_t* chunk = blk.qs + (j / 2) * 32;
                      const int shift = (j % 2) * 4;
                      for (int x = 0; x < 16; ++x) {
                        const NibbleAt at = QuantPosition(r, 32 * j + x);
                        out[at.byte] = static_cast<uint8_t>(((chunk[x] >> shift) & 0x0f) |
                                                            ((chunk[16 + x] >> shift) & 0x0f) << 4);
                      }
                    }
                  });
}

void DeinterleaveQ4KX16Row(const uint8_t* group, int64_t k, int row, uint8_t* dst) {
  for (int64_t b = 0; b < k / 256; ++b) {
    const uint8_t* in = group + b * kQ4KX16BlockBytes;
    BlockQ4_K blk{};
    std::memcpy(&blk.d, in + 2 * row, 2);
    std::memcpy(&blk.dmin, in + 32 + 2 * row, 2);
    uint8_t scales[8], mins[8];
    for (int j = 0; j < 8; ++j) {
      scales[j] = in[kQ4KX16ScalesOffset + j * kX16Rows + row];
      mins[j] = in[kQ4KX16MinsOffset + ((j / 2) * kX16Rows + row) * 2 + j % 2];
    }
    PackScalesMinsK(scales, mins, blk.scales);
    for (int i = 0; i < 256; ++i) {
      const NibbleAt at = QuantPosition(row, i);
      const int q = (in[at.byte] >> (at.high ? 4 : 0)) & 0x0f;
      // Element i sits in chunk i / 64, byte i % 32, high nibble for odd sub-blocks.
      blk.qs[(i / 64) * 32 + i % 32] |= static_cast<uint8_t>(q << ((i / 32) % 2 == 0 ? 0 : 4));
    }
    std::memcpy(dst + b * sizeof(BlockQ4_K), &blk, sizeof(blk));
  }
}

}  // namespace smollm::runtime::cpu
