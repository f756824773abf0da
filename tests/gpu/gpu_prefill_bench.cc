// Prefill speed of the CUDA backend through the model's Forward (the path the engine
// runs): tokens/s for one prompt of 128, 512 and 2048 tokens, the time to first token
// of a 1000-token prompt (one pass, and in the engine's default chunks of 512), and the
// mat-vec / cuBLASLt crossover: the FFN matmuls of layer 0 timed both ways for 8..128
// token rows (cuda::kCublasMinTokens is to be set from this table).
//   gpu_prefill_bench MODEL.gguf
#include <cuda_runtime_api.h>

#include <chrono>
#include <numeric>
#include <random>

#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/lt_matmul.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using namespace runtime;

constexpr int kPageSize = 16;
constexpr int kMaxTokens = 2048;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds of a prefill of `n` tokens in chunks of `chunk`, logits of the last only.
double Prefill(Forward& forward, KvCache& cache, const ModelConfig& c, int n, int chunk,
               const std::vector<int32_t>& pages) {
  const std::vector<TokenId> prompt = RandomTokens(n, c.vocab_size, n);
  std::vector<float> logits(c.vocab_size);
  const auto start = std::chrono::steady_clock::now();
  for (int first = 0; first < n; first += chunk) {
    const int len = std::min(chunk, n - first);
    StepBatch batch;
    batch.AddSequence(std::span(prompt).subspan(first, len), first, pages, first + len == n);
    std::span<float> out(logits.data(), first + len == n ? logits.size() : 0);
    Require(forward.Run(batch, cache, out), "prefill");
  }
  return Seconds(start);
}

// Milliseconds per call of `f` (enqueued on `stream`), after one warm-up call.
template <class F>
double TimeMs(cudaStream_t stream, F&& f) {
  f();
  cudaStreamSynchronize(stream);
  constexpr int kReps = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kReps; ++i) f();
  cudaStreamSynchronize(stream);
  return Seconds(start) * 1e3 / kReps;
}

// The FFN of layer 0 at each row count through the mat-vec path (int8 activations, the
// SwiGLU kernel) and through dequantize + cuBLASLt, each on a backend that takes only
// that path, as Forward calls them.
void Crossover(const Model& model, const ModelConfig& c) {
  CudaBackendOptions matvec_options, gemm_options;
  matvec_options.gemm_min_tokens = 0;  // never cuBLASLt
  gemm_options.gemm_min_tokens = 1;    // always
  auto matvec = Require(CudaBackend::Create(matvec_options), "CudaBackend");
  auto gemm = Require(CudaBackend::Create(gemm_options), "CudaBackend");
  const ModelWeights wm = Require(UploadWeights(c, model.gguf(), *matvec), "weights");
  const ModelWeights wg = Require(UploadWeights(c, model.gguf(), *gemm), "weights");
  std::printf("%6s %14s %14s   (FFN of layer 0)\n", "rows", "mat-vec ms", "cuBLASLt ms");
  for (int rows : {8, 16, 24, 32, 48, 64, 96, 128}) {
    double ms[2];
    for (int i = 0; i < 2; ++i) {
      CudaBackend& b = i == 0 ? *matvec : *gemm;
      const LayerWeights& l = (i == 0 ? wm : wg).layers[0];
      std::vector<DeviceBuffer> keep;
      std::mt19937 rng(rows);
      std::normal_distribution<float> normal;
      std::vector<float> values(rows * c.d_ffn);
      for (float& v : values) v = normal(rng);
      const Activations x = MakeActivations(b, keep, rows, c.d_model, &values);
      const Activations gate = MakeActivations(b, keep, rows, c.d_ffn, &values);
      const Activations up = MakeActivations(b, keep, rows, c.d_ffn, &values);
      const Activations acc = MakeActivations(b, keep, rows, c.d_model, &values);
      const Activations scratch = MakeActivations(b, keep, rows, c.d_model, &values);
      ms[i] = TimeMs(b.stream(), [&] {
        b.SwiGlu(l.ffn_gate, l.ffn_up, x, gate, up);
        b.MatMulAdd(l.ffn_down, gate, scratch, acc);
      });
      Require(b.Synchronize(), "FFN");
    }
    std::printf("%6d %14.3f %14.3f   %s\n", rows, ms[0], ms[1], ms[1] < ms[0] ? "cuBLASLt" : "mat-vec");
  }
  std::printf("crossover now: %lld rows (cuda::kCublasMinTokens)\n",
              static_cast<long long>(cuda::kCublasMinTokens));
}

}  // namespace
}  // namespace smollm::gpu_test

int main(int argc, char** argv) {
  using namespace smollm;
  using namespace smollm::runtime;
  auto model = gpu_test::ModelFromArgs(argc, argv, "gpu_prefill_bench");
  const ModelConfig& c = model->config();
  auto backend = gpu_test::Require(CudaBackend::Create({}), "CudaBackend");
  const ModelWeights w = gpu_test::Require(UploadWeights(c, model->gguf(), *backend), "weights");
  const int n_pages = gpu_test::kMaxTokens / gpu_test::kPageSize;
  KvCache cache = gpu_test::Require(
      AllocateKvCache(*backend, {c.n_layers, c.n_kv_heads, c.head_dim, gpu_test::kPageSize, n_pages}),
      "kv");
  std::vector<int32_t> pages(n_pages);
  std::iota(pages.begin(), pages.end(), 0);
  Forward forward =
      gpu_test::Require(Forward::Create(c, w, *backend, {gpu_test::kMaxTokens, 1}), "Forward");
  std::printf("device: %s\n", backend->device().name.c_str());
  gpu_test::Prefill(forward, cache, c, 512, 512, pages);  // warm-up: plans, scratch
  std::printf("%8s %12s %10s\n", "prompt", "tokens/s", "ms");
  for (int n : {128, 512, 2048}) {
    if (n >= c.context_length) continue;
    gpu_test::Prefill(forward, cache, c, n, n, pages);
    const double s = gpu_test::Prefill(forward, cache, c, n, n, pages);
    std::printf("%8d %12.0f %10.2f%s\n", n, n / s, s * 1e3, n == 512 ? "   (target >= 10000 on H100)" : "");
  }
  for (int chunk : {1000, 512}) {
    const double s = gpu_test::Prefill(forward, cache, c, 1000, chunk, pages);
    std::printf("TTFT of a 1000-token prompt in chunks of %4d: %.2f ms (forward only)\n", chunk, s * 1e3);
  }
  gpu_test::Crossover(*model, c);
  std::printf("cuBLASLt plans cached: %zu\n", backend->cached_gemm_plans());
  return 0;
}
