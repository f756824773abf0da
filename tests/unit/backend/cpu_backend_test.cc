// CPU backend element-wise ops and matmul against plain scalar references on random data.
#include "runtime/backend/cpu/cpu_backend.h"

#include <cmath>

#include "gtest/gtest.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

using testing::MakeWeight;
using testing::RandomFloats;
using testing::TestWeight;
using testing::View;

using cpu::CpuIsa;

// x as the int8 path sees it (quantized and back) when `type` takes that path, else x.
std::vector<float> QuantizedActivations(const cpu::CpuKernels& kernels, GgmlType type,
                                        const std::vector<float>& x, int64_t cols) {
  const std::optional<GgmlType> act_type = cpu::ActivationTypeFor(type);
  if (!act_type || kernels.quant_matvec(type) == nullptr) return x;
  std::vector<float> xq(x.size());
  std::vector<uint8_t> bytes(*RowBytes(*act_type, cols));
  for (size_t t = 0; t < x.size() / cols; ++t) {
    kernels.quantize_activations(*act_type, &x[t * cols], bytes.data(), cols);
    EXPECT_TRUE(DequantizeRow(*act_type, bytes, std::span<float>(&xq[t * cols], cols)).ok());
  }
  return xq;
}

// Every kernel variant this CPU can run, on one and two threads.
class CpuBackendTest : public ::testing::TestWithParam<std::tuple<int, CpuIsa>> {
 protected:
  CpuBackendTest()
      : pool_(std::get<0>(GetParam())),
        backend_(pool_, 4096, cpu::KernelsFor(std::get<1>(GetParam()))) {}
  void SetUp() override {
    if (!cpu::CpuSupports(std::get<1>(GetParam()))) GTEST_SKIP() << "CPU lacks this ISA";
  }
  ThreadPool pool_;
  CpuBackend backend_;
};

// Quantized types go through the int8 path (quant_matmul_test.cc checks it bit for bit):
// here the f32 reference with the unquantized activations holds within their
// quantization error.
TEST_P(CpuBackendTest, MatMulMatchesScalarReference) {
  for (GgmlType type : {GgmlType::kF32, GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ4_K,
                        GgmlType::kQ6_K, GgmlType::kF16, GgmlType::kBF16}) {
    for (int64_t n_tokens : {1, 3, 17}) {
      SCOPED_TRACE(::testing::Message() << NameOf(type) << " n=" << n_tokens);
      const int64_t rows = 37, cols = 512;
      TestWeight w = MakeWeight(type, rows, cols, 11);
      auto weight = backend_.UploadWeight(w.Host());
      ASSERT_TRUE(weight.ok()) << weight.status();
      std::vector<float> x = RandomFloats(n_tokens * cols, 5);
      std::vector<float> out(n_tokens * rows, NAN);
      backend_.MatMul(*weight, View(x, n_tokens, cols), View(out, n_tokens, rows));
      const std::vector<float> xq = QuantizedActivations(backend_.kernels(), type, x, cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          double ref = 0, quant_error = 0;
          for (int64_t i = 0; i < cols; ++i) {
            const double wi = w.dequantized[r * cols + i];
            ref += wi * x[t * cols + i];
            quant_error += std::abs(wi * (x[t * cols + i] - xq[t * cols + i]));
          }
          ASSERT_NEAR(out[t * rows + r], ref, 1e-4 * (1 + std::abs(ref)) + quant_error)
              << t << "," << r;
        }
      }
    }
  }
}

// MatMulMany gives every target its MatMul's bits, whether the int8 path takes the
// targets together (Q, K, V-like shapes, uploaded and so repacked where AVX-512 runs),
// or one by one (Q4_K and Q8_0 quantize activations differently; F32).
TEST_P(CpuBackendTest, MatMulManyEqualsEachMatMul) {
  const int64_t cols = 512;
  const std::vector<std::vector<GgmlType>> sets = {
      {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ8_0},
      {GgmlType::kQ4_K, GgmlType::kQ8_0},
      {GgmlType::kF32, GgmlType::kQ6_K}};
  for (const std::vector<GgmlType>& types : sets) {
    for (int64_t n_tokens : {1, 5}) {
      SCOPED_TRACE(::testing::Message() << NameOf(types[0]) << " n=" << n_tokens);
      std::vector<TestWeight> host;  // outlives the uploads, which may read it in place
      std::vector<Weight> weights;
      std::vector<std::vector<float>> alone, together;
      const std::vector<float> x = RandomFloats(n_tokens * cols, 7);
      std::vector<float> x_copy = x;
      for (size_t i = 0; i < types.size(); ++i) {
        const int64_t rows = 48 + 19 * static_cast<int64_t>(i);
        host.push_back(MakeWeight(types[i], rows, cols, 40 + i));
        auto weight = backend_.UploadWeight(host.back().Host());
        ASSERT_TRUE(weight.ok()) << weight.status();
        weights.push_back(*weight);
        alone.emplace_back(n_tokens * rows, NAN);
        together.emplace_back(n_tokens * rows, NAN);
        backend_.MatMul(weights[i], View(x_copy, n_tokens, cols), View(alone[i], n_tokens, rows));
      }
      std::vector<MatMulTarget> targets;
      for (size_t i = 0; i < types.size(); ++i) {
        targets.push_back({&weights[i], View(together[i], n_tokens, weights[i].rows)});
      }
      backend_.MatMulMany(targets, View(x_copy, n_tokens, cols));
      for (size_t i = 0; i < types.size(); ++i) {
        ASSERT_FALSE(std::isnan(alone[i][0]));
        ASSERT_EQ(0, std::memcmp(alone[i].data(), together[i].data(), alone[i].size() * sizeof(float)))
            << "target " << i;
      }
    }
  }
}

