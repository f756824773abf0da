// Decode and prefill speed of the CPU backend on a real model (Google Benchmark).
//   decode_bench [--benchmark_filter=...]   model: $SMOLLM_BENCH_MODEL, else the test model
// Reports tokens/s per thread count; a decode step runs at a context of 128 to 192 tokens
// (2048 to 2112 for BM_DecodeAt2k), whatever the number of iterations.
#include <cstdlib>
#include <numeric>
#include <string>

#include "benchmark/benchmark.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "tests/bench/bench_model.h"

namespace smollm::runtime {
namespace {

// Decode steps of one sequence walk this many positions past the prompt, then start over
// at its end (rewriting those slots): every iteration decodes at about the same context,
// so runs of any length measure the same step.
constexpr Pos kDecodeWindow = 64;

// One sequence: a prompt of `prompt_tokens`, then decode steps.
// int8: the backend's int8 path (CpuBackend::SetQuantizedActivations), else f32.
void RunModel(benchmark::State& state, int prompt_tokens, bool decode, bool int8 = true) {
  const Model& model = BenchModel();
  const ModelConfig& c = model.config();
  ThreadPool pool(static_cast<int>(state.range(0)));
  CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
  backend.SetQuantizedActivations(int8);
  auto weights = UploadWeights(c, model.gguf(), backend);
  const int page_size = 16;
  const int n_pages = (prompt_tokens + kDecodeWindow + page_size - 1) / page_size;
  auto cache = AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim, page_size, n_pages});
  auto forward = Forward::Create(c, *weights, backend, {prompt_tokens, 1});
  if (!weights.ok() || !cache.ok() || !forward.ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  std::vector<int32_t> pages(n_pages);
  std::iota(pages.begin(), pages.end(), 0);
  std::vector<TokenId> prompt(prompt_tokens);
  for (int i = 0; i < prompt_tokens; ++i) prompt[i] = (i * 7919 + 13) % c.vocab_size;
  std::vector<float> logits(c.vocab_size);
  StepBatch batch;
  batch.AddSequence(prompt, 0, pages, true);
  if (!forward->Run(batch, *cache, logits).ok()) state.SkipWithError("prefill failed");
  Pos pos = prompt_tokens;
  for (auto _ : state) {
    if (decode) {
      const TokenId next[] = {static_cast<TokenId>(pos % c.vocab_size)};
      batch.Clear();
      batch.AddSequence(next, pos, pages, true);
      pos = pos + 1 < prompt_tokens + kDecodeWindow ? pos + 1 : prompt_tokens;
    }
    benchmark::DoNotOptimize(forward->Run(batch, *cache, logits));
  }
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * (decode ? 1 : prompt_tokens),
      benchmark::Counter::kIsRate);
}

// range(1) sequences decoding together, one token each per step (continuous batching's
// steady state), after a 32-token prompt each. Reports tokens/s over all sequences.
void BM_DecodeBatch(benchmark::State& state) {
  const Model& model = BenchModel();
  const ModelConfig& c = model.config();
  const int n_seqs = static_cast<int>(state.range(1));
  const int prompt_tokens = 32, page_size = 16, pages_per_seq = 2048 / page_size;
  ThreadPool pool(static_cast<int>(state.range(0)));
  CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
  auto weights = UploadWeights(c, model.gguf(), backend);
  auto cache = AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim, page_size,
                                         n_seqs * pages_per_seq});
  auto forward = Forward::Create(c, *weights, backend, {prompt_tokens * n_seqs, n_seqs});
  if (!weights.ok() || !cache.ok() || !forward.ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  std::vector<std::vector<int32_t>> pages(n_seqs, std::vector<int32_t>(pages_per_seq));
  std::vector<TokenId> prompt(prompt_tokens);
  std::vector<float> logits(static_cast<size_t>(c.vocab_size) * n_seqs);
  StepBatch batch;
  for (int s = 0; s < n_seqs; ++s) {
    std::iota(pages[s].begin(), pages[s].end(), s * pages_per_seq);
    for (int i = 0; i < prompt_tokens; ++i) prompt[i] = (i * 7919 + 13 * s + 1) % c.vocab_size;
    batch.AddSequence(prompt, 0, pages[s], true);
  }
  if (!forward->Run(batch, *cache, logits).ok()) state.SkipWithError("prefill failed");
  Pos pos = prompt_tokens;
  for (auto _ : state) {
    batch.Clear();
    for (int s = 0; s < n_seqs; ++s) {
      const TokenId next[] = {static_cast<TokenId>((pos * 31 + s) % c.vocab_size)};
      batch.AddSequence(next, pos, pages[s], true);
    }
    pos = pos + 1 < 2000 ? pos + 1 : prompt_tokens;
    benchmark::DoNotOptimize(forward->Run(batch, *cache, logits));
  }
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n_seqs, benchmark::Counter::kIsRate);
}

void BM_Decode(benchmark::State& state) { RunModel(state, 128, /*decode=*/true); }
// Decode at a long context (2048 tokens): the attention's share of a step.
void BM_DecodeAt2k(benchmark::State& state) { RunModel(state, 2048, /*decode=*/true); }
void BM_Prefill512(benchmark::State& state) { RunModel(state, 512, /*decode=*/false); }
void BM_DecodeF32(benchmark::State& state) { RunModel(state, 128, true, /*int8=*/false); }
void BM_Prefill512F32(benchmark::State& state) { RunModel(state, 512, false, /*int8=*/false); }

BENCHMARK(BM_Decode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeAt2k)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeBatch)
    ->ArgsProduct({{1, 2}, {1, 4, 8, 16}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Prefill512)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
// The f32 path (dequantize and dot), the int8 path's baseline.
BENCHMARK(BM_DecodeF32)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Prefill512F32)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace smollm::runtime

BENCHMARK_MAIN();
