// The 16-row interleaved weight layouts (q4k_x16.h, q6k_x16.h) by weight type, for the
// code that repacks weights and reads them back.
#pragma once

#include <cstdint>

#include "runtime/backend/cpu/q4k_x16.h"
#include "runtime/backend/cpu/q6k_x16.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cpu {

// Whether `type` has an x16 layout (Q4_K, Q6_K).
bool HasX16Layout(GgmlType type);

// Bytes of one 16-row group of k elements; type must have an x16 layout.
uint64_t X16GroupBytes(GgmlType type, int64_t k);

// Interleaves 16 consecutive GGUF rows of `type` into one group at dst.
void InterleaveX16(GgmlType type, const uint8_t* rows, int64_t k, uint8_t* dst);

// Writes row `row` (< 16) of a group back as its GGUF blocks, byte for byte.
void DeinterleaveX16Row(GgmlType type, const uint8_t* group, int64_t k, int row, uint8_t* dst);

}  // namespace smollm::runtime::cpu
