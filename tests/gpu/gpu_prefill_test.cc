// Prefill on the CUDA backend against the CPU backend, through the model's Forward:
//  - the last token's logits of prompts of 1, 7, 128 and 1000 tokens (cosine >= 0.999;
//    the longer ones run through dequantize + cuBLASLt and the flash-style attention);
//  - the 1000-token prompt as chunks that continue the cached prefix (as the engine's
//    chunked prefill does) gives the same logits as one pass;
//  - a mixed step (one sequence's decode token beside another's prefill chunk): under the
//    cuBLASLt crossover the decode row's logits are bit-identical to its step alone,
//    above it they agree to cosine >= 0.999 (the GEMM rounds activations to 16 bits);
//  - the host -> device step data of a decode step stays a few KB (staged once per step).
//   gpu_prefill_test MODEL.gguf...
#include <algorithm>
#include <numeric>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using namespace runtime;

constexpr int kPageSize = 16;
constexpr double kMinCosine = 0.999;

// One backend's weights, cache and Forward for steps of up to 1024 tokens.
struct Runner {
  Runner(const Model& model, Backend& backend, int n_pages)
      : config(model.config()),
        backend(backend),
        weights(Require(UploadWeights(config, model.gguf(), backend), "weights")),
        cache(Require(AllocateKvCache(backend, {config.n_layers, config.n_kv_heads,
                                                config.head_dim, kPageSize, n_pages}),
                      "kv cache")),
        forward(Require(Forward::Create(config, weights, backend, {1024, 8}), "Forward")) {}

  // The logits of the last token of each sequence that asks for them, in order.
  std::vector<float> Run(const StepBatch& batch) {
    std::vector<float> logits(static_cast<size_t>(batch.n_logits()) * config.vocab_size);
    Require(forward.Run(batch, cache, logits), "forward");
    return logits;
  }

  const ModelConfig& config;
  Backend& backend;
  ModelWeights weights;
  KvCache cache;
  Forward forward;
};

std::vector<int32_t> Pages(int first, int count) {
  std::vector<int32_t> pages(count);
  std::iota(pages.begin(), pages.end(), first);
  std::reverse(pages.begin(), pages.end());  // out of order on purpose
  return pages;
}

void PromptsMatchTheCpu(const Model& model, Runner& cpu, Runner& gpu, const char* name) {
  const ModelConfig& c = model.config();
  const std::vector<int32_t> pages = Pages(0, 1024 / kPageSize);
  for (int wanted : {1, 7, 128, 1000}) {
    const int n = std::min(wanted, c.context_length - 1);
    const std::vector<TokenId> prompt = RandomTokens(n, c.vocab_size, 1000 + n);
    StepBatch batch;
    batch.AddSequence(prompt, 0, pages, true);
    const std::vector<float> want = cpu.Run(batch);
    const std::vector<float> got = gpu.Run(batch);
    const double cosine = Cosine(got, want);
    std::printf("%s prompt %4d tokens: cosine %.6f, relative error %.2e\n", name, n, cosine,
                RelativeError(got, want));
    GPU_CHECK(cosine >= kMinCosine, "%s prompt of %d: cosine %.6f", name, n, cosine);
    if (n < 300) continue;
    // The same prompt as chunks continuing the cached prefix.
    std::vector<float> chunked;
    for (int first = 0; first < n; first += 300) {
      const int len = std::min(300, n - first);
      StepBatch chunk;
      chunk.AddSequence(std::span(prompt).subspan(first, len), first, pages, first + len == n);
      chunked = gpu.Run(chunk);
    }
    const double chunk_cosine = Cosine(chunked, got);
    std::printf("%s prompt %4d tokens in chunks of 300: cosine to one pass %.6f\n", name, n,
                chunk_cosine);
    GPU_CHECK(chunk_cosine >= kMinCosine, "%s chunked prompt of %d: cosine %.6f", name, n,
              chunk_cosine);
  }
}

