// Decode attention over the paged KV cache on the CPU backend, alone (Google Benchmark):
// one query row per step, every layer in turn, at a given context, with the head geometry
// of SmolLM2-135M (9 heads over 3 KV heads of 64) and of SmolLM3-3B (16 over 4 of 128),
// and SmolLM2-135M's with one layer, whose keys and values stay in cache (the kernels'
// own speed, against which the first shows what the memory costs).
//   attention_bench [--benchmark_filter=...]
// Reports steps/s (all layers of one token) and the KV bytes read per second: at long
// contexts a decode step reads each layer's keys and values once, like its weights.
#include <benchmark/benchmark.h>

#include <numeric>
#include <random>
#include <vector>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"

namespace smollm::runtime {
namespace {

struct Geometry {
  int n_layers, n_heads, n_kv_heads, head_dim;
};
constexpr Geometry kGeometries[] = {{30, 9, 3, 64}, {36, 16, 4, 128}, {1, 9, 3, 64}};

// range(0): geometry index, range(1): context positions, range(2): threads.
void BM_DecodeAttention(benchmark::State& state) {
  const Geometry g = kGeometries[state.range(0)];
  const int context = static_cast<int>(state.range(1)), page_size = 16;
  const int n_pages = (context + page_size) / page_size;
  ThreadPool pool(static_cast<int>(state.range(2)));
  CpuBackend backend(pool, 1024);
  auto cache = AllocateKvCache(backend, {g.n_layers, g.n_kv_heads, g.head_dim, page_size, n_pages});
  if (!cache.ok()) {
    state.SkipWithError("cannot allocate the KV cache");
    return;
  }
  std::vector<int32_t> pages(n_pages);
  std::iota(pages.begin(), pages.end(), 0);
  const std::vector<int32_t> page_table_begin = {0, n_pages};
  // Random keys and values for every position of every layer, stored as a prompt would.
  const int kv_dim = g.n_kv_heads * g.head_dim;
  std::vector<float> k(static_cast<size_t>(context) * kv_dim), v(k.size());
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<Pos> positions(context);
  std::iota(positions.begin(), positions.end(), 0);
  const std::vector<int32_t> seqs(context, 0);
  for (int layer = 0; layer < g.n_layers; ++layer) {
    for (float& x : k) x = dist(rng);
    for (float& x : v) x = dist(rng);
    backend.StoreKv(*cache, layer, {k.data(), context, kv_dim, kv_dim},
                    {v.data(), context, kv_dim, kv_dim},
                    {positions, seqs, page_table_begin, pages});
  }
  const int q_dim = g.n_heads * g.head_dim;
  std::vector<float> q(q_dim), out(q_dim);
  for (float& x : q) x = dist(rng);
  const std::vector<Pos> pos = {context - 1};
  const std::vector<int32_t> seq = {0};
  for (auto _ : state) {
    for (int layer = 0; layer < g.n_layers; ++layer) {
      backend.Attention(*cache, layer, g.n_heads, {q.data(), 1, q_dim, q_dim},
                        {pos, seq, page_table_begin, pages}, {out.data(), 1, q_dim, q_dim});
    }
    benchmark::DoNotOptimize(out.data());
  }
  const double kv_bytes = 2.0 * g.n_layers * context * kv_dim * sizeof(uint16_t);
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["kv_GB/s"] =
      benchmark::Counter(state.iterations() * kv_bytes / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_DecodeAttention)
    ->ArgNames({"shape", "ctx", "threads"})
    ->ArgsProduct({{0, 1, 2}, {512, 2048, 8192}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace smollm::runtime

BENCHMARK_MAIN();
