// Shared helpers of the engine tests: the real model, a CPU backend, random prompts, and
// draining a sink to its final event.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "tests/test_support.h"

namespace smollm::runtime::engine_test {

// The test model, opened once for the whole binary.
inline const Model* TestModel() {
  static const Model* model = [] {
    auto opened = Model::Open(smollm::testing::TestModelPath());
    return opened.ok() ? opened->release() : nullptr;
  }();
  return model;
}

// A CPU backend on two threads and an engine over it.
struct TestEngine {
  explicit TestEngine(EngineOptions options)
      : pool(2), backend(pool, std::max(TestModel()->config().d_model,
                                        TestModel()->config().d_ffn)) {
    auto created = Engine::Create(*TestModel(), backend, options);
    EXPECT_TRUE(created.ok()) << created.status();
    if (created.ok()) engine = *std::move(created);
  }
  ThreadPool pool;
  CpuBackend backend;
  std::unique_ptr<Engine> engine;
};

inline EngineOptions SmallOptions() {
  EngineOptions o;
  o.kv_cache_bytes = uint64_t{64} << 20;
  o.page_size = 16;
  o.max_tokens_per_step = 256;
  o.max_running = 16;
  o.prefill_chunk = 128;
  o.context_length = 1024;
  return o;
}

// Greedy, `max_tokens` long, the model's end tokens banned so lengths are exact.
inline SamplingParams Greedy(int max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  for (TokenId t : {TestModel()->tokenizer().eos_id(), TestModel()->tokenizer().eot_id()}) {
    if (t >= 0) p.logit_bias[t] = -std::numeric_limits<float>::infinity();
  }
  return p;
}

inline std::vector<TokenId> RandomPrompt(std::mt19937& rng, int n) {
  // Ordinary tokens (skip the first few hundred ids, which hold special tokens).
  std::uniform_int_distribution<TokenId> dist(300, TestModel()->config().vocab_size - 1);
  std::vector<TokenId> prompt(n);
  for (TokenId& t : prompt) t = dist(rng);
  return prompt;
}

struct Outcome {
  std::vector<TokenId> tokens;
  std::string text;
  std::vector<float> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  FinalEvent final;
  bool ended = false;
};

// Drains `sink` until its final event (or `timeout`: generous, for sanitizer builds on a
// loaded machine).
inline Outcome Collect(TokenSink& sink, absl::Duration timeout = absl::Seconds(300)) {
  Outcome out;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    sink.WaitForEvent(absl::Milliseconds(50));
    TokenEvent event;
    while (sink.Take(&event)) {
      out.tokens.insert(out.tokens.end(), event.tokens.begin(), event.tokens.end());
      out.text += event.text;
      out.logprobs.insert(out.logprobs.end(), event.logprobs.begin(), event.logprobs.end());
      out.top_logprobs.insert(out.top_logprobs.end(), event.top_logprobs.begin(),
                              event.top_logprobs.end());
    }
    if (auto final_event = sink.TakeFinal()) {
      out.final = *std::move(final_event);
      out.ended = true;
      return out;
    }
  }
  return out;
}

// Submits and waits for the end; the request must be accepted.
inline Outcome RunRequest(Engine& engine, GenerateRequest request) {
  auto sink = std::make_shared<TokenSink>();
  auto id = engine.Submit(std::move(request), sink);
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return {};
  return Collect(*sink);
}

}  // namespace smollm::runtime::engine_test
