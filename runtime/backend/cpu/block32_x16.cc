// Q4_0 / Q4_1 / Q5_0 / Q8_0 x16 interleaving and its inverse: a table of byte moves per
// row (and Q5_0's fifth bits, nibble by nibble), done once per weight.
#include "runtime/backend/cpu/block32_x16.h"

#include <cstring>

#include "runtime/backend/cpu/x16_layout.h"

namespace smollm::runtime::cpu {
namespace {

// Where `bytes` bytes of one row's GGUF block go in the x16 block; `offset128`: quants
// stored as q + 128 (the same as flipping their top bit, so its own inverse).
struct Field {
  int gguf;
  int x16;
  int bytes;
  bool offset128;
};

struct Layout {
  int block_bytes;      // GGUF
  int x16_block_bytes;
  int n_fields;
  Field fields[10];
  bool fifth_bits;      // Q5_0: qh at GGUF byte 2 into the x16 fifth-bit masks
};

// The 16-byte nibble area of a GGUF block at `gguf` into x16 quant steps at `x16`.
void AddNibbleFields(Layout& l, int gguf, int x16, int row) {
  for (int s = 0; s < 4; ++s) {
    l.fields[l.n_fields++] = {gguf + 4 * s, x16 + (s * kX16Rows + row) * 4, 4, false};
  }
}

Layout LayoutOf(GgmlType type, int row) {
  Layout l{};
  l.fields[l.n_fields++] = {0, 2 * row, 2, false};  // d
  switch (type) {
    case GgmlType::kQ4_0:
      l.block_bytes = 18, l.x16_block_bytes = kQ4_0X16BlockBytes;
      AddNibbleFields(l, 2, kQ4_0X16QuantsOffset, row);
      break;
    case GgmlType::kQ4_1:
      l.block_bytes = 20, l.x16_block_bytes = kQ4_1X16BlockBytes;
      l.fields[l.n_fields++] = {2, kQ4_1X16MinsOffset + 2 * row, 2, false};
      AddNibbleFields(l, 4, kQ4_1X16QuantsOffset, row);
      break;
    case GgmlType::kQ5_0:
      l.block_bytes = 22, l.x16_block_bytes = kQ5_0X16BlockBytes, l.fifth_bits = true;
      AddNibbleFields(l, 6, kQ5_0X16QuantsOffset, row);
      break;
    default:  // Q8_0
      l.block_bytes = 34, l.x16_block_bytes = kQ8_0X16BlockBytes;
      for (int s = 0; s < 8; ++s) {
        l.fields[l.n_fields++] = {2 + 4 * s, kQ8_0X16QuantsOffset + (s * kX16Rows + row) * 4, 4, true};
      }
      break;
  }
  return l;
}

// Nibble v of the GGUF qh (bits 4v..4v+3) <-> nibble `row` of fifth-bit vector v.
void MoveFifthBits(const uint8_t* gguf_qh, uint8_t* x16, int row) {
  for (int v = 0; v < 8; ++v) {
    const int bits = (gguf_qh[v / 2] >> (4 * (v % 2))) & 0x0f;
    x16[kQ5_0X16FifthBitsOffset + 8 * v + row / 2] |= static_cast<uint8_t>(bits << (4 * (row % 2)));
  }
}
void RestoreFifthBits(const uint8_t* x16, int row, uint8_t* gguf_qh) {
  std::memset(gguf_qh, 0, 4);
  for (int v = 0; v < 8; ++v) {
    const int bits = (x16[kQ5_0X16FifthBitsOffset + 8 * v + row / 2] >> (4 * (row % 2))) & 0x0f;
    gguf_qh[v / 2] |= static_cast<uint8_t>(bits << (4 * (v % 2)));
  }
}

void Move(const Field& f, const uint8_t* from, uint8_t* to) {
  for (int i = 0; i < f.bytes; ++i) to[i] = from[i] ^ (f.offset128 ? 0x80 : 0);
}

}  // namespace

bool IsBlock32X16Type(GgmlType type) {
  return type == GgmlType::kQ4_0 || type == GgmlType::kQ4_1 || type == GgmlType::kQ5_0 ||
         type == GgmlType::kQ8_0;
}

uint64_t Block32X16GroupBytes(GgmlType type, int64_t k) {
  return static_cast<uint64_t>(k / 32) * LayoutOf(type, 0).x16_block_bytes;
}

void InterleaveBlock32X16(GgmlType type, const uint8_t* rows, int64_t k, uint8_t* dst) {
  Layout layouts[kX16Rows];
  for (int r = 0; r < kX16Rows; ++r) layouts[r] = LayoutOf(type, r);
  ForEachX16Block(k / 32, layouts[0].block_bytes, layouts[0].x16_block_bytes, rows, dst,
                  [&layouts](const uint8_t* block, int row, uint8_t* out) {
                    const Layout& l = layouts[row];
                    for (int i = 0; i < l.n_fields; ++i) {
                      Move(l.fields[i], block + l.fields[i].gguf, out + l.fields[i].x16);
                    }
                    if (l.fifth_bits) MoveFifthBits(block + 2, out, row);
                  });
}

void DeinterleaveBlock32X16Row(GgmlType type, const uint8_t* group, int64_t k, int row,
                               uint8_t* dst) {
  const Layout l = LayoutOf(type, row);
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t* in = group + b * l.x16_block_bytes;
    uint8_t* out = dst + b * l.block_bytes;
    for (int i = 0; i < l.n_fields; ++i) Move(l.fields[i], in + l.fields[i].x16, out + l.fields[i].gguf);
    if (l.fifth_bits) RestoreFifthBits(in, row, out + 2);
  }
}

}  // namespace smollm::runtime::cpu
