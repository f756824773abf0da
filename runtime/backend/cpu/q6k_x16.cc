// Q6_K x16 interleaving and its inverse: plain byte shuffles, done once per weight.
#include "runtime/backend/cpu/q6k_x16.h"

#include <cstring>

#include "runtime/backend/cpu/x16_layout.h"
#include "runtime/quant/q6_k.h"

namespace smollm::runtime::cpu {
namespace {

// The byte of vector v of element i's sub-block in row `row`'s lanes.
constexpr int QuantByte(int row, int i, int v) {
  return kQ6KX16QuantsOffset + (i / 16) * kQ6KX16SubBlockBytes + v * 64 + row * 4 + i % 4;
}

// Element i's 6-bit quant in row `row` of an x16 block.
int GetX16Quant(const uint8_t* block, int row, int i) {
  const int step = (i % 16) / 4;
  if (step < 3) return block[QuantByte(row, i, step)] & 0x3f;
  int q = 0;
  for (int v = 0; v < 3; ++v) q |= (block[QuantByte(row, i, v)] >> 6) << (2 * v);
  return q;
}

// Sets element i's 6-bit quant q in a GGUF block (the inverse of Q6KQuant).
void SetQ6KQuant(BlockQ6_K& b, int i, int q) {
  const int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
  b.ql[64 * half + l + 32 * (quarter % 2)] |= static_cast<uint8_t>((q & 0x0f) << (quarter < 2 ? 0 : 4));
  b.qh[32 * half + l] |= static_cast<uint8_t>((q >> 4) << (2 * quarter));
}

uint8_t* ScaleAt(uint8_t* block, int row, int j) {
  return block + kQ6KX16ScalesOffset + j * kX16Rows + row;
}

}  // namespace

void InterleaveQ6KX16(const uint8_t* rows, int64_t k, uint8_t* dst) {
  ForEachX16Block(k / 256, sizeof(BlockQ6_K), kQ6KX16BlockBytes, rows, dst,
                  [](const uint8_t* block, int r, uint8_t* out) {
                    BlockQ6_K blk;
                    std::memcpy(&blk, block, sizeof(blk));
                    std::memcpy(out + 2 * r, &blk.d, 2);
                    for (int j = 0; j < 16; ++j) std::memcpy(ScaleAt(out, r, j), &blk.scales[j], 1);
                    uint8_t q[256];
                    for (int i = 0; i < 256; ++i) q[i] = static_cast<uint8_t>(Q6KQuant(blk, i));
                    // Byte by byte: element 16j + 4v + e in bits 0-5, bits 2v and 2v + 1
                    // of element 16j + 12 + e in bits 6-7.
                    for (int j = 0; j < 16; ++j) {
                      for (int v = 0; v < 3; ++v) {
                        for (int e = 0; e < 4; ++e) {
                          const int top = q[16 * j + 12 + e];
                          out[QuantByte(r, 16 * j + 4 * v + e, v)] = static_cast<uint8_t>(
                              q[16 * j + 4 * v + e] | ((top >> (2 * v)) & 3) << 6);
                        }
                      }
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
    for (int i = 0; i < 256; ++i) SetQ6KQuant(blk, i, GetX16Quant(in, row, i));
    std::memcpy(dst + b * sizeof(BlockQ6_K), &blk, sizeof(blk));
  }
}

}  // namespace smollm::runtime::cpu
