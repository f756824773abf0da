// The 16-row interleaved weight layouts (q4k_x16.h, q6k_x16.h,
// block32_x16.h) by weight
// type, for the code that repacks weights and reads them back.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/backend/cpu/block32_x16.h"
#include "runtime/backend/cpu/q4k_x16.h"
#include "runtime/backend/cpu/q6k_x16.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cpu {

// Whether `type` has an x16 layout (Q4_K, Q6_K, Q4_0, Q4_1, Q5_0, Q8_0).
bool HasX16Layout(GgmlType type);

// Bytes of one 16-row group of k elements; type must have an x16 layout.
uint64_t X16GroupBytes(GgmlType type, int64_t k);

// Interleaves 16 consecutive GGUF rows of `type` into one group at dst.
void InterleaveX16(GgmlType type, const uint8_t* rows, int64_t k, uint8_t* dst);

// Writes row `row` (< 16) of a group back as its GGUF blocks, byte for byte.
void DeinterleaveX16Row(GgmlType type, const uint8_t* group, int64_t k, int row, uint8_t* dst);

// The loop every layout's interleaving shares: for each of n_blocks blocks (x16 block b
// at dst + b * x16_block_bytes, zeroed first) and each of the 16 rows (GGUF rows
// n_blocks * block_bytes apart at `rows`), calls fn(row's GGUF block b, row, x16 block b).
template <typename Fn>
void ForEachX16Block(int64_t n_blocks, uint64_t block_bytes, uint64_t x16_block_bytes,
                     const uint8_t* rows, uint8_t* dst, Fn fn) {
  const uint64_t row_bytes = static_cast<uint64_t>(n_blocks) * block_bytes;
  for (int64_t b = 0; b < n_blocks; ++b) {
    uint8_t* out = dst + b * x16_block_bytes;
    std::memset(out, 0, x16_block_bytes);
    for (int r = 0; r < kX16Rows; ++r) fn(rows + r * row_bytes + b * block_bytes, r, out);
  }
}

}  // namespace smollm::runtime::cpu
