// The CUDA int8 mat-vec's host-callable parts against the CPU backend's references:
//  - the activation quantizers' element helpers, composed block by block as the kernels
//    compose them, give the reference quantizers' bytes exactly (edge cases included);
//  - every weight format's unit dot products, summed over a row, give ReferenceQuantDot's
//    value up to float reassociation, on random blocks.
#include "runtime/backend/cuda/block_dot.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"
#include "runtime/core/ggml_type.h"
#include "runtime/quant/half.h"
#include "runtime/quant/q8.h"
#include "runtime/quant/q8_k.h"

namespace smollm::runtime::cuda {
namespace {

// Host copy of a quantized activation matrix in the device layout.
struct HostActivations {
  std::vector<uint8_t> bytes;
  QuantizedActivations view;
};

HostActivations Allocate(GgmlType type, int64_t rows, int64_t cols) {
  HostActivations h;
  h.bytes.assign(QuantizedActivationBytes(rows, cols), 0);
  h.view = QuantizedActivationsAt(h.bytes.data(), type, rows, cols);
  return h;
}

// What the kernels of matvec_q8.cu compute for one row, from the element helpers.
void QuantizeWithHelpers(GgmlType type, const float* x, int64_t row, QuantizedActivations& a) {
  int8_t* q = a.q + row * a.cols;
  if (type == GgmlType::kQ8_K) {
    for (int64_t b = 0; b < a.cols / 256; ++b) {
      const float* xb = x + 256 * b;
      float amax = 0.0f;
      for (int i = 0; i < 256; ++i) amax = fmaxf(amax, fabsf(xb[i]));
      int first = 256;
      for (int i = 255; i >= 0; --i) {
        if (fabsf(xb[i]) == amax) first = i;
      }
      const float iscale = Q8KInverseScale(first < 256 ? xb[first] : 0.0f);
      for (int i = 0; i < 256; ++i) q[256 * b + i] = iscale != 0.0f ? Q8KQuant(xb[i], iscale) : 0;
      for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += q[256 * b + 16 * g + i];
        a.bsums[row * (a.cols / 16) + 16 * b + g] = sum;
      }
      a.d[row * (a.cols / 32) + b] = iscale != 0.0f ? 1.0f / iscale : 0.0f;
    }
    return;
  }
  for (int64_t b = 0; b < a.cols / 32; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = fmaxf(amax, fabsf(x[32 * b + i]));
    const Int8BlockScale s = Q8BlockScale(amax);
    int sum = 0;
    for (int i = 0; i < 32; ++i) sum += q[32 * b + i] = static_cast<int8_t>(Q8Quant(x[32 * b + i], s.id));
    a.d[row * (a.cols / 32) + b] = RoundThroughFp16(s.d);
    a.s[row * (a.cols / 32) + b] = RoundThroughFp16(Fp16RangeClamp(sum * s.d));
  }
}

// The reference quantizer's bytes (GGUF block layout) moved into the device layout.
void FromReferenceBlocks(GgmlType type, const uint8_t* blocks, int64_t row,
                         QuantizedActivations& a) {
  int8_t* q = a.q + row * a.cols;
  if (type == GgmlType::kQ8_K) {
    for (int64_t b = 0; b < a.cols / 256; ++b) {
      BlockQ8_K k;
      std::memcpy(&k, blocks + b * sizeof k, sizeof k);
      std::memcpy(q + 256 * b, k.qs, 256);
      for (int g = 0; g < 16; ++g) a.bsums[row * (a.cols / 16) + 16 * b + g] = k.bsums[g];
      a.d[row * (a.cols / 32) + b] = k.d;
    }
    return;
  }
  for (int64_t b = 0; b < a.cols / 32; ++b) {
    if (type == GgmlType::kQ8_1) {
      BlockQ8_1 k;
      std::memcpy(&k, blocks + b * sizeof k, sizeof k);
      std::memcpy(q + 32 * b, k.qs, 32);
      a.d[row * (a.cols / 32) + b] = Fp16ToFp32(k.d);
      a.s[row * (a.cols / 32) + b] = Fp16ToFp32(k.s);
    } else {
      BlockQ8_0 k;
      std::memcpy(&k, blocks + b * sizeof k, sizeof k);
      std::memcpy(q + 32 * b, k.qs, 32);
      a.d[row * (a.cols / 32) + b] = Fp16ToFp32(k.d);
    }
  }
}

std::vector<uint8_t> ReferenceBlocks(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> out(*RowBytes(type, static_cast<int64_t>(x.size())));
  cpu::ReferenceQuantizeActivations(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

// Rows that exercise the helpers: random scales, a zero block, ties of +-amax (the first
// wins in Q8_K), tiny (subnormal) and huge (fp16-saturating) blocks, exact halves.
std::vector<std::vector<float>> EdgeRows(std::mt19937& rng, int64_t cols) {
  std::vector<std::vector<float>> rows;
  for (float scale : {1.0f, 1e-3f, 300.0f, 3e6f}) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> x(cols);
    for (auto& v : x) v = d(rng);
    rows.push_back(x);
  }
  std::vector<float> special(cols, 0.0f);
  for (int64_t i = 256; i < cols; ++i) special[i] = static_cast<float>((i % 7) - 3) * 0.5f;
  special[300] = -4.0f, special[301] = 4.0f;  // a tie: -4 comes first
  special[600] = 1e-40f, special[601] = -3e-41f;
  rows.push_back(special);
  return rows;
}

TEST(ActivationQuantHelpersTest, ComposeToTheReferenceQuantizersBytes) {
  std::mt19937 rng(11);
  const int64_t cols = 1024;
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ8_1, GgmlType::kQ8_K}) {
    const auto rows = EdgeRows(rng, cols);
    HostActivations got = Allocate(type, rows.size(), cols);
    HostActivations want = Allocate(type, rows.size(), cols);
    for (size_t r = 0; r < rows.size(); ++r) {
      QuantizeWithHelpers(type, rows[r].data(), r, got.view);
      FromReferenceBlocks(type, ReferenceBlocks(type, rows[r]).data(), r, want.view);
    }
    if (type != GgmlType::kQ8_1) {  // s is Q8_1's alone
      std::fill_n(got.view.s, rows.size() * cols / 32, 0.0f);
    }
    EXPECT_EQ(got.bytes, want.bytes) << NameOf(type);
  }
}

