// Cost of one int8 QuantMatMul step (quant_matmul.h) on the SmolLM3-3B matrix shapes, by
// weight type, thread count and token count (1/2/4/8 columns share one weight pass).
//   quant_matmul_bench [--benchmark_filter=...]
// "cold": the weights rotate through copies larger than the last-level cache, as in a
// decode step; "hot": one copy, resident in cache (the kernels' compute cost alone).
// The "per_col" counter is time per step divided by columns; "vs_1col" divides a step by
// the 1-column step of the same run (the batching target is 8 columns within 2x).
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "runtime/backend/cpu/x16_layout.h"
#include "runtime/backend/cpu/quant_matmul.h"
#include "runtime/core/huge_page_buffer.h"
#include "runtime/quant/half.h"

namespace smollm::runtime {
namespace {

struct Shape {
  GgmlType type;
  int64_t rows;
  int64_t cols;
};

// ffn_up/gate (Q4_K) and ffn_down (Q6_K) of the 3B shape.
constexpr Shape kShapes[] = {{GgmlType::kQ4_K, 11008, 2048}, {GgmlType::kQ6_K, 2048, 11008}};

// Random quant bytes with finite fp16 scale fields (d, dmin of Q4_K; d of Q6_K).
std::vector<uint8_t> RandomWeights(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> w(*RowBytes(s.type, s.cols) * s.rows);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::normal_distribution<float> dist(0.0f, 0.02f);
  const uint32_t block_bytes = TraitsOf(s.type).block_bytes;
  const std::vector<int> offsets = s.type == GgmlType::kQ4_K ? std::vector<int>{0, 2} : std::vector<int>{208};
  for (size_t b = 0; b < w.size() / block_bytes; ++b) {
    for (int o : offsets) {
      const uint16_t h = Fp32ToFp16(dist(rng));
      std::memcpy(&w[b * block_bytes + o], &h, 2);
    }
  }
  return w;
}

// The 16-row interleaved layout (x16_layout.h), as CpuBackend repacks weights.
std::vector<uint8_t> InterleaveX16(const std::vector<uint8_t>& plain, const Shape& s) {
  const uint64_t row_bytes = *RowBytes(s.type, s.cols);
  const uint64_t group_bytes = cpu::X16GroupBytes(s.type, s.cols);
  std::vector<uint8_t> packed(s.rows / cpu::kX16Rows * group_bytes);
  for (int64_t g = 0; g < s.rows / cpu::kX16Rows; ++g) {
    cpu::InterleaveX16(s.type, &plain[g * cpu::kX16Rows * row_bytes], s.cols, &packed[g * group_bytes]);
  }
  return packed;
}

// args: shape index, threads, columns, cold (0/1), x16 (0/1: rows interleaved, where
// the CPU has the kernel).
void BM_QuantMatMul(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  const int n_cols = static_cast<int>(state.range(2));
  const bool cold = state.range(3) != 0;
  const cpu::CpuKernels& kernels = cpu::BestKernels();
  const bool x16 = state.range(4) != 0;
  if (x16 && kernels.x16_matvec(shape.type) == nullptr) {
    state.SkipWithError("no interleaved kernel for this type or CPU");
    return;
  }
  // About 160 MB of copies when cold: several times the 32 MB L3.
  const int copies = cold ? 12 : 1;
  // In huge pages, as CpuBackend holds the weights it repacks (4 KiB pages stream slower).
  std::vector<HugePageBuffer> weights;
  for (int i = 0; i < copies; ++i) {
    std::vector<uint8_t> w = RandomWeights(shape, 17 + i);
    if (x16) w = InterleaveX16(w, shape);
    absl::StatusOr<HugePageBuffer> copy = HugePageBuffer::Allocate(w.size());
    if (!copy.ok()) {
      state.SkipWithError("cannot allocate the weights");
      return;
    }
    std::memcpy(copy->data(), w.data(), w.size());
    weights.push_back(*std::move(copy));
  }
  ThreadPool pool(threads);
  cpu::QuantMatMul matmul(pool, shape.cols, kernels);
  std::vector<float> x(n_cols * shape.cols), out(n_cols * shape.rows);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  const Activations in{x.data(), n_cols, shape.cols, shape.cols};
  const Activations result{out.data(), n_cols, shape.rows, shape.rows};
  int next = 0;
  for (auto _ : state) {
    const Weight w{shape.type, shape.rows, shape.cols, *RowBytes(shape.type, shape.cols),
                   weights[next].data()};
    next = (next + 1) % copies;
    matmul.MatMul(w, in, result, x16 ? shape.rows : 0);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(NameOf(shape.type)) + (x16 ? "x16" : "") + (cold ? " cold" : " hot"));
  state.counters["per_col"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n_cols,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * weights[0].size() / 1e9,
      benchmark::Counter::kIsRate);
}

// One kernel call on one thread over 256 rows of k = 2048 (at most 430 KB: resident in
// L2), the kernels' compute cost alone. args: shape index (type), columns, x16 (0/1).
// Run with --benchmark_repetitions and read the "min" row on a busy machine.
void BM_KernelL2(benchmark::State& state) {
  const Shape shape{kShapes[state.range(0)].type, 256, 2048};
  const int n_cols = static_cast<int>(state.range(1));
  const bool x16 = state.range(2) != 0;
  const cpu::CpuKernels& kernels = cpu::BestKernels();
  const cpu::QuantMatVecFn kernel =
      x16 ? kernels.x16_matvec(shape.type) : kernels.quant_matvec(shape.type);
  if (kernel == nullptr) {
    state.SkipWithError("no such kernel on this CPU");
    return;
  }
  std::vector<uint8_t> w = RandomWeights(shape, 5);
  if (x16) w = InterleaveX16(w, shape);
  const uint64_t act_row_bytes = *RowBytes(GgmlType::kQ8_K, shape.cols);
  std::vector<uint8_t> act(n_cols * act_row_bytes);
  const int64_t scale_stride = 2 * (shape.cols / 32);
  std::vector<float> scales(n_cols * scale_stride);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(shape.cols);
  for (int c = 0; c < n_cols; ++c) {
    for (float& v : x) v = dist(rng);
    kernels.quantize_activations(GgmlType::kQ8_K, x.data(), &act[c * act_row_bytes], shape.cols);
    cpu::ActivationScales(GgmlType::kQ8_K, &act[c * act_row_bytes], shape.cols,
                          &scales[c * scale_stride]);
  }
  std::vector<float> out(n_cols * shape.rows);
  cpu::QuantMatVecArgs args;
  args.weights = w.data();
  args.weight_row_bytes = *RowBytes(shape.type, shape.cols);
  args.rows = shape.rows;
  args.k = shape.cols;
  args.act = act.data();
  args.act_row_bytes = act_row_bytes;
  args.act_scales = scales.data();
  args.act_scale_stride = scale_stride;
  args.n_cols = n_cols;
  args.out = out.data();
  args.out_stride = shape.rows;
  for (auto _ : state) {
    kernel(args);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(NameOf(shape.type)) + (x16 ? " x16" : " gguf"));
}

BENCHMARK(BM_KernelL2)
    ->ArgNames({"shape", "cols", "x16"})
    ->ArgsProduct({{0, 1}, {1, 2, 4, 8}, {0, 1}})
    ->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", [](const std::vector<double>& v) {
      return *std::min_element(v.begin(), v.end());
    });

BENCHMARK(BM_QuantMatMul)
    ->ArgNames({"shape", "thr", "cols", "cold", "x16"})
    ->ArgsProduct({{0, 1}, {1, 2}, {1, 2, 4, 8}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace smollm::runtime

BENCHMARK_MAIN();
