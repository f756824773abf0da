// Q6_K x16 interleaving and its inverse: plain byte shuffles, done once per weight.
#include "runtime/backend/cpu/q6k_x16.h"

#include <cstring>

#include "runtime/backend/cpu/x16_layout.h"
#include "runtime/quant/q6_k.h"

namespace smollm::runtime::cpu {
namespace {

// Where element i of `row` keeps its low 4 bits (byte, shift) and its top 2 bits.
struct QuantBits {
  int low_byte, low_shift, high_byte, high_shift;
};
constexpr QuantBits BitsOf(int row, int i) {
  const int o = i / 32, within = i % 32, e = i % 4;
  const int c = (within % 16) / 4, m = within / 16, p = (within % 16) / 4;
  const int octet = kQ6KX16QuantsOffset + o * kQ6KX16OctetBytes;
  return {octet + (c * kX16Rows + row) * 4 + e, m * 4,
          octet + 256 + (m * kX16Rows + row) * 4 + e, 2 * p};
}

// Sets element i's 6-bit quant q in a GGUF block (the inverse of Q6KQuant).
void SetQ6KQuant(BlockQ6_K& b, int i, int q) {
  const int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
  b.ql[64 * half + l + 32 * (quarter % 2)] |= static_cast<uint8_t>((q & 0x0f) << (quarter < 2 ? 0 : 4));
  b.qh[32 * half + l] |= static_cast<uint8_t>((q >> 4) << (2 * quarter));
}

uint8_t* ScaleAt(uint8_t* block, int row, int j) {
  return block + kQ6KX16ScalesOffset + ((j / 2) * kX16Rows + row) * 2 + j % 2;
}

}  // namespace

void InterleaveQ6KX16(const uint8_t* rows, int64_t k, uint8_t* dst) {
  ForEachX16Block(k / 256, sizeof(BlockQ6_K), kQ6KX16BlockBytes, rows, dst,
                  [](const uint8_t* block, int r, uint8_t* out) {
                    BlockQ6_K blk;
                    std::memcpy(&blk, block, sizeof(blk));
                    std::memcpy(out + 2 * r, &blk.d, 2);
                    for (int j = 0; j < 16; ++j) std::memcpy(ScaleAt(out, r, j), &blk.scales[j], 1);
                    for (int i = 0; i < 256; ++i) {
                      const QuantBits at = BitsOf(r, i);
                      const int q = Q6KQuant(blk, i);
                      out[at.low_byte] |= static_cast<uint8_t>((q & 0x0f) << at.low_shift);
                      out[at.high_byte] |= static_cast<uint8_t>((q >> 4) << at.high_shift);
                    }
                  });
}

void DeinterleaveQ6KX16Row(const uint8_t* group, int64_t k, int row, uint8_t* dst) {
  for (int64_t b = 0; b < k / 256; ++b) {
    const uint8_t* in = group + b * kQ6KX16BlockBytes;
    BlockQ6_K blk{};
    std::memcpy(&blk.d, in + 2 * row, 2);
    for (int j = 0; j < 16; ++j) {
      std::memcpy(&blk.scales[j], ScaleAt(const_cast<uint8_t*>(in), row, j), 1);
    }
    for (int i = 0; i < 256; ++i) {
      const QuantBits at = BitsOf(row, i);
      const int q = ((in[at.low_byte] >> at.low_shift) & 0x0f) | (((in[at.high_byte] >> at.high_shift) & 3) << 4);
      SetQ6KQuant(blk, i, q);
    }
    std::memcpy(dst + b * sizeof(BlockQ6_K), &blk, sizeof(blk));
  }
}

}  // namespace smollm::runtime::cpu
