// The oneDNN prefill matmul against the scalar reference (reference dequantization, dot
// products in double) on random weights of every format, odd shapes and token counts.
#include "runtime/backend/cpu/onednn_matmul.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/quant/half.h"
#include "tests/test_support.h"
#include "tests/unit/backend/backend_test_util.h"

namespace smollm::runtime {
namespace {

using testing::MakeWeight;
using testing::RandomFloats;
using testing::TestWeight;
using ::smollm::testing::kSanitizerBuild;

// Q4_0 and Q4_1 have no quantizer in the quant module: random blocks, with finite fp16
// scales (and mins) and random nibbles, decoded by the reference for the expected values.
TestWeight RandomQ4Weight(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
  TestWeight w{type, rows, cols, {}, {}};
  const uint64_t row_bytes = *RowBytes(type, cols);
  const uint32_t block_bytes = TraitsOf(type).block_bytes;
  w.bytes.resize(row_bytes * rows);
  std::mt19937 rng(seed);
  std::normal_distribution<float> scale(0.0f, 0.05f);
  for (uint8_t& b : w.bytes) b = static_cast<uint8_t>(rng());
  for (uint64_t off = 0; off < w.bytes.size(); off += block_bytes) {
    for (int field = 0; field < (type == GgmlType::kQ4_1 ? 2 : 1); ++field) {
      const uint16_t h = Fp32ToFp16(scale(rng));
      std::memcpy(&w.bytes[off + 2 * field], &h, 2);
    }
  }
  w.dequantized.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_TRUE(DequantizeRow(type, std::span<const uint8_t>(&w.bytes[r * row_bytes], row_bytes),
                              std::span<float>(&w.dequantized[r * cols], cols))
                    .ok());
  }
  return w;
}

TestWeight RandomWeight(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
  if (type == GgmlType::kQ4_0 || type == GgmlType::kQ4_1) {
    return RandomQ4Weight(type, rows, cols, seed);
  }
  return MakeWeight(type, rows, cols, seed);
}

struct Case {
  GgmlType type;
  int64_t rows;    // output features: not a multiple of 16 or of the tile
  int64_t cols;    // whole blocks of the type
  int64_t tokens;  // 17..300
};

// Multiplies `tokens` random activation rows by `tw` through `mm` and checks every output
// element against
//   |ours - exact| <= (2^-7 + 2^-16 + k * 2^-24) * sum_k |w_k x_k|,
// the worst case of rounding w and x to bf16 (relative 2^-8 each) and summing k products
// in f32. A wrong row, tile or token gives errors of the size of the sum itself.
// Also checks the typical error relative to sqrt(sum_k (w_k x_k)^2), which bf16 makes
// about 2^-8 (random rounding errors add in quadrature), and that nothing is written
// between the end of an output row and the next row (the stride is wider).
void RunAndCheck(cpu::OnednnMatmul& mm, const TestWeight& tw, int64_t tokens) {
  const int64_t rows = tw.rows, cols = tw.cols;
  std::vector<float> x = RandomFloats(tokens * cols, static_cast<uint32_t>(7 + tokens + cols));
  const int64_t out_stride = rows + 5;
  std::vector<float> out(tokens * out_stride, 12345.0f);
  const Weight w{tw.type, rows, cols, *RowBytes(tw.type, cols), tw.bytes.data()};
  if (!mm.MatMul(w, {x.data(), tokens, cols, cols}, {out.data(), tokens, rows, out_stride})) {
    // Allowed only where oneDNN has no fast bf16 matmul (an ISA capped below AVX-512).
    std::printf("oneDNN declined %s; the backend would use its own kernels\n",
                std::string(NameOf(tw.type)).c_str());
    ASSERT_NE(std::getenv("ONEDNN_MAX_CPU_ISA"), nullptr) << "declined on an uncapped CPU";
    return;
  }
  double worst_ratio = 0, sum_sq_rel = 0;
  const double gamma = std::ldexp(1.0, -7) + std::ldexp(1.0, -16) + cols * std::ldexp(1.0, -24);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double exact = 0, abs_sum = 0, sq_sum = 0;
      for (int64_t k = 0; k < cols; ++k) {
        const double p = static_cast<double>(tw.dequantized[r * cols + k]) * x[t * cols + k];
        exact += p;
        abs_sum += std::fabs(p);
        sq_sum += p * p;
      }
      const double err = std::fabs(out[t * out_stride + r] - exact);
      ASSERT_LE(err, gamma * abs_sum) << "token " << t << " row " << r;
      worst_ratio = std::max(worst_ratio, err / (gamma * abs_sum));
      sum_sq_rel += err * err / sq_sum;
    }
    for (int64_t r = rows; r < out_stride; ++r) {
      ASSERT_EQ(out[t * out_stride + r], 12345.0f) << "wrote past the row, token " << t;
    }
  }
  const double rms_rel = std::sqrt(sum_sq_rel / (tokens * rows));
  EXPECT_LT(rms_rel, 4 * std::ldexp(1.0, -8));  // a wrong result would be near 1
  std::printf("%-5s %4lld x %4lld, %3lld tokens: worst error %.2f of the bound, rms %.2g\n",
              std::string(NameOf(tw.type)).c_str(), static_cast<long long>(rows),
              static_cast<long long>(cols), static_cast<long long>(tokens), worst_ratio,
              rms_rel);
}