// Sequence A (a 9-token prompt, then one decode token) alone and beside a prefill chunk of
// sequence B of `chunk` tokens in the same step.
void MixedStep(const Model& model, Runner& gpu, int chunk, const char* name) {
  const ModelConfig& c = model.config();
  const std::vector<int32_t> a_pages = Pages(0, 8), b_pages = Pages(8, 16);
  const std::vector<TokenId> a_prompt = RandomTokens(9, c.vocab_size, 5);
  const std::vector<TokenId> b_prompt = RandomTokens(chunk, c.vocab_size, 6);
  const TokenId a_next = a_prompt[3];
  StepBatch prefill;
  prefill.AddSequence(a_prompt, 0, a_pages, false);
  gpu.Run(prefill);
  StepBatch alone;
  alone.AddSequence(std::span(&a_next, 1), 9, a_pages, true);
  const std::vector<float> want = gpu.Run(alone);
  StepBatch mixed;
  mixed.AddSequence(b_prompt, 0, b_pages, false);
  mixed.AddSequence(std::span(&a_next, 1), 9, a_pages, true);
  const std::vector<float> got = gpu.Run(mixed);
  const bool exact = got == want;
  const double cosine = Cosine(got, want);
  std::printf("%s decode row beside a %d-token chunk: %s, cosine %.6f\n", name, chunk,
              exact ? "bit-identical" : "differs", cosine);
  if (chunk + 1 < cuda::kCublasMinTokens) {
    GPU_CHECK(exact, "%s: a decode row under the crossover changed beside a %d-token chunk", name,
              chunk);
  } else {
    GPU_CHECK(cosine >= kMinCosine, "%s: mixed step cosine %.6f", name, cosine);
  }
}

void StagedBytesPerStep(const Model& model, CudaBackend& backend, Runner& gpu, const char* name) {
  const ModelConfig& c = model.config();
  StepBatch batch;
  std::vector<std::vector<int32_t>> pages;
  for (int i = 0; i < 8; ++i) pages.push_back(Pages(i * 8, 8));
  const std::vector<TokenId> tokens = RandomTokens(8, c.vocab_size, 9);
  for (int i = 0; i < 8; ++i) batch.AddSequence(std::span(&tokens[i], 1), 20 + i, pages[i], true);
  const uint64_t before = backend.staged_bytes();
  gpu.Run(batch);
  const uint64_t bytes = backend.staged_bytes() - before;
  std::printf("%s decode step of 8 sequences: %llu bytes of step data to the device\n", name,
              static_cast<unsigned long long>(bytes));
  GPU_CHECK(bytes <= 4096, "%s: %llu staged bytes for one decode step", name,
            static_cast<unsigned long long>(bytes));
}

}  // namespace
}  // namespace smollm::gpu_test

int main(int argc, char** argv) {
  using namespace smollm;
  using namespace smollm::runtime;
  for (int a = 1; a < argc; ++a) {
    auto model = gpu_test::Require(Model::Open(argv[a]), argv[a]);
    const ModelConfig& c = model->config();
    ThreadPool pool(8);
    CpuBackend cpu_backend(pool, std::max(c.d_model, c.d_ffn));
    auto gpu_backend = gpu_test::Require(CudaBackend::Create({}), "CudaBackend");
    gpu_test::Runner cpu(*model, cpu_backend, 64), gpu(*model, *gpu_backend, 64);
    gpu_test::PromptsMatchTheCpu(*model, cpu, gpu, argv[a]);
    for (int chunk : {7, 128}) gpu_test::MixedStep(*model, gpu, chunk, argv[a]);
    gpu_test::StagedBytesPerStep(*model, *gpu_backend, gpu, argv[a]);
    std::printf("%s: %zu cuBLASLt plans cached\n", argv[a], gpu_backend->cached_gemm_plans());
  }
  std::printf("gpu_prefill_test: %s (%d failures)\n", gpu_test::Failures() ? "FAIL" : "PASS",
              gpu_test::Failures());
  return gpu_test::Failures() ? 1 : 0;
}
