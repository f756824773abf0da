// End to end: greedy tokens of the CUDA decode graph equal the CPU backend's for 64
// steps at batch 1 and batch 8 on each model given on the command line. Prompts run
// through the model's Forward on each backend (the CUDA backend's eager ops), decoding
// through Forward on the CPU and through DecodeGraph (captured and uncaptured) on the GPU.
//   gpu_decode_test MODEL.gguf...
#include <algorithm>
#include <numeric>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/decode_graph.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "tests/gpu/gpu_test_support.h"

namespace smollm::gpu_test {
namespace {

using namespace runtime;

constexpr int kSteps = 64;
constexpr int kPageSize = 16;

TokenId Argmax(std::span<const float> row) {  // the lowest id among equal maxima
  return static_cast<TokenId>(std::max_element(row.begin(), row.end()) - row.begin());
}

struct Sequences {
  std::vector<std::vector<TokenId>> prompts;
  std::vector<std::vector<int32_t>> pages;
};

Sequences MakeSequences(int batch, int vocab) {
  Sequences s;
  const int pages_each = (8 + batch + kSteps) / kPageSize + 1;
  for (int i = 0; i < batch; ++i) {
    std::vector<TokenId> prompt(3 + i);
    for (int j = 0; j < static_cast<int>(prompt.size()); ++j) prompt[j] = (i * 131 + j * 7919 + 5) % vocab;
    s.prompts.push_back(prompt);
    std::vector<int32_t> pages(pages_each);
    std::iota(pages.begin(), pages.end(), i * pages_each);
    std::reverse(pages.begin(), pages.end());  // out of order on purpose
    s.pages.push_back(pages);
  }
  return s;
}

// Prefill of every prompt on `backend`; returns each sequence's first greedy token.
std::vector<TokenId> Prefill(const Model& model, const ModelWeights& w, Backend& backend,
                             KvCache& cache, const Sequences& s) {
  const ModelConfig& c = model.config();
  Forward forward = Require(Forward::Create(c, w, backend, {256, 16}), "Forward");
  StepBatch batch;
  for (size_t i = 0; i < s.prompts.size(); ++i) batch.AddSequence(s.prompts[i], 0, s.pages[i], true);
  std::vector<float> logits(s.prompts.size() * c.vocab_size);
  Require(forward.Run(batch, cache, logits), "prefill");
  std::vector<TokenId> next;
  for (size_t i = 0; i < s.prompts.size(); ++i) {
    next.push_back(Argmax(std::span(logits).subspan(i * c.vocab_size, c.vocab_size)));
  }
  return next;
}

std::vector<std::vector<TokenId>> CpuGreedy(const Model& model, int batch_size) {
  const ModelConfig& c = model.config();
  ThreadPool pool(8);
  CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
  const ModelWeights w = Require(UploadWeights(c, model.gguf(), backend), "cpu weights");
  const Sequences s = MakeSequences(batch_size, c.vocab_size);
  KvCache cache = Require(AllocateKvCache(backend, {c.n_layers, c.n_kv_heads, c.head_dim, kPageSize,
                                                    static_cast<int>(s.pages[0].size()) * batch_size}),
                          "cpu kv");
  std::vector<TokenId> next = Prefill(model, w, backend, cache, s);
  Forward forward = Require(Forward::Create(c, w, backend, {16, 16}), "Forward");
  std::vector<std::vector<TokenId>> out(batch_size);
  std::vector<float> logits(batch_size * c.vocab_size);
  for (int step = 0; step < kSteps; ++step) {
    StepBatch batch;
    for (int i = 0; i < batch_size; ++i) {
      out[i].push_back(next[i]);
      const Pos pos = static_cast<Pos>(s.prompts[i].size()) + step;
      batch.AddSequence(std::span(&next[i], 1), pos, s.pages[i], true);
    }
    Require(forward.Run(batch, cache, logits), "cpu decode");
    for (int i = 0; i < batch_size; ++i) {
      next[i] = Argmax(std::span(logits).subspan(i * c.vocab_size, c.vocab_size));
    }
  }
  return out;
}

std::vector<std::vector<TokenId>> GpuGreedy(const Model& model, int batch_size, bool graphs) {
  const ModelConfig& c = model.config();
  auto backend = Require(CudaBackend::Create({}), "CudaBackend");
  const ModelWeights w = Require(UploadWeights(c, model.gguf(), *backend), "gpu weights");
  const Sequences s = MakeSequences(batch_size, c.vocab_size);
  KvCache cache = Require(AllocateKvCache(*backend, {c.n_layers, c.n_kv_heads, c.head_dim, kPageSize,
                                                     static_cast<int>(s.pages[0].size()) * batch_size}),
                          "gpu kv");
  std::vector<TokenId> next = Prefill(model, w, *backend, cache, s);
  const DecodeModel dm = DecodeModelFrom(c, w);
  DecodeGraphOptions options;
  options.max_pages_per_seq = static_cast<int>(s.pages[0].size());
  options.use_graphs = graphs;
  auto graph = Require(DecodeGraph::Create(*backend, dm, cache, options), "DecodeGraph");
  std::vector<std::vector<TokenId>> out(batch_size);
  std::vector<float> values(batch_size);
  for (int step = 0; step < kSteps; ++step) {
    std::vector<DecodeInput> inputs;
    for (int i = 0; i < batch_size; ++i) {
      out[i].push_back(next[i]);
      inputs.push_back({next[i], static_cast<Pos>(s.prompts[i].size()) + step, s.pages[i]});
    }
    Require(graph->Step(inputs, next, values), "gpu decode");
  }
  GPU_CHECK(!graphs || graph->graphs_captured() == 1, "captured %d graphs for one batch size",
            graph->graphs_captured());
  return out;
}

void Compare(const char* what, const std::string& model, int batch,
             const std::vector<std::vector<TokenId>>& gpu,
             const std::vector<std::vector<TokenId>>& cpu) {
  for (int i = 0; i < batch; ++i) {
    const auto diverge = std::mismatch(gpu[i].begin(), gpu[i].end(), cpu[i].begin());
    GPU_CHECK(diverge.first == gpu[i].end(), "%s %s batch %d sequence %d: first difference at step %d",
              what, model.c_str(), batch, i, static_cast<int>(diverge.first - gpu[i].begin()));
  }
}

}  // namespace
}  // namespace smollm::gpu_test

int main(int argc, char** argv) {
  using namespace smollm;
  for (int a = 1; a < argc; ++a) {
    auto model = gpu_test::Require(runtime::Model::Open(argv[a]), argv[a]);
    for (int batch : {1, 8}) {
      const auto cpu = gpu_test::CpuGreedy(*model, batch);
      gpu_test::Compare("graph", argv[a], batch, gpu_test::GpuGreedy(*model, batch, true), cpu);
      gpu_test::Compare("eager", argv[a], batch, gpu_test::GpuGreedy(*model, batch, false), cpu);
      std::printf("%s batch %d: %d greedy steps compared\n", argv[a], batch, gpu_test::kSteps);
    }
  }
  std::printf("gpu_decode_test: %s (%d failures)\n", gpu_test::Failures() ? "FAIL" : "PASS",
              gpu_test::Failures());
  return gpu_test::Failures() ? 1 : 0;
}
