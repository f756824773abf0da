// Engine throughput and latency on a real model, printed as a table (run by hand):
//   engine_bench [threads]   model: $SMOLLM_BENCH_MODEL, else the test model
// Rows: aggregate decode tokens/s at 1, 4, 8 and 16 concurrent greedy sequences (32-token
// prompts, 64 tokens each, timed from submit to the last token, so prefill is included);
// time to first token of a 1,000-token prompt cold and with its first 992 tokens cached;
// prefill tokens per turn of a 3-turn session (100 new tokens a turn).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"

namespace smollm::runtime {
namespace {

std::string BenchModelPath() {
  const char* path = std::getenv("SMOLLM_BENCH_MODEL");
  return path != nullptr && *path != '\0' ? path : SMOLLM_DEFAULT_TEST_MODEL;
}

SamplingParams Greedy(const Model& model, int max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  for (TokenId t : {model.tokenizer().eos_id(), model.tokenizer().eot_id()}) {
    if (t >= 0) p.logit_bias[t] = -std::numeric_limits<float>::infinity();
  }
  return p;
}

std::vector<TokenId> Prompt(std::mt19937& rng, const Model& model, int n) {
  std::uniform_int_distribution<TokenId> dist(300, model.config().vocab_size - 1);
  std::vector<TokenId> p(n);
  for (TokenId& t : p) t = dist(rng);
  return p;
}

// Waits for the final event, draining deltas.
FinalEvent Finish(TokenSink& sink) {
  for (;;) {
    sink.WaitForEvent(absl::Milliseconds(100));
    TokenEvent e;
    while (sink.Take(&e)) {
    }
    if (auto f = sink.TakeFinal()) return *f;
  }
}

EngineOptions Options() {
  EngineOptions o;
  o.kv_cache_bytes = uint64_t{512} << 20;
  o.max_tokens_per_step = 512;
  o.max_running = 16;
  o.prefill_chunk = 512;
  o.context_length = 4096;
  return o;
}

int Main(int argc, char** argv) {
  auto opened = Model::Open(BenchModelPath());
  if (!opened.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  const Model& model = **opened;
  const int threads = argc > 1 ? std::atoi(argv[1])
                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  CpuBackend backend(pool, std::max(model.config().d_model, model.config().d_ffn));
  std::mt19937 rng(42);
  std::printf("model %s, %d threads\n", model.path().c_str(), threads);
  std::printf("%-44s %12s\n", "measure", "value");

  for (int n : {1, 4, 8, 16}) {
    auto engine = Engine::Create(model, backend, Options());
    if (!engine.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", std::string(engine.status().message()).c_str());
      return 1;
    }
    std::vector<std::shared_ptr<TokenSink>> sinks;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      sinks.push_back(std::make_shared<TokenSink>(1 << 20));
      if (!(*engine)->Submit({Prompt(rng, model, 32), Greedy(model, 64)}, sinks.back()).ok()) {
        return 1;
      }
    }
    int64_t tokens = 0;
    for (auto& s : sinks) tokens += Finish(*s).usage.completion_tokens;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("decode tokens/s, %2d concurrent %19s %12.1f\n", n, "", tokens / secs);
  }

  {
    auto engine = Engine::Create(model, backend, Options());
    if (!engine.ok()) return 1;
    std::vector<TokenId> a = Prompt(rng, model, 1000), b = a;
    for (int i = 992; i < 1000; ++i) b[i] = (b[i] + 1) % model.config().vocab_size;
    auto s1 = std::make_shared<TokenSink>();
    if (!(*engine)->Submit({a, Greedy(model, 1)}, s1).ok()) return 1;
    const FinalEvent cold = Finish(*s1);
    auto s2 = std::make_shared<TokenSink>();
    if (!(*engine)->Submit({b, Greedy(model, 1)}, s2).ok()) return 1;
    const FinalEvent warm = Finish(*s2);
    std::printf("%-44s %9.1f ms\n", "TTFT 1000-token prompt, cold",
                absl::ToDoubleMilliseconds(cold.usage.time_to_first_token));
    std::printf("%-44s %9.1f ms  (%d cached)\n", "TTFT 1000-token prompt, 992 cached",
                absl::ToDoubleMilliseconds(warm.usage.time_to_first_token),
                warm.usage.cached_tokens);
  }

  {
    auto engine = Engine::Create(model, backend, Options());
    if (!engine.ok()) return 1;
    auto session = (*engine)->CreateSession("bench", {});
    if (!session.ok()) return 1;
    for (int turn = 1; turn <= 3; ++turn) {
      GenerateRequest r{Prompt(rng, model, 100), Greedy(model, 20)};
      r.session = SessionTurn{*session, "bench"};
      auto sink = std::make_shared<TokenSink>();
      if (!(*engine)->Submit(std::move(r), sink).ok()) return 1;
      const FinalEvent f = Finish(*sink);
      std::printf("session turn %d prefill tokens %22s %12d  (history %d, cached %d)\n", turn, "",
                  f.usage.prompt_tokens - f.usage.cached_tokens, f.usage.prompt_tokens,
                  f.usage.cached_tokens);
    }
  }
  return 0;
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) { return smollm::runtime::Main(argc, argv); }
