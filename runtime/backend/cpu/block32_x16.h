// 32-element block formats with 16 rows interleaved ("Q4_0 x16", ...), the layouts
// the CPU backend repacks those matrices into for its AVX-512 VNNI and AVX2 kernels (the
// reasons of q4k_x16.h): one vpdpbusd (on AVX2, a maddubs per 8 rows) serves 16 rows, the 16
// rows' fp16 fields convert in one instruction, and the kernels stream whole cache lines.
#pragma once

#include <cstdint>

#include "runtime/backend/cpu/q4k_x16.h"
#include "runtime/core/ggml_type.h"

namespace smollm::runtime::cpu {

// One Q4_1 block (32 elements) of 16 rows, 320 bytes, the size of the 16 GGUF blocks:
//   [0, 32)     d[16]  fp16, row r at 2r
//   [32, 64)    m[16]  fp16
//   [64, 320)   quants[4 steps s][16 rows][4]: the low nibble holds element 4s + e of
//               row r, the high nibble element 16 + 4s + e (GGUF byte 4s + e as it is).
inline constexpr int kQ4_1X16BlockBytes = 320;
inline constexpr int kQ4_1X16MinsOffset = 32;
inline constexpr int kQ4_1X16QuantsOffset = 64;

// One Q8_0 block of 16 rows, 544 bytes, the size of the 16 GGUF blocks:
//   [0, 32)     d[16]  fp16
//   [32, 544)   quants[8 steps s][16 rows][4]: element 4s + e of row r as q + 128, an
//               unsigned byte (vpdpbusd's unsigned operand; the kernel takes 128 times
//               the activations' block sum back off).
inline constexpr int kQ8_0X16BlockBytes = 544;
inline constexpr int kQ8_0X16QuantsOffset = 32;

// One Q4_0 block of 16 rows, 288 bytes: d[16] fp16, then the quants as Q4_1's (the
// unsigned nibbles q; the kernel takes 8 times the activations' block sum off).
inline constexpr int kQ4_0X16BlockBytes = 288;
inline constexpr int kQ4_0X16QuantsOffset = 32;

// One Q5_0 block of 16 rows, 352 bytes, the size of the 16 GGUF blocks:
//   [0, 32)     d[16]  fp16
//   [32, 96)    fifth bits[8 vectors v][64 bits]: bit 4r + e of vector v is bit 4v + e of
//               row r's qh, the fifth bit of the quant in byte 4r + e of quant vector v
//               below (a byte mask: one masked add puts them in place)
//   [96, 352)   the low 4 bits as Q4_1's quants; vectors 0-3 are their low nibbles
//               (elements 4s + e), 4-7 their high nibbles (16 + 4s + e). The 5-bit q is
//               unsigned; the kernel takes 16 times the activations' block sum off.
inline constexpr int kQ5_0X16BlockBytes = 352;
inline constexpr int kQ5_0X16FifthBitsOffset = 32;
inline constexpr int kQ5_0X16QuantsOffset = 96;

// The layouts above as the kernels read them: block bytes, where the quants start, the
// offset the stored unsigned quants carry (q - kOffset is the GGUF quant), whether they
// are nibbles (else bytes), whether a Q5_0 fifth-bit plane adds to them, and whether a
// Q4_1 min follows the scales.
struct X16Q4_0 {
  static constexpr int kBlockBytes = kQ4_0X16BlockBytes, kQuantsOffset = kQ4_0X16QuantsOffset;
  static constexpr int kOffset = 8;
  static constexpr bool kNibbles = true, kFifthBits = false, kHasMin = false;
};
struct X16Q4_1 {
  static constexpr int kBlockBytes = kQ4_1X16BlockBytes, kQuantsOffset = kQ4_1X16QuantsOffset;
  static constexpr int kOffset = 0;
  static constexpr bool kNibbles = true, kFifthBits = false, kHasMin = true;
};
struct X16Q5_0 {
  static constexpr int kBlockBytes = kQ5_0X16BlockBytes, kQuantsOffset = kQ5_0X16QuantsOffset;
  static constexpr int kOffset = 16;
  static constexpr bool kNibbles = true, kFifthBits = true, kHasMin = false;
};
struct X16Q8_0 {
  static constexpr int kBlockBytes = kQ8_0X16BlockBytes, kQuantsOffset = kQ8_0X16QuantsOffset;
  static constexpr int kOffset = 128;
  static constexpr bool kNibbles = false, kFifthBits = false, kHasMin = false;
};

// Whether `type` is one of the formats above.
bool IsBlock32X16Type(GgmlType type);

// Bytes of one 16-row group of k elements (k a multiple of 32) of such a type.
uint64_t Block32X16GroupBytes(GgmlType type, int64_t k);

// As InterleaveQ4KX16 / DeinterleaveQ4KX16Row, for rows of such a type
// (k / 32 * block bytes long).
void InterleaveBlock32X16(GgmlType type, const uint8_t* rows, int64_t k, uint8_t* dst);
void DeinterleaveBlock32X16Row(GgmlType type, const uint8_t* group, int64_t k, int row,
                               uint8_t* dst);

}  // namespace smollm::runtime::cpu
