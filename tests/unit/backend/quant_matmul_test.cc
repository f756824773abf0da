// QuantMatMul on every ISA and 1 or 2 threads: each token's result equals the scalar
// reference on its quantized activations (up to float reassociation), and equals, bit for
// bit, what the same token gets alone, at batch sizes 1..9, 17 and 70 (column tiles of
// 8, passes of 64 tokens). Row counts are not multiples of any tile.
#include "runtime/backend/cpu/quant_matmul.h"

#include <cmath>
#include <cstring>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/quant_matvec_reference.h"
#include "tests/test_support.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

using cpu::CpuIsa;
using testing::MakeWeight;
using testing::RandomFloats;
using testing::TestWeight;
using testing::View;

class QuantMatMulTest : public ::testing::TestWithParam<std::tuple<int, CpuIsa>> {
 protected:
  void SetUp() override {
    if (!cpu::CpuSupports(std::get<1>(GetParam()))) GTEST_SKIP() << "CPU lacks this ISA";
  }
};

TEST_P(QuantMatMulTest, EveryBatchSizeGivesEachTokenItsSoloResult) {
  ThreadPool pool(std::get<0>(GetParam()));
  const cpu::CpuKernels& kernels = cpu::KernelsFor(std::get<1>(GetParam()));
  const int64_t cols = 512;
  cpu::QuantMatMul matmul(pool, cols, kernels);
  const bool small = smollm::testing::kSanitizerBuild;
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    ASSERT_TRUE(matmul.Supports(type)) << NameOf(type);
    const int64_t rows = small ? 13 : 101;
    const TestWeight w = MakeWeight(type, rows, cols, 11);
    const Weight weight{type, rows, cols, *RowBytes(type, cols), w.bytes.data()};
    const GgmlType act_type = *cpu::ActivationTypeFor(type);
    const int64_t max_tokens = 70;
    std::vector<float> x = RandomFloats(max_tokens * cols, 5);
    std::vector<float> solo(max_tokens * rows);
    for (int64_t t = 0; t < max_tokens; ++t) {
      std::vector<float> one(x.begin() + t * cols, x.begin() + (t + 1) * cols);
      std::vector<float> row(rows, NAN);
      matmul.MatMul(weight, View(one, 1, cols), View(row, 1, rows));
      std::copy(row.begin(), row.end(), solo.begin() + t * rows);
      std::vector<uint8_t> act(*RowBytes(act_type, cols));
      cpu::ReferenceQuantizeActivations(act_type, one.data(), act.data(), cols);
      for (int64_t r = 0; r < rows; ++r) {
        SCOPED_TRACE(::testing::Message() << NameOf(type) << " token " << t << " row " << r);
        const float want =
            cpu::ReferenceQuantDot(type, &w.bytes[r * weight.row_bytes], act.data(), cols);
        double magnitude = 0;
        for (int64_t i = 0; i < cols; ++i) magnitude += std::abs(w.dequantized[r * cols + i] * one[i]);
        ASSERT_NEAR(row[r], want, 1e-5 * (1 + magnitude));
      }
    }
    for (int64_t n_tokens : {2, 3, 4, 5, 6, 7, 8, 9, 17, 70}) {
      SCOPED_TRACE(::testing::Message() << NameOf(type) << " n=" << n_tokens);
      std::vector<float> out(n_tokens * rows, NAN);
      matmul.MatMul(weight, View(x, n_tokens, cols), View(out, n_tokens, rows));
      ASSERT_EQ(0, std::memcmp(out.data(), solo.data(), out.size() * sizeof(float)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndIsa, QuantMatMulTest,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(CpuIsa::kGeneric, CpuIsa::kAvx2,
                                                              CpuIsa::kAvx512)));

}  // namespace
}  // namespace smollm::runtime
