// Prefill speed: the oneDNN bf16 matmul against the backend's own kernels, per weight
// shape and token count (the crossover), and whole-model prompt processing (pp128, pp512).
//   prefill_bench [--benchmark_filter=...]   model: $SMOLLM_BENCH_MODEL, else the test model
// BM_MatMul/<shape>/<tokens>/<path>/<threads>: path 0 = own kernels, 1 = oneDNN; reports
// GFLOP/s. BM_Prefill/<tokens>/<path>/<threads>: one prompt through the model, tokens/s.
// Both also report the CPU time of the whole process (all pool threads): on a shared host
// it says more than the wall clock.
// tests/bench/cpu_vs_llama_cpp.py (with cpu_bench) compares the engine path with llama.cpp.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cpu/onednn_matmul.h"
#include "runtime/model/forward.h"
#include "runtime/quant/half.h"
#include "tests/bench/bench_model.h"

namespace smollm::runtime {
namespace {

struct MatShape {
  const char* name;
  GgmlType type;
  int64_t rows;  // output features
  int64_t cols;  // input features
};

// The matmuls of SmolLM2-135M (the Q4_1 test model) and of SmolLM3-3B (Q4_K_M: Q4_K, and
// Q6_K for some ffn_down).
constexpr MatShape kShapes[] = {
    {"135m_q_o_576x576_q4_1", GgmlType::kQ4_1, 576, 576},
    {"135m_kv_192x576_q4_1", GgmlType::kQ4_1, 192, 576},
    {"135m_gate_up_1536x576_q4_1", GgmlType::kQ4_1, 1536, 576},
    {"135m_down_576x1536_q4_1", GgmlType::kQ4_1, 576, 1536},
    {"3b_q_o_2048x2048_q4_k", GgmlType::kQ4_K, 2048, 2048},
    {"3b_kv_512x2048_q4_k", GgmlType::kQ4_K, 512, 2048},
    {"3b_gate_up_11008x2048_q4_k", GgmlType::kQ4_K, 11008, 2048},
    {"3b_down_2048x11008_q6_k", GgmlType::kQ6_K, 2048, 11008},
};

// Random blocks with small finite fp16 scale fields: speed does not depend on the values.
std::vector<uint8_t> RandomWeightBytes(const MatShape& s) {
  const GgmlTypeTraits traits = TraitsOf(s.type);
  std::vector<uint8_t> bytes(*RowBytes(s.type, s.cols) * s.rows);
  std::mt19937 rng(static_cast<uint32_t>(s.rows * 31 + s.cols));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const int scale_offsets[2] = {s.type == GgmlType::kQ6_K ? 208 : 0, 2};
  const int n_scales = s.type == GgmlType::kQ6_K ? 1 : 2;
  for (size_t off = 0; off < bytes.size(); off += traits.block_bytes) {
    for (int i = 0; i < n_scales; ++i) {
      const uint16_t h = Fp32ToFp16(0.01f * static_cast<float>(rng() % 100 + 1));
      std::memcpy(&bytes[off + scale_offsets[i]], &h, 2);
    }
  }
  return bytes;
}

void BM_MatMul(benchmark::State& state) {
  const MatShape& s = kShapes[state.range(0)];
  const int64_t tokens = state.range(1);
  const bool onednn = state.range(2) != 0;
  ThreadPool pool(static_cast<int>(state.range(3)));
  CpuBackend backend(pool, s.cols);
  backend.SetOnednnMinTokens(onednn ? 1 : 0);
  const std::vector<uint8_t> bytes = RandomWeightBytes(s);
  auto w = backend.UploadWeight({s.type, s.rows, s.cols, bytes});
  if (!w.ok()) {
    state.SkipWithError("upload failed");
    return;
  }
  std::vector<float> x(tokens * s.cols), out(tokens * s.rows);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (float& v : x) v = dist(rng);
  for (auto _ : state) {
    backend.MatMul(*w, {x.data(), tokens, s.cols, s.cols}, {out.data(), tokens, s.rows, s.rows});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(s.name);
  state.counters["GFLOP/s"] = benchmark::Counter(
      2e-9 * static_cast<double>(state.iterations()) * tokens * s.rows * s.cols,
      benchmark::Counter::kIsRate);
}

// One prompt of range(0) tokens from position 0, logits of its last token only.
void BM_Prefill(benchmark::State& state) {
  const Model& model = BenchModel();
  const ModelConfig& c = model.config();
  const int tokens = static_cast<int>(state.range(0));
  ThreadPool pool(static_cast<int>(state.range(2)));
  CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
  backend.SetOnednnMinTokens(state.range(1) != 0 ? cpu::kOnednnCrossoverTokens : 0);
  auto weights = UploadWeights(c, model.gguf(), backend);
  const int page_size = 16;
  const int n_pages = (tokens + page_size - 1) / page_size;
  auto cache = AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim, page_size, n_pages});
  auto forward = Forward::Create(c, *weights, backend, {tokens, 1});
  if (!weights.ok() || !cache.ok() || !forward.ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  std::vector<int32_t> pages(n_pages);
  std::iota(pages.begin(), pages.end(), 0);
  std::vector<TokenId> prompt(tokens);
  for (int i = 0; i < tokens; ++i) prompt[i] = (i * 7919 + 13) % c.vocab_size;
  std::vector<float> logits(c.vocab_size);
  StepBatch batch;
  batch.AddSequence(prompt, 0, pages, true);
  // Untimed first run: touches the mapped weights and creates the oneDNN primitives.
  if (!forward->Run(batch, *cache, logits).ok()) state.SkipWithError("prefill failed");
  for (auto _ : state) benchmark::DoNotOptimize(forward->Run(batch, *cache, logits));
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * tokens, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_MatMul)
    ->ArgsProduct({benchmark::CreateDenseRange(0, std::size(kShapes) - 1, 1),
                   {1, 2, 4, 8, 16, 32, 128, 512},
                   {0, 1},
                   {2}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(BM_Prefill)
    ->ArgsProduct({{128, 512}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace
}  // namespace smollm::runtime

BENCHMARK_MAIN();
