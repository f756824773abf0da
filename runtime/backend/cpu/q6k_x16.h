// Q6_K weights with 16 rows interleaved ("Q6_K x16"), the layout the CPU backend repacks
// Q6_K matrices into when the AVX-512 VNNI kernels run them (the reasons of q4k_x16.h).
#pragma once

#include <cstdint>

#include "runtime/backend/cpu/q4k_x16.h"

namespace smollm::runtime::cpu {

// One 256-element block of 16 rows, 3360 bytes, the size of the 16 GGUF blocks:
//   [0, 32)      d[16]  fp16, row r at 2r
//   [32, 288)    scales[8 pairs t][16 rows][2]  int8: sub-blocks 2t, 2t + 1 (16 elements)
//   [288, 3360)  8 octets o of 32 elements (sub-blocks 2o, 2o + 1), 384 bytes each:
//                [0, 256)   low bits[4 steps c][16 rows][4]: the low nibble holds the
//                           low 4 bits of element 32o + 4c + e of row r, the high nibble
//                           those of element 32o + 16 + 4c + e;
//                [256, 384) high bits[2 halves m][16 rows][4]: bits 2p, 2p + 1 hold the
//                           top 2 bits of element 32o + 16m + 4p + e.
inline constexpr int kQ6KX16BlockBytes = 3360;
inline constexpr int kQ6KX16ScalesOffset = 32;
inline constexpr int kQ6KX16QuantsOffset = 288;
inline constexpr int kQ6KX16OctetBytes = 384;

inline uint64_t Q6KX16GroupBytes(int64_t k) { return static_cast<uint64_t>(k / 256) * kQ6KX16BlockBytes; }

// As InterleaveQ4KX16 / DeinterleaveQ4KX16Row, for Q6_K rows (k / 256 * 210 bytes).
void InterleaveQ6KX16(const uint8_t* rows, int64_t k, uint8_t* dst);
void DeinterleaveQ6KX16Row(const uint8_t* group, int64_t k, int row, uint8_t* dst);

}  // namespace smollm::runtime::cpu
