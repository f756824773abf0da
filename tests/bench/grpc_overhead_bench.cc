// gRPC overhead on a real model, printed as a table (run by hand, not a test):
//   grpc_overhead_bench [threads]   model: $SMOLLM_BENCH_MODEL, else the test model
// The same greedy generations (distinct ~40-token prompts, 32 tokens each) run through the
// engine called in-process and through smollm-server + the C++ client on loopback, at 1
// and 16 concurrent streams. Per stream: time to first token (from submit / call start to
// the first delta the consumer sees) and the mean time per later token. Medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cpu/cpu_backend.h"
#include "runtime/core/thread_pool.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "service/client/client.h"
#include "tests/bench/bench_model.h"
#include "tests/e2e/server_process.h"

namespace smollm {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTokens = 32;

struct StreamTimes {
  double ttft_ms = 0;
  double per_token_ms = 0;
};

using runtime::BenchModelPath;

std::string PromptText(int round, int stream) {
  return absl::StrCat("Request ", round, "-", stream,
                      ": write a short paragraph about rivers, mountains, the sea and the "
                      "weather in early spring, in plain words.");
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

StreamTimes TimesOf(Clock::time_point start, Clock::time_point first, Clock::time_point last,
                    int tokens_after_first) {
  return {Ms(first - start), tokens_after_first > 0 ? Ms(last - first) / tokens_after_first : 0};
}

// Streams of one mode at `concurrency`, `rounds` times; `run(round, stream)` times one.
template <typename Run>
std::vector<StreamTimes> Measure(int concurrency, int rounds, Run run) {
  std::vector<StreamTimes> all;
  for (int round = 0; round < rounds; ++round) {
    std::vector<StreamTimes> times(concurrency);
    std::vector<std::thread> threads;
    for (int s = 0; s < concurrency; ++s) {
      threads.emplace_back([&, s] { times[s] = run(round, s); });
    }
    for (auto& t : threads) t.join();
    all.insert(all.end(), times.begin(), times.end());
  }
  return all;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

StreamTimes Medians(const std::vector<StreamTimes>& times) {
  std::vector<double> ttft, per_token;
  for (const StreamTimes& t : times) {
    ttft.push_back(t.ttft_ms);
    per_token.push_back(t.per_token_ms);
  }
  return {Median(ttft), Median(per_token)};
}

StreamTimes RunDirect(runtime::Engine& engine, const runtime::Model& model, int round, int stream) {
  runtime::GenerateRequest request;
  request.prompt = model.tokenizer().Encode(PromptText(round, stream));
  request.sampling.temperature = 0;
  request.sampling.max_tokens = kTokens;
  for (runtime::TokenId t : {model.tokenizer().eos_id(), model.tokenizer().eot_id()}) {
    if (t >= 0) request.sampling.logit_bias[t] = -std::numeric_limits<float>::infinity();
  }
  auto sink = std::make_shared<runtime::TokenSink>();
  const Clock::time_point start = Clock::now();
  if (!engine.Submit(std::move(request), sink).ok()) return {};
  Clock::time_point first{}, last{};
  int tokens = 0, first_tokens = 0;
  for (;;) {
    sink->WaitForEvent(absl::Milliseconds(50));
    runtime::TokenEvent event;
    while (sink->Take(&event)) {
      last = Clock::now();
      if (tokens == 0) first = last, first_tokens = static_cast<int>(event.tokens.size());
      tokens += static_cast<int>(event.tokens.size());
    }
    if (sink->TakeFinal().has_value()) break;
  }
  return TimesOf(start, first, last, tokens - first_tokens);
}

StreamTimes RunGrpc(service::client::Client& client, int eos, int round, int stream) {
  smollm::v1::GenerateRequest request;
  request.set_prompt(PromptText(round, stream));
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(kTokens);
  (*request.mutable_sampling()->mutable_logit_bias())[eos] =
      -std::numeric_limits<float>::infinity();
  Clock::time_point first{}, last{};
  int tokens = 0, first_tokens = 0;
  const Clock::time_point start = Clock::now();
  auto end = client.Generate(request, [&](const smollm::v1::TokenDelta& delta) {
    last = Clock::now();
    if (tokens == 0) first = last, first_tokens = delta.token_ids_size();
    tokens += delta.token_ids_size();
    return true;
  });
  if (!end.ok()) {
    std::fprintf(stderr, "grpc_overhead_bench: %s\n", std::string(end.status().message()).c_str());
    return {};
  }
  return TimesOf(start, first, last, tokens - first_tokens);
}

int Main(int argc, char** argv) {
  const std::string path = BenchModelPath();
  const int threads = argc > 1 ? std::atoi(argv[1])
                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int concurrencies[] = {1, 16};
  const int rounds[] = {8, 2};
  std::vector<StreamTimes> direct, grpc;
  {
    auto model = runtime::Model::Open(path);
    if (!model.ok()) {
      std::fprintf(stderr, "grpc_overhead_bench: %s\n", std::string(model.status().message()).c_str());
      return 1;
    }
    runtime::ThreadPool pool(threads);
    const runtime::ModelConfig& c = (*model)->config();
    runtime::CpuBackend backend(pool, std::max(c.d_model, c.d_ffn));
    runtime::EngineOptions options;  // the server's defaults for these fields
    options.kv_cache_bytes = uint64_t{256} << 20;
    auto engine = runtime::Engine::Create(**model, backend, options);
    if (!engine.ok()) return 1;
    RunDirect(**engine, **model, 99, 0);  // warm-up
    for (int i = 0; i < 2; ++i) {
      direct.push_back(Medians(Measure(concurrencies[i], rounds[i], [&](int r, int s) {
        return RunDirect(**engine, **model, r, s);
      })));
    }
  }
  testing::ServerProcess server;
  absl::Status started = server.Start({.binary = SMOLLM_SERVER_BINARY,
                                       .model = path,
                                       .flags = {absl::StrCat("--threads=", threads),
                                                 "--kv_cache_mib=256"}});
  if (!started.ok()) {
    std::fprintf(stderr, "grpc_overhead_bench: %s\n", std::string(started.message()).c_str());
    return 1;
  }
  auto client = service::client::Client::Create(server.target());
  if (!client.ok()) return 1;
  auto info = (*client)->GetModelInfo();
  if (!info.ok()) return 1;
  RunGrpc(**client, info->eos_token_id(), 99, 0);  // warm-up (connection, first call)
  for (int i = 0; i < 2; ++i) {
    grpc.push_back(Medians(Measure(concurrencies[i], rounds[i], [&](int r, int s) {
      return RunGrpc(**client, info->eos_token_id(), r, s);
    })));
  }

  std::printf("model %s, %d threads, %d tokens per stream, medians over streams\n",
              path.c_str(), threads, kTokens);
  std::printf("%-8s %14s %14s %10s %16s %16s %10s\n", "streams", "TTFT direct", "TTFT gRPC",
              "overhead", "ms/token direct", "ms/token gRPC", "overhead");
  for (int i = 0; i < 2; ++i) {
    std::printf("%-8d %11.2f ms %11.2f ms %7.2f ms %13.3f ms %13.3f ms %7.3f ms\n",
                concurrencies[i], direct[i].ttft_ms, grpc[i].ttft_ms,
                grpc[i].ttft_ms - direct[i].ttft_ms, direct[i].per_token_ms,
                grpc[i].per_token_ms, grpc[i].per_token_ms - direct[i].per_token_ms);
  }
  return 0;
}

}  // namespace
}  // namespace smollm

int main(int argc, char** argv) { return smollm::Main(argc, argv); }
