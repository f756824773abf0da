// Q6_K weights with 16 rows interleaved ("Q6_K x16"), the layout the CPU backend repacks
// Q6_K matrices into for its AVX-512 VNNI and AVX2 kernels (the reasons of q4k_x16.h).
#pragma once

#include <cstdint>

#include "runtime/backend/cpu/q4k_x16.h"

namespace smollm::runtime::cpu {

// One 256-element block of 16 rows, 3360 bytes, the size of the 16 GGUF blocks:
//   [0, 32)      d[16]  fp16, row r at 2r
//   [32, 288)    scales[16 sub-blocks j][16 rows]  int8 (sub-block j: elements 16j to
//                16j + 15)
//   [288, 3360)  16 sub-blocks j of 192 bytes: three vectors v < 3 of [16 rows][4]. Byte
//                4r + e of vector v holds in bits 0-5 the quant of element 16j + 4v + e of
//                row r, and in bits 6-7 bits 2v and 2v + 1 of the quant of element
//                16j + 12 + e: three loads give four vectors of 6-bit quants, three of them
//                by one AND each.
inline constexpr int kQ6KX16BlockBytes = 3360;
inline constexpr int kQ6KX16ScalesOffset = 32;
inline constexpr int kQ6KX16QuantsOffset = 288;
inline constexpr int kQ6KX16SubBlockBytes = 192;

inline uint64_t Q6KX16GroupBytes(int64_t k) { return static_cast<uint64_t>(k / 256) * kQ6KX16BlockBytes; }

// As InterleaveQ4KX16 / DeinterleaveQ4KX16Row, for Q6_K rows (k / 256 * 210 bytes).
void InterleaveQ6KX16(const uint8_t* rows, int64_t k, uint8_t* dst);
void DeinterleaveQ6KX16Row(const uint8_t* group, int64_t k, int row, uint8_t* dst);

}  // namespace smollm::runtime::cpu