// One case through a fresh OnednnMatmul.
void CheckCase(const Case& c, int threads, const cpu::OnednnMatmulOptions& options) {
  SCOPED_TRACE(::testing::Message() << NameOf(c.type) << " rows " << c.rows << " cols " << c.cols
                                    << " tokens " << c.tokens << " threads " << threads
                                    << " tile " << options.tile_rows);
  ThreadPool pool(threads);
  auto mm = cpu::OnednnMatmul::Create(pool, c.cols, cpu::BestKernels(), options);
  ASSERT_TRUE(mm.ok()) << mm.status();
  RunAndCheck(**mm, RandomWeight(c.type, c.rows, c.cols, 1000 + c.rows + c.tokens), c.tokens);
}

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16,
                           GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                           GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K};

int64_t ColsFor(GgmlType type) {
  // Several blocks, and not a power of two where the block allows it.
  return TraitsOf(type).block_elements == 256 ? 768 : 288;
}

TEST(OnednnMatmulTest, EveryFormatOddShapes) {
  for (const GgmlType type : kTypes) {
    CheckCase({type, 37, ColsFor(type), 17}, 2, {});
  }
}

TEST(OnednnMatmulTest, TilesAndTokenCounts) {
  // Several tiles with a short last one, token counts around the 16-row padding.
  const int64_t max_tokens = kSanitizerBuild ? 33 : 300;
  for (const int64_t tokens : {int64_t{17}, int64_t{32}, int64_t{33}, max_tokens}) {
    CheckCase({GgmlType::kQ4_K, 131, 512, tokens}, 2, {.tile_rows = 64});
    CheckCase({GgmlType::kQ8_0, 45, 96, tokens}, 2, {.tile_rows = 16});
  }
}

TEST(OnednnMatmulTest, PlainFormatsAnyWidth) {
  // F32/F16 rows may have any width: the bf16 conversion's partial vectors (< 16, 16..31).
  CheckCase({GgmlType::kF32, 19, 75, 17}, 2, {});
  CheckCase({GgmlType::kF16, 21, 45, 18}, 2, {});
  CheckCase({GgmlType::kF32, 5, 7, 23}, 1, {});
}

TEST(OnednnMatmulTest, OneThreadAndFewRows) {
  CheckCase({GgmlType::kQ6_K, 3, 256, 20}, 1, {});
  CheckCase({GgmlType::kQ5_0, 1, 64, 18}, 2, {.tile_rows = 1});
}

TEST(OnednnMatmulTest, ReusesPrimitivesAcrossCalls) {
  // The same object over a sequence of shapes: cached primitives and grown scratch must
  // not mix one call's shape into another's.
  ThreadPool pool(2);
  auto mm = cpu::OnednnMatmul::Create(pool, 512, cpu::BestKernels(), {.tile_rows = 32});
  ASSERT_TRUE(mm.ok()) << mm.status();
  for (const auto& [rows, cols, tokens] :
       {std::tuple<int64_t, int64_t, int64_t>{70, 512, 40}, {70, 256, 20}, {33, 512, 40},
        {70, 512, 17}, {70, 256, 40}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << cols << ", " << tokens << " tokens");
    RunAndCheck(**mm, MakeWeight(GgmlType::kQ4_K, rows, cols, static_cast<uint32_t>(rows + cols)),
                tokens);
  }
}

TEST(OnednnMatmulTest, RejectsBadOptions) {
  ThreadPool pool(1);
  EXPECT_EQ(cpu::OnednnMatmul::Create(pool, 256, cpu::BestKernels(), {.tile_rows = 0})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smollm::runtime