// Q4_K tables are repacked (16-row groups, then 2 plain rows) where AVX-512 runs them.
TEST_P(CpuBackendTest, EmbedDequantizesRows) {
  for (GgmlType type : {GgmlType::kQ6_K, GgmlType::kQ4_K}) {
    TestWeight table = MakeWeight(type, 50, 512, 3);
    auto weight = backend_.UploadWeight(table.Host());
    ASSERT_TRUE(weight.ok());
    const std::vector<TokenId> tokens = {49, 0, 7, 7, 23, 48, 15, 16};
    std::vector<float> out(tokens.size() * 512);
    backend_.Embed(*weight, tokens, View(out, tokens.size(), 512));
    for (size_t t = 0; t < tokens.size(); ++t) {
      for (int i = 0; i < 512; ++i) {
        ASSERT_EQ(out[t * 512 + i], table.dequantized[tokens[t] * 512 + i]) << NameOf(type);
      }
    }
  }
}

// The f32 path (dequantize, then dot) reads repacked Q4_K rows like GGUF ones.
TEST_P(CpuBackendTest, F32PathReadsRepackedRows) {
  const int64_t rows = 37, cols = 512;
  TestWeight w = MakeWeight(GgmlType::kQ4_K, rows, cols, 19);
  auto weight = backend_.UploadWeight(w.Host());
  ASSERT_TRUE(weight.ok());
  backend_.SetQuantizedActivations(false);
  std::vector<float> x = RandomFloats(2 * cols, 6);
  std::vector<float> out(2 * rows, NAN);
  backend_.MatMul(*weight, View(x, 2, cols), View(out, 2, rows));
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double ref = 0, magnitude = 0;
      for (int64_t i = 0; i < cols; ++i) {
        ref += double(w.dequantized[r * cols + i]) * x[t * cols + i];
        magnitude += std::abs(double(w.dequantized[r * cols + i]) * x[t * cols + i]);
      }
      ASSERT_NEAR(out[t * rows + r], ref, 1e-5 * magnitude) << t << "," << r;
    }
  }
}

TEST_P(CpuBackendTest, RmsNorm) {
  const int64_t n = 5, d = 576;
  std::vector<float> x = RandomFloats(n * d, 1, 3.0f);
  std::vector<float> gain = RandomFloats(d, 2);
  TestWeight g{GgmlType::kF32, 1, d, std::vector<uint8_t>(d * 4), gain};
  std::memcpy(g.bytes.data(), gain.data(), d * 4);
  auto weight = backend_.UploadWeight(g.Host());
  ASSERT_TRUE(weight.ok());
  std::vector<float> out(n * d);
  backend_.RmsNorm(View(x, n, d), *weight, 1e-5f, View(out, n, d));
  for (int64_t t = 0; t < n; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += double(x[t * d + i]) * x[t * d + i];
    const double scale = 1.0 / std::sqrt(ss / d + 1e-5);
    for (int64_t i = 0; i < d; ++i) {
      ASSERT_NEAR(out[t * d + i], x[t * d + i] * scale * gain[i], 1e-5);
    }
  }
}

