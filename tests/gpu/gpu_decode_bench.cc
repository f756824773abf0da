// Decode speed of the CUDA decode graph: tokens/s at batch 1, 8, 16, 32, 64 on one model,
// the weight bytes a step reads, the device's measured copy bandwidth, and the fraction
// of that roofline each batch reaches. Contexts stay short (under 64 positions), so the
// weights dominate what a step reads.
//   gpu_decode_bench MODEL.gguf
#include <cuda_runtime_api.h>

#include <chrono>
#include <numeric>
#include <utility>

#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/cuda_kernels.h"
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

// One token's mat-vec of each weight of layer 0 and of the output projection, alone, as
// read bandwidth of the weight bytes: the backend's MatMul (activation quantization +
// int8 kernel), then the int8 kernel by itself with 1, 2 and 4 warps per row; each
// repeated 200 times between two events.
void MatVecBandwidth(CudaBackend& backend, const DecodeModel& m) {
  std::vector<DeviceBuffer> keep;
  const int64_t widest = std::max<int64_t>(m.d_ffn, m.n_heads * m.head_dim);
  const Activations x = MakeActivations(backend, keep, 1, widest);
  const Activations out = MakeActivations(backend, keep, 1, m.vocab_size);
  cudaMemset(x.data, 0, widest * sizeof(float));
  auto quantized = Require(cuda::AllocateDevice(cuda::QuantizedActivationBytes(1, widest)), "scratch");
  auto start = Require(cuda::CreateEvent(), "event"), stop = Require(cuda::CreateEvent(), "event");
  const auto time_us = [&](auto&& f) {
    f();
    constexpr int kReps = 200;
    cudaEventRecord(start.get(), backend.stream());
    for (int i = 0; i < kReps; ++i) f();
    cudaEventRecord(stop.get(), backend.stream());
    cudaEventSynchronize(stop.get());
    float ms = 0;
    cudaEventElapsedTime(&ms, start.get(), stop.get());
    return ms * 1e3 / kReps;
  };
  const DecodeLayer& l = m.layers[0];
  std::printf("one token's mat-vec, GB/s of weight bytes: MatMul, then the int8 kernel alone "
              "with 1/2/4 warps per row\n%-12s %8s %8s %8s %8s %8s %8s\n", "weight", "MB",
              "us", "MatMul", "1", "2", "4");
  const std::pair<const char*, const Weight*> weights[] = {
      {"attn_q", &l.attn_q},     {"attn_k", &l.attn_k},   {"attn_v", &l.attn_v},
      {"attn_output", &l.attn_output}, {"ffn_gate", &l.ffn_gate}, {"ffn_down", &l.ffn_down},
      {"output", &m.output}};
  for (const auto& [name, w] : weights) {
    const Activations xi{x.data, 1, w->cols, w->cols}, oi{out.data, 1, w->rows, w->rows};
    const double bytes = static_cast<double>(Bytes(*w));
    const double us = time_us([&] { backend.MatMul(*w, xi, oi); });
    std::printf("%-12s %8.2f %8.2f %8.0f", name, bytes / 1e6, us, bytes / us / 1e3);
    const cuda::QuantizedActivations a = cuda::QuantizedActivationsAt(
        quantized.data(), cuda::ActivationTypeOf(w->type), 1, w->cols);
    cuda::LaunchQuantizeActivations(backend.stream(), xi, a);
    for (int wpr : {1, 2, 4}) {
      const double k = time_us([&] { cuda::LaunchMatMulQ8(backend.stream(), *w, a, oi, false, wpr); });
      std::printf(" %8.0f", bytes / k / 1e3);
    }
    std::printf("\n");
  }
  Require(backend.Synchronize(), "mat-vec bandwidth");
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
      gpu_test::MatVecBandwidth(*backend, dm);
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
