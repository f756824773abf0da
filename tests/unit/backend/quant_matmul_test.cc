// QuantMatMul on every ISA and 1 or 2 threads: each token's result equals the scalar
// reference on its quantized activations (up to float reassociation), and equals, bit for
// bit, what the same token gets alone, at batch sizes 1..9, 17 and 70 (column tiles of
// 8, passes of 64 tokens). Row counts are not multiples of any tile.
#include "runtime/backend/cpu/quant_matmul.h"

#include <cmath>
#include <cstring>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/x16_layout.h"
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

// Q4_K, Q6_K, Q4_1, Q5_0 and Q8_0 interleaved 16 rows at a time (x16_layout.h), then plain rows (the row
// count is no multiple of 16): the scalar reference up to float reassociation, and each
// token's result bit for bit its solo result at every batch size.
TEST_P(QuantMatMulTest, InterleavedRowsGiveEachTokenItsSoloResult) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(std::get<1>(GetParam()));
  ThreadPool pool(std::get<0>(GetParam()));
  const int64_t cols = 768, rows = smollm::testing::kSanitizerBuild ? 37 : 165;
  const int64_t x16_rows = rows / cpu::kX16Rows * cpu::kX16Rows;
  cpu::QuantMatMul matmul(pool, cols, kernels);
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ4_1, GgmlType::kQ5_0,
                        GgmlType::kQ8_0}) {
    if (kernels.x16_matvec(type) == nullptr) GTEST_SKIP() << "no interleaved kernel";
    SCOPED_TRACE(NameOf(type));
    const TestWeight w = MakeWeight(type, rows, cols, 13);
    const uint64_t row_bytes = *RowBytes(type, cols);
    const uint64_t group_bytes = cpu::X16GroupBytes(type, cols);
    std::vector<uint8_t> packed(x16_rows / cpu::kX16Rows * group_bytes + (rows - x16_rows) * row_bytes);
    for (int64_t g = 0; g < x16_rows / cpu::kX16Rows; ++g) {
      cpu::InterleaveX16(type, &w.bytes[g * cpu::kX16Rows * row_bytes], cols, &packed[g * group_bytes]);
    }
    std::memcpy(&packed[x16_rows / cpu::kX16Rows * group_bytes], &w.bytes[x16_rows * row_bytes],
                (rows - x16_rows) * row_bytes);
    const Weight weight{type, rows, cols, row_bytes, packed.data()};
    const int64_t max_tokens = 19;
    std::vector<float> x = RandomFloats(max_tokens * cols, 8);
    std::vector<float> solo(max_tokens * rows);
    const GgmlType act_type = *cpu::ActivationTypeFor(type);
    std::vector<uint8_t> act(*RowBytes(act_type, cols));
    for (int64_t t = 0; t < max_tokens; ++t) {
      std::vector<float> one(x.begin() + t * cols, x.begin() + (t + 1) * cols);
      matmul.MatMul(weight, View(one, 1, cols), Activations{solo.data() + t * rows, 1, rows, rows},
                    x16_rows);
      cpu::ReferenceQuantizeActivations(act_type, one.data(), act.data(), cols);
      for (int64_t r = 0; r < rows; ++r) {
        const float want = cpu::ReferenceQuantDot(type, &w.bytes[r * row_bytes], act.data(), cols);
        double magnitude = 0;
        for (int64_t i = 0; i < cols; ++i) magnitude += std::abs(w.dequantized[r * cols + i] * one[i]);
        ASSERT_NEAR(solo[t * rows + r], want, 1e-5 * (1 + magnitude)) << "token " << t << " row " << r;
      }
    }
    for (int64_t n_tokens : {2, 5, 8, 9, 19}) {
      std::vector<float> out(n_tokens * rows, NAN);
      matmul.MatMul(weight, View(x, n_tokens, cols), View(out, n_tokens, rows), x16_rows);
      ASSERT_EQ(0, std::memcmp(out.data(), solo.data(), out.size() * sizeof(float))) << "n=" << n_tokens;
    }
  }
}

// Several weights in one MatMulMany (one interleaved where the ISA has the kernel, row
// counts that are no multiple of the chunk size, two types quantizing activations
// alike): every output bit for bit the part's own MatMul, at every token count.
TEST_P(QuantMatMulTest, MatMulManyEqualsEachMatMul) {
  const cpu::CpuKernels& kernels = cpu::KernelsFor(std::get<1>(GetParam()));
  ThreadPool pool(std::get<0>(GetParam()));
  const int64_t cols = 576;
  cpu::QuantMatMul matmul(pool, cols, kernels);
  const bool small = smollm::testing::kSanitizerBuild;
  const GgmlType types[] = {GgmlType::kQ5_0, GgmlType::kQ8_0, GgmlType::kQ5_0};
  const int64_t rows[] = {small ? 37 : 101, small ? 19 : 45, 16};
  std::vector<TestWeight> plain;
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<Weight> weights;
  std::vector<int64_t> x16_rows;
  for (int i = 0; i < 3; ++i) {
    plain.push_back(MakeWeight(types[i], rows[i], cols, 20 + i));
    bytes.push_back(plain.back().bytes);
    const uint64_t row_bytes = *RowBytes(types[i], cols);
    int64_t interleaved = 0;
    if (i == 0 && kernels.x16_matvec(types[i]) != nullptr) {  // 96 rows interleaved, then 5 plain
      interleaved = rows[i] / cpu::kX16Rows * cpu::kX16Rows;
      const uint64_t group_bytes = cpu::X16GroupBytes(types[i], cols);
      for (int64_t g = 0; g < interleaved / cpu::kX16Rows; ++g) {
        cpu::InterleaveX16(types[i], &plain[i].bytes[g * cpu::kX16Rows * row_bytes], cols,
                           &bytes[i][g * group_bytes]);
      }
      std::memmove(&bytes[i][interleaved / cpu::kX16Rows * group_bytes],
                   &plain[i].bytes[interleaved * row_bytes], (rows[i] - interleaved) * row_bytes);
    }
    x16_rows.push_back(interleaved);
  }
  for (int i = 0; i < 3; ++i) weights.push_back({types[i], rows[i], cols, *RowBytes(types[i], cols), bytes[i].data()});
  for (int64_t n_tokens : {1, 3, 8, 9, 70}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n_tokens);
    std::vector<float> x = RandomFloats(n_tokens * cols, 30 + n_tokens);
    std::vector<std::vector<float>> alone(3), together(3);
    cpu::QuantMatMulPart parts[3];
    for (int i = 0; i < 3; ++i) {
      alone[i].assign(n_tokens * rows[i], NAN);
      together[i].assign(n_tokens * rows[i], NAN);
      matmul.MatMul(weights[i], View(x, n_tokens, cols), View(alone[i], n_tokens, rows[i]), x16_rows[i]);
      parts[i] = {&weights[i], View(together[i], n_tokens, rows[i]), x16_rows[i]};
    }
    matmul.MatMulMany(parts, View(x, n_tokens, cols));
    for (int i = 0; i < 3; ++i) {
      ASSERT_FALSE(std::isnan(alone[i][0]));
      ASSERT_EQ(0, std::memcmp(alone[i].data(), together[i].data(), alone[i].size() * sizeof(float)))
          << "part " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndIsa, QuantMatMulTest,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(CpuIsa::kGeneric, CpuIsa::kAvx2,
                                                              CpuIsa::kAvx512)));

}  // namespace
}  // namespace smollm::runtime
