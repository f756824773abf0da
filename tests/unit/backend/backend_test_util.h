// Random inputs and plain scalar references for the backend op tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/backend.h"
#include "runtime/quant/dequantize.h"
#include "runtime/quant/half.h"
#include "runtime/quant/quantize.h"

namespace smollm::runtime::testing {

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Activations over a host vector (the CPU backend's memory is host memory).
inline Activations View(std::vector<float>& v, int64_t rows, int64_t cols) {
  return {v.data(), rows, cols, cols};
}

// A weight of `type` holding random values: quantized with our quantizers where they
// exist, else raw bytes of the plain formats.
struct TestWeight {
  GgmlType type;
  int64_t rows;
  int64_t cols;
  std::vector<uint8_t> bytes;
  std::vector<float> dequantized;  // the reference values, [rows][cols]

  HostWeight Host() const { return {type, rows, cols, bytes}; }
};

// Q4_1 blocks of `src` by min and range (runtime/quant has no Q4_1 quantizer: the
// runtime only reads Q4_1 files).
inline void QuantizeQ4_1(std::span<const float> src, uint8_t* dst) {
  for (size_t b = 0; b < src.size() / 32; ++b, dst += 20) {
    const float* x = src.data() + 32 * b;
    float lo = x[0], hi = x[0];
    for (int i = 1; i < 32; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    const uint16_t d = Fp32ToFp16((hi - lo) / 15), m = Fp32ToFp16(lo);
    std::memcpy(dst, &d, 2);
    std::memcpy(dst + 2, &m, 2);
    const float dd = Fp16ToFp32(d), inv = dd > 0 ? 1 / dd : 0;
    for (int i = 0; i < 16; ++i) {
      const auto q = [&](float v) {
        return static_cast<uint8_t>(std::clamp(static_cast<int>(std::lround((v - Fp16ToFp32(m)) * inv)), 0, 15));
      };
      dst[4 + i] = static_cast<uint8_t>(q(x[i]) | q(x[16 + i]) << 4);
    }
  }
}

inline TestWeight MakeWeight(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
  TestWeight w{type, rows, cols, {}, {}};
  const uint64_t row_bytes = *RowBytes(type, cols);
  w.bytes.resize(row_bytes * rows);
  const std::vector<float> values = RandomFloats(rows * cols, seed, 0.5f);
  for (int64_t r = 0; r < rows; ++r) {
    std::span<const float> src(values.data() + r * cols, cols);
    std::span<uint8_t> dst(w.bytes.data() + r * row_bytes, row_bytes);
    if (type == GgmlType::kF32) {
      std::memcpy(dst.data(), src.data(), row_bytes);
    } else if (type == GgmlType::kQ4_1) {
      QuantizeQ4_1(src, dst.data());
    } else {
      EXPECT_TRUE(QuantizeRow(type, src, dst).ok()) << NameOf(type);
    }
  }
  w.dequantized.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_TRUE(DequantizeRow(type, std::span<const uint8_t>(w.bytes.data() + r * row_bytes, row_bytes),
                              std::span<float>(w.dequantized.data() + r * cols, cols))
                    .ok());
  }
  return w;
}

}  // namespace smollm::runtime::testing
