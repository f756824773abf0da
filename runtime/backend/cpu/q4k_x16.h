// Q4_K weights with 16 rows interleaved ("Q4_K x16"), the layout the CPU backend repacks
// Q4_K matrices into at upload for its AVX-512 VNNI and AVX2 kernels: one vpdpbusd (on AVX2,
// a maddubs per 8 rows) then serves 16 rows from one broadcast of 4 activation bytes, and the
// per-sub-block scales are applied once per 32 elements of 16 rows instead of once per 32
// elements of a row.
#pragma once

#include <cstdint>

namespace smollm::runtime::cpu {

inline constexpr int kX16Rows = 16;

// One 256-element block of 16 rows (2368 bytes, 2.8 % more than the 16 GGUF blocks: the
// 6-bit scales and mins are stored a byte each, ready for the kernel):
//   [0, 32)      d[16]     fp16, row r at 2r
//   [32, 64)     dmin[16]  fp16
//   [64, 192)    scales[8 sub-blocks][16 rows]   u8
//   [192, 320)   mins[4 pairs t][16 rows][2]     u8: min of sub-blocks 2t, 2t + 1
//   [320, 2368)  quants[8 sub-blocks j][4 steps s][16 rows][4]: the low nibble holds
//                element 32j + 4s + e of row r, the high nibble element 32j + 16 + 4s + e.
inline constexpr int kQ4KX16BlockBytes = 2368;
inline constexpr int kQ4KX16ScalesOffset = 64;
inline constexpr int kQ4KX16MinsOffset = 192;
inline constexpr int kQ4KX16QuantsOffset = 320;

// Bytes of one 16-row group of k elements (k a multiple of 256).
inline uint64_t Q4KX16GroupBytes(int64_t k) { return static_cast<uint64_t>(k / 256) * kQ4KX16BlockBytes; }

// Interleaves 16 consecutive Q4_K rows of k elements (`rows`, row_bytes = k / 256 * 144
// apart) into one group of Q4KX16GroupBytes(k) bytes at `dst`.
void InterleaveQ4KX16(const uint8_t* rows, int64_t k, uint8_t* dst);

// Writes row `row` (< 16) of an interleaved group back as its k / 256 GGUF Q4_K blocks,
// byte-identical to the row InterleaveQ4KX16 read.
void DeinterleaveQ4KX16Row(const uint8_t* group, int64_t k, int row, uint8_t* dst);

}  // namespace smollm::runtime::cpu
