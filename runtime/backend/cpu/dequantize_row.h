// Per-type row dequantizers as plain function pointers for the CPU kernels' inner loops.
#pragma once

#include <cstdint>

#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cpu {

// Writes `n` floats (a whole number of blocks) dequantized from `src` to `dst`.
using DequantizeRowFn = void (*)(const uint8_t* src, float* dst, int64_t n);

// nullptr for types the CPU backend cannot compute with.
DequantizeRowFn RowDequantizer(GgmlType type);

}  // namespace smollm::runtime::cpu
