// Engine throughput and latency on a real model, printed as a table (run by hand):
//   engine_bench [threads] [decode tokens] [concurrency list]
//   model: $SMOLLM_BENCH_MODEL, else the test model
// Rows: aggregate decode tokens/s at 1, 4, 8 and 16 concurrent greedy sequences (32-token
// prompts, `decode tokens` (default 64) each; timed from the moment every sequence has its
// first token to the last token, so prefill is left out, and counting the tokens sampled
// in between); time to first token of a 1,000-token prompt cold and with its first 992
// tokens cached; prefill tokens per turn of a 3-turn session (100 new tokens a turn). The
// last rows compare with the targets: decode at 8 sequences >= 4x one sequence, a cached
// prefix cutting TTFT >= 5x. A concurrency list ("8" or "1,8") measures only the decode
// rows at those counts, each twice (for profiling a steady decode step).
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

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "tests/bench/bench_model.h"

namespace smollm::runtime {
namespace {

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

// Drains what is pending; returns how many tokens it took.
int64_t Drain(TokenSink& sink) {
  int64_t tokens = 0;
  TokenEvent e;
  while (sink.Take(&e)) tokens += static_cast<int64_t>(e.tokens.size());
  return tokens;
}

// Waits for the final event, draining deltas.
FinalEvent Finish(TokenSink& sink) {
  for (;;) {
    sink.WaitForEvent(absl::Milliseconds(100));
    Drain(sink);
    if (auto f = sink.TakeFinal()) return *f;
  }
}

using Clock = std::chrono::steady_clock;

// Aggregate decode tokens/s of `n` concurrent sequences, prefill excluded.
double DecodeRate(Engine& engine, const Model& model, std::mt19937& rng, int n,
                  int decode_tokens) {
  std::vector<std::shared_ptr<TokenSink>> sinks;
  for (int i = 0; i < n; ++i) {
    sinks.push_back(std::make_shared<TokenSink>(1 << 20));
    if (!engine.Submit({Prompt(rng, model, 32), Greedy(model, decode_tokens)}, sinks.back())
             .ok()) {
      return 0;
    }
  }
  // Every sequence has its first token: from here on the steps are decodes.
  for (auto& s : sinks) {
    while (s->buffered_tokens() == 0 && !s->finished()) s->WaitForEvent(absl::Milliseconds(5));
  }
  const auto start = Clock::now();
  int64_t before = 0;
  for (auto& s : sinks) before += Drain(*s);
  int64_t tokens = 0;
  for (auto& s : sinks) tokens += Finish(*s).usage.completion_tokens;
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(tokens - before) / secs;
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
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows appear as they are measured
  auto opened = Model::Open(BenchModelPath());
  if (!opened.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  const Model& model = **opened;
  const int threads = argc > 1 ? std::atoi(argv[1])
                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int decode_tokens = argc > 2 ? std::max(2, std::atoi(argv[2])) : 64;
  ThreadPool pool(threads);
  CpuBackend backend(pool, std::max(model.config().d_model, model.config().d_ffn));
  std::mt19937 rng(42);
  std::printf("model %s, %d threads\n", model.path().c_str(), threads);
  std::printf("%-44s %12s\n", "measure", "value");

  std::vector<int> counts = {1, 4, 8, 16};
  const bool decode_only = argc > 3;
  if (decode_only) {
    counts.clear();
    for (absl::string_view n : absl::StrSplit(argv[3], ',')) {
      int value = 0;
      if (!absl::SimpleAtoi(n, &value) || value < 1 || value > Options().max_running) {
        std::fprintf(stderr, "engine_bench: bad concurrency '%s'\n", std::string(n).c_str());
        return 1;
      }
      counts.insert(counts.end(), {value, value});
    }
  }
  double decode_1 = 0, decode_8 = 0;
  for (int n : counts) {
    auto engine = Engine::Create(model, backend, Options());
    if (!engine.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", std::string(engine.status().message()).c_str());
      return 1;
    }
    const double rate = DecodeRate(**engine, model, rng, n, decode_tokens);
    if (n == 1) decode_1 = rate;
    if (n == 8) decode_8 = rate;
    std::printf("decode tokens/s, %2d concurrent %19s %12.1f\n", n, "", rate);
  }
  if (decode_only) return 0;
  double ttft_ratio = 0;

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
    ttft_ratio = absl::FDivDuration(cold.usage.time_to_first_token,
                                    warm.usage.time_to_first_token);
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
  std::printf("%-44s %11.2fx  (target >= 4)\n", "decode 8 concurrent / 1",
              decode_1 > 0 ? decode_8 / decode_1 : 0.0);
  std::printf("%-44s %11.2fx  (target >= 5)\n", "TTFT cold / cached prefix", ttft_ratio);
  return 0;
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) { return smollm::runtime::Main(argc, argv); }