TEST_P(CpuBackendTest, RopeRotatesAdjacentPairs) {
  const int n_heads = 3, head_dim = 16;
  const std::vector<Pos> positions = {0, 1, 5, 1000};
  std::vector<float> x = RandomFloats(positions.size() * n_heads * head_dim, 9);
  std::vector<float> ref = x;
  backend_.Rope(View(x, positions.size(), n_heads * head_dim), {n_heads, head_dim, 10000.0f},
                positions);
  for (size_t t = 0; t < positions.size(); ++t) {
    for (int h = 0; h < n_heads; ++h) {
      for (int i = 0; i < head_dim / 2; ++i) {
        const double angle = positions[t] * std::pow(10000.0, -2.0 * i / head_dim);
        const float* v = &ref[(t * n_heads + h) * head_dim];
        const double a = v[2 * i], b = v[2 * i + 1];
        const float* got = &x[(t * n_heads + h) * head_dim];
        ASSERT_NEAR(got[2 * i], a * std::cos(angle) - b * std::sin(angle), 2e-3);
        ASSERT_NEAR(got[2 * i + 1], a * std::sin(angle) + b * std::cos(angle), 2e-3);
      }
    }
  }
}

TEST_P(CpuBackendTest, SiluMulAddGather) {
  const int64_t n = 4, d = 300;
  std::vector<float> g = RandomFloats(n * d, 1, 4.0f), u = RandomFloats(n * d, 2);
  std::vector<float> out(n * d);
  backend_.SiluMul(View(g, n, d), View(u, n, d), View(out, n, d));
  for (int64_t i = 0; i < n * d; ++i) {
    ASSERT_NEAR(out[i], g[i] / (1 + std::exp(-double(g[i]))) * u[i], 1e-5);
  }
  std::vector<float> sum = g;
  backend_.Add(View(sum, n, d), View(u, n, d));
  for (int64_t i = 0; i < n * d; ++i) ASSERT_EQ(sum[i], g[i] + u[i]);
  std::vector<float> gathered(2 * d);
  const std::vector<int32_t> rows = {3, 1};
  backend_.GatherRows(View(g, n, d), rows, View(gathered, 2, d));
  for (int64_t i = 0; i < d; ++i) {
    ASSERT_EQ(gathered[i], g[3 * d + i]);
    ASSERT_EQ(gathered[d + i], g[1 * d + i]);
  }
}

TEST_P(CpuBackendTest, RejectsUnsupportedOrMisSizedWeights) {
  std::vector<uint8_t> bytes(84);
  EXPECT_EQ(backend_.UploadWeight({GgmlType::kQ2_K, 1, 256, bytes}).status().code(),
            absl::StatusCode::kUnimplemented);
  std::vector<uint8_t> short_bytes(100);
  EXPECT_EQ(backend_.UploadWeight({GgmlType::kQ8_0, 3, 32, short_bytes}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> wide(8192 * 4);
  EXPECT_EQ(backend_.UploadWeight({GgmlType::kF32, 1, 8192, wide}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndIsa, CpuBackendTest,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(CpuIsa::kGeneric, CpuIsa::kAvx2,
                                                              CpuIsa::kAvx512)));

// Buffers of a huge page or more (KV caches) are mappings of their own, small ones heap
// memory; both come zeroed or writable as asked, are 64-byte aligned, and each is given
// back by its own DeviceBuffer in any order (ASan checks the unmapping and the frees).
TEST(CpuBackendBuffers, LargeAndSmallAllocationsAreUsableAndFreed) {
  ThreadPool pool(1);
  CpuBackend backend(pool, 64);
  const uint64_t large_bytes = HugePageBuffer::kHugePageBytes * 3 + 100;
  auto large = backend.Allocate(large_bytes);
  auto small = backend.Allocate(1000);
  auto large2 = backend.Allocate(HugePageBuffer::kHugePageBytes);
  ASSERT_TRUE(large.ok() && small.ok() && large2.ok());
  for (const DeviceBuffer* b : {&*large, &*small, &*large2}) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % 64, 0u);
  }
  EXPECT_EQ(large->bytes(), large_bytes);
  auto* bytes = static_cast<uint8_t*>(large->data());
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[large_bytes - 1], 0);
  bytes[0] = 1;
  bytes[large_bytes - 1] = 2;
  static_cast<uint8_t*>(small->data())[999] = 3;
  *large = DeviceBuffer();  // the first large one back before the others
  auto again = backend.Allocate(large_bytes);
  ASSERT_TRUE(again.ok());
  static_cast<uint8_t*>(again->data())[large_bytes - 1] = 4;
}

TEST(CpuFeatures, BestIsaIsSupported) {
  EXPECT_TRUE(cpu::CpuSupports(cpu::BestCpuIsa()));
  EXPECT_EQ(cpu::KernelsFor(cpu::BestCpuIsa()).isa, cpu::BestCpuIsa());
  EXPECT_EQ(cpu::BestKernels().isa, cpu::BestCpuIsa());
}

}  // namespace
}  // namespace smollm::runtime