// Random weight bytes with finite fp16 scales at `halves` (offsets within each block).
std::vector<uint8_t> RandomWeights(std::mt19937& rng, int64_t blocks, int block_bytes,
                                   std::initializer_list<int> halves) {
  std::vector<uint8_t> w(blocks * block_bytes);
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int offset : halves) {
      const uint16_t h = Fp32ToFp16(scale(rng));
      std::memcpy(w.data() + b * block_bytes + offset, &h, 2);
    }
  }
  return w;
}

template <class T>
void ExpectRowDotsMatchTheReference(GgmlType type, std::initializer_list<int> halves) {
  std::mt19937 rng(static_cast<uint32_t>(type) + 5);
  const GgmlType act_type = ActivationTypeOf(type);
  for (int64_t cols : {256, 2048, 11008 / 256 * 256}) {
    const int rows = 24;
    const int64_t blocks = cols / T::kElements;
    const std::vector<uint8_t> w = RandomWeights(rng, rows * blocks, T::kBytes, halves);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> x(cols);
    for (auto& v : x) v = d(rng);
    const std::vector<uint8_t> act = ReferenceBlocks(act_type, x);
    HostActivations a = Allocate(act_type, 1, cols);
    FromReferenceBlocks(act_type, act.data(), 0, a.view);
    const ActColumn column = ColumnOf(a.view, 0);
    double max_want = 0, max_diff = 0;
    for (int r = 0; r < rows; ++r) {
      const uint8_t* row = w.data() + r * blocks * T::kBytes;
      float got = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        for (int u = 0; u < T::kUnits; ++u) got += T::Dot(T::Load(row + b * T::kBytes, u), column, b);
      }
      const float want = cpu::ReferenceQuantDot(type, row, act.data(), cols);
      max_want = std::max(max_want, std::fabs(static_cast<double>(want)));
      max_diff = std::max(max_diff, std::fabs(static_cast<double>(got) - want));
    }
    ASSERT_GT(max_want, 0.0) << NameOf(type);
    // Float reassociation over up to 43 blocks x 8 units: a few ulps of the largest value.
    EXPECT_LE(max_diff / max_want, 2e-6) << NameOf(type) << " cols " << cols;
  }
}

TEST(BlockDotTest, Q4_K) { ExpectRowDotsMatchTheReference<Q4KDot>(GgmlType::kQ4_K, {0, 2}); }
TEST(BlockDotTest, Q6_K) { ExpectRowDotsMatchTheReference<Q6KDot>(GgmlType::kQ6_K, {208}); }
TEST(BlockDotTest, Q8_0) { ExpectRowDotsMatchTheReference<Q8_0Dot>(GgmlType::kQ8_0, {0}); }
TEST(BlockDotTest, Q4_0) { ExpectRowDotsMatchTheReference<Q4_0Dot>(GgmlType::kQ4_0, {0}); }
TEST(BlockDotTest, Q4_1) { ExpectRowDotsMatchTheReference<Q4_1Dot>(GgmlType::kQ4_1, {0, 2}); }
TEST(BlockDotTest, Q5_0) { ExpectRowDotsMatchTheReference<Q5_0Dot>(GgmlType::kQ5_0, {0}); }
TEST(BlockDotTest, Q5_1) { ExpectRowDotsMatchTheReference<Q5_1Dot>(GgmlType::kQ5_1, {0, 2}); }

TEST(BlockDotTest, ByteHelpers) {
  EXPECT_EQ(SubBytes(0x3f00201fu, 32), 0x1fe000ffu);  // 63-32, 0-32, 32-32, 31-32
  EXPECT_EQ(SpreadToBit4(0b1010u), 0x10001000u);
  EXPECT_EQ(Dp4a(0xff7f0102u, 0x02ff7f80u, 5), 5 + (-1 * 2) + (127 * -1) + (1 * 127) + (2 * -128));
}

}  // namespace
}  // namespace smollm::runtime::cuda
