// Every lane decoder of the CUDA kernels against runtime/quant's reference dequantizers,
// on random blocks: each element is produced by exactly one lane, with the same bits.
#include "runtime/backend/cuda/block_decode.h"

#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/quant/q4.h"
#include "runtime/quant/q4_k.h"
#include "runtime/quant/q5.h"
#include "runtime/quant/q6_k.h"
#include "runtime/quant/q8.h"

namespace smollm::runtime::cuda {
namespace {

constexpr int kBlocksPerType = 200;

// Random bytes with finite fp16 scales at the given offsets.
std::vector<uint8_t> RandomBlock(std::mt19937& rng, int bytes, std::initializer_list<int> halves) {
  std::vector<uint8_t> block(bytes);
  for (auto& b : block) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-2.0f, 2.0f);
  for (int offset : halves) {
    const uint16_t h = Fp32ToFp16(scale(rng));
    std::memcpy(block.data() + offset, &h, sizeof h);
  }
  return block;
}

// Decodes every lane of `block`, checking coverage and bit equality with `expected`.
template <class Lanes>
void ExpectLanesMatch(const std::vector<uint8_t>& block, const float* expected) {
  std::vector<int> hits(Lanes::kElements, 0);
  for (int lane = 0; lane < Lanes::kLanes; ++lane) {
    LaneWeights w;
    Lanes::Decode(block.data(), lane, w);
    ASSERT_EQ(w.first % 4, 0);
    ASSERT_EQ(w.second % 4, 0);
    for (int i = 0; i < 8; ++i) {
      const int e = i < 4 ? w.first + i : w.second + i - 4;
      ASSERT_GE(e, 0);
      ASSERT_LT(e, Lanes::kElements);
      ++hits[e];
      uint32_t got, want;
      std::memcpy(&got, &w.v[i], 4);
      std::memcpy(&want, &expected[e], 4);
      ASSERT_EQ(got, want) << "lane " << lane << " element " << e << ": " << w.v[i]
                           << " vs " << expected[e];
    }
  }
  for (int e = 0; e < Lanes::kElements; ++e) ASSERT_EQ(hits[e], 1) << "element " << e;
}

template <class Lanes, class Block>
void CheckQuantized(uint32_t seed, std::initializer_list<int> halves) {
  static_assert(sizeof(Block) == Lanes::kBytes);
  std::mt19937 rng(seed);
  for (int n = 0; n < kBlocksPerType; ++n) {
    const std::vector<uint8_t> bytes = RandomBlock(rng, Lanes::kBytes, halves);
    Block block;
    std::memcpy(&block, bytes.data(), sizeof block);
    float expected[256];
    DequantizeBlock(block, expected);
    ExpectLanesMatch<Lanes>(bytes, expected);
  }
}

TEST(CudaBlockDecode, Q4K) { CheckQuantized<Q4KLanes, BlockQ4_K>(1, {0, 2}); }
TEST(CudaBlockDecode, Q6K) { CheckQuantized<Q6KLanes, BlockQ6_K>(2, {208}); }
TEST(CudaBlockDecode, Q8_0) { CheckQuantized<Q8_0Lanes, BlockQ8_0>(3, {0}); }
TEST(CudaBlockDecode, Q4_0) { CheckQuantized<Q4_0Lanes, BlockQ4_0>(4, {0}); }
TEST(CudaBlockDecode, Q4_1) { CheckQuantized<Q4_1Lanes, BlockQ4_1>(5, {0, 2}); }
TEST(CudaBlockDecode, Q5_0) { CheckQuantized<Q5_0Lanes, BlockQ5_0>(6, {0}); }
TEST(CudaBlockDecode, Q5_1) { CheckQuantized<Q5_1Lanes, BlockQ5_1>(7, {0, 2}); }

TEST(CudaBlockDecode, F32AndF16) {
  std::mt19937 rng(8);
  std::normal_distribution<float> value;
  for (int n = 0; n < kBlocksPerType; ++n) {
    float f32[8];
    uint16_t f16[8];
    float widened[8];
    for (int i = 0; i < 8; ++i) {
      f32[i] = value(rng);
      f16[i] = Fp32ToFp16(value(rng));
      widened[i] = Fp16ToFp32(f16[i]);
    }
    std::vector<uint8_t> bytes(32);
    std::memcpy(bytes.data(), f32, 32);
    ExpectLanesMatch<F32Lanes>(bytes, f32);
    bytes.assign(16, 0);
    std::memcpy(bytes.data(), f16, 16);
    ExpectLanesMatch<F16Lanes>(bytes, widened);
  }
}

}  // namespace
}  // namespace smollm::runtime::cuda
