// Batch invariance through the engine on the CUDA backend: 16 greedy requests submitted
// together produce exactly the tokens each produces alone. The scheduler, prefix cache
// and page pool run unchanged over the CUDA backend; the KV pool lives in device memory.
// Prompts are short (3..4 tokens, 16 of them under the cuBLASLt crossover in one step),
// so every step, alone or together, takes the same kernels for each row: the mat-vec
// matmuls (a row's sum does not depend on the other rows) and the per-sequence attention
// plan. Also prints how many requests match the CPU backend's engine (informational:
// random-weight models have near-ties that f32 rounding may flip).
//   gpu_engine_test MODEL.gguf
#include <algorithm>
#include <limits>
#include <memory>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using namespace runtime;

constexpr int kRequests = 16;
constexpr int kTokens = 32;

EngineOptions Options() {
  EngineOptions o;
  o.kv_cache_bytes = uint64_t{256} << 20;
  o.max_running = 64;
  o.context_length = 1024;
  return o;
}

SamplingParams Greedy(const Model& model) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = kTokens;
  for (TokenId t : {model.tokenizer().eos_id(), model.tokenizer().eot_id()}) {
    if (t >= 0) p.logit_bias[t] = -std::numeric_limits<float>::infinity();
  }
  return p;
}

std::vector<TokenId> Drain(TokenSink& sink) {
  std::vector<TokenId> tokens;
  for (;;) {
    TokenEvent event;
    while (sink.Take(&event)) tokens.insert(tokens.end(), event.tokens.begin(), event.tokens.end());
    if (auto final = sink.TakeFinal()) {
      Require(final->status, "request");
      return tokens;
    }
    sink.WaitForEvent(absl::Seconds(1));
  }
}

// The tokens of the given requests, all submitted before any is drained.
std::vector<std::vector<TokenId>> Generate(Engine& engine, const Model& model,
                                           const std::vector<std::vector<TokenId>>& prompts) {
  std::vector<std::shared_ptr<TokenSink>> sinks;
  for (const auto& prompt : prompts) {
    auto sink = std::make_shared<TokenSink>(1024);
    GenerateRequest request;
    request.prompt = prompt;
    request.sampling = Greedy(model);
    Require(engine.Submit(std::move(request), sink).status(), "Submit");
    sinks.push_back(sink);
  }
  std::vector<std::vector<TokenId>> out;
  for (auto& sink : sinks) out.push_back(Drain(*sink));
  return out;
}

}  // namespace
}  // namespace smollm::gpu_test

int main(int argc, char** argv) {
  using namespace smollm;
  using namespace smollm::runtime;
  auto model = gpu_test::ModelFromArgs(argc, argv, "gpu_engine_test");
  const ModelConfig& c = model->config();
  std::vector<std::vector<TokenId>> prompts;
  for (int i = 0; i < gpu_test::kRequests; ++i) {
    prompts.push_back(gpu_test::RandomTokens(3 + i % 2, c.vocab_size, 40 + i));
  }
  auto backend = gpu_test::Require(CudaBackend::Create({}), "CudaBackend");
  std::vector<std::vector<TokenId>> together, alone;
  {
    // A fresh engine per run: no prefix cache carries over from one to the other.
    auto engine = gpu_test::Require(Engine::Create(*model, *backend, gpu_test::Options()), "Engine");
    together = gpu_test::Generate(*engine, *model, prompts);
  }
  for (const auto& prompt : prompts) {
    auto engine = gpu_test::Require(Engine::Create(*model, *backend, gpu_test::Options()), "Engine");
    alone.push_back(gpu_test::Generate(*engine, *model, {prompt})[0]);
  }
  for (int i = 0; i < gpu_test::kRequests; ++i) {
    GPU_CHECK(static_cast<int>(together[i].size()) == gpu_test::kTokens, "request %d: %zu tokens", i,
              together[i].size());
    const auto diverge = std::mismatch(together[i].begin(), together[i].end(), alone[i].begin(),
                                       alone[i].end());
    GPU_CHECK(diverge.first == together[i].end() && diverge.second == alone[i].end(),
              "request %d: batched and solo tokens differ at %d", i,
              static_cast<int>(diverge.first - together[i].begin()));
  }
  {
    ThreadPool pool(8);
    CpuBackend cpu(pool, std::max(c.d_model, c.d_ffn));
    auto engine = gpu_test::Require(Engine::Create(*model, cpu, gpu_test::Options()), "Engine");
    const auto on_cpu = gpu_test::Generate(*engine, *model, prompts);
    int same = 0;
    for (int i = 0; i < gpu_test::kRequests; ++i) same += on_cpu[i] == together[i];
    std::printf("engine on the CPU backend: %d of %d requests give the same %d tokens\n", same,
                gpu_test::kRequests, gpu_test::kTokens);
  }
  std::printf("gpu_engine_test: %d requests, batched == solo: %s (%d failures)\n",
              gpu_test::kRequests, gpu_test::Failures() ? "FAIL" : "PASS", gpu_test::Failures());
  return gpu_test::Failures() ? 1 : 0;
}
