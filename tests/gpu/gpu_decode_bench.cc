// Decode speed of the CUDA decode graph: tokens/s at batch 1, 8, 16, 32, 64 on one model,
// the weight bytes a step reads, the device's measured copy bandwidth, and the fraction
// of that roofline each batch reaches. Contexts stay short (under 64 positions), so the
// weights dominate what a step reads.
//   gpu_decode_bench MODEL.gguf
#include <cuda_runtime_api.h>

#include <chrono>
#include <numeric>

#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/decode_graph.h"
#include "runtime/model/model.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using namespace runtime;

uint64_t Bytes(const Weight& w) { return w.row_bytes * w.rows; }

// Bytes of every weight one decode step reads (the embedding: one row per token).
uint64_t StepWeightBytes(const DecodeModel& m, int batch) {
  uint64_t total = Bytes(m.output) + Bytes(m.output_norm) + batch * m.token_embd.row_bytes;
  for (const DecodeLayer& l : m.layers) {
    for (const Weight* w : {&l.attn_norm, &l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output,
                            &l.ffn_norm, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      total += Bytes(*w);
    }
  }
  return total;
}

// Device-to-device copy bandwidth (bytes read + written per second) over 1 GiB.
double CopyBandwidth(cudaStream_t stream) {
  const uint64_t bytes = 1ull << 30;
  auto a = Require(cuda::AllocateDevice(bytes), "alloc"), b = Require(cuda::AllocateDevice(bytes), "alloc");
  auto start = Require(cuda::CreateEvent(), "event"), stop = Require(cuda::CreateEvent(), "event");
  cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream);  // warm-up
  constexpr int kReps = 10;
  cudaEventRecord(start.get(), stream);
  for (int i = 0; i < kReps; ++i) cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream);
  cudaEventRecord(stop.get(), stream);
  cudaEventSynchronize(stop.get());
  float ms = 0;
  cudaEventElapsedTime(&ms, start.get(), stop.get());
  return 2.0 * bytes * kReps / (ms / 1e3);
}

}  // namespace
}  // namespace smollm::gpu_test

int main(int argc, char** argv) {
  using namespace smollm;
  using namespace smollm::runtime;
  auto model = gpu_test::ModelFromArgs(argc, argv, "gpu_decode_bench");
  const ModelConfig& c = model->config();
  constexpr int kPageSize = 16, kPagesEach = 4, kWarmup = 4, kSteps = 40;
  constexpr int kMaxBatch = 64;
  double batch1 = 0, bandwidth = 0;
  // As served (the mat-vec kernels up to cuda::kCublasMinTokens - 1 rows), then with
  // cuBLASLt from 16 rows, to place the decode crossover.
  for (int64_t gemm_from : {cuda::kCublasMinTokens, int64_t{16}}) {
    CudaBackendOptions backend_options;
    backend_options.gemm_min_tokens = gemm_from;
    auto backend = gpu_test::Require(CudaBackend::Create(backend_options), "CudaBackend");
    const ModelWeights w = gpu_test::Require(UploadWeights(c, model->gguf(), *backend), "weights");
    const DecodeModel dm = gpu_test::DecodeModelFrom(c, w);
    KvCache cache = gpu_test::Require(
        AllocateKvCache(*backend, {c.n_layers, c.n_kv_heads, c.head_dim, kPageSize, kMaxBatch * kPagesEach}),
        "kv");
    cudaMemset(cache.k.data(), 0, cache.shape.BytesPerTensor());
    cudaMemset(cache.v.data(), 0, cache.shape.BytesPerTensor());
    DecodeGraphOptions options;
    options.max_pages_per_seq = kPagesEach;
    options.max_batch = kMaxBatch;
    auto graph = gpu_test::Require(DecodeGraph::Create(*backend, dm, cache, options), "graph");
    if (bandwidth == 0) {
      bandwidth = gpu_test::CopyBandwidth(backend->stream());
      std::printf("device: %s, copy bandwidth %.0f GB/s\n", backend->device().name.c_str(), bandwidth / 1e9);
    }
    std::printf("matmuls of %lld+ rows through cuBLASLt\n", static_cast<long long>(gemm_from));
    std::printf("%6s %12s %14s %16s %10s\n", "batch", "tokens/s", "ms/step", "GB read/step", "roofline");
    for (int batch : {1, 8, 16, 32, 64}) {
      if (gemm_from < cuda::kCublasMinTokens && batch < gemm_from) continue;
      std::vector<std::vector<int32_t>> pages(batch);
      for (int i = 0; i < batch; ++i) {
        pages[i].resize(kPagesEach);
        std::iota(pages[i].begin(), pages[i].end(), i * kPagesEach);
      }
      std::vector<TokenId> next(batch);
      std::vector<float> values(batch);
      for (int i = 0; i < batch; ++i) next[i] = (i * 7919 + 11) % c.vocab_size;
      std::chrono::steady_clock::time_point start;
      for (int step = 0; step < kWarmup + kSteps; ++step) {
        if (step == kWarmup) start = std::chrono::steady_clock::now();
        std::vector<DecodeInput> inputs;
        for (int i = 0; i < batch; ++i) inputs.push_back({next[i], step, pages[i]});
        gpu_test::Require(graph->Step(inputs, next, values), "step");
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kSteps;
      const double bytes = static_cast<double>(gpu_test::StepWeightBytes(dm, batch));
      std::printf("%6d %12.1f %14.3f %16.3f %9.1f%%\n", batch, batch / seconds, seconds * 1e3,
                  bytes / 1e9, 100.0 * bytes / seconds / bandwidth);
      if (batch == 1) batch1 = batch / seconds;
      if (batch == 32) {
        std::printf("       batch 32 / batch 1: %.1fx (target >= 10x)\n", batch / seconds / batch1);
      }
    }
  }
  return 0;
}
