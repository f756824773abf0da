// Q4_1 / Q8_0 x16 interleaving and its inverse: a table of byte moves per row, done
// once per weight.
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
};

Layout LayoutOf(GgmlType type, int row) {
  Layout l{};
  if (type == GgmlType::kQ4_1) {
    l = {20, kQ4_1X16BlockBytes, 6, {}};
    l.fields[0] = {0, 2 * row, 2, false};
    l.fields[1] = {2, kQ4_1X16MinsOffset + 2 * row, 2, false};
    for (int s = 0; s < 4; ++s) {
      l.fields[2 + s] = {4 + 4 * s, kQ4_1X16QuantsOffset + (s * kX16Rows + row) * 4, 4, false};
    }
  } else {  // Q8_0
    l = {34, kQ8_0X16BlockBytes, 9, {}};
    l.fields[0] = {0, 2 * row, 2, false};
    for (int s = 0; s < 8; ++s) {
      l.fields[1 + s] = {2 + 4 * s, kQ8_0X16QuantsOffset + (s * kX16Rows + row) * 4, 4, true};
    }
  }
  return l;
}

void Move(const Field& f, const uint8_t* from, uint8_t* to) {
  for (int i = 0; i < f.bytes; ++i) to[i] = from[i] ^ (f.offset128 ? 0x80 : 0);
}

}  // namespace

bool IsBlock32X16Type(GgmlType type) { return type == GgmlType::kQ4_1 || type == GgmlType::kQ8_0; }

uint64_t Block32X16GroupBytes(GgmlType type, int64_t k) {
  return static_cast<uint64_t>(k / 32) * LayoutOf(type, 0).x16_block_bytes;
}

void InterleaveBlock32X16(GgmlType type, const uint8_t* rows, int64_t k, uint8_t* dst) {
  const Layout l0 = LayoutOf(type, 0);
  ForEachX16Block(k / 32, l0.block_bytes, l0.x16_block_bytes, rows, dst,
                  [type](const uint8_t* block, int row, uint8_t* out) {
                    const Layout l = LayoutOf(type, row);
                    for (int i = 0; i < l.n_fields; ++i) {
                      Move(l.fields[i], block + l.fields[i].gguf, out + l.fields[i].x16);
                    }
                  });
}

void DeinterleaveBlock32X16Row(GgmlType type, const uint8_t* group, int64_t k, int row,
                               uint8_t* dst) {
  const Layout l = LayoutOf(type, row);
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t* in = group + b * l.x16_block_bytes;
    uint8_t* out = dst + b * l.block_bytes;
    for (int i = 0; i < l.n_fields; ++i) Move(l.fields[i], in + l.fields[i].x16, out + l.fields[i].gguf);
  }
}

}  // namespace smollm::runtime::cpu
